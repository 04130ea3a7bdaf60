//! The extended square: payload layout, the 2D Reed-Solomon extension, leaves and roots.

use super::commitment::{share_leaf, square_k_for, DACommitment, MAX_SQUARE_K};
use super::compress::compress_batch;
use super::sample::{Axis, Sample, ShareProof};
use super::{DaError, DaParams, SHARE_SIZE};
use crate::hash::{merkle_branch, merkle_root, sha256d, H256};
use rayon::prelude::*;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

pub(crate) fn rs_err(e: reed_solomon_simd::Error) -> DaError {
    DaError::ErasureCoding(e.to_string())
}

/// Reed-Solomon for single lines of 2k shares (k originals, k parity), with reusable buffers.
pub(crate) struct LineCoder {
    k: usize,
    enc: ReedSolomonEncoder,
    dec: ReedSolomonDecoder,
}

impl LineCoder {
    pub(crate) fn new(k: usize) -> Result<Self, DaError> {
        Ok(LineCoder {
            k,
            enc: ReedSolomonEncoder::new(k, k, SHARE_SIZE).map_err(rs_err)?,
            dec: ReedSolomonDecoder::new(k, k, SHARE_SIZE).map_err(rs_err)?,
        })
    }

    /// The codeword (2k shares, flat) through the first k entries of `known`, which are
    /// `(position, share)` with distinct positions below 2k and shares of [`SHARE_SIZE`] bytes.
    pub(crate) fn complete(&mut self, known: &[(usize, &[u8])]) -> Result<Vec<u8>, DaError> {
        let (k, s) = (self.k, SHARE_SIZE);
        let used = known.get(..k).ok_or(DaError::ErasureCoding(format!(
            "{} shares given, a line needs {k}",
            known.len()
        )))?;
        let mut line = vec![0u8; 2 * k * s];
        let mut have = vec![false; k];
        for &(p, d) in used {
            if p < k {
                line[p * s..(p + 1) * s].copy_from_slice(d);
                have[p] = true;
            }
        }
        if have.iter().any(|h| !h) {
            self.dec.reset(k, k, s).map_err(rs_err)?;
            for &(p, d) in used {
                if p < k {
                    self.dec.add_original_shard(p, d).map_err(rs_err)?;
                } else {
                    self.dec.add_recovery_shard(p - k, d).map_err(rs_err)?;
                }
            }
            let res = self.dec.decode().map_err(rs_err)?;
            for (i, h) in have.iter().enumerate() {
                if !h {
                    let r = res.restored_original(i).ok_or_else(|| {
                        DaError::ErasureCoding(format!("original {i} not restored"))
                    })?;
                    line[i * s..(i + 1) * s].copy_from_slice(r);
                }
            }
        }
        self.enc.reset(k, k, s).map_err(rs_err)?;
        for i in 0..k {
            self.enc
                .add_original_shard(&line[i * s..(i + 1) * s])
                .map_err(rs_err)?;
        }
        let res = self.enc.encode().map_err(rs_err)?;
        for j in 0..k {
            let r = res
                .recovery(j)
                .ok_or_else(|| DaError::ErasureCoding(format!("parity {j} missing")))?;
            line[(k + j) * s..(k + j + 1) * s].copy_from_slice(r);
        }
        Ok(line)
    }
}

/// Number of parallel pieces to cut `units` work units into.
fn pieces(units: usize) -> usize {
    rayon::current_num_threads().clamp(1, units.max(1))
}

/// Extend the k×k originals of `data` (row-major 2k×2k shares) to the whole square.
///
/// Reed-Solomon in reed-solomon-simd is the same linear map on every 64-byte chunk of the
/// shards, so encoding long shards that are concatenations of shares equals encoding share
/// line by share line. Rows: shard c = column c of the originals (k shares stacked). Columns:
/// shard r = row r of the top half (2k shares), parity rows written in place.
fn extend_in_place(data: &mut [u8], k: usize) -> Result<(), DaError> {
    let row_bytes = 2 * k * SHARE_SIZE;
    let (top, _) = data.split_at_mut(k * row_bytes);
    extend_rows(top, k)?;
    extend_columns(data, k)
}

/// Row parity of the top k rows (originals in the first k shares of each row).
fn extend_rows(top: &mut [u8], k: usize) -> Result<(), DaError> {
    let s = SHARE_SIZE;
    let row_bytes = 2 * k * s;

    // Row parity, the originals' rows cut into groups, one encode per group.
    let rows_per = k.div_ceil(pieces(k));
    top.par_chunks_mut(rows_per * row_bytes)
        .try_for_each(|group| -> Result<(), DaError> {
            let rows = group.len() / row_bytes;
            let mut enc = ReedSolomonEncoder::new(k, k, rows * s).map_err(rs_err)?;
            let mut shard = vec![0u8; rows * s];
            for c in 0..k {
                for r in 0..rows {
                    let at = r * row_bytes + c * s;
                    shard[r * s..(r + 1) * s].copy_from_slice(&group[at..at + s]);
                }
                enc.add_original_shard(&shard).map_err(rs_err)?;
            }
            let res = enc.encode().map_err(rs_err)?;
            for j in 0..k {
                let rec = res
                    .recovery(j)
                    .ok_or_else(|| DaError::ErasureCoding(format!("row parity {j} missing")))?;
                for r in 0..rows {
                    let at = r * row_bytes + (k + j) * s;
                    group[at..at + s].copy_from_slice(&rec[r * s..(r + 1) * s]);
                }
            }
            Ok(())
        })?;
    Ok(())
}

/// Bottom k rows from the complete top k rows: byte ranges of the rows (multiples of 64 bytes)
/// encoded in parallel.
fn extend_columns(data: &mut [u8], k: usize) -> Result<(), DaError> {
    let row_bytes = 2 * k * SHARE_SIZE;
    let (top, bottom) = data.split_at_mut(k * row_bytes);
    let n = pieces(row_bytes / 64);
    let chunk = (row_bytes / n).div_ceil(64) * 64;
    let mut tasks: Vec<Vec<&mut [u8]>> = (0..n).map(|_| Vec::with_capacity(k)).collect();
    for row in bottom.chunks_mut(row_bytes) {
        let mut rest = row;
        for t in tasks.iter_mut() {
            let take = chunk.min(rest.len());
            let (a, b) = std::mem::take(&mut rest).split_at_mut(take);
            t.push(a);
            rest = b;
        }
    }
    let top: &[u8] = top;
    tasks
        .into_par_iter()
        .enumerate()
        .try_for_each(|(t, mut outs)| -> Result<(), DaError> {
            let start = t * chunk;
            let len = outs.first().map_or(0, |o| o.len());
            if len == 0 {
                return Ok(());
            }
            let mut enc = ReedSolomonEncoder::new(k, k, len).map_err(rs_err)?;
            for r in 0..k {
                let at = r * row_bytes + start;
                enc.add_original_shard(&top[at..at + len]).map_err(rs_err)?;
            }
            let res = enc.encode().map_err(rs_err)?;
            for (j, o) in outs.iter_mut().enumerate() {
                let rec = res
                    .recovery(j)
                    .ok_or_else(|| DaError::ErasureCoding(format!("column parity {j} missing")))?;
                o.copy_from_slice(rec);
            }
            Ok(())
        })
}

/// A 2k×2k extended square with its leaves and roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedSquare {
    k: usize,
    data_size: u64,
    data: Vec<u8>,
    leaves: Vec<H256>,
    row_roots: Vec<H256>,
    column_roots: Vec<H256>,
}

impl ExtendedSquare {
    /// Lay `payload` into the smallest k×k square that holds it (share i at row i / k, column
    /// i mod k, zero padding after the payload) and extend it to 2k×2k.
    pub fn extend(payload: &[u8]) -> Result<Self, DaError> {
        let k = square_k_for(payload.len() as u64).ok_or(DaError::BatchTooLarge {
            size: payload.len() as u64,
            max: (MAX_SQUARE_K * MAX_SQUARE_K * SHARE_SIZE) as u64,
        })?;
        let s = SHARE_SIZE;
        let w = 2 * k;
        let mut data = vec![0u8; w * w * s];
        for (i, chunk) in payload.chunks(s).enumerate() {
            let at = ((i / k) * w + i % k) * s;
            data[at..at + chunk.len()].copy_from_slice(chunk);
        }
        extend_in_place(&mut data, k)?;
        Ok(Self::with_roots(k, payload.len() as u64, data))
    }

    /// Extend the original quadrant `q1` (k×k shares, row-major).
    pub(crate) fn from_quadrant(k: usize, data_size: u64, q1: &[u8]) -> Result<Self, DaError> {
        let (w, s) = (2 * k, SHARE_SIZE);
        let mut data = vec![0u8; w * w * s];
        for r in 0..k {
            data[r * w * s..(r * w + k) * s].copy_from_slice(&q1[r * k * s..(r + 1) * k * s]);
        }
        extend_in_place(&mut data, k)?;
        Ok(Self::with_roots(k, data_size, data))
    }

    /// True when every byte of the original quadrant after the payload is zero.
    pub(crate) fn padding_is_zero(&self) -> bool {
        let (k, w) = (self.k, self.width());
        let size = self.data_size as usize;
        (0..k * k).all(|i| {
            let at = ((i / k) * w + i % k) * SHARE_SIZE;
            let used = size.saturating_sub(i * SHARE_SIZE).min(SHARE_SIZE);
            self.data[at + used..at + SHARE_SIZE]
                .iter()
                .all(|&b| b == 0)
        })
    }

    /// A square from raw shares (row-major, (2k)² × [`SHARE_SIZE`] bytes) **without checking
    /// that it is a valid extension**: for tests and fraud simulations. The payload size must
    /// imply this k.
    pub fn from_shares(k: usize, data_size: u64, shares: Vec<u8>) -> Result<Self, DaError> {
        if square_k_for(data_size) != Some(k) {
            return Err(DaError::MalformedCommitment(format!(
                "a {data_size}-byte payload does not give k = {k}"
            )));
        }
        let expected = 4 * k * k * SHARE_SIZE;
        if shares.len() != expected {
            return Err(DaError::InvalidParams(format!(
                "{} bytes of shares, a {k}x{k} square extends to {expected}",
                shares.len()
            )));
        }
        Ok(Self::with_roots(k, data_size, shares))
    }

    fn with_roots(k: usize, data_size: u64, data: Vec<u8>) -> Self {
        let w = 2 * k;
        let leaves: Vec<H256> = data.par_chunks(SHARE_SIZE).map(share_leaf).collect();
        let row_roots = (0..w)
            .into_par_iter()
            .map(|r| merkle_root(&leaves[r * w..(r + 1) * w]))
            .collect();
        let column_roots = (0..w)
            .into_par_iter()
            .map(|c| {
                let col: Vec<H256> = (0..w).map(|r| leaves[r * w + c]).collect();
                merkle_root(&col)
            })
            .collect();
        ExtendedSquare {
            k,
            data_size,
            data,
            leaves,
            row_roots,
            column_roots,
        }
    }

    /// Side of the original square.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Side of the extended square (2k).
    pub fn width(&self) -> usize {
        2 * self.k
    }

    /// Bytes of payload in the square.
    pub fn data_size(&self) -> u64 {
        self.data_size
    }

    /// All shares, row-major.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The share at (`row`, `column`).
    pub fn share(&self, row: usize, column: usize) -> Option<&[u8]> {
        let w = self.width();
        if row >= w || column >= w {
            return None;
        }
        let at = (row * w + column) * SHARE_SIZE;
        Some(&self.data[at..at + SHARE_SIZE])
    }

    /// Row roots, top first.
    pub fn row_roots(&self) -> &[H256] {
        &self.row_roots
    }

    /// Column roots, left first.
    pub fn column_roots(&self) -> &[H256] {
        &self.column_roots
    }

    /// The Merkle leaves of a row or column.
    pub fn line_leaves(&self, axis: Axis, index: usize) -> Vec<H256> {
        let w = self.width();
        if index >= w {
            return Vec::new();
        }
        match axis {
            Axis::Row => self.leaves[index * w..(index + 1) * w].to_vec(),
            Axis::Column => (0..w).map(|r| self.leaves[r * w + index]).collect(),
        }
    }

    /// The commitment to this square, for a batch hashing to `data_hash`.
    pub fn commitment(&self, data_hash: H256) -> DACommitment {
        DACommitment {
            data_hash,
            data_size: self.data_size,
            erasure_coding_root: DACommitment::compute_erasure_coding_root(
                &self.row_roots,
                &self.column_roots,
            ),
            row_roots: self.row_roots.clone(),
            column_roots: self.column_roots.clone(),
        }
    }

    /// The share at (`row`, `column`) with its proof to its row root (`Axis::Row`) or its
    /// column root (`Axis::Column`).
    pub fn sample(&self, row: usize, column: usize, axis: Axis) -> Option<Sample> {
        let share = self.share(row, column)?.to_vec();
        let (line, pos) = match axis {
            Axis::Row => (row, column),
            Axis::Column => (column, row),
        };
        let branch = merkle_branch(&self.line_leaves(axis, line), pos)?;
        Some(Sample {
            row: row as u32,
            column: column as u32,
            share,
            proof: ShareProof {
                axis,
                siblings: branch.siblings,
            },
        })
    }

    /// The payload: the first `data_size` bytes of the original shares in payload order.
    pub fn payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data_size as usize);
        let mut left = self.data_size as usize;
        let (k, w) = (self.k, self.width());
        for i in 0..k * k {
            if left == 0 {
                break;
            }
            let at = ((i / k) * w + i % k) * SHARE_SIZE;
            let n = left.min(SHARE_SIZE);
            out.extend_from_slice(&self.data[at..at + n]);
            left -= n;
        }
        out
    }
}

/// A batch made available: its extended square and its commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    /// The commitment (its [`DACommitment::data_root`] goes into the batch header).
    pub commitment: DACommitment,
    /// The extended square, for serving samples and shares.
    pub square: ExtendedSquare,
}

/// Extend an already compressed `payload` of a batch that hashes to `data_hash` (works without
/// zstd). Fails with [`DaError::BatchTooLarge`] over `params.max_compressed_size`.
pub fn encode_payload(
    payload: &[u8],
    data_hash: H256,
    params: &DaParams,
) -> Result<EncodedBatch, DaError> {
    params.validate()?;
    if payload.len() > params.max_compressed_size {
        return Err(DaError::BatchTooLarge {
            size: payload.len() as u64,
            max: params.max_compressed_size as u64,
        });
    }
    let square = ExtendedSquare::extend(payload)?;
    Ok(EncodedBatch {
        commitment: square.commitment(data_hash),
        square,
    })
}

/// Compress `batch`, extend it and commit to it (needs the `zstd` feature).
pub fn encode_batch(batch: &[u8], params: &DaParams) -> Result<EncodedBatch, DaError> {
    let payload = compress_batch(batch, params)?;
    encode_payload(&payload, sha256d(batch), params)
}
