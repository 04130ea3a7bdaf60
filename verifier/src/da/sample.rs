//! Samples (one share with its Merkle proof), their verification, the sampling plan and the
//! confidence that sampling gives.

use super::commitment::{share_leaf, DACommitment, MAX_SQUARE_K};
use super::{serde_hex, DaError, SHARE_SIZE};
use crate::codec::{write_vec, CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d_parts, verify_merkle_branch, MerkleBranch, H256};
use std::collections::BTreeMap;
use std::fmt;

/// Domain prefix of the sampling stream:
/// block `b` = `SHA256d(SAMPLING_TAG ‖ seed ‖ b (u64 LE))`, read as four u64 LE words.
pub const SAMPLING_TAG: &[u8] = b"CASL2/DA/sampling";

/// Most siblings a share proof can have (log2 of the widest extended square).
const MAX_PROOF_DEPTH: u64 = (2 * MAX_SQUARE_K).ilog2() as u64;

/// A line of the extended square: a row or a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// A row (byte 0 on the wire).
    Row,
    /// A column (byte 1 on the wire).
    Column,
}

impl Axis {
    /// The other axis.
    pub fn other(self) -> Axis {
        match self {
            Axis::Row => Axis::Column,
            Axis::Column => Axis::Row,
        }
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::Row => "row",
            Axis::Column => "column",
        })
    }
}

impl Encode for Axis {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Axis::Row => 0,
            Axis::Column => 1,
        });
    }
}

impl Decode for Axis {
    const MIN_SIZE: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        match r.u8("Axis")? {
            0 => Ok(Axis::Row),
            1 => Ok(Axis::Column),
            v => Err(CodecError::Invalid {
                what: "Axis",
                detail: format!("tag {v}"),
            }),
        }
    }
}

/// A share's Merkle proof: to the root of its row (siblings along the row, the leaf at the
/// share's column) or of its column (the leaf at the share's row). The leaf position and the
/// tree size follow from the share's coordinates and the commitment's width.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShareProof {
    /// Which root the proof leads to.
    pub axis: Axis,
    /// Sibling hashes, leaf level first (log2(2k) of them).
    pub siblings: Vec<H256>,
}

impl ShareProof {
    /// The index-aware branch this proof stands for, for the share at (`row`, `column`) of a
    /// square of side `width`.
    pub fn to_branch(&self, row: u32, column: u32, width: u32) -> MerkleBranch {
        MerkleBranch {
            index: match self.axis {
                Axis::Row => column,
                Axis::Column => row,
            },
            leaf_count: width,
            siblings: self.siblings.clone(),
        }
    }
}

/// One share of the extended square with its proof.
///
/// Wire format: `row` (u32 LE) ‖ `column` (u32 LE) ‖ share ([`SHARE_SIZE`] raw bytes) ‖ axis
/// (u8: 0 row, 1 column) ‖ siblings (CompactSize count, at most 8, ‖ 32 bytes each).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Row of the share in the extended square.
    pub row: u32,
    /// Column of the share in the extended square.
    pub column: u32,
    /// The share's bytes (hex in serde formats).
    #[serde(with = "serde_hex")]
    pub share: Vec<u8>,
    /// The Merkle proof to the row root or the column root.
    pub proof: ShareProof,
}

impl Encode for Sample {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.row.to_le_bytes());
        out.extend_from_slice(&self.column.to_le_bytes());
        out.extend_from_slice(&self.share);
        self.proof.axis.encode_to(out);
        write_vec(out, &self.proof.siblings);
    }
}

impl Decode for Sample {
    const MIN_SIZE: usize = 4 + 4 + SHARE_SIZE + 1 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let row = r.u32("Sample.row")?;
        let column = r.u32("Sample.column")?;
        let share = r.take(SHARE_SIZE, "Sample.share")?.to_vec();
        let axis = Axis::decode_from(r)?;
        let siblings = r.vec("Sample.siblings", MAX_PROOF_DEPTH)?;
        Ok(Sample {
            row,
            column,
            share,
            proof: ShareProof { axis, siblings },
        })
    }
}

/// Check that `sample` is the share the commitment commits to at its coordinates: the
/// coordinates are inside the square, the share has [`SHARE_SIZE`] bytes, and its proof leads
/// to the committed row or column root. The commitment's shape is checked here (cheaply); its
/// erasure-coding and data roots are checked once with [`super::verify_commitment`].
pub fn verify_sample(commitment: &DACommitment, sample: &Sample) -> Result<(), DaError> {
    let width = 2 * commitment.check_shape()? as u32;
    let (row, column) = (sample.row, sample.column);
    if row >= width || column >= width {
        return Err(DaError::CoordinateOutOfRange { row, column, width });
    }
    if sample.share.len() != SHARE_SIZE {
        return Err(DaError::ShareSizeMismatch {
            row,
            column,
            got: sample.share.len(),
            expected: SHARE_SIZE,
        });
    }
    let axis = sample.proof.axis;
    let root = match axis {
        Axis::Row => &commitment.row_roots[row as usize],
        Axis::Column => &commitment.column_roots[column as usize],
    };
    let branch = sample.proof.to_branch(row, column, width);
    verify_merkle_branch(&share_leaf(&sample.share), &branch, root).map_err(|source| {
        DaError::InvalidShareProof {
            row,
            column,
            axis,
            source,
        }
    })
}

/// A deterministic stream of u64 words from a 32-byte seed.
struct SeedStream<'a> {
    seed: &'a [u8; 32],
    block: u64,
    words: [u64; 4],
    next: usize,
}

impl<'a> SeedStream<'a> {
    fn new(seed: &'a [u8; 32]) -> Self {
        SeedStream {
            seed,
            block: 0,
            words: [0; 4],
            next: 4,
        }
    }

    fn word(&mut self) -> u64 {
        if self.next == 4 {
            let h: H256 = sha256d_parts(&[SAMPLING_TAG, self.seed, &self.block.to_le_bytes()]);
            for (i, w) in self.words.iter_mut().enumerate() {
                let mut b = [0u8; 8];
                b.copy_from_slice(&h.0[8 * i..8 * i + 8]);
                *w = u64::from_le_bytes(b);
            }
            self.block += 1;
            self.next = 0;
        }
        self.next += 1;
        self.words[self.next - 1]
    }

    /// Uniform in `0..m` (m > 0), by rejection: words at or above the largest multiple of m
    /// below 2⁶⁴ are skipped.
    fn below(&mut self, m: u64) -> u64 {
        let limit = ((1u128 << 64) / m as u128) * m as u128;
        loop {
            let w = self.word();
            if (w as u128) < limit {
                return w % m;
            }
        }
    }
}

/// `count` distinct share coordinates `(row, column)` of a `width`×`width` square, drawn from
/// `seed` alone: a partial Fisher-Yates shuffle of the row-major indices
/// `0..width²`, where step i swaps position i with `i + below(width² − i)` and `below` reads the
/// [`SAMPLING_TAG`] stream with rejection sampling. The same seed always gives the same plan,
/// and each plan is a prefix of the plans with larger counts.
pub fn sampling_plan(
    seed: &[u8; 32],
    width: usize,
    count: usize,
) -> Result<Vec<(u32, u32)>, DaError> {
    if width == 0 || width > 2 * MAX_SQUARE_K {
        return Err(DaError::InvalidParams(format!(
            "square width {width} outside 1..={}",
            2 * MAX_SQUARE_K
        )));
    }
    let n = (width * width) as u64;
    if count as u64 > n {
        return Err(DaError::TooManySamples {
            requested: count as u64,
            available: n,
        });
    }
    let mut stream = SeedStream::new(seed);
    let mut moved: BTreeMap<u64, u64> = BTreeMap::new();
    let mut out = Vec::with_capacity(count);
    for i in 0..count as u64 {
        let j = i + stream.below(n - i);
        let at_j = *moved.get(&j).unwrap_or(&j);
        let at_i = *moved.get(&i).unwrap_or(&i);
        moved.insert(j, at_i);
        out.push(((at_j / width as u64) as u32, (at_j % width as u64) as u32));
    }
    Ok(out)
}

/// Confidence that a square of side 2k is recoverable after `samples` distinct shares, drawn
/// uniformly without replacement, were all served with valid proofs.
///
/// A square that cannot be rebuilt withholds at least (k+1)² of its (2k)² shares. The chance
/// that `s` distinct samples all miss a withheld set of that size is
/// C(N − W, s) / C(N, s) = ∏_{i<s} (N − W − i) / (N − i) with N = (2k)², W = (k+1)²; the
/// confidence is one minus that (and 1 once s > N − W). A k of 0 is treated as 1.
pub fn availability_confidence(k: usize, samples: usize) -> f64 {
    let k = k.max(1) as u64;
    let n = 4 * k * k;
    let good = n - (k + 1) * (k + 1);
    let s = samples as u64;
    if s > good {
        return 1.0;
    }
    let mut p = 1.0f64;
    for i in 0..s {
        p *= (good - i) as f64 / (n - i) as f64;
    }
    1.0 - p
}

/// The fewest distinct samples after which [`availability_confidence`] reaches `confidence`
/// (for example 0.9999). Fails for a confidence outside [0, 1].
pub fn samples_needed(k: usize, confidence: f64) -> Result<usize, DaError> {
    if !(0.0..=1.0).contains(&confidence) {
        return Err(DaError::InvalidConfidence(confidence));
    }
    let k = k.max(1) as u64;
    let n = 4 * k * k;
    let good = n - (k + 1) * (k + 1);
    let mut p = 1.0f64;
    let mut s = 0u64;
    loop {
        if 1.0 - p >= confidence {
            return Ok(s as usize);
        }
        if s >= good {
            return Ok(good as usize + 1);
        }
        p *= (good - s) as f64 / (n - s) as f64;
        s += 1;
    }
}
