//! Fraud proofs: the interactive bisection game over a batch's execution trace, its one-step
//! proof, and the non-interactive proofs of the design (`INVALID_SIGNATURE`,
//! `INVALID_TRANSACTION`, `TIMESTAMP_MANIPULATION`, `DOUBLE_SPEND`, `DATA_WITHHOLDING`).
//!
//! Everything here is pure: the L1 rules that lock bonds, run clocks, slash and revert live in
//! `verifier::l1` (`L1Op::OpenChallenge` and the following operations) and call into this
//! module.
//!
//! **The trace of a batch** is the list of state roots `r₀ … r_N`: `r₀` is the batch's
//! `preStateRoot`, and `r_{i+1}` is the root after step `i`, the steps being those of
//! [`crate::stf::block_steps`] for every block of the batch in order (its L1 messages, its
//! transactions, the block end). `r_N` is the batch's `postStateRoot`. Step `i` runs in the
//! context of its block ([`BatchData::context`]): the block's number, timestamp and producer, and
//! as other sequencers the chain's active sequencers at posting (registry order) without the
//! producer.
//!
//! **The game** ([`Game`]): the challenger disputes `r_N`. The state is an agreed pair
//! `(lo, r_lo)` and a disputed pair `(hi, r_hi)`, starting at `(0, preStateRoot)` and
//! `(N, postStateRoot)`. While `hi − lo > 1` the defender reveals its root at
//! `mid = lo + (hi − lo) / 2` and the challenger agrees (`lo := mid`) or disagrees (`hi := mid`);
//! that is ⌈log₂ N⌉ rounds. Then step `lo` is checked by a one-step proof: its
//! [`StepWitness`] against `r_lo`, run by [`crate::stf::execute_step_stateless`]. A post-root
//! other than `r_hi`, or a step that is invalid (`InvalidTransaction`, an L1 message out of
//! order), proves the fraud; the same root means the challenge failed; a witness that does not
//! verify or misses a node is refused and changes nothing. Each side has a chess clock of
//! L1 blocks; the side to move that lets it run out loses.

mod evidence;
mod game;
mod strategy;
#[cfg(test)]
mod tests;

pub use evidence::{verify_evidence, FraudEvidence, FraudKind};
pub use game::{max_rounds, Game, GamePhase, GameResult, Side};
pub use strategy::{find_evidence, find_evidence_with_senders, honest_move, judge_batch, Move};

use crate::da::{decode_blocks, decompress_batch, DaParams};
use crate::hash::{Address, H256};
use crate::keys::PublicKey;
use crate::params::ChainParams;
use crate::settlement::{Anchor, L1Error};
use crate::smt::{NodeStore, SparseMerkleTree};
use crate::stf::{
    block_steps, build_step_witness, execute_block_steps, execute_block_steps_with_senders,
    execute_step, BlockContext, BlockSenders, Overlay, Step, StepWitness, StfError,
};
use crate::types::{L1Message, L2Block};

/// Share of every slash that goes to the challenger who proved the fraud, in percent (the rest
/// is burned).
pub const CHALLENGER_REWARD_PCT: i64 = 50;

/// Everything the L1 holds about one anchored batch that the fraud proofs need: its blocks
/// (decoded from the anchored payload), the L1 messages each block consumed, and the sequencer
/// set at posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchData {
    /// The chain id.
    pub chain_id: u64,
    /// The batch's `preStateRoot` (`r₀`).
    pub pre_state_root: H256,
    /// The batch's `postStateRoot` (`r_N`).
    pub post_state_root: H256,
    /// The blocks, in order.
    pub blocks: Vec<L2Block>,
    /// The L1 messages each block applies, one list per block.
    pub messages: Vec<Vec<L1Message>>,
    /// Active sequencers at posting (registry order) with their keys.
    pub sequencers: Vec<(Address, PublicKey)>,
    /// L1 time (tip time) when the batch was posted.
    pub l1_time: u64,
    /// Timestamp of the last block of the previous anchor, if there is one.
    pub prev_timestamp: Option<u64>,
    /// The chain's `maxTimestampDrift` (seconds).
    pub max_timestamp_drift: u64,
    /// The chain's state rent parameters (`stateRentRate`, `blockTimeMs`).
    pub rent: crate::stf::rules::RentParams,
}

impl BatchData {
    /// The batch data of `anchor` as anyone can rebuild it from L1 data alone: its payload
    /// (decompressed and decoded; needs zstd), `messages` = the queue's messages
    /// `messagesStart..messagesEnd`, the previous anchor (for its last block's timestamp) and
    /// the chain's parameters.
    pub fn from_anchor(
        chain_id: u64,
        anchor: &Anchor,
        prev: Option<&Anchor>,
        messages: &[L1Message],
        params: &ChainParams,
    ) -> Result<BatchData, L1Error> {
        let bytes = decompress_batch(&anchor.payload, &DaParams::default())
            .map_err(crate::settlement::da_error)?;
        let blocks = decode_blocks(&bytes).map_err(|e| L1Error::BatchInvalid(e.to_string()))?;
        let expected = anchor.messages_end.saturating_sub(anchor.messages_start);
        if messages.len() as u64 != expected {
            return Err(L1Error::MessagesMismatch(format!(
                "anchor {} consumed {expected} messages, {} given",
                anchor.index,
                messages.len()
            )));
        }
        let messages = BatchData::split_messages(&blocks, messages)?;
        Ok(BatchData {
            chain_id,
            pre_state_root: anchor.header.pre_state_root,
            post_state_root: anchor.header.post_state_root,
            blocks,
            messages,
            sequencers: anchor.sequencers.clone(),
            l1_time: anchor.l1_time,
            prev_timestamp: prev.map(|p| p.last_timestamp),
            max_timestamp_drift: params.max_timestamp_drift,
            rent: crate::stf::rules::RentParams::of(params),
        })
    }

    /// Split `messages` (the consumed queue range, in order) over the blocks by their
    /// `l1MessageHashes`, checking every hash.
    pub fn split_messages(
        blocks: &[L2Block],
        messages: &[L1Message],
    ) -> Result<Vec<Vec<L1Message>>, L1Error> {
        let mut out = Vec::with_capacity(blocks.len());
        let mut it = messages.iter();
        for b in blocks {
            let mut mine = Vec::with_capacity(b.l1_message_hashes.len());
            for h in &b.l1_message_hashes {
                match it.next() {
                    Some(m) if m.hash() == *h => mine.push(m.clone()),
                    _ => {
                        return Err(L1Error::MessagesMismatch(format!(
                            "block {} consumes {h}, not the next recorded message",
                            b.header.block_number
                        )))
                    }
                }
            }
            out.push(mine);
        }
        if it.next().is_some() {
            return Err(L1Error::MessagesMismatch(
                "the blocks consume fewer messages than recorded".into(),
            ));
        }
        Ok(out)
    }

    /// Number of steps `N` (the trace has `N + 1` roots).
    pub fn step_count(&self) -> u64 {
        step_count(&self.blocks)
    }

    /// The context of block `block` (position in the batch).
    pub fn context(&self, block: usize) -> Option<BlockContext> {
        let b = self.blocks.get(block)?;
        Some(BlockContext {
            chain_id: self.chain_id,
            number: b.header.block_number,
            timestamp: b.header.timestamp,
            producer: b.header.sequencer,
            other_sequencers: self
                .sequencers
                .iter()
                .map(|(a, _)| *a)
                .filter(|a| *a != b.header.sequencer)
                .collect(),
            rent: self.rent,
        })
    }

    /// Which block holds step `index`, and the step's position in that block.
    pub fn locate(&self, index: u64) -> Option<(usize, usize)> {
        let mut left = index;
        for (i, b) in self.blocks.iter().enumerate() {
            let n = block_len(b);
            if left < n {
                return Some((i, usize::try_from(left).ok()?));
            }
            left -= n;
        }
        None
    }

    /// Step `index` of the trace with its block context.
    pub fn step(&self, index: u64) -> Result<(Step, BlockContext), L1Error> {
        let no_step = || {
            L1Error::FraudProofInvalid(format!(
                "the batch has {} steps, no step {index}",
                self.step_count()
            ))
        };
        let (bi, pos) = self.locate(index).ok_or_else(no_step)?;
        let block = self.blocks.get(bi).ok_or_else(no_step)?;
        let msgs = self.messages.get(bi).ok_or_else(no_step)?;
        let ctx = self.context(bi).ok_or_else(no_step)?;
        let step = block_steps(block, msgs)
            .into_iter()
            .nth(pos)
            .ok_or_else(no_step)?;
        Ok((step, ctx))
    }

    /// Index of the first step of block `block` in the trace.
    pub fn first_step_of(&self, block: usize) -> u64 {
        self.blocks
            .iter()
            .take(block)
            .fold(0u64, |t, b| t.saturating_add(block_len(b)))
    }

    /// Every step of the batch with its context, in trace order.
    pub fn steps(&self) -> Vec<(Step, BlockContext)> {
        let mut out = Vec::new();
        for (i, (b, msgs)) in self.blocks.iter().zip(&self.messages).enumerate() {
            if let Some(ctx) = self.context(i) {
                out.extend(block_steps(b, msgs).into_iter().map(|s| (s, ctx.clone())));
            }
        }
        out
    }
}

/// Steps of one block: its messages, its transactions and the block end.
fn block_len(b: &L2Block) -> u64 {
    (b.l1_message_hashes.len() as u64)
        .saturating_add(b.transactions.len() as u64)
        .saturating_add(1)
}

/// Number of steps of a batch made of `blocks`.
pub fn step_count(blocks: &[L2Block]) -> u64 {
    blocks
        .iter()
        .fold(0u64, |t, b| t.saturating_add(block_len(b)))
}

/// The honest trace of `batch` as the challenger computes it: `tree` must be at the batch's
/// pre-state root; returns `r₀ …` up to the last valid step, and the error of the first invalid
/// step if there is one (then the trace is shorter than `N + 1` and every later root is
/// disputed). The tree keeps every intermediate root, so [`honest_witness`] can prove any step.
pub fn honest_trace<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    batch: &BatchData,
) -> Result<(Vec<H256>, Option<StfError>), StfError> {
    let mut roots = vec![tree.root()];
    for (step, ctx) in batch.steps() {
        let res = {
            let mut ov = Overlay::new(tree);
            execute_step(&mut ov, &step, &ctx, None).map(|_| ov.into_parts())
        };
        match res {
            Ok((writes, nodes)) => roots.push(crate::stf::apply_parts(tree, writes, nodes)?),
            Err(
                e @ (StfError::InvalidTransaction { .. } | StfError::L1MessageOutOfOrder { .. }),
            ) => return Ok((roots, Some(e))),
            Err(e) => return Err(e),
        }
    }
    Ok((roots, None))
}

/// The transaction hashes and recovered senders of a batch, block by block, as the fraud
/// screening computed them ([`find_evidence_with_senders`]), for
/// [`replay_batch_with_senders`]. A block without them (the screening stopped early, or
/// [`Senders::default`]) has its senders recovered by the replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Senders {
    blocks: Vec<BlockSenders>,
}

impl Senders {
    /// Recover the senders of every block of `batch` (each block in parallel).
    pub fn recover(batch: &BatchData) -> Senders {
        Senders {
            blocks: batch.blocks.iter().map(BlockSenders::recover).collect(),
        }
    }

    /// Those of block `block` (position in the batch), if known.
    pub fn block(&self, block: usize) -> Option<&BlockSenders> {
        self.blocks.get(block)
    }
}

/// Re-execute `batch` block by block, as fast as the trace allows: the steps of each block
/// ([`crate::stf::execute_block_steps`]: the trace's steps, senders recovered in parallel, one
/// tree update per block). `tree` must be at the batch's pre-state root. `Ok(true)` when every
/// block's `stateRoot` and the batch's `postStateRoot` are what execution gives, and no step
/// is invalid; then the tree is left at the post-state root. `Ok(false)` otherwise (compute the
/// [`honest_trace`] to find the step); the tree is then left at some root of the batch.
pub fn replay_batch<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    batch: &BatchData,
) -> Result<bool, StfError> {
    replay_batch_with_senders(tree, batch, &Senders::default())
}

/// [`replay_batch`] with the senders the screening already recovered
/// ([`find_evidence_with_senders`]), so that no signature is recovered twice
/// ([`crate::stf::execute_block_steps_with_senders`]). Same result as [`replay_batch`].
pub fn replay_batch_with_senders<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    batch: &BatchData,
    senders: &Senders,
) -> Result<bool, StfError> {
    for i in 0..batch.blocks.len() {
        if !replay_block(tree, batch, i, senders.block(i))? {
            return Ok(false);
        }
    }
    Ok(tree.root() == batch.post_state_root)
}

/// Replay block `i` of `batch` on `tree` (with its senders when known): `Ok(true)` when it gives
/// the block's `stateRoot`, `Ok(false)` when it gives another or a step is invalid.
pub(crate) fn replay_block<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    batch: &BatchData,
    i: usize,
    senders: Option<&BlockSenders>,
) -> Result<bool, StfError> {
    let (Some(block), Some(msgs), Some(ctx)) =
        (batch.blocks.get(i), batch.messages.get(i), batch.context(i))
    else {
        return Ok(false);
    };
    let out = match senders {
        Some(s) => execute_block_steps_with_senders(tree, block, &ctx, msgs, s),
        None => execute_block_steps(tree, block, &ctx, msgs),
    };
    match out {
        Ok(out) => Ok(out.state_root == block.header.state_root),
        Err(
            StfError::InvalidTransaction { .. }
            | StfError::L1MessageOutOfOrder { .. }
            | StfError::BlockInvalid(_),
        ) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The witness of step `index` at `pre_root` from a tree that holds that root (the challenger's
/// one-step proof).
pub fn honest_witness<S: NodeStore>(
    tree: &SparseMerkleTree<S>,
    batch: &BatchData,
    index: u64,
    pre_root: H256,
) -> Result<StepWitness, L1Error> {
    let (step, ctx) = batch.step(index)?;
    build_step_witness(tree, pre_root, &step, &ctx)
        .map(|(w, _)| w)
        .or_else(|e| match e {
            // An invalid step still needs the state it reads: prove the keys its sender and
            // the queue cursor live under.
            StfError::InvalidTransaction { .. } | StfError::L1MessageOutOfOrder { .. } => {
                invalid_step_witness(tree, &step, pre_root)
            }
            e => Err(L1Error::FraudProofInvalid(e.to_string())),
        })
}

/// A witness for a step that fails: the keys such a step reads (the sender's account, the
/// queue cursor).
fn invalid_step_witness<S: NodeStore>(
    tree: &SparseMerkleTree<S>,
    step: &Step,
    pre_root: H256,
) -> Result<StepWitness, L1Error> {
    let mut keys = vec![crate::stf::queue_key()];
    if let Step::Tx { tx } = step {
        keys.push(tx.from.tree_key());
    }
    let proof = tree
        .prove_multi_at(pre_root, &keys)
        .map_err(|e| L1Error::FraudProofInvalid(e.to_string()))?;
    Ok(StepWitness {
        proof,
        storage: Vec::new(),
    })
}

/// Serde of a codec type as a hex string of its serialization.
pub mod serde_codec {
    use crate::codec::{Decode, Encode};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize as hex.
    pub fn serialize<T: Encode, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v.encode()))
    }

    /// Deserialize from hex.
    pub fn deserialize<'de, T: Decode, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
        T::decode(&bytes).map_err(serde::de::Error::custom)
    }
}
