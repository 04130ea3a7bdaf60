//! End to end: the CVM in the dispute. Colluding sequencers anchor a batch whose contract-call
//! step is corrupted; the challenger's bisection game narrows to that step and its one-step
//! proof (running the contract call) wins, on the devnet L1 and sequencer nodes in this process.

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::node::rpc::call_peer;
use casl2_lightclient::watcher::ChallengerState;
use casl2_lightclient::watcher::Verdict;
use casl2_verifier::fraud::GameResult;
use casl2_verifier::l1::{L1Event, L1Op};
use casl2_verifier::params::COIN;
use casl2_verifier::{Address, Encode, L2Transaction, PrivateKey, TxType};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::watch;

mod support;
use support::*;

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
        ChallengerState::load(&dir_c)
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
