//! Data availability: compressed batches, a 2D Reed-Solomon extension, row and column roots,
//! sample proofs, sampling confidence, reconstruction and bad-encoding proofs.
//!
//! The layer works on a batch as bytes (`&[u8]`); how a batch is serialized is not its business.
//!
//! 1. **Payload.** The batch is compressed with zstd ([`compress_batch`], native builds with the
//!    `zstd` feature). The compressed bytes are the *payload*; it may be at most
//!    [`DaParams::max_compressed_size`] bytes (128 KiB by default).
//! 2. **Square.** The payload is cut into [`SHARE_SIZE`]-byte shares, laid row by row into a
//!    k×k square (k the smallest power of two with k² shares ≥ the payload, at least 1; the tail is
//!    zero-padded) and extended to 2k×2k with Reed-Solomon (reed-solomon-simd, GF(2¹⁶)) over the
//!    rows and then over the columns ([`ExtendedSquare`]). Quadrants: original (top left), row
//!    parity (top right), column parity (bottom left), parity of parity (bottom right). Every row
//!    and every column of the extended square is a codeword: any k of its 2k shares give the rest.
//! 3. **Commitment.** Each share is a Merkle leaf `SHA256d("CASL2/DA/share" ‖ share)`; each row and
//!    each column has a Bitcoin-style SHA256d Merkle root ([`crate::hash::merkle_root`]); the
//!    erasure-coding root is the Merkle root of the 2k row roots followed by the 2k column roots;
//!    [`DACommitment::data_root`] binds the batch hash, the payload size and that root, and is what
//!    a batch header carries.
//! 4. **Samples.** A [`Sample`] is one share with its Merkle proof to its row root or its column
//!    root ([`verify_sample`]). [`sampling_plan`] draws distinct coordinates from a caller-given
//!    seed; [`availability_confidence`] and [`samples_needed`] relate the number of good samples
//!    to the confidence that the square is recoverable.
//! 5. **Reconstruction.** [`Reconstructor`] / [`reconstruct`] rebuild the square from any
//!    sufficient set of proven shares by iterated row and column decoding, check every line
//!    against its root and every line for being a codeword, decompress, and check the batch hash.
//! 6. **Bad encoding.** When a line does not match its root (or is not a codeword), reconstruction
//!    fails with a [`BadEncodingProof`]: k shares of that line, each proven against a committed
//!    root, which [`verify_bad_encoding_proof`] checks without the rest of the square.
//!
//! Everything here is deterministic: no I/O, no clock, no randomness of its own (the sampling
//! seed comes in as an argument).

mod bad_encoding;
mod blocks;
mod commitment;
mod compress;
mod error;
mod reconstruct;
mod sample;
mod serde_hex;
mod square;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_sampling;

pub use bad_encoding::{verify_bad_encoding_proof, BadEncodingProof};
pub use blocks::{decode_blocks, encode_blocks, serialize_blocks, MAX_BLOCKS_PER_BATCH};
pub use commitment::{
    share_leaf, square_k_for, verify_commitment, DACommitment, DATA_ROOT_TAG, MAX_SQUARE_K,
    SHARE_LEAF_TAG,
};
pub use compress::{compress_batch, decompress_batch};
pub use error::DaError;
pub use reconstruct::{reconstruct, reconstruct_payload, Reconstructor};
pub use sample::{
    availability_confidence, samples_needed, sampling_plan, verify_sample, Axis, Sample,
    ShareProof, SAMPLING_TAG,
};
pub use square::{encode_batch, encode_payload, EncodedBatch, ExtendedSquare};

/// Bytes in one share. A multiple of 64, so that Reed-Solomon over whole rows of shares equals
/// Reed-Solomon share column by share column (reed-solomon-simd works in 64-byte chunks).
pub const SHARE_SIZE: usize = 512;

/// Default cap on the compressed payload: 128 KiB (256 shares, a 16×16 square).
pub const DEFAULT_MAX_COMPRESSED_SIZE: usize = 128 * 1024;

/// Default cap on a decompressed batch: 16 MiB (a guard against decompression bombs).
pub const DEFAULT_MAX_BATCH_SIZE: usize = 16 * 1024 * 1024;

/// Default zstd level.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Parameters of the data availability layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DaParams {
    /// Largest payload (compressed batch) accepted, in bytes. At most
    /// `MAX_SQUARE_K² × SHARE_SIZE` (8 MiB).
    pub max_compressed_size: usize,
    /// Largest batch accepted after decompression, in bytes.
    pub max_batch_size: usize,
    /// zstd compression level (only used when compressing).
    pub zstd_level: i32,
}

impl DaParams {
    /// 128 KiB payloads, 16 MiB batches, zstd level 3.
    pub const DEFAULT: DaParams = DaParams {
        max_compressed_size: DEFAULT_MAX_COMPRESSED_SIZE,
        max_batch_size: DEFAULT_MAX_BATCH_SIZE,
        zstd_level: DEFAULT_ZSTD_LEVEL,
    };

    /// Check that the parameters are usable.
    pub fn validate(&self) -> Result<(), DaError> {
        let cap = MAX_SQUARE_K * MAX_SQUARE_K * SHARE_SIZE;
        if self.max_compressed_size > cap {
            return Err(DaError::InvalidParams(format!(
                "max_compressed_size {} exceeds the largest square's {} bytes",
                self.max_compressed_size, cap
            )));
        }
        Ok(())
    }
}

impl Default for DaParams {
    fn default() -> Self {
        DaParams::DEFAULT
    }
}
