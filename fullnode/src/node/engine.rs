//! The node's deterministic core: the final chain and its state, the mempool, and the
//! consensus round of the next height. No I/O but the node's own databases and no clock: time
//! (`now_ms`) and the L1 view come in as arguments, and every message to send comes out as an
//! [`Outgoing`] for the network layer.
//!
//! One round per height `h = head + 1` (see `docs/protocol.md`, "Sequencer node"):
//! 1. The leader of `h` at `now` ([`casl2_verifier::consensus::leader_now`] over the slot's
//!    election) proposes a block: its own sealed block, or — if it knows a proposal for `h` that
//!    someone accepted — that one again (so a lock taken under a failed leader is not stranded).
//! 2. Every sequencer validates a proposal by re-execution ([`stf::verify_block`]) and by the
//!    consensus rules (producer's turn, signature, L1 anchor, queue messages) and sends a signed
//!    ACCEPT (with its block signature) or REJECT vote with the reason. A sequencer accepts at
//!    most one block per height, recorded durably before the vote leaves (its lock).
//! 3. ACCEPT votes worth the chain's threshold of the set's weight make the block final: its
//!    signatures are the quorum certificate; it is stored and broadcast as a commit.

use super::chain::{ChainStore, MyVote};
use super::l1view::L1View;
use super::mempool::{Mempool, MempoolConfig, MempoolError, SenderState};
use crate::RedbNodeStore;
use casl2_verifier::consensus::{
    check_producer, elect_leader, election_seed_from_hash, election_seed_l1_height,
    find_double_signs, leader_now, slot_of_block, verify_block_quorum, DoubleSignEvidence,
    LastBlock, LeaderElectionResult, LeaderTurn, SequencerSet, VoteTally,
};
use casl2_verifier::da::{
    compress_batch, encode_payload, serialize_blocks, DACommitment, DaParams,
};
use casl2_verifier::hash::merkle_root;
use casl2_verifier::l1::L2ChainInfo;
use casl2_verifier::params::ChainParams;
use casl2_verifier::smt::SparseMerkleTree;
use casl2_verifier::stf::{self, queue_cursor, BlockEnv, Overlay, Receipt};
use casl2_verifier::types::L1Message;
use casl2_verifier::{
    Address, BatchHeader, BlockSignature, Encode, L2Block, L2BlockHeader, L2Transaction,
    PrivateKey, Vote, VoteType, H256,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Serialized size above which a block is refused: every block must fit in one batch posted to
/// L1 (128 KiB compressed; transfers compress to about 70 %).
pub const MAX_BLOCK_BYTES: usize = 120 * 1024;
/// Most L1 messages one block applies.
pub const MAX_BLOCK_MESSAGES: usize = 256;
/// A proposal dated more than this ahead of the receiver's clock is refused (ms).
pub const MAX_FUTURE_MS: u64 = 2_000;
/// An empty block is produced at most this often when there is nothing to include (ms).
pub const IDLE_BLOCK_MS: u64 = 1_000;
/// Version written in batch headers.
pub const BATCH_VERSION: u32 = 1;

/// Why the engine refused something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// A block or message that breaks a rule (the reason names it).
    #[error("{0}")]
    Invalid(String),
    /// Not decidable yet (an L1 block or a parent not seen yet).
    #[error("not yet: {0}")]
    NotYet(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(String),
}

fn storage(e: impl std::fmt::Display) -> EngineError {
    EngineError::Storage(e.to_string())
}

/// A message for the network layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Outgoing {
    /// A block proposal (with the producer's signature).
    Proposal {
        /// The block.
        block: Box<L2Block>,
    },
    /// A vote, with the voter's block signature when it accepts.
    Vote {
        /// The height voted on.
        height: u64,
        /// The vote.
        vote: Vote,
        /// The block signature that goes into the quorum certificate.
        signature: Option<BlockSignature>,
    },
    /// A final block with its quorum signatures.
    Commit {
        /// The block.
        block: Box<L2Block>,
    },
    /// Transactions users submitted to one node, relayed once to the others' mempools.
    Transactions {
        /// The transactions.
        txs: Vec<L2Transaction>,
    },
}

/// A batch ready to be signed and posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    /// The header.
    pub header: BatchHeader,
    /// Its DA commitment.
    pub commitment: DACommitment,
    /// The compressed payload.
    pub payload: Vec<u8>,
}

/// A proposal received for the current height.
#[derive(Debug, Clone)]
struct Proposal {
    block: L2Block,
    /// `Some(Ok)` after a successful validation (the post-state root), `Some(Err)` with the
    /// reason after a failed one, `None` while undecidable.
    verdict: Option<Result<(H256, Vec<Receipt>), String>>,
}

/// The consensus state of one height.
#[derive(Debug)]
struct Round {
    height: u64,
    slot: u64,
    set: SequencerSet,
    election: LeaderElectionResult,
    slot_start_ms: u64,
    last_block: Option<LastBlock>,
    proposals: HashMap<H256, Proposal>,
    tally: VoteTally,
    signatures: BTreeMap<H256, BTreeMap<Address, BlockSignature>>,
    my_vote: Option<H256>,
    proposed_turns: Vec<u64>,
    /// This node's vote message and own proposal, re-sent while the round lasts.
    resend: Vec<Outgoing>,
    last_resend_ms: u64,
}

/// Messages for heights above the current round kept for later (bounded).
const MAX_FUTURE: usize = 4_096;
/// How far ahead of the current height messages are kept.
const FUTURE_HEIGHTS: u64 = 4;
/// Interval of re-sending this node's proposal and vote while a round lasts (ms).
const RESEND_MS: u64 = 1_000;

/// Counters the node exports on `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStats {
    /// Transactions included in final blocks.
    pub transactions: u64,
    /// Blocks this node proposed.
    pub proposed: u64,
    /// Rounds in which this node voted.
    pub votes: u64,
    /// Failover turns taken (blocks produced by another than the turn-0 leader).
    pub failovers: u64,
    /// Proposals rejected.
    pub rejected: u64,
    /// Conflicting votes seen (`CONSENSUS_CONFLICTING`).
    pub conflicting_votes: u64,
    /// Reverts after L1 reorganisations (Property 20).
    pub reverts: u64,
}

/// The node's core.
#[derive(Debug)]
pub struct Engine {
    chain_id: u64,
    key: Option<PrivateKey>,
    tree: SparseMerkleTree<RedbNodeStore>,
    chain: ChainStore,
    head: Option<L2BlockHeader>,
    /// The mempool.
    pub mempool: Mempool,
    round: Option<Round>,
    max_block_txs: usize,
    /// Double-sign evidence seen (offender's two signed blocks at one height).
    pub evidence: Vec<DoubleSignEvidence>,
    /// Counters.
    pub stats: EngineStats,
    /// When the last block became final here (ms).
    pub last_final_ms: u64,
    future: Vec<Outgoing>,
    /// The `--dishonest` option (regtest only; see [`super::dishonest`]).
    pub dishonest: Option<super::dishonest::Dishonest>,
}

/// The chain's parameters from the L1 view, or "not yet".
pub fn params_of(view: &L1View) -> Result<&ChainParams, EngineError> {
    view.chain
        .as_ref()
        .map(|c| &c.params)
        .ok_or_else(|| EngineError::NotYet("the chain is not registered on L1".into()))
}

impl Engine {
    /// Open the engine over its databases; the tree goes to the stored head's state root.
    pub fn open(
        chain_id: u64,
        key: Option<PrivateKey>,
        tree_store: RedbNodeStore,
        chain: ChainStore,
        mempool: MempoolConfig,
        max_block_txs: usize,
    ) -> Result<Engine, EngineError> {
        let head_n = chain.head().map_err(storage)?;
        let head = match head_n {
            0 => None,
            n => Some(
                chain
                    .block(n)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("head block {n} missing")))?
                    .header,
            ),
        };
        let root = head
            .as_ref()
            .map(|h| h.state_root)
            .unwrap_or_else(casl2_verifier::smt::empty_root);
        let tree = SparseMerkleTree::with_root(tree_store, root).map_err(storage)?;
        Ok(Engine {
            chain_id,
            key,
            tree,
            chain,
            head,
            mempool: Mempool::new(chain_id, mempool),
            round: None,
            max_block_txs,
            evidence: Vec::new(),
            stats: EngineStats::default(),
            last_final_ms: 0,
            future: Vec::new(),
            dishonest: None,
        })
    }

    /// This node's sequencer address (`None` for a follower).
    pub fn address(&self) -> Option<Address> {
        self.key.as_ref().map(PrivateKey::address)
    }

    /// The newest final block's header.
    pub fn head(&self) -> Option<&L2BlockHeader> {
        self.head.as_ref()
    }

    /// The newest final block's number (0: genesis).
    pub fn height(&self) -> u64 {
        self.head.as_ref().map_or(0, |h| h.block_number)
    }

    /// The state tree at the head.
    pub fn tree(&self) -> &SparseMerkleTree<RedbNodeStore> {
        &self.tree
    }

    /// The chain database.
    pub fn chain(&self) -> &ChainStore {
        &self.chain
    }

    /// The account state of `a` at the head.
    pub fn account(&self, a: &Address) -> Result<casl2_verifier::AccountState, EngineError> {
        Overlay::new(&self.tree).account(a).map_err(storage)
    }

    fn sender_state(&self, a: &Address) -> SenderState {
        let st = self.account(a).unwrap_or_default();
        SenderState {
            nonce: st.nonce,
            balance: st.balance,
            hat_score: st.hat_score,
        }
    }

    /// Admit a transaction to the mempool.
    pub fn submit(&mut self, tx: L2Transaction) -> Result<H256, MempoolError> {
        let st = self.sender_state(&tx.from);
        self.mempool.insert(tx, |_| st)
    }

    /// Leader and turn for the next height at `now_ms` (for RPC and the leader check).
    pub fn leader(&mut self, view: &L1View, now_ms: u64) -> Result<LeaderTurn, EngineError> {
        self.ensure_round(view)?;
        let r = self.round.as_ref().expect("round ensured");
        let timeout = params_of(view)?.leader_timeout_ms;
        leader_now(&r.election, r.slot_start_ms, r.last_block, now_ms, timeout)
            .map_err(|e| EngineError::Invalid(e.to_string()))
    }

    /// The slot of the next height, its set and election.
    pub fn election(&mut self, view: &L1View) -> Result<(u64, LeaderElectionResult), EngineError> {
        self.ensure_round(view)?;
        let r = self.round.as_ref().expect("round ensured");
        Ok((r.slot, r.election.clone()))
    }

    /// Build the round of `head + 1` if there is none (or the L1 view now allows it).
    fn ensure_round(&mut self, view: &L1View) -> Result<(), EngineError> {
        let h = self.height() + 1;
        if self.round.as_ref().is_some_and(|r| r.height == h) {
            return Ok(());
        }
        let params = params_of(view)?;
        let info = view.chain.as_ref().expect("checked by params_of");
        let bpl = params.blocks_per_leader.max(1);
        let slot = slot_of_block(h, bpl).map_err(|e| EngineError::Invalid(e.to_string()))?;
        // The L1 height that fixes the slot's set and seed: the anchor of the block before the
        // slot (none for slot 0: the whole registry and L1 block 0).
        let prev_last = (slot * bpl).checked_sub(1).filter(|n| *n >= 1);
        let (membership, seed_cap, slot_start_ms) = match prev_last {
            Some(n) => {
                let b = self
                    .chain
                    .block(n)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?;
                (
                    Some(b.header.l1_anchor_block),
                    b.header.l1_anchor_block,
                    b.header.timestamp,
                )
            }
            None => {
                let act = info.activated_at.unwrap_or(0);
                let t = view
                    .block(act)
                    .ok_or_else(|| EngineError::NotYet(format!("L1 block {act} unknown")))?
                    .1;
                (None, 0, t.saturating_mul(1000))
            }
        };
        let set = view
            .set_at(membership)
            .eligible(params.min_sequencer_stake, params.min_sequencer_hat);
        if set.is_empty() {
            return Err(EngineError::NotYet(format!(
                "no eligible sequencer for slot {slot}"
            )));
        }
        let seed_h = election_seed_l1_height(slot, bpl).min(seed_cap);
        let (seed_hash, _) = view
            .block(seed_h)
            .ok_or_else(|| EngineError::NotYet(format!("L1 block {seed_h} unknown")))?;
        let seed = election_seed_from_hash(slot, &seed_hash, self.chain_id);
        let election = elect_leader(slot, &set.infos(), &seed, bpl)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let last_block = self
            .head
            .as_ref()
            .filter(|p| p.block_number >= slot * bpl)
            .map(|p| LastBlock {
                producer: p.sequencer,
                time_ms: p.timestamp,
            });
        let my_vote = self
            .chain
            .my_vote(h)
            .map_err(storage)?
            .map(|v| v.block_hash);
        self.round = Some(Round {
            height: h,
            slot,
            set,
            election,
            slot_start_ms,
            last_block,
            proposals: HashMap::new(),
            tally: VoteTally::new(slot, h),
            signatures: BTreeMap::new(),
            my_vote,
            proposed_turns: Vec::new(),
            resend: Vec::new(),
            last_resend_ms: 0,
        });
        Ok(())
    }

    /// The messages the next block must apply: the queue entries from the state's cursor whose
    /// L1 block is at most `anchor`.
    fn due_messages(&self, view: &L1View, anchor: u64) -> Result<Vec<L1Message>, EngineError> {
        let (next, _) = queue_cursor(&self.tree).map_err(storage)?;
        Ok(view
            .queue
            .iter()
            .skip(usize::try_from(next).unwrap_or(usize::MAX))
            .take_while(|q| q.message.l1_block <= anchor)
            .take(MAX_BLOCK_MESSAGES)
            .map(|q| q.message.clone())
            .collect())
    }

    /// The L1 messages `block` claims, looked up in the queue from the state's cursor.
    fn block_messages(
        &self,
        view: &L1View,
        block: &L2Block,
    ) -> Result<Vec<L1Message>, EngineError> {
        let (next, _) = queue_cursor(&self.tree).map_err(storage)?;
        let mut out = Vec::with_capacity(block.l1_message_hashes.len());
        for (i, h) in block.l1_message_hashes.iter().enumerate() {
            let idx = next as usize + i;
            let q = view.queue.get(idx).ok_or_else(|| {
                EngineError::NotYet(format!("L1 queue message {idx} not seen yet"))
            })?;
            if q.hash != *h {
                return Err(EngineError::Invalid(format!(
                    "l1MessageHashes[{i}] is {h}, queue message {idx} is {}",
                    q.hash
                )));
            }
            if q.message.l1_block > block.header.l1_anchor_block {
                return Err(EngineError::Invalid(format!(
                    "queue message {idx} is from L1 block {}, after the block's L1 anchor {}",
                    q.message.l1_block, block.header.l1_anchor_block
                )));
            }
            out.push(q.message.clone());
        }
        Ok(out)
    }

    /// The other active sequencers (registry order, producer excluded): the fee pool's payees,
    /// the same list fraud proofs use (the L1's active set at posting).
    fn others(view: &L1View, producer: &Address) -> Vec<Address> {
        view.set_at(None)
            .members()
            .iter()
            .map(|m| m.info.address)
            .filter(|a| a != producer)
            .collect()
    }

    /// One tick of the leader: propose if this node leads `head + 1` now and has not proposed
    /// in this turn. Returns the messages to send.
    pub fn tick(&mut self, view: &L1View, now_ms: u64) -> Result<Vec<Outgoing>, EngineError> {
        let Some(key) = self.key.clone() else {
            return Ok(Vec::new());
        };
        let turn = self.leader(view, now_ms)?;
        if turn.leader != key.address() {
            return Ok(Vec::new());
        }
        let params = params_of(view)?.clone();
        let parent_ts = self.head.as_ref().map_or(0, |h| h.timestamp);
        if now_ms < parent_ts.saturating_add(params.block_time_ms) {
            return Ok(Vec::new());
        }
        let r = self.round.as_ref().expect("round ensured");
        if r.proposed_turns.contains(&turn.turn) {
            return Ok(Vec::new());
        }
        // Re-propose a block someone accepted at this height (the one with the most weight).
        let accepted = r
            .proposals
            .values()
            .filter(|p| {
                r.tally.weights(&p.block.hash()).accept > 0 || r.my_vote == Some(p.block.hash())
            })
            .max_by_key(|p| r.tally.weights(&p.block.hash()).accept)
            .map(|p| p.block.clone());
        let mut out = Vec::new();
        let block = match accepted {
            Some(b) => b,
            None => {
                if r.my_vote.is_some() {
                    // Locked on a block this node no longer has: it cannot propose another.
                    return Ok(Vec::new());
                }
                // One L1 confirmation; never below the chain's registration or the parent's.
                let deployed = view.chain.as_ref().map_or(0, |c| c.deployment_block);
                let anchor = view
                    .tip
                    .saturating_sub(1)
                    .max(deployed)
                    .max(self.head.as_ref().map_or(0, |h| h.l1_anchor_block));
                let messages = self.due_messages(view, anchor)?;
                let txs = self.mempool.select(
                    |a| self.sender_state(a),
                    self.max_block_txs,
                    params.block_gas_limit,
                );
                if txs.is_empty()
                    && messages.is_empty()
                    && now_ms < parent_ts.saturating_add(IDLE_BLOCK_MS)
                {
                    return Ok(Vec::new());
                }
                self.build_block(view, &params, &key, anchor, messages, txs, now_ms, r.slot)?
            }
        };
        let r = self.round.as_mut().expect("round ensured");
        r.proposed_turns.push(turn.turn);
        r.resend.retain(|m| !matches!(m, Outgoing::Proposal { .. }));
        r.resend.push(Outgoing::Proposal {
            block: Box::new(block.clone()),
        });
        self.stats.proposed += 1;
        out.push(Outgoing::Proposal {
            block: Box::new(block.clone()),
        });
        out.extend(self.on_proposal(view, block, now_ms)?);
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn build_block(
        &mut self,
        view: &L1View,
        params: &ChainParams,
        key: &PrivateKey,
        anchor: u64,
        messages: Vec<L1Message>,
        mut txs: Vec<L2Transaction>,
        now_ms: u64,
        slot: u64,
    ) -> Result<L2Block, EngineError> {
        let (anchor_hash, anchor_time) = view
            .block(anchor)
            .ok_or_else(|| EngineError::NotYet(format!("L1 block {anchor} unknown")))?;
        let parent_ts = self.head.as_ref().map_or(0, |h| h.timestamp);
        let me = key.address();
        let others = Self::others(view, &me);
        loop {
            let mut block = L2Block::default();
            let h = &mut block.header;
            h.block_number = self.height() + 1;
            h.parent_hash = self.head.as_ref().map_or(H256::ZERO, |p| p.hash());
            h.sequencer = me;
            h.timestamp = now_ms.max(parent_ts + 1);
            h.gas_limit = params.block_gas_limit;
            h.l2_chain_id = self.chain_id;
            h.l1_anchor_block = anchor;
            h.l1_anchor_hash = anchor_hash;
            h.slot_number = slot;
            block.transactions = txs.clone();
            let pre = self.tree.root();
            let parent = self.head.clone();
            let env = BlockEnv {
                params,
                chain_id: self.chain_id,
                messages: &messages,
                other_sequencers: &others,
                parent: parent.as_ref(),
                l1_anchor_time: anchor_time,
            };
            let res = stf::seal_block(&mut self.tree, &mut block, &env);
            self.tree.revert_to(pre).map_err(storage)?;
            match res {
                Ok(_) if block.encode().len() <= MAX_BLOCK_BYTES => {
                    block
                        .sign(key, now_ms / 1000)
                        .map_err(|e| EngineError::Invalid(e.to_string()))?;
                    return Ok(block);
                }
                Ok(_) => {
                    txs.truncate(txs.len() / 2);
                }
                Err(stf::StfError::InvalidTransaction { hash, reason }) => {
                    // Drop the offender from the block and the pool, and try again.
                    txs.retain(|t| t.hash() != hash);
                    if let Some(t) = self.mempool.get(&hash) {
                        self.mempool.remove_included(&[t]);
                    }
                    tracing_log(&format!("dropped transaction {hash}: {reason}"));
                }
                Err(stf::StfError::RateLimit { address, .. }) => {
                    txs.retain(|t| t.from != address);
                }
                Err(e) => return Err(EngineError::Invalid(e.to_string())),
            }
        }
    }

    fn keep_future(&mut self, height: u64, msg: Outgoing) {
        if height <= self.height() + FUTURE_HEIGHTS && self.future.len() < MAX_FUTURE {
            self.future.push(msg);
        }
    }

    /// Process the kept messages of the (new) current height; returns what to send.
    pub fn replay_future(&mut self, view: &L1View, now_ms: u64) -> Vec<Outgoing> {
        let next = self.height() + 1;
        let height_of = |m: &Outgoing| match m {
            Outgoing::Proposal { block } | Outgoing::Commit { block } => block.header.block_number,
            Outgoing::Vote { height, .. } => *height,
            Outgoing::Transactions { .. } => 0,
        };
        self.future.retain(|m| height_of(m) >= next);
        let (ready, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.future)
            .into_iter()
            .partition(|m| height_of(m) == next);
        self.future = later;
        let mut out = Vec::new();
        for m in ready {
            let r = match m {
                Outgoing::Proposal { block } => self.on_proposal(view, *block, now_ms),
                Outgoing::Vote {
                    height,
                    vote,
                    signature,
                } => self.on_vote(view, vote, signature, height, now_ms),
                Outgoing::Commit { block } => {
                    self.on_commit(view, *block, now_ms).map(|_| Vec::new())
                }
                Outgoing::Transactions { .. } => Ok(Vec::new()),
            };
            if let Ok(o) = r {
                out.extend(o);
            }
        }
        out
    }

    /// This node's proposal and vote of the current round, once per [`RESEND_MS`] (lost
    /// messages and healed partitions).
    pub fn rebroadcast(&mut self, now_ms: u64) -> Vec<Outgoing> {
        match self.round.as_mut() {
            Some(r) if !r.resend.is_empty() && now_ms >= r.last_resend_ms + RESEND_MS => {
                if r.last_resend_ms == 0 {
                    r.last_resend_ms = now_ms;
                    return Vec::new();
                }
                r.last_resend_ms = now_ms;
                r.resend.clone()
            }
            _ => Vec::new(),
        }
    }

    /// Validate `block` as the proposal of the current height (without committing it).
    fn validate(
        &mut self,
        view: &L1View,
        block: &L2Block,
        now_ms: u64,
    ) -> Result<(H256, Vec<Receipt>), EngineError> {
        let params = params_of(view)?.clone();
        let r = self.round.as_ref().expect("round ensured");
        let h = &block.header;
        if h.block_number != r.height {
            return Err(EngineError::Invalid(format!(
                "block {} proposed at height {}",
                h.block_number, r.height
            )));
        }
        if h.slot_number != r.slot {
            return Err(EngineError::Invalid(format!(
                "slotNumber {} in a block of slot {}",
                h.slot_number, r.slot
            )));
        }
        if h.timestamp > now_ms.saturating_add(MAX_FUTURE_MS) {
            return Err(EngineError::NotYet(format!(
                "timestamp {} is ahead of this node's clock {now_ms}",
                h.timestamp
            )));
        }
        check_producer(
            &r.election,
            &h.sequencer,
            r.slot_start_ms,
            r.last_block,
            h.timestamp,
            params.leader_timeout_ms,
        )
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let producer_key = r
            .set
            .get(&h.sequencer)
            .map(|m| m.public_key)
            .ok_or_else(|| {
                EngineError::Invalid(format!("producer {} not in the set", h.sequencer))
            })?;
        let hash = block.hash();
        let signed = block
            .signatures
            .iter()
            .any(|s| s.sequencer == h.sequencer && s.verify(&hash, &producer_key).is_ok());
        if !signed {
            return Err(EngineError::Invalid(format!(
                "CONSENSUS_INVALID_VOTE: block {hash} lacks a valid signature of its producer {}",
                h.sequencer
            )));
        }
        let size = block.encode().len();
        if size > MAX_BLOCK_BYTES + 4096 {
            return Err(EngineError::Invalid(format!(
                "block of {size} bytes exceeds {MAX_BLOCK_BYTES}"
            )));
        }
        let parent_anchor = self.head.as_ref().map_or(0, |p| p.l1_anchor_block);
        if h.l1_anchor_block < parent_anchor {
            return Err(EngineError::Invalid(format!(
                "L1 anchor {} below the parent's {parent_anchor}",
                h.l1_anchor_block
            )));
        }
        let (anchor_hash, anchor_time) = view.block(h.l1_anchor_block).ok_or_else(|| {
            EngineError::NotYet(format!("L1 block {} not seen yet", h.l1_anchor_block))
        })?;
        if anchor_hash != h.l1_anchor_hash {
            return Err(EngineError::Invalid(format!(
                "l1AnchorHash {} is not L1 block {}'s {anchor_hash}",
                h.l1_anchor_hash, h.l1_anchor_block
            )));
        }
        let messages = self.block_messages(view, block)?;
        let others = Self::others(view, &h.sequencer);
        let pre = self.tree.root();
        let parent = self.head.clone();
        let env = BlockEnv {
            params: &params,
            chain_id: self.chain_id,
            messages: &messages,
            other_sequencers: &others,
            parent: parent.as_ref(),
            l1_anchor_time: anchor_time,
        };
        let out = stf::verify_block(&mut self.tree, block, &env);
        self.tree.revert_to(pre).map_err(storage)?;
        let out = out.map_err(|e| EngineError::Invalid(e.to_string()))?;
        Ok((out.state_root, out.receipts))
    }

    /// Handle a proposal for the current height: validate it and vote (at most one ACCEPT per
    /// height). Also detects a producer signing two blocks at one height.
    pub fn on_proposal(
        &mut self,
        view: &L1View,
        block: L2Block,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, EngineError> {
        let n = block.header.block_number;
        if n > self.height() + 1 {
            self.keep_future(
                n,
                Outgoing::Proposal {
                    block: Box::new(block),
                },
            );
            return Ok(Vec::new());
        }
        if n <= self.height() {
            return Ok(Vec::new());
        }
        self.ensure_round(view)?;
        let hash = block.hash();
        {
            let r = self.round.as_ref().expect("round ensured");
            // Double signing: another block of this height by the same producer.
            for p in r.proposals.values() {
                if p.block.header.sequencer == block.header.sequencer && p.block.hash() != hash {
                    let ev = find_double_signs(&p.block, &block);
                    for e in ev {
                        if !self.evidence.iter().any(|x| x.id() == e.id()) {
                            self.evidence.push(e);
                        }
                    }
                }
            }
            if r.proposals.get(&hash).is_some_and(|p| p.verdict.is_some()) {
                return self.try_commit(view, now_ms);
            }
        }
        let verdict = match self.validate(view, &block, now_ms) {
            Ok(v) => Some(Ok(v)),
            Err(EngineError::NotYet(_)) => None,
            Err(EngineError::Invalid(reason)) => Some(Err(reason)),
            Err(e) => return Err(e),
        };
        let r = self.round.as_mut().expect("round ensured");
        r.proposals.insert(
            hash,
            Proposal {
                block,
                verdict: verdict.clone(),
            },
        );
        let mut out = Vec::new();
        if let (Some(v), Some(key)) = (verdict, self.key.clone()) {
            if r.set.contains(&key.address()) && r.tally.vote_of(&key.address()).is_none() {
                let accept = v.is_ok() && r.my_vote.is_none_or(|m| m == hash);
                if accept || r.my_vote.is_none() {
                    let (vote_type, reason) = match &v {
                        Ok(_) if accept => (VoteType::Accept, String::new()),
                        Ok(_) => (VoteType::Abstain, "locked on another block".into()),
                        Err(reason) => (VoteType::Reject, truncate(reason, 200)),
                    };
                    if vote_type == VoteType::Reject {
                        self.stats.rejected += 1;
                        tracing_log(&format!("{:?}: REJECT {hash}: {reason}", key.address()));
                    }
                    if vote_type == VoteType::Accept {
                        self.chain
                            .record_vote(
                                r.height,
                                &MyVote {
                                    block_hash: hash,
                                    slot: r.slot,
                                },
                            )
                            .map_err(storage)?;
                        r.my_vote = Some(hash);
                    }
                    let mut vote = Vote {
                        block_hash: hash,
                        voter_address: key.address(),
                        vote: vote_type,
                        reject_reason: reason,
                        signature: Vec::new(),
                        timestamp: now_ms / 1000,
                        slot_number: r.slot,
                    };
                    vote.sign(&key)
                        .map_err(|e| EngineError::Invalid(e.to_string()))?;
                    let signature = if vote_type == VoteType::Accept {
                        Some(
                            BlockSignature::sign(&key, &hash, now_ms / 1000)
                                .map_err(|e| EngineError::Invalid(e.to_string()))?,
                        )
                    } else {
                        None
                    };
                    let height = r.height;
                    self.stats.votes += 1;
                    let msg = Outgoing::Vote {
                        height,
                        vote,
                        signature,
                    };
                    r.resend.push(msg.clone());
                    if let Outgoing::Vote {
                        vote, signature, ..
                    } = &msg
                    {
                        out.extend(self.on_vote(
                            view,
                            vote.clone(),
                            signature.clone(),
                            height,
                            now_ms,
                        )?);
                    }
                    out.insert(0, msg);
                    return Ok(out);
                }
            }
        }
        out.extend(self.try_commit(view, now_ms)?);
        Ok(out)
    }

    /// Handle a vote for `height`.
    pub fn on_vote(
        &mut self,
        view: &L1View,
        vote: Vote,
        signature: Option<BlockSignature>,
        height: u64,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, EngineError> {
        if height > self.height() + 1 {
            self.keep_future(
                height,
                Outgoing::Vote {
                    height,
                    vote,
                    signature,
                },
            );
            return Ok(Vec::new());
        }
        if height <= self.height() {
            return Ok(Vec::new());
        }
        self.ensure_round(view)?;
        let r = self.round.as_mut().expect("round ensured");
        match r.tally.add(&vote, &r.set) {
            Ok(_) => {}
            Err(casl2_verifier::consensus::ConsensusError::ConsensusConflicting { .. }) => {
                self.stats.conflicting_votes += 1;
                return Ok(Vec::new());
            }
            Err(e) => return Err(EngineError::Invalid(e.to_string())),
        }
        if vote.vote == VoteType::Accept {
            let key = r.set.get(&vote.voter_address).map(|m| m.public_key);
            match (signature, key) {
                (Some(s), Some(k))
                    if s.sequencer == vote.voter_address
                        && s.verify(&vote.block_hash, &k).is_ok() =>
                {
                    r.signatures
                        .entry(vote.block_hash)
                        .or_default()
                        .insert(vote.voter_address, s);
                }
                _ => {
                    return Err(EngineError::Invalid(format!(
                        "CONSENSUS_INVALID_VOTE: ACCEPT by {} without a valid block signature",
                        vote.voter_address
                    )))
                }
            }
        }
        self.try_commit(view, now_ms)
    }

    /// Commit the current round's block if a quorum accepted one that this node validated.
    fn try_commit(&mut self, view: &L1View, now_ms: u64) -> Result<Vec<Outgoing>, EngineError> {
        let params = params_of(view)?.clone();
        let r = self.round.as_ref().expect("round ensured");
        let Some(hash) = r
            .tally
            .accepted_block(&r.set, params.consensus_threshold_pct)
        else {
            return Ok(Vec::new());
        };
        let Some(p) = r.proposals.get(&hash) else {
            return Ok(Vec::new());
        };
        let Some(Ok((root, receipts))) = p.verdict.clone() else {
            return Ok(Vec::new());
        };
        let mut block = p.block.clone();
        block.signatures = r
            .signatures
            .get(&hash)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        block.is_finalized = true;
        verify_block_quorum(&block, &r.set, params.consensus_threshold_pct)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        // Every sequencer that counts the quorum commits by itself; the producer broadcasts
        // the final block for the nodes that missed votes (followers, late or cut-off nodes).
        let producer = block.header.sequencer;
        self.apply_final(block.clone(), root, &receipts, now_ms)?;
        if self.address() == Some(producer) {
            Ok(vec![Outgoing::Commit {
                block: Box::new(block),
            }])
        } else {
            Ok(Vec::new())
        }
    }

    fn apply_final(
        &mut self,
        block: L2Block,
        root: H256,
        receipts: &[Receipt],
        now_ms: u64,
    ) -> Result<(), EngineError> {
        self.tree.revert_to(root).map_err(storage)?;
        self.chain.append(&block, receipts).map_err(storage)?;
        if let Some(r) = &self.round {
            if r.election.leader != block.header.sequencer {
                self.stats.failovers += 1;
            }
        }
        self.stats.transactions += block.transactions.len() as u64;
        self.mempool.remove_included(&block.transactions);
        let tree = &self.tree;
        self.mempool.prune(|a| {
            let st = Overlay::new(tree).account(a).unwrap_or_default();
            SenderState {
                nonce: st.nonce,
                balance: st.balance,
                hat_score: st.hat_score,
            }
        });
        tracing_log(&format!(
            "{:?}: final block {} by {} ({} txs, {} msgs, {} sigs)",
            self.address(),
            block.header.block_number,
            block.header.sequencer,
            block.transactions.len(),
            block.l1_message_hashes.len(),
            block.signatures.len()
        ));
        self.head = Some(block.header);
        self.round = None;
        self.last_final_ms = now_ms;
        Ok(())
    }

    /// Property 20: after an L1 reorganisation, find the oldest final block that no longer fits
    /// L1 — it consumed a queue message L1 no longer has (or has another one at that index), or
    /// it anchors to an L1 block that was replaced — and revert the chain and the state to the
    /// block before it; the blocks after it are produced again from what L1 now holds. Only
    /// blocks anchored within the L1 view's recent window are checked (a reorg deeper than it
    /// is not seen). Returns the height reverted to.
    pub fn revert_to_l1(&mut self, view: &L1View) -> Result<Option<u64>, EngineError> {
        let (mut cursor, _) = queue_cursor(&self.tree).map_err(storage)?;
        // The view re-reads the hashes of the last 6 L1 blocks on every refresh.
        let window = view.tip.saturating_sub(6);
        let mut bad: Option<u64> = None;
        let mut n = self.height();
        while n >= 1 {
            let b = self
                .chain
                .block(n)
                .map_err(storage)?
                .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?;
            let h = &b.header;
            if h.l1_anchor_block < window && b.l1_message_hashes.is_empty() {
                break;
            }
            let start = cursor.saturating_sub(b.l1_message_hashes.len() as u64);
            let msgs_ok = b.l1_message_hashes.iter().enumerate().all(|(j, mh)| {
                view.queue
                    .get((start as usize).saturating_add(j))
                    .is_some_and(|q| q.hash == *mh)
            });
            let anchor_ok = h.l1_anchor_block < window
                || view
                    .block(h.l1_anchor_block)
                    .is_some_and(|(hash, _)| hash == h.l1_anchor_hash);
            if !msgs_ok || !anchor_ok {
                bad = Some(n);
            }
            cursor = start;
            if h.l1_anchor_block < window {
                break;
            }
            n -= 1;
        }
        let Some(first_bad) = bad else {
            return Ok(None);
        };
        let keep = first_bad - 1;
        let (root, head) = match keep {
            0 => (casl2_verifier::smt::empty_root(), None),
            k => {
                let b = self
                    .chain
                    .block(k)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {k} missing")))?;
                (b.header.state_root, Some(b.header))
            }
        };
        self.tree.revert_to(root).map_err(storage)?;
        self.chain.truncate(keep).map_err(storage)?;
        tracing_log(&format!(
            "L1 reorganised: blocks from {first_bad} no longer fit L1, reverted to {keep}"
        ));
        self.head = head;
        self.round = None;
        self.future.clear();
        self.stats.reverts += 1;
        Ok(Some(keep))
    }

    /// Handle a final block (a commit, or one fetched while catching up): it must be
    /// `head + 1`, carry a quorum of the height's set, and re-execute to its state root.
    pub fn on_commit(
        &mut self,
        view: &L1View,
        block: L2Block,
        now_ms: u64,
    ) -> Result<bool, EngineError> {
        if block.header.block_number <= self.height() {
            return Ok(false);
        }
        if block.header.block_number != self.height() + 1 {
            // A gap: keep it for when the blocks before it arrive (the sync fetches them).
            let n = block.header.block_number;
            self.keep_future(
                n,
                Outgoing::Commit {
                    block: Box::new(block),
                },
            );
            return Ok(false);
        }
        self.ensure_round(view)?;
        let params = params_of(view)?.clone();
        {
            let r = self.round.as_ref().expect("round ensured");
            verify_block_quorum(&block, &r.set, params.consensus_threshold_pct)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            if let Some(mine) = r.my_vote.filter(|m| *m != block.hash()) {
                // This node's lock was on a block that never reached a quorum (it proposed or
                // voted while cut off); the quorum certificate decides. Locks restrict votes,
                // not what a node accepts as final.
                tracing_log(&format!(
                    "height {}: accepted {mine}, a quorum finalised {}",
                    r.height,
                    block.hash()
                ));
            }
        }
        // The commit's timestamp may be older than now: validate at its own time.
        let (root, receipts) = self.validate(view, &block, block.header.timestamp.max(now_ms))?;
        self.apply_final(block, root, &receipts, now_ms)?;
        Ok(true)
    }

    /// Build the next batch to anchor: the final blocks after L1's latest anchored block, at
    /// most `batch_interval`, fewer if the payload would exceed the DA limit. `None` when fewer
    /// than `batch_interval` blocks wait and the oldest waiting block is younger than
    /// `max_wait_ms`.
    pub fn plan_batch(
        &self,
        view: &L1View,
        poster: Address,
        now_ms: u64,
        max_wait_ms: u64,
    ) -> Result<Option<BatchPlan>, EngineError> {
        let info = match &view.chain {
            Some(c) => c,
            None => return Ok(None),
        };
        let anchored = info.latest_l2_block;
        let head = self.height();
        if head <= anchored {
            return Ok(None);
        }
        let interval = info.params.batch_interval.max(1);
        let first = self
            .chain
            .block(anchored + 1)
            .map_err(storage)?
            .ok_or_else(|| EngineError::Storage(format!("block {} missing", anchored + 1)))?;
        if head - anchored < interval && now_ms < first.header.timestamp.saturating_add(max_wait_ms)
        {
            return Ok(None);
        }
        let end = head.min(anchored + interval);
        let mut blocks = Vec::new();
        for n in (anchored + 1)..=end {
            blocks.push(
                self.chain
                    .block(n)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?,
            );
        }
        if let Some(d) = self.dishonest.filter(|d| d.applies(info)) {
            d.rewrite(
                &mut blocks,
                self.key.as_ref(),
                info.params.max_timestamp_drift,
            );
        }
        // The batch must continue the anchored chain.
        let stored_pre = if anchored == 0 {
            casl2_verifier::smt::empty_root()
        } else {
            self.chain
                .block(anchored)
                .map_err(storage)?
                .map(|b| b.header.state_root)
                .unwrap_or_default()
        };
        if info.latest_state_root != stored_pre {
            return Err(EngineError::Invalid(format!(
                "STATE_ROOT_MISMATCH: L1's latest anchored root {} is not this node's root {stored_pre} of block {anchored}",
                info.latest_state_root
            )));
        }
        let da = DaParams::default();
        loop {
            let bytes = serialize_blocks(&blocks);
            let payload =
                compress_batch(&bytes, &da).map_err(|e| EngineError::Invalid(e.to_string()))?;
            if payload.len() > da.max_compressed_size && blocks.len() > 1 {
                blocks.pop();
                continue;
            }
            let encoded = encode_payload(&payload, casl2_verifier::sha256d(&bytes), &da)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            let header = batch_header(info.latest_state_root, &blocks, self.chain_id, poster);
            return Ok(Some(BatchPlan {
                header,
                commitment: encoded.commitment,
                payload,
            }));
        }
    }

    /// Sign `header` as a batch of this node's final blocks if it describes them exactly.
    pub fn sign_batch(
        &self,
        header: &BatchHeader,
        pre_state_root: H256,
        info: Option<&L2ChainInfo>,
    ) -> Result<BlockSignature, EngineError> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| EngineError::Invalid("a follower signs no batches".into()))?;
        if header.end_block > self.height()
            || header.start_block == 0
            || header.end_block < header.start_block
        {
            return Err(EngineError::NotYet(format!(
                "blocks {}..={} are not all final here (head {})",
                header.start_block,
                header.end_block,
                self.height()
            )));
        }
        let mut blocks = Vec::new();
        for n in header.start_block..=header.end_block {
            blocks.push(
                self.chain
                    .block(n)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?,
            );
        }
        if let (Some(d), Some(info)) = (self.dishonest, info) {
            if d.applies(info) {
                d.rewrite(&mut blocks, None, info.params.max_timestamp_drift);
            }
        }
        let expected = batch_header(
            pre_state_root,
            &blocks,
            self.chain_id,
            header.sequencer_address,
        );
        if expected != *header {
            return Err(EngineError::Invalid(format!(
                "batch header differs from this node's blocks {}..={}",
                header.start_block, header.end_block
            )));
        }
        BlockSignature::sign(key, &header.hash(), header.timestamp)
            .map_err(|e| EngineError::Invalid(e.to_string()))
    }
}

/// The batch header of `blocks` (final, in order) after `pre_state_root`, posted by `poster`:
/// anchored at the last block's L1 anchor, timestamped with its time in seconds, the
/// transactions root over every transaction hash of the batch in order.
pub fn batch_header(
    pre_state_root: H256,
    blocks: &[L2Block],
    chain_id: u64,
    poster: Address,
) -> BatchHeader {
    let first = blocks.first().map_or(0, |b| b.header.block_number);
    let last = blocks.last().map(|b| b.header.clone()).unwrap_or_default();
    let hashes: Vec<H256> = blocks.iter().flat_map(|b| b.transaction_hashes()).collect();
    BatchHeader {
        version: BATCH_VERSION,
        start_block: first,
        end_block: last.block_number,
        pre_state_root,
        post_state_root: last.state_root,
        transactions_root: merkle_root(&hashes),
        transaction_count: hashes.len() as u64,
        total_gas_used: blocks.iter().map(|b| b.header.gas_used).sum(),
        l2_chain_id: chain_id,
        l1_anchor_block: last.l1_anchor_block,
        l1_anchor_hash: last.l1_anchor_hash,
        sequencer_address: poster,
        timestamp: last.timestamp / 1000,
    }
}

/// At most `n` characters of `s` and at most 255 bytes (a vote's `rejectReason` is capped at
/// 256 bytes), cut on a character boundary.
fn truncate(s: &str, n: usize) -> String {
    let mut out = String::new();
    for c in s.chars().take(n) {
        if out.len() + c.len_utf8() > 255 {
            break;
        }
        out.push(c);
    }
    out
}

fn tracing_log(msg: &str) {
    if std::env::var_os("CASL2_LOG").is_some() {
        eprintln!("casl2 node: {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_reasons_are_cut_on_character_boundaries() {
        let long = "ü".repeat(300);
        let t = truncate(&long, 200);
        assert!(t.len() <= 255 && t.chars().all(|c| c == 'ü'));
        assert_eq!(truncate("short", 200), "short");
    }

    /// The batch header vector of `docs/protocol.md`.
    #[test]
    fn batch_header_of_two_blocks() {
        let mut blocks = Vec::new();
        for n in 1..=2u64 {
            let mut b = L2Block::default();
            b.header.block_number = n;
            b.header.state_root = H256([n as u8; 32]);
            b.header.timestamp = 1_700_000_000_000 + n * 100;
            b.header.gas_used = 21_000 * n;
            b.header.l1_anchor_block = 40 + n;
            b.header.l1_anchor_hash = H256([0xa0 + n as u8; 32]);
            b.header.l2_chain_id = 1;
            let mut t = L2Transaction {
                nonce: n,
                l2_chain_id: 1,
                ..Default::default()
            };
            t.value = n as i64;
            b.transactions.push(t);
            blocks.push(b);
        }
        let h = batch_header(H256([0xee; 32]), &blocks, 1, Address([0x5e; 20]));
        assert_eq!((h.start_block, h.end_block), (1, 2));
        assert_eq!(h.post_state_root, H256([2; 32]));
        assert_eq!(h.transaction_count, 2);
        assert_eq!(h.total_gas_used, 63_000);
        assert_eq!((h.l1_anchor_block, h.timestamp), (42, 1_700_000_000));
        assert_eq!(
            h.transactions_root,
            merkle_root(&[
                blocks[0].transactions[0].hash(),
                blocks[1].transactions[0].hash()
            ])
        );
        assert_eq!(
            h.hash().to_hex(),
            "0x8ba69e04a4f9804c7411cbb9d10b0a502cb666a1e0e1b31847f50bbadc883413"
        );
    }
}
