//! The node's mempool: signed L2 transactions waiting for a block.
//!
//! Admission ([`Mempool::insert`]) checks what can be checked before execution, with the
//! verifier's own rules: the signature recovers `from`, the chain id, the intrinsic gas, the
//! nonce (not below the account's, at most [`MempoolConfig::max_nonce_gap`] ahead of it), and
//! that the balance covers value + gas limit × gas price. Transactions a user may not send
//! (DEPOSIT, FORCED_INCLUSION, BURN_MINT, SEQ_ANNOUNCE) are refused.
//!
//! Replacement: a transaction with the same sender and nonce replaces the pooled one only if
//! its gas price is at least [`MempoolConfig::replace_bump_pct`] percent higher. Memory is
//! bounded: at most [`MempoolConfig::max_per_sender`] per sender (by reputation, see
//! [`MempoolConfig::sender_limit`]) and [`MempoolConfig::max_total`] in all; when full, a new
//! transaction evicts the lowest-priced one if it pays more, else it is refused.
//!
//! Selection ([`Mempool::select`]): senders' transactions in nonce order starting at the
//! account nonce (no gaps), highest gas price first across senders, within the per-block
//! per-sender limit of the sender's reputation (Property 14) and the block gas limit.

use casl2_verifier::stf::{self, rules};
use casl2_verifier::{Address, L2Transaction, TxType, H256};
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MempoolError {
    /// The signature does not recover the sender.
    #[error("MEMPOOL_BAD_SIGNATURE: {0}")]
    BadSignature(String),
    /// Another chain's transaction.
    #[error("MEMPOOL_WRONG_CHAIN: transaction for chain {got}, this is chain {expected}")]
    WrongChain {
        /// This chain.
        expected: u64,
        /// The transaction's chain.
        got: u64,
    },
    /// A type users may not send.
    #[error("MEMPOOL_TYPE_REFUSED: {0:?} transactions come only from the L1 queue")]
    TypeRefused(TxType),
    /// The nonce was used already or is too far ahead.
    #[error(
        "MEMPOOL_BAD_NONCE: nonce {got}, the account is at {account} (at most {max_gap} ahead)"
    )]
    BadNonce {
        /// The transaction's nonce.
        got: u64,
        /// The account's nonce.
        account: u64,
        /// Largest gap allowed.
        max_gap: u64,
    },
    /// The balance does not cover value + gas limit × price.
    #[error("BRIDGE_INSUFFICIENT_BALANCE: balance {balance} does not cover {needed}")]
    InsufficientBalance {
        /// The account's balance.
        balance: i64,
        /// What the transaction may cost.
        needed: i64,
    },
    /// Gas, value or price out of range.
    #[error("MEMPOOL_INVALID: {0}")]
    Invalid(String),
    /// Same transaction already pooled.
    #[error("MEMPOOL_DUPLICATE: transaction {0} is already pooled")]
    Duplicate(H256),
    /// A replacement that does not pay enough more.
    #[error("MEMPOOL_UNDERPRICED: replacing nonce {nonce} needs gas price ≥ {needed}")]
    Underpriced {
        /// The nonce.
        nonce: u64,
        /// Lowest acceptable gas price.
        needed: i64,
    },
    /// The sender or the pool is full.
    #[error("MEMPOOL_FULL: {0}")]
    Full(String),
}

/// Limits of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions in all.
    pub max_total: usize,
    /// Most pooled transactions of one sender (for the lowest reputation; see
    /// [`sender_limit`](Self::sender_limit)).
    pub max_per_sender: usize,
    /// Largest nonce gap accepted (nonce − account nonce).
    pub max_nonce_gap: u64,
    /// Gas price increase a replacement needs, percent.
    pub replace_bump_pct: i64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_total: 50_000,
            max_per_sender: 64,
            max_nonce_gap: 64,
            replace_bump_pct: 10,
        }
    }
}

impl MempoolConfig {
    /// Pooled transactions a sender of this reputation may have: `max_per_sender` scaled by
    /// the block limit of its reputation relative to the lowest one (10/20/50/100 → ×1/×2/×5/×10).
    pub fn sender_limit(&self, hat_score: u32) -> usize {
        let scale = (rules::tx_limit_per_block(hat_score) / rules::tx_limit_per_block(0)) as usize;
        self.max_per_sender.saturating_mul(scale.max(1))
    }
}

/// What the pool needs to know about a sender's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderState {
    /// Account nonce.
    pub nonce: u64,
    /// Balance.
    pub balance: i64,
    /// HAT score.
    pub hat_score: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    tx: L2Transaction,
    hash: H256,
    seq: u64,
}

/// The pool.
#[derive(Debug, Default)]
pub struct Mempool {
    config: MempoolConfig,
    chain_id: u64,
    by_sender: HashMap<Address, BTreeMap<u64, Entry>>,
    by_hash: HashMap<H256, (Address, u64)>,
    seq: u64,
}

impl Mempool {
    /// An empty pool for `chain_id`.
    pub fn new(chain_id: u64, config: MempoolConfig) -> Self {
        Mempool {
            config,
            chain_id,
            ..Mempool::default()
        }
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// True when `hash` is pooled.
    pub fn contains(&self, hash: &H256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The pooled transaction `hash`.
    pub fn get(&self, hash: &H256) -> Option<L2Transaction> {
        let (a, n) = self.by_hash.get(hash)?;
        self.by_sender.get(a)?.get(n).map(|e| e.tx.clone())
    }

    /// The next nonce of `sender` counting its pooled transactions in a row from `account`.
    pub fn next_nonce(&self, sender: &Address, account: u64) -> u64 {
        let mut n = account;
        if let Some(m) = self.by_sender.get(sender) {
            while m.contains_key(&n) {
                n += 1;
            }
        }
        n
    }

    /// Check and admit `tx`; `state` reads the sender's account. Returns its hash.
    pub fn insert(
        &mut self,
        tx: L2Transaction,
        state: impl FnOnce(&Address) -> SenderState,
    ) -> Result<H256, MempoolError> {
        let hash = tx.hash();
        if self.by_hash.contains_key(&hash) {
            return Err(MempoolError::Duplicate(hash));
        }
        match tx.tx_type {
            TxType::Deposit | TxType::ForcedInclusion | TxType::BurnMint | TxType::SeqAnnounce => {
                return Err(MempoolError::TypeRefused(tx.tx_type))
            }
            _ => {}
        }
        if tx.l2_chain_id != self.chain_id {
            return Err(MempoolError::WrongChain {
                expected: self.chain_id,
                got: tx.l2_chain_id,
            });
        }
        let sender = tx
            .recover_sender()
            .map_err(|e| MempoolError::BadSignature(e.to_string()))?;
        if sender != tx.from {
            return Err(MempoolError::BadSignature(format!(
                "signed by {sender}, from is {}",
                tx.from
            )));
        }
        // The STF's own checks of the transaction's numbers: one rule for both.
        stf::check_value_and_gas(&tx).map_err(|e| MempoolError::Invalid(e.to_string()))?;
        let st = state(&sender);
        if tx.nonce < st.nonce || tx.nonce - st.nonce > self.config.max_nonce_gap {
            return Err(MempoolError::BadNonce {
                got: tx.nonce,
                account: st.nonce,
                max_gap: self.config.max_nonce_gap,
            });
        }
        // What the STF may debit: the value and the whole gas limit at the price, before any
        // reputation discount (`stf::rules::max_fee`).
        let needed = rules::max_fee(tx.gas_limit, tx.gas_price)
            .and_then(|f| tx.value.checked_add(f))
            .ok_or_else(|| MempoolError::Invalid("value plus maximum fee overflows".into()))?;
        if st.balance < needed {
            return Err(MempoolError::InsufficientBalance {
                balance: st.balance,
                needed,
            });
        }
        // Replacement of the same nonce.
        if let Some(old) = self.by_sender.get(&sender).and_then(|m| m.get(&tx.nonce)) {
            let bump = old.tx.gas_price as i128 * (100 + self.config.replace_bump_pct) as i128;
            let needed = i64::try_from((bump + 99) / 100).unwrap_or(i64::MAX);
            if tx.gas_price < needed {
                return Err(MempoolError::Underpriced {
                    nonce: tx.nonce,
                    needed,
                });
            }
            let old_hash = old.hash;
            self.by_hash.remove(&old_hash);
        } else {
            let mine = self.by_sender.get(&sender).map_or(0, BTreeMap::len);
            let limit = self.config.sender_limit(st.hat_score);
            if mine >= limit {
                return Err(MempoolError::Full(format!(
                    "sender {sender} has {mine} pooled transactions (limit {limit})"
                )));
            }
            if self.by_hash.len() >= self.config.max_total {
                self.evict_for(tx.gas_price)?;
            }
        }
        self.seq += 1;
        let entry = Entry {
            tx,
            hash,
            seq: self.seq,
        };
        let nonce = entry.tx.nonce;
        self.by_sender
            .entry(sender)
            .or_default()
            .insert(nonce, entry);
        self.by_hash.insert(hash, (sender, nonce));
        Ok(hash)
    }

    /// Make room for a transaction paying `price`: drop the lowest-priced transaction with the
    /// highest nonce of its sender (so no gap opens below pooled ones), if it pays less.
    fn evict_for(&mut self, price: i64) -> Result<(), MempoolError> {
        let victim = self
            .by_sender
            .iter()
            .filter_map(|(a, m)| m.iter().next_back().map(|(n, e)| (e.tx.gas_price, *a, *n)))
            .min();
        match victim {
            Some((p, a, n)) if p < price => {
                self.remove_one(&a, n);
                Ok(())
            }
            _ => Err(MempoolError::Full(format!(
                "the pool holds {} transactions and none pays less than {price}",
                self.by_hash.len()
            ))),
        }
    }

    fn remove_one(&mut self, sender: &Address, nonce: u64) {
        if let Some(m) = self.by_sender.get_mut(sender) {
            if let Some(e) = m.remove(&nonce) {
                self.by_hash.remove(&e.hash);
            }
            if m.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// Choose the transactions of the next block: per sender in nonce order from its account
    /// nonce (gap-free), senders by gas price (ties by arrival), at most the reputation's
    /// per-block limit per sender, `max_txs` in all, within `gas_limit` (by gas limits).
    pub fn select(
        &self,
        state: impl Fn(&Address) -> SenderState,
        max_txs: usize,
        gas_limit: u64,
    ) -> Vec<L2Transaction> {
        // Each sender's runnable sequence.
        let mut queues: Vec<(Address, Vec<&Entry>)> = Vec::new();
        for (a, m) in &self.by_sender {
            let st = state(a);
            let limit = rules::tx_limit_per_block(st.hat_score) as usize;
            let mut run = Vec::new();
            let mut n = st.nonce;
            while let Some(e) = m.get(&n) {
                if run.len() >= limit {
                    break;
                }
                run.push(e);
                n += 1;
            }
            if !run.is_empty() {
                queues.push((*a, run));
            }
        }
        // Merge: always take the head with the best (price, earliest arrival).
        let mut heads: Vec<usize> = vec![0; queues.len()];
        let mut out = Vec::new();
        let mut gas = 0u64;
        loop {
            if out.len() >= max_txs {
                break;
            }
            let best = queues
                .iter()
                .enumerate()
                .filter_map(|(i, (_, run))| run.get(heads[i]).map(|e| (i, e)))
                .max_by(|(_, a), (_, b)| {
                    a.tx.gas_price.cmp(&b.tx.gas_price).then(b.seq.cmp(&a.seq))
                });
            let Some((i, e)) = best else { break };
            let g = gas.saturating_add(e.tx.gas_limit);
            if g > gas_limit {
                // This sender's next cannot fit; the rest of its run cannot follow it.
                heads[i] = usize::MAX;
                continue;
            }
            gas = g;
            out.push(e.tx.clone());
            heads[i] += 1;
        }
        out
    }

    /// Drop every transaction whose nonce is below its sender's account nonce (after a block),
    /// and those `state` says cannot pay any more.
    pub fn prune(&mut self, state: impl Fn(&Address) -> SenderState) {
        let senders: Vec<Address> = self.by_sender.keys().copied().collect();
        for a in senders {
            let st = state(&a);
            let stale: Vec<u64> = self.by_sender[&a]
                .range(..st.nonce)
                .map(|(n, _)| *n)
                .collect();
            for n in stale {
                self.remove_one(&a, n);
            }
        }
    }

    /// Remove the transactions `hashes` (included in a block).
    pub fn remove_included(&mut self, txs: &[L2Transaction]) {
        for t in txs {
            if let Some((a, n)) = self.by_hash.get(&t.hash()).copied() {
                self.remove_one(&a, n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casl2_verifier::params::COIN;
    use casl2_verifier::PrivateKey;

    const CHAIN: u64 = 7;

    fn key(i: u8) -> PrivateKey {
        PrivateKey::from_bytes(&[i; 32]).unwrap()
    }

    fn tx(k: &PrivateKey, nonce: u64, price: i64) -> L2Transaction {
        let mut t = L2Transaction {
            from: k.address(),
            to: Address([9; 20]),
            value: COIN,
            nonce,
            gas_limit: 21_000,
            gas_price: price,
            tx_type: TxType::Transfer,
            l2_chain_id: CHAIN,
            ..Default::default()
        };
        t.sign(k).unwrap();
        t
    }

    fn rich(_: &Address) -> SenderState {
        SenderState {
            nonce: 0,
            balance: 1_000 * COIN,
            hat_score: 0,
        }
    }

    #[test]
    fn admission_rules() {
        let mut m = Mempool::new(CHAIN, MempoolConfig::default());
        let k = key(1);
        let h = m.insert(tx(&k, 0, 1), rich).unwrap();
        assert!(m.contains(&h));
        assert_eq!(
            m.insert(tx(&k, 0, 1), rich),
            Err(MempoolError::Duplicate(h))
        );
        // Wrong chain.
        let mut t = tx(&k, 1, 1);
        t.l2_chain_id = 8;
        t.sign(&k).unwrap();
        assert!(matches!(
            m.insert(t, rich),
            Err(MempoolError::WrongChain { .. })
        ));
        // Bad signature: from altered.
        let mut t = tx(&k, 1, 1);
        t.from = Address([3; 20]);
        assert!(matches!(
            m.insert(t, rich),
            Err(MempoolError::BadSignature(_))
        ));
        // Nonce used and nonce too far.
        let used = |_: &Address| SenderState {
            nonce: 5,
            ..rich(&Address::default())
        };
        assert!(matches!(
            m.insert(tx(&k, 4, 1), used),
            Err(MempoolError::BadNonce { .. })
        ));
        assert!(matches!(
            m.insert(tx(&k, 5 + 65, 1), used),
            Err(MempoolError::BadNonce { .. })
        ));
        // Poor.
        let poor = |_: &Address| SenderState {
            balance: COIN,
            ..SenderState::default()
        };
        assert!(matches!(
            m.insert(tx(&key(2), 0, 1), poor),
            Err(MempoolError::InsufficientBalance { .. })
        ));
        // Refused type.
        let mut t = tx(&key(2), 0, 1);
        t.tx_type = TxType::Deposit;
        t.sign(&key(2)).unwrap();
        assert_eq!(
            m.insert(t, rich),
            Err(MempoolError::TypeRefused(TxType::Deposit))
        );
        // The STF's checks of the numbers: gas limit below the intrinsic gas, negative value,
        // and a value plus maximum fee past i64 (an error, not an overflow).
        let mut t = tx(&key(3), 0, 1);
        t.gas_limit = 1;
        t.sign(&key(3)).unwrap();
        let e = m.insert(t, rich).unwrap_err().to_string();
        assert!(e.starts_with("MEMPOOL_INVALID: gas limit 1 below"), "{e}");
        let mut t = tx(&key(3), 0, 1);
        t.value = -1;
        t.sign(&key(3)).unwrap();
        assert!(matches!(m.insert(t, rich), Err(MempoolError::Invalid(_))));
        let mut t = tx(&key(3), 0, 1);
        t.value = i64::MAX;
        t.sign(&key(3)).unwrap();
        let e = m.insert(t, rich).unwrap_err().to_string();
        assert_eq!(e, "MEMPOOL_INVALID: value plus maximum fee overflows");
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn replacement_needs_a_bump() {
        let mut m = Mempool::new(CHAIN, MempoolConfig::default());
        let k = key(1);
        m.insert(tx(&k, 0, 100), rich).unwrap();
        assert_eq!(
            m.insert(tx(&k, 0, 109), rich),
            Err(MempoolError::Underpriced {
                nonce: 0,
                needed: 110
            })
        );
        let h = m.insert(tx(&k, 0, 110), rich).unwrap();
        assert_eq!(m.len(), 1);
        assert!(m.contains(&h));
    }

    #[test]
    fn bounded_with_eviction_of_the_cheapest() {
        let cfg = MempoolConfig {
            max_total: 3,
            ..MempoolConfig::default()
        };
        let mut m = Mempool::new(CHAIN, cfg);
        for i in 0..3u8 {
            m.insert(tx(&key(10 + i), 0, 5 + i as i64), rich).unwrap();
        }
        // Pays no more than the cheapest (5): refused.
        assert!(matches!(
            m.insert(tx(&key(20), 0, 5), rich),
            Err(MempoolError::Full(_))
        ));
        // Pays more: evicts the 5.
        m.insert(tx(&key(20), 0, 50), rich).unwrap();
        assert_eq!(m.len(), 3);
        assert!(!m.contains(&tx(&key(10), 0, 5).hash()));
        // Per-sender limit.
        let cfg = MempoolConfig {
            max_per_sender: 2,
            ..MempoolConfig::default()
        };
        let mut m = Mempool::new(CHAIN, cfg);
        m.insert(tx(&key(1), 0, 1), rich).unwrap();
        m.insert(tx(&key(1), 1, 1), rich).unwrap();
        assert!(matches!(
            m.insert(tx(&key(1), 2, 1), rich),
            Err(MempoolError::Full(_))
        ));
    }

    #[test]
    fn selection_orders_by_price_and_nonce_without_gaps() {
        let mut m = Mempool::new(CHAIN, MempoolConfig::default());
        let (a, b) = (key(1), key(2));
        m.insert(tx(&a, 0, 1), rich).unwrap();
        m.insert(tx(&a, 1, 9), rich).unwrap();
        m.insert(tx(&a, 3, 9), rich).unwrap(); // gap at 2: not runnable
        m.insert(tx(&b, 0, 5), rich).unwrap();
        let sel = m.select(rich, 100, 30_000_000);
        let got: Vec<(Address, u64)> = sel.iter().map(|t| (t.from, t.nonce)).collect();
        assert_eq!(
            got,
            vec![(b.address(), 0), (a.address(), 0), (a.address(), 1)]
        );
        // Gas limit: room for two.
        assert_eq!(m.select(rich, 100, 42_000).len(), 2);
        // Reputation limit: 10 per block at HAT 0.
        let mut m = Mempool::new(CHAIN, MempoolConfig::default());
        for n in 0..15 {
            m.insert(tx(&a, n, 1), rich).unwrap();
        }
        assert_eq!(m.select(rich, 100, 30_000_000).len(), 10);
        // After a block, stale nonces go.
        m.prune(|_| SenderState {
            nonce: 10,
            ..rich(&Address::default())
        });
        assert_eq!(m.len(), 5);
        assert_eq!(m.next_nonce(&a.address(), 10), 15);
    }
}
