//! The state seen by the state transition: a [`StateView`] to read from, and an [`Overlay`] that
//! collects a step's writes (and, for witnesses, every key it touched).

use super::StfError;
use crate::codec::Decode;
use crate::hash::{Address, H256};
use crate::smt::{NodeStore, PartialTree, SmtError, SparseMerkleTree};
use crate::types::AccountState;
use std::collections::{BTreeMap, BTreeSet};

/// Read access to the state tree: the full tree of a node, or the partial tree of a witness.
pub trait StateView {
    /// The value under `key` (`None`: absent). A partial tree that does not cover `key` fails.
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError>;
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
}

impl StateView for PartialTree {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        self.get(key).map_err(map_smt)
    }
}

/// Writes over a [`StateView`]. Reads see earlier writes; `touched` records every key read or
/// written (the keys a witness must prove).
pub struct Overlay<'a> {
    base: &'a dyn StateView,
    writes: BTreeMap<H256, Option<Vec<u8>>>,
    touched: BTreeSet<H256>,
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

    /// The writes, ready for `update_batch`.
    pub fn into_writes(self) -> Vec<(H256, Option<Vec<u8>>)> {
        self.writes.into_iter().collect()
    }

    /// Every key read or written.
    pub fn touched(&self) -> Vec<H256> {
        self.touched.iter().copied().collect()
    }
}
