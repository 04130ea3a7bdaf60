//! The tree itself: reads, batch updates (parallel over disjoint subtrees) and proof building.

use super::hasher::{defaults, empty_root, inner_hash, leaf_hash, lift, path_bit, path_cmp};
use super::proof::{CompactProof, NodeProof};
use super::store::{Node, NodeStore};
use super::SmtError;
use crate::hash::H256;

/// Batches at least this large are split across threads at each level.
const PARALLEL_THRESHOLD: usize = 128;

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

/// A subtree as seen during an update.
#[derive(Debug)]
enum Sub {
    Empty,
    /// A single-leaf subtree: its key, value and hash at the current height; `stored_at` is the
    /// height it is stored at already, if any.
    Leaf {
        key: H256,
        value: Vec<u8>,
        hash: H256,
        stored_at: Option<usize>,
    },
    /// An inner node already stored.
    Node(H256),
    /// A non-empty stored subtree that this update did not touch (not loaded: it is only read
    /// if its sibling turns out empty, since a lone leaf must then move up).
    Unchanged(H256),
}

type Out = Vec<(H256, Node)>;

/// Run two subtree computations in parallel, each collecting its new nodes, and append both
/// node lists to `out` (left first, so the order does not depend on scheduling).
fn join_collect<L, R>(out: &mut Out, left: L, right: R) -> Result<(Sub, Sub), SmtError>
where
    L: FnOnce(&mut Out) -> Result<Sub, SmtError> + Send,
    R: FnOnce(&mut Out) -> Result<Sub, SmtError> + Send,
{
    let mut lout = Vec::new();
    let mut rout = Vec::new();
    let (l, r) = rayon::join(|| left(&mut lout), || right(&mut rout));
    out.append(&mut lout);
    out.append(&mut rout);
    Ok((l?, r?))
}

/// The hash of a subtree at `height` as it stands.
fn sub_hash(s: &Sub, height: usize) -> H256 {
    match s {
        Sub::Empty => defaults()[height],
        Sub::Leaf { hash, .. } | Sub::Node(hash) | Sub::Unchanged(hash) => *hash,
    }
}

/// Most updates applied in one pass of a batch update (see `compute_batch`).
pub(crate) const BATCH_CHUNK: usize = 1 << 16;

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
            let root_sub = self.load_sub(self.root, 256)?;
            let mut out = Vec::new();
            let sub = self.apply(root_sub, 256, chunk, &mut out)?;
            let new_root = self.finish_child(sub, 256, &mut out);
            self.store.put_batch(out)?;
            self.root = new_root;
        }
        Ok(self.root)
    }

    fn load_sub(&self, hash: H256, height: usize) -> Result<Sub, SmtError> {
        Ok(match self.load(&hash, height)? {
            None => Sub::Empty,
            Some(Node::Leaf { key, value }) => Sub::Leaf {
                key,
                value,
                hash,
                stored_at: Some(height),
            },
            Some(Node::Internal { .. }) => Sub::Node(hash),
        })
    }

    /// Make sure a subtree that ends up as a child at `height` is stored, and return its hash.
    fn finish_child(&self, sub: Sub, height: usize, out: &mut Out) -> H256 {
        match sub {
            Sub::Empty => defaults()[height],
            Sub::Node(h) | Sub::Unchanged(h) => h,
            Sub::Leaf {
                key,
                value,
                hash,
                stored_at,
            } => {
                if stored_at != Some(height) {
                    out.push((hash, Node::Leaf { key, value }));
                }
                hash
            }
        }
    }

    /// Apply sorted, de-duplicated updates (all under this subtree) to `cur` at `height`.
    fn apply(
        &self,
        cur: Sub,
        height: usize,
        ups: &[Update],
        out: &mut Out,
    ) -> Result<Sub, SmtError> {
        if ups.is_empty() {
            return Ok(cur);
        }
        match cur {
            Sub::Empty => self.build(height, ups, out),
            Sub::Leaf { key, value, .. } => {
                // Push the existing leaf down among the updates unless one of them replaces it.
                if ups.iter().any(|u| u.0 == key) {
                    self.build(height, ups, out)
                } else {
                    let pos = ups.partition_point(|u| path_cmp(&u.0, &key).is_lt());
                    let mut merged = Vec::with_capacity(ups.len() + 1);
                    merged.extend_from_slice(&ups[..pos]);
                    merged.push((key, Some(value)));
                    merged.extend_from_slice(&ups[pos..]);
                    self.build(height, &merged, out)
                }
            }
            Sub::Node(hash) | Sub::Unchanged(hash) => self.apply_inner(hash, height, ups, out),
        }
    }

    // The recursion below goes up to 256 levels deep, so each function keeps its frame small:
    // the sequential and the parallel descent are separate, never-inlined functions.

    /// Apply updates under the stored inner node `hash` at `height`.
    #[inline(never)]
    fn apply_inner(
        &self,
        hash: H256,
        height: usize,
        ups: &[Update],
        out: &mut Out,
    ) -> Result<Sub, SmtError> {
        let Some(Node::Internal { left, right }) = self.store.get(&hash)? else {
            return Err(SmtError::Corrupt(format!(
                "node {hash} at height {height} is not an inner node"
            )));
        };
        if height == 0 {
            return Err(SmtError::Corrupt("inner node at height 0".into()));
        }
        let split = ups.partition_point(|u| !path_bit(&u.0, height - 1));
        let (lu, ru) = ups.split_at(split);
        let (l, r) = if ups.len() >= PARALLEL_THRESHOLD && !lu.is_empty() && !ru.is_empty() {
            self.apply_children_par(left, right, height - 1, lu, ru, out)?
        } else {
            (
                self.apply_child(left, height - 1, lu, out)?,
                self.apply_child(right, height - 1, ru, out)?,
            )
        };
        // Nothing changed below (e.g. deleting absent keys): the node stays as it is, and an
        // untouched sibling never needs to be read.
        if sub_hash(&l, height - 1) == left && sub_hash(&r, height - 1) == right {
            return Ok(Sub::Node(hash));
        }
        self.combine(l, r, height, out)
    }

    #[inline(never)]
    fn apply_child(
        &self,
        hash: H256,
        height: usize,
        ups: &[Update],
        out: &mut Out,
    ) -> Result<Sub, SmtError> {
        if ups.is_empty() {
            return self.load_sub_lazy(hash, height);
        }
        let s = self.load_sub(hash, height)?;
        self.apply(s, height, ups, out)
    }

    #[inline(never)]
    fn apply_children_par(
        &self,
        left: H256,
        right: H256,
        height: usize,
        lu: &[Update],
        ru: &[Update],
        out: &mut Out,
    ) -> Result<(Sub, Sub), SmtError> {
        join_collect(
            out,
            |o| self.apply_child(left, height, lu, o),
            |o| self.apply_child(right, height, ru, o),
        )
    }

    /// An untouched child: not loaded unless it has to be.
    fn load_sub_lazy(&self, hash: H256, height: usize) -> Result<Sub, SmtError> {
        if hash == defaults()[height] {
            return Ok(Sub::Empty);
        }
        Ok(Sub::Unchanged(hash))
    }

    /// Resolve an untouched child whose sibling became empty: a leaf moves up, a node stays.
    fn resolve(&self, sub: Sub, height: usize) -> Result<Sub, SmtError> {
        match sub {
            Sub::Unchanged(h) => self.load_sub(h, height),
            other => Ok(other),
        }
    }

    /// Build a subtree at `height` from nothing but the inserts in `ups`.
    fn build(&self, height: usize, ups: &[Update], out: &mut Out) -> Result<Sub, SmtError> {
        let mut inserts = ups.iter().filter(|u| u.1.is_some());
        let first = inserts.next();
        let second = inserts.next();
        match (first, second) {
            (None, _) => Ok(Sub::Empty),
            (Some((key, Some(value))), None) => Ok(Sub::Leaf {
                key: *key,
                value: value.clone(),
                hash: lift(key, leaf_hash(key, value), 0, height),
                stored_at: None,
            }),
            _ => self.build_split(height, ups, out),
        }
    }

    /// Build a subtree holding at least two distinct keys: split them by the next path bit.
    #[inline(never)]
    fn build_split(&self, height: usize, ups: &[Update], out: &mut Out) -> Result<Sub, SmtError> {
        if height == 0 {
            return Err(SmtError::Corrupt(
                "two distinct keys at the leaf level".into(),
            ));
        }
        let split = ups.partition_point(|u| !path_bit(&u.0, height - 1));
        let (lu, ru) = ups.split_at(split);
        let (l, r) = if ups.len() >= PARALLEL_THRESHOLD && !lu.is_empty() && !ru.is_empty() {
            self.build_par(height - 1, lu, ru, out)?
        } else {
            (
                self.build(height - 1, lu, out)?,
                self.build(height - 1, ru, out)?,
            )
        };
        self.combine(l, r, height, out)
    }

    #[inline(never)]
    fn build_par(
        &self,
        height: usize,
        lu: &[Update],
        ru: &[Update],
        out: &mut Out,
    ) -> Result<(Sub, Sub), SmtError> {
        join_collect(
            out,
            |o| self.build(height, lu, o),
            |o| self.build(height, ru, o),
        )
    }

    /// Join two children (at `height - 1`) into the subtree at `height`.
    fn combine(&self, l: Sub, r: Sub, height: usize, out: &mut Out) -> Result<Sub, SmtError> {
        let d = defaults();
        let (l, r) = match (l, r) {
            (Sub::Empty, r) => (Sub::Empty, self.resolve(r, height - 1)?),
            (l, Sub::Empty) => (self.resolve(l, height - 1)?, Sub::Empty),
            lr => lr,
        };
        Ok(match (l, r) {
            (Sub::Empty, Sub::Empty) => Sub::Empty,
            (
                Sub::Leaf {
                    key, value, hash, ..
                },
                Sub::Empty,
            ) => Sub::Leaf {
                key,
                value,
                hash: inner_hash(&hash, &d[height - 1]),
                stored_at: None,
            },
            (
                Sub::Empty,
                Sub::Leaf {
                    key, value, hash, ..
                },
            ) => Sub::Leaf {
                key,
                value,
                hash: inner_hash(&d[height - 1], &hash),
                stored_at: None,
            },
            (l, r) => {
                let lh = self.finish_child(l, height - 1, out);
                let rh = self.finish_child(r, height - 1, out);
                let h = inner_hash(&lh, &rh);
                out.push((
                    h,
                    Node::Internal {
                        left: lh,
                        right: rh,
                    },
                ));
                Sub::Node(h)
            }
        })
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
