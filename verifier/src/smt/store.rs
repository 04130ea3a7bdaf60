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

/// An in-memory node store, laid out for size: one hash index whose entries point into flat
/// arrays (inner nodes as child-hash pairs; leaves as a key and a slice of one value buffer), so a
/// node costs its hashes and bytes with no allocation of its own. At a million accounts this is
/// about 380 bytes per account (docs/benchmarks.md). Nodes are never removed.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// hash → slot; the top bit marks a leaf slot.
    index: FastMap<u32>,
    inner: Vec<[H256; 2]>,
    leaf_keys: Vec<H256>,
    /// Start of leaf `i`'s value in `leaf_data`; `leaf_off[i + 1]` is its end.
    leaf_off: Vec<u64>,
    leaf_data: Vec<u8>,
}

const LEAF_BIT: u32 = 1 << 31;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore {
            leaf_off: vec![0],
            ..Default::default()
        }
    }
    /// Number of stored inner nodes and leaves.
    pub fn len(&self) -> (usize, usize) {
        (self.inner.len(), self.leaf_keys.len())
    }
    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
    /// A new store with only the nodes reachable from `roots` (everything else is pruned).
    pub fn retain_roots(&self, roots: &[H256]) -> Result<MemoryStore, StoreError> {
        self.retain_roots_following(roots, &|_| None)
    }

    /// As [`retain_roots`](Self::retain_roots), and also the trees whose roots `follow` finds
    /// in leaf values (e.g. the contract storage trees named by account leaves). A root found
    /// that way but not stored is skipped (a leaf that only looks like an account).
    pub fn retain_roots_following(
        &self,
        roots: &[H256],
        follow: &dyn Fn(&[u8]) -> Option<H256>,
    ) -> Result<MemoryStore, StoreError> {
        let d = super::hasher::defaults();
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<(H256, usize)> = roots.iter().map(|r| (*r, 256)).collect();
        let mut nodes = Vec::new();
        while let Some((h, height)) = stack.pop() {
            if h == d[height] || !seen.insert(h) {
                continue;
            }
            match self.get(&h)? {
                None => {
                    return Err(StoreError::Backend(format!(
                        "node {h} at height {height} is not stored"
                    )))
                }
                Some(Node::Internal { left, right }) if height > 0 => {
                    stack.push((left, height - 1));
                    stack.push((right, height - 1));
                    nodes.push((h, Node::Internal { left, right }));
                }
                Some(n) => {
                    if let Node::Leaf { value, .. } = &n {
                        if let Some(r) = follow(value) {
                            if r != d[256] && self.contains(&r)? {
                                stack.push((r, 256));
                            }
                        }
                    }
                    nodes.push((h, n))
                }
            }
        }
        let mut out = MemoryStore::new();
        out.put_batch(nodes)?;
        Ok(out)
    }

    /// Heap bytes held by the store (capacities of its index and arrays; the index counted at
    /// hashbrown's layout of one control byte plus the entry per bucket).
    pub fn heap_bytes(&self) -> usize {
        let buckets = if self.index.capacity() == 0 {
            0
        } else {
            (self.index.capacity() * 8 / 7).next_power_of_two()
        };
        buckets * (std::mem::size_of::<(H256, u32)>() + 1)
            + self.inner.capacity() * std::mem::size_of::<[H256; 2]>()
            + self.leaf_keys.capacity() * 32
            + self.leaf_off.capacity() * 8
            + self.leaf_data.capacity()
    }
}

impl MemoryStore {
    /// Every stored node, by hash (in no particular order).
    pub fn into_nodes(self) -> Vec<(H256, Node)> {
        let mut out = Vec::with_capacity(self.index.len());
        for (h, &slot) in &self.index {
            if slot & LEAF_BIT == 0 {
                let [left, right] = self.inner[slot as usize];
                out.push((*h, Node::Internal { left, right }));
            } else {
                let i = (slot & !LEAF_BIT) as usize;
                let (a, b) = (self.leaf_off[i] as usize, self.leaf_off[i + 1] as usize);
                out.push((
                    *h,
                    Node::Leaf {
                        key: self.leaf_keys[i],
                        value: self.leaf_data[a..b].to_vec(),
                    },
                ));
            }
        }
        out
    }
}

impl NodeStore for MemoryStore {
    fn get(&self, hash: &H256) -> Result<Option<Node>, StoreError> {
        let Some(&slot) = self.index.get(hash) else {
            return Ok(None);
        };
        if slot & LEAF_BIT == 0 {
            let [left, right] = self.inner[slot as usize];
            return Ok(Some(Node::Internal { left, right }));
        }
        let i = (slot & !LEAF_BIT) as usize;
        let (a, b) = (self.leaf_off[i] as usize, self.leaf_off[i + 1] as usize);
        Ok(Some(Node::Leaf {
            key: self.leaf_keys[i],
            value: self.leaf_data[a..b].to_vec(),
        }))
    }

    fn put_batch(&mut self, nodes: Vec<(H256, Node)>) -> Result<(), StoreError> {
        if self.leaf_off.is_empty() {
            self.leaf_off.push(0);
        }
        self.index.reserve(nodes.len());
        for (h, n) in nodes {
            if self.index.contains_key(&h) {
                continue;
            }
            let slot = match n {
                Node::Internal { left, right } => {
                    self.inner.push([left, right]);
                    self.inner.len() - 1
                }
                Node::Leaf { key, value } => {
                    self.leaf_keys.push(key);
                    self.leaf_data.extend_from_slice(&value);
                    self.leaf_off.push(self.leaf_data.len() as u64);
                    (self.leaf_keys.len() - 1) | LEAF_BIT as usize
                }
            };
            if slot & !(LEAF_BIT as usize) >= LEAF_BIT as usize {
                return Err(StoreError::Backend(
                    "memory store is full (2^31 nodes of one kind)".into(),
                ));
            }
            self.index.insert(h, slot as u32);
        }
        Ok(())
    }

    fn contains(&self, hash: &H256) -> Result<bool, StoreError> {
        Ok(self.index.contains_key(hash))
    }
}
