//! The state seen by the state transition: a [`StateView`] to read from, and an [`Overlay`] that
//! collects a step's writes (and, for witnesses, every key it touched).

use super::StfError;
use crate::codec::Decode;
use crate::hash::{Address, H256};
use crate::smt::{
    empty_root, MemoryStore, Node, NodeStore, PartialTree, SmtError, SparseMerkleTree, StoreError,
    Update,
};
use crate::types::AccountState;
use std::collections::{BTreeMap, BTreeSet};

/// Read access to the state tree: the full tree of a node, or the partial tree of a witness.
pub trait StateView: Sync {
    /// The value under `key` (`None`: absent). A partial tree that does not cover `key` fails.
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError>;
    /// The tree node stored under `hash` (`None`: not held). Contract storage trees live in the
    /// same content-addressed store as the account tree and are read through their nodes.
    fn node(&self, hash: &H256) -> Result<Option<Node>, StfError>;
}

fn map_smt(e: SmtError) -> StfError {
    match e {
        SmtError::MissingNode { hash, height } => StfError::MissingWitness { hash, height },
        other => StfError::State(other.to_string()),
    }
}

impl<S: NodeStore> StateView for SparseMerkleTree<S> {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        self.get(key).map_err(map_smt)
    }
    fn node(&self, hash: &H256) -> Result<Option<Node>, StfError> {
        self.store()
            .get(hash)
            .map_err(|e| StfError::State(e.to_string()))
    }
}

impl StateView for PartialTree {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        self.get(key).map_err(map_smt)
    }
    fn node(&self, hash: &H256) -> Result<Option<Node>, StfError> {
        PartialTree::node(self, hash).map_err(map_smt)
    }
}

/// A full tree read at one of the roots it holds, not only its current one (a node's state at
/// an earlier block). Reading a key the store no longer holds fails like a partial tree.
#[derive(Debug, Clone, Copy)]
pub struct AtRoot<'a, S: NodeStore> {
    /// The tree.
    pub tree: &'a SparseMerkleTree<S>,
    /// The root read.
    pub root: H256,
}

impl<S: NodeStore> StateView for AtRoot<'_, S> {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        self.tree.get_at(self.root, key).map_err(map_smt)
    }
    fn node(&self, hash: &H256) -> Result<Option<Node>, StfError> {
        <SparseMerkleTree<S> as StateView>::node(self.tree, hash)
    }
}

/// The SMT root of a storage tree from an account's `storageRoot` (zero: the empty tree).
pub fn storage_tree_root(storage_root: &H256) -> H256 {
    if storage_root.is_zero() {
        empty_root()
    } else {
        *storage_root
    }
}

/// An account's `storageRoot` from its storage tree's SMT root (the empty tree: zero).
pub fn storage_root_field(tree_root: H256) -> H256 {
    if tree_root == empty_root() {
        H256::ZERO
    } else {
        tree_root
    }
}

/// The node store of storage trees during a step: the nodes the step wrote first, then the
/// view's.
struct Layered<'a> {
    base: &'a dyn StateView,
    pending: &'a mut MemoryStore,
}

impl NodeStore for Layered<'_> {
    fn get(&self, hash: &H256) -> Result<Option<Node>, StoreError> {
        if let Some(n) = self.pending.get(hash)? {
            return Ok(Some(n));
        }
        self.base
            .node(hash)
            .map_err(|e| StoreError::Backend(e.to_string()))
    }
    fn put_batch(&mut self, nodes: Vec<(H256, Node)>) -> Result<(), StoreError> {
        self.pending.put_batch(nodes)
    }
}

/// Writes over a [`StateView`]. Reads see earlier writes; `touched` records every key read or
/// written (the keys a witness must prove).
pub struct Overlay<'a> {
    base: &'a dyn StateView,
    writes: BTreeMap<H256, Option<Vec<u8>>>,
    touched: BTreeSet<H256>,
    /// Storage slot keys read or written, per contract.
    touched_storage: BTreeMap<Address, BTreeSet<H256>>,
    /// Nodes of contract storage trees written so far (stored with the writes).
    nodes: MemoryStore,
    track: bool,
}

impl std::fmt::Debug for Overlay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay")
            .field("writes", &self.writes.len())
            .field("touched", &self.touched.len())
            .finish()
    }
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `base` that records the keys it touches (for witnesses).
    pub fn new(base: &'a dyn StateView) -> Self {
        Overlay {
            base,
            writes: BTreeMap::new(),
            touched: BTreeSet::new(),
            touched_storage: BTreeMap::new(),
            nodes: MemoryStore::new(),
            track: true,
        }
    }

    /// An empty overlay over `base` that does not record touched keys ([`touched`](Self::touched)
    /// then lists none): for execution that needs no witness.
    pub fn untracked(base: &'a dyn StateView) -> Self {
        Overlay {
            track: false,
            ..Self::new(base)
        }
    }

    /// Read a key (earlier writes first).
    pub fn get(&mut self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        if self.track {
            self.touched.insert(*key);
        }
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.read(key),
        }
    }

    /// Write a key (`None` or an empty value deletes it).
    pub fn put(&mut self, key: H256, value: Option<Vec<u8>>) {
        if self.track {
            self.touched.insert(key);
        }
        self.writes.insert(key, value.filter(|v| !v.is_empty()));
    }

    /// An account's state (all zero when absent).
    pub fn account(&mut self, address: &Address) -> Result<AccountState, StfError> {
        match self.get(&address.tree_key())? {
            None => Ok(AccountState::default()),
            Some(b) => AccountState::decode(&b)
                .map_err(|e| StfError::State(format!("account {address}: {e}"))),
        }
    }

    /// Write an account's state (an all-zero state deletes it).
    pub fn set_account(&mut self, address: &Address, st: &AccountState) {
        let v = (!st.is_empty()).then(|| st.to_bytes().to_vec());
        self.put(address.tree_key(), v);
    }

    /// The value of storage slot key `slot_key` in `address`'s storage tree whose
    /// `storageRoot` is `storage_root` (zero: empty).
    pub fn storage_get(
        &mut self,
        address: &Address,
        storage_root: &H256,
        slot_key: &H256,
    ) -> Result<Option<Vec<u8>>, StfError> {
        if self.track {
            self.touched_storage
                .entry(*address)
                .or_default()
                .insert(*slot_key);
        }
        if storage_root.is_zero() {
            return Ok(None);
        }
        let t = SparseMerkleTree::new(Layered {
            base: self.base,
            pending: &mut self.nodes,
        });
        t.get_at(*storage_root, slot_key).map_err(map_smt)
    }

    /// Apply `updates` to `address`'s storage tree at `storage_root` and return the new
    /// `storageRoot` (zero when the tree ends empty). The new nodes are kept with the writes.
    pub fn storage_update(
        &mut self,
        address: &Address,
        storage_root: &H256,
        updates: Vec<Update>,
    ) -> Result<H256, StfError> {
        if self.track {
            let set = self.touched_storage.entry(*address).or_default();
            set.extend(updates.iter().map(|u| u.0));
        }
        let mut t = SparseMerkleTree::new(Layered {
            base: self.base,
            pending: &mut self.nodes,
        });
        let root = t
            .update_at(storage_tree_root(storage_root), updates)
            .map_err(map_smt)?;
        Ok(storage_root_field(root))
    }

    /// The writes, ready for `update_batch` (the storage tree nodes are dropped: for a partial
    /// tree, whose root is all that is needed; a full tree takes [`Overlay::into_parts`]).
    pub fn into_writes(self) -> Vec<(H256, Option<Vec<u8>>)> {
        self.writes.into_iter().collect()
    }

    /// The writes and the storage tree nodes, to store before the writes are applied.
    pub fn into_parts(self) -> (Vec<Update>, Vec<(H256, Node)>) {
        (self.writes.into_iter().collect(), self.nodes.into_nodes())
    }

    /// Storage slot keys read or written, per contract.
    pub fn touched_storage(&self) -> &BTreeMap<Address, BTreeSet<H256>> {
        &self.touched_storage
    }

    /// Every key read or written.
    pub fn touched(&self) -> Vec<H256> {
        self.touched.iter().copied().collect()
    }
}
