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
//!
//! The engine's methods are split by job: `round` (the consensus round: `tick`,
//! `on_proposal`, `on_vote`, validation, the commit on a quorum, messages kept for later
//! heights), `produce` (sealing the next block), `finality` (applying a final block, `on_commit`,
//! the revert after an L1 reorganisation) and [`batch`] (planning and signing batches).

pub mod batch;
mod finality;
mod produce;
mod round;

use super::chain::ChainStore;
use super::l1view::L1View;
use super::mempool::{Mempool, MempoolConfig, MempoolError, SenderState};
use super::misbehaviour::Misbehaviour;
use crate::RedbNodeStore;
use casl2_verifier::consensus::{
    check_producer, elect_leader, election_seed_from_hash, election_seed_l1_height,
    find_double_signs, leader_now, slot_of_block, verify_block_quorum, verify_vote,
    DoubleSignEvidence, LastBlock, LeaderElectionResult, LeaderTurn, SequencerSet, VoteTally,
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
use std::sync::Arc;

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
    /// The node stopped taking part after a revert it could not make (the reason says which):
    /// its state no longer follows the chain L1 holds.
    #[error("halted: {0}")]
    Halted(String),
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
    /// The first block of this height each member of the set was seen signing as producer
    /// (whether or not it was its turn): a second, different one is double-sign evidence.
    first_signed: HashMap<Address, L2Block>,
    /// The block of this node's lock read back from storage after a restart, not yet
    /// proposed again ([`Engine::resume_lock`]).
    restored: Option<L2Block>,
}

/// Messages for heights above the current round kept for later (bounded).
const MAX_FUTURE: usize = 4_096;
/// How far ahead of the current height messages are kept.
const FUTURE_HEIGHTS: u64 = 4;
/// Interval of re-sending this node's proposal and vote while a round lasts (ms).
const RESEND_MS: u64 = 1_000;
/// After a restart (the databases held a chain or a vote), a leader waits this long before sealing a block of its own (it may still
/// re-propose a block someone accepted): time for restarted peers to re-send their locks
/// ([`Engine::resume_lock`]), so a fresh block does not split the votes of the height (ms).
pub const START_GRACE_MS: u64 = 2 * RESEND_MS;

/// Counters the node exports on `/metrics` and `admin_status` (the api's type).
pub use casl2_lightclient::api::node::NodeStats as EngineStats;

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
    misbehaviour: Option<Arc<dyn Misbehaviour>>,
    /// When this engine first ticked (the start grace counts from it).
    first_tick_ms: Option<u64>,
    /// The databases held a chain or a vote at open: a restart, so the start grace applies
    /// (a brand-new node has no lock to wait for, and a fresh chain's first deposits have a
    /// short inclusion deadline).
    restarted: bool,
    /// Set when a revert failed (`STATE_REVERT_FAILED`): from then on this node proposes, votes,
    /// signs and applies nothing (see [`Engine::halted`]).
    halted: Option<String>,
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
        let restarted = head_n > 0 || chain.my_vote(1).map_err(storage)?.is_some();
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
            misbehaviour: None,
            first_tick_ms: None,
            restarted,
            halted: None,
        })
    }

    /// Let `m` alter the batches this node plans and signs (demos and tests of the fraud
    /// proofs; see [`Misbehaviour`]). `None`: honest.
    pub fn set_misbehaviour(&mut self, m: Option<Arc<dyn Misbehaviour>>) {
        self.misbehaviour = m;
    }

    /// Why this node stopped taking part (`None` while it runs): a revert after an L1
    /// reorganisation failed, `STATE_REVERT_FAILED`, the design's "enter emergency mode". The
    /// node keeps answering reads of what it has, and says it is halted in `admin_status`,
    /// `/metrics` (`casl2_halted` 1) and its log; its operator moves the data directory away and
    /// starts it again to catch up from the peers.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// `Err(Halted)` once [`Engine::halted`]; every entry point that changes the chain asks it.
    pub(super) fn running(&self) -> Result<(), EngineError> {
        match &self.halted {
            Some(r) => Err(EngineError::Halted(r.clone())),
            None => Ok(()),
        }
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
}
