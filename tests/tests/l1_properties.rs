//! Correctness properties of the L1 rules (`casl2_verifier::l1`): deposit/withdrawal balance at
//! the L1 (property 4), cross-layer message integrity for deposits (property 9), emergency exit
//! completeness (property 12), and replayed L1 transactions.

use casl2_verifier::codec::{Decode, Encode};
use casl2_verifier::da::{compress_batch, encode_payload, serialize_blocks, DaParams};
use casl2_verifier::l1::{L1Error, L1Event, L1Genesis, L1Op, L1State, L1Tx, L2Status};
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::{AccountTree, MemoryStore};
use casl2_verifier::types::{L1Message, L1MessageBody, WithdrawalRecord};
use casl2_verifier::{
    sha256d, AccountState, Address, BatchHeader, BlockSignature, BurnData, L2Block, L2BlockHeader,
    L2Transaction, PrivateKey, TxType, H256,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

const CHAIN: u64 = 1;
const FUND: i64 = 1_000_000 * COIN;

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[n; 32]).unwrap()
}

/// Authority 1, deployer 2, sequencer 3, users 10..=13; chain 1 registered and active.
struct Net {
    state: L1State,
}

impl Net {
    fn new(params: ChainParams) -> Net {
        let g = L1Genesis {
            time: 1_700_000_000,
            authority: key(1).address(),
            accounts: [1u8, 2, 3, 10, 11, 12, 13]
                .iter()
                .map(|n| (key(*n).address(), FUND))
                .collect(),
            hat_scores: vec![(key(3).address(), 60)],
        };
        let mut n = Net {
            state: L1State::genesis(&g).unwrap(),
        };
        let genesis_root = AccountTree::new(MemoryStore::new()).root();
        let reg = L1Op::RegisterChain {
            chain_id: CHAIN,
            name: "props".into(),
            params,
            genesis_root,
            deployer_stake: 10 * COIN,
        };
        n.send(&key(2), reg).unwrap();
        let ann = L1Op::AnnounceSequencer {
            chain: CHAIN,
            stake: 10 * COIN,
            endpoint: String::new(),
        };
        n.send(&key(3), ann).unwrap();
        assert_eq!(n.state.chain(CHAIN).unwrap().info.status, L2Status::Active);
        n
    }

    fn mine_txs(&mut self, txs: Vec<L1Tx>) -> Vec<Result<Vec<L1Event>, L1Error>> {
        casl2_tests::mine_l1_block(&mut self.state, txs)
    }

    fn tx(&self, k: &PrivateKey, op: L1Op) -> L1Tx {
        L1Tx::signed(k, self.state.nonce_of(&k.address()), op).unwrap()
    }

    fn send(&mut self, k: &PrivateKey, op: L1Op) -> Result<Vec<L1Event>, L1Error> {
        let t = self.tx(k, op);
        self.mine_txs(vec![t]).remove(0)
    }

    fn mine(&mut self, n: u64) {
        for _ in 0..n {
            self.mine_txs(vec![]);
        }
    }

    /// Anchor one L2 block with state root `root` consuming every queued message.
    fn post_batch(&mut self, root: H256) -> Result<Vec<L1Event>, L1Error> {
        let c = self.state.chain(CHAIN).unwrap();
        let msgs: Vec<H256> = c.queue[c.consumed as usize..]
            .iter()
            .map(|m| m.hash)
            .collect();
        let number = c.info.latest_l2_block + 1;
        let block = L2Block {
            header: L2BlockHeader {
                block_number: number,
                state_root: root,
                l2_chain_id: CHAIN,
                ..Default::default()
            },
            l1_message_hashes: msgs,
            ..Default::default()
        };
        let bytes = serialize_blocks(&[block]);
        let da = DaParams::default();
        let payload = compress_batch(&bytes, &da).unwrap();
        let commitment = encode_payload(&payload, sha256d(&bytes), &da)
            .unwrap()
            .commitment;
        let header = BatchHeader {
            version: 1,
            start_block: number,
            end_block: number,
            pre_state_root: c.info.latest_state_root,
            post_state_root: root,
            l2_chain_id: CHAIN,
            l1_anchor_block: self.state.height(),
            l1_anchor_hash: self.state.tip_hash(),
            sequencer_address: key(3).address(),
            ..Default::default()
        };
        let sig = BlockSignature::sign(&key(3), &header.hash(), 0).unwrap();
        let op = L1Op::PostBatch {
            chain: CHAIN,
            header,
            commitment,
            payload,
            signatures: vec![sig],
        };
        self.send(&key(3), op)
    }
}

/// Regtest parameters with deadlines far away (these properties are about balances).
fn relaxed() -> ChainParams {
    let mut p = ChainParams::for_network(Network::Regtest);
    p.forced_inclusion_deadline = 100_000;
    p.emergency_after = 100_000;
    p
}

#[derive(Debug, Clone)]
enum Step {
    Deposit(u8, i64),
    L2Withdraw(u8, u8),
    Batch,
    Mine(u64),
    Claim,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (10u8..14, 1i64..500).prop_map(|(u, a)| Step::Deposit(u, a * COIN / 10)),
        2 => (10u8..14, 1u8..=100).prop_map(|(u, p)| Step::L2Withdraw(u, p)),
        2 => Just(Step::Batch),
        2 => (1u64..8).prop_map(Step::Mine),
        1 => Just(Step::Claim),
    ]
}

/// The L2 in a simple model: balances minted from consumed deposits, withdrawals as records.
struct L2Model {
    tree: AccountTree<MemoryStore>,
    balances: BTreeMap<Address, i64>,
    /// Withdrawals made on L2, not yet in an anchored root.
    pending: Vec<WithdrawalRecord>,
    /// Anchored withdrawals: (anchor index, record, paid).
    anchored: Vec<(u64, WithdrawalRecord, bool)>,
    next_id: u64,
}

impl L2Model {
    fn supply(&self) -> i64 {
        self.balances.values().sum()
    }
    fn unpaid(&self) -> i64 {
        self.pending.iter().map(|r| r.amount).sum::<i64>()
            + self
                .anchored
                .iter()
                .filter(|a| !a.2)
                .map(|a| a.1.amount)
                .sum::<i64>()
    }

    /// Consume the queue into balances, write accounts and pending records; returns the root.
    fn apply_batch(&mut self, state: &L1State) -> H256 {
        let c = state.chain(CHAIN).unwrap();
        for m in &c.queue[c.consumed as usize..] {
            if let L1MessageBody::Deposit { recipient, amount } = m.message.body {
                *self.balances.entry(recipient).or_default() += amount;
            }
        }
        let accounts: Vec<(Address, AccountState)> = self
            .balances
            .iter()
            .map(|(a, b)| {
                (
                    *a,
                    AccountState {
                        balance: *b,
                        ..Default::default()
                    },
                )
            })
            .collect();
        self.tree.set_many(&accounts).unwrap();
        for r in &self.pending {
            self.tree.tree_mut().set(r.key(), r.encode()).unwrap();
        }
        self.tree.root()
    }

    fn claim_all(&mut self, n: &mut Net) {
        let finalized = n.state.chain(CHAIN).unwrap().finalized_count;
        let h = n.state.height();
        for (anchor, record, paid) in self.anchored.iter_mut() {
            if *paid || *anchor >= finalized {
                continue;
            }
            let root = n.state.chain(CHAIN).unwrap().anchors[*anchor as usize]
                .header
                .post_state_root;
            let proof = self
                .tree
                .tree()
                .prove_compact_at(root, &record.key())
                .unwrap();
            let op = L1Op::FinalizeWithdrawal {
                chain: CHAIN,
                anchor: *anchor,
                record: *record,
                proof,
            };
            let r = n.send(&key(10), op);
            assert!(r.is_ok(), "claim at {h}: {r:?}");
            *paid = true;
        }
    }
}

fn unconsumed_deposits(state: &L1State) -> i64 {
    let c = state.chain(CHAIN).unwrap();
    c.queue[c.consumed as usize..]
        .iter()
        .map(|m| match m.message.body {
            L1MessageBody::Deposit { amount, .. } => amount,
            _ => 0,
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// Property 4 at the L1: the escrow always equals deposits minus paid withdrawals, and the
    /// L2 supply minted from it plus what is still in flight (unconsumed deposits, unpaid
    /// withdrawal records); once everything is anchored, final and claimed, it equals the L2
    /// supply exactly.
    #[test]
    fn property_04_deposit_withdrawal_balance_l1(steps in prop::collection::vec(step(), 1..20)) {
        let mut n = Net::new(relaxed());
        let mut l2 = L2Model {
            tree: AccountTree::new(MemoryStore::new()),
            balances: BTreeMap::new(),
            pending: Vec::new(),
            anchored: Vec::new(),
            next_id: 0,
        };
        for s in steps {
            match s {
                Step::Deposit(u, amount) => {
                    n.send(&key(u), L1Op::Deposit { chain: CHAIN, recipient: key(u).address(), amount }).unwrap();
                }
                Step::L2Withdraw(u, pct) => {
                    let a = key(u).address();
                    let bal = l2.balances.get(&a).copied().unwrap_or(0);
                    let amount = bal * i64::from(pct) / 100;
                    if amount > 0 {
                        l2.balances.insert(a, bal - amount);
                        l2.next_id += 1;
                        l2.pending.push(WithdrawalRecord {
                            id: sha256d(&l2.next_id.to_le_bytes()),
                            l2_sender: a,
                            l1_recipient: a,
                            amount,
                            l2_block: 0,
                        });
                    }
                }
                Step::Batch => {
                    let root = l2.apply_batch(&n.state);
                    n.post_batch(root).unwrap();
                    let index = n.state.chain(CHAIN).unwrap().anchors.len() as u64 - 1;
                    for r in l2.pending.drain(..) {
                        l2.anchored.push((index, r, false));
                    }
                }
                Step::Mine(k) => n.mine(k),
                Step::Claim => l2.claim_all(&mut n),
            }
            let c = n.state.chain(CHAIN).unwrap();
            prop_assert_eq!(c.escrow, c.total_deposited - c.total_withdrawn);
            prop_assert_eq!(c.escrow, unconsumed_deposits(&n.state) + l2.supply() + l2.unpaid());
        }
        // drain: anchor everything, let it finalize, claim everything
        let root = l2.apply_batch(&n.state);
        n.post_batch(root).unwrap();
        let index = n.state.chain(CHAIN).unwrap().anchors.len() as u64 - 1;
        for r in l2.pending.drain(..) {
            l2.anchored.push((index, r, false));
        }
        n.mine(relaxed().challenge_period);
        l2.claim_all(&mut n);
        let c = n.state.chain(CHAIN).unwrap();
        prop_assert_eq!(c.escrow, l2.supply());
        prop_assert_eq!(l2.unpaid(), 0);
    }

    /// Property 9 for deposits: each queued message decodes to exactly what was deposited
    /// (plain and L2BURN), indices are consecutive, and the queue hash chain equals an
    /// independent fold of SHA256d(chain ‖ SHA256d(message)).
    #[test]
    fn property_09_cross_layer_message_integrity(
        deposits in prop::collection::vec((any::<bool>(), any::<[u8; 20]>(), 1u8..=200, 1i64..1_000_000_000, 10u8..14), 1..12),
    ) {
        let mut n = Net::new(relaxed());
        let mut expected = Vec::new();
        let mut txs = Vec::new();
        let mut nonces: BTreeMap<Address, u64> = BTreeMap::new();
        for (burn, addr, kb, amount, u) in deposits {
            let sender = key(u);
            let (op, recipient) = if burn {
                let pk = key(kb).public_key();
                let script = BurnData::new(CHAIN as u32, pk, amount).unwrap().to_script().to_vec();
                (L1Op::BurnDeposit { script }, pk.address())
            } else {
                let r = Address(addr);
                (L1Op::Deposit { chain: CHAIN, recipient: r, amount }, r)
            };
            let nonce = nonces.entry(sender.address()).or_insert(0);
            let t = L1Tx::signed(&sender, *nonce, op).unwrap();
            *nonce += 1;
            expected.push((sender.address(), t.hash(), recipient, amount));
            txs.push(t);
        }
        let height = n.state.height() + 1;
        for r in n.mine_txs(txs) {
            prop_assert!(r.is_ok(), "{:?}", r);
        }
        let c = n.state.chain(CHAIN).unwrap();
        prop_assert_eq!(c.queue.len(), expected.len());
        let mut fold = H256::ZERO;
        let mut total = 0i64;
        for (i, (q, (sender, txh, recipient, amount))) in c.queue.iter().zip(&expected).enumerate() {
            let decoded = L1Message::decode(&q.message.encode()).unwrap();
            prop_assert_eq!(&decoded, &q.message);
            prop_assert_eq!(decoded.index, i as u64);
            prop_assert_eq!(decoded.l1_block, height);
            prop_assert_eq!(decoded.l1_sender, *sender);
            prop_assert_eq!(decoded.l1_tx_hash, *txh);
            prop_assert_eq!(&decoded.body, &L1MessageBody::Deposit { recipient: *recipient, amount: *amount });
            let mh = sha256d(&q.message.encode());
            prop_assert_eq!(q.hash, mh);
            let mut cat = fold.0.to_vec();
            cat.extend_from_slice(&mh.0);
            fold = sha256d(&cat);
            prop_assert_eq!(q.chain_after, fold);
            total += amount;
        }
        prop_assert_eq!(c.queue_head, fold);
        prop_assert_eq!(c.escrow, total);
    }

    /// Property 12 at the rules level: in EMERGENCY every account with a balance in the last
    /// finalized root exits once, in full, to the L1 account with its address; a second exit
    /// fails; the escrow pays exactly the L2 supply.
    #[test]
    fn property_12_emergency_exit_completeness(
        accounts in prop::collection::btree_map(any::<[u8; 20]>(), (1i64..5_000 * COIN, any::<u64>(), 0u32..=100), 1..8),
        order_seed in any::<u64>(),
    ) {
        let mut p = relaxed();
        p.emergency_after = 20;
        let mut n = Net::new(p.clone());
        let mut tree = AccountTree::new(MemoryStore::new());
        let mut txs = Vec::new();
        let depositor = key(10);
        for (i, (addr, (bal, nonce, hat))) in accounts.iter().enumerate() {
            let a = Address(*addr);
            tree.set(&a, AccountState { balance: *bal, nonce: *nonce, hat_score: *hat, ..Default::default() }).unwrap();
            txs.push(L1Tx::signed(&depositor, i as u64, L1Op::Deposit { chain: CHAIN, recipient: a, amount: *bal }).unwrap());
        }
        for r in n.mine_txs(txs) {
            prop_assert!(r.is_ok());
        }
        n.post_batch(tree.root()).unwrap();
        n.mine(p.challenge_period);
        prop_assert_eq!(n.state.chain(CHAIN).unwrap().info.finalized_state_root, tree.root());
        let c = n.state.chain(CHAIN).unwrap();
        let due = c.info.latest_l1_anchor + p.emergency_after;
        n.mine(due - n.state.height());
        prop_assert_eq!(n.state.chain(CHAIN).unwrap().info.status, L2Status::Emergency);
        let mut order: Vec<_> = accounts.keys().copied().collect();
        order.sort_by_key(|a| sha256d(&[&a[..], &order_seed.to_le_bytes()].concat()));
        for addr in order {
            let a = Address(addr);
            let acct = tree.get(&a).unwrap();
            let op = L1Op::EmergencyWithdraw { chain: CHAIN, address: a, account: acct, proof: tree.prove_compact(&a).unwrap() };
            let before = n.state.balance(&a);
            let r = n.send(&key(11), op.clone());
            prop_assert!(r.is_ok(), "{:?}", r);
            prop_assert_eq!(n.state.balance(&a), before + acct.balance);
            let again = n.send(&key(11), op).unwrap_err();
            prop_assert_eq!(again.name(), "BRIDGE_ALREADY_PAID");
        }
        let c = n.state.chain(CHAIN).unwrap();
        prop_assert_eq!(c.escrow, 0);
        prop_assert_eq!(c.total_exited, accounts.values().map(|v| v.0).sum::<i64>());
    }

    /// Replayed L1 transactions fail with the nonce error and change nothing.
    #[test]
    fn l1_replayed_transactions_fail_with_the_nonce_error(
        transfers in prop::collection::vec((10u8..14, 10u8..14, 1i64..1_000), 1..10),
    ) {
        let mut n = Net::new(relaxed());
        let mut sent = Vec::new();
        for (from, to, amount) in transfers {
            let t = n.tx(&key(from), L1Op::Transfer { to: key(to).address(), amount });
            prop_assert!(n.mine_txs(vec![t.clone()])[0].is_ok());
            sent.push(t);
        }
        let before = n.state.accounts().clone();
        for r in n.mine_txs(sent) {
            let e = r.unwrap_err();
            prop_assert_eq!(e.code(), 1002);
            let is_nonce = matches!(e, L1Error::BadNonce { .. });
            prop_assert!(is_nonce);
        }
        prop_assert_eq!(n.state.accounts(), &before);
    }
}

/// Property 19: a transaction forced through L1 is in an L2 block within the deadline, or the
/// sequencers are slashed. The forced transaction is queued, `delay` L1 blocks pass, then a
/// batch that consumes it (and the deposits queued before it) is posted, if the sequencer may
/// still post. Either it was anchored
/// and nobody was slashed, or its deadline passed: then it is recorded as missed and the
/// sequencer lost at least `minSlash`. Well inside the deadline it is always the first, well
/// past it always the second.
mod forced_inclusion {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn property_19_forced_inclusion_guarantee(delay in 0u64..12, deposits in 0usize..3) {
            let mut params = ChainParams::for_network(Network::Regtest);
            params.emergency_after = 100_000;
            let deadline = params.forced_inclusion_deadline;
            let min_slash = params.min_slash;
            let mut n = Net::new(params);
            for i in 0..deposits {
                n.send(&key(11), L1Op::Deposit { chain: CHAIN, recipient: key(11).address(), amount: COIN + i as i64 }).unwrap();
            }
            let user = key(10);
            let mut t = L2Transaction {
                from: user.address(), to: key(12).address(), value: 1, nonce: 0,
                gas_limit: 21_000, gas_price: 1, tx_type: TxType::Transfer, l2_chain_id: CHAIN,
                ..Default::default()
            };
            t.sign(&user).unwrap();
            let stake0 = n.state.chain(CHAIN).unwrap().sequencer(&key(3).address()).unwrap().stake;
            n.send(&user, L1Op::ForceTransaction { chain: CHAIN, tx: Box::new(t) }).unwrap();
            n.mine(delay);
            let posted = n.post_batch(H256([7; 32]));
            let c = n.state.chain(CHAIN).unwrap();
            // The L1 records every message that passed its deadline unconsumed.
            let missed = !c.missed.is_empty();
            let stake = c.sequencer(&key(3).address()).unwrap().stake;
            let included = posted.is_ok();
            if included && !missed {
                prop_assert_eq!(stake, stake0, "included in time, yet slashed");
                prop_assert!(c.consumed as usize == c.queue.len());
            } else {
                prop_assert!(missed, "not included and no MessageMissed (delay {})", delay);
                prop_assert!(stake0 - stake >= min_slash, "missed but slashed only {}", stake0 - stake);
            }
            // The oldest queued message (the first deposit, one L1 block each) sets the clock.
            let age = delay + deposits as u64;
            if age + 1 < deadline {
                prop_assert!(included && !missed, "age {} < deadline {} but not included", age, deadline);
            }
            if age > deadline + 1 {
                prop_assert!(missed, "age {} past deadline {} but no slash", age, deadline);
            }
        }
    }
}
