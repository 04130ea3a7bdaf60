//! Unit tests of anchors: batch posts and their errors, finality and disputes, withdrawals and
//! fast withdrawals, emergency exits.

use super::tests::{deposit_op, key, Net, CHAIN, FUND};
use super::*;
use crate::codec::Encode;
use crate::da::{compress_batch, encode_payload, serialize_blocks, DaParams};
use crate::keys::PrivateKey;
use crate::params::COIN;
use crate::smt::{AccountTree, CompactProof, MemoryStore};
use crate::types::{
    AccountState, BatchHeader, BlockSignature, L2Block, L2BlockHeader, WithdrawalRecord,
};

/// One L2 block per entry: (its state root, the L1 message hashes it consumes).
pub(crate) fn batch_op(
    state: &L1State,
    chain: u64,
    poster: &PrivateKey,
    signers: &[PrivateKey],
    blocks: &[(H256, Vec<H256>)],
) -> L1Op {
    let c = state.chain(chain).unwrap();
    let start = c.info.latest_l2_block + 1;
    let l2: Vec<L2Block> = blocks
        .iter()
        .enumerate()
        .map(|(i, (root, msgs))| L2Block {
            header: L2BlockHeader {
                block_number: start + i as u64,
                state_root: *root,
                l2_chain_id: chain,
                timestamp: 1_700_000_000 + i as u64,
                ..Default::default()
            },
            l1_message_hashes: msgs.clone(),
            ..Default::default()
        })
        .collect();
    let bytes = serialize_blocks(&l2);
    let da = DaParams::default();
    let payload = compress_batch(&bytes, &da).unwrap();
    let commitment = encode_payload(&payload, crate::sha256d(&bytes), &da)
        .unwrap()
        .commitment;
    let header = BatchHeader {
        version: 1,
        start_block: start,
        end_block: start + blocks.len() as u64 - 1,
        pre_state_root: c.info.latest_state_root,
        post_state_root: blocks.last().map(|b| b.0).unwrap_or_default(),
        l2_chain_id: chain,
        l1_anchor_block: state.height(),
        l1_anchor_hash: state.tip_hash(),
        sequencer_address: poster.address(),
        timestamp: 1_700_000_000,
        ..Default::default()
    };
    let signatures = signers
        .iter()
        .map(|k| BlockSignature::sign(k, &header.hash(), 1).unwrap())
        .collect();
    L1Op::PostBatch {
        chain,
        header,
        commitment,
        payload,
        signatures,
    }
}

/// A change to a `PostBatch`'s parts.
type Edit<'a> = dyn Fn(&mut BatchHeader, &mut crate::da::DACommitment, &mut Vec<u8>, &mut Vec<BlockSignature>)
    + 'a;

fn seqs() -> Vec<PrivateKey> {
    vec![key(3), key(4)]
}

pub(crate) fn sample_post_batch() -> L1Op {
    let n = Net::with_chain();
    batch_op(
        &n.state,
        CHAIN,
        &key(3),
        &seqs(),
        &[(H256([1; 32]), vec![])],
    )
}

pub(crate) fn sample_withdrawal_op() -> L1Op {
    let (_, record, proof) = withdrawal_tree(5);
    L1Op::FinalizeWithdrawal {
        chain: CHAIN,
        anchor: 0,
        record,
        proof,
    }
}

/// A state tree with account X (key 7) holding 70 COIN and a withdrawal of `amount` COIN
/// from X to key 6.
fn withdrawal_tree(amount: i64) -> (AccountTree<MemoryStore>, WithdrawalRecord, CompactProof) {
    let mut t = AccountTree::new(MemoryStore::new());
    let x = key(7).address();
    t.set(
        &x,
        AccountState {
            balance: 70 * COIN,
            nonce: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let record = WithdrawalRecord {
        id: H256([0xee; 32]),
        l2_sender: x,
        l1_recipient: key(6).address(),
        amount: amount * COIN,
        l2_block: 1,
    };
    t.tree_mut().set(record.key(), record.encode()).unwrap();
    let proof = t.tree().prove_compact(&record.key()).unwrap();
    (t, record, proof)
}

fn name(r: Result<Vec<L1Event>, L1Error>) -> &'static str {
    r.err().map(|e| e.name()).unwrap_or("OK")
}

/// Deposit 100 COIN for X and anchor a batch with X at 70 and a 30-COIN withdrawal.
fn anchored() -> (
    Net,
    WithdrawalRecord,
    CompactProof,
    AccountTree<MemoryStore>,
) {
    let mut n = Net::with_chain();
    n.send(&key(5), deposit_op(key(7).address(), 100 * COIN))
        .unwrap();
    let (t, record, proof) = withdrawal_tree(30);
    let msg = n.chain().queue[0].hash;
    let op = batch_op(
        &n.state,
        CHAIN,
        &key(3),
        &seqs(),
        &[(H256([2; 32]), vec![msg]), (t.root(), vec![])],
    );
    let ev = n.send(&key(3), op).unwrap();
    assert!(matches!(ev[0], L1Event::BatchAnchored { index: 0, .. }));
    (n, record, proof, t)
}

#[test]
fn batches_anchor_finalize_and_pay_withdrawals() {
    let (mut n, record, proof, t) = anchored();
    let c = n.chain();
    let a = c.anchors[0].clone();
    assert_eq!(
        (c.consumed, c.info.latest_l2_block, c.info.latest_state_root),
        (1, 2, t.root())
    );
    assert_eq!(a.deadline, a.l1_height + c.info.params.challenge_period);
    assert_eq!((a.messages_start, a.messages_end), (0, 1));
    let withdraw = |record: WithdrawalRecord, proof: CompactProof| L1Op::FinalizeWithdrawal {
        chain: CHAIN,
        anchor: 0,
        record,
        proof,
    };
    let u = key(5);
    assert_eq!(
        name(n.send(&u, withdraw(record, proof.clone()))),
        "BRIDGE_NOT_FINAL"
    );
    let ev = n.mine_empty(a.deadline - n.state.height());
    assert_eq!(
        ev,
        vec![L1Event::AnchorFinalized {
            chain: CHAIN,
            index: 0,
            root: t.root()
        }]
    );
    assert_eq!(n.chain().info.finalized_state_root, t.root());
    assert_eq!(n.chain().finalized_consumed, 1);
    let mut forged = record;
    forged.amount += 1;
    assert_eq!(
        name(n.send(&u, withdraw(forged, proof.clone()))),
        "BRIDGE_PROOF_INVALID"
    );
    let mut forged = record;
    forged.id = H256([1; 32]);
    assert_eq!(
        name(n.send(&u, withdraw(forged, proof.clone()))),
        "BRIDGE_PROOF_INVALID"
    );
    let other = t.tree().prove_compact(&H256([3; 32])).unwrap();
    assert_eq!(
        name(n.send(&u, withdraw(record, other))),
        "BRIDGE_PROOF_INVALID"
    );
    let op = L1Op::FinalizeWithdrawal {
        chain: CHAIN,
        anchor: 5,
        record,
        proof: proof.clone(),
    };
    assert_eq!(name(n.send(&u, op)), "ANCHOR_UNKNOWN");
    let ev = n.send(&u, withdraw(record, proof.clone())).unwrap();
    assert_eq!(
        ev,
        vec![L1Event::WithdrawalPaid {
            chain: CHAIN,
            id: record.id,
            recipient: key(6).address(),
            amount: 30 * COIN
        }]
    );
    assert_eq!(n.state.balance(&key(6).address()), FUND + 30 * COIN);
    assert_eq!(n.chain().escrow, 70 * COIN);
    assert_eq!(
        name(n.send(&u, withdraw(record, proof))),
        "BRIDGE_ALREADY_PAID"
    );
}

#[test]
fn fast_withdrawals_for_high_reputation() {
    let (mut n, record, proof, _) = anchored();
    let a = n.chain().anchors[0].clone();
    let op = L1Op::FinalizeWithdrawal {
        chain: CHAIN,
        anchor: 0,
        record,
        proof: proof.clone(),
    };
    n.mine_empty(a.fast_deadline - n.state.height());
    assert_eq!(name(n.send(&key(5), op.clone())), "BRIDGE_NOT_FINAL");
    n.send(
        &key(1),
        L1Op::SetHatScore {
            address: record.l2_sender,
            score: 80,
        },
    )
    .unwrap();
    assert!(n.state.height() < a.deadline);
    n.send(&key(5), op).unwrap();
    // over the fast limit: BRIDGE_WITHDRAWAL_LIMIT
    let (mut n, _, _, _) = anchored();
    n.send(
        &key(1),
        L1Op::SetHatScore {
            address: record.l2_sender,
            score: 90,
        },
    )
    .unwrap();
    n.mine_empty(3);
    let mut big = record;
    big.amount = n.chain().info.params.max_deposit_per_tx + 1;
    let op = L1Op::FinalizeWithdrawal {
        chain: CHAIN,
        anchor: 0,
        record: big,
        proof,
    };
    assert_eq!(name(n.send(&key(5), op)), "BRIDGE_WITHDRAWAL_LIMIT");
}

#[test]
fn escrow_shortfall_is_refused() {
    let mut n = Net::with_chain();
    n.send(&key(5), deposit_op(key(7).address(), 10 * COIN))
        .unwrap();
    let (t, record, proof) = withdrawal_tree(30);
    let msg = n.chain().queue[0].hash;
    let op = batch_op(&n.state, CHAIN, &key(3), &seqs(), &[(t.root(), vec![msg])]);
    n.send(&key(3), op).unwrap();
    n.mine_empty(10);
    let op = L1Op::FinalizeWithdrawal {
        chain: CHAIN,
        anchor: 0,
        record,
        proof,
    };
    assert_eq!(name(n.send(&key(5), op)), "BRIDGE_INSUFFICIENT_BALANCE");
    assert_eq!(n.chain().escrow, 10 * COIN);
}

#[test]
fn batch_errors() {
    let mut n = Net::with_chain();
    n.send(&key(5), deposit_op(key(7).address(), COIN)).unwrap();
    let msg = n.chain().queue[0].hash;
    let root = H256([4; 32]);
    let good = batch_op(&n.state, CHAIN, &key(3), &seqs(), &[(root, vec![msg])]);
    let edit = |f: &Edit<'_>| {
        let mut op = good.clone();
        if let L1Op::PostBatch {
            header,
            commitment,
            payload,
            signatures,
            ..
        } = &mut op
        {
            f(header, commitment, payload, signatures);
        }
        op
    };
    let resign = |h: &BatchHeader, s: &mut Vec<BlockSignature>| {
        *s = seqs()
            .iter()
            .map(|k| BlockSignature::sign(k, &h.hash(), 1).unwrap())
            .collect();
    };
    let cases: Vec<(L1Op, u8, &str)> = vec![
        (good.clone(), 5, "SEQ_UNKNOWN"),
        (
            edit(&|h, _, _, s| {
                h.pre_state_root = H256([1; 32]);
                resign(h, s)
            }),
            3,
            "STATE_ROOT_MISMATCH",
        ),
        (
            edit(&|h, _, _, s| {
                h.post_state_root = H256([1; 32]);
                resign(h, s)
            }),
            3,
            "STATE_ROOT_MISMATCH",
        ),
        (
            edit(&|h, _, _, s| {
                h.start_block = 2;
                h.end_block = 2;
                resign(h, s)
            }),
            3,
            "BATCH_INVALID",
        ),
        (
            edit(&|h, _, _, s| {
                h.end_block = 2;
                resign(h, s)
            }),
            3,
            "BATCH_INVALID",
        ),
        (
            edit(&|h, _, _, s| {
                h.l1_anchor_hash = H256([1; 32]);
                resign(h, s)
            }),
            3,
            "BATCH_INVALID",
        ),
        (
            edit(&|h, _, _, s| {
                h.l2_chain_id = 2;
                resign(h, s)
            }),
            3,
            "BATCH_INVALID",
        ),
        (
            edit(&|h, _, _, s| {
                h.transaction_count = 1;
                resign(h, s)
            }),
            3,
            "BATCH_INVALID",
        ),
        (edit(&|_, _, _, _| {}), 4, "BATCH_INVALID"),
        (
            edit(&|_, _, _, s| {
                s.pop();
            }),
            3,
            "CONSENSUS_NO_QUORUM",
        ),
        (edit(&|_, _, _, s| s.clear()), 3, "CONSENSUS_NO_QUORUM"),
        (
            edit(&|h, _, _, s| s.push(BlockSignature::sign(&key(5), &h.hash(), 1).unwrap())),
            3,
            "CONSENSUS_INVALID_VOTE",
        ),
        (
            edit(&|_, _, _, s| {
                let d = s[0].clone();
                s.push(d)
            }),
            3,
            "CONSENSUS_INVALID_VOTE",
        ),
        (
            edit(&|_, _, _, s| s[1] = BlockSignature::sign(&key(4), &H256([1; 32]), 1).unwrap()),
            3,
            "CONSENSUS_INVALID_VOTE",
        ),
        (
            edit(&|_, c, _, _| c.data_hash = H256([1; 32])),
            3,
            "BATCH_DA_MISMATCH",
        ),
        (
            edit(&|_, c, _, _| c.row_roots[0] = H256([1; 32])),
            3,
            "BATCH_DA_MISMATCH",
        ),
        (edit(&|_, _, p, _| p.push(0)), 3, "BATCH_DA_MISMATCH"),
    ];
    let wants: Vec<&str> = cases.iter().map(|c| c.2).collect();
    let got = n.send_many(cases.into_iter().map(|(op, k, _)| (k, op)).collect());
    let got: Vec<&str> = got.into_iter().map(name).collect();
    assert_eq!(got, wants);
    let bad_msgs = batch_op(
        &n.state,
        CHAIN,
        &key(3),
        &seqs(),
        &[(root, vec![H256([1; 32])])],
    );
    assert_eq!(name(n.send(&key(3), bad_msgs)), "BATCH_MESSAGES_MISMATCH");
    let too_many = batch_op(&n.state, CHAIN, &key(3), &seqs(), &[(root, vec![msg, msg])]);
    assert_eq!(name(n.send(&key(3), too_many)), "BATCH_MESSAGES_MISMATCH");
    assert!(n.chain().anchors.is_empty());
    let good = batch_op(&n.state, CHAIN, &key(3), &seqs(), &[(root, vec![msg])]);
    n.send(&key(3), good.clone()).unwrap();
    // the same batch again no longer continues the chain
    assert_eq!(name(n.send(&key(3), good)), "STATE_ROOT_MISMATCH");
    // paused chains take no batches
    n.send(
        &key(2),
        L1Op::SetChainStatus {
            chain: CHAIN,
            status: L2Status::Paused,
        },
    )
    .unwrap();
    let op = batch_op(&n.state, CHAIN, &key(3), &seqs(), &[(root, vec![])]);
    assert_eq!(name(n.send(&key(3), op)), "CHAIN_WRONG_STATUS");
}

#[test]
fn disputes_hold_finality_and_roll_back() {
    let (mut n, _, _, t) = anchored();
    let a = n.chain().anchors[0].clone();
    n.state.open_dispute(CHAIN, 0).unwrap();
    assert_eq!(
        n.state.open_dispute(CHAIN, 0).unwrap_err().name(),
        "BRIDGE_CHALLENGE_FAILED"
    );
    assert!(n.state.open_dispute(CHAIN, 1).is_err());
    n.mine_empty(a.deadline + 1 - n.state.height());
    assert_eq!(n.chain().finalized_count, 0);
    n.state.resolve_dispute(CHAIN, 0, false).unwrap();
    assert!(n.state.resolve_dispute(CHAIN, 0, false).is_err());
    let ev = n.mine(vec![]).events;
    assert!(matches!(ev[0], L1Event::AnchorFinalized { .. }));
    assert_eq!(n.state.open_dispute(CHAIN, 0).unwrap_err().code(), 1204);
    // a proven fraud removes the anchor and what follows
    let msg2 = {
        n.send(&key(5), deposit_op(key(7).address(), COIN)).unwrap();
        n.chain().queue[1].hash
    };
    let op = batch_op(
        &n.state,
        CHAIN,
        &key(3),
        &seqs(),
        &[(H256([9; 32]), vec![msg2])],
    );
    n.send(&key(3), op).unwrap();
    assert_eq!(n.chain().consumed, 2);
    n.state.open_dispute(CHAIN, 1).unwrap();
    n.state.resolve_dispute(CHAIN, 1, true).unwrap();
    let c = n.chain();
    assert_eq!(
        (
            c.anchors.len(),
            c.consumed,
            c.info.latest_state_root,
            c.info.latest_l2_block
        ),
        (1, 1, t.root(), 2)
    );
}

#[test]
fn emergency_exits_against_the_last_finalized_root() {
    let (mut n, record, wproof, t) = anchored();
    let x = key(7).address();
    let acct = t.get(&x).unwrap();
    let exit = |account: AccountState, proof: CompactProof| L1Op::EmergencyWithdraw {
        chain: CHAIN,
        address: x,
        account,
        proof,
    };
    let xproof = t.prove_compact(&x).unwrap();
    assert_eq!(
        name(n.send(&key(5), exit(acct, xproof.clone()))),
        "CHAIN_WRONG_STATUS"
    );
    n.mine_empty(10);
    assert_eq!(n.chain().finalized_count, 1);
    // a later deposit and batch that will not be final when the emergency comes
    n.send(&key(6), deposit_op(x, 5 * COIN)).unwrap();
    let msg = n.chain().queue[1].hash;
    let op = batch_op(
        &n.state,
        CHAIN,
        &key(3),
        &seqs(),
        &[(H256([8; 32]), vec![msg])],
    );
    n.send(&key(3), op).unwrap();
    n.state.open_dispute(CHAIN, 1).unwrap();
    let due = n.chain().info.latest_l1_anchor + n.chain().info.params.emergency_after;
    let ev = n.mine_empty(due - n.state.height());
    assert!(ev.contains(&L1Event::DepositRefunded {
        chain: CHAIN,
        index: 1,
        recipient: key(6).address(),
        amount: 5 * COIN
    }));
    assert_eq!(n.chain().info.status, L2Status::Emergency);
    assert_eq!(n.chain().info.finalized_state_root, t.root());
    let mut wrong = acct;
    wrong.balance += 1;
    assert_eq!(
        name(n.send(&key(5), exit(wrong, xproof.clone()))),
        "BRIDGE_PROOF_INVALID"
    );
    let ev = n.send(&key(5), exit(acct, xproof.clone())).unwrap();
    assert_eq!(
        ev,
        vec![L1Event::EmergencyExit {
            chain: CHAIN,
            address: x,
            amount: 70 * COIN
        }]
    );
    assert_eq!(n.state.balance(&x), 70 * COIN);
    assert_eq!(
        name(n.send(&key(5), exit(acct, xproof))),
        "BRIDGE_ALREADY_PAID"
    );
    // an absent account has nothing to exit
    let nobody = key(9).address();
    let op = L1Op::EmergencyWithdraw {
        chain: CHAIN,
        address: nobody,
        account: AccountState::default(),
        proof: t.prove_compact(&nobody).unwrap(),
    };
    assert_eq!(name(n.send(&key(5), op)), "L1_INVALID_AMOUNT");
    // withdrawals in final anchors are still paid; the rest of the escrow is exactly 0
    let op = L1Op::FinalizeWithdrawal {
        chain: CHAIN,
        anchor: 0,
        record,
        proof: wproof,
    };
    n.send(&key(5), op).unwrap();
    let c = n.chain();
    assert_eq!(c.escrow, 0);
    assert_eq!(
        c.escrow,
        c.total_deposited - c.total_withdrawn - c.total_exited - c.total_refunded
    );
    // no more anchors finalize in EMERGENCY, no disputes open
    assert!(n.state.open_dispute(CHAIN, 1).is_err());
}
