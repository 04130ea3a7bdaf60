//! End to end: the challenger against dishonest sequencers, and a dishonest challenger against
//! honest ones, on the devnet L1 and sequencer nodes in this process (127.0.0.1).
//!
//! Each fraud test runs two colluding sequencers that anchor one bad batch of a chosen kind
//! (`--dishonest`), and a challenger with nothing but the L1's URL. The challenger must prove
//! the fraud (a game for a wrong root, a non-interactive proof for the others), the signers
//! must be slashed, the challenger rewarded, the bad anchor reverted, and honest batches must
//! be anchored and finalised after it.

use casl2_fullnode::challenger::{Challenger, ChallengerConfig, ChallengerState};
use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::dishonest::{Dishonest, DishonestKind};
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::node::rpc::call_peer;
use casl2_fullnode::watch::Verdict;
use casl2_verifier::fraud::{Game, GamePhase, GameResult, Side, CHALLENGER_REWARD_PCT};
use casl2_verifier::l1::{AvailabilityResult, L1Event, L1Op, L1Tx, SharePosition};
use casl2_verifier::params::COIN;
use casl2_verifier::{Address, Encode, L2Transaction, PrivateKey, TxType};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const CHAIN: u64 = 1;

fn transfer(k: &PrivateKey, to: Address, value: i64, nonce: u64) -> L2Transaction {
    let mut t = L2Transaction {
        from: k.address(),
        to,
        value,
        nonce,
        gas_limit: 21_000,
        gas_price: 10,
        tx_type: TxType::Transfer,
        l2_chain_id: CHAIN,
        ..Default::default()
    };
    t.sign(k).unwrap();
    t
}

/// Poll `f` every 200 ms until true, at most `secs` seconds.
async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deposit for `user` and keep sending it transfers in the background, so batches carry
/// transactions.
async fn traffic(net: &LocalNet, user: &PrivateKey) -> tokio::task::JoinHandle<()> {
    net.deposit(user, 1_000 * COIN).unwrap();
    let url = format!("http://{}/", net.configs[0].listen);
    let user = user.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut nonce = 0u64;
        for _ in 0..600 {
            let t = transfer(&user, Address([0xb0; 20]), COIN / 10, nonce);
            let raw = hex::encode(t.encode());
            if call_peer(&http, &url, "l2_sendrawtransaction", json!([raw]))
                .await
                .is_ok()
            {
                nonce += 1;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}

/// Run a challenger with dev key `k` until `stop`.
fn spawn_challenger(
    net: &LocalNet,
    dir: std::path::PathBuf,
    k: u32,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Challenger> {
    let cfg = ChallengerConfig {
        data_dir: dir,
        chain_id: CHAIN,
        l1_url: net.l1_url.clone(),
        key: dev_key(k).unwrap(),
    };
    tokio::spawn(async move {
        let mut c = Challenger::open(cfg).unwrap();
        loop {
            if let Err(e) = c.tick(|_, _| {}).await {
                eprintln!("challenger tick: {e}");
            }
            tokio::select! {
                _ = stop.changed() => return c,
                _ = tokio::time::sleep(Duration::from_millis(150)) => {}
            }
        }
    })
}

async fn fraud_is_proven_and_honest_batches_continue(kind: DishonestKind) {
    let dir = tempfile::tempdir().unwrap();
    let net = dishonest_net(dir.path(), kind).await;
    let user = dev_key(7).unwrap();
    let load = traffic(&net, &user).await;
    let challenger = dev_key(8).unwrap().address();
    let seqs: Vec<Address> = net.keys.iter().map(|k| k.address()).collect();
    let (balance0, stakes0) = balance_and_stakes(&net, &challenger, &seqs);
    let (stop, stop_rx) = watch::channel(false);
    let task = spawn_challenger(&net, dir.path().join("challenger"), 8, stop_rx);

    let l1 = net.l1.clone();
    let frauds = move || {
        l1.lock()
            .unwrap()
            .state()
            .chain(CHAIN)
            .map_or(0, |c| c.info.frauds_proven)
    };
    wait_until(&format!("the {kind} fraud proven on L1"), 150, || {
        frauds() >= 1
    })
    .await;

    // Slashed, rewarded.
    {
        let d = net.l1.lock().unwrap();
        let c = d.state().chain(CHAIN).unwrap();
        for (a, s0) in seqs.iter().zip(&stakes0) {
            let s = c.sequencer(a).unwrap().stake;
            assert!(
                s <= s0 - COIN,
                "{kind}: sequencer {a} stake {s} not slashed from {s0}"
            );
        }
        let gained = d.state().balance(&challenger) - balance0;
        assert!(
            gained >= COIN / 2,
            "{kind}: the challenger gained only {gained} (at least one half-slash expected)"
        );
    }
    // Honest batches after the revert are anchored and finalised.
    let l1 = net.l1.clone();
    let finalized_after_revert = move || {
        let d = l1.lock().unwrap();
        let c = d.state().chain(CHAIN).unwrap();
        c.info.frauds_proven == 1 && c.finalized_count >= 1 && c.info.finalized_l2_block > 0
    };
    wait_until(
        "an honest anchor finalised after the revert",
        150,
        finalized_after_revert,
    )
    .await;
    stop.send(true).unwrap();
    let c = task.await.unwrap();
    let st = c.state();
    assert!(
        st.judged.iter().any(|j| j.verdict == Verdict::Valid),
        "{kind}: the challenger judged no valid anchor after the revert: {:?}",
        st.judged
    );
    match kind {
        DishonestKind::WrongRoot => {
            assert!(st.stats.games_won >= 1, "{kind}: {:?}", st.stats);
            // How fast the bad anchor was answered (reported, not asserted: timing).
            let d = net.l1.lock().unwrap();
            let first = |want: fn(&L1Event) -> bool| {
                (1..=d.height()).find(|h| {
                    d.outcome_at(*h).is_some_and(|o| {
                        o.receipts
                            .iter()
                            .filter_map(|r| r.outcome.as_ref().ok())
                            .flatten()
                            .any(want)
                    })
                })
            };
            let anchored = first(|e| matches!(e, L1Event::BatchAnchored { .. }));
            let opened = first(|e| matches!(e, L1Event::ChallengeOpened { .. }));
            eprintln!("bad anchor at L1 height {anchored:?}, game opened at {opened:?}");
            assert!(opened > anchored);
            assert!(
                st.games
                    .values()
                    .any(|g| g.game.result == Some(GameResult::FraudProven) && g.game.rounds >= 1),
                "{kind}: no game won by bisection: {:?}",
                st.games
            );
        }
        DishonestKind::Withhold => {
            // The withheld anchor's own `sampled` entry may already be the honest re-post at
            // the same index (the map keeps each index's latest anchor): the counters keep it.
            assert!(st.stats.availability_opened >= 1, "{kind}: {:?}", st.stats);
            assert!(st.stats.availability_won >= 1, "{kind}: {:?}", st.stats);
            assert!(
                st.sampled.values().any(|x| x.status == "available"),
                "{kind}: the honest batches after the revert were not sampled available: {:?}",
                st.sampled
            );
        }
        _ => assert!(st.stats.proofs_sent >= 1, "{kind}: {:?}", st.stats),
    }
    load.abort();
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_state_root_loses_the_bisection_game() {
    fraud_is_proven_and_honest_batches_continue(DishonestKind::WrongRoot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_signature_is_proven_without_a_game() {
    fraud_is_proven_and_honest_batches_continue(DishonestKind::BadSignature).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manipulated_timestamp_is_proven_without_a_game() {
    fraud_is_proven_and_honest_batches_continue(DishonestKind::BadTimestamp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_spend_is_proven_without_a_game() {
    fraud_is_proven_and_honest_batches_continue(DishonestKind::DoubleSpend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_data_is_challenged_and_the_unanswered_anchor_reverted() {
    fraud_is_proven_and_honest_batches_continue(DishonestKind::Withhold).await;
}

/// Property 16 for availability: a challenge of an honest anchor's shares is answered by its
/// signers on L1 in time, and the bond goes to the poster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_availability_challenge_of_honest_data_is_answered_and_loses_its_bond() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().join("net"), 2);
    cfg.l1_block_ms = 400;
    let net = LocalNet::start(&cfg).await.unwrap();
    let user = dev_key(7).unwrap();
    let load = traffic(&net, &user).await;
    let asker = dev_key(9).unwrap();
    let l1 = net.l1.clone();
    wait_until("a non-final anchor", 90, || {
        l1.lock()
            .unwrap()
            .state()
            .chain(CHAIN)
            .is_some_and(|c| c.anchors.iter().any(|a| !a.finalized))
    })
    .await;
    let (anchor, poster, width) = {
        let d = net.l1.lock().unwrap();
        let c = d.state().chain(CHAIN).unwrap();
        let a = c.anchors.iter().rev().find(|a| !a.finalized).unwrap();
        (
            a.index,
            a.poster,
            a.commitment.as_ref().unwrap().width() as u32,
        )
    };
    let poster_before = net.l1.lock().unwrap().state().balance(&poster);
    {
        let mut d = net.l1.lock().unwrap();
        let op = L1Op::ChallengeAvailability {
            chain: CHAIN,
            anchor,
            positions: vec![
                SharePosition { row: 0, column: 0 },
                SharePosition {
                    row: width - 1,
                    column: width - 1,
                },
            ],
        };
        let tx = L1Tx::signed(&asker, d.next_nonce(&asker.address()), op).unwrap();
        d.submit(tx).unwrap();
    }
    let l1 = net.l1.clone();
    let me = asker.address();
    let challenge = move || {
        l1.lock()
            .unwrap()
            .state()
            .availability_challenges()
            .values()
            .find(|c| c.challenger == me)
            .cloned()
    };
    wait_until("the availability challenge answered", 60, || {
        challenge().is_some_and(|c| c.result.is_some())
    })
    .await;
    let c = challenge().unwrap();
    assert_eq!(c.result, Some(AvailabilityResult::Answered));
    let gained = net.l1.lock().unwrap().state().balance(&poster) - poster_before;
    assert!(
        gained >= c.bond,
        "the poster gained {gained}, bond {}",
        c.bond
    );
    // The anchor is undisputed again and finalises.
    let l1 = net.l1.clone();
    wait_until("the answered anchor final", 60, || {
        l1.lock()
            .unwrap()
            .state()
            .chain(CHAIN)
            .is_some_and(|ch| ch.finalized_count > anchor)
    })
    .await;
    load.abort();
    net.shutdown().await;
}

/// Property 16 end to end: a challenger disputing an honest anchor, disagreeing with every
/// revealed root and then never proving its step, loses its bond to the poster; the honest
/// sequencer defends by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_challenger_loses_its_bond_to_the_honest_poster() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().join("net"), 2);
    cfg.l1_block_ms = 400;
    let net = LocalNet::start(&cfg).await.unwrap();
    let user = dev_key(7).unwrap();
    let load = traffic(&net, &user).await;
    let liar = dev_key(9).unwrap();
    // The first anchor with at least two steps.
    let l1 = net.l1.clone();
    wait_until("an anchor", 90, || {
        l1.lock()
            .unwrap()
            .state()
            .chain(CHAIN)
            .is_some_and(|c| c.anchors.iter().any(|a| a.steps >= 2))
    })
    .await;
    let (anchor, poster, root, bond) = {
        let d = net.l1.lock().unwrap();
        let c = d.state().chain(CHAIN).unwrap();
        let a = c.anchors.iter().find(|a| a.steps >= 2).unwrap();
        (
            a.index,
            a.poster,
            a.header.post_state_root,
            c.info.params.challenge_bond,
        )
    };
    let send = |op: L1Op| {
        let mut d = net.l1.lock().unwrap();
        let tx = L1Tx::signed(&liar, d.next_nonce(&liar.address()), op).unwrap();
        d.submit(tx).unwrap();
    };
    send(L1Op::OpenChallenge {
        chain: CHAIN,
        anchor,
        disputed_root: root,
    });
    let l1 = net.l1.clone();
    let liar_address = liar.address();
    let game = move || {
        l1.lock()
            .unwrap()
            .state()
            .games()
            .values()
            .find(|g| g.challenger == liar_address)
            .cloned()
    };
    wait_until("the game opened", 30, || game().is_some()).await;
    let poster_before = net.l1.lock().unwrap().state().balance(&poster);
    // Disagree with every reveal, then stall.
    let start = Instant::now();
    let mut answered = 0u32;
    let result = loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "game never ended"
        );
        let g = game().unwrap();
        if let Some(r) = g.result {
            break r;
        }
        if let GamePhase::Answer { .. } = g.phase {
            if g.rounds == answered {
                send(L1Op::BisectAnswer {
                    game: g.id,
                    agree: false,
                });
                answered += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    assert_eq!(result, GameResult::ChallengeFailed);
    assert!(answered >= 1, "the honest poster never revealed");
    let gained = net.l1.lock().unwrap().state().balance(&poster) - poster_before;
    assert!(
        gained >= bond - COIN / 1000,
        "the poster gained {gained}, the bond is {bond}"
    );
    load.abort();
    net.shutdown().await;
}

// The CVM in the dispute: a corrupted contract-call step.

#[path = "../../verifier/tests/contracts/mod.rs"]
mod contracts;

/// A signed contract transaction (`CONTRACT_DEPLOY` with `data` as init code, or
/// `CONTRACT_CALL` of `to`) of `k` with nonce `nonce`.
fn contract_tx(
    k: &PrivateKey,
    tx_type: TxType,
    to: Address,
    data: Vec<u8>,
    nonce: u64,
) -> L2Transaction {
    let mut t = L2Transaction {
        from: k.address(),
        to,
        nonce,
        gas_limit: 1_000_000,
        gas_price: 10,
        tx_type,
        l2_chain_id: CHAIN,
        data,
        ..Default::default()
    };
    t.sign(k).unwrap();
    t
}

/// Send `t` to node 0 through `l2_sendrawtransaction` until it is accepted (its sender's
/// deposit may not be on L2 yet), at most `secs` seconds.
async fn send_raw(net: &LocalNet, t: &L2Transaction, secs: u64) {
    let url = format!("http://{}/", net.configs[0].listen);
    let http = reqwest::Client::new();
    let raw = hex::encode(t.encode());
    let start = Instant::now();
    loop {
        match call_peer(&http, &url, "l2_sendrawtransaction", json!([raw])).await {
            Ok(h) => {
                assert_eq!(h, json!(t.hash()));
                return;
            }
            Err(e) => assert!(
                start.elapsed() < Duration::from_secs(secs),
                "transaction {} not accepted in {secs} s: {e}",
                t.hash()
            ),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The receipt of transaction `h` from node 0 (`l2_gettransactionreceipt`) once it is in a
/// block, at most `secs` seconds.
async fn receipt_of(net: &LocalNet, h: casl2_verifier::H256, secs: u64) -> serde_json::Value {
    let url = format!("http://{}/", net.configs[0].listen);
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(r) = call_peer(&http, &url, "l2_gettransactionreceipt", json!([h])).await {
            if !r.is_null() && r.get("pending").is_none() {
                return r;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "no receipt of {h} in {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Issue 8 (CVM) end to end: colluding sequencers run with `--dishonest wrong-root:contract`
/// anchor the first batch that holds a `CONTRACT_CALL` with roots wrong from that step on. The
/// ERC-20 Token's deploy (its constructor fills its storage, so the call's one-step proof
/// must carry a storage proof), in an earlier batch, stays honest. The challenger's game must
/// narrow to the contract-call step (an ERC-20 `transfer`), its one-step proof must be
/// accepted, the sequencers slashed, the anchor reverted, and the honest batches after it must
/// hold the token's honest balances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_contract_call_step_loses_the_bisection_game() {
    use casl2_verifier::fraud::FraudKind;
    use casl2_verifier::stf::{cvm, BlockContext, Step};
    use contracts::{calldata, contract, read_u, word_a, word_u};

    const CALLS: u64 = 3;
    const SUPPLY: u128 = 1_000_000;
    const AMOUNT: u128 = 250;
    let to = Address([0xc0; 20]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().join("net"), 2);
    cfg.l1_block_ms = 400;
    cfg.dishonest = Some("wrong-root:contract".parse().unwrap());
    let net = LocalNet::start(&cfg).await.unwrap();
    let user = dev_key(7).unwrap();
    let load = traffic(&net, &user).await;
    let dev = dev_key(6).unwrap();
    net.deposit(&dev, 1_000 * COIN).unwrap();
    let me = dev_key(8).unwrap().address();
    let seqs: Vec<Address> = net.keys.iter().map(|k| k.address()).collect();
    let (balance0, stakes0) = balance_and_stakes(&net, &me, &seqs);
    let (stop, stop_rx) = watch::channel(false);
    let task = spawn_challenger(&net, dir.path().join("challenger"), 8, stop_rx);

    // Deploy the Token and wait until its block is anchored: a batch without a contract
    // call, which the dishonest sequencers post honestly.
    let mut init = contract("Token").0;
    init.extend_from_slice(&word_u(SUPPLY));
    let deploy = contract_tx(&dev, TxType::ContractDeploy, Address::default(), init, 0);
    send_raw(&net, &deploy, 60).await;
    let r = receipt_of(&net, deploy.hash(), 60).await;
    assert_eq!(r["receipt"]["success"], json!(true), "deploy: {r}");
    let token: Address =
        serde_json::from_value(r["receipt"]["cvm"]["contractAddress"].clone()).unwrap();
    assert_eq!(token, cvm::create_address(&dev.address(), 0));
    let deploy_block = r["blockNumber"].as_u64().unwrap();
    let l1 = net.l1.clone();
    wait_until("the deploy anchored", 90, || {
        l1.lock()
            .unwrap()
            .state()
            .chain(CHAIN)
            .is_some_and(|c| c.info.latest_l2_block >= deploy_block)
    })
    .await;
    assert_eq!(
        net.l1
            .lock()
            .unwrap()
            .state()
            .chain(CHAIN)
            .unwrap()
            .info
            .frauds_proven,
        0
    );

    // The contract calls: three ERC-20 transfers of AMOUNT to `to`.
    let mut calls = Vec::new();
    for nonce in 1..=CALLS {
        let t = contract_tx(
            &dev,
            TxType::ContractCall,
            token,
            calldata("transfer(address,uint256)", &[word_a(&to), word_u(AMOUNT)]),
            nonce,
        );
        send_raw(&net, &t, 30).await;
        calls.push(t);
    }
    let mut first_call: Option<(u64, u64, casl2_verifier::H256)> = None;
    let mut last_block = 0;
    for t in &calls {
        let r = receipt_of(&net, t.hash(), 60).await;
        assert_eq!(r["receipt"]["success"], json!(true), "transfer: {r}");
        let at = (
            r["blockNumber"].as_u64().unwrap(),
            r["step"].as_u64().unwrap(),
            t.hash(),
        );
        last_block = last_block.max(at.0);
        if first_call
            .as_ref()
            .is_none_or(|f| (at.0, at.1) < (f.0, f.1))
        {
            first_call = Some(at);
        }
    }
    let (call_block, call_step, call_hash) = first_call.unwrap();

    // The fraud proven by the game, the honest batches anchored again past the calls.
    let l1 = net.l1.clone();
    wait_until("the contract-call fraud proven on L1", 150, || {
        l1.lock()
            .unwrap()
            .state()
            .chain(CHAIN)
            .is_some_and(|c| c.info.frauds_proven >= 1)
    })
    .await;
    let l1 = net.l1.clone();
    wait_until(
        "honest anchors past the calls, one finalised, after the revert",
        150,
        || {
            let d = l1.lock().unwrap();
            let c = d.state().chain(CHAIN).unwrap();
            c.info.frauds_proven == 1
                && c.info.latest_l2_block >= last_block
                && c.finalized_count >= 1
                && c.info.finalized_l2_block > 0
        },
    )
    .await;
    // The challenger replayed a valid anchor past the calls before it stops.
    let dir_c = dir.path().join("challenger");
    wait_until("the challenger judged the calls' blocks valid", 60, || {
        casl2_fullnode::challenger::ChallengerState::load(&dir_c)
            .ok()
            .flatten()
            .is_some_and(|s| {
                s.judged
                    .iter()
                    .any(|j| j.blocks.1 >= last_block && j.verdict == Verdict::Valid)
            })
    })
    .await;
    stop.send(true).unwrap();
    let c = task.await.unwrap();
    let st = c.state();

    // The L1's record (its lock is not held across an await).
    let (g, expected, finalized) = {
        let d = net.l1.lock().unwrap();
        // The game: won by the challenger, narrowed to the contract call.
        let games: Vec<_> = d
            .state()
            .games()
            .values()
            .filter(|g| g.chain == CHAIN && g.challenger == me)
            .cloned()
            .collect();
        let g = games
            .iter()
            .find(|g| g.result == Some(GameResult::FraudProven))
            .cloned()
            .unwrap_or_else(|| panic!("no game won: {games:?}"));
        assert!(g.rounds >= 1, "won by bisection: {g:?}");
        assert_eq!(g.disputed_index, g.agreed_index + 1, "{g:?}");
        // The anchor at the game's index now is the honest re-post: the same first block (the
        // chain continued from the reverted anchor's L2 block), and at least as many blocks.
        let anchor = d
            .state()
            .chain(CHAIN)
            .unwrap()
            .anchors
            .iter()
            .find(|a| a.index == g.anchor)
            .cloned()
            .expect("the re-posted anchor");
        assert_ne!(anchor.batch_hash, g.batch_hash, "re-posted");
        let batch = d.state().batch_data(CHAIN, g.anchor).unwrap();
        let first_block = batch.blocks[0].header.block_number;
        assert!(first_block > deploy_block, "the deploy's anchor stayed");
        assert!(call_block >= first_block && call_block <= anchor.header.end_block);
        let expected = batch.first_step_of((call_block - first_block) as usize) + call_step;
        match batch.step(expected).unwrap().0 {
            Step::Tx { tx } => {
                assert_eq!(tx.tx_type, TxType::ContractCall);
                assert_eq!(tx.hash(), call_hash);
            }
            o => panic!("step {expected} is {o:?}, not the contract call"),
        }
        assert_eq!(
            g.agreed_index, expected,
            "the bisection ends at the first contract-call step"
        );
        eprintln!(
        "game {} over {} steps: {} rounds, one-step proof of step {expected} (block {call_block})",
        g.id, g.steps, g.rounds
    );
        // Its one-step proof: accepted (fraud proven by it, not by a timeout), with the Token's
        // storage proof in the witness.
        let mut proof = None;
        for h in g.opened_at..=d.height() {
            let (Some(b), Some(o)) = (d.block_at(h), d.outcome_at(h)) else {
                continue;
            };
            for (tx, r) in b.txs.iter().zip(&o.receipts) {
                if let L1Op::SubmitOneStepProof { game, witness } = &tx.op {
                    if *game == g.id {
                        if let Ok(events) = &r.outcome {
                            proof = Some((witness.clone(), events.clone()));
                        }
                    }
                }
            }
        }
        let (witness, events) = proof.expect("no accepted one-step proof of the game");
        assert!(
            witness.storage.iter().any(|s| s.address == token),
            "the witness proves the Token's storage"
        );
        assert!(events.iter().any(|e| matches!(
            e,
            L1Event::GameResolved { game, result: GameResult::FraudProven } if *game == g.id
        )));
        assert!(events.iter().any(|e| matches!(
        e,
        L1Event::FraudProven { kind: FraudKind::InvalidStateTransition, prover, .. } if *prover == me
    )));
        assert!(events
            .iter()
            .any(|e| matches!(e, L1Event::AnchorsReverted { from, .. } if *from == g.anchor)));
        // Slashed, rewarded.
        let ch = d.state().chain(CHAIN).unwrap();
        for (a, s0) in seqs.iter().zip(&stakes0) {
            let s = ch.sequencer(a).unwrap().stake;
            assert!(
                s <= s0 - COIN,
                "sequencer {a} stake {s} not slashed from {s0}"
            );
        }
        let gained = d.state().balance(&me) - balance0;
        assert!(gained >= COIN / 2, "the challenger gained only {gained}");
        (g, expected, ch.info.finalized_l2_block)
    };

    // The challenger's own record.
    assert!(st.stats.games_won >= 1, "{:?}", st.stats);
    assert!(
        st.games
            .get(&g.id)
            .is_some_and(|r| r.game.result == Some(GameResult::FraudProven)
                && r.game.agreed_index == expected),
        "{:?}",
        st.games
    );
    assert!(
        st.judged
            .iter()
            .filter(|j| j.index >= g.anchor)
            .all(|j| j.verdict == Verdict::Valid),
        "the re-posted anchors are valid: {:?}",
        st.judged
    );
    // The token's honest balances, from the verifier's replay of L1 data (the challenger's
    // replica), and the node's own state agrees.
    let tree = c.replica().tree();
    let ctx = BlockContext {
        chain_id: CHAIN,
        number: finalized.max(last_block),
        timestamp: 0,
        producer: Address::default(),
        other_sequencers: Vec::new(),
        rent: Default::default(),
    };
    let balance_of = |a: &Address| {
        let out = cvm::call(
            tree,
            &ctx,
            &dev.address(),
            Some(&token),
            &calldata("balanceOf(address)", &[word_a(a)]),
            0,
            100_000,
        )
        .unwrap();
        assert!(out.success, "balanceOf: {}", out.error);
        read_u(&out.output).unwrap()
    };
    let sent = CALLS as u128 * AMOUNT;
    assert_eq!(balance_of(&to), sent, "the honest balance of the recipient");
    assert_eq!(balance_of(&dev.address()), SUPPLY - sent);
    let replica_account = casl2_verifier::stf::Overlay::new(tree)
        .account(&token)
        .unwrap();
    let url = format!("http://{}/", net.configs[0].listen);
    let node_account: casl2_verifier::AccountState = serde_json::from_value(
        call_peer(
            &reqwest::Client::new(),
            &url,
            "l2_getaccount",
            json!([token]),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert!(!replica_account.storage_root.is_zero());
    assert_eq!(
        node_account.storage_root, replica_account.storage_root,
        "the node's Token storage is the replayed one"
    );
    load.abort();
    net.shutdown().await;
}

/// A LocalNet of two colluding sequencers that anchor one bad batch of `kind` (from trace step
/// 2), L1 blocks every 400 ms.
async fn dishonest_net(dir: &std::path::Path, kind: DishonestKind) -> LocalNet {
    let mut cfg = LocalNetConfig::new(dir.join("net"), 2);
    cfg.l1_block_ms = 400;
    cfg.dishonest = Some(Dishonest {
        kind,
        step: 2,
        batches: 1,
    });
    LocalNet::start(&cfg).await.unwrap()
}

/// `who`'s L1 balance and the stakes of `seqs` on the chain.
fn balance_and_stakes(net: &LocalNet, who: &Address, seqs: &[Address]) -> (i64, Vec<i64>) {
    let d = net.l1.lock().unwrap();
    let c = d.state().chain(CHAIN).unwrap();
    let stakes = seqs
        .iter()
        .map(|a| c.sequencer(a).map_or(0, |s| s.stake))
        .collect();
    (d.state().balance(who), stakes)
}

/// A challenger killed in the middle of a game (after opening it and answering at least one
/// reveal, while the defender is to move) and started again on the same data directory picks
/// the game up from L1 and wins it: no second game, the signers slashed, the bad anchor
/// reverted, the bond back with the reward, and the new process's state shows the game won.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenger_restarted_during_a_game_resumes_and_wins() {
    let dir = tempfile::tempdir().unwrap();
    let net = dishonest_net(dir.path(), DishonestKind::WrongRoot).await;
    let user = dev_key(7).unwrap();
    let load = traffic(&net, &user).await;
    let me = dev_key(8).unwrap().address();
    let seqs: Vec<Address> = net.keys.iter().map(|k| k.address()).collect();
    let (balance0, stakes0) = balance_and_stakes(&net, &me, &seqs);
    let data_dir = dir.path().join("challenger");
    let (_stop1, stop_rx) = watch::channel(false);
    let first = spawn_challenger(&net, data_dir.clone(), 8, stop_rx);

    let l1 = net.l1.clone();
    let my_games = move || -> Vec<Game> {
        l1.lock()
            .unwrap()
            .state()
            .games()
            .values()
            .filter(|g| g.challenger == me)
            .cloned()
            .collect()
    };
    let in_play = |g: &Game| g.result.is_none() && g.rounds >= 1 && g.to_move() == Side::Defender;
    wait_until(
        "the challenger's game in play, the defender to move",
        150,
        || my_games().iter().any(in_play),
    )
    .await;
    // Kill it (dropped at its next await, wherever it is in a tick).
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    let game = my_games().into_iter().find(in_play);
    let game = game.expect("the game ended while no challenger ran");
    let (culprits, min_slash) = {
        let d = net.l1.lock().unwrap();
        let c = d.state().chain(CHAIN).unwrap();
        let a = &c.anchors[game.anchor as usize];
        let mut v = a.signers.clone();
        v.push(a.poster);
        v.sort();
        v.dedup();
        (v.len() as i64, c.info.params.min_slash)
    };
    let saved = ChallengerState::load(&data_dir).unwrap().unwrap();
    assert!(
        saved.games.contains_key(&game.id),
        "the killed challenger had not recorded game {}: {:?}",
        game.id,
        saved.games
    );

    // Start again on the same directory.
    let (stop2, stop_rx) = watch::channel(false);
    let second = spawn_challenger(&net, data_dir.clone(), 8, stop_rx);
    let l1 = net.l1.clone();
    let id = game.id;
    let result = move || l1.lock().unwrap().state().game(id).and_then(|g| g.result);
    wait_until("the resumed game over", 120, || result().is_some()).await;
    assert_eq!(result(), Some(GameResult::FraudProven));
    {
        let d = net.l1.lock().unwrap();
        let c = d.state().chain(CHAIN).unwrap();
        assert!(c.info.frauds_proven >= 1);
        assert!(
            c.anchors
                .get(game.anchor as usize)
                .is_none_or(|a| a.batch_hash != game.batch_hash),
            "the bad anchor {} is still on L1",
            game.anchor
        );
        for (a, s0) in seqs.iter().zip(&stakes0) {
            let s = c.sequencer(a).unwrap().stake;
            assert!(
                s <= s0 - min_slash,
                "sequencer {a} stake {s} not slashed from {s0}"
            );
        }
    }
    assert_eq!(
        my_games().len(),
        1,
        "the restarted challenger opened another game: {:?}",
        my_games()
    );
    // The bond came back and the reward came in: half of each culprit's slash.
    let (balance1, _) = balance_and_stakes(&net, &me, &seqs);
    assert_eq!(
        balance1 - balance0,
        culprits * (min_slash * CHALLENGER_REWARD_PCT / 100),
        "bond back plus the reward of {culprits} slashes"
    );
    // The new process sees the game won (what `casl2 challenger status` reads).
    wait_until(
        "the restarted challenger's state to show the win",
        30,
        || {
            ChallengerState::load(&data_dir)
                .ok()
                .flatten()
                .is_some_and(|s| {
                    s.games.get(&id).and_then(|r| r.game.result) == Some(GameResult::FraudProven)
                })
        },
    )
    .await;
    stop2.send(true).unwrap();
    let c = tokio::time::timeout(Duration::from_secs(30), second)
        .await
        .expect("the challenger did not stop")
        .unwrap();
    let st = c.state();
    let rec = &st.games[&id];
    assert_eq!(rec.game.result, Some(GameResult::FraudProven));
    let before = saved.games[&id].moves;
    assert!(
        rec.moves > before,
        "the resumed challenger made no move: {before} before, {rec:?}"
    );
    assert_eq!(st.stats.games_won, 1, "{:?}", st.stats);
    assert_eq!(st.stats.games_opened, 1, "{:?}", st.stats);
    assert_eq!(st.open_games(), 0);
    assert_eq!(st.bonds_at_risk(), 0);
    load.abort();
    net.shutdown().await;
}
