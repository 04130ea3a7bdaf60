//! End to end: the challenger against dishonest sequencers, and a dishonest challenger against
//! honest ones, on the devnet L1 and sequencer nodes in this process (127.0.0.1).
//!
//! Each fraud test runs two colluding sequencers that anchor one bad batch of a chosen kind
//! (`--dishonest`), and a challenger with nothing but the L1's URL. The challenger must prove
//! the fraud (a game for a wrong root, a non-interactive proof for the others), the signers
//! must be slashed, the challenger rewarded, the bad anchor reverted, and honest batches must
//! be anchored and finalised after it.

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::dishonest::DishonestKind;
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_lightclient::watcher::ChallengerState;
use casl2_lightclient::watcher::Verdict;
use casl2_verifier::fraud::{Game, GamePhase, GameResult, Side, CHALLENGER_REWARD_PCT};
use casl2_verifier::l1::{AvailabilityResult, L1Event, L1Op, L1Tx, SharePosition};
use casl2_verifier::params::COIN;
use casl2_verifier::Address;
use std::time::{Duration, Instant};
use tokio::sync::watch;

mod support;
use support::*;

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

/// A batch whose block carries a quorum signature that does not verify (`InvalidBlockSignature`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_block_signature_is_proven_without_a_game() {
    fraud_is_proven_and_honest_batches_continue(DishonestKind::BadBlockSignature).await;
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
