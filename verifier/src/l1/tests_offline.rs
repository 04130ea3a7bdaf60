//! Unit tests of `SEQ_OFFLINE` (`ReportOffline`): the evidence is the chain's last
//! `offlineAfter` anchors; an offline sequencer leaves the active set with its stake locked and
//! comes back by announcing again.

use super::tests::{announce_op, key, Net, CHAIN};
use super::tests_batch::batch_op;
use super::*;
use crate::keys::PrivateKey;
use crate::params::COIN;

/// Chain 1 with four equal sequencers (keys 3, 4, 5, 6): three of four are a quorum.
fn four() -> Net {
    let mut n = Net::with_chain();
    for k in [5u8, 6] {
        n.send(
            &key(1),
            L1Op::SetHatScore {
                address: key(k).address(),
                score: 60,
            },
        )
        .unwrap();
        n.send(&key(k), announce_op(CHAIN, 10 * COIN)).unwrap();
    }
    assert_eq!(n.chain().weights(|_| 60).len(), 4);
    n
}

/// Anchor `count` one-block batches posted by sequencer 3 and signed by `signers`.
fn anchor(n: &mut Net, count: u64, signers: &[u8]) {
    let signers: Vec<PrivateKey> = signers.iter().map(|k| key(*k)).collect();
    for _ in 0..count {
        let i = n.chain().anchors.len() as u8;
        let op = batch_op(
            &n.state,
            CHAIN,
            &key(3),
            &signers,
            &[(H256([i + 1; 32]), vec![])],
        );
        let ev = n.send(&key(3), op).unwrap();
        assert!(matches!(ev[0], L1Event::BatchAnchored { .. }), "{ev:?}");
    }
}

fn report(n: &mut Net, who: u8) -> Result<Vec<L1Event>, L1Error> {
    n.send(
        &key(2),
        L1Op::ReportOffline {
            chain: CHAIN,
            sequencer: key(who).address(),
        },
    )
}

fn status(n: &Net, who: u8) -> SequencerStatus {
    n.chain().sequencer(&key(who).address()).unwrap().status
}

#[test]
fn a_sequencer_missing_from_the_last_k_anchors_is_reported_offline_and_comes_back() {
    let mut n = four();
    let k = n.chain().info.params.offline_after;
    assert_eq!(k, 20);
    // Too few anchors to judge.
    let e = report(&mut n, 6).unwrap_err();
    assert!(e.to_string().contains("has 0"), "{e}");
    // Sequencer 6 signs the first anchor, then misses k - 1: one signature in the window.
    anchor(&mut n, 1, &[3, 4, 5, 6]);
    anchor(&mut n, k - 1, &[3, 4, 5]);
    let e = report(&mut n, 6).unwrap_err();
    assert!(e.to_string().contains("signed anchor 0"), "{e}");
    // Sequencer 3 signed everything: not offline.
    assert!(report(&mut n, 3)
        .unwrap_err()
        .to_string()
        .contains("not offline"));
    // One more anchor without it: k in a row.
    anchor(&mut n, 1, &[3, 4, 5]);
    let stake = n.chain().sequencer(&key(6).address()).unwrap().stake;
    let ev = report(&mut n, 6).unwrap();
    assert_eq!(
        ev,
        vec![L1Event::SequencerOffline {
            chain: CHAIN,
            address: key(6).address(),
            missed: k,
        }]
    );
    assert!(matches!(status(&n, 6), SequencerStatus::Offline { .. }));
    assert_eq!(n.chain().weights(|_| 60).len(), 3, "it left the active set");
    // Reported twice: it is no longer active.
    assert_eq!(super::tests::name(report(&mut n, 6)), "SEQ_UNKNOWN");
    // Its stake stays locked: no withdrawal while offline.
    let w = n.send(&key(6), L1Op::WithdrawStake { chain: CHAIN });
    assert_eq!(super::tests::name(w), "SEQ_STILL_BONDED");
    assert_eq!(n.chain().sequencer(&key(6).address()).unwrap().stake, stake);
    // The three left are the quorum: batches go on without it.
    anchor(&mut n, 1, &[3, 4, 5]);
    let reported_at = match status(&n, 6) {
        SequencerStatus::Offline { since } => since,
        s => panic!("{s:?}"),
    };
    // It comes back by announcing again (no new stake needed: its stake is still locked).
    let ev = n.send(&key(6), announce_op(CHAIN, 0)).unwrap();
    let back_at = n.state.height();
    // The membership history: active before the report, not between, active again after.
    let s6 = n.chain().sequencer(&key(6).address()).unwrap().clone();
    assert!(s6.active_at(reported_at - 1));
    assert!(!s6.active_at(reported_at));
    assert!(!s6.active_at(back_at - 1));
    assert!(s6.active_at(back_at));
    assert_eq!(s6.past_active.len(), 1, "{s6:?}");
    assert!(matches!(ev[0], L1Event::SequencerAnnounced { stake: s, .. } if s == stake));
    assert_eq!(status(&n, 6), SequencerStatus::Active);
    assert_eq!(n.chain().weights(|_| 60).len(), 4);
    // The anchors before its return do not count against it.
    let e = report(&mut n, 6).unwrap_err();
    assert!(e.to_string().contains("was not active"), "{e}");
}

#[test]
fn an_offline_sequencer_may_unbond_and_a_chain_without_the_rule_refuses_reports() {
    let mut n = four();
    let k = n.chain().info.params.offline_after;
    anchor(&mut n, k, &[3, 4, 5]);
    report(&mut n, 6).unwrap();
    let ev = n.send(&key(6), L1Op::Unbond { chain: CHAIN }).unwrap();
    assert!(matches!(ev[0], L1Event::SequencerUnbonding { .. }));
    assert!(matches!(status(&n, 6), SequencerStatus::Unbonding { .. }));
    // A chain whose offlineAfter is 0 has no SEQ_OFFLINE.
    let mut m = Net::new();
    let mut op = super::tests::register_op(CHAIN);
    if let L1Op::RegisterChain { params, .. } = &mut op {
        params.offline_after = 0;
    }
    m.send(&key(2), op).unwrap();
    m.send(&key(3), announce_op(CHAIN, 10 * COIN)).unwrap();
    assert_eq!(super::tests::name(report(&mut m, 3)), "L1_NOT_SUPPORTED");
}
