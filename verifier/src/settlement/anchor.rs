//! A batch as anchored on L1: the record the L1 rules keep and the fraud rules read.

use super::error::L1Error;
use crate::da::{DACommitment, DaError};
use crate::hash::{Address, H256};
use crate::keys::PublicKey;
use crate::types::BatchHeader;
use serde::{Deserialize, Serialize};

/// A batch anchored on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anchor {
    /// Position in the chain's anchors (0, 1, …).
    pub index: u64,
    /// L1 height of the `PostBatch`.
    pub l1_height: u64,
    /// The batch header.
    pub header: BatchHeader,
    /// Its hash.
    pub batch_hash: H256,
    /// The DA data root of its payload.
    pub data_root: H256,
    /// The sequencer that posted it.
    pub poster: Address,
    /// Final from this L1 height on, unless disputed (`l1_height + challenge_period`).
    pub deadline: u64,
    /// Final for fast withdrawals from this L1 height on (`l1_height + fast_challenge_period`).
    pub fast_deadline: u64,
    /// First queue index its blocks consumed.
    pub messages_start: u64,
    /// Queue index after the last message its blocks consumed.
    pub messages_end: u64,
    /// An open dispute holds its finality (and that of later anchors).
    pub disputed: bool,
    /// Final.
    pub finalized: bool,
    /// The compressed batch as posted (the data fraud proofs read).
    #[serde(default, with = "crate::smt::hex_bytes")]
    pub payload: Vec<u8>,
    /// The DA commitment of the payload (for bad-encoding proofs).
    #[serde(default)]
    pub commitment: Option<DACommitment>,
    /// Steps in the batch's execution trace (see `verifier::fraud`).
    #[serde(default)]
    pub steps: u64,
    /// Active sequencers at posting, registry order, with their keys (the blocks' context).
    #[serde(default)]
    pub sequencers: Vec<(Address, PublicKey)>,
    /// Sequencers whose signatures carried the batch (slashed on proven fraud).
    #[serde(default)]
    pub signers: Vec<Address>,
    /// L1 tip time at posting.
    #[serde(default)]
    pub l1_time: u64,
    /// Timestamp of the batch's last block.
    #[serde(default)]
    pub last_timestamp: u64,
}

/// The L1 error for a DA failure while reading an anchored payload.
pub fn da_error(e: DaError) -> L1Error {
    match e {
        DaError::CompressionUnavailable => L1Error::NotSupported(
            "reading a batch payload needs zstd (this build has the `zstd` feature off)".into(),
        ),
        e => L1Error::DaMismatch(e.to_string()),
    }
}

impl Anchor {
    /// True while the challenge window is open at L1 height `height` (`height < deadline`).
    pub fn challenge_window_open(&self, height: u64) -> bool {
        height < self.deadline
    }

    /// True when a transaction mined at L1 height `height` may still dispute this anchor: it is
    /// not final and its challenge window is open (the chain's status aside: nothing is disputed
    /// in EMERGENCY).
    pub fn open_to_challenge(&self, height: u64) -> bool {
        !self.finalized && self.challenge_window_open(height)
    }
}
