//! Bad-encoding proofs: evidence that a committed row or column is not the Reed-Solomon
//! codeword its shares determine.

use super::commitment::{share_leaf, DACommitment, MAX_SQUARE_K};
use super::sample::{verify_sample, Axis, Sample};
use super::square::LineCoder;
use super::{DaError, SHARE_SIZE};
use crate::codec::{write_vec, CodecError, Decode, Encode, Reader};
use crate::hash::{merkle_root, H256};

/// Proof that row or column `index` is badly encoded: exactly k shares of that line, in
/// increasing position, each with a proof to a committed root (its column root or its row root).
/// The k shares determine one codeword of the line; its Merkle root differs from the committed
/// line root. An honestly extended and committed square admits no such proof: every line is a
/// codeword, its shares are the same under both trees, and any k of them give back the line.
///
/// Wire format: axis (u8: 0 row, 1 column) ‖ `index` (u32 LE) ‖ shares (CompactSize count, at
/// most 128, ‖ each a [`Sample`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BadEncodingProof {
    /// Whether the bad line is a row or a column.
    pub axis: Axis,
    /// The bad line.
    pub index: u32,
    /// k shares of the line, by increasing position, each with its proof.
    pub shares: Vec<Sample>,
}

impl Encode for BadEncodingProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.axis.encode_to(out);
        out.extend_from_slice(&self.index.to_le_bytes());
        write_vec(out, &self.shares);
    }
}

impl Decode for BadEncodingProof {
    const MIN_SIZE: usize = 1 + 4 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let axis = Axis::decode_from(r)?;
        let index = r.u32("BadEncodingProof.index")?;
        let shares = r.vec("BadEncodingProof.shares", MAX_SQUARE_K as u64)?;
        Ok(BadEncodingProof {
            axis,
            index,
            shares,
        })
    }
}

/// Check a bad-encoding proof against a commitment, without the rest of the square: the line
/// exists, the proof holds exactly k shares of that line at increasing positions, every share
/// verifies against a committed root, and the codeword they determine has a Merkle root other
/// than the committed one. `Ok(())` means the square is proven badly encoded.
pub fn verify_bad_encoding_proof(
    commitment: &DACommitment,
    proof: &BadEncodingProof,
) -> Result<(), DaError> {
    let (axis, index) = (proof.axis, proof.index);
    let fail = |reason: String| DaError::InvalidBadEncodingProof {
        axis,
        index,
        reason,
    };
    let k = commitment.check_shape()?;
    let w = 2 * k;
    if index as usize >= w {
        return Err(fail(format!("no such line in a {w}x{w} square")));
    }
    if proof.shares.len() != k {
        return Err(fail(format!(
            "{} shares, the proof needs exactly {k}",
            proof.shares.len()
        )));
    }
    let mut known: Vec<(usize, &[u8])> = Vec::with_capacity(k);
    for s in &proof.shares {
        let (line, pos) = match axis {
            Axis::Row => (s.row, s.column),
            Axis::Column => (s.column, s.row),
        };
        if line != index {
            return Err(fail(format!(
                "share ({}, {}) is not on the line",
                s.row, s.column
            )));
        }
        if known.last().is_some_and(|&(p, _)| p >= pos as usize) {
            return Err(fail(format!(
                "share positions not strictly increasing at {pos}"
            )));
        }
        verify_sample(commitment, s).map_err(|e| fail(e.to_string()))?;
        known.push((pos as usize, &s.share));
    }
    let line = LineCoder::new(k)?.complete(&known)?;
    let leaves: Vec<H256> = line.chunks(SHARE_SIZE).map(share_leaf).collect();
    let root = merkle_root(&leaves);
    if commitment.line_root(axis, index as usize) == Some(&root) {
        return Err(fail(
            "the shares decode to the committed line: encoding is correct".into(),
        ));
    }
    Ok(())
}
