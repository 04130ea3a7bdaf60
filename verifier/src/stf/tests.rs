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
    let call = tx(&alice, TxType::CrossLayerMsg, Address([5; 20]), 100, 0);
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
        execute_step_stateless(
            &roots[0],
            &StepWitness {
                proof,
                storage: Vec::new()
            },
            step,
            &ctx
        ),
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

impl Chain {
    fn seal_out(
        &mut self,
        txs: Vec<L2Transaction>,
        msgs: &[L1Message],
    ) -> Result<(L2Block, BlockOutcome), StfError> {
        let mut b = self.block(txs);
        let env = env(&self.params, &self.others, self.parent.as_ref(), msgs);
        let out = seal_block(&mut self.tree, &mut b, &env)?;
        self.parent = Some(b.header.clone());
        Ok((b, out))
    }
    fn state(&self, key: &crate::H256) -> Option<crate::AccountState> {
        self.tree
            .get(key)
            .unwrap()
            .map(|v| crate::AccountState::decode(&v).unwrap())
    }
}

/// The vector of docs/protocol.md, "State rent": rate 10¹³ units per byte per year on 100 ms
/// blocks is 3 932 014 units per block for one account.
#[test]
fn state_rent_is_charged_archived_and_restored() {
    use crate::stf::rules::{archive_key, RentParams};
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let mut c = Chain::new();
    c.params.state_rent_rate = 10_000_000_000_000;
    let rent = RentParams::of(&c.params);
    assert_eq!(rent.owed(0, 1), 3_932_014);
    assert_eq!(rent.owed(1, 3), 7_864_028);
    let mut burned_rent = 0;
    let mut deposited = 0;
    let mut burned_fees = 0;
    let fee = 21_000 * 10;
    let burn_of = |f: i64| rules::split_fee(f).2;

    // Block 0: deposits create accounts whose rent clock starts now.
    let msgs = [
        deposit(0, alice.address(), 100 * COIN),
        deposit(1, bob.address(), COIN),
    ];
    let (_, out) = c.seal_out(vec![], &msgs).unwrap();
    deposited += 101 * COIN;
    burned_rent += out.receipts.iter().map(|r| r.rent).sum::<i64>();
    assert_eq!(burned_rent, 0);
    assert_eq!(c.state(&bob.address().tree_key()).unwrap().last_activity, 0);

    // Block 1: bob pays one block of rent at his first touch, then sends.
    let t = tx(&bob, TxType::Transfer, carol.address(), 5_000_000, 0);
    let (_, out) = c.seal_out(vec![t], &[]).unwrap();
    assert_eq!(out.receipts[0].rent, 3_932_014);
    burned_rent += out.receipts.iter().map(|r| r.rent).sum::<i64>();
    burned_fees += burn_of(fee);
    let b = c.state(&bob.address().tree_key()).unwrap();
    assert_eq!(b.balance, COIN - 3_932_014 - 5_000_000 - fee);
    assert_eq!(b.balance, 857_986);
    assert_eq!((b.nonce, b.last_activity), (1, 1));
    // carol was created in block 1.
    assert_eq!(
        c.state(&carol.address().tree_key()).unwrap().last_activity,
        1
    );

    // Block 2: nothing touches bob.
    let (_, out) = c.seal_out(vec![], &[]).unwrap();
    burned_rent += out.receipts.iter().map(|r| r.rent).sum::<i64>();

    // Block 3: a zero-value transfer touches bob, who owes 7 864 028 and has 857 986:
    // STATE_RENT_UNPAID, the balance is burned and bob (nonce 1) is archived.
    let (_, out) = c
        .seal_out(vec![tx(&alice, TxType::Transfer, bob.address(), 0, 0)], &[])
        .unwrap();
    burned_fees += burn_of(fee);
    // (The producer's fee shares and the pool's remainder are small too: they may be drained.)
    assert!(out.receipts[0].rent_unpaid.contains(&bob.address()));
    burned_rent += out.receipts.iter().map(|r| r.rent).sum::<i64>();
    assert!(out.receipts[0].rent >= 857_986);
    assert_eq!(c.state(&bob.address().tree_key()), None);
    let archived = c.state(&archive_key(&bob.address())).unwrap();
    assert_eq!(
        archived,
        crate::AccountState {
            nonce: 1,
            last_activity: 3,
            ..Default::default()
        }
    );

    // Block 4: carol (5 000 000, clock at block 1) owes 11 796 042 and cannot pay: her
    // transaction is invalid, and so is the block.
    let bad = tx(&carol, TxType::Transfer, alice.address(), 1, 0);
    match c.seal_out(vec![bad], &[]) {
        Err(StfError::InvalidTransaction {
            reason: TxError::RentUnpaid { owed, balance, .. },
            ..
        }) => assert_eq!((owed, balance), (11_796_042, 5_000_000)),
        other => panic!("{other:?}"),
    }

    // Block 4: a deposit restores bob: his nonce is back, no rent for the archived time.
    let (_, out) = c
        .seal_out(vec![], &[deposit(2, bob.address(), COIN)])
        .unwrap();
    deposited += COIN;
    burned_rent += out.receipts.iter().map(|r| r.rent).sum::<i64>();
    assert_eq!(c.state(&archive_key(&bob.address())), None);
    let b = c.state(&bob.address().tree_key()).unwrap();
    assert_eq!((b.balance, b.nonce, b.last_activity), (COIN, 1, 4));
    // The old signature (nonce 0) cannot be replayed; nonce 1 works.
    let replay = tx(&bob, TxType::Transfer, carol.address(), 5_000_000, 0);
    assert!(matches!(
        c.seal_out(vec![replay], &[]),
        Err(StfError::InvalidTransaction {
            reason: TxError::BadNonce { .. },
            ..
        })
    ));
    let (_, out) = c
        .seal_out(vec![tx(&bob, TxType::Transfer, alice.address(), 1, 1)], &[])
        .unwrap();
    burned_fees += burn_of(fee);
    burned_rent += out.receipts.iter().map(|r| r.rent).sum::<i64>();

    // Supply: deposits = balances + burned fees + burned rent.
    let mut all = vec![
        alice.address(),
        bob.address(),
        carol.address(),
        c.producer,
        rules::sequencer_pool_address(),
    ];
    all.extend(c.others.clone());
    let total: i64 = all.iter().map(|a| c.balance(a)).sum();
    assert!(burned_rent > 857_986);
    assert_eq!(deposited, total + burned_fees + burned_rent);
}

#[test]
fn rent_paths_agree_fast_trace_stateless() {
    use crate::stf::rules::archive_key;
    let (alice, bob) = (key(1), key(2));
    let mut c = Chain::new();
    c.params.state_rent_rate = 10_000_000_000_000;
    let mut blocks = Vec::new();
    let mut push = |c: &mut Chain, txs: Vec<L2Transaction>, msgs: Vec<L1Message>| {
        let pre = c.tree.root();
        let parent = c.parent.clone();
        let (b, _) = c.seal_out(txs, &msgs).unwrap();
        blocks.push((b, msgs, pre, parent));
    };
    push(
        &mut c,
        vec![],
        vec![
            deposit(0, alice.address(), 100 * COIN),
            deposit(1, bob.address(), COIN),
        ],
    );
    push(
        &mut c,
        vec![tx(&bob, TxType::Transfer, alice.address(), 5_000_000, 0)],
        vec![],
    );
    push(&mut c, vec![], vec![]);
    push(
        &mut c,
        vec![tx(&alice, TxType::Transfer, bob.address(), 0, 0)],
        vec![],
    );
    assert!(c.state(&archive_key(&bob.address())).is_some());
    push(&mut c, vec![], vec![deposit(2, bob.address(), COIN)]);
    assert!(c.state(&archive_key(&bob.address())).is_none());
    let mut replay = SparseMerkleTree::new(MemoryStore::new());
    for (b, msgs, pre, parent) in &blocks {
        assert_eq!(replay.root(), *pre);
        let e = env(&c.params, &c.others, parent.as_ref(), msgs);
        let ctx = block_context(b, &e);
        let roots = trace_block(&mut replay, b, &e).unwrap();
        assert_eq!(*roots.last().unwrap(), b.header.state_root);
        let mut prev = *pre;
        for (step, root) in block_steps(b, msgs).iter().zip(&roots) {
            let (w, r1) = build_step_witness(&replay, prev, step, &ctx).unwrap();
            let (r, r2) = execute_step_stateless(&prev, &w, step, &ctx).unwrap();
            assert_eq!(r, *root);
            assert_eq!(r1, r2);
            prev = *root;
        }
    }
}
