//! A dishonest sequencer, for tests and demos of the fraud proofs (`casl2 node --dishonest`,
//! refused unless the chain runs with regtest parameters).
//!
//! The node's L2 blocks stay honest; what it *anchors* is not. While fewer than `batches`
//! frauds have been proven against the chain on L1 (`L2ChainInfo::frauds_proven`), every batch
//! it posts is rewritten by [`Dishonest::rewrite`] into one chosen kind of bad batch. The
//! rewrite is a pure function of the honest blocks, so sequencers run with the same option
//! re-derive the same header and sign it (collusion, which fraud needs: one signature is no
//! quorum). As the anchor's poster, the node then defends the lie in the game with
//! [`Dishonest::lying_trace`]. The node reads none of this directly: [`Dishonest`] is its
//! [`Misbehaviour`].

use crate::node::Misbehaviour;
use casl2_verifier::fraud::step_count;
use casl2_verifier::l1::L2ChainInfo;
use casl2_verifier::params::Network;
use casl2_verifier::{sha256d, L2Block, PrivateKey, TxType, H256};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which bad batch to post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DishonestKind {
    /// State roots that execution does not give from trace step `step` on (a game decides).
    WrongRoot,
    /// State roots wrong from the batch's first CONTRACT_CALL step on (a game decides, its
    /// one-step proof runs the contract call); batches without a contract call go out honest.
    #[serde(rename = "wrong-root:contract")]
    WrongRootContract,
    /// A transaction signature altered (`INVALID_SIGNATURE`).
    BadSignature,
    /// A block's quorum signature altered (`INVALID_SIGNATURE`, `InvalidBlockSignature`).
    BadBlockSignature,
    /// The last block's timestamp far beyond the allowed drift (`TIMESTAMP_MANIPULATION`).
    BadTimestamp,
    /// A transaction included twice (`DOUBLE_SPEND`).
    DoubleSpend,
    /// Honest batches whose shares the node does not serve (`l2_getshare`) and whose
    /// availability challenges it does not answer (`DATA_WITHHOLDING` once the deadline passes).
    Withhold,
}

/// The `--dishonest` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dishonest {
    /// The kind of bad batch.
    pub kind: DishonestKind,
    /// For `wrong-root`: the first step whose post-root is wrong (clamped to the last step).
    pub step: u64,
    /// How many bad batches: the rewrite applies while fewer frauds than this were proven.
    pub batches: u64,
}

impl fmt::Display for DishonestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DishonestKind::WrongRoot => "wrong-root",
            DishonestKind::WrongRootContract => "wrong-root:contract",
            DishonestKind::BadSignature => "bad-signature",
            DishonestKind::BadBlockSignature => "bad-block-signature",
            DishonestKind::BadTimestamp => "bad-timestamp",
            DishonestKind::DoubleSpend => "double-spend",
            DishonestKind::Withhold => "withhold",
        })
    }
}

impl FromStr for Dishonest {
    type Err = String;

    /// `KIND[:STEP]`, KIND one of `wrong-root`, `bad-signature`, `bad-block-signature`, `bad-timestamp`,
    /// `double-spend`, `withhold`; or `wrong-root:contract`.
    fn from_str(s: &str) -> Result<Dishonest, String> {
        if s == "wrong-root:contract" {
            return Ok(Dishonest {
                kind: DishonestKind::WrongRootContract,
                step: 0,
                batches: 1,
            });
        }
        let (kind, step) = match s.split_once(':') {
            Some((k, n)) => (
                k,
                n.parse::<u64>()
                    .map_err(|e| format!("step {n:?} in {s:?}: {e}"))?,
            ),
            None => (s, 0),
        };
        let kind = match kind {
            "wrong-root" => DishonestKind::WrongRoot,
            "bad-signature" => DishonestKind::BadSignature,
            "bad-block-signature" => DishonestKind::BadBlockSignature,
            "bad-timestamp" => DishonestKind::BadTimestamp,
            "double-spend" => DishonestKind::DoubleSpend,
            "withhold" => DishonestKind::Withhold,
            o => {
                return Err(format!(
                "unknown kind {o:?} (wrong-root[:STEP], wrong-root:contract, bad-signature, bad-block-signature, bad-timestamp, double-spend, withhold)"
            ))
            }
        };
        if step != 0 && kind != DishonestKind::WrongRoot {
            return Err(format!("only wrong-root takes a step, not {kind}"));
        }
        Ok(Dishonest {
            kind,
            step,
            batches: 1,
        })
    }
}

/// The trace index of the first CONTRACT_CALL transaction of a batch made of `blocks` (each
/// block's steps: its L1 messages, its transactions, its block end).
pub fn first_contract_call(blocks: &[L2Block]) -> Option<u64> {
    let mut start = 0u64;
    for b in blocks {
        let messages = b.l1_message_hashes.len() as u64;
        if let Some(i) = b
            .transactions
            .iter()
            .position(|t| t.tx_type == TxType::ContractCall)
        {
            return Some(start + messages + i as u64);
        }
        start += messages + b.transactions.len() as u64 + 1;
    }
    None
}

/// The fake root that replaces honest root `honest` at trace index `index`.
pub fn fake_root(honest: &H256, index: u64) -> H256 {
    let mut b = b"casl2 dishonest".to_vec();
    b.extend_from_slice(&honest.0);
    b.extend_from_slice(&index.to_le_bytes());
    sha256d(&b)
}

impl Dishonest {
    /// Whether the next batch is to be bad, given the chain's L1 entry.
    /// Never outside regtest parameters.
    pub fn applies(&self, info: &L2ChainInfo) -> bool {
        info.params.network == Network::Regtest && info.frauds_proven < self.batches
    }

    /// Whether the node withholds its batches' data now (`withhold`, while it applies).
    pub fn withholds(&self, info: &L2ChainInfo) -> bool {
        self.kind == DishonestKind::Withhold && self.applies(info)
    }

    /// The step at which a wrong-root batch of `blocks`, whose trace has `steps` steps,
    /// starts lying: `step` (clamped to the last step) for `wrong-root`, the first contract
    /// call for `wrong-root:contract` (`None` without one: the batch stays honest); `None` for
    /// the other kinds.
    fn first_wrong(&self, blocks: &[L2Block], steps: u64) -> Option<u64> {
        match self.kind {
            DishonestKind::WrongRoot => Some(self.step.min(steps.saturating_sub(1))),
            DishonestKind::WrongRootContract => first_contract_call(blocks),
            _ => None,
        }
    }

    /// Rewrite honest `blocks` into the bad batch; `false` when this batch cannot carry the
    /// chosen fraud (no transaction to alter) and goes out honest. With `key`, the changed
    /// blocks are signed again by it alone (the poster); without, signatures are left (a
    /// colluding peer only re-derives the header). `max_drift_s` is the chain's
    /// `maxTimestampDrift`.
    pub fn rewrite(
        &self,
        blocks: &mut [L2Block],
        key: Option<&PrivateKey>,
        max_drift_s: u64,
    ) -> bool {
        let changed = match self.kind {
            DishonestKind::WrongRoot | DishonestKind::WrongRootContract => {
                match self.first_wrong(blocks, step_count(blocks)) {
                    Some(first) => {
                        let mut end = 0u64;
                        for b in blocks.iter_mut() {
                            end += (b.l1_message_hashes.len() + b.transactions.len() + 1) as u64;
                            if end > first {
                                b.header.state_root = fake_root(&b.header.state_root, end);
                            }
                        }
                        true
                    }
                    None => false,
                }
            }
            DishonestKind::BadSignature => {
                match blocks.iter_mut().find_map(|b| b.transactions.first_mut()) {
                    Some(tx) => {
                        if let Some(byte) = tx.signature.get_mut(10) {
                            *byte ^= 0x5a;
                        }
                        true
                    }
                    None => false,
                }
            }
            DishonestKind::BadTimestamp => match blocks.last_mut() {
                Some(b) => {
                    // Blocks are stamped near L1 time: a day past the drift is far beyond it.
                    let ahead = max_drift_s.saturating_add(86_400).saturating_mul(1000);
                    b.header.timestamp = b.header.timestamp.saturating_add(ahead);
                    true
                }
                None => false,
            },
            // The batch itself is honest: what is withheld is its data.
            DishonestKind::Withhold => false,
            // Altered below, after any re-signing.
            DishonestKind::BadBlockSignature => blocks.iter().any(|b| !b.signatures.is_empty()),
            DishonestKind::DoubleSpend => {
                match blocks.iter_mut().find(|b| !b.transactions.is_empty()) {
                    Some(b) => {
                        let again = b.transactions[0].clone();
                        b.transactions.push(again);
                        true
                    }
                    None => false,
                }
            }
        };
        if changed {
            for b in blocks.iter_mut() {
                b.header.transactions_root = b.transactions_root();
                if let Some(k) = key {
                    let ts = b.header.timestamp / 1000;
                    b.signatures.clear();
                    let _ = b.sign(k, ts);
                }
            }
        }
        if changed && self.kind == DishonestKind::BadBlockSignature {
            // The last byte of S: still strict DER, no longer a signature of the block.
            if let Some(sig) = blocks
                .iter_mut()
                .find_map(|b| b.signatures.first_mut())
                .and_then(|s| s.signature.last_mut())
            {
                *sig ^= 0x01;
            }
        }
        changed
    }

    /// The trace this node defends for a batch of `blocks` it rewrote: `honest` (the true
    /// trace), with every root after the first wrong step replaced for the wrong-root kinds;
    /// the true trace for the other kinds (their fraud is not in the roots).
    pub fn lying_trace(&self, honest: &[H256], blocks: &[L2Block]) -> Vec<H256> {
        let steps = honest.len().saturating_sub(1) as u64;
        let Some(first) = self.first_wrong(blocks, steps) else {
            return honest.to_vec();
        };
        honest
            .iter()
            .enumerate()
            .map(|(j, r)| {
                if j as u64 > first {
                    fake_root(r, j as u64)
                } else {
                    *r
                }
            })
            .collect()
    }
}

impl Misbehaviour for Dishonest {
    fn rewrite_batch(&self, info: &L2ChainInfo, blocks: &mut [L2Block], key: Option<&PrivateKey>) {
        if self.applies(info) {
            self.rewrite(blocks, key, info.params.max_timestamp_drift);
        }
    }

    fn defence_trace(&self, honest: &[H256], blocks: &[L2Block]) -> Vec<H256> {
        self.lying_trace(honest, blocks)
    }

    fn withholds(&self, info: &L2ChainInfo) -> bool {
        Dishonest::withholds(self, info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_parses_and_names_what_is_wrong() {
        let d: Dishonest = "wrong-root:3".parse().unwrap();
        assert_eq!(
            (d.kind, d.step, d.batches),
            (DishonestKind::WrongRoot, 3, 1)
        );
        assert_eq!(
            "double-spend".parse::<Dishonest>().unwrap().kind,
            DishonestKind::DoubleSpend
        );
        assert!("bad-signature:2".parse::<Dishonest>().is_err());
        assert!("lie"
            .parse::<Dishonest>()
            .unwrap_err()
            .contains("unknown kind"));
        assert!("wrong-root:x".parse::<Dishonest>().is_err());
        let d: Dishonest = "wrong-root:contract".parse().unwrap();
        assert_eq!(
            (d.kind, d.step, d.batches),
            (DishonestKind::WrongRootContract, 0, 1)
        );
        assert_eq!(d.kind.to_string(), "wrong-root:contract");
    }

    #[test]
    fn wrong_root_contract_lies_from_the_first_contract_call_only() {
        use casl2_verifier::L2Transaction;
        let tx = |tx_type| L2Transaction {
            tx_type,
            ..Default::default()
        };
        // Block 1: one transfer (steps 0, end 1); block 2: a message, a deploy, a transfer and
        // a call (steps 2, 3, 4, 5, end 6); block 3: a call (step 7, end 8).
        let mut blocks = Vec::new();
        for (n, (msgs, txs)) in [
            (0, vec![tx(TxType::Transfer)]),
            (
                1,
                vec![
                    tx(TxType::ContractDeploy),
                    tx(TxType::Transfer),
                    tx(TxType::ContractCall),
                ],
            ),
            (0, vec![tx(TxType::ContractCall)]),
        ]
        .into_iter()
        .enumerate()
        {
            let mut b = L2Block::default();
            b.header.block_number = n as u64 + 1;
            b.header.state_root = H256([n as u8 + 1; 32]);
            b.l1_message_hashes = vec![H256([9; 32]); msgs];
            b.transactions = txs;
            blocks.push(b);
        }
        assert_eq!(first_contract_call(&blocks), Some(5));
        assert_eq!(first_contract_call(&blocks[..1]), None);
        let d: Dishonest = "wrong-root:contract".parse().unwrap();
        // A batch without a contract call stays honest.
        let mut honest_batch = blocks[..1].to_vec();
        assert!(!d.rewrite(&mut honest_batch, None, 60));
        assert_eq!(honest_batch, blocks[..1].to_vec());
        // Roots: r0, then steps 0..=8; the block ends are at indexes 2, 7 and 9.
        let honest: Vec<H256> = (0..10u8).map(|i| H256([0x40 + i; 32])).collect();
        let mut bad = blocks.clone();
        for (b, end) in bad.iter_mut().zip([2usize, 7, 9]) {
            b.header.state_root = honest[end];
        }
        let mut rewritten = bad.clone();
        assert!(d.rewrite(&mut rewritten, None, 60));
        let lie = d.lying_trace(&honest, &blocks);
        assert_eq!(&lie[..6], &honest[..6], "honest up to the contract call");
        assert!(lie[6..].iter().zip(&honest[6..]).all(|(l, h)| l != h));
        assert_eq!(
            rewritten[0].header.state_root, honest[2],
            "block 1 untouched"
        );
        for (b, end) in rewritten.iter().zip([2usize, 7, 9]) {
            assert_eq!(b.header.state_root, lie[end]);
        }
    }

    #[test]
    fn a_wrong_root_batch_matches_its_lying_trace_at_every_block_end() {
        let mut blocks = Vec::new();
        for n in 1..=3u64 {
            let mut b = L2Block::default();
            b.header.block_number = n;
            b.header.state_root = H256([n as u8; 32]);
            blocks.push(b);
        }
        // Each empty block is one step: the honest trace is r0, [1;32], [2;32], [3;32].
        let honest = vec![H256::default(), H256([1; 32]), H256([2; 32]), H256([3; 32])];
        let d = Dishonest {
            kind: DishonestKind::WrongRoot,
            step: 1,
            batches: 1,
        };
        let mut bad = blocks.clone();
        assert!(d.rewrite(&mut bad, None, 60));
        let lie = d.lying_trace(&honest, &blocks);
        assert_eq!(&lie[..2], &honest[..2], "honest up to the first wrong step");
        assert_ne!(lie[2], honest[2]);
        for (i, b) in bad.iter().enumerate() {
            assert_eq!(b.header.state_root, lie[i + 1]);
        }
    }
}
