//! The tree's hash functions: leaf hash, inner hash and the default (empty-subtree) hashes.
//!
//! The inner hash SHA256d(left ‖ right) runs on every level of every update and proof, so it is
//! computed with the SHA-256 compression function directly: both 64-byte blocks of the first
//! pass go in one call (the second block is the constant padding) and the second pass is one
//! block. `sha2` picks the SHA-NI / AVX2 / portable backend at run time. On x86_64 processors
//! with the SHA extensions, the `shani` module computes it instead, and [`lift_many`] and
//! [`hash_pairs`] run several independent hashes interleaved (about twice the throughput).

use crate::hash::{sha256d_parts, H256};
#[allow(deprecated)]
use sha2::digest::generic_array::GenericArray;
use std::sync::OnceLock;

/// SHA-256's initial state.
pub(super) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Padding block of a 64-byte message: 0x80, zeros, bit length 512 big-endian.
const PAD64: [u8; 64] = {
    let mut b = [0u8; 64];
    b[0] = 0x80;
    b[62] = 0x02;
    b
};

/// SHA256d(left ‖ right), the tree's inner node hash.
#[inline]
pub fn inner_hash(left: &H256, right: &H256) -> H256 {
    #[cfg(target_arch = "x86_64")]
    if let Some(h) = super::shani::inner_hash(left, right) {
        return h;
    }
    portable_inner_hash(left, right)
}

/// SHA256d(left ‖ right) with `sha2`'s compression function (any processor).
// `sha2` 0.10 takes blocks as generic-array 0.14 arrays, which that crate marks deprecated.
#[allow(deprecated)]
#[inline]
pub fn portable_inner_hash(left: &H256, right: &H256) -> H256 {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&left.0);
    block[32..].copy_from_slice(&right.0);
    let mut st = IV;
    sha2::compress256(
        &mut st,
        &[
            GenericArray::clone_from_slice(&block),
            GenericArray::clone_from_slice(&PAD64),
        ],
    );
    let mut second = [0u8; 64];
    for (i, w) in st.iter().enumerate() {
        second[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
    }
    second[32] = 0x80;
    second[62] = 0x01; // 256 bits
    let mut st2 = IV;
    sha2::compress256(&mut st2, &[GenericArray::clone_from_slice(&second)]);
    let mut out = [0u8; 32];
    for (i, w) in st2.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
    }
    H256(out)
}

/// SHA256d(0x00 ‖ key ‖ value), the hash of a leaf at height 0.
pub fn leaf_hash(key: &H256, value: &[u8]) -> H256 {
    sha256d_parts(&[&[0u8], &key.0, value])
}

/// `default[h]`: the hash of an empty subtree of height `h` (0 = leaf level, 256 = root).
/// `default[0]` = leaf_hash(32 zero bytes, empty value); `default[h]` = inner(default[h-1], default[h-1]).
pub fn defaults() -> &'static [H256; 257] {
    static D: OnceLock<[H256; 257]> = OnceLock::new();
    D.get_or_init(|| {
        let mut d = [H256::ZERO; 257];
        d[0] = leaf_hash(&H256::ZERO, &[]);
        for h in 1..=256 {
            d[h] = portable_inner_hash(&d[h - 1], &d[h - 1]);
        }
        d
    })
}

/// The root of the empty tree, `default[256]`.
pub fn empty_root() -> H256 {
    defaults()[256]
}

/// Bit `i` of the key's path, counted from the leaf level: `i = 0` decides the last step above
/// the leaf, `i = 255` the first step under the root. It is bit `i % 8` of key byte `i / 8`, so
/// the first step under the root is the most significant bit of byte 31.
#[inline]
pub fn path_bit(key: &H256, i: usize) -> bool {
    (key.0[i / 8] >> (i % 8)) & 1 == 1
}

/// One step up: combine `cur` (the node on the key's path at height `i`) with its sibling.
#[inline]
pub fn step_up(key: &H256, i: usize, cur: &H256, sibling: &H256) -> H256 {
    if path_bit(key, i) {
        inner_hash(sibling, cur)
    } else {
        inner_hash(cur, sibling)
    }
}

/// The hash of a subtree of height `height` holding only the leaf `(key, value)`.
pub fn single_leaf_hash(key: &H256, value: &[u8], height: usize) -> H256 {
    lift(key, leaf_hash(key, value), 0, height)
}

/// Lift the hash of a single-leaf subtree from height `from` to height `to` through empty siblings.
pub fn lift(key: &H256, mut cur: H256, from: usize, to: usize) -> H256 {
    for (i, sibling) in defaults().iter().enumerate().take(to).skip(from) {
        cur = step_up(key, i, &cur, sibling);
    }
    cur
}

/// One leaf hash to fold upwards through empty siblings: `hash` is the subtree's hash at height
/// `from`; [`lift_many`] leaves there its hash at height `to` (the key's path bits decide the
/// side at each level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiftTask {
    /// The leaf's key (its path).
    pub key: H256,
    /// The hash at `from`, then at `to`.
    pub hash: H256,
    /// Height of `hash` on input.
    pub from: u16,
    /// Height wanted.
    pub to: u16,
}

/// Lift every task: each `hash` at height `from` becomes the hash of the same single-leaf
/// subtree at height `to` (as [`lift`] does one at a time, but interleaved where the processor
/// allows).
pub fn lift_many(tasks: &mut [LiftTask]) {
    #[cfg(target_arch = "x86_64")]
    if super::shani::lift_many(tasks) {
        return;
    }
    for t in tasks {
        t.hash = lift(&t.key, t.hash, t.from as usize, t.to as usize);
    }
}

/// `out[i] = inner_hash(pairs[i].0, pairs[i].1)` for every pair (interleaved where the processor
/// allows). Panics when the lengths differ.
pub fn hash_pairs(pairs: &[(H256, H256)], out: &mut [H256]) {
    assert_eq!(pairs.len(), out.len(), "hash_pairs: output length");
    #[cfg(target_arch = "x86_64")]
    if super::shani::hash_pairs(pairs, out) {
        return;
    }
    for (p, o) in pairs.iter().zip(out) {
        *o = portable_inner_hash(&p.0, &p.1);
    }
}

/// Order of keys along the tree's paths (left subtree first at every level): compare the key
/// bytes from 31 down to 0, each from its most significant bit.
pub fn path_cmp(a: &H256, b: &H256) -> std::cmp::Ordering {
    a.0.iter().rev().cmp(b.0.iter().rev())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_pair;

    #[test]
    fn inner_hash_equals_generic_sha256d() {
        let a = H256([7u8; 32]);
        let b = H256([9u8; 32]);
        assert_eq!(inner_hash(&a, &b), hash_pair(&a, &b));
        assert_eq!(inner_hash(&b, &a), hash_pair(&b, &a));
        assert_eq!(portable_inner_hash(&a, &b), hash_pair(&a, &b));
    }

    #[test]
    fn lift_many_and_hash_pairs_equal_one_at_a_time() {
        let key = H256([0x5a; 32]);
        let mut tasks: Vec<LiftTask> = (0..5u16)
            .map(|i| LiftTask {
                key,
                hash: H256([i as u8; 32]),
                from: i * 10,
                to: 100 + i * 30,
            })
            .collect();
        let want: Vec<H256> = tasks
            .iter()
            .map(|t| lift(&t.key, t.hash, t.from as usize, t.to as usize))
            .collect();
        lift_many(&mut tasks);
        assert_eq!(tasks.iter().map(|t| t.hash).collect::<Vec<_>>(), want);
        let pairs: Vec<(H256, H256)> = want.windows(2).map(|w| (w[0], w[1])).collect();
        let mut out = vec![H256::ZERO; pairs.len()];
        hash_pairs(&pairs, &mut out);
        for (p, o) in pairs.iter().zip(&out) {
            assert_eq!(*o, hash_pair(&p.0, &p.1));
        }
    }

    #[test]
    fn default_hash_vectors() {
        let d = defaults();
        assert_eq!(
            d[0].to_hex(),
            "0x44cf874abb7d10b323d5f6bf5bd4a5f25e3fe3d27fc74d59d7c258f4e5ed35c4"
        );
        assert_eq!(
            d[1].to_hex(),
            "0xaccd95660afe41e7acf7d484ebe1c3b6d98bff2b7069c753073f4dad767dc839"
        );
        assert_eq!(
            d[256].to_hex(),
            "0x4723327d9084dcf14fab1f9bc77046a1cd4a664fa0ad86bb75dca5ba22347f15"
        );
    }

    #[test]
    fn path_order_matches_bits() {
        let mut a = H256::ZERO;
        let mut b = H256::ZERO;
        a.0[31] = 0x7f;
        b.0[31] = 0x80;
        assert!(!path_bit(&a, 255) && path_bit(&b, 255));
        assert_eq!(path_cmp(&a, &b), std::cmp::Ordering::Less);
        a.0[0] = 0xff; // lower-order bytes matter less
        assert_eq!(path_cmp(&a, &b), std::cmp::Ordering::Less);
    }
}
