//! Multiproofs: one proof for a set of keys, shaped as the pruned tree that holds their paths.
//!
//! A [`MultiProof`] is the tree cut down to the paths of the proved keys: every subtree off those
//! paths is replaced by its hash. Verified against a root it becomes a [`PartialTree`], a tree that
//! answers reads and applies updates for the proved keys, computes the new root exactly as the
//! full tree would, and fails with [`SmtError::MissingNode`] for anything it was not given. This
//! is the witness format of stateless execution.
//!
//! Encoding, pre-order from the root (height 256): tag `0` empty subtree; tag `1` followed by a
//! 32-byte hash (an opaque subtree); tag `2` followed by key `[32]` and a CompactSize-prefixed
//! value (a subtree holding one leaf); tag `3` an inner node, followed by its left then right
//! child.

use super::hasher::{defaults, inner_hash, leaf_hash, lift, path_bit, path_cmp};
use super::proof::MAX_VALUE_SIZE;
use super::store::{MemoryStore, Node, NodeStore};
use super::tree::{SparseMerkleTree, Update};
use super::{ProofError, SmtError};
use crate::codec::{write_var_bytes, CodecError, Decode, Encode, Reader};
use crate::hash::H256;

/// One node of a pruned tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiNode {
    /// An empty subtree.
    Empty,
    /// A subtree off the proved paths, by its hash.
    Hash(H256),
    /// A subtree holding exactly one leaf.
    Leaf {
        /// The leaf's key.
        key: H256,
        /// The leaf's value.
        value: Vec<u8>,
    },
    /// An inner node on a proved path.
    Branch(Box<MultiNode>, Box<MultiNode>),
}

/// A proof for many keys at once (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiProof {
    /// The pruned tree from the root.
    pub root: MultiNode,
}

impl<S: NodeStore> SparseMerkleTree<S> {
    /// A multiproof of `keys` (present or absent) at the current root.
    pub fn prove_multi(&self, keys: &[H256]) -> Result<MultiProof, SmtError> {
        self.prove_multi_at(self.root(), keys)
    }

    /// A multiproof of `keys` at any stored root.
    pub fn prove_multi_at(&self, root: H256, keys: &[H256]) -> Result<MultiProof, SmtError> {
        let mut ks = keys.to_vec();
        ks.sort_by(path_cmp);
        ks.dedup();
        Ok(MultiProof {
            root: self.prune(root, 256, &ks)?,
        })
    }

    fn prune(&self, hash: H256, height: usize, keys: &[H256]) -> Result<MultiNode, SmtError> {
        if hash == defaults()[height] {
            return Ok(MultiNode::Empty);
        }
        if keys.is_empty() {
            return Ok(MultiNode::Hash(hash));
        }
        match self.node(&hash, height)? {
            None => Ok(MultiNode::Empty),
            Some(Node::Leaf { key, value }) => Ok(MultiNode::Leaf { key, value }),
            Some(Node::Internal { left, right }) => {
                if height == 0 {
                    return Err(SmtError::Corrupt("inner node at height 0".into()));
                }
                let split = keys.partition_point(|k| !path_bit(k, height - 1));
                Ok(MultiNode::Branch(
                    Box::new(self.prune(left, height - 1, &keys[..split])?),
                    Box::new(self.prune(right, height - 1, &keys[split..])?),
                ))
            }
        }
    }
}

impl MultiProof {
    /// The root this proof folds to, checking that every leaf sits on its own key's path.
    pub fn compute_root(&self) -> Result<H256, ProofError> {
        let mut prefix = H256::ZERO;
        root_of(&self.root, 256, &mut prefix, &mut |_, _| {})
    }

    /// Verify against a trusted root and turn the proof into a [`PartialTree`].
    pub fn verify(&self, root: &H256) -> Result<PartialTree, ProofError> {
        let mut nodes = Vec::new();
        let mut prefix = H256::ZERO;
        let computed = root_of(&self.root, 256, &mut prefix, &mut |h, n| nodes.push((h, n)))?;
        if computed != *root {
            return Err(ProofError::RootMismatch {
                computed,
                expected: *root,
            });
        }
        let mut store = MemoryStore::new();
        store
            .put_batch(nodes)
            .map_err(|e| ProofError::Malformed(e.to_string()))?;
        let tree = SparseMerkleTree::with_root(store, computed)
            .map_err(|e| ProofError::Malformed(e.to_string()))?;
        Ok(PartialTree { tree })
    }
}

/// Fold a pruned subtree at `height` whose position is given by the bits of `prefix` above it.
fn root_of(
    n: &MultiNode,
    height: usize,
    prefix: &mut H256,
    emit: &mut dyn FnMut(H256, Node),
) -> Result<H256, ProofError> {
    Ok(match n {
        MultiNode::Empty => defaults()[height],
        MultiNode::Hash(h) => *h,
        MultiNode::Leaf { key, value } => {
            if value.is_empty() {
                return Err(ProofError::Malformed("leaf with an empty value".into()));
            }
            if (height..256).any(|i| path_bit(key, i) != path_bit(prefix, i)) {
                return Err(ProofError::Malformed(format!(
                    "leaf {key} is not on its own path at height {height}"
                )));
            }
            let h = lift(key, leaf_hash(key, value), 0, height);
            emit(
                h,
                Node::Leaf {
                    key: *key,
                    value: value.clone(),
                },
            );
            h
        }
        MultiNode::Branch(l, r) => {
            if height == 0 {
                return Err(ProofError::Malformed(
                    "inner node below the leaf level".into(),
                ));
            }
            let i = height - 1;
            prefix.0[i / 8] &= !(1 << (i % 8));
            let lh = root_of(l, height - 1, prefix, emit)?;
            prefix.0[i / 8] |= 1 << (i % 8);
            let rh = root_of(r, height - 1, prefix, emit)?;
            prefix.0[i / 8] &= !(1 << (i % 8));
            let h = inner_hash(&lh, &rh);
            emit(
                h,
                Node::Internal {
                    left: lh,
                    right: rh,
                },
            );
            h
        }
    })
}

/// A verified multiproof: a tree that knows only the proved paths. Reads and updates of those
/// keys behave exactly as on the full tree; anything else is `SmtError::MissingNode`.
#[derive(Debug)]
pub struct PartialTree {
    tree: SparseMerkleTree<MemoryStore>,
}

impl PartialTree {
    /// The current root.
    pub fn root(&self) -> H256 {
        self.tree.root()
    }
    /// The value under a proved key (`None`: proved absent).
    pub fn get(&self, key: &H256) -> Result<Option<Vec<u8>>, SmtError> {
        self.tree.get(key)
    }
    /// The node stored under `hash` among the proved ones.
    pub fn node(&self, hash: &H256) -> Result<Option<Node>, SmtError> {
        Ok(self.tree.store().get(hash)?)
    }
    /// Take in the nodes of another verified partial tree (e.g. a contract's storage tree
    /// proved against a storage root this tree proves): reads at that tree's root then work
    /// through [`PartialTree::node`]. This tree's own root does not move.
    pub fn absorb(&mut self, other: PartialTree) -> Result<(), SmtError> {
        let nodes = other.tree.into_store().into_nodes();
        self.tree.store_mut().put_batch(nodes)?;
        Ok(())
    }
    /// Apply updates to proved keys and return the new root.
    pub fn update_batch(&mut self, updates: Vec<Update>) -> Result<H256, SmtError> {
        self.tree.update_batch(updates)
    }
}

const MAX_MULTI_DEPTH: usize = 256;

impl Encode for MultiProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        fn enc(n: &MultiNode, out: &mut Vec<u8>) {
            match n {
                MultiNode::Empty => out.push(0),
                MultiNode::Hash(h) => {
                    out.push(1);
                    h.encode_to(out);
                }
                MultiNode::Leaf { key, value } => {
                    out.push(2);
                    key.encode_to(out);
                    write_var_bytes(out, value);
                }
                MultiNode::Branch(l, r) => {
                    out.push(3);
                    enc(l, out);
                    enc(r, out);
                }
            }
        }
        enc(&self.root, out);
    }
}

impl Decode for MultiProof {
    const MIN_SIZE: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        fn dec(r: &mut Reader<'_>, depth: usize) -> Result<MultiNode, CodecError> {
            Ok(match r.u8("multiproof tag")? {
                0 => MultiNode::Empty,
                1 => MultiNode::Hash(H256::decode_from(r)?),
                2 => MultiNode::Leaf {
                    key: H256::decode_from(r)?,
                    value: r.var_bytes("leaf value", MAX_VALUE_SIZE)?,
                },
                3 => {
                    if depth >= MAX_MULTI_DEPTH {
                        return Err(CodecError::Invalid {
                            what: "multiproof",
                            detail: "inner node below the leaf level".into(),
                        });
                    }
                    let l = dec(r, depth + 1)?;
                    let rr = dec(r, depth + 1)?;
                    MultiNode::Branch(Box::new(l), Box::new(rr))
                }
                t => {
                    return Err(CodecError::Invalid {
                        what: "multiproof tag",
                        detail: format!("unknown tag {t}"),
                    })
                }
            })
        }
        Ok(MultiProof { root: dec(r, 0)? })
    }
}
