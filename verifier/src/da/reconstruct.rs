//! Rebuilding a square from proven shares by iterated row and column decoding.

use super::bad_encoding::BadEncodingProof;
use super::commitment::{share_leaf, DACommitment};
use super::compress::decompress_batch;
use super::sample::{verify_sample, Axis, Sample, ShareProof};
use super::square::{rs_err, ExtendedSquare, LineCoder};
use super::{DaError, DaParams, SHARE_SIZE};
use crate::hash::{merkle_branch, merkle_root, sha256d, H256};
use rayon::prelude::*;
use reed_solomon_simd::ReedSolomonDecoder;

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
/// duplicates ignored), then call [`Reconstructor::finish`] (or [`Reconstructor::into_square`]).
///
/// The fast path decodes k lines of one axis that have at least k known shares, recovers the
/// original quadrant from them with one decode over whole lines, re-extends it, and accepts the
/// result only if all 4k roots equal the committed ones. Otherwise the careful path alternates
/// rounds over the rows and the columns: every line with at least k of its 2k shares known is
/// decoded, and every line, decoded or complete from the start, must be a codeword whose Merkle
/// root is the committed one. A line that is not yields [`DaError::BadEncoding`] with a proof;
/// too few shares yield [`DaError::NotEnoughShares`]. Every share is authenticated at every step
/// (given with a verified proof, or rebuilt in a line that matched its root), so a bad-encoding
/// proof never blames an honest producer for a peer's bad share.
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

    fn check_line(
        &self,
        coder: &mut LineCoder,
        axis: Axis,
        i: usize,
    ) -> Result<LineOutcome, DaError> {
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

    /// Fast path: complete k lines of `axis` (one decode each, in parallel), recover the first
    /// k lines of that axis from them with a single decode over whole lines, re-extend, and
    /// accept only when every row and column root of the result is the committed one (then the
    /// commitment is that of a correctly extended square, and the given shares are in it).
    /// `None` when too few lines have k shares or a root differs: the careful path decides.
    fn fast_rebuild(&self, axis: Axis) -> Result<Option<ExtendedSquare>, DaError> {
        let (k, w, s) = (self.k, self.width(), SHARE_SIZE);
        let mut lines: Vec<usize> = (0..w).filter(|&i| self.line_known(axis, i) >= k).collect();
        if lines.len() < k {
            return Ok(None);
        }
        // Lines already complete first, then lines with all their originals, then the rest.
        lines.sort_by_key(|&i| {
            let known = self.known_in_line(axis, i);
            (
                known.len() < w,
                known.iter().take_while(|(p, _)| *p < k).count() < k,
                i,
            )
        });
        lines.truncate(k);
        lines.sort_unstable();
        let full: Vec<Vec<u8>> = lines
            .par_iter()
            .map_init(
                || LineCoder::new(k),
                |coder, &i| match coder {
                    Ok(coder) => coder.complete(&self.known_in_line(axis, i)),
                    Err(e) => Err(e.clone()),
                },
            )
            .collect::<Result<_, _>>()?;
        // Lines 0..k of `axis`, each 2k shares, from the k complete lines.
        let mut first: Vec<Vec<u8>> = vec![Vec::new(); k];
        for (i, line) in lines.iter().zip(&full) {
            if *i < k {
                first[*i] = line.clone();
            }
        }
        if first.iter().any(|l| l.is_empty()) {
            let mut dec = ReedSolomonDecoder::new(k, k, w * s).map_err(rs_err)?;
            for (&i, line) in lines.iter().zip(&full) {
                if i < k {
                    dec.add_original_shard(i, line).map_err(rs_err)?;
                } else {
                    dec.add_recovery_shard(i - k, line).map_err(rs_err)?;
                }
            }
            let res = dec.decode().map_err(rs_err)?;
            for (i, l) in first.iter_mut().enumerate() {
                if l.is_empty() {
                    *l = res
                        .restored_original(i)
                        .ok_or_else(|| DaError::ErasureCoding(format!("{axis} {i} not restored")))?
                        .to_vec();
                }
            }
        }
        // The original quadrant, row-major, and its extension.
        let mut q1 = vec![0u8; k * k * s];
        for (i, line) in first.iter().enumerate() {
            for p in 0..k {
                let (r, c) = self.cell(axis, i, p);
                q1[(r * k + c) * s..(r * k + c + 1) * s].copy_from_slice(&line[p * s..(p + 1) * s]);
            }
        }
        let sq = ExtendedSquare::from_quadrant(k, self.commitment.data_size, &q1)?;
        let ok = sq.row_roots() == self.commitment.row_roots.as_slice()
            && sq.column_roots() == self.commitment.column_roots.as_slice();
        Ok(ok.then_some(sq))
    }

    /// Rebuild the whole square: the fast path over rows, then over columns, then the careful
    /// path, which decodes line by line, checks each line as it goes and produces the
    /// bad-encoding proof or the not-enough-shares error.
    pub fn into_square(self) -> Result<ExtendedSquare, DaError> {
        self.into_square_with(true)
    }

    pub(crate) fn into_square_with(mut self, fast: bool) -> Result<ExtendedSquare, DaError> {
        if fast {
            for axis in [Axis::Row, Axis::Column] {
                if let Some(sq) = self.fast_rebuild(axis)? {
                    return Ok(sq);
                }
            }
        }
        self.careful_rebuild()?;
        let (k, size) = (self.k, self.commitment.data_size);
        ExtendedSquare::from_shares(k, size, self.data)
    }

    /// Rebuild every share and check every line. After success the square is complete and every
    /// row and column is a codeword matching its root.
    fn careful_rebuild(&mut self) -> Result<(), DaError> {
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
    pub fn finish_payload(self) -> Result<Vec<u8>, DaError> {
        let data_size = self.commitment.data_size;
        let sq = self.into_square()?;
        if !sq.padding_is_zero() {
            return Err(DaError::NonZeroPadding { data_size });
        }
        Ok(sq.payload())
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
