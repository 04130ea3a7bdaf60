//! The tree itself: reads, batch updates (planned and hashed in `update`) and proof building.

use super::hasher::{defaults, empty_root, leaf_hash, lift, path_bit, path_cmp};
use super::proof::{CompactProof, NodeProof};
use super::store::{Node, NodeStore};
use super::SmtError;
use crate::hash::H256;

/// One change: set `key` to `value`, or delete it when `value` is `None` or empty.
pub type Update = (H256, Option<Vec<u8>>);

/// The Cascoin-compatible 256-level sparse Merkle tree over a [`NodeStore`].
///
/// Keys are 32 bytes, values are byte strings (an empty value is the same as no value). The tree
/// is persistent: an update writes new nodes and moves the root; every earlier root stays
/// readable as long as its nodes are in the store ([`SparseMerkleTree::revert_to`]).
#[derive(Debug)]
pub struct SparseMerkleTree<S> {
    store: S,
    root: H256,
}

/// Most updates applied in one pass of a batch update (see `compute_batch`).
pub(crate) const BATCH_CHUNK: usize = 1 << 14;

impl<S: NodeStore> SparseMerkleTree<S> {
    /// An empty tree over `store`.
    pub fn new(store: S) -> Self {
        SparseMerkleTree {
            store,
            root: empty_root(),
        }
    }

    /// A tree over `store` at `root`; fails when the store does not hold that root.
    pub fn with_root(store: S, root: H256) -> Result<Self, SmtError> {
        let mut t = Self::new(store);
        t.revert_to(root)?;
        Ok(t)
    }

    /// The current root.
    pub fn root(&self) -> H256 {
        self.root
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (for pruning or flushing by the owner).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Give the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Move the root to an earlier (or any known) root. Fails with `UnknownRoot` when the store
    /// does not hold its nodes; the tree is unchanged then.
    pub fn revert_to(&mut self, root: H256) -> Result<(), SmtError> {
        if root != empty_root() && !self.store.contains(&root)? {
            return Err(SmtError::UnknownRoot(root));
        }
        self.root = root;
        Ok(())
    }

    fn load(&self, hash: &H256, height: usize) -> Result<Option<Node>, SmtError> {
        if *hash == defaults()[height] {
            return Ok(None);
        }
        match self.store.get(hash)? {
            Some(n) => Ok(Some(n)),
            None => Err(SmtError::MissingNode {
                hash: *hash,
                height,
            }),
        }
    }

    /// The value under `key` at the current root.
    pub fn get(&self, key: &H256) -> Result<Option<Vec<u8>>, SmtError> {
        self.get_at(self.root, key)
    }

    /// The value under `key` at any stored root.
    pub fn get_at(&self, root: H256, key: &H256) -> Result<Option<Vec<u8>>, SmtError> {
        let mut cur = root;
        let mut height = 256;
        loop {
            match self.load(&cur, height)? {
                None => return Ok(None),
                Some(Node::Leaf { key: k, value }) => {
                    return Ok(if k == *key { Some(value) } else { None });
                }
                Some(Node::Internal { left, right }) => {
                    if height == 0 {
                        return Err(SmtError::Corrupt("inner node at height 0".into()));
                    }
                    cur = if path_bit(key, height - 1) {
                        right
                    } else {
                        left
                    };
                    height -= 1;
                }
            }
        }
    }

    /// Set one key (an empty value deletes it). Returns the new root.
    pub fn set(&mut self, key: H256, value: Vec<u8>) -> Result<H256, SmtError> {
        self.update_batch(vec![(key, Some(value))])
    }

    /// Delete one key (absent keys are fine). Returns the new root.
    pub fn delete(&mut self, key: H256) -> Result<H256, SmtError> {
        self.update_batch(vec![(key, None)])
    }

    /// Apply many updates at once and return the new root. When a key appears more than once
    /// the last update wins. The result is the same as applying them one by one in any order
    /// of distinct keys; disjoint subtrees are updated in parallel.
    pub fn update_batch(&mut self, updates: Vec<Update>) -> Result<H256, SmtError> {
        let new_root = self.compute_batch(updates)?;
        Ok(new_root)
    }

    /// Apply `updates` to the tree whose root is `root` (any stored root, e.g. a contract's
    /// storage tree kept in the same store) and return its new root. The new nodes are stored;
    /// the tree's own root does not move.
    pub fn update_at(&mut self, root: H256, updates: Vec<Update>) -> Result<H256, SmtError> {
        let saved = self.root;
        self.root = root;
        let res = self.compute_batch(updates);
        self.root = saved;
        res
    }

    fn compute_batch(&mut self, mut updates: Vec<Update>) -> Result<H256, SmtError> {
        if updates.is_empty() {
            return Ok(self.root);
        }
        // Stable sort, then keep the last update of each key.
        updates.sort_by(|a, b| path_cmp(&a.0, &b.0));
        let mut ups: Vec<Update> = Vec::with_capacity(updates.len());
        for u in updates {
            match ups.last_mut() {
                Some(last) if last.0 == u.0 => *last = u,
                _ => ups.push(u),
            }
        }
        for u in ups.iter_mut() {
            if matches!(&u.1, Some(v) if v.is_empty()) {
                u.1 = None;
            }
        }
        // A large batch goes in key-ordered chunks: each chunk's keys are a contiguous range,
        // so a later chunk rewrites only the few nodes on the boundary paths of the earlier
        // ones, while the new nodes and temporaries held at once stay a chunk's worth (the
        // peak and the allocator's leftovers of a million-key build shrink accordingly). The
        // root is the same: updates of disjoint keys commute (property 1).
        for chunk in ups.chunks(BATCH_CHUNK) {
            // On a pool thread, so that the parallel steps inside do not each wake the pool
            // from outside.
            let (res, ()) = rayon::join(|| self.plan_and_hash(self.root, chunk), || ());
            let (new_root, out) = res?;
            self.store.put_batch(out)?;
            self.root = new_root;
        }
        Ok(self.root)
    }

    /// The sibling hashes along `key`'s path (index 0 at the leaf level) and the leaf found.
    fn path_siblings(
        &self,
        root: H256,
        key: &H256,
    ) -> Result<(Vec<H256>, Option<Vec<u8>>), SmtError> {
        let d = defaults();
        let mut siblings = d[..256].to_vec();
        let mut cur = root;
        let mut height = 256;
        loop {
            match self.load(&cur, height)? {
                None => return Ok((siblings, None)),
                Some(Node::Leaf { key: k, value }) => {
                    if k == *key {
                        return Ok((siblings, Some(value)));
                    }
                    // Exclusion under another leaf: in the full 256-level view that leaf sits
                    // at the height where the two paths part.
                    let j = (0..height)
                        .rev()
                        .find(|&i| path_bit(&k, i) != path_bit(key, i))
                        .ok_or_else(|| SmtError::Corrupt("leaf key equals the key".into()))?;
                    siblings[j] = lift(&k, leaf_hash(&k, &value), 0, j);
                    return Ok((siblings, None));
                }
                Some(Node::Internal { left, right }) => {
                    if height == 0 {
                        return Err(SmtError::Corrupt("inner node at height 0".into()));
                    }
                    let (next, sib) = if path_bit(key, height - 1) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    siblings[height - 1] = sib;
                    cur = next;
                    height -= 1;
                }
            }
        }
    }

    /// A proof for `key` at the current root in the real node's format (256 siblings).
    pub fn prove(&self, key: &H256) -> Result<NodeProof, SmtError> {
        self.prove_at(self.root, key)
    }

    /// A proof for `key` at any stored root in the real node's format.
    pub fn prove_at(&self, root: H256, key: &H256) -> Result<NodeProof, SmtError> {
        let (siblings, value) = self.path_siblings(root, key)?;
        Ok(NodeProof::new(*key, value, siblings))
    }

    /// A compact proof for `key` at the current root (only the non-default siblings).
    pub fn prove_compact(&self, key: &H256) -> Result<CompactProof, SmtError> {
        self.prove_compact_at(self.root, key)
    }

    /// A compact proof for `key` at any stored root.
    pub fn prove_compact_at(&self, root: H256, key: &H256) -> Result<CompactProof, SmtError> {
        let (siblings, value) = self.path_siblings(root, key)?;
        Ok(CompactProof::from_siblings(*key, value, &siblings))
    }

    /// Some key stored under the subtree `hash` at `height` (the leftmost), if any: what a
    /// witness must add to reveal that subtree's shape.
    pub fn any_key_under(&self, hash: H256, height: usize) -> Result<Option<H256>, SmtError> {
        let mut cur = hash;
        let mut h = height;
        loop {
            match self.load(&cur, h)? {
                None => return Ok(None),
                Some(Node::Leaf { key, .. }) => return Ok(Some(key)),
                Some(Node::Internal { left, right }) => {
                    if h == 0 {
                        return Err(SmtError::Corrupt("inner node at height 0".into()));
                    }
                    cur = if left != defaults()[h - 1] {
                        left
                    } else {
                        right
                    };
                    h -= 1;
                }
            }
        }
    }

    /// Read the node under `hash` (for proof builders elsewhere in the crate).
    pub(crate) fn node(&self, hash: &H256, height: usize) -> Result<Option<Node>, SmtError> {
        self.load(hash, height)
    }
}
