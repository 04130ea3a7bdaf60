//! What the node knows of L1: the tip, block hashes and times, the chain's registry entry, its
//! sequencers with their HAT scores, and its L1→L2 queue. Refreshed by [`L1View::refresh`]
//! (outside the engine's lock); the consensus code reads it.

use casl2_lightclient::l1::{L1Client, L1ClientError};
use casl2_verifier::consensus::{RegisteredSequencer, SequencerSet};
use casl2_verifier::l1::{L2ChainInfo, QueuedMessage, Sequencer, SequencerStatus};
use casl2_verifier::H256;
use std::collections::BTreeMap;

/// A sequencer with its HAT score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencerEntry {
    /// The registry entry.
    pub sequencer: Sequencer,
    /// Its HAT v2 score on L1.
    pub hat_score: u32,
}

/// The node's view of L1.
#[derive(Debug, Clone, Default)]
pub struct L1View {
    /// Tip height.
    pub tip: u64,
    /// Known block hashes and times (seconds), by height.
    pub blocks: BTreeMap<u64, (H256, u64)>,
    /// The chain's registry entry (`None` until the chain is registered).
    pub chain: Option<L2ChainInfo>,
    /// The chain's sequencers in registry order.
    pub sequencers: Vec<SequencerEntry>,
    /// The chain's whole L1→L2 queue.
    pub queue: Vec<QueuedMessage>,
    /// Number of anchors on L1.
    pub anchors: u64,
    /// Number of final anchors.
    pub finalized_anchors: u64,
    /// The lowest L1 height whose block hash changed in the refresh that made this view (a
    /// reorganisation, of any depth; `None`: none seen). The engine checks its chain back to it.
    pub reorg_from: Option<u64>,
}

impl L1View {
    /// The sequencers active at L1 height `at` (`Sequencer::active_at`; `None`: active now), as a
    /// [`SequencerSet`].
    pub fn set_at(&self, at: Option<u64>) -> SequencerSet {
        let members: Vec<RegisteredSequencer> = self
            .sequencers
            .iter()
            .filter(|e| match at {
                None => e.sequencer.status == SequencerStatus::Active,
                Some(h) => e.sequencer.active_at(h),
            })
            .map(|e| {
                RegisteredSequencer::new(e.sequencer.public_key, e.sequencer.stake, e.hat_score)
            })
            .collect();
        SequencerSet::new(members).unwrap_or_else(|_| {
            SequencerSet::new(Vec::new()).expect("an empty set is always valid")
        })
    }

    /// Hash and time of the L1 block at `height`, if known.
    pub fn block(&self, height: u64) -> Option<(H256, u64)> {
        self.blocks.get(&height).copied()
    }

    /// Fetch a fresh view of `chain` from `l1`, keeping what `self` already knows of block
    /// hashes (re-checked near the tip, for reorgs) and of the queue.
    pub async fn refresh(&self, l1: &impl L1Client, chain: u64) -> Result<L1View, L1ClientError> {
        let mut v = self.clone();
        v.tip = l1.tip_height().await?;
        // Re-read the hashes near the tip (a reorg changes them); fetch a block (for its time)
        // only when its hash is new.
        let from = v.tip.saturating_sub(6);
        v.blocks.retain(|h, _| *h <= v.tip);
        let mut heights: Vec<u64> = (from..=v.tip).collect();
        if !v.blocks.contains_key(&0) {
            heights.insert(0, 0);
        }
        let mut changed: Option<u64> = None;
        for h in heights {
            let hash = l1.block_hash(h).await?;
            match v.blocks.get(&h) {
                Some((known, _)) if *known == hash => continue,
                Some(_) => changed = Some(changed.map_or(h, |c| c.min(h))),
                None => {}
            }
            let b = l1.block_header(&hash).await?;
            v.blocks.insert(h, (hash, b.time));
        }
        // A reorganisation that reaches the bottom of the window may go deeper: walk down until
        // a known hash still holds (the fork point), however deep.
        if changed == Some(from) {
            let mut h = from;
            while h > 0 {
                h -= 1;
                let Some((known, _)) = v.blocks.get(&h).copied() else {
                    break;
                };
                let hash = l1.block_hash(h).await?;
                if hash == known {
                    break;
                }
                let b = l1.block_header(&hash).await?;
                v.blocks.insert(h, (hash, b.time));
                changed = Some(h);
            }
        }
        v.reorg_from = changed;
        if changed.is_some_and(|c| c < from) {
            // Deeper than the queue's re-read tail can cover: read the whole queue again.
            v.queue.clear();
        }
        let chains = l1.chains().await?;
        v.chain = chains.into_iter().find(|c| c.chain_id == chain);
        let Some(info) = v.chain.clone() else {
            return Ok(v);
        };
        // Fill in older heights the consensus may need (activation, past anchors), a few per
        // refresh, from the chain's registration on.
        let mut missing = 0;
        for h in info.deployment_block..from {
            if missing >= 64 {
                break;
            }
            if v.blocks.contains_key(&h) {
                continue;
            }
            missing += 1;
            let hash = l1.block_hash(h).await?;
            let b = l1.block_header(&hash).await?;
            v.blocks.insert(h, (hash, b.time));
        }
        v.sequencers = l1
            .sequencers_with_hat(chain)
            .await?
            .into_iter()
            .map(|(sequencer, hat_score)| SequencerEntry {
                sequencer,
                hat_score,
            })
            .collect();
        // The queue: re-read the last known entries too (a reorg can replace them).
        let start = (v.queue.len() as u64).saturating_sub(16);
        v.queue.truncate(start as usize);
        loop {
            let more = l1.queue(chain, v.queue.len() as u64).await?;
            let n = more.len();
            v.queue.extend(more);
            if n < 1000 {
                break;
            }
        }
        let state = l1.chain_state(chain).await?;
        v.anchors = state.anchors;
        v.finalized_anchors = state.finalized_anchors;
        Ok(v)
    }

    /// Ensure the hash of `height` is known (older heights than the refresh window).
    pub async fn fetch_block(
        &mut self,
        l1: &impl L1Client,
        height: u64,
    ) -> Result<(H256, u64), L1ClientError> {
        if let Some(b) = self.block(height) {
            return Ok(b);
        }
        let hash = l1.block_hash(height).await?;
        let b = l1.block_header(&hash).await?;
        self.blocks.insert(height, (hash, b.time));
        Ok((hash, b.time))
    }
}
