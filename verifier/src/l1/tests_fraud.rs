//! Unit tests of the fraud-proof rules on L1: opening games, moves, clocks, one-step proofs,
//! bonds, finality under a game.

use super::tests::{key, name, Net, CHAIN};
use super::tests_batch::batch_op;
use super::*;
use crate::fraud::{honest_trace, honest_witness, GamePhase, GameResult};
use crate::smt::{MemoryStore, SparseMerkleTree};

/// A chain with one anchor of two empty blocks claiming roots `[1;32]`, `[2;32]` (both wrong).
pub(super) fn anchored() -> Net {
    let mut n = Net::with_chain();
    let op = batch_op(
        &n.state,
        CHAIN,
        &key(3),
        &[key(3), key(4)],
        &[(H256([1; 32]), vec![]), (H256([2; 32]), vec![])],
    );
    n.send(&key(3), op).unwrap();
    n
}

fn open_op(root: H256) -> L1Op {
    L1Op::OpenChallenge {
        chain: CHAIN,
        anchor: 0,
        disputed_root: root,
    }
}

#[test]
fn opening_a_challenge_checks_root_poster_funds_and_window() {
    let mut n = anchored();
    assert_eq!(n.chain().anchors[0].steps, 2);
    assert_eq!(
        name(n.send(&key(5), open_op(H256([9; 32])))),
        "BRIDGE_CHALLENGE_FAILED"
    );
    assert_eq!(
        name(n.send(&key(3), open_op(H256([2; 32])))),
        "L1_NOT_AUTHORIZED"
    );
    assert_eq!(
        name(n.send(&key(7), open_op(H256([2; 32])))),
        "L1_INSUFFICIENT_FUNDS"
    );
    let bad = L1Op::OpenChallenge {
        chain: CHAIN,
        anchor: 5,
        disputed_root: H256([2; 32]),
    };
    assert_eq!(name(n.send(&key(5), bad)), "ANCHOR_UNKNOWN");
    let before = n.state.balance(&key(5).address());
    n.send(&key(5), open_op(H256([2; 32]))).unwrap();
    let bond = n.chain().info.params.challenge_bond;
    assert_eq!(n.state.balance(&key(5).address()), before - bond);
    assert_eq!(n.state.locked_bonds(), Some(bond));
    assert!(n.chain().anchors[0].disputed);
    // A second challenger may join while the window is open.
    n.send(&key(6), open_op(H256([2; 32]))).unwrap();
    assert_eq!(n.state.open_games().count(), 2);
    let deadline = n.chain().anchors[0].deadline;
    n.mine_empty(deadline - n.state.height());
    assert_eq!(
        name(n.send(&key(1), open_op(H256([2; 32])))),
        "BRIDGE_CHALLENGE_FAILED"
    );
    assert!(
        !n.chain().anchors[0].finalized,
        "a disputed anchor does not finalize"
    );
}

#[test]
fn moves_are_checked_and_a_one_step_proof_decides() {
    let mut n = anchored();
    n.send(&key(5), open_op(H256([2; 32]))).unwrap();
    assert_eq!(
        name(n.send(
            &key(5),
            L1Op::BisectReveal {
                game: 0,
                root: H256::ZERO
            }
        )),
        "GAME_WRONG_TURN"
    );
    assert_eq!(
        name(n.send(
            &key(3),
            L1Op::BisectAnswer {
                game: 0,
                agree: true
            }
        )),
        "GAME_WRONG_TURN"
    );
    assert_eq!(
        name(n.send(&key(3), L1Op::Timeout { game: 9 })),
        "GAME_UNKNOWN"
    );
    // The honest trace of the batch from the L1's data.
    let batch = n.state.batch_data(CHAIN, 0).unwrap();
    let mut tree = SparseMerkleTree::new(MemoryStore::new());
    let (trace, err) = honest_trace(&mut tree, &batch).unwrap();
    assert!(err.is_none());
    assert_eq!(trace.len(), 3);
    // The defender reveals the true middle root; the challenger agrees.
    n.send(
        &key(3),
        L1Op::BisectReveal {
            game: 0,
            root: trace[1],
        },
    )
    .unwrap();
    n.send(
        &key(5),
        L1Op::BisectAnswer {
            game: 0,
            agree: true,
        },
    )
    .unwrap();
    let g = n.state.game(0).unwrap().clone();
    assert_eq!(g.phase, GamePhase::OneStep);
    assert_eq!((g.agreed_index, g.disputed_index), (1, 2));
    // A witness against another root is refused and changes nothing.
    let mut other = SparseMerkleTree::new(MemoryStore::new());
    other.set(H256([7; 32]), vec![1]).unwrap();
    let proof = other
        .prove_multi_at(other.root(), &[H256([7; 32])])
        .unwrap();
    let forged = crate::stf::StepWitness {
        proof,
        storage: Vec::new(),
    };
    assert_eq!(
        name(n.send(
            &key(3),
            L1Op::SubmitOneStepProof {
                game: 0,
                witness: forged
            }
        )),
        "FRAUD_PROOF_INVALID"
    );
    let w = honest_witness(&tree, &batch, 1, trace[1]).unwrap();
    let before = n.state.balance(&key(5).address());
    let stake = n.chain().sequencer(&key(4).address()).unwrap().stake;
    n.send(
        &key(5),
        L1Op::SubmitOneStepProof {
            game: 0,
            witness: w,
        },
    )
    .unwrap();
    assert_eq!(
        n.state.game(0).unwrap().result,
        Some(GameResult::FraudProven)
    );
    let p = &n.chain().info.params;
    let (bond, min) = (p.challenge_bond, p.min_slash);
    // Bond back plus half of each of the two slashes.
    assert_eq!(
        n.state.balance(&key(5).address()),
        before + bond + 2 * (min / 2)
    );
    assert_eq!(
        n.chain().sequencer(&key(4).address()).unwrap().stake,
        stake - min
    );
    assert!(n.chain().anchors.is_empty());
    assert_eq!(n.state.locked_bonds(), Some(0));
}

#[test]
fn a_failed_challenge_pays_the_poster_and_the_anchor_finalizes() {
    let mut n = Net::with_chain();
    // An honest batch of one empty block: its root is the block end on the genesis state.
    let batch_root = {
        let op = batch_op(
            &n.state,
            CHAIN,
            &key(3),
            &[key(3), key(4)],
            &[(H256([1; 32]), vec![])],
        );
        let mut probe = n.state.clone();
        let t = L1Tx::signed(&key(3), probe.nonce_of(&key(3).address()), op).unwrap();
        let b = n.next_block(vec![t]);
        probe.apply_block(&b).unwrap();
        let batch = probe.batch_data(CHAIN, 0).unwrap();
        let mut tree = SparseMerkleTree::new(MemoryStore::new());
        honest_trace(&mut tree, &batch).unwrap().0[1]
    };
    let op = batch_op(
        &n.state,
        CHAIN,
        &key(3),
        &[key(3), key(4)],
        &[(batch_root, vec![])],
    );
    n.send(&key(3), op).unwrap();
    let poster = n.state.balance(&key(3).address());
    n.send(&key(5), open_op(batch_root)).unwrap();
    let batch = n.state.batch_data(CHAIN, 0).unwrap();
    let tree = SparseMerkleTree::new(MemoryStore::new());
    let w = honest_witness(&tree, &batch, 0, batch.pre_state_root).unwrap();
    n.send(
        &key(5),
        L1Op::SubmitOneStepProof {
            game: 0,
            witness: w,
        },
    )
    .unwrap();
    assert_eq!(
        n.state.game(0).unwrap().result,
        Some(GameResult::ChallengeFailed)
    );
    let bond = n.chain().info.params.challenge_bond;
    assert_eq!(n.state.balance(&key(3).address()), poster + bond);
    assert!(!n.chain().anchors[0].disputed);
    let deadline = n.chain().anchors[0].deadline;
    n.mine_empty(deadline - n.state.height());
    assert!(n.chain().anchors[0].finalized);
}

mod double_sign {
    use super::super::tests::*;
    use crate::consensus::DoubleSignEvidence;
    use crate::l1::L1Op;
    use crate::types::{BlockSignature, L2BlockHeader};

    fn evidence(k: &crate::PrivateKey, chain: u64) -> DoubleSignEvidence {
        let a = L2BlockHeader {
            block_number: 7,
            l2_chain_id: chain,
            timestamp: 1,
            ..Default::default()
        };
        let mut b = a.clone();
        b.timestamp = 2;
        DoubleSignEvidence {
            sig_a: BlockSignature::sign(k, &a.hash(), 1).unwrap(),
            header_a: a,
            sig_b: BlockSignature::sign(k, &b.hash(), 1).unwrap(),
            header_b: b,
        }
    }

    #[test]
    fn a_double_signer_loses_its_stake_once_and_the_reporter_gets_half() {
        let mut n = Net::with_chain();
        let offender = key(3);
        let reporter = key(9);
        let stake = n.chain().sequencer(&offender.address()).unwrap().stake;
        let before = n.state.balance(&reporter.address());
        let burned = n.state.burned();
        let ev = evidence(&offender, CHAIN);
        n.send(
            &reporter,
            L1Op::ReportDoubleSign {
                chain: CHAIN,
                evidence: Box::new(ev.clone()),
            },
        )
        .unwrap();
        let s = n.chain().sequencer(&offender.address()).unwrap();
        assert_eq!(s.stake, 0);
        assert_ne!(s.status, crate::l1::SequencerStatus::Active);
        assert_eq!(n.state.balance(&reporter.address()), before + stake / 2);
        assert_eq!(n.state.burned(), burned + stake - stake / 2);
        assert_eq!(n.state.total_supply(), Some(n.state.genesis_supply()));
        // Once only.
        let r = n.send(
            &reporter,
            L1Op::ReportDoubleSign {
                chain: CHAIN,
                evidence: Box::new(ev),
            },
        );
        assert_eq!(name(r), "FRAUD_PROOF_INVALID");
    }

    #[test]
    fn forged_or_foreign_evidence_is_refused() {
        let mut n = Net::with_chain();
        let reporter = key(9);
        // Signed by someone else than the sequencer it names.
        let mut ev = evidence(&key(3), CHAIN);
        ev.sig_b = BlockSignature::sign(&key(4), &ev.header_b.hash(), 1).unwrap();
        ev.sig_b.sequencer = key(3).address();
        assert!(n
            .send(
                &reporter,
                L1Op::ReportDoubleSign {
                    chain: CHAIN,
                    evidence: Box::new(ev)
                }
            )
            .is_err());
        // Another chain's headers.
        assert!(n
            .send(
                &reporter,
                L1Op::ReportDoubleSign {
                    chain: CHAIN,
                    evidence: Box::new(evidence(&key(3), CHAIN + 1))
                }
            )
            .is_err());
        // Not a sequencer at all.
        assert!(n
            .send(
                &reporter,
                L1Op::ReportDoubleSign {
                    chain: CHAIN,
                    evidence: Box::new(evidence(&key(8), CHAIN))
                }
            )
            .is_err());
        assert_eq!(
            n.chain().sequencer(&key(3).address()).unwrap().status,
            crate::l1::SequencerStatus::Active
        );
    }
}
