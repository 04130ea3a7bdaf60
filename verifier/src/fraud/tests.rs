//! Unit tests of the game and the evidence.

use super::*;
use crate::codec::{Decode, Encode};
use crate::l1::L1Op;

fn game(steps: u64) -> Game {
    Game::new(
        0,
        1,
        0,
        H256([9; 32]),
        Address([1; 20]),
        Address([2; 20]),
        100,
        steps,
        H256([0; 32]),
        H256([0xff; 32]),
        5,
        10,
    )
    .unwrap()
}

#[test]
fn rounds_are_the_ceiling_of_log2() {
    let expected = [
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 3),
        (8, 3),
        (9, 4),
        (1 << 40, 40),
    ];
    for (steps, rounds) in expected {
        assert_eq!(max_rounds(steps), rounds, "{steps}");
    }
    assert_eq!(max_rounds(u64::MAX), 64);
}

#[test]
fn bisection_takes_at_most_ceil_log2_rounds_and_ends_at_one_step() {
    for steps in 1..40u64 {
        for pattern in 0..16u32 {
            let mut g = game(steps);
            while g.phase != GamePhase::OneStep {
                let root = H256([g.rounds as u8; 32]);
                g.reveal(&Address([2; 20]), root, 10).unwrap();
                let agree = pattern >> (g.rounds % 4) & 1 == 1;
                g.answer(&Address([1; 20]), agree, 10).unwrap();
            }
            assert_eq!(g.disputed_index - g.agreed_index, 1);
            assert!(g.rounds <= max_rounds(steps), "{steps} {pattern}");
            assert_eq!(g.one_step_index(), Some(g.agreed_index));
        }
    }
    assert!(Game::new(
        0,
        1,
        0,
        H256::ZERO,
        Address([1; 20]),
        Address([2; 20]),
        0,
        0,
        H256::ZERO,
        H256::ZERO,
        5,
        0
    )
    .is_err());
}

#[test]
fn only_the_side_to_move_moves_and_clocks_run_out() {
    let mut g = game(8);
    let (c, d) = (Address([1; 20]), Address([2; 20]));
    assert_eq!(g.reveal(&c, H256::ZERO, 11).unwrap_err().code(), 1603);
    assert_eq!(g.answer(&c, true, 11).unwrap_err().code(), 1603);
    assert_eq!(g.timeout(15).unwrap_err().code(), 1605);
    // The defender uses 3 of its 5 blocks.
    g.reveal(&d, H256([1; 32]), 13).unwrap();
    assert_eq!(g.defender_clock, 2);
    assert_eq!(g.deadline(), 18);
    assert_eq!(g.answer(&c, true, 19).unwrap_err().code(), 1604);
    assert_eq!(g.timeout(19).unwrap(), GameResult::ChallengeFailed);
    g.answer(&c, true, 18).unwrap();
    assert_eq!(g.challenger_clock, 0);
    assert_eq!(g.deadline(), 20);
    assert_eq!(g.timeout(21).unwrap(), GameResult::FraudProven);
}

#[test]
fn the_one_step_judgement() {
    let mut g = game(1);
    assert_eq!(g.phase, GamePhase::OneStep);
    let post = g.disputed_root;
    assert_eq!(
        g.judge_one_step(10, Ok(post)).unwrap(),
        GameResult::ChallengeFailed
    );
    assert_eq!(
        g.judge_one_step(10, Ok(H256([3; 32]))).unwrap(),
        GameResult::FraudProven
    );
    let invalid = Err(StfError::L1MessageOutOfOrder {
        expected: 1,
        got: 2,
    });
    assert_eq!(
        g.judge_one_step(10, invalid).unwrap(),
        GameResult::FraudProven
    );
    let missing = Err(StfError::MissingWitness {
        hash: H256::ZERO,
        height: 3,
    });
    assert_eq!(g.judge_one_step(10, missing).unwrap_err().code(), 1601);
    assert_eq!(g.judge_one_step(16, Ok(post)).unwrap_err().code(), 1604);
    g.result = Some(GameResult::Cancelled);
    assert_eq!(g.judge_one_step(10, Ok(post)).unwrap_err().code(), 1603);
}

#[test]
fn evidence_and_ops_round_trip() {
    let evidence = vec![
        FraudEvidence::InvalidTxSignature { block: 1, tx: 2 },
        FraudEvidence::InvalidBlockSignature {
            block: 0,
            signature: 3,
        },
        FraudEvidence::TimestampManipulation { block: 4 },
        FraudEvidence::DoubleSpend {
            first: (0, 1),
            second: (2, 3),
        },
        FraudEvidence::InvalidTransaction {
            block: 0,
            tx: 0,
            witness: None,
        },
    ];
    for e in &evidence {
        assert_eq!(&FraudEvidence::decode(&e.encode()).unwrap(), e);
        let json = serde_json::to_string(e).unwrap();
        assert_eq!(&serde_json::from_str::<FraudEvidence>(&json).unwrap(), e);
    }
    assert_eq!(evidence[0].kind(), FraudKind::InvalidSignature);
    assert_eq!(evidence[3].kind(), FraudKind::DoubleSpend);
    assert!(FraudEvidence::decode(&[9, 0, 0, 0, 0]).is_err());
    let ops = vec![
        L1Op::OpenChallenge {
            chain: 1,
            anchor: 2,
            disputed_root: H256([3; 32]),
        },
        L1Op::BisectReveal {
            game: 4,
            root: H256([5; 32]),
        },
        L1Op::BisectAnswer {
            game: 6,
            agree: true,
        },
        L1Op::SubmitFraudProof {
            chain: 1,
            anchor: 0,
            evidence: evidence[3].clone(),
        },
        L1Op::Timeout { game: 7 },
    ];
    for op in &ops {
        assert_eq!(&L1Op::decode(&op.encode()).unwrap(), op);
        let json = serde_json::to_string(op).unwrap();
        assert_eq!(&serde_json::from_str::<L1Op>(&json).unwrap(), op);
    }
}

#[test]
fn batch_steps_are_located_in_trace_order() {
    let b1 = L2Block {
        l1_message_hashes: vec![H256([1; 32])],
        transactions: vec![Default::default(), Default::default()],
        ..Default::default()
    };
    let b2 = L2Block::default();
    let blocks = vec![b1, b2];
    assert_eq!(step_count(&blocks), 5);
    let batch = BatchData {
        chain_id: 1,
        pre_state_root: H256::ZERO,
        post_state_root: H256::ZERO,
        blocks,
        messages: vec![vec![], vec![]],
        sequencers: vec![],
        l1_time: 0,
        prev_timestamp: None,
        max_timestamp_drift: 7200,
        rent: Default::default(),
    };
    assert_eq!(batch.locate(0), Some((0, 0)));
    assert_eq!(batch.locate(3), Some((0, 3)));
    assert_eq!(batch.locate(4), Some((1, 0)));
    assert_eq!(batch.locate(5), None);
    assert_eq!(batch.first_step_of(1), 4);
    assert!(batch.step(5).is_err());
    assert!(matches!(batch.step(4).unwrap().0, Step::BlockEnd));
    assert!(BatchData::split_messages(&batch.blocks, &[]).is_err());
}

/// A batch of two blocks of signed transfers from funded accounts, with the honest roots, and
/// a tree at its pre-state root.
fn signed_batch() -> (
    crate::smt::SparseMerkleTree<crate::smt::MemoryStore>,
    BatchData,
) {
    use crate::params::{ChainParams, Network, COIN};
    use crate::smt::{AccountTree, MemoryStore, SparseMerkleTree};
    use crate::types::{L2Transaction, TxType};
    let keys: Vec<crate::keys::PrivateKey> = (1u8..=6)
        .map(|i| crate::keys::PrivateKey::from_bytes(&[i; 32]).unwrap())
        .collect();
    let accounts: Vec<(Address, crate::AccountState)> = keys
        .iter()
        .map(|k| {
            let st = crate::AccountState {
                balance: 10 * COIN,
                hat_score: 90,
                ..Default::default()
            };
            (k.address(), st)
        })
        .collect();
    let mut at = AccountTree::new(MemoryStore::new());
    at.set_many(&accounts).unwrap();
    let pre = at.root();
    let mut tree = SparseMerkleTree::with_root(at.tree().store().clone(), pre).unwrap();
    let params = ChainParams::for_network(Network::Regtest);
    let mut blocks = Vec::new();
    for (i, chunk) in keys.chunks(3).enumerate() {
        let mut b = L2Block::default();
        b.header.block_number = i as u64 + 1;
        b.header.timestamp = 1_700_000_000_000 + i as u64 * 100;
        b.header.l2_chain_id = 1;
        b.header.sequencer = Address([0xa0; 20]);
        b.header.gas_limit = params.block_gas_limit;
        for k in chunk {
            let mut t = L2Transaction {
                from: k.address(),
                to: Address([0xb0; 20]),
                value: COIN,
                gas_limit: 21_000,
                gas_price: 1,
                tx_type: TxType::Transfer,
                l2_chain_id: 1,
                ..Default::default()
            };
            t.sign(k).unwrap();
            b.transactions.push(t);
        }
        b.header.transactions_root = b.transactions_root();
        blocks.push(b);
    }
    let mut batch = BatchData {
        chain_id: 1,
        pre_state_root: pre,
        post_state_root: H256::ZERO,
        messages: vec![Vec::new(); blocks.len()],
        blocks,
        sequencers: Vec::new(),
        l1_time: 1_700_000_100,
        prev_timestamp: None,
        max_timestamp_drift: params.max_timestamp_drift,
        rent: crate::stf::rules::RentParams::of(&params),
    };
    let (trace, invalid) = honest_trace(&mut tree, &batch).unwrap();
    assert!(invalid.is_none(), "{invalid:?}");
    let mut at_step = 0usize;
    for b in &mut batch.blocks {
        at_step += b.transactions.len() + 1;
        b.header.state_root = trace[at_step];
    }
    batch.post_state_root = *trace.last().unwrap();
    tree.revert_to(pre).unwrap();
    (tree, batch)
}

#[test]
fn the_screening_s_senders_replay_as_recovering_them_again() {
    let (mut tree, batch) = signed_batch();
    let pre = batch.pre_state_root;
    let (evidence, senders) = find_evidence_with_senders(&batch);
    assert_eq!(evidence, None);
    assert_eq!(evidence, find_evidence(&batch));
    assert_eq!(senders, Senders::recover(&batch));
    assert_eq!(senders.block(1).unwrap().senders.len(), 3);
    assert!(senders.block(2).is_none());
    assert!(replay_batch_with_senders(&mut tree, &batch, &senders).unwrap());
    assert_eq!(tree.root(), batch.post_state_root);
    tree.revert_to(pre).unwrap();
    assert!(replay_batch(&mut tree, &batch).unwrap());
    assert_eq!(tree.root(), batch.post_state_root);
    // Senders that do not fit a block (or are missing) are recovered again.
    let mut short = senders.clone();
    short.blocks[0].hashes.pop();
    short.blocks.truncate(1);
    tree.revert_to(pre).unwrap();
    assert!(replay_batch_with_senders(&mut tree, &batch, &short).unwrap());
    assert_eq!(tree.root(), batch.post_state_root);
    // A wrong block root is found either way, at the same root.
    let mut bad = batch.clone();
    bad.blocks[1].header.state_root = H256([7; 32]);
    tree.revert_to(pre).unwrap();
    assert!(!replay_batch_with_senders(&mut tree, &bad, &senders).unwrap());
    let with = tree.root();
    tree.revert_to(pre).unwrap();
    assert!(!replay_batch(&mut tree, &bad).unwrap());
    assert_eq!(tree.root(), with);
}

#[test]
fn a_bad_signature_is_found_and_its_sender_is_none() {
    let (_, mut batch) = signed_batch();
    batch.blocks[1].transactions[2].signature[10] ^= 0x5a;
    let (evidence, senders) = find_evidence_with_senders(&batch);
    assert_eq!(
        evidence,
        Some(FraudEvidence::InvalidTxSignature { block: 1, tx: 2 })
    );
    assert_eq!(evidence, find_evidence(&batch));
    assert_eq!(senders, Senders::recover(&batch));
    assert_ne!(
        senders.block(1).unwrap().senders[2],
        Some(batch.blocks[1].transactions[2].from)
    );
}

#[test]
fn judge_batch_gives_the_answers_of_screening_then_replay() {
    let (mut tree, batch) = signed_batch();
    let pre = batch.pre_state_root;
    assert_eq!(judge_batch(&mut tree, &batch).unwrap(), (None, true));
    assert_eq!(tree.root(), batch.post_state_root);
    // A wrong block root: no evidence, the replay says no.
    let mut bad = batch.clone();
    bad.blocks[1].header.state_root = H256([7; 32]);
    tree.revert_to(pre).unwrap();
    assert_eq!(judge_batch(&mut tree, &bad).unwrap(), (None, false));
    // A wrong post-state root alone.
    let mut bad = batch.clone();
    bad.post_state_root = H256([8; 32]);
    tree.revert_to(pre).unwrap();
    assert_eq!(judge_batch(&mut tree, &bad).unwrap(), (None, false));
    // Evidence in the last block is found although the replay stopped at an earlier one, and
    // is the evidence `find_evidence` gives.
    for (b, t) in [(0, 0), (1, 2), (2, 0)] {
        let mut bad = batch.clone();
        bad.blocks[0].header.state_root = H256([9; 32]);
        if let Some(tx) = bad
            .blocks
            .get_mut(b)
            .and_then(|x| x.transactions.get_mut(t))
        {
            tx.signature[10] ^= 0x5a;
        } else {
            continue;
        }
        tree.revert_to(pre).unwrap();
        let (evidence, replayed) = judge_batch(&mut tree, &bad).unwrap();
        assert_eq!(evidence, find_evidence(&bad), "{b} {t}");
        assert_eq!(
            evidence,
            Some(FraudEvidence::InvalidTxSignature {
                block: b as u32,
                tx: t as u32
            })
        );
        assert!(!replayed);
    }
}
