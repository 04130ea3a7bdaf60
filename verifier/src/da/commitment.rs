//! The DA commitment: row and column roots of the extended square, the erasure-coding root over
//! them, and the data root a batch header carries.

use super::{DaError, SHARE_SIZE};
use crate::codec::{write_vec, CodecError, Decode, Encode, Reader};
use crate::hash::{merkle_root, sha256d_parts, H256};

/// Domain prefix of a share's Merkle leaf: `leaf = SHA256d(SHARE_LEAF_TAG ‖ share)`.
pub const SHARE_LEAF_TAG: &[u8] = b"CASL2/DA/share";

/// Domain prefix of the data root:
/// `SHA256d(DATA_ROOT_TAG ‖ data_hash ‖ data_size (u64 LE) ‖ erasure_coding_root)`.
pub const DATA_ROOT_TAG: &[u8] = b"CASL2/DA/data-root";

/// Largest original square side: 128 (8 MiB of payload, a 256×256 extended square).
pub const MAX_SQUARE_K: usize = 128;

/// The Merkle leaf of a share: `SHA256d("CASL2/DA/share" ‖ share)`. The same leaf sits in the
/// share's row tree and in its column tree.
pub fn share_leaf(share: &[u8]) -> H256 {
    sha256d_parts(&[SHARE_LEAF_TAG, share])
}

/// The original square side k for a payload of `data_size` bytes: the smallest power of two with
/// k² ≥ ⌈data_size / SHARE_SIZE⌉ (at least 1). `None` above [`MAX_SQUARE_K`].
pub fn square_k_for(data_size: u64) -> Option<usize> {
    let shares = data_size.div_ceil(SHARE_SIZE as u64).max(1);
    let mut k: u64 = 1;
    while k * k < shares {
        k *= 2;
        if k > MAX_SQUARE_K as u64 {
            return None;
        }
    }
    Some(k as usize)
}

/// The data availability commitment of one batch (the seed's `DACommitment`).
///
/// Wire format (Bitcoin style, the seed's field order): `data_hash` (32) ‖ `data_size` (u64 LE) ‖
/// `erasure_coding_root` (32) ‖ `column_roots` (CompactSize count ‖ 32 each) ‖ `row_roots`
/// (CompactSize count ‖ 32 each). Decoding is strict: both counts equal 2k for the k that
/// `data_size` implies ([`square_k_for`]). The erasure-coding root is checked by
/// [`DACommitment::validate`] and [`verify_commitment`], not by the decoder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DACommitment {
    /// SHA256d of the batch bytes (before compression).
    pub data_hash: H256,
    /// Bytes of the payload (the compressed batch) laid into the square before padding.
    pub data_size: u64,
    /// Merkle root of the 2k row roots followed by the 2k column roots.
    pub erasure_coding_root: H256,
    /// Merkle roots of the 2k rows of the extended square, top first.
    pub row_roots: Vec<H256>,
    /// Merkle roots of the 2k columns of the extended square, left first.
    pub column_roots: Vec<H256>,
}

impl DACommitment {
    /// Merkle root of `row_roots ‖ column_roots`.
    pub fn compute_erasure_coding_root(row_roots: &[H256], column_roots: &[H256]) -> H256 {
        let mut all = Vec::with_capacity(row_roots.len() + column_roots.len());
        all.extend_from_slice(row_roots);
        all.extend_from_slice(column_roots);
        merkle_root(&all)
    }

    /// The data root a batch header carries:
    /// `SHA256d("CASL2/DA/data-root" ‖ data_hash ‖ data_size (u64 LE) ‖ erasure_coding_root)`.
    pub fn data_root(&self) -> H256 {
        sha256d_parts(&[
            DATA_ROOT_TAG,
            self.data_hash.as_bytes(),
            &self.data_size.to_le_bytes(),
            self.erasure_coding_root.as_bytes(),
        ])
    }

    /// Side of the extended square (2k), from the number of row roots.
    pub fn width(&self) -> usize {
        self.row_roots.len()
    }

    /// Side of the original square (k).
    pub fn k(&self) -> usize {
        self.row_roots.len() / 2
    }

    /// The committed root of row or column `index`.
    pub fn line_root(&self, axis: super::Axis, index: usize) -> Option<&H256> {
        match axis {
            super::Axis::Row => self.row_roots.get(index),
            super::Axis::Column => self.column_roots.get(index),
        }
    }

    /// Check the shape without hashing: 2k row roots and 2k column roots for the k that
    /// `data_size` implies. Returns k.
    pub fn check_shape(&self) -> Result<usize, DaError> {
        let k = square_k_for(self.data_size).ok_or_else(|| {
            DaError::MalformedCommitment(format!(
                "data_size {} exceeds the largest square ({} bytes)",
                self.data_size,
                MAX_SQUARE_K * MAX_SQUARE_K * SHARE_SIZE
            ))
        })?;
        if self.row_roots.len() != 2 * k || self.column_roots.len() != 2 * k {
            return Err(DaError::MalformedCommitment(format!(
                "{} row roots and {} column roots, a {}-byte payload needs {} of each",
                self.row_roots.len(),
                self.column_roots.len(),
                self.data_size,
                2 * k
            )));
        }
        Ok(k)
    }

    /// Check the shape and that the erasure-coding root is the root of the row and column roots.
    pub fn validate(&self) -> Result<(), DaError> {
        self.check_shape()?;
        let computed = Self::compute_erasure_coding_root(&self.row_roots, &self.column_roots);
        if computed != self.erasure_coding_root {
            return Err(DaError::ErasureRootMismatch {
                computed,
                expected: self.erasure_coding_root,
            });
        }
        Ok(())
    }
}

/// Check a commitment received from anywhere against the trusted `data_root` (from the batch
/// header): its shape, its erasure-coding root and its data root. Samples and bad-encoding proofs
/// are meaningful only against a commitment that passed this check.
pub fn verify_commitment(commitment: &DACommitment, data_root: &H256) -> Result<(), DaError> {
    commitment.validate()?;
    let computed = commitment.data_root();
    if &computed != data_root {
        return Err(DaError::DataRootMismatch {
            computed,
            expected: *data_root,
        });
    }
    Ok(())
}

impl Encode for DACommitment {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.data_hash.encode_to(out);
        out.extend_from_slice(&self.data_size.to_le_bytes());
        self.erasure_coding_root.encode_to(out);
        write_vec(out, &self.column_roots);
        write_vec(out, &self.row_roots);
    }
}

impl Decode for DACommitment {
    const MIN_SIZE: usize = 32 + 8 + 32 + 1 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let data_hash = H256::decode_from(r)?;
        let data_size = r.u64("DACommitment.data_size")?;
        let erasure_coding_root = H256::decode_from(r)?;
        let max = 2 * MAX_SQUARE_K as u64;
        let column_roots = r.vec("DACommitment.column_roots", max)?;
        let row_roots = r.vec("DACommitment.row_roots", max)?;
        let c = DACommitment {
            data_hash,
            data_size,
            erasure_coding_root,
            row_roots,
            column_roots,
        };
        c.check_shape().map_err(|e| CodecError::Invalid {
            what: "DACommitment",
            detail: e.to_string(),
        })?;
        Ok(c)
    }
}
