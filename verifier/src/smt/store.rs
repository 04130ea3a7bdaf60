//! Where tree nodes live: the [`NodeStore`] trait and the in-memory [`MemoryStore`].
//!
//! Nodes are content-addressed: a node is stored under the hash of the subtree it roots, and is
//! never changed. An update writes new nodes and leaves the old ones, so every earlier root whose
//! nodes are still in the store can be read, proved against and returned to.

use crate::hash::H256;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use thiserror::Error;

/// A stored tree node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An inner node with at least one non-empty child; children are given by their hashes
    /// (an empty child is the default hash of its height).
    Internal {
        /// Left child (path bit 0).
        left: H256,
        /// Right child (path bit 1).
        right: H256,
    },
    /// A subtree that holds exactly one leaf. It is stored once, at the height where it hangs,
    /// not as a chain of inner nodes down to height 0.
    Leaf {
        /// The leaf's key.
        key: H256,
        /// The leaf's value.
        value: Vec<u8>,
    },
}

/// A failure of the storage behind a tree.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The backend failed (I/O, corruption, ...).
    #[error("node store: {0}")]
    Backend(String),
}

/// Storage of tree nodes by hash. Implementations must be safe to read from several threads at
/// once (batch updates read in parallel) and must return exactly what was written.
pub trait NodeStore: Send + Sync {
    /// The node stored under `hash`, if any.
    fn get(&self, hash: &H256) -> Result<Option<Node>, StoreError>;
    /// Store nodes; a hash already present is left as it is (same hash, same node).
    fn put_batch(&mut self, nodes: Vec<(H256, Node)>) -> Result<(), StoreError>;
    /// True when a node is stored under `hash`.
    fn contains(&self, hash: &H256) -> Result<bool, StoreError> {
        Ok(self.get(hash)?.is_some())
    }
}

/// Hasher for keys that are already uniformly distributed hashes: takes 8 of their bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct HashKeyHasher(u64);

impl Hasher for HashKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // H256 hashes as its 32 raw bytes; take the first 8 (already uniform).
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(b);
    }
}

type FastMap<V> = HashMap<H256, V, BuildHasherDefault<HashKeyHasher>>;

/// Leaf payload kept in memory: key and value in one allocation.
#[derive(Debug, Clone)]
struct LeafEntry {
    key: H256,
    value: Box<[u8]>,
}

/// An in-memory node store. Inner nodes and leaves are kept in two maps so that an inner node
/// costs its two child hashes and nothing more.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    internal: FastMap<[H256; 2]>,
    leaves: FastMap<LeafEntry>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of stored inner nodes and leaves.
    pub fn len(&self) -> (usize, usize) {
        (self.internal.len(), self.leaves.len())
    }
    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.internal.is_empty() && self.leaves.is_empty()
    }
}

impl NodeStore for MemoryStore {
    fn get(&self, hash: &H256) -> Result<Option<Node>, StoreError> {
        if let Some([left, right]) = self.internal.get(hash) {
            return Ok(Some(Node::Internal {
                left: *left,
                right: *right,
            }));
        }
        Ok(self.leaves.get(hash).map(|l| Node::Leaf {
            key: l.key,
            value: l.value.to_vec(),
        }))
    }

    fn put_batch(&mut self, nodes: Vec<(H256, Node)>) -> Result<(), StoreError> {
        for (h, n) in nodes {
            match n {
                Node::Internal { left, right } => {
                    self.internal.entry(h).or_insert([left, right]);
                }
                Node::Leaf { key, value } => {
                    self.leaves.entry(h).or_insert_with(|| LeafEntry {
                        key,
                        value: value.into_boxed_slice(),
                    });
                }
            }
        }
        Ok(())
    }

    fn contains(&self, hash: &H256) -> Result<bool, StoreError> {
        Ok(self.internal.contains_key(hash) || self.leaves.contains_key(hash))
    }
}
