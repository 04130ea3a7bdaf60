//! Parameter and answer types of the node's `l2_*` and `admin_status` methods. Field names are
//! the wire names of `docs/protocol.md`, "Sequencer node RPC" (camelCase); verifier types are
//! carried as they are where the answer is one.

use casl2_verifier::consensus::LeaderTurn;
use casl2_verifier::da::{DACommitment, Sample};
use casl2_verifier::l1::SequencerStatus;
use casl2_verifier::smt::CompactProof;
use casl2_verifier::stf::Receipt;
use casl2_verifier::types::{BlockSignature, L2Block, L2BlockHeader, WithdrawalRecord};
use casl2_verifier::BatchHeader;
use casl2_verifier::{AccountState, Address, H256};
use serde::{Deserialize, Serialize};

/// `l2_getchaininfo`: the node's head and its view of L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    /// The L2 chain id.
    pub chain_id: u64,
    /// The head's height (0 before the first block).
    pub block_number: u64,
    /// The head's hash (`null` before the first block).
    pub block_hash: Option<H256>,
    /// The head's state root.
    pub state_root: H256,
    /// The node's sequencer address (`null` for a follower without a key).
    pub sequencer: Option<Address>,
    /// The L1 tip height the node has seen.
    pub l1_tip: u64,
    /// The chain's L1 status as displayed (`"ACTIVE"`, `"PAUSED"`, …; `null` while the chain
    /// is not registered). Kept a string: it is for display, and a status L1 adds later
    /// should not make older clients fail.
    pub status: Option<String>,
    /// The last L2 block L1 anchored (`null` while the chain is not registered).
    pub anchored_l2_block: Option<u64>,
    /// The last L2 block L1 finalised (`null` while the chain is not registered).
    pub finalized_l2_block: Option<u64>,
    /// Transactions in the node's mempool.
    pub mempool_size: u64,
    /// The peers' URLs.
    pub peers: Vec<String>,
}

/// `l2_getblockbynumber`: a final block with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockAnswer {
    /// The block (header, transactions, message hashes, quorum signatures).
    #[serde(flatten)]
    pub block: L2Block,
    /// The block's hash (the header's).
    pub hash: H256,
}

/// `l2_gettransactioncount`: an account's nonces as the node sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceInfo {
    /// The account's nonce in the node's head state.
    pub nonce: u64,
    /// The next nonce to use, counting the node's mempool.
    pub pending: u64,
}

/// A receipt as the node stores and serves it: the step's receipt and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredReceipt {
    /// The transaction (or L1 message) hash.
    pub hash: H256,
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: H256,
    /// Position among the block's steps.
    pub step: u32,
    /// The receipt.
    pub receipt: Receipt,
}

/// A transaction the node holds in its mempool, not yet in a final block:
/// `{"hash": …, "pending": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReceipt {
    /// The transaction hash.
    pub hash: H256,
    /// Always `true`.
    pub pending: bool,
}

/// `l2_gettransactionreceipt` of a known transaction: its receipt in a final block, or the
/// mark that it waits in the mempool (`null`, i.e. `None`, for an unknown one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReceiptAnswer {
    /// In a final block.
    Final(Box<StoredReceipt>),
    /// In the node's mempool.
    Pending(PendingReceipt),
}

impl ReceiptAnswer {
    /// The final receipt, if the transaction is in a final block.
    pub fn final_receipt(&self) -> Option<&StoredReceipt> {
        match self {
            ReceiptAnswer::Final(r) => Some(r.as_ref()),
            ReceiptAnswer::Pending(_) => None,
        }
    }
}

/// Which state a proof is asked against (`l2_getproof`, `l2_getwithdrawalproof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProofAt {
    /// The node's head (soft finality: the head's quorum signatures). The default.
    #[default]
    Latest,
    /// L1's latest anchored root (what a fast withdrawal is paid against).
    Anchored,
    /// L1's finalised root (hard finality).
    Finalized,
}

/// What a proof's root rests on, tagged by `"kind"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProofFinality {
    /// The head with its quorum signatures (`header` is `null` before the first block).
    Soft {
        /// The head's header.
        header: Option<Box<L2BlockHeader>>,
        /// Its quorum signatures.
        #[serde(default)]
        signatures: Vec<BlockSignature>,
    },
    /// L1's latest anchored root.
    #[serde(rename_all = "camelCase")]
    Anchored {
        /// The L1 tip the node has seen.
        l1_tip: u64,
        /// Number of anchors on L1.
        anchors: u64,
        /// Number of final anchors.
        finalized_anchors: u64,
    },
    /// L1's finalised root.
    #[serde(rename_all = "camelCase")]
    Hard {
        /// The L1 tip the node has seen.
        l1_tip: u64,
        /// Number of final anchors.
        finalized_anchors: u64,
    },
}

/// `l2_getproof`: an account's compact proof against a state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofAnswer {
    /// The account.
    pub address: Address,
    /// The root the proof is against.
    pub state_root: H256,
    /// The L2 block of that root.
    pub block_number: u64,
    /// The account as the node reads it (only at `"latest"`; unverified until checked against
    /// the proof).
    #[serde(default)]
    pub account: Option<AccountState>,
    /// The proof.
    pub proof: CompactProof,
    /// What the root rests on.
    pub finality: ProofFinality,
}

/// `l2_getwithdrawalproof`: a withdrawal record's compact proof against a state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalProofAnswer {
    /// The withdrawal id (the WITHDRAWAL transaction's hash).
    pub id: H256,
    /// Its key in the state tree.
    pub key: H256,
    /// The root the proof is against.
    pub state_root: H256,
    /// The L2 block of that root.
    pub block_number: u64,
    /// The record (`null` when the proof is one of absence).
    #[serde(default)]
    pub record: Option<WithdrawalRecord>,
    /// The proof.
    pub proof: CompactProof,
    /// What the root rests on.
    pub finality: ProofFinality,
}

/// Hex without the `0x` prefix (reading accepts one): the payload of [`BatchAnswer`].
mod plain_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s.strip_prefix("0x").unwrap_or(&s)).map_err(serde::de::Error::custom)
    }
}

/// `l2_getbatch`: anchor `index` of the chain as L1 holds it, with its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAnswer {
    /// The anchor index.
    pub index: u64,
    /// The L1 height it was anchored at.
    pub l1_height: u64,
    /// The batch header.
    pub header: BatchHeader,
    /// The batch hash.
    pub batch_hash: H256,
    /// The DA data root.
    pub data_root: H256,
    /// The DA commitment.
    pub commitment: Option<DACommitment>,
    /// Whether the anchor is final.
    pub finalized: bool,
    /// Whether it is disputed.
    pub disputed: bool,
    /// Its challenge deadline (L1 height).
    pub deadline: u64,
    /// The payload's size in bytes.
    pub payload_size: u64,
    /// The payload, hex without `0x`.
    #[serde(with = "plain_hex")]
    pub payload: Vec<u8>,
}

/// The axis of an `l2_getshare` sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// Along a row (the default).
    #[default]
    Row,
    /// Along a column.
    Column,
}

impl From<Axis> for casl2_verifier::da::Axis {
    fn from(a: Axis) -> Self {
        match a {
            Axis::Row => casl2_verifier::da::Axis::Row,
            Axis::Column => casl2_verifier::da::Axis::Column,
        }
    }
}

/// `l2_getshare`: one share of a batch's extended square with its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareAnswer {
    /// The anchor index.
    pub index: u64,
    /// The data root the share belongs to.
    pub data_root: H256,
    /// The share and its proof against its row (or column) root.
    pub sample: Sample,
}

/// One entry of `l2_getsequencers`: a registered sequencer with its HAT score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequencerEntry {
    /// Its address.
    pub address: Address,
    /// Its locked stake.
    pub stake: i64,
    /// Its HAT v2 score on L1.
    pub hat_score: u32,
    /// Its announced endpoint.
    pub endpoint: String,
    /// Its bonding state.
    pub status: SequencerStatus,
    /// The L1 height of its announcement.
    pub announced_at: u64,
}

/// `l2_getleader`: who may produce the next block now, and the slot's election.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderAnswer {
    /// The height of the next block.
    pub height: u64,
    /// The election slot.
    pub slot: u64,
    /// The sequencer whose turn it is.
    pub leader: Address,
    /// Turns taken since the slot began.
    pub turn: u64,
    /// When the turn times out (ms).
    pub deadline_ms: u64,
    /// The slot's elected leader (turn 0).
    pub elected_leader: Address,
    /// The failover order after it.
    pub backups: Vec<Address>,
    /// The election seed.
    pub seed: H256,
}

impl LeaderAnswer {
    /// The answer for the next block at `height` from a leader turn and the slot's election.
    pub fn new(
        height: u64,
        turn: &LeaderTurn,
        election: &casl2_verifier::consensus::LeaderElectionResult,
        slot: u64,
    ) -> LeaderAnswer {
        LeaderAnswer {
            height,
            slot,
            leader: turn.leader,
            turn: turn.turn,
            deadline_ms: turn.deadline_ms,
            elected_leader: election.leader,
            backups: election.backups.clone(),
            seed: election.seed,
        }
    }
}

/// Counters of a node's consensus engine (`admin_status`, and `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
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
    /// Proposals dropped unvoted: not for this round, not by the producer whose turn it is,
    /// or without that producer's signature.
    #[serde(default)]
    pub dropped_proposals: u64,
}

/// `admin_status`: the node's counters, evidence and peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// The engine's counters.
    pub stats: NodeStats,
    /// Pieces of misbehaviour evidence held.
    pub evidence: u64,
    /// The peers' URLs.
    pub peers: Vec<String>,
    /// The node's own URL.
    pub url: String,
    /// Why the node stopped taking part (`STATE_REVERT_FAILED`), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
}
