//! SHA256d of 64-byte messages (the tree's inner hash) with the x86 SHA extensions, several
//! independent messages interleaved.
//!
//! One SHA-256 compression with SHA-NI is a chain of 32 `sha256rnds2` instructions, each waiting
//! for the one before: a single hash is bound by that latency, not by the core's throughput.
//! Running two (or more) independent hashes side by side fills the gaps, so lifting many leaves
//! at once, or hashing a level of inner nodes, costs about half as much per hash
//! (docs/benchmarks.md, "Account tree"). The padding block of the first pass is constant, so
//! its message schedule is precomputed; the second pass's message is the first pass's state
//! words, so no bytes are converted between the passes or between the levels of a lift.
//!
//! Only for x86_64 processors that have the extensions (checked at run time by [`available`]);
//! [`super::hasher`] falls back to the portable `sha2` code elsewhere. The functions here are
//! tested against that code.
// The one `unsafe` per entry point calls a `#[target_feature]` function after checking at run
// time that the processor has those features; everything inside is safe code.
#![allow(unsafe_code)]

use super::portable::{defaults, path_bit, LiftTask, IV};
use crate::hash::H256;
use core::arch::x86_64::*;
use std::sync::OnceLock;

/// How many hashes run interleaved. Two nearly fill the SHA unit in a micro-benchmark (72 ns
/// per SHA256d against 108 ns for one); in the batch update four lift ~10 % faster than two.
const LANES: usize = 4;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// W[i] + K[i] of the padding block of a 64-byte message (0x80, zeros, length 512): the same
/// for every message, so computed once.
const PAD_WK: [u32; 64] = {
    let mut w = [0u32; 64];
    w[0] = 0x8000_0000;
    w[15] = 512;
    let mut i = 16;
    while i < 64 {
        let a = w[i - 15];
        let b = w[i - 2];
        let s0 = a.rotate_right(7) ^ a.rotate_right(18) ^ (a >> 3);
        let s1 = b.rotate_right(17) ^ b.rotate_right(19) ^ (b >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
        i += 1;
    }
    let mut i = 0;
    while i < 64 {
        w[i] = w[i].wrapping_add(K[i]);
        i += 1;
    }
    w
};

/// True when this processor has the SHA extensions (and SSSE3 / SSE4.1), so the functions of
/// this module return `Some`. The answer is cached by the standard library.
pub fn available() -> bool {
    std::is_x86_feature_detected!("sha")
        && std::is_x86_feature_detected!("ssse3")
        && std::is_x86_feature_detected!("sse4.1")
}

/// SHA256d(left ‖ right); `None` when the processor lacks the extensions.
pub fn inner_hash(left: &H256, right: &H256) -> Option<H256> {
    if !available() {
        return None;
    }
    // SAFETY: the features `inner_hash_x` is compiled for were checked just above.
    Some(unsafe { inner_hash_x(left, right) })
}

/// SHA256d of each `(left, right)` pair into `out` (same length); `false` (and nothing
/// written) when the processor lacks the extensions.
pub fn hash_pairs(pairs: &[(H256, H256)], out: &mut [H256]) -> bool {
    assert_eq!(pairs.len(), out.len(), "hash_pairs: output length");
    if !available() {
        return false;
    }
    // SAFETY: the features `hash_pairs_x` is compiled for were checked just above.
    unsafe { hash_pairs_x(pairs, out) };
    true
}

/// Lift every task (see [`LiftTask`]); `false` (and nothing changed) when the processor lacks
/// the extensions.
pub fn lift_many(tasks: &mut [LiftTask]) -> bool {
    if !available() {
        return false;
    }
    // SAFETY: the features `lift_many_x` is compiled for were checked just above.
    unsafe { lift_many_x(tasks) };
    true
}

/// A hash as two vectors of its big-endian words (lane 0 = first word).
type Words = [__m128i; 2];

/// The SHA-256 state in the order the SHA instructions use: (ABEF, CDGH).
type State = (__m128i, __m128i);

/// The byte shuffle that turns 16 bytes into 4 big-endian words and back.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn bswap_mask() -> __m128i {
    _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203)
}

#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn load(h: &H256) -> Words {
    let half = |i: usize| {
        let lo = u64::from_le_bytes(h.0[16 * i..16 * i + 8].try_into().expect("8 bytes"));
        let hi = u64::from_le_bytes(h.0[16 * i + 8..16 * i + 16].try_into().expect("8 bytes"));
        _mm_shuffle_epi8(_mm_set_epi64x(hi as i64, lo as i64), bswap_mask())
    };
    [half(0), half(1)]
}

#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn store(w: Words) -> H256 {
    let mut out = [0u8; 32];
    for (i, v) in w.into_iter().enumerate() {
        let b = _mm_shuffle_epi8(v, bswap_mask());
        out[16 * i..16 * i + 8].copy_from_slice(&(_mm_extract_epi64(b, 0) as u64).to_le_bytes());
        out[16 * i + 8..16 * i + 16]
            .copy_from_slice(&(_mm_extract_epi64(b, 1) as u64).to_le_bytes());
    }
    H256(out)
}

#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn words(a: u32, b: u32, c: u32, d: u32) -> __m128i {
    _mm_set_epi32(d as i32, c as i32, b as i32, a as i32)
}

#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn iv() -> State {
    (
        _mm_set_epi32(IV[0] as i32, IV[1] as i32, IV[4] as i32, IV[5] as i32),
        _mm_set_epi32(IV[2] as i32, IV[3] as i32, IV[6] as i32, IV[7] as i32),
    )
}

/// The state's words in message order (A..D, E..H).
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn state_words(s: State) -> Words {
    let feba = _mm_shuffle_epi32(s.0, 0x1b);
    let dchg = _mm_shuffle_epi32(s.1, 0xb1);
    [
        _mm_blend_epi16(feba, dchg, 0xf0),
        _mm_alignr_epi8(dchg, feba, 8),
    ]
}

/// Four rounds on every lane with the message words plus constants `wk`.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn rounds4<const N: usize>(st: &mut [State; N], wk: [__m128i; N]) {
    for l in 0..N {
        let (abef, cdgh) = &mut st[l];
        *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk[l]);
        *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk[l], 0x0e));
    }
}

/// One compression of a message block on every lane (message as 4 word vectors).
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn compress<const N: usize>(st: &mut [State; N], mut w: [[__m128i; 4]; N]) {
    let save = *st;
    for i in 0..16 {
        let k = words(K[4 * i], K[4 * i + 1], K[4 * i + 2], K[4 * i + 3]);
        let mut wk = [k; N];
        for l in 0..N {
            if i >= 4 {
                let [w0, w1, w2, w3] = w[l];
                let t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
                w[l] = [w1, w2, w3, _mm_sha256msg2_epu32(t, w3)];
                wk[l] = _mm_add_epi32(w[l][3], k);
            } else {
                wk[l] = _mm_add_epi32(w[l][i], k);
            }
        }
        rounds4(st, wk);
    }
    for l in 0..N {
        st[l].0 = _mm_add_epi32(st[l].0, save[l].0);
        st[l].1 = _mm_add_epi32(st[l].1, save[l].1);
    }
}

/// The compression of the constant padding block of a 64-byte message, on every lane.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn compress_pad<const N: usize>(st: &mut [State; N]) {
    let save = *st;
    for i in 0..16 {
        let wk = words(
            PAD_WK[4 * i],
            PAD_WK[4 * i + 1],
            PAD_WK[4 * i + 2],
            PAD_WK[4 * i + 3],
        );
        rounds4(st, [wk; N]);
    }
    for l in 0..N {
        st[l].0 = _mm_add_epi32(st[l].0, save[l].0);
        st[l].1 = _mm_add_epi32(st[l].1, save[l].1);
    }
}

/// SHA256d of `N` 64-byte messages, each given as its two halves in words.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn sha256d_64<const N: usize>(msgs: [(Words, Words); N]) -> [Words; N] {
    let mut st = [iv(); N];
    let zero = _mm_setzero_si128();
    let mut w = [[zero; 4]; N];
    for l in 0..N {
        let (a, b) = msgs[l];
        w[l] = [a[0], a[1], b[0], b[1]];
    }
    compress(&mut st, w);
    compress_pad(&mut st);
    // Second pass: the 32-byte digest, 0x80, zeros, length 256.
    let tail = [words(0x8000_0000, 0, 0, 0), words(0, 0, 0, 256)];
    for l in 0..N {
        let d = state_words(st[l]);
        w[l] = [d[0], d[1], tail[0], tail[1]];
    }
    let mut st2 = [iv(); N];
    compress(&mut st2, w);
    let mut out = [[zero; 2]; N];
    for l in 0..N {
        out[l] = state_words(st2[l]);
    }
    out
}

#[target_feature(enable = "sha,ssse3,sse4.1")]
fn inner_hash_x(left: &H256, right: &H256) -> H256 {
    let [h] = sha256d_64::<1>([(load(left), load(right))]);
    store(h)
}

#[target_feature(enable = "sha,ssse3,sse4.1")]
fn hash_pairs_x(pairs: &[(H256, H256)], out: &mut [H256]) {
    let mut chunks = pairs.chunks_exact(LANES);
    let mut outs = out.chunks_exact_mut(LANES);
    for (p, o) in (&mut chunks).zip(&mut outs) {
        let mut msgs = [(load(&p[0].0), load(&p[0].1)); LANES];
        for l in 1..LANES {
            msgs[l] = (load(&p[l].0), load(&p[l].1));
        }
        let h = sha256d_64::<LANES>(msgs);
        for l in 0..LANES {
            o[l] = store(h[l]);
        }
    }
    for (p, o) in chunks.remainder().iter().zip(outs.into_remainder()) {
        *o = inner_hash_x(&p.0, &p.1);
    }
}

/// The default hashes as words.
fn default_words() -> &'static [[u32; 8]; 257] {
    static W: OnceLock<[[u32; 8]; 257]> = OnceLock::new();
    W.get_or_init(|| {
        let mut w = [[0u32; 8]; 257];
        for (wh, d) in w.iter_mut().zip(defaults()) {
            for (x, b) in wh.iter_mut().zip(d.0.chunks_exact(4)) {
                *x = u32::from_be_bytes(b.try_into().expect("4 bytes"));
            }
        }
        w
    })
}

#[target_feature(enable = "sha,ssse3,sse4.1")]
fn lift_many_x(tasks: &mut [LiftTask]) {
    let dw = default_words();
    let zero = _mm_setzero_si128();
    // Each lane works through one task at a time; a lane whose task is done takes the next.
    let mut lane: [Option<usize>; LANES] = [None; LANES];
    let mut cur = [[zero; 2]; LANES];
    let mut height = [0usize; LANES];
    let mut next = 0;
    loop {
        for l in 0..LANES {
            while lane[l].is_none() && next < tasks.len() {
                let t = &tasks[next];
                if t.from < t.to {
                    lane[l] = Some(next);
                    cur[l] = load(&t.hash);
                    height[l] = t.from as usize;
                }
                next += 1;
            }
        }
        if lane.iter().all(Option::is_none) {
            return;
        }
        let mut msgs = [([zero; 2], [zero; 2]); LANES];
        for l in 0..LANES {
            if let Some(t) = lane[l] {
                let h = height[l];
                let d = &dw[h];
                let sib = [words(d[0], d[1], d[2], d[3]), words(d[4], d[5], d[6], d[7])];
                msgs[l] = if path_bit(&tasks[t].key, h) {
                    (sib, cur[l])
                } else {
                    (cur[l], sib)
                };
            }
        }
        let out = sha256d_64::<LANES>(msgs);
        for l in 0..LANES {
            if let Some(t) = lane[l] {
                cur[l] = out[l];
                height[l] += 1;
                if height[l] == tasks[t].to as usize {
                    tasks[t].hash = store(cur[l]);
                    lane[l] = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_pair;
    use crate::smt::hasher::leaf_hash;

    /// The lift with the generic `sha2` hash, independent of this module.
    fn lift(key: &H256, mut cur: H256, from: usize, to: usize) -> H256 {
        for i in from..to {
            let d = defaults()[i];
            cur = if path_bit(key, i) {
                hash_pair(&d, &cur)
            } else {
                hash_pair(&cur, &d)
            };
        }
        cur
    }

    fn h(i: u64) -> H256 {
        crate::hash::sha256d(&i.to_le_bytes())
    }

    #[test]
    fn inner_hash_and_pairs_equal_the_portable_hash() {
        if !available() {
            eprintln!("no SHA extensions here: nothing to compare");
            return;
        }
        let pairs: Vec<(H256, H256)> = (0..9).map(|i| (h(i), h(100 + i))).collect();
        let mut out = vec![H256::ZERO; pairs.len()];
        assert!(hash_pairs(&pairs, &mut out));
        for (p, o) in pairs.iter().zip(&out) {
            assert_eq!(*o, hash_pair(&p.0, &p.1));
            assert_eq!(inner_hash(&p.0, &p.1), Some(*o));
        }
        assert!(hash_pairs(&[], &mut []));
    }

    #[test]
    fn lift_many_equals_lift_one_by_one() {
        if !available() {
            eprintln!("no SHA extensions here: nothing to compare");
            return;
        }
        // Tasks of different lengths, empty ones, and ones starting above the leaf level, so
        // lanes finish at different times and are refilled.
        let mut tasks: Vec<LiftTask> = (0..11u64)
            .map(|i| {
                let key = h(1000 + i);
                let from = [0u16, 0, 5, 17, 200, 0, 3, 255, 40, 0, 9][i as usize];
                let to = [140u16, 0, 150, 17, 256, 1, 256, 256, 41, 256, 90][i as usize];
                LiftTask {
                    key,
                    hash: leaf_hash(&key, &i.to_le_bytes()),
                    from,
                    to,
                }
            })
            .collect();
        let want: Vec<H256> = tasks
            .iter()
            .map(|t| {
                if t.from < t.to {
                    lift(&t.key, t.hash, t.from as usize, t.to as usize)
                } else {
                    t.hash
                }
            })
            .collect();
        assert!(lift_many(&mut tasks));
        let got: Vec<H256> = tasks.iter().map(|t| t.hash).collect();
        assert_eq!(got, want);
    }
}
