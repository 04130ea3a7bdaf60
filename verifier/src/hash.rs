//! Hashes and fixed-size identifiers: SHA256d, HASH160, [`H256`] (`uint256`) and [`Address`]
//! (`uint160`), and the Bitcoin-style Merkle root with index-aware inclusion proofs.
//!
//! Both identifier types print in **raw byte order** as `0x…`. The real node's `GetHex()` prints
//! them reversed; [`H256::to_node_hex`] / [`H256::from_node_hex`] (and the same on [`Address`])
//! convert from and to that display.

use crate::codec::{CodecError, Decode, Encode, Reader};
use ripemd::{Digest as _, Ripemd160};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// SHA-256 of SHA-256 of `data`.
pub fn sha256d(data: &[u8]) -> H256 {
    H256(Sha256::digest(Sha256::digest(data)).into())
}

/// SHA256d of the concatenation of `parts` (no separators).
pub fn sha256d_parts(parts: &[&[u8]]) -> H256 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    H256(Sha256::digest(h.finalize()).into())
}

/// SHA256d(left ‖ right): the inner node hash of the account tree and of transaction Merkle trees.
#[inline]
pub fn hash_pair(left: &H256, right: &H256) -> H256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&left.0);
    buf[32..].copy_from_slice(&right.0);
    sha256d(&buf)
}

/// RIPEMD160(SHA256(data)), Bitcoin's key id.
pub fn hash160(data: &[u8]) -> Address {
    let sha: [u8; 32] = Sha256::digest(data).into();
    Address(Ripemd160::digest(sha).into())
}

/// Why a hex identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// Wrong number of hex digits.
    #[error("expected {expected} hex digits (optionally after 0x), got {got}")]
    Length {
        /// Digits expected.
        expected: usize,
        /// Digits found.
        got: usize,
    },
    /// A character that is not a hex digit.
    #[error("not hex: {0}")]
    NotHex(String),
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if t.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            got: t.len(),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(t, &mut out).map_err(|e| HexError::NotHex(e.to_string()))?;
    Ok(out)
}

macro_rules! fixed_bytes {
    ($name:ident, $n:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// All zero bytes.
            pub const ZERO: $name = $name([0u8; $n]);
            /// Number of bytes.
            pub const LEN: usize = $n;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
            /// True when every byte is zero.
            pub fn is_zero(&self) -> bool {
                self.0 == [0u8; $n]
            }
            /// Parse `0x` + hex digits in raw byte order (the `0x` is optional).
            pub fn from_hex(s: &str) -> Result<Self, HexError> {
                parse_hex::<$n>(s).map($name)
            }
            /// Raw byte order, `0x`-prefixed.
            pub fn to_hex(&self) -> String {
                format!("0x{}", hex::encode(self.0))
            }
            /// The real node's `GetHex()` display: bytes reversed, no prefix.
            pub fn to_node_hex(&self) -> String {
                let mut b = self.0;
                b.reverse();
                hex::encode(b)
            }
            /// Parse the real node's reversed `GetHex()` display (with or without `0x`).
            pub fn from_node_hex(s: &str) -> Result<Self, HexError> {
                let mut b = parse_hex::<$n>(s)?;
                b.reverse();
                Ok($name(b))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "0x{}", hex::encode(self.0))
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(0x{})", stringify!($name), hex::encode(self.0))
            }
        }
        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                Self::from_hex(s)
            }
        }
        impl From<[u8; $n]> for $name {
            fn from(b: [u8; $n]) -> Self {
                $name(b)
            }
        }
        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
        impl Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }
        impl Decode for $name {
            const MIN_SIZE: usize = $n;
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
                Ok($name(r.array(stringify!($name))?))
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fixed_bytes!(
    H256,
    32,
    "A 256-bit value (`uint256`): hashes, roots, tree keys."
);
fixed_bytes!(
    Address,
    20,
    "A 160-bit address (`uint160`): HASH160 of a compressed public key."
);

impl Address {
    /// The account-tree key of this address: the 20 bytes in key bytes 0..19, the rest zero.
    pub fn tree_key(&self) -> H256 {
        let mut k = [0u8; 32];
        k[..20].copy_from_slice(&self.0);
        H256(k)
    }
}

/// Bitcoin-style Merkle root of `leaves`: pairs hashed with SHA256d(left ‖ right), an odd last
/// entry paired with itself; one leaf is the root; no leaves give 32 zero bytes.
pub fn merkle_root(leaves: &[H256]) -> H256 {
    if leaves.is_empty() {
        return H256::ZERO;
    }
    let mut level: Vec<H256> = leaves.to_vec();
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
}

fn next_level(level: &[H256]) -> Vec<H256> {
    level
        .chunks(2)
        .map(|c| hash_pair(&c[0], c.get(1).unwrap_or(&c[0])))
        .collect()
}

/// An index-aware inclusion proof in a Bitcoin-style Merkle tree: the leaf's position, the
/// number of leaves, and the sibling at each level (bottom first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MerkleBranch {
    /// Position of the leaf.
    pub index: u32,
    /// Number of leaves in the tree.
    pub leaf_count: u32,
    /// Sibling hashes, leaf level first.
    pub siblings: Vec<H256>,
}

/// Why a Merkle branch does not prove inclusion.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MerkleError {
    /// The index is not below the leaf count.
    #[error("leaf index {index} out of range for {leaf_count} leaves")]
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The count.
        leaf_count: u32,
    },
    /// The branch has the wrong number of siblings for the tree size.
    #[error("branch has {got} siblings, a tree of {leaf_count} leaves needs {expected}")]
    WrongDepth {
        /// Siblings given.
        got: usize,
        /// Siblings needed.
        expected: usize,
        /// Leaves.
        leaf_count: u32,
    },
    /// A self-paired node's sibling is not the node itself (CVE-2012-2459 style ambiguity).
    #[error("sibling at level {0} must equal the node for an odd last entry")]
    BadSelfPair(usize),
    /// The computed root differs.
    #[error("root mismatch: computed {computed}, expected {expected}")]
    RootMismatch {
        /// What the branch folds to.
        computed: H256,
        /// The trusted root.
        expected: H256,
    },
}

fn depth_for(leaf_count: u32) -> usize {
    let mut n = leaf_count as u64;
    let mut d = 0;
    while n > 1 {
        n = n.div_ceil(2);
        d += 1;
    }
    d
}

/// Build the inclusion proof of leaf `index`; `None` when the index is out of range.
pub fn merkle_branch(leaves: &[H256], index: usize) -> Option<MerkleBranch> {
    if index >= leaves.len() || leaves.len() > u32::MAX as usize {
        return None;
    }
    let mut siblings = Vec::new();
    let mut level: Vec<H256> = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sib = if i % 2 == 1 {
            level[i - 1]
        } else {
            *level.get(i + 1).unwrap_or(&level[i])
        };
        siblings.push(sib);
        level = next_level(&level);
        i /= 2;
    }
    Some(MerkleBranch {
        index: index as u32,
        leaf_count: leaves.len() as u32,
        siblings,
    })
}

/// Check that `leaf` sits at `branch.index` of a tree of `branch.leaf_count` leaves whose root is
/// `root`. The index fixes left/right at every level, so a proof cannot be replayed at another
/// position, and the self-pairing of odd last entries is checked.
pub fn verify_merkle_branch(
    leaf: &H256,
    branch: &MerkleBranch,
    root: &H256,
) -> Result<(), MerkleError> {
    if branch.index >= branch.leaf_count {
        return Err(MerkleError::IndexOutOfRange {
            index: branch.index,
            leaf_count: branch.leaf_count,
        });
    }
    let expected = depth_for(branch.leaf_count);
    if branch.siblings.len() != expected {
        return Err(MerkleError::WrongDepth {
            got: branch.siblings.len(),
            expected,
            leaf_count: branch.leaf_count,
        });
    }
    let mut cur = *leaf;
    let mut i = branch.index as u64;
    let mut width = branch.leaf_count as u64;
    for (level, sib) in branch.siblings.iter().enumerate() {
        if i % 2 == 1 {
            cur = hash_pair(sib, &cur);
        } else if i + 1 == width {
            if sib != &cur {
                return Err(MerkleError::BadSelfPair(level));
            }
            cur = hash_pair(&cur, &cur);
        } else {
            cur = hash_pair(&cur, sib);
        }
        i /= 2;
        width = width.div_ceil(2);
    }
    if &cur != root {
        return Err(MerkleError::RootMismatch {
            computed: cur,
            expected: *root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256d_of_empty() {
        assert_eq!(
            sha256d(b"").to_hex(),
            "0x5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
    }

    #[test]
    fn hash160_of_generator_pubkey() {
        // Compressed secp256k1 generator point; its HASH160 is the well-known key id of privkey 1.
        let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
            .unwrap();
        assert_eq!(
            hash160(&g).to_hex(),
            "0x751e76e8199196d454941c45d1b3a323f1433bd6"
        );
    }

    #[test]
    fn node_hex_is_reversed() {
        let a = Address::from_hex("0x0102030405060708090a0b0c0d0e0f1011121314").unwrap();
        assert_eq!(a.to_node_hex(), "14131211100f0e0d0c0b0a090807060504030201");
        assert_eq!(Address::from_node_hex(&a.to_node_hex()).unwrap(), a);
        assert!(Address::from_hex("0x0102").is_err());
        assert!(Address::from_hex("0xzz02030405060708090a0b0c0d0e0f1011121314").is_err());
    }

    #[test]
    fn merkle_root_rules() {
        let l: Vec<H256> = (0u8..5).map(|i| sha256d(&[i])).collect();
        assert_eq!(merkle_root(&[]), H256::ZERO);
        assert_eq!(merkle_root(&l[..1]), l[0]);
        assert_eq!(merkle_root(&l[..2]), hash_pair(&l[0], &l[1]));
        let ab = hash_pair(&l[0], &l[1]);
        let cc = hash_pair(&l[2], &l[2]);
        assert_eq!(merkle_root(&l[..3]), hash_pair(&ab, &cc));
    }

    #[test]
    fn merkle_branches_verify_at_their_index_only() {
        for n in 1..=17usize {
            let l: Vec<H256> = (0..n).map(|i| sha256d(&(i as u32).to_le_bytes())).collect();
            let root = merkle_root(&l);
            for i in 0..n {
                let b = merkle_branch(&l, i).unwrap();
                verify_merkle_branch(&l[i], &b, &root).unwrap();
                let mut moved = b.clone();
                moved.index = ((i + 1) % n) as u32;
                if n > 1 && l[i] != l[(i + 1) % n] {
                    assert!(
                        verify_merkle_branch(&l[i], &moved, &root).is_err(),
                        "n={n} i={i}"
                    );
                }
                let mut bad = b.clone();
                if let Some(s) = bad.siblings.first_mut() {
                    s.0[0] ^= 1;
                    assert!(verify_merkle_branch(&l[i], &bad, &root).is_err());
                }
            }
            assert!(merkle_branch(&l, n).is_none());
        }
    }
}
