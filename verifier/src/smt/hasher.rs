//! The tree's hash functions: leaf hash, inner hash and the default (empty-subtree) hashes.
//!
//! The inner hash SHA256d(left ‖ right) runs on every level of every update and proof, so it is
//! computed with the SHA-256 compression function directly: both 64-byte blocks of the first
//! pass go in one call (the second block is the constant padding) and the second pass is one
//! block. `sha2` picks the SHA-NI / AVX2 / portable backend at run time. On x86_64 processors
//! with the SHA extensions, the `shani` module computes it instead, and [`lift_many`] and
//! [`hash_pairs`] run several independent hashes interleaved (about twice the throughput).

pub use super::portable::{defaults, leaf_hash, path_bit, portable_inner_hash, LiftTask};
use crate::hash::H256;

/// SHA256d(left ‖ right), the tree's inner node hash.
#[inline]
pub fn inner_hash(left: &H256, right: &H256) -> H256 {
    #[cfg(target_arch = "x86_64")]
    if let Some(h) = super::shani::inner_hash(left, right) {
        return h;
    }
    portable_inner_hash(left, right)
}

/// The root of the empty tree, `default[256]`.
pub fn empty_root() -> H256 {
    defaults()[256]
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
