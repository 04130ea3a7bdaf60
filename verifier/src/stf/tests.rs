use super::*;
use crate::keys::PrivateKey;
use crate::params::{ChainParams, Network, COIN};
use crate::smt::{verify_compact_proof, MemoryStore, SparseMerkleTree};
use crate::types::{
    L1Message, L1MessageBody, L2Block, L2BlockHeader, L2Transaction, TxType, WithdrawalRecord,
};
use crate::{Address, Decode, Encode};

const CHAIN: u64 = 7;

fn key(b: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[b; 32]).unwrap()
}

fn deposit(index: u64, to: Address, amount: i64) -> L1Message {
    L1Message {
        index,
        l1_block: 1,
        l1_tx_hash: crate::sha256d(&index.to_le_bytes()),
        l1_sender: Address([9; 20]),
        body: L1MessageBody::Deposit {
            recipient: to,
            amount,
        },
    }
}

fn tx(k: &PrivateKey, ty: TxType, to: Address, value: i64, nonce: u64) -> L2Transaction {
    let mut t = L2Transaction {
        from: k.address(),
        to,
        value,
        nonce,
        gas_limit: 100_000,
        gas_price: 10,
        tx_type: ty,
        l2_chain_id: CHAIN,
        ..Default::default()
    };
    t.sign(k).unwrap();
    t
}

fn env<'a>(
    params: &'a ChainParams,
    others: &'a [Address],
    parent: Option<&'a L2BlockHeader>,
    msgs: &'a [L1Message],
) -> BlockEnv<'a> {
    BlockEnv {
        params,
        chain_id: CHAIN,
        messages: msgs,
        other_sequencers: others,
        parent,
        l1_anchor_time: 1_000,
    }
}

struct Chain {
    tree: SparseMerkleTree<MemoryStore>,
    params: ChainParams,
    parent: Option<L2BlockHeader>,
    producer: Address,
    others: Vec<Address>,
}

impl Chain {
    fn new() -> Self {
        Chain {
            tree: SparseMerkleTree::new(MemoryStore::new()),
            params: ChainParams::for_network(Network::Regtest),
            parent: None,
            producer: key(0x50).address(),
            others: vec![key(0x51).address(), key(0x52).address()],
        }
    }
    fn block(&self, txs: Vec<L2Transaction>) -> L2Block {
        let n = self.parent.as_ref().map_or(0, |p| p.block_number + 1);
        let mut b = L2Block::default();
        b.header.block_number = n;
        b.header.parent_hash = self.parent.as_ref().map_or(crate::H256::ZERO, |p| p.hash());
        b.header.timestamp = 1_000 + n;
        b.header.sequencer = self.producer;
        b.header.gas_limit = self.params.block_gas_limit;
        b.header.l2_chain_id = CHAIN;
        b.transactions = txs;
        b
    }
    fn seal(&mut self, txs: Vec<L2Transaction>, msgs: &[L1Message]) -> Result<L2Block, StfError> {
        let mut b = self.block(txs);
        let env = env(&self.params, &self.others, self.parent.as_ref(), msgs);
        seal_block(&mut self.tree, &mut b, &env)?;
        self.parent = Some(b.header.clone());
        Ok(b)
    }
    fn balance(&self, a: &Address) -> i64 {
        let mut ov = Overlay::new(&self.tree);
        ov.account(a).unwrap().balance
    }
}

#[test]
fn deposit_transfer_withdraw_and_fee_split() {
    let alice = key(1);
    let bob = key(2);
    let mut c = Chain::new();
    c.seal(vec![], &[deposit(0, alice.address(), 100 * COIN)])
        .unwrap();
    assert_eq!(c.balance(&alice.address()), 100 * COIN);

    let t1 = tx(&alice, TxType::Transfer, bob.address(), 5 * COIN, 0);
    let w = tx(&alice, TxType::Withdrawal, Address([0x77; 20]), COIN, 1);
    let b = c.seal(vec![t1, w.clone()], &[]).unwrap();
    let fee_t = 21_000 * 10;
    let fee_w = 41_000 * 10;
    assert_eq!(c.balance(&bob.address()), 5 * COIN);
    assert_eq!(
        c.balance(&alice.address()),
        100 * COIN - 5 * COIN - COIN - fee_t - fee_w
    );
    // 70 % to the producer, 20 % through the pool to the two others, 10 % burned.
    let fees = fee_t + fee_w;
    assert_eq!(c.balance(&c.producer.clone()), fees * 70 / 100);
    for o in c.others.clone() {
        assert_eq!(c.balance(&o), fees * 20 / 100 / 2);
    }
    assert_eq!(b.header.gas_used, 21_000 + 41_000);
    // The withdrawal record is provable against the state root.
    let rec = WithdrawalRecord {
        id: w.hash(),
        l2_sender: alice.address(),
        l1_recipient: Address([0x77; 20]),
        amount: COIN,
        l2_block: b.header.block_number,
    };
    let p = c.tree.prove_compact(&rec.key()).unwrap();
    assert_eq!(
        verify_compact_proof(&p, &b.header.state_root).unwrap(),
        Some(rec.encode())
    );
}

#[test]
fn bad_transactions_get_named_errors() {
    let alice = key(1);
    let mut c = Chain::new();
    c.seal(vec![], &[deposit(0, alice.address(), COIN)])
        .unwrap();
    let to = Address([3; 20]);
    type Case = (L2Transaction, fn(&TxError) -> bool);
    let cases: Vec<Case> = vec![
        (
            {
                let mut t = tx(&alice, TxType::Transfer, to, 1, 0);
                t.value = 2; // signature no longer matches
                t
            },
            |e| matches!(e, TxError::InvalidSignature(_)),
        ),
        (tx(&alice, TxType::Transfer, to, 1, 5), |e| {
            matches!(
                e,
                TxError::BadNonce {
                    got: 5,
                    expected: 0
                }
            )
        }),
        (
            {
                let mut t = tx(&alice, TxType::Transfer, to, 1, 0);
                t.l2_chain_id = 8;
                t.sign(&alice).unwrap();
                t
            },
            |e| matches!(e, TxError::WrongChain { got: 8, .. }),
        ),
        (tx(&alice, TxType::Transfer, to, 2 * COIN, 0), |e| {
            matches!(e, TxError::InsufficientBalance { .. })
        }),
        (
            {
                let mut t = tx(&alice, TxType::Transfer, to, i64::MAX, 0);
                t.gas_price = 1;
                t.sign(&alice).unwrap();
                t
            },
            |e| matches!(e, TxError::Overflow(_)),
        ),
        (
            {
                let mut t = tx(&alice, TxType::Transfer, to, 1, 0);
                t.gas_limit = 20_000;
                t.sign(&alice).unwrap();
                t
            },
            |e| matches!(e, TxError::GasLimitTooLow { .. }),
        ),
        (tx(&alice, TxType::Deposit, to, 1, 0), |e| {
            matches!(e, TxError::L1Only(TxType::Deposit))
        }),
    ];
    let root = c.tree.root();
    for (t, check) in cases {
        match c.seal(vec![t], &[]) {
            Err(StfError::InvalidTransaction { reason, .. }) => assert!(check(&reason), "{reason}"),
            other => panic!("expected an invalid transaction, got {other:?}"),
        }
        assert_eq!(
            c.tree.root(),
            root,
            "a failed block leaves the state as it was"
        );
    }
    // Replay: the same transaction twice.
    let t = tx(&alice, TxType::Transfer, to, 1, 0);
    c.seal(vec![t.clone()], &[]).unwrap();
    assert!(matches!(
        c.seal(vec![t], &[]),
        Err(StfError::InvalidTransaction {
            reason: TxError::BadNonce { .. },
            ..
        })
    ));
}

#[test]
fn unsupported_types_fail_with_a_receipt_and_forced_failures_are_consumed() {
    let alice = key(1);
    let mut c = Chain::new();
    c.seal(vec![], &[deposit(0, alice.address(), COIN)])
        .unwrap();
    let call = tx(&alice, TxType::ContractCall, Address([5; 20]), 100, 0);
    let mut b = c.block(vec![call]);
    b.header.transactions_root = b.transactions_root();
    let env = env(&c.params, &c.others, c.parent.as_ref(), &[]);
    let out = execute_block(&mut c.tree, &b, &env).unwrap();
    assert!(!out.receipts[0].success);
    assert!(out.receipts[0]
        .error
        .contains("unsupported transaction type"));
    b.header.state_root = out.state_root;
    // A forced transaction with a bad nonce is consumed with a failed receipt.
    let mut c = Chain::new();
    let forced = tx(&alice, TxType::Transfer, Address([5; 20]), 1, 9);
    let msgs = [
        deposit(0, alice.address(), COIN),
        L1Message {
            index: 1,
            l1_block: 2,
            l1_tx_hash: crate::H256([1; 32]),
            l1_sender: alice.address(),
            body: L1MessageBody::ForcedTransaction {
                tx: Box::new(forced),
            },
        },
    ];
    c.seal(vec![], &msgs).unwrap();
    let (next, _) = queue_cursor(&c.tree).unwrap();
    assert_eq!(next, 2);
    assert_eq!(c.balance(&alice.address()), COIN);
    // Out of order.
    assert!(matches!(
        c.seal(vec![], &[deposit(5, alice.address(), 1)]),
        Err(StfError::L1MessageOutOfOrder {
            expected: 2,
            got: 5
        })
    ));
}

#[test]
fn trace_stateless_and_fast_paths_agree() {
    let alice = key(1);
    let bob = key(2);
    let mut c = Chain::new();
    c.seal(vec![], &[deposit(0, alice.address(), 100 * COIN)])
        .unwrap();
    let txs = vec![
        tx(&alice, TxType::Transfer, bob.address(), COIN, 0),
        tx(&alice, TxType::Withdrawal, Address([7; 20]), COIN, 1),
        tx(&alice, TxType::Transfer, alice.address(), 3, 2),
    ];
    let msgs = [deposit(1, bob.address(), 7)];
    let pre = c.tree.root();
    let b = c.seal(txs, &msgs).unwrap();
    let post = c.tree.root();
    c.tree.revert_to(pre).unwrap();
    c.parent = None;
    let env = env(&c.params, &c.others, None, &msgs);
    let roots = trace_block(&mut c.tree, &b, &env).unwrap();
    assert_eq!(*roots.last().unwrap(), post);
    // Each step, statelessly, from the previous root.
    let ctx = block_context(&b, &env);
    let steps = block_steps(&b, &msgs);
    let mut prev = pre;
    for (step, root) in steps.iter().zip(&roots) {
        let (w, _) = build_step_witness(&c.tree, prev, step, &ctx).unwrap();
        let w = StepWitness::decode(&w.encode()).unwrap();
        let (r, _) = execute_step_stateless(&prev, &w, step, &ctx).unwrap();
        assert_eq!(r, *root);
        // Against another pre-root the witness fails.
        assert!(execute_step_stateless(root, &w, step, &ctx).is_err() || prev == *root);
        prev = *root;
    }
    // A witness missing the recipient fails with MissingWitness.
    let step = &steps[1];
    let keys = vec![alice.address().tree_key()];
    let proof = c.tree.prove_multi_at(roots[0], &keys).unwrap();
    assert!(matches!(
        execute_step_stateless(&roots[0], &StepWitness { proof }, step, &ctx),
        Err(StfError::MissingWitness { .. })
    ));
}

#[test]
fn verify_block_catches_a_wrong_root_and_restores_the_state() {
    let alice = key(1);
    let mut c = Chain::new();
    let msgs = [deposit(0, alice.address(), COIN)];
    let mut b = c.block(vec![]);
    let env = env(&c.params, &c.others, c.parent.as_ref(), &msgs);
    let mut scratch = SparseMerkleTree::new(MemoryStore::new());
    seal_block(&mut scratch, &mut b, &env).unwrap();
    let good = b.clone();
    b.header.state_root.0[0] ^= 1;
    let pre = c.tree.root();
    assert!(matches!(
        verify_block(&mut c.tree, &b, &env),
        Err(StfError::StateRootMismatch { .. })
    ));
    assert_eq!(c.tree.root(), pre);
    verify_block(&mut c.tree, &good, &env).unwrap();
}

#[test]
fn timestamps_and_rate_limits() {
    let alice = key(1);
    let mut c = Chain::new();
    c.seal(vec![], &[deposit(0, alice.address(), 100 * COIN)])
        .unwrap();
    // Same timestamp as the parent.
    let mut b = c.block(vec![]);
    b.header.timestamp = c.parent.as_ref().unwrap().timestamp;
    let env = env(&c.params, &c.others, c.parent.as_ref(), &[]);
    assert!(matches!(
        execute_block(&mut c.tree, &b, &env),
        Err(StfError::TimestampManipulation(_))
    ));
    // Far from the L1 anchor's time.
    let mut b = c.block(vec![]);
    b.header.timestamp = 1_000_000 + c.params.max_timestamp_drift * 1000 + 1;
    assert!(matches!(
        execute_block(&mut c.tree, &b, &env),
        Err(StfError::TimestampManipulation(_))
    ));
    // 11 transactions from a sender with reputation 0 (limit 10).
    let txs: Vec<_> = (0..11)
        .map(|n| tx(&alice, TxType::Transfer, Address([1; 20]), 1, n))
        .collect();
    assert!(matches!(
        c.seal(txs.clone(), &[]),
        Err(StfError::RateLimit {
            count: 11,
            limit: 10,
            ..
        })
    ));
    c.seal(txs[..10].to_vec(), &[]).unwrap();
}

#[test]
fn history_reverts_and_prunes() {
    let alice = key(1);
    let mut c = Chain::new();
    let mut h = StateHistory::new(3);
    for i in 0..5u64 {
        let b = c.seal(vec![], &[deposit(i, alice.address(), 1)]).unwrap();
        h.push(b.header.block_number, b.header.state_root);
    }
    assert!(h.root_at(1).is_none());
    let r2 = h.root_at(2).unwrap();
    h.revert_to(&mut c.tree, 2).unwrap();
    assert_eq!(c.tree.root(), r2);
    assert_eq!(c.balance(&alice.address()), 3);
    assert!(h.revert_to(&mut c.tree, 0).is_err());
    let pruned = h.prune(c.tree.store(), &[]).unwrap();
    assert!(pruned.len().1 < c.tree.store().len().1);
    let t = SparseMerkleTree::with_root(pruned, r2).unwrap();
    assert_eq!(
        t.get(&alice.address().tree_key()).unwrap().map(|v| v.len()),
        Some(92)
    );
}
