//! Single-key proofs: the real node's format ([`NodeProof`], 256 siblings, about 8.6 KB) and
//! casl2's compact format ([`CompactProof`], a bitmap of the non-default siblings and only those).
//! Both verify without a tree, against a trusted root.

use super::hasher::{defaults, leaf_hash, path_bit, step_up};
use super::ProofError;
use crate::codec::{write_var_bytes, CodecError, Decode, Encode, Reader};
use crate::hash::H256;
use serde::{Deserialize, Serialize};

/// Largest value a proof may carry (bytes).
pub const MAX_VALUE_SIZE: u64 = 64 * 1024;

/// A proof in the real Cascoin node's layout: `siblings` (256 hashes, index 0 at the leaf
/// level), `path` (256 bytes of 0/1, index 0 at the leaf level), `leafHash`, `key`, `value`
/// and `isInclusion`. An exclusion proof has `leafHash = default[0]` and an empty value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeProof {
    /// Sibling hashes, leaf level first.
    pub siblings: Vec<H256>,
    /// Path bits, leaf level first (1 = the node is the right child).
    pub path: Vec<u8>,
    /// Hash of the leaf: `SHA256d(0x00 ‖ key ‖ value)`, or `default[0]` for an exclusion proof.
    pub leaf_hash: H256,
    /// The key proved.
    pub key: H256,
    /// The value (empty for an exclusion proof).
    #[serde(with = "hex_bytes")]
    pub value: Vec<u8>,
    /// True when the proof shows the key present.
    pub is_inclusion: bool,
}

impl NodeProof {
    /// Build from the full sibling list and the value found (`None`: the key is absent).
    pub fn new(key: H256, value: Option<Vec<u8>>, siblings: Vec<H256>) -> Self {
        let path = (0..256).map(|i| path_bit(&key, i) as u8).collect();
        match value {
            Some(v) => NodeProof {
                siblings,
                path,
                leaf_hash: leaf_hash(&key, &v),
                key,
                value: v,
                is_inclusion: true,
            },
            None => NodeProof {
                siblings,
                path,
                leaf_hash: defaults()[0],
                key,
                value: Vec::new(),
                is_inclusion: false,
            },
        }
    }

    /// The same proof in compact form.
    pub fn to_compact(&self) -> CompactProof {
        CompactProof::from_siblings(
            self.key,
            self.is_inclusion.then(|| self.value.clone()),
            &self.siblings,
        )
    }
}

/// Check a node-format proof against `root`. Returns the proven value (`None`: proven absent).
///
/// Besides folding the siblings, this checks what the real node leaves implicit: 256 siblings
/// and path bits, path bits that are those of `key`, a leaf hash that matches key and value, and
/// an empty value with `default[0]` for an exclusion.
pub fn verify_node_proof(proof: &NodeProof, root: &H256) -> Result<Option<Vec<u8>>, ProofError> {
    if proof.siblings.len() != 256 {
        return Err(ProofError::Malformed(format!(
            "{} siblings, expected 256",
            proof.siblings.len()
        )));
    }
    if proof.path.len() != 256 {
        return Err(ProofError::Malformed(format!(
            "{} path entries, expected 256",
            proof.path.len()
        )));
    }
    for (i, &b) in proof.path.iter().enumerate() {
        if b > 1 || (b == 1) != path_bit(&proof.key, i) {
            return Err(ProofError::PathMismatch(i));
        }
    }
    let start = if proof.is_inclusion {
        if proof.value.is_empty() {
            return Err(ProofError::Malformed(
                "inclusion proof with an empty value".into(),
            ));
        }
        let h = leaf_hash(&proof.key, &proof.value);
        if h != proof.leaf_hash {
            return Err(ProofError::LeafHashMismatch);
        }
        h
    } else {
        if !proof.value.is_empty() || proof.leaf_hash != defaults()[0] {
            return Err(ProofError::Malformed(
                "exclusion proof must have an empty value and leafHash = default[0]".into(),
            ));
        }
        defaults()[0]
    };
    let computed = fold(&proof.key, start, |i| proof.siblings[i]);
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(proof.is_inclusion.then(|| proof.value.clone()))
}

fn fold(key: &H256, start: H256, sibling: impl Fn(usize) -> H256) -> H256 {
    let d = defaults();
    let mut cur = start;
    for i in 0..256 {
        let sib = sibling(i);
        // An empty subtree next to an empty subtree is the next default: no hashing needed.
        cur = if cur == d[i] && sib == d[i] {
            d[i + 1]
        } else {
            step_up(key, i, &cur, &sib)
        };
    }
    cur
}

/// casl2's compact proof: the key, the value (absent for an exclusion proof), a 256-bit bitmap
/// whose bit `i` (byte `i/8`, bit `i%8`) says sibling `i` is not the default hash, and those
/// siblings in order from the leaf level up.
///
/// Binary layout: `key [32] ‖ inclusion u8 (0/1) ‖ [value: CompactSize-prefixed bytes, only when
/// inclusion] ‖ bitmap [32] ‖ siblings [32 each, as many as bits set]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactProof {
    /// The key proved.
    pub key: H256,
    /// The value when the key is present; `None` for an exclusion proof.
    #[serde(with = "hex_bytes_opt")]
    pub value: Option<Vec<u8>>,
    /// Which siblings are given (bit set) and which are the default hash.
    pub bitmap: H256,
    /// The non-default siblings, leaf level first.
    pub siblings: Vec<H256>,
}

impl CompactProof {
    /// Compress a full sibling list.
    pub fn from_siblings(key: H256, value: Option<Vec<u8>>, siblings: &[H256]) -> Self {
        let d = defaults();
        let mut bitmap = [0u8; 32];
        let mut kept = Vec::new();
        for (i, s) in siblings.iter().enumerate().take(256) {
            if *s != d[i] {
                bitmap[i / 8] |= 1 << (i % 8);
                kept.push(*s);
            }
        }
        CompactProof {
            key,
            value,
            bitmap: H256(bitmap),
            siblings: kept,
        }
    }

    /// The full 256-sibling list (defaults filled in); fails when the bitmap and the sibling
    /// count disagree.
    pub fn expand(&self) -> Result<Vec<H256>, ProofError> {
        let set = self
            .bitmap
            .0
            .iter()
            .map(|b| b.count_ones() as usize)
            .sum::<usize>();
        if set != self.siblings.len() {
            return Err(ProofError::Malformed(format!(
                "bitmap has {set} bits set but {} siblings are given",
                self.siblings.len()
            )));
        }
        let d = defaults();
        let mut it = self.siblings.iter();
        Ok((0..256)
            .map(|i| {
                if self.bitmap.0[i / 8] >> (i % 8) & 1 == 1 {
                    *it.next().unwrap_or(&d[i])
                } else {
                    d[i]
                }
            })
            .collect())
    }

    /// The same proof in the real node's format.
    pub fn to_node_proof(&self) -> Result<NodeProof, ProofError> {
        Ok(NodeProof::new(self.key, self.value.clone(), self.expand()?))
    }
}

/// Check a compact proof against `root`. Returns the proven value (`None`: proven absent).
pub fn verify_compact_proof(
    proof: &CompactProof,
    root: &H256,
) -> Result<Option<Vec<u8>>, ProofError> {
    let siblings = proof.expand()?;
    let start = match &proof.value {
        Some(v) if v.is_empty() => {
            return Err(ProofError::Malformed(
                "inclusion proof with an empty value".into(),
            ))
        }
        Some(v) => leaf_hash(&proof.key, v),
        None => defaults()[0],
    };
    let computed = fold(&proof.key, start, |i| siblings[i]);
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(proof.value.clone())
}

impl Encode for CompactProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.key.encode_to(out);
        match &self.value {
            Some(v) => {
                out.push(1);
                write_var_bytes(out, v);
            }
            None => out.push(0),
        }
        self.bitmap.encode_to(out);
        for s in &self.siblings {
            s.encode_to(out);
        }
    }
}

impl Decode for CompactProof {
    const MIN_SIZE: usize = 65;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let key = H256::decode_from(r)?;
        let value = if r.bool("inclusion flag")? {
            Some(r.var_bytes("value", MAX_VALUE_SIZE)?)
        } else {
            None
        };
        let bitmap = H256::decode_from(r)?;
        let n: u32 = bitmap.0.iter().map(|b| b.count_ones()).sum();
        let mut siblings = Vec::with_capacity(n as usize);
        for _ in 0..n {
            siblings.push(H256::decode_from(r)?);
        }
        Ok(CompactProof {
            key,
            value,
            bitmap,
            siblings,
        })
    }
}

impl Encode for NodeProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        crate::codec::write_vec(out, &self.siblings);
        write_var_bytes(out, &self.path);
        self.leaf_hash.encode_to(out);
        self.key.encode_to(out);
        write_var_bytes(out, &self.value);
        out.push(self.is_inclusion as u8);
    }
}

impl Decode for NodeProof {
    const MIN_SIZE: usize = 67;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(NodeProof {
            siblings: r.vec("siblings", 256)?,
            path: r.var_bytes("path", 256)?,
            leaf_hash: H256::decode_from(r)?,
            key: H256::decode_from(r)?,
            value: r.var_bytes("value", MAX_VALUE_SIZE)?,
            is_inclusion: r.bool("isInclusion")?,
        })
    }
}

/// Serde helper: bytes as a `0x` hex string.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    /// Serialize as `0x…`.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }
    /// Parse `0x…` (the prefix is optional).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.strip_prefix("0x").unwrap_or(&s);
        hex::decode(t).map_err(serde::de::Error::custom)
    }
}

/// Serde helper: optional bytes as a `0x` hex string or null.
pub mod hex_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    /// Serialize as `0x…` or null.
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&format!("0x{}", hex::encode(b))),
            None => s.serialize_none(),
        }
    }
    /// Parse `0x…` or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            let t = s.strip_prefix("0x").unwrap_or(&s).to_string();
            hex::decode(t).map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}
