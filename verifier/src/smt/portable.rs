//! The tree's hash primitives that need no processor extension: SHA-256's initial state, the
//! portable inner hash, the leaf hash, the default (empty-subtree) hashes, the path bits and the
//! lift task. Both [`super::hasher`] and the SHA-NI code (`shani`) build on them.

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

/// Bit `i` of the key's path, counted from the leaf level: `i = 0` decides the last step above
/// the leaf, `i = 255` the first step under the root. It is bit `i % 8` of key byte `i / 8`, so
/// the first step under the root is the most significant bit of byte 31.
#[inline]
pub fn path_bit(key: &H256, i: usize) -> bool {
    (key.0[i / 8] >> (i % 8)) & 1 == 1
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
