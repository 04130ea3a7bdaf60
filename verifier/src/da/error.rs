//! The errors of the data availability layer.

use super::bad_encoding::BadEncodingProof;
use super::sample::Axis;
use crate::codec::CodecError;
use crate::hash::{MerkleError, H256};
use thiserror::Error;

/// Why a batch could not be encoded, a sample or proof did not verify, or a square could not be
/// rebuilt.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DaError {
    /// The parameters are unusable.
    #[error("invalid DA parameters: {0}")]
    InvalidParams(String),
    /// The compressed payload is larger than allowed.
    #[error("batch too large: compressed payload is {size} bytes, the limit is {max}")]
    BatchTooLarge {
        /// Payload bytes.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The batch would decompress to more bytes than allowed.
    #[error("decompressed batch too large: {size} bytes, the limit is {max}")]
    DecompressedTooLarge {
        /// Bytes the payload declares or produced.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// This build has no zstd (the `zstd` feature is off, as in the wasm build).
    #[error("zstd compression is not compiled in (feature `zstd` is off)")]
    CompressionUnavailable,
    /// zstd failed to compress.
    #[error("zstd compression failed: {0}")]
    Compression(String),
    /// The payload is not a valid zstd frame of known size.
    #[error("payload does not decompress: {0}")]
    Decompression(String),
    /// The Reed-Solomon codec refused its input (a bug: the layer sizes everything itself).
    #[error("erasure codec error: {0}")]
    ErasureCoding(String),
    /// A commitment's shape is wrong (root counts, width, payload size).
    #[error("malformed DA commitment: {0}")]
    MalformedCommitment(String),
    /// The erasure-coding root is not the Merkle root of the row and column roots.
    #[error("erasure coding root mismatch: computed {computed}, commitment says {expected}")]
    ErasureRootMismatch {
        /// Root of the commitment's row and column roots.
        computed: H256,
        /// The commitment's erasure-coding root.
        expected: H256,
    },
    /// The commitment's data root is not the trusted one (from the batch header).
    #[error("data root mismatch: commitment gives {computed}, trusted root is {expected}")]
    DataRootMismatch {
        /// The commitment's data root.
        computed: H256,
        /// The trusted root.
        expected: H256,
    },
    /// A share coordinate is outside the extended square.
    #[error("share ({row}, {column}) outside the {width}x{width} square")]
    CoordinateOutOfRange {
        /// Row.
        row: u32,
        /// Column.
        column: u32,
        /// Width of the extended square.
        width: u32,
    },
    /// A share has the wrong number of bytes.
    #[error("share ({row}, {column}) has {got} bytes, shares are {expected}")]
    ShareSizeMismatch {
        /// Row.
        row: u32,
        /// Column.
        column: u32,
        /// Bytes given.
        got: usize,
        /// Share size.
        expected: usize,
    },
    /// A share's Merkle proof does not lead to its row or column root.
    #[error("share ({row}, {column}) does not verify against {axis} root: {source}")]
    InvalidShareProof {
        /// Row.
        row: u32,
        /// Column.
        column: u32,
        /// The root the proof was for.
        axis: Axis,
        /// Why the branch failed.
        source: MerkleError,
    },
    /// Too few shares to rebuild the square.
    #[error("not enough shares to reconstruct: {known} of {total} known, {missing} could not be recovered")]
    NotEnoughShares {
        /// Shares known (given or recovered) when decoding stalled.
        known: usize,
        /// Shares in the extended square.
        total: usize,
        /// Shares still missing.
        missing: usize,
    },
    /// The square is badly encoded; the proof shows it to anyone holding the commitment.
    #[error("bad encoding of {} {}", .0.axis, .0.index)]
    BadEncoding(Box<BadEncodingProof>),
    /// A bad-encoding proof does not prove bad encoding.
    #[error("invalid bad-encoding proof for {axis} {index}: {reason}")]
    InvalidBadEncodingProof {
        /// The line kind the proof is about.
        axis: Axis,
        /// The line.
        index: u32,
        /// What was wrong.
        reason: String,
    },
    /// The padding after the payload is not zero.
    #[error("non-zero padding after the {data_size}-byte payload")]
    NonZeroPadding {
        /// Payload bytes.
        data_size: u64,
    },
    /// The rebuilt batch does not hash to the commitment's data hash.
    #[error("batch hash mismatch: rebuilt batch hashes to {computed}, commitment says {expected}")]
    DataHashMismatch {
        /// SHA256d of the rebuilt batch.
        computed: H256,
        /// The commitment's data hash.
        expected: H256,
    },
    /// More distinct samples requested than the square has shares.
    #[error("{requested} distinct samples requested from a square of {available} shares")]
    TooManySamples {
        /// Samples asked for.
        requested: u64,
        /// Shares in the square.
        available: u64,
    },
    /// A confidence outside [0, 1].
    #[error("confidence {0} is not within [0, 1]")]
    InvalidConfidence(f64),
    /// Bytes that do not decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
}
