//! Unit tests of the L1 rules: blocks, transactions, registry, sequencers, deposits, forced
//! inclusion and emergency timers. Batches, withdrawals and exits: `tests_batch.rs`.

use super::*;
use crate::keys::PrivateKey;
use crate::params::{ChainParams, Network, COIN};
use crate::smt::empty_root;

pub(crate) fn key(n: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[n; 32]).unwrap()
}

/// A small devnet: authority 1, deployer 2, sequencers 3 and 4, users 5 and 6.
pub(crate) struct Net {
    pub state: L1State,
}

pub(crate) const FUND: i64 = 1_000_000 * COIN;
pub(crate) const CHAIN: u64 = 1;

impl Net {
    pub fn new() -> Net {
        let g = L1Genesis {
            time: 1_700_000_000,
            authority: key(1).address(),
            accounts: (1..=6).map(|n| (key(n).address(), FUND)).collect(),
            hat_scores: vec![(key(3).address(), 60), (key(4).address(), 60)],
        };
        Net {
            state: L1State::genesis(&g).unwrap(),
        }
    }

    /// A block with `txs` on the tip.
    pub fn next_block(&self, txs: Vec<L1Tx>) -> L1Block {
        L1Block {
            height: self.state.height() + 1,
            time: self.state.tip_time() + 150,
            prev_hash: self.state.tip_hash(),
            txs,
        }
    }

    pub fn mine(&mut self, txs: Vec<L1Tx>) -> BlockOutcome {
        let b = self.next_block(txs);
        let out = self.state.apply_block(&b).unwrap();
        assert_eq!(self.state.total_supply(), Some(self.state.genesis_supply()));
        out
    }

    pub fn mine_empty(&mut self, n: u64) -> Vec<L1Event> {
        (0..n).flat_map(|_| self.mine(vec![]).events).collect()
    }

    pub fn tx(&self, k: &PrivateKey, op: L1Op) -> L1Tx {
        L1Tx::signed(k, self.state.nonce_of(&k.address()), op).unwrap()
    }

    /// Send one transaction in its own block.
    pub fn send(&mut self, k: &PrivateKey, op: L1Op) -> Result<Vec<L1Event>, L1Error> {
        let t = self.tx(k, op);
        self.mine(vec![t]).receipts.remove(0).outcome
    }

    /// Send several transactions in one block (nonces in order per sender).
    pub fn send_many(&mut self, ops: Vec<(u8, L1Op)>) -> Vec<Result<Vec<L1Event>, L1Error>> {
        let mut nonces = std::collections::BTreeMap::new();
        let txs = ops
            .into_iter()
            .map(|(k, op)| {
                let k = key(k);
                let n = nonces
                    .entry(k.address())
                    .or_insert_with(|| self.state.nonce_of(&k.address()));
                let t = L1Tx::signed(&k, *n, op).unwrap();
                *n += 1;
                t
            })
            .collect();
        self.mine(txs)
            .receipts
            .into_iter()
            .map(|r| r.outcome)
            .collect()
    }

    /// Register chain 1 (regtest) by the deployer; announce sequencers 3 and 4.
    pub fn with_chain() -> Net {
        let mut n = Net::new();
        n.send(&key(2), register_op(CHAIN)).unwrap();
        for k in [3, 4] {
            n.send(&key(k), announce_op(CHAIN, 10 * COIN)).unwrap();
        }
        n
    }

    pub fn chain(&self) -> &ChainState {
        self.state.chain(CHAIN).unwrap()
    }
}

pub(crate) fn register_op(chain_id: u64) -> L1Op {
    L1Op::RegisterChain {
        chain_id,
        name: "devnet".into(),
        params: ChainParams::for_network(Network::Regtest),
        genesis_root: empty_root(),
        deployer_stake: 10 * COIN,
    }
}

pub(crate) fn announce_op(chain: u64, stake: i64) -> L1Op {
    L1Op::AnnounceSequencer {
        chain,
        stake,
        endpoint: "127.0.0.1:7000".into(),
    }
}

pub(crate) fn deposit_op(recipient: Address, amount: i64) -> L1Op {
    L1Op::Deposit {
        chain: CHAIN,
        recipient,
        amount,
    }
}

pub(crate) fn name(r: Result<Vec<L1Event>, L1Error>) -> &'static str {
    r.err().map(|e| e.name()).unwrap_or("OK")
}

#[test]
fn blocks_must_extend_the_tip() {
    let mut n = Net::new();
    let before = n.state.clone();
    let mut b = n.next_block(vec![]);
    b.height += 1;
    assert_eq!(n.state.apply_block(&b).unwrap_err().code(), 1000);
    let mut b = n.next_block(vec![]);
    b.prev_hash = H256([9; 32]);
    assert_eq!(
        n.state.apply_block(&b).unwrap_err().name(),
        "L1_INVALID_BLOCK"
    );
    let mut b = n.next_block(vec![]);
    b.time = 0;
    assert!(n.state.apply_block(&b).is_err());
    assert_eq!(n.state, before);
    let b = n.next_block(vec![]);
    let out = n.state.apply_block(&b).unwrap();
    assert_eq!(out.hash, b.hash());
    assert_eq!(n.state.tip_hash(), b.hash());
    assert_eq!(n.state.block_hash(1), Some(b.hash()));
    assert_eq!(b.header_bytes().len(), 80);
    // replaying the same block fails
    assert!(n.state.apply_block(&b).is_err());
}

#[test]
fn signatures_nonces_and_replays() {
    let mut n = Net::new();
    let (a, b) = (key(5), key(6));
    let t = n.tx(
        &a,
        L1Op::Transfer {
            to: b.address(),
            amount: 7,
        },
    );
    let out = n.mine(vec![t.clone()]);
    assert!(out.receipts[0].outcome.is_ok());
    assert_eq!(n.state.balance(&b.address()), FUND + 7);
    // replay: nonce error, nothing changes
    let before = n.state.accounts().clone();
    let r = n.mine(vec![t.clone()]).receipts.remove(0).outcome;
    assert_eq!(
        r.unwrap_err(),
        L1Error::BadNonce {
            expected: 1,
            got: 0
        }
    );
    assert_eq!(n.state.accounts(), &before);
    // a signature by another key
    let mut forged = n.tx(
        &a,
        L1Op::Transfer {
            to: b.address(),
            amount: 7,
        },
    );
    forged.sign(&b).unwrap();
    assert_eq!(
        name(n.mine(vec![forged]).receipts.remove(0).outcome),
        "L1_BAD_SIGNATURE"
    );
    let mut short = n.tx(
        &a,
        L1Op::Transfer {
            to: b.address(),
            amount: 7,
        },
    );
    short.signature.pop();
    assert_eq!(
        n.mine(vec![short]).receipts[0]
            .outcome
            .clone()
            .unwrap_err()
            .code(),
        1001
    );
    assert_eq!(n.state.nonce_of(&a.address()), 1);
    // a failing operation consumes the nonce and nothing else
    let r = n.send(
        &a,
        L1Op::Transfer {
            to: b.address(),
            amount: FUND,
        },
    );
    assert_eq!(name(r), "L1_INSUFFICIENT_FUNDS");
    assert_eq!(n.state.nonce_of(&a.address()), 2);
    assert_eq!(n.state.balance(&a.address()), FUND - 7);
    assert_eq!(
        name(n.send(
            &a,
            L1Op::Transfer {
                to: b.address(),
                amount: 0
            }
        )),
        "L1_INVALID_AMOUNT"
    );
    // two transactions in one block, in nonce order
    let t1 = L1Tx::signed(
        &a,
        3,
        L1Op::Transfer {
            to: b.address(),
            amount: 1,
        },
    )
    .unwrap();
    let t2 = L1Tx::signed(
        &a,
        4,
        L1Op::Transfer {
            to: b.address(),
            amount: 1,
        },
    )
    .unwrap();
    let out = n.mine(vec![t2.clone(), t1, t2]);
    assert_eq!(name(out.receipts[0].outcome.clone()), "L1_BAD_NONCE");
    assert!(out.receipts[1].outcome.is_ok());
    assert!(out.receipts[2].outcome.is_ok());
    assert!(n.state.check_tx(&t).is_err());
}

#[test]
fn hat_scores_only_by_the_authority() {
    let mut n = Net::new();
    let op = L1Op::SetHatScore {
        address: key(5).address(),
        score: 90,
    };
    assert_eq!(name(n.send(&key(2), op.clone())), "L1_NOT_AUTHORIZED");
    assert_eq!(n.state.hat_score(&key(5).address()), 0);
    n.send(&key(1), op).unwrap();
    assert_eq!(n.state.hat_score(&key(5).address()), 90);
    let op = L1Op::SetHatScore {
        address: key(5).address(),
        score: 101,
    };
    assert_eq!(name(n.send(&key(1), op)), "L1_INVALID_ARGUMENT");
}

#[test]
fn genesis_is_checked() {
    let mut g = L1Genesis {
        time: 0,
        authority: key(1).address(),
        accounts: vec![(key(1).address(), 0)],
        hat_scores: vec![],
    };
    assert!(L1State::genesis(&g).is_err());
    g.accounts = vec![(key(1).address(), i64::MAX), (key(2).address(), 1)];
    assert_eq!(L1State::genesis(&g).unwrap_err().name(), "L1_OVERFLOW");
    g.accounts = vec![(key(1).address(), 1), (key(1).address(), 1)];
    assert!(L1State::genesis(&g).is_err());
    g.accounts = vec![];
    g.hat_scores = vec![(key(1).address(), 101)];
    assert!(L1State::genesis(&g).is_err());
}

#[test]
fn registry_rules() {
    let mut n = Net::new();
    let (dep, other) = (key(2), key(5));
    let mut bad = register_op(CHAIN);
    if let L1Op::RegisterChain { name, .. } = &mut bad {
        *name = String::new();
    }
    assert_eq!(name(n.send(&dep, bad)), "L1_INVALID_ARGUMENT");
    let mut bad = register_op(CHAIN);
    if let L1Op::RegisterChain { params, .. } = &mut bad {
        params.consensus_threshold_pct = 0;
    }
    assert_eq!(name(n.send(&dep, bad)), "L1_INVALID_ARGUMENT");
    let mut bad = register_op(CHAIN);
    if let L1Op::RegisterChain { deployer_stake, .. } = &mut bad {
        *deployer_stake = 1;
    }
    assert_eq!(name(n.send(&dep, bad)), "L1_INVALID_AMOUNT");
    let mut bad = register_op(CHAIN);
    if let L1Op::RegisterChain { deployer_stake, .. } = &mut bad {
        *deployer_stake = FUND + 1;
    }
    assert_eq!(name(n.send(&dep, bad)), "L1_INSUFFICIENT_FUNDS");
    n.send(&dep, register_op(CHAIN)).unwrap();
    assert_eq!(name(n.send(&other, register_op(CHAIN))), "CHAIN_EXISTS");
    let c = n.chain();
    assert_eq!(c.info.status, L2Status::Bootstrapping);
    assert_eq!(c.info.deployer, dep.address());
    assert_eq!(c.info.deployer_stake, 10 * COIN);
    assert_eq!(n.state.balance(&dep.address()), FUND - 10 * COIN);
    assert_eq!(c.info.latest_state_root, empty_root());
    // unknown chain
    assert_eq!(
        name(n.send(&other, deposit_op(other.address(), 1).with_chain(9))),
        "CHAIN_UNKNOWN"
    );
    // the deployer cannot activate by hand; the first sequencer does
    let st = |s| L1Op::SetChainStatus {
        chain: CHAIN,
        status: s,
    };
    assert_eq!(
        name(n.send(&dep, st(L2Status::Active))),
        "CHAIN_WRONG_STATUS"
    );
    assert_eq!(
        name(n.send(&dep, st(L2Status::Paused))),
        "CHAIN_WRONG_STATUS"
    );
    n.send(&key(3), announce_op(CHAIN, 10 * COIN)).unwrap();
    assert_eq!(n.chain().info.status, L2Status::Active);
    assert_eq!(n.chain().info.activated_at, Some(n.state.height()));
    // only the deployer pauses and resumes; EMERGENCY is never set by hand
    assert_eq!(
        name(n.send(&other, st(L2Status::Paused))),
        "L1_NOT_AUTHORIZED"
    );
    assert_eq!(
        name(n.send(&dep, st(L2Status::Emergency))),
        "CHAIN_WRONG_STATUS"
    );
    n.send(&dep, st(L2Status::Paused)).unwrap();
    assert_eq!(
        name(n.send(&other, deposit_op(other.address(), COIN))),
        "CHAIN_WRONG_STATUS"
    );
    n.send(&dep, st(L2Status::Active)).unwrap();
    n.send(&other, deposit_op(other.address(), COIN)).unwrap();
    n.send(&dep, st(L2Status::Deprecated)).unwrap();
    assert_eq!(n.chain().info.deployer_stake, 0);
    assert_eq!(n.state.balance(&dep.address()), FUND);
    assert_eq!(
        name(n.send(&dep, st(L2Status::Active))),
        "CHAIN_WRONG_STATUS"
    );
    assert_eq!(
        name(n.send(&other, deposit_op(other.address(), COIN))),
        "CHAIN_WRONG_STATUS"
    );
    assert_eq!(
        name(n.send(&key(4), announce_op(CHAIN, 10 * COIN))),
        "CHAIN_WRONG_STATUS"
    );
}

impl L1Op {
    fn with_chain(mut self, id: u64) -> L1Op {
        if let L1Op::Deposit { chain, .. } = &mut self {
            *chain = id;
        }
        self
    }
}

#[test]
fn sequencers_announce_unbond_and_get_slashed() {
    let mut n = Net::new();
    n.send(&key(2), register_op(CHAIN)).unwrap();
    // user 5 has HAT 0 < 50
    assert_eq!(
        name(n.send(&key(5), announce_op(CHAIN, 10 * COIN))),
        "SEQ_NOT_ELIGIBLE"
    );
    assert_eq!(
        name(n.send(&key(3), announce_op(CHAIN, 9 * COIN))),
        "SEQ_NOT_ELIGIBLE"
    );
    assert_eq!(L1Error::SeqNotEligible(String::new()).code(), 1101);
    assert_eq!(
        name(n.send(&key(3), announce_op(CHAIN, FUND + 1))),
        "L1_INSUFFICIENT_FUNDS"
    );
    n.send(&key(3), announce_op(CHAIN, 20 * COIN)).unwrap();
    assert_eq!(
        name(n.send(&key(3), announce_op(CHAIN, 20 * COIN))),
        "SEQ_ALREADY_REGISTERED"
    );
    n.send(&key(4), announce_op(CHAIN, 10 * COIN)).unwrap();
    let w = n.state.sequencer_weights(CHAIN).unwrap();
    assert_eq!(
        w,
        vec![(key(3).address(), 60 * 5), (key(4).address(), 60 * 4)]
    );
    assert_eq!(n.state.balance(&key(3).address()), FUND - 20 * COIN);
    // unbonding
    assert_eq!(
        name(n.send(&key(5), L1Op::Unbond { chain: CHAIN })),
        "SEQ_UNKNOWN"
    );
    assert_eq!(
        name(n.send(&key(3), L1Op::WithdrawStake { chain: CHAIN })),
        "SEQ_STILL_BONDED"
    );
    n.send(&key(3), L1Op::Unbond { chain: CHAIN }).unwrap();
    assert_eq!(n.state.sequencer_weights(CHAIN).unwrap().len(), 1);
    assert_eq!(
        name(n.send(&key(3), L1Op::WithdrawStake { chain: CHAIN })),
        "SEQ_STILL_BONDED"
    );
    n.mine_empty(8);
    let out = n
        .send(&key(3), L1Op::WithdrawStake { chain: CHAIN })
        .unwrap();
    assert_eq!(
        out,
        vec![L1Event::StakeWithdrawn {
            chain: CHAIN,
            address: key(3).address(),
            amount: 20 * COIN
        }]
    );
    assert_eq!(n.state.balance(&key(3).address()), FUND);
    assert!(n.chain().sequencer(&key(3).address()).is_none());
    // slashing hook: to a beneficiary, then burned, ejecting below the minimum
    let s4 = key(4).address();
    let ev = n
        .state
        .slash(CHAIN, &s4, COIN, Some(key(6).address()))
        .unwrap();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(n.state.balance(&key(6).address()), FUND + COIN);
    assert!(matches!(
        n.chain().sequencer(&s4).unwrap().status,
        SequencerStatus::Unbonding { .. }
    ));
    n.state.slash(CHAIN, &s4, 100 * COIN, None).unwrap();
    assert_eq!(n.state.burned(), 9 * COIN);
    assert_eq!(n.chain().sequencer(&s4).unwrap().stake, 0);
    assert_eq!(n.chain().sequencer(&s4).unwrap().slashed, 10 * COIN);
    assert!(n.state.slash(CHAIN, &s4, 0, None).is_err());
    assert!(n.state.slash(CHAIN, &key(5).address(), 1, None).is_err());
    assert_eq!(n.state.total_supply(), Some(n.state.genesis_supply()));
}
