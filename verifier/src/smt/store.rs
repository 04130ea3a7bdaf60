//! Where tree nodes live: the [`NodeStore`] trait and the in-memory [`MemoryStore`].
//!
//! Nodes are content-addressed: a node is stored under the hash of the subtree it roots, and is
//! never changed. An update writes new nodes and leaves the old ones, so every earlier root whose
//! nodes are still in the store can be read, proved against and returned to.

use crate::hash::H256;
use hashbrown::HashTable;
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

/// Hasher for keys that are already uniformly distributed hashes: takes 8 of their bytes (for
/// maps keyed by node hashes, such as a node cache).
#[derive(Debug, Default, Clone, Copy)]
pub struct HashKeyHasher(u64);

impl std::hash::Hasher for HashKeyHasher {
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

/// An in-memory node store, laid out for size: flat arrays of nodes (an inner node as its own
/// hash and its two children's; a leaf as its hash, key and a slice of one value buffer) and a
/// compact index of 4-byte slots into them, found by the node hash's first 8 bytes (already
/// uniform) and confirmed against the hash in the slot. A node costs its hashes and bytes with no
/// allocation of its own, and growing the index moves 4-byte entries, not 36-byte ones. At a
/// million accounts this is about 390 bytes per account, spare capacity included
/// (docs/benchmarks.md). Nodes are never
/// removed (see [`MemoryStore::retain_roots`]).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// Slot of each node; the top bit marks a leaf slot.
    index: HashTable<u32>,
    /// Inner nodes: `[hash, left, right]`.
    inner: Vec<[H256; 3]>,
    leaf_hashes: Vec<H256>,
    leaf_keys: Vec<H256>,
    /// Start of leaf `i`'s value in `leaf_data`; `leaf_off[i + 1]` is its end.
    leaf_off: Vec<u64>,
    leaf_data: Vec<u8>,
}

const LEAF_BIT: u32 = 1 << 31;

/// Where a node hash falls in the index.
fn bucket(hash: &H256) -> u64 {
    u64::from_le_bytes(hash.0[..8].try_into().expect("8 bytes"))
}

/// The hash of the node in `slot`.
fn slot_hash<'a>(inner: &'a [[H256; 3]], leaf_hashes: &'a [H256], slot: u32) -> &'a H256 {
    if slot & LEAF_BIT == 0 {
        &inner[slot as usize][0]
    } else {
        &leaf_hashes[(slot & !LEAF_BIT) as usize]
    }
}

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

    /// The slot of the node stored under `hash`.
    fn find(&self, hash: &H256) -> Option<u32> {
        let (inner, leaves) = (&self.inner, &self.leaf_hashes);
        self.index
            .find(bucket(hash), |&s| slot_hash(inner, leaves, s) == hash)
            .copied()
    }

    /// The node in `slot`.
    fn node_at(&self, slot: u32) -> Node {
        if slot & LEAF_BIT == 0 {
            let [_, left, right] = self.inner[slot as usize];
            return Node::Internal { left, right };
        }
        let i = (slot & !LEAF_BIT) as usize;
        let (a, b) = (self.leaf_off[i] as usize, self.leaf_off[i + 1] as usize);
        Node::Leaf {
            key: self.leaf_keys[i],
            value: self.leaf_data[a..b].to_vec(),
        }
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

    /// Heap bytes held by the store (the capacities of its index and arrays).
    pub fn heap_bytes(&self) -> usize {
        self.index.allocation_size()
            + self.inner.capacity() * std::mem::size_of::<[H256; 3]>()
            + self.leaf_hashes.capacity() * 32
            + self.leaf_keys.capacity() * 32
            + self.leaf_off.capacity() * 8
            + self.leaf_data.capacity()
    }

    /// Every stored node, by hash (in no particular order).
    pub fn into_nodes(self) -> Vec<(H256, Node)> {
        let mut out = Vec::with_capacity(self.index.len());
        for i in 0..self.inner.len() {
            out.push((self.inner[i][0], self.node_at(i as u32)));
        }
        for i in 0..self.leaf_keys.len() {
            out.push((self.leaf_hashes[i], self.node_at(i as u32 | LEAF_BIT)));
        }
        out
    }
}

impl NodeStore for MemoryStore {
    fn get(&self, hash: &H256) -> Result<Option<Node>, StoreError> {
        Ok(self.find(hash).map(|slot| self.node_at(slot)))
    }

    fn put_batch(&mut self, nodes: Vec<(H256, Node)>) -> Result<(), StoreError> {
        let MemoryStore {
            index,
            inner,
            leaf_hashes,
            leaf_keys,
            leaf_off,
            leaf_data,
        } = self;
        if leaf_off.is_empty() {
            leaf_off.push(0);
        }
        index.reserve(nodes.len(), |&s| bucket(slot_hash(inner, leaf_hashes, s)));
        for (h, n) in nodes {
            let entry = index.entry(
                bucket(&h),
                |&s| *slot_hash(inner, leaf_hashes, s) == h,
                |&s| bucket(slot_hash(inner, leaf_hashes, s)),
            );
            let hashbrown::hash_table::Entry::Vacant(vacant) = entry else {
                continue;
            };
            let slot = match n {
                Node::Internal { left, right } => {
                    inner.push([h, left, right]);
                    inner.len() - 1
                }
                Node::Leaf { key, value } => {
                    leaf_hashes.push(h);
                    leaf_keys.push(key);
                    leaf_data.extend_from_slice(&value);
                    leaf_off.push(leaf_data.len() as u64);
                    (leaf_keys.len() - 1) | LEAF_BIT as usize
                }
            };
            if slot & !(LEAF_BIT as usize) >= LEAF_BIT as usize {
                return Err(StoreError::Backend(
                    "memory store is full (2^31 nodes of one kind)".into(),
                ));
            }
            vacant.insert(slot as u32);
        }
        Ok(())
    }

    fn contains(&self, hash: &H256) -> Result<bool, StoreError> {
        Ok(self.find(hash).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes that fall in the same place of the index (equal first 8 bytes) are told apart by
    /// the whole hash; storing a hash twice keeps the first node; pruning and listing keep
    /// every node.
    #[test]
    fn nodes_with_the_same_index_bucket_are_kept_apart() {
        let mut a = H256([0x11; 32]);
        let mut b = a;
        a.0[31] = 1;
        b.0[31] = 2;
        let leaf = |v: u8| Node::Leaf {
            key: H256([v; 32]),
            value: vec![v; 3],
        };
        let inner = Node::Internal {
            left: H256([3; 32]),
            right: H256([4; 32]),
        };
        let mut s = MemoryStore::new();
        s.put_batch(vec![(a, leaf(7)), (b, inner.clone())]).unwrap();
        s.put_batch(vec![(a, leaf(8))]).unwrap();
        assert_eq!(s.get(&a).unwrap(), Some(leaf(7)));
        assert_eq!(s.get(&b).unwrap(), Some(inner.clone()));
        let mut c = a;
        c.0[31] = 3;
        assert_eq!(s.get(&c).unwrap(), None);
        assert!(!s.contains(&c).unwrap() && s.contains(&b).unwrap());
        assert_eq!(s.len(), (1, 1));
        let mut all = s.clone().into_nodes();
        all.sort_by_key(|n| n.0 .0);
        assert_eq!(all, vec![(a, leaf(7)), (b, inner)]);
        // Many nodes: the index grows and still finds every one.
        let many: Vec<(H256, Node)> = (0..5000u32)
            .map(|i| (crate::hash::sha256d(&i.to_le_bytes()), leaf(i as u8)))
            .collect();
        s.put_batch(many.clone()).unwrap();
        for (h, n) in &many {
            assert_eq!(s.get(h).unwrap().as_ref(), Some(n));
        }
        assert!(s.heap_bytes() > 5000 * 64);
    }
}
