//! Correctness properties of the state transition (design properties 1, 4, 14, 15, 18) and
//! stateless execution equal to stateful execution.

use casl2_verifier::keys::PrivateKey;
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::{AccountTree, MemoryStore, MultiNode, SparseMerkleTree};
use casl2_verifier::stf::rules::{self, archive_key, sequencer_pool_address, RentParams};
use casl2_verifier::stf::{
    block_context, block_steps, build_step_witness, execute_block, execute_step_stateless,
    seal_block, trace_block, BlockEnv, Overlay, StfError,
};
use casl2_verifier::types::{
    L1Message, L1MessageBody, L2Block, L2BlockHeader, L2Transaction, TxType,
};
use casl2_verifier::{AccountState, Address, H256};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const CHAIN: u64 = 3;
const GAS_PRICE: i64 = 10;

fn keys(n: usize) -> Vec<PrivateKey> {
    (0..n)
        .map(|i| PrivateKey::from_bytes(&[i as u8 + 1; 32]).unwrap())
        .collect()
}

/// One random action of a user.
#[derive(Debug, Clone)]
enum Op {
    Deposit {
        to: usize,
        amount: i64,
    },
    Transfer {
        from: usize,
        to: usize,
        amount: i64,
    },
    Withdraw {
        from: usize,
        amount: i64,
    },
    /// A zero-value transfer: touches the recipient (settling its rent) without paying it.
    Ping {
        from: usize,
        to: usize,
    },
}

/// The ops of [`op_strategy`] plus zero-value transfers, which archive recipients that cannot
/// pay their rent.
fn rent_op_strategy(users: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => op_strategy(users),
        1 => (0..users, 0..users).prop_map(|(from, to)| Op::Ping { from, to }),
    ]
}

/// A state rent rate that makes rent matter within a few 100 ms regtest blocks: about 2 CAS
/// per block for one account (124 bytes).
const HIGH_RENT_RATE: u64 = 51_000_000_000_000;

fn op_strategy(users: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..users, 1i64..50 * COIN).prop_map(|(to, amount)| Op::Deposit { to, amount }),
        (0..users, 0..users, 0i64..20 * COIN).prop_map(|(from, to, amount)| Op::Transfer {
            from,
            to,
            amount
        }),
        (0..users, 1i64..10 * COIN).prop_map(|(from, amount)| Op::Withdraw { from, amount }),
    ]
}

/// A tiny sequencer: turns ops into valid blocks (skipping what the model says would fail) and
/// keeps the totals property 4 needs.
struct Sim {
    keys: Vec<PrivateKey>,
    params: ChainParams,
    producer: Address,
    others: Vec<Address>,
    tree: SparseMerkleTree<MemoryStore>,
    parent: Option<L2BlockHeader>,
    queue: u64,
    balances: Vec<i64>,
    nonces: Vec<u64>,
    deposited: i64,
    withdrawn: i64,
    burned: i64,
    /// Rent burned (also counted in `burned`).
    rent: i64,
    /// Accounts that could not pay their rent, over all blocks.
    rent_unpaid: usize,
    blocks: Vec<(L2Block, Vec<L1Message>, H256)>,
}

impl Sim {
    fn new(users: usize) -> Self {
        Sim {
            keys: keys(users),
            params: ChainParams::for_network(Network::Regtest),
            producer: Address([0xa0; 20]),
            others: vec![
                Address([0xa1; 20]),
                Address([0xa2; 20]),
                Address([0xa3; 20]),
            ],
            tree: SparseMerkleTree::new(MemoryStore::new()),
            parent: None,
            queue: 0,
            balances: vec![0; users],
            nonces: vec![0; users],
            deposited: 0,
            withdrawn: 0,
            burned: 0,
            rent: 0,
            rent_unpaid: 0,
            blocks: Vec::new(),
        }
    }

    /// A simulation whose chain charges state rent at `rate` (units per byte per year).
    fn with_rent(users: usize, rate: u64) -> Self {
        let mut s = Self::new(users);
        s.params.state_rent_rate = rate;
        s
    }

    /// Bring the model's balances to what each user can spend in block `n`: its balance in the
    /// tree less the rent it owes at its first touch (all of it when it cannot pay).
    fn settle_model(&mut self, n: u64) {
        let rent = RentParams::of(&self.params);
        let mut ov = Overlay::new(&self.tree);
        for (i, k) in self.keys.iter().enumerate() {
            let st = ov.account(&k.address()).unwrap();
            let owed = rent.owed(st.last_activity, n);
            self.balances[i] = if owed <= st.balance {
                st.balance - owed
            } else {
                0
            };
        }
    }

    fn signed(&self, i: usize, ty: TxType, to: Address, value: i64) -> L2Transaction {
        let mut t = L2Transaction {
            from: self.keys[i].address(),
            to,
            value,
            nonce: self.nonces[i],
            gas_limit: 50_000,
            gas_price: GAS_PRICE,
            tx_type: ty,
            l2_chain_id: CHAIN,
            ..Default::default()
        };
        t.sign(&self.keys[i]).unwrap();
        t
    }

    fn block(&mut self, ops: &[Op]) -> L2Block {
        let n = self.parent.as_ref().map_or(0, |p| p.block_number + 1);
        let renting = self.params.state_rent_rate > 1;
        if renting {
            self.settle_model(n);
        }
        let mut txs = Vec::new();
        let mut msgs = Vec::new();
        let mut per_sender = vec![0u32; self.keys.len()];
        for op in ops {
            match *op {
                Op::Deposit { to, amount } => {
                    msgs.push(L1Message {
                        index: self.queue,
                        l1_block: 1,
                        l1_tx_hash: H256([self.queue as u8; 32]),
                        l1_sender: Address([0xee; 20]),
                        body: L1MessageBody::Deposit {
                            recipient: self.keys[to].address(),
                            amount,
                        },
                    });
                    self.queue += 1;
                    self.balances[to] += amount;
                    self.deposited += amount;
                }
                Op::Transfer { from, to, amount } => {
                    let fee = 21_000 * GAS_PRICE;
                    if self.balances[from] < amount + fee || per_sender[from] >= 10 {
                        continue;
                    }
                    let t = self.signed(from, TxType::Transfer, self.keys[to].address(), amount);
                    txs.push(t);
                    per_sender[from] += 1;
                    self.nonces[from] += 1;
                    self.balances[from] -= amount + fee;
                    self.balances[to] += amount;
                    let (_, _, burn) = rules::split_fee(fee);
                    self.burned += burn;
                }
                Op::Withdraw { from, amount } => {
                    let fee = 41_000 * GAS_PRICE;
                    if self.balances[from] < amount + fee || per_sender[from] >= 10 {
                        continue;
                    }
                    let t = self.signed(from, TxType::Withdrawal, Address([0x99; 20]), amount);
                    txs.push(t);
                    per_sender[from] += 1;
                    self.nonces[from] += 1;
                    self.balances[from] -= amount + fee;
                    self.withdrawn += amount;
                    let (_, _, burn) = rules::split_fee(fee);
                    self.burned += burn;
                }
                Op::Ping { from, to } => {
                    let fee = 21_000 * GAS_PRICE;
                    if self.balances[from] < fee || per_sender[from] >= 10 {
                        continue;
                    }
                    let t = self.signed(from, TxType::Transfer, self.keys[to].address(), 0);
                    txs.push(t);
                    per_sender[from] += 1;
                    self.nonces[from] += 1;
                    self.balances[from] -= fee;
                    let (_, _, burn) = rules::split_fee(fee);
                    self.burned += burn;
                }
            }
        }
        let mut b = L2Block::default();
        b.header.block_number = n;
        b.header.parent_hash = self.parent.as_ref().map_or(H256::ZERO, |p| p.hash());
        b.header.timestamp = 10_000_000 + n;
        b.header.sequencer = self.producer;
        b.header.gas_limit = self.params.block_gas_limit;
        b.header.l2_chain_id = CHAIN;
        b.transactions = txs;
        let pre = self.tree.root();
        let env = BlockEnv {
            params: &self.params,
            chain_id: CHAIN,
            messages: &msgs,
            other_sequencers: &self.others,
            parent: self.parent.as_ref(),
            l1_anchor_time: 10_000,
        };
        let out = seal_block(&mut self.tree, &mut b, &env).unwrap();
        let rent: i64 = out.receipts.iter().map(|r| r.rent).sum();
        self.rent += rent;
        self.burned += rent;
        self.rent_unpaid += out
            .receipts
            .iter()
            .map(|r| r.rent_unpaid.len())
            .sum::<usize>();
        if renting {
            let mut ov = Overlay::new(&self.tree);
            for (i, k) in self.keys.iter().enumerate() {
                self.balances[i] = ov.account(&k.address()).unwrap().balance;
            }
        }
        self.parent = Some(b.header.clone());
        self.blocks.push((b.clone(), msgs, pre));
        b
    }

    fn total_l2_balance(&self) -> i64 {
        let mut ov = Overlay::new(&self.tree);
        let mut sum = 0;
        let mut all: Vec<Address> = self.keys.iter().map(|k| k.address()).collect();
        all.push(self.producer);
        all.extend(self.others.iter().copied());
        all.push(sequencer_pool_address());
        for a in all {
            sum += ov.account(&a).unwrap().balance;
        }
        sum
    }
}

fn env_for<'a>(
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
        l1_anchor_time: 10_000,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// Property 1: re-executing the same blocks from the same pre-state gives the same roots:
    /// fast application, the per-step trace and stateless execution of every step agree.
    #[test]
    fn property_01_state_root_consistency_stf(
        blocks in prop::collection::vec(prop::collection::vec(rent_op_strategy(4), 0..12), 1..8),
        rent in prop::bool::ANY,
    ) {
        // Half the cases on a chain whose rent is high enough to drain and archive accounts.
        let mut sim = if rent { Sim::with_rent(4, HIGH_RENT_RATE) } else { Sim::new(4) };
        for ops in &blocks {
            sim.block(ops);
        }
        // Replay on a fresh tree, with the trace, and each step statelessly.
        let mut replay = SparseMerkleTree::new(MemoryStore::new());
        let mut parent: Option<L2BlockHeader> = None;
        for (b, msgs, pre) in &sim.blocks {
            prop_assert_eq!(replay.root(), *pre);
            let env = env_for(&sim.params, &sim.others, parent.as_ref(), msgs);
            let ctx = block_context(b, &env);
            let roots = trace_block(&mut replay, b, &env).unwrap();
            prop_assert_eq!(*roots.last().unwrap(), b.header.state_root);
            let mut prev = *pre;
            for (step, root) in block_steps(b, msgs).iter().zip(&roots) {
                let (w, _) = build_step_witness(&replay, prev, step, &ctx).unwrap();
                let (r, _) = execute_step_stateless(&prev, &w, step, &ctx).unwrap();
                prop_assert_eq!(r, *root);
                prev = *root;
            }
            parent = Some(b.header.clone());
        }
    }

    /// Property 4 on a chain that charges state rent: deposits − withdrawals − burned fees −
    /// burned rent = the sum of all L2 balances.
    #[test]
    fn property_04_deposit_withdrawal_balance_with_rent(
        blocks in prop::collection::vec(prop::collection::vec(rent_op_strategy(5), 0..15), 1..8),
    ) {
        let mut sim = Sim::with_rent(5, HIGH_RENT_RATE);
        for ops in &blocks {
            sim.block(ops);
            prop_assert_eq!(
                sim.deposited - sim.withdrawn - sim.burned,
                sim.total_l2_balance()
            );
        }
    }

    /// Property 4: deposits − withdrawals − burned fees = the sum of all L2 balances.
    #[test]
    fn property_04_deposit_withdrawal_balance(
        blocks in prop::collection::vec(prop::collection::vec(op_strategy(5), 0..15), 1..6),
    ) {
        let mut sim = Sim::new(5);
        for ops in &blocks {
            sim.block(ops);
            prop_assert_eq!(
                sim.deposited - sim.withdrawn - sim.burned,
                sim.total_l2_balance()
            );
        }
        let mut ov = Overlay::new(&sim.tree);
        for (i, k) in sim.keys.iter().enumerate() {
            prop_assert_eq!(ov.account(&k.address()).unwrap().balance, sim.balances[i]);
        }
    }

    /// Property 14: a block is accepted iff no sender has more transactions than its
    /// reputation allows.
    #[test]
    fn property_14_rate_limit_enforcement(hat in 0u32..=100, count in 1u32..110) {
        let params = ChainParams::for_network(Network::Regtest);
        let k = PrivateKey::from_bytes(&[7; 32]).unwrap();
        let mut at = AccountTree::new(MemoryStore::new());
        at.set(&k.address(), AccountState { balance: 1_000 * COIN, hat_score: hat, ..Default::default() }).unwrap();
        let mut tree = SparseMerkleTree::with_root(at.tree().store().clone(), at.root()).unwrap();
        let mut b = L2Block::default();
        b.header.timestamp = 10_000_000;
        b.header.gas_limit = params.block_gas_limit;
        b.header.l2_chain_id = CHAIN;
        b.header.sequencer = Address([0xa0; 20]);
        for n in 0..count as u64 {
            let mut t = L2Transaction {
                from: k.address(), to: Address([1; 20]), value: 1, nonce: n,
                gas_limit: 21_000, gas_price: 1, tx_type: TxType::Transfer, l2_chain_id: CHAIN,
                ..Default::default()
            };
            t.sign(&k).unwrap();
            b.transactions.push(t);
        }
        b.header.transactions_root = b.transactions_root();
        let env = env_for(&params, &[], None, &[]);
        let res = execute_block(&mut tree, &b, &env);
        let limit = rules::tx_limit_per_block(hat);
        if count <= limit {
            prop_assert!(res.is_ok(), "{res:?}");
        } else {
            let rate_limited = matches!(res, Err(StfError::RateLimit { .. }));
            prop_assert!(rate_limited, "{res:?}");
        }
    }

    /// Property 15: block timestamps are strictly increasing and within the drift allowed
    /// around the L1 anchor's time; anything else is rejected.
    #[test]
    fn property_15_timestamp_monotonicity(
        deltas in prop::collection::vec(-3i64..4, 1..12),
        anchor_skew_ms in -10_000_000i64..10_000_000,
    ) {
        let params = ChainParams::for_network(Network::Regtest);
        let mut tree = SparseMerkleTree::new(MemoryStore::new());
        let mut parent: Option<L2BlockHeader> = None;
        // Block timestamps are milliseconds, the L1 anchor's time whole seconds.
        let mut ts: i64 = 100_000_000;
        for d in deltas {
            ts += d;
            let anchor = ((ts + anchor_skew_ms) / 1000) as u64;
            let mut b = L2Block::default();
            b.header.block_number = parent.as_ref().map_or(0, |p| p.block_number + 1);
            b.header.parent_hash = parent.as_ref().map_or(H256::ZERO, |p| p.hash());
            b.header.timestamp = ts as u64;
            b.header.gas_limit = params.block_gas_limit;
            b.header.l2_chain_id = CHAIN;
            let mut env = env_for(&params, &[], parent.as_ref(), &[]);
            env.l1_anchor_time = anchor;
            let ok_order = parent.as_ref().is_none_or(|p| (ts as u64) > p.timestamp);
            let ok_drift = (ts - anchor as i64 * 1000).unsigned_abs() <= params.max_timestamp_drift * 1000;
            let mut scratch = SparseMerkleTree::with_root(tree.store().clone(), tree.root()).unwrap();
            let res = seal_block(&mut scratch, &mut b, &env);
            if ok_order && ok_drift {
                prop_assert!(res.is_ok(), "{res:?}");
                tree = scratch;
                parent = Some(b.header.clone());
            } else {
                let manipulated = matches!(res, Err(StfError::TimestampManipulation(_)));
                prop_assert!(manipulated, "{res:?}");
            }
        }
    }

    /// Property 18: every fee is split 70/20/10 — the producer gets ⌊70 %⌋, the other active
    /// sequencers the ⌊20 %⌋ pool (shared equally at the block end, remainder kept in the pool),
    /// the rest is burned — and nothing is created or lost.
    #[test]
    fn property_18_gas_fee_distribution(
        ops in prop::collection::vec(op_strategy(3), 1..20),
    ) {
        let mut sim = Sim::new(3);
        sim.block(&[Op::Deposit { to: 0, amount: 500 * COIN }, Op::Deposit { to: 1, amount: 500 * COIN }]);
        let read = |sim: &Sim, a: &Address| Overlay::new(&sim.tree).account(a).unwrap().balance;
        let before_p = read(&sim, &sim.producer);
        let before_o: Vec<i64> = sim.others.iter().map(|o| read(&sim, o)).collect();
        let before_pool = read(&sim, &sequencer_pool_address());
        let b = sim.block(&ops);
        let fees: Vec<i64> = b.transactions.iter().map(|t| {
            let gas = rules::intrinsic_gas(t.tx_type, &t.data) as i64;
            gas * GAS_PRICE
        }).collect();
        let total: i64 = fees.iter().sum();
        let producer: i64 = fees.iter().map(|f| rules::split_fee(*f).0).sum();
        let pool: i64 = fees.iter().map(|f| rules::split_fee(*f).1).sum();
        let burned: i64 = fees.iter().map(|f| rules::split_fee(*f).2).sum();
        prop_assert_eq!(producer + pool + burned, total);
        prop_assert_eq!(read(&sim, &sim.producer) - before_p, producer);
        let available = before_pool + pool;
        let each = available / 3;
        for (o, before) in sim.others.iter().zip(&before_o) {
            prop_assert_eq!(read(&sim, o) - before, each);
        }
        prop_assert_eq!(read(&sim, &sequencer_pool_address()), available - 3 * each);
        prop_assert!(burned * 100 >= total * 10 - 100 * fees.len() as i64);
    }
}

/// Stateless execution equals stateful execution on 10,000 random steps, and a witness with
/// one entry altered or missing is rejected.
#[test]
fn stateless_equals_stateful_on_10000_steps() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strat = prop::collection::vec(op_strategy(6), 0..40);
    let mut sim = Sim::new(6);
    let mut steps_checked = 0usize;
    let mut altered_rejected = 0usize;
    let mut missing_rejected = 0usize;
    while steps_checked < 10_000 {
        let ops = strat.new_tree(&mut runner).unwrap().current();
        let (pre_tree_root, parent) = (sim.tree.root(), sim.parent.clone());
        sim.block(&ops);
        let (b, msgs, pre) = sim.blocks.last().unwrap().clone();
        assert_eq!(pre, pre_tree_root);
        let env = env_for(&sim.params, &sim.others, parent.as_ref(), &msgs);
        let ctx = block_context(&b, &env);
        let mut replay = SparseMerkleTree::with_root(sim.tree.store().clone(), pre).unwrap();
        let roots = trace_block(&mut replay, &b, &env).unwrap();
        let mut prev = pre;
        for (step, root) in block_steps(&b, &msgs).iter().zip(&roots) {
            let (w, receipt) = build_step_witness(&replay, prev, step, &ctx).unwrap();
            let (r, rec2) = execute_step_stateless(&prev, &w, step, &ctx).unwrap();
            assert_eq!(r, *root);
            assert_eq!(receipt, rec2);
            // Alter one leaf value: the witness no longer verifies.
            let mut bad = w.clone();
            if alter_first_leaf(&mut bad.proof.root) {
                assert!(execute_step_stateless(&prev, &bad, step, &ctx).is_err());
                altered_rejected += 1;
            }
            // Drop one leaf (replace it by its hash): a missing entry is an error.
            let mut gone = w.clone();
            if hide_first_leaf(&mut gone.proof.root, 256) {
                let res = execute_step_stateless(&prev, &gone, step, &ctx);
                assert!(
                    matches!(res, Err(StfError::MissingWitness { .. })),
                    "{res:?}"
                );
                missing_rejected += 1;
            }
            prev = *root;
            steps_checked += 1;
        }
    }
    assert!(altered_rejected > 1000 && missing_rejected > 1000);
}

fn alter_first_leaf(n: &mut MultiNode) -> bool {
    match n {
        MultiNode::Leaf { value, .. } => {
            value[0] ^= 1;
            true
        }
        MultiNode::Branch(l, r) => alter_first_leaf(l) || alter_first_leaf(r),
        _ => false,
    }
}

fn hide_first_leaf(n: &mut MultiNode, height: usize) -> bool {
    match n {
        MultiNode::Leaf { key, value } => {
            let h = casl2_verifier::smt::hasher::single_leaf_hash(key, value, height);
            *n = MultiNode::Hash(h);
            true
        }
        MultiNode::Branch(l, r) => hide_first_leaf(l, height - 1) || hide_first_leaf(r, height - 1),
        _ => false,
    }
}

/// The random blocks of property 1 and property 4 do exercise rent: over 100 of them (the
/// renting half of property 1's input) rent is collected, accounts fail to pay it, and some of
/// those are archived.
#[test]
fn random_blocks_trigger_state_rent() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strat = prop::collection::vec(prop::collection::vec(rent_op_strategy(4), 0..12), 1..8);
    let (mut rent, mut unpaid, mut archived) = (0i64, 0usize, 0usize);
    for _ in 0..100 {
        let blocks = strat.new_tree(&mut runner).unwrap().current();
        let mut sim = Sim::with_rent(4, HIGH_RENT_RATE);
        for ops in &blocks {
            sim.block(ops);
        }
        rent += sim.rent;
        unpaid += sim.rent_unpaid;
        archived += sim
            .keys
            .iter()
            .filter(|k| sim.tree.get(&archive_key(&k.address())).unwrap().is_some())
            .count();
    }
    eprintln!("rent {rent}, unpaid {unpaid}, archived at the end {archived}");
    assert!(rent > 0 && unpaid > 10 && archived > 0);
}
