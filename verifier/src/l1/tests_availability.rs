//! Unit tests of availability challenges on L1: opening (checks, bond, dispute), answering
//! (who, what, when), the timeout (withheld: slash and revert; gone: cancelled), codec.

use super::tests::{key, name, CHAIN};
use super::tests_fraud::anchored;
use super::*;
use crate::codec::{Decode, Encode};

fn pos(row: u32, column: u32) -> SharePosition {
    SharePosition { row, column }
}

fn ask(positions: Vec<SharePosition>) -> L1Op {
    L1Op::ChallengeAvailability {
        chain: CHAIN,
        anchor: 0,
        positions,
    }
}

#[test]
fn a_challenge_checks_positions_poster_funds_and_locks_the_bond() {
    let mut n = anchored();
    let width = n.chain().anchors[0].commitment.as_ref().unwrap().width() as u32;
    assert_eq!(name(n.send(&key(5), ask(vec![]))), "L1_INVALID_ARGUMENT");
    assert_eq!(
        name(n.send(&key(5), ask(vec![pos(0, 0), pos(0, 0)]))),
        "L1_INVALID_ARGUMENT"
    );
    assert_eq!(
        name(n.send(&key(5), ask(vec![pos(width, 0)]))),
        "L1_INVALID_ARGUMENT"
    );
    assert_eq!(
        name(n.send(
            &key(5),
            ask((0..17).map(|i| pos(i / width, i % width)).collect())
        )),
        "L1_INVALID_ARGUMENT"
    );
    assert_eq!(
        name(n.send(&key(3), ask(vec![pos(0, 0)]))),
        "L1_NOT_AUTHORIZED"
    );
    assert_eq!(
        name(n.send(&key(7), ask(vec![pos(0, 0)]))),
        "L1_INSUFFICIENT_FUNDS"
    );
    let before = n.state.balance(&key(5).address());
    let ev = n
        .send(&key(5), ask(vec![pos(0, 0), pos(width - 1, width - 1)]))
        .unwrap();
    assert!(matches!(
        ev[0],
        L1Event::AvailabilityChallenged {
            id: 0,
            shares: 2,
            ..
        }
    ));
    let bond = n.chain().info.params.challenge_bond;
    assert_eq!(n.state.balance(&key(5).address()), before - bond);
    assert!(n.chain().anchors[0].disputed);
    let deadline = n.chain().anchors[0].deadline;
    n.mine_empty(deadline + 1 - n.state.height());
    assert!(
        !n.chain().anchors[0].finalized,
        "a challenged anchor does not finalise"
    );
}

#[test]
fn a_verified_answer_in_time_pays_the_bond_to_the_poster() {
    let mut n = anchored();
    let positions = vec![pos(0, 0), pos(1, 1), pos(0, 1)];
    n.send(&key(5), ask(positions.clone())).unwrap();
    let anchor = n.chain().anchors[0].clone();
    let good = answer_samples(&anchor, &positions).unwrap();
    assert_eq!(
        name(n.send(
            &key(6),
            L1Op::AnswerAvailability {
                id: 0,
                samples: good.clone()
            }
        )),
        "L1_NOT_AUTHORIZED",
        "only the batch's signers answer"
    );
    let mut wrong_order = good.clone();
    wrong_order.swap(0, 1);
    assert_eq!(
        name(n.send(
            &key(4),
            L1Op::AnswerAvailability {
                id: 0,
                samples: wrong_order
            }
        )),
        "FRAUD_PROOF_INVALID"
    );
    let mut bad = good.clone();
    bad[2].share[0] ^= 1;
    assert_eq!(
        name(n.send(
            &key(4),
            L1Op::AnswerAvailability {
                id: 0,
                samples: bad
            }
        )),
        "FRAUD_PROOF_INVALID"
    );
    assert_eq!(
        name(n.send(
            &key(4),
            L1Op::AnswerAvailability {
                id: 0,
                samples: good[..2].to_vec()
            }
        )),
        "FRAUD_PROOF_INVALID"
    );
    assert_eq!(
        name(n.send(&key(3), L1Op::TimeoutAvailability { id: 0 })),
        "GAME_CLOCK_RUNNING"
    );
    let poster = n.state.balance(&key(3).address());
    let ev = n
        .send(
            &key(4),
            L1Op::AnswerAvailability {
                id: 0,
                samples: good.clone(),
            },
        )
        .unwrap();
    let bond = n.chain().info.params.challenge_bond;
    assert!(ev.iter().any(|e| matches!(e, L1Event::AvailabilityResolved { result: AvailabilityResult::Answered, bond: b, .. } if *b == bond)));
    assert_eq!(n.state.balance(&key(3).address()), poster + bond);
    assert!(!n.chain().anchors[0].disputed);
    let c = &n.state.availability_challenges()[&0];
    assert_eq!(c.answered_by, Some(key(4).address()));
    assert_eq!(
        name(n.send(
            &key(4),
            L1Op::AnswerAvailability {
                id: 0,
                samples: good
            }
        )),
        "GAME_WRONG_TURN"
    );
    // Undisputed again: the anchor finalises at its deadline.
    let deadline = n.chain().anchors[0].deadline;
    n.mine_empty(deadline + 1 - n.state.height());
    assert!(n.chain().anchors[0].finalized);
}

#[test]
fn no_answer_by_the_deadline_is_withholding_slashed_and_reverted() {
    let mut n = anchored();
    n.send(&key(5), ask(vec![pos(0, 1)])).unwrap();
    let c = n.state.availability_challenges()[&0].clone();
    let stake = n.chain().sequencer(&key(4).address()).unwrap().stake;
    let challenger = n.state.balance(&key(5).address());
    n.mine_empty(c.deadline - n.state.height());
    let anchor = n.chain().anchors[0].clone();
    let late = answer_samples(&anchor, &c.positions).unwrap();
    assert_eq!(
        name(n.send(
            &key(4),
            L1Op::AnswerAvailability {
                id: 0,
                samples: late
            }
        )),
        "GAME_CLOCK_EXPIRED"
    );
    let ev = n
        .send(&key(6), L1Op::TimeoutAvailability { id: 0 })
        .unwrap();
    assert!(ev.iter().any(|e| matches!(
        e,
        L1Event::FraudProven {
            kind: crate::fraud::FraudKind::DataWithholding,
            ..
        }
    )));
    assert!(n.chain().anchors.is_empty(), "the anchor is reverted");
    assert_eq!(n.chain().info.frauds_proven, 1);
    let min_slash = n.chain().info.params.min_slash;
    assert_eq!(
        n.chain().sequencer(&key(4).address()).unwrap().stake,
        stake - min_slash
    );
    let reward = min_slash * crate::fraud::CHALLENGER_REWARD_PCT / 100;
    // The bond back, and the reward of both culprits (key 3 posted and signed, key 4 signed).
    assert_eq!(
        n.state.balance(&key(5).address()),
        challenger + c.bond + 2 * reward
    );
    assert_eq!(
        n.state.availability_challenges()[&0].result,
        Some(AvailabilityResult::Withheld)
    );
}

#[test]
fn a_fraud_proven_otherwise_cancels_the_challenge_and_refunds() {
    let mut n = anchored();
    n.send(&key(5), ask(vec![pos(0, 0)])).unwrap();
    let after_bond = n.state.balance(&key(6).address());
    // A second watcher proves the state fraud with a game it wins by timeout.
    n.send(
        &key(6),
        L1Op::OpenChallenge {
            chain: CHAIN,
            anchor: 0,
            disputed_root: H256([2; 32]),
        },
    )
    .unwrap();
    let g = n.state.game(0).unwrap().clone();
    n.mine_empty(g.defender_clock + 1);
    n.send(&key(6), L1Op::Timeout { game: 0 }).unwrap();
    assert!(n.chain().anchors.is_empty());
    assert_eq!(
        n.state.availability_challenges()[&0].result,
        Some(AvailabilityResult::Cancelled)
    );
    assert!(n.state.balance(&key(6).address()) >= after_bond);
    assert_eq!(
        name(n.send(&key(5), L1Op::TimeoutAvailability { id: 0 })),
        "GAME_WRONG_TURN"
    );
}

#[test]
fn availability_ops_round_trip_and_reject_oversized_lists() {
    let n = anchored();
    let anchor = n.chain().anchors[0].clone();
    let positions = vec![pos(0, 0), pos(1, 0)];
    let samples = answer_samples(&anchor, &positions).unwrap();
    for op in [
        ask(positions),
        L1Op::AnswerAvailability { id: 7, samples },
        L1Op::TimeoutAvailability { id: 9 },
    ] {
        let b = op.encode();
        assert_eq!(L1Op::decode(&b).unwrap(), op);
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<L1Op>(&json).unwrap(), op);
    }
    let mut big = vec![20u8];
    big.extend_from_slice(&CHAIN.to_le_bytes());
    big.extend_from_slice(&0u64.to_le_bytes());
    big.push(17);
    big.extend(std::iter::repeat_n(0u8, 17 * 8));
    assert!(L1Op::decode(&big).is_err());
}
