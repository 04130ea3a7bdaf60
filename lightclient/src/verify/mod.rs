//! The light client's checks: small free functions that take the evidence a node served and
//! the root or set that L1 anchors, and fail with a [`VerifyError`] that names what was wrong.
//! No I/O here; [`crate::LightClient`] fetches and calls these.

use casl2_verifier::consensus::{
    QuorumCertificate, RegisteredSequencer, SequencerInfo, SequencerSet,
};
use casl2_verifier::da::{verify_commitment, verify_sample, DACommitment, Sample};
use casl2_verifier::l1::{Sequencer, SequencerStatus};
use casl2_verifier::params::ChainParams;
use casl2_verifier::smt::{verify_compact_proof, CompactProof};
use casl2_verifier::types::{BlockSignature, L2BlockHeader, WithdrawalRecord};
use casl2_verifier::{AccountState, Address, Decode, H256};
use thiserror::Error;

/// Why a node's evidence was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// An account proof does not lead to the trusted root, or proves another key.
    #[error("account proof of {address} rejected: {reason}")]
    InvalidAccountProof {
        /// The account asked for.
        address: Address,
        /// What was wrong.
        reason: String,
    },
    /// The account the node reported is not the one its proof proves.
    #[error("the node's account {address} does not match its proof: {reason}")]
    AccountMismatch {
        /// The account asked for.
        address: Address,
        /// Which field differs.
        reason: String,
    },
    /// A withdrawal proof does not lead to the trusted root, or proves another key.
    #[error("withdrawal proof of {id} rejected: {reason}")]
    InvalidWithdrawalProof {
        /// The withdrawal id.
        id: H256,
        /// What was wrong.
        reason: String,
    },
    /// A header's quorum signatures do not carry two thirds of the L1 set's weight, or one is
    /// invalid.
    #[error("quorum of L2 block {block} rejected: {reason}")]
    InvalidQuorum {
        /// The block number.
        block: u64,
        /// What was wrong.
        reason: String,
    },
    /// A header does not fit what was asked (another chain, another root or height).
    #[error("L2 block header {block} rejected: {reason}")]
    HeaderMismatch {
        /// The block number.
        block: u64,
        /// What was wrong.
        reason: String,
    },
    /// The DA commitment L1 holds for a batch does not give the batch's data root.
    #[error("DA commitment of batch {batch} rejected: {reason}")]
    InvalidCommitment {
        /// The anchor index.
        batch: u64,
        /// What was wrong.
        reason: String,
    },
    /// A sampled share is not the one the commitment commits to.
    #[error("share ({row}, {column}) of batch {batch} rejected: {reason}")]
    InvalidSample {
        /// The anchor index.
        batch: u64,
        /// Row asked for.
        row: u32,
        /// Column asked for.
        column: u32,
        /// What was wrong.
        reason: String,
    },
}

/// Check `proof` of `address` against the trusted `root` and return the proven account (the
/// all-zero account when the proof shows it absent).
pub fn verify_account_proof(
    address: &Address,
    proof: &CompactProof,
    root: &H256,
) -> Result<AccountState, VerifyError> {
    let bad = |reason: String| VerifyError::InvalidAccountProof {
        address: *address,
        reason,
    };
    if proof.key != address.tree_key() {
        return Err(bad(format!(
            "it proves key {}, not the account's key {}",
            proof.key,
            address.tree_key()
        )));
    }
    match verify_compact_proof(proof, root).map_err(|e| bad(e.to_string()))? {
        None => Ok(AccountState::default()),
        Some(v) => AccountState::decode(&v).map_err(|e| bad(format!("the proven value: {e}"))),
    }
}

/// Check that the account a node reported alongside its proof is the proven one.
pub fn check_reported_account(
    address: &Address,
    reported: &AccountState,
    proven: &AccountState,
) -> Result<(), VerifyError> {
    let field = if reported.balance != proven.balance {
        Some(format!(
            "balance {} reported, {} proven",
            reported.balance, proven.balance
        ))
    } else if reported.nonce != proven.nonce {
        Some(format!(
            "nonce {} reported, {} proven",
            reported.nonce, proven.nonce
        ))
    } else if reported != proven {
        Some("code, storage, HAT score or last activity differ".to_string())
    } else {
        None
    };
    match field {
        Some(reason) => Err(VerifyError::AccountMismatch {
            address: *address,
            reason,
        }),
        None => Ok(()),
    }
}

/// Check `proof` of withdrawal `id` against the trusted `root`; returns the proven record
/// (`None`: proven absent from that state).
pub fn verify_withdrawal_proof(
    id: &H256,
    proof: &CompactProof,
    root: &H256,
) -> Result<Option<WithdrawalRecord>, VerifyError> {
    let bad = |reason: String| VerifyError::InvalidWithdrawalProof { id: *id, reason };
    let key = WithdrawalRecord::key_for(id);
    if proof.key != key {
        return Err(bad(format!(
            "it proves key {}, not the withdrawal's key {key}",
            proof.key
        )));
    }
    match verify_compact_proof(proof, root).map_err(|e| bad(e.to_string()))? {
        None => Ok(None),
        Some(v) => {
            let r =
                WithdrawalRecord::decode(&v).map_err(|e| bad(format!("the proven record: {e}")))?;
            if r.id != *id {
                return Err(bad(format!("the proven record is withdrawal {}", r.id)));
            }
            Ok(Some(r))
        }
    }
}

/// The set whose signatures make an L2 block final, as L1 lists it: the active sequencers
/// (with their HAT scores) that meet the chain's minimum stake and HAT score, in registry order.
pub fn sequencer_set(
    registry: &[(Sequencer, u32)],
    params: &ChainParams,
) -> Result<SequencerSet, VerifyError> {
    let members: Vec<RegisteredSequencer> = registry
        .iter()
        .filter(|(s, _)| s.status == SequencerStatus::Active)
        .filter(|(s, hat)| {
            SequencerInfo {
                address: s.address,
                stake: s.stake,
                hat_score: *hat,
            }
            .check_eligible(params.min_sequencer_stake, params.min_sequencer_hat)
            .is_ok()
        })
        .map(|(s, hat)| RegisteredSequencer::new(s.public_key, s.stake, *hat))
        .collect();
    SequencerSet::new(members).map_err(|e| VerifyError::InvalidQuorum {
        block: 0,
        reason: format!("L1's sequencer registry: {e}"),
    })
}

/// Check that `signatures` over `header`'s hash come from distinct members of `set` and carry
/// at least `threshold_pct` of its weight (soft finality). Returns the signed weight.
pub fn verify_header_quorum(
    header: &L2BlockHeader,
    signatures: &[BlockSignature],
    set: &SequencerSet,
    threshold_pct: u32,
) -> Result<u128, VerifyError> {
    if set.is_empty() {
        return Err(VerifyError::InvalidQuorum {
            block: header.block_number,
            reason: "L1 lists no eligible sequencer".into(),
        });
    }
    QuorumCertificate {
        block_hash: header.hash(),
        signatures: signatures.to_vec(),
    }
    .verify(set, threshold_pct)
    .map_err(|e| VerifyError::InvalidQuorum {
        block: header.block_number,
        reason: e.to_string(),
    })
}

/// Check the DA commitment L1 holds for batch `batch` against the data root L1 anchored.
pub fn verify_batch_commitment(
    batch: u64,
    commitment: &DACommitment,
    data_root: &H256,
) -> Result<(), VerifyError> {
    verify_commitment(commitment, data_root).map_err(|e| VerifyError::InvalidCommitment {
        batch,
        reason: e.to_string(),
    })
}

/// Check that `sample` is the share at (`row`, `column`) that `commitment` commits to.
pub fn verify_batch_sample(
    batch: u64,
    commitment: &DACommitment,
    row: u32,
    column: u32,
    sample: &Sample,
) -> Result<(), VerifyError> {
    let bad = |reason: String| VerifyError::InvalidSample {
        batch,
        row,
        column,
        reason,
    };
    if (sample.row, sample.column) != (row, column) {
        return Err(bad(format!(
            "the node served share ({}, {}) instead",
            sample.row, sample.column
        )));
    }
    verify_sample(commitment, sample).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests;
