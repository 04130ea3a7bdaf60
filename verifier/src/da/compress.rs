//! Batch compression with zstd (native builds; the `zstd` feature).
//!
//! The payload is one zstd frame that declares its content size (zstd's one-shot compressor
//! always writes it). Decompression refuses frames without a declared size or whose size is over
//! [`DaParams::max_batch_size`], so a small payload cannot make a verifier allocate without bound.
//! zstd output depends on the zstd version and level, so verifiers never recompress: they check
//! the payload against the roots and the decompressed batch against the data hash.

use super::{DaError, DaParams};

/// Compress `batch` into a payload at `params.zstd_level`; fails with
/// [`DaError::BatchTooLarge`] when the payload is over `params.max_compressed_size`.
#[cfg(feature = "zstd")]
pub fn compress_batch(batch: &[u8], params: &DaParams) -> Result<Vec<u8>, DaError> {
    params.validate()?;
    let range = zstd::compression_level_range();
    if !range.contains(&params.zstd_level) {
        return Err(DaError::InvalidParams(format!(
            "zstd level {} outside {}..={}",
            params.zstd_level,
            range.start(),
            range.end()
        )));
    }
    let payload = zstd::bulk::compress(batch, params.zstd_level)
        .map_err(|e| DaError::Compression(e.to_string()))?;
    if payload.len() > params.max_compressed_size {
        return Err(DaError::BatchTooLarge {
            size: payload.len() as u64,
            max: params.max_compressed_size as u64,
        });
    }
    Ok(payload)
}

/// Compress `batch` (unavailable: this build has no zstd).
#[cfg(not(feature = "zstd"))]
pub fn compress_batch(_batch: &[u8], _params: &DaParams) -> Result<Vec<u8>, DaError> {
    Err(DaError::CompressionUnavailable)
}

/// Decompress a payload: one zstd frame declaring a content size of at most
/// `params.max_batch_size` bytes, which must be exactly the bytes it yields.
#[cfg(feature = "zstd")]
pub fn decompress_batch(payload: &[u8], params: &DaParams) -> Result<Vec<u8>, DaError> {
    let declared = zstd::zstd_safe::get_frame_content_size(payload)
        .map_err(|_| DaError::Decompression("not a zstd frame".into()))?
        .ok_or_else(|| DaError::Decompression("zstd frame does not declare its size".into()))?;
    if declared > params.max_batch_size as u64 {
        return Err(DaError::DecompressedTooLarge {
            size: declared,
            max: params.max_batch_size as u64,
        });
    }
    let out = zstd::bulk::decompress(payload, declared as usize)
        .map_err(|e| DaError::Decompression(e.to_string()))?;
    if out.len() as u64 != declared {
        return Err(DaError::Decompression(format!(
            "frame declares {declared} bytes but yields {}",
            out.len()
        )));
    }
    Ok(out)
}

/// Decompress a payload (unavailable: this build has no zstd).
#[cfg(not(feature = "zstd"))]
pub fn decompress_batch(_payload: &[u8], _params: &DaParams) -> Result<Vec<u8>, DaError> {
    Err(DaError::CompressionUnavailable)
}
