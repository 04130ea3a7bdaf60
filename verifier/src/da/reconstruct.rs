//! Rebuilding a square from proven shares by iterated row and column decoding.

use super::bad_encoding::BadEncodingProof;
use super::commitment::{share_leaf, DACommitment};
use super::compress::decompress_batch;
use super::sample::{verify_sample, Axis, Sample, ShareProof};
use super::square::LineCoder;
use super::{DaError, DaParams, SHARE_SIZE};
use crate::hash::{merkle_branch, merkle_root, sha256d, H256};
use rayon::prelude::*;

/// How a known share was authenticated.
#[derive(Debug, Clone)]
enum Source {
    Unknown,
    /// Given as a sample whose proof verified.
    Given(ShareProof),
    /// Rebuilt by decoding a row (or column) whose full rebuilt line matched its root.
    Line(Axis),
}

/// A line decoded or checked: the codeword through its known shares, the codeword's leaves, and
/// whether the known shares lie on that codeword and the codeword matches the committed root.
struct LineOutcome {
    index: usize,
    line: Vec<u8>,
    leaves: Vec<H256>,
    ok: bool,
}

/// Rebuilds an extended square from proven shares.
///
/// Add samples (each verified against the commitment as it comes; invalid ones are refused,
/// duplicates ignored), then call [`Reconstructor::finish`]. Decoding alternates rounds over the
/// rows and the columns: every line with at least k of its 2k shares known is decoded, and every
/// line, decoded or complete from the start, must be a codeword whose Merkle root is the
/// committed one. A line that is not yields [`DaError::BadEncoding`] with a proof; too few shares
/// yield [`DaError::NotEnoughShares`]. Every share in the square is authenticated at every step,
/// so a bad-encoding proof never blames an honest producer for a peer's bad share.
#[derive(Debug)]
pub struct Reconstructor {
    commitment: DACommitment,
    params: DaParams,
    k: usize,
    data: Vec<u8>,
    source: Vec<Source>,
    known: usize,
    row_known: Vec<usize>,
    column_known: Vec<usize>,
    row_leaves: Vec<Option<Vec<H256>>>,
    column_leaves: Vec<Option<Vec<H256>>>,
}

impl Reconstructor {
    /// Start from a commitment (its shape and erasure-coding root are checked here; check its
    /// data root against the batch header with [`super::verify_commitment`]).
    pub fn new(commitment: &DACommitment, params: &DaParams) -> Result<Self, DaError> {
        params.validate()?;
        commitment.validate()?;
        if commitment.data_size > params.max_compressed_size as u64 {
            return Err(DaError::BatchTooLarge {
                size: commitment.data_size,
                max: params.max_compressed_size as u64,
            });
        }
        let k = commitment.k();
        let w = 2 * k;
        Ok(Reconstructor {
            commitment: commitment.clone(),
            params: *params,
            k,
            data: vec![0u8; w * w * SHARE_SIZE],
            source: vec![Source::Unknown; w * w],
            known: 0,
            row_known: vec![0; w],
            column_known: vec![0; w],
            row_leaves: vec![None; w],
            column_leaves: vec![None; w],
        })
    }

    /// Side of the extended square.
    pub fn width(&self) -> usize {
        2 * self.k
    }

    /// Shares known so far (given or rebuilt).
    pub fn known(&self) -> usize {
        self.known
    }

    /// Verify `sample` against the commitment and keep its share. Returns `Ok(false)` when that
    /// share was already known (the first proven copy is kept).
    pub fn add_sample(&mut self, sample: &Sample) -> Result<bool, DaError> {
        verify_sample(&self.commitment, sample)?;
        let (r, c) = (sample.row as usize, sample.column as usize);
        let cell = r * self.width() + c;
        if !matches!(self.source[cell], Source::Unknown) {
            return Ok(false);
        }
        self.data[cell * SHARE_SIZE..(cell + 1) * SHARE_SIZE].copy_from_slice(&sample.share);
        self.source[cell] = Source::Given(sample.proof.clone());
        self.mark_known(r, c);
        Ok(true)
    }

    fn mark_known(&mut self, r: usize, c: usize) {
        self.known += 1;
        self.row_known[r] += 1;
        self.column_known[c] += 1;
    }

    fn cell(&self, axis: Axis, line: usize, pos: usize) -> (usize, usize) {
        match axis {
            Axis::Row => (line, pos),
            Axis::Column => (pos, line),
        }
    }

    fn share(&self, r: usize, c: usize) -> &[u8] {
        let at = (r * self.width() + c) * SHARE_SIZE;
        &self.data[at..at + SHARE_SIZE]
    }

    fn is_known(&self, r: usize, c: usize) -> bool {
        !matches!(self.source[r * self.width() + c], Source::Unknown)
    }

    fn line_known(&self, axis: Axis, i: usize) -> usize {
        match axis {
            Axis::Row => self.row_known[i],
            Axis::Column => self.column_known[i],
        }
    }

    fn leaves(&self, axis: Axis) -> &[Option<Vec<H256>>] {
        match axis {
            Axis::Row => &self.row_leaves,
            Axis::Column => &self.column_leaves,
        }
    }

    /// Known `(position, share)` of a line, by position.
    fn known_in_line(&self, axis: Axis, i: usize) -> Vec<(usize, &[u8])> {
        (0..self.width())
            .filter_map(|p| {
                let (r, c) = self.cell(axis, i, p);
                self.is_known(r, c).then(|| (p, self.share(r, c)))
            })
            .collect()
    }

    fn check_line(&self, coder: &mut LineCoder, axis: Axis, i: usize) -> Result<LineOutcome, DaError> {
        let known = self.known_in_line(axis, i);
        let line = coder.complete(&known)?;
        let consistent = known
            .iter()
            .all(|&(p, d)| &line[p * SHARE_SIZE..(p + 1) * SHARE_SIZE] == d);
        let leaves: Vec<H256> = line.chunks(SHARE_SIZE).map(share_leaf).collect();
        let root = self.commitment.line_root(axis, i);
        let ok = consistent && root == Some(&merkle_root(&leaves));
        Ok(LineOutcome {
            index: i,
            line,
            leaves,
            ok,
        })
    }

    /// Decode (or, with `complete`, check) every line of `axis` that qualifies, in parallel.
    /// Returns whether any line was processed.
    fn round(&mut self, axis: Axis, complete: bool) -> Result<bool, DaError> {
        let (w, k) = (self.width(), self.k);
        let todo: Vec<usize> = (0..w)
            .filter(|&i| {
                let n = self.line_known(axis, i);
                self.leaves(axis)[i].is_none() && if complete { n == w } else { n >= k && n < w }
            })
            .collect();
        if todo.is_empty() {
            return Ok(false);
        }
        let this = &*self;
        let outcomes: Vec<LineOutcome> = todo
            .par_iter()
            .map_init(
                || LineCoder::new(k),
                |coder, &i| match coder {
                    Ok(coder) => this.check_line(coder, axis, i),
                    Err(e) => Err(e.clone()),
                },
            )
            .collect::<Result<_, _>>()?;
        if let Some(bad) = outcomes.iter().find(|o| !o.ok) {
            let proof = self.bad_encoding_proof(axis, bad.index)?;
            return Err(DaError::BadEncoding(Box::new(proof)));
        }
        for o in outcomes {
            for p in 0..w {
                let (r, c) = self.cell(axis, o.index, p);
                if !self.is_known(r, c) {
                    let at = (r * w + c) * SHARE_SIZE;
                    self.data[at..at + SHARE_SIZE]
                        .copy_from_slice(&o.line[p * SHARE_SIZE..(p + 1) * SHARE_SIZE]);
                    self.source[r * w + c] = Source::Line(axis);
                    self.mark_known(r, c);
                }
            }
            match axis {
                Axis::Row => self.row_leaves[o.index] = Some(o.leaves),
                Axis::Column => self.column_leaves[o.index] = Some(o.leaves),
            }
        }
        Ok(true)
    }

    /// Rebuild every share and check every line. After success the square is complete and every
    /// row and column is a codeword matching its root.
    pub fn rebuild(&mut self) -> Result<(), DaError> {
        loop {
            let rows = self.round(Axis::Row, false)?;
            let columns = self.round(Axis::Column, false)?;
            if !rows && !columns {
                break;
            }
        }
        let total = self.width() * self.width();
        if self.known < total {
            return Err(DaError::NotEnoughShares {
                known: self.known,
                total,
                missing: total - self.known,
            });
        }
        self.round(Axis::Row, true)?;
        self.round(Axis::Column, true)?;
        Ok(())
    }

    /// The sample for a known share, with the proof by which it was authenticated.
    fn proven_sample(&self, r: usize, c: usize) -> Result<Sample, DaError> {
        let proof = match &self.source[r * self.width() + c] {
            Source::Unknown => {
                return Err(DaError::ErasureCoding(format!("share ({r}, {c}) unknown")))
            }
            Source::Given(p) => p.clone(),
            Source::Line(axis) => {
                let (line, pos) = match axis {
                    Axis::Row => (r, c),
                    Axis::Column => (c, r),
                };
                let leaves = self.leaves(*axis)[line].as_deref().unwrap_or(&[]);
                let branch = merkle_branch(leaves, pos).ok_or_else(|| {
                    DaError::ErasureCoding(format!("{axis} {line} has no verified leaves"))
                })?;
                ShareProof {
                    axis: *axis,
                    siblings: branch.siblings,
                }
            }
        };
        Ok(Sample {
            row: r as u32,
            column: c as u32,
            share: self.share(r, c).to_vec(),
            proof,
        })
    }

    /// A proof that line `i` of `axis` is badly encoded: k of its known shares whose codeword's
    /// root is not the committed one.
    fn bad_encoding_proof(&self, axis: Axis, i: usize) -> Result<BadEncodingProof, DaError> {
        let k = self.k;
        let mut coder = LineCoder::new(k)?;
        let known = self.known_in_line(axis, i);
        let root = self.commitment.line_root(axis, i).copied();
        let root_of = |line: &[u8]| {
            let leaves: Vec<H256> = line.chunks(SHARE_SIZE).map(share_leaf).collect();
            merkle_root(&leaves)
        };
        let mut chosen: Vec<usize> = known.iter().take(k).map(|&(p, _)| p).collect();
        let a = coder.complete(&known)?;
        if Some(root_of(&a)) == root {
            // The first k shares give the committed line; some other known share is off it.
            // Any k shares including that one give a different codeword, hence another root.
            let off = known
                .iter()
                .find(|&&(p, d)| &a[p * SHARE_SIZE..(p + 1) * SHARE_SIZE] != d)
                .map(|&(p, _)| p)
                .ok_or_else(|| {
                    DaError::ErasureCoding(format!("{axis} {i} is consistent with its root"))
                })?;
            chosen.pop();
            chosen.push(off);
            chosen.sort_unstable();
            let subset: Vec<(usize, &[u8])> = known
                .iter()
                .copied()
                .filter(|(p, _)| chosen.contains(p))
                .collect();
            if Some(root_of(&coder.complete(&subset)?)) == root {
                return Err(DaError::ErasureCoding(format!(
                    "{axis} {i}: no subset of shares disproves its root"
                )));
            }
        }
        let shares = chosen
            .iter()
            .map(|&p| {
                let (r, c) = self.cell(axis, i, p);
                self.proven_sample(r, c)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BadEncodingProof {
            axis,
            index: i as u32,
            shares,
        })
    }

    /// Rebuild and return the payload (the compressed batch): the first `data_size` bytes of
    /// the original shares, whose zero padding is checked.
    pub fn finish_payload(mut self) -> Result<Vec<u8>, DaError> {
        self.rebuild()?;
        let (k, w) = (self.k, self.width());
        let size = self.commitment.data_size as usize;
        let mut payload = Vec::with_capacity(size);
        for i in 0..k * k {
            let share = self.share(i / k, i % k);
            let start = i * SHARE_SIZE;
            let n = size.saturating_sub(start).min(SHARE_SIZE);
            payload.extend_from_slice(&share[..n]);
            if share[n..].iter().any(|&b| b != 0) {
                return Err(DaError::NonZeroPadding {
                    data_size: self.commitment.data_size,
                });
            }
        }
        debug_assert_eq!(w * w, self.known);
        Ok(payload)
    }

    /// Rebuild, decompress and return the batch, checking it against the data hash.
    pub fn finish(self) -> Result<Vec<u8>, DaError> {
        let expected = self.commitment.data_hash;
        let params = self.params;
        let payload = self.finish_payload()?;
        let batch = decompress_batch(&payload, &params)?;
        let computed = sha256d(&batch);
        if computed != expected {
            return Err(DaError::DataHashMismatch { computed, expected });
        }
        Ok(batch)
    }
}

/// Rebuild the payload (compressed batch) from `samples`; works without zstd.
pub fn reconstruct_payload(
    commitment: &DACommitment,
    samples: &[Sample],
    params: &DaParams,
) -> Result<Vec<u8>, DaError> {
    let mut r = Reconstructor::new(commitment, params)?;
    for s in samples {
        r.add_sample(s)?;
    }
    r.finish_payload()
}

/// Rebuild the batch from `samples`: verify every sample, decode, check every row and column,
/// decompress and check the data hash. Any invalid sample fails the call (use
/// [`Reconstructor`] to skip bad samples instead).
pub fn reconstruct(
    commitment: &DACommitment,
    samples: &[Sample],
    params: &DaParams,
) -> Result<Vec<u8>, DaError> {
    let mut r = Reconstructor::new(commitment, params)?;
    for s in samples {
        r.add_sample(s)?;
    }
    r.finish()
}
