//! The Cascoin-compatible 256-level sparse Merkle tree of accounts, and its proofs.
//!
//! - Leaf hash `SHA256d(0x00 ‖ key ‖ value)`, inner hash `SHA256d(left ‖ right)`, empty
//!   subtrees hash to `default[height]` ([`hasher`]).
//! - The path of a key starts under the root with the most significant bit of key byte 31 and
//!   goes down through byte 31, then 30, …; an account's key is its 20 address bytes followed by
//!   12 zero bytes.
//! - Storage is content-addressed behind [`NodeStore`]; a subtree with one leaf is one stored
//!   node ([`store`]).
//! - Proofs: the real node's format ([`NodeProof`]), casl2's compact format ([`CompactProof`])
//!   and multiproofs ([`MultiProof`]) that verify into a [`PartialTree`] for stateless execution.

pub mod hasher;
mod multiproof;
mod portable;
mod proof;
#[cfg(target_arch = "x86_64")]
mod shani;
pub mod store;
mod tree;
mod update;

pub use hasher::{defaults, empty_root};
pub use multiproof::{MultiNode, MultiProof, PartialTree};
pub use proof::{
    hex_bytes, hex_bytes_opt, verify_compact_proof, verify_node_proof, CompactProof, NodeProof,
    MAX_VALUE_SIZE,
};
pub use store::{MemoryStore, Node, NodeStore, StoreError};
pub use tree::{SparseMerkleTree, Update};

use crate::codec::Decode;
use crate::hash::{Address, H256};
use crate::types::AccountState;
use thiserror::Error;

/// Errors of tree operations.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SmtError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A node needed for the operation is not in the store (for a [`PartialTree`]: the witness
    /// does not cover it).
    #[error("missing tree node {hash} at height {height}")]
    MissingNode {
        /// The node's hash.
        hash: H256,
        /// Its height.
        height: usize,
    },
    /// The store does not hold this root (`STATE_REVERT_FAILED`).
    #[error("STATE_REVERT_FAILED: unknown root {0}")]
    UnknownRoot(H256),
    /// The store holds something that cannot be part of a valid tree.
    #[error("corrupt tree: {0}")]
    Corrupt(String),
}

/// Why a proof does not prove what it claims (`STATE_PROOF_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The proof's structure is wrong.
    #[error("STATE_PROOF_INVALID: malformed proof: {0}")]
    Malformed(String),
    /// A path bit disagrees with the key.
    #[error("STATE_PROOF_INVALID: path bit {0} does not match the key")]
    PathMismatch(usize),
    /// The leaf hash is not the hash of the key and value.
    #[error("STATE_PROOF_INVALID: leaf hash does not match key and value")]
    LeafHashMismatch,
    /// The proof folds to another root.
    #[error("STATE_PROOF_INVALID: proof gives root {computed}, expected {expected}")]
    RootMismatch {
        /// What the proof folds to.
        computed: H256,
        /// The trusted root.
        expected: H256,
    },
    /// The proof is for another key.
    #[error("STATE_PROOF_INVALID: proof is for key {got}, expected {expected}")]
    WrongKey {
        /// The key in the proof.
        got: H256,
        /// The key asked about.
        expected: H256,
    },
    /// The proven value is not a valid account state.
    #[error("STATE_PROOF_INVALID: proven value is not an account state: {0}")]
    BadAccount(String),
    /// The proven account differs from the expected one.
    #[error("STATE_PROOF_INVALID: proven account state differs from the expected one")]
    AccountMismatch,
}

/// Verify a compact proof of `address`'s account against `root`; returns the proven state (the
/// all-zero default when the proof shows the account absent).
pub fn verify_account_proof(
    proof: &CompactProof,
    root: &H256,
    address: &Address,
) -> Result<AccountState, ProofError> {
    if proof.key != address.tree_key() {
        return Err(ProofError::WrongKey {
            got: proof.key,
            expected: address.tree_key(),
        });
    }
    account_from_value(verify_compact_proof(proof, root)?)
}

/// Verify a node-format proof of `address`'s account against `root`; returns the proven state.
pub fn verify_account_node_proof(
    proof: &NodeProof,
    root: &H256,
    address: &Address,
) -> Result<AccountState, ProofError> {
    if proof.key != address.tree_key() {
        return Err(ProofError::WrongKey {
            got: proof.key,
            expected: address.tree_key(),
        });
    }
    account_from_value(verify_node_proof(proof, root)?)
}

fn account_from_value(v: Option<Vec<u8>>) -> Result<AccountState, ProofError> {
    match v {
        None => Ok(AccountState::default()),
        Some(b) => {
            let a = AccountState::decode(&b).map_err(|e| ProofError::BadAccount(e.to_string()))?;
            if a.is_empty() {
                return Err(ProofError::BadAccount(
                    "an all-zero account is never stored".into(),
                ));
            }
            Ok(a)
        }
    }
}

/// The account tree: a [`SparseMerkleTree`] whose values are [`AccountState`]s under
/// [`Address::tree_key`]; an all-zero account is deleted.
#[derive(Debug)]
pub struct AccountTree<S> {
    tree: SparseMerkleTree<S>,
}

impl<S: NodeStore> AccountTree<S> {
    /// An empty account tree over `store`.
    pub fn new(store: S) -> Self {
        AccountTree {
            tree: SparseMerkleTree::new(store),
        }
    }
    /// The account tree at a stored root.
    pub fn with_root(store: S, root: H256) -> Result<Self, SmtError> {
        Ok(AccountTree {
            tree: SparseMerkleTree::with_root(store, root)?,
        })
    }
    /// The root.
    pub fn root(&self) -> H256 {
        self.tree.root()
    }
    /// The underlying tree.
    pub fn tree(&self) -> &SparseMerkleTree<S> {
        &self.tree
    }
    /// The underlying tree, mutably.
    pub fn tree_mut(&mut self) -> &mut SparseMerkleTree<S> {
        &mut self.tree
    }
    /// The account's state (all zero when absent).
    pub fn get(&self, address: &Address) -> Result<AccountState, SmtError> {
        match self.tree.get(&address.tree_key())? {
            None => Ok(AccountState::default()),
            Some(b) => AccountState::decode(&b)
                .map_err(|e| SmtError::Corrupt(format!("account {address}: {e}"))),
        }
    }
    /// Set many accounts at once (all-zero states delete); returns the new root.
    ///
    /// The accounts go in key order, a chunk at a time, so that only a chunk's encoded values
    /// are alive at once (a million-account build stays small); a repeated address keeps its
    /// last state.
    pub fn set_many(&mut self, accounts: &[(Address, AccountState)]) -> Result<H256, SmtError> {
        let mut order: Vec<(H256, usize)> = accounts
            .iter()
            .enumerate()
            .map(|(i, (a, _))| (a.tree_key(), i))
            .collect();
        order.sort_by(|x, y| hasher::path_cmp(&x.0, &y.0).then(x.1.cmp(&y.1)));
        let mut root = self.tree.root();
        for chunk in order.chunks(tree::BATCH_CHUNK) {
            let ups = chunk
                .iter()
                .map(|(k, i)| {
                    let s = &accounts[*i].1;
                    (*k, (!s.is_empty()).then(|| s.to_bytes().to_vec()))
                })
                .collect();
            root = self.tree.update_batch(ups)?;
        }
        Ok(root)
    }
    /// Set one account; returns the new root.
    pub fn set(&mut self, address: &Address, state: AccountState) -> Result<H256, SmtError> {
        self.set_many(&[(*address, state)])
    }
    /// A compact proof of the account.
    pub fn prove_compact(&self, address: &Address) -> Result<CompactProof, SmtError> {
        self.tree.prove_compact(&address.tree_key())
    }
    /// A proof of the account in the real node's format.
    pub fn prove(&self, address: &Address) -> Result<NodeProof, SmtError> {
        self.tree.prove(&address.tree_key())
    }
}

#[cfg(test)]
mod tests;
