//! The state history a node keeps: the roots of the last N blocks, so it can go back to any of
//! them (an L1 reorganisation, Property 20), and pruning of everything older.

use super::StfError;
use crate::hash::H256;
use crate::smt::{MemoryStore, NodeStore, SparseMerkleTree};
use std::collections::VecDeque;

/// The post-state roots of the last `keep` blocks of a tree, oldest first.
#[derive(Debug, Clone)]
pub struct StateHistory {
    keep: usize,
    roots: VecDeque<(u64, H256)>,
}

impl StateHistory {
    /// Keep the roots of the last `keep` blocks (at least 1).
    pub fn new(keep: usize) -> Self {
        StateHistory {
            keep: keep.max(1),
            roots: VecDeque::new(),
        }
    }

    /// Record the post-state root of `block` (blocks must be pushed in increasing order; a
    /// block at or below the newest one replaces that part of the history, as after a revert).
    pub fn push(&mut self, block: u64, root: H256) {
        while matches!(self.roots.back(), Some((b, _)) if *b >= block) {
            self.roots.pop_back();
        }
        self.roots.push_back((block, root));
        while self.roots.len() > self.keep {
            self.roots.pop_front();
        }
    }

    /// The root after `block`, if it is still kept.
    pub fn root_at(&self, block: u64) -> Option<H256> {
        self.roots
            .iter()
            .find(|(b, _)| *b == block)
            .map(|(_, r)| *r)
    }

    /// The kept (block, root) pairs, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &(u64, H256)> {
        self.roots.iter()
    }

    /// Move `tree` back to the root after `block` and forget the blocks after it.
    pub fn revert_to<S: NodeStore>(
        &mut self,
        tree: &mut SparseMerkleTree<S>,
        block: u64,
    ) -> Result<H256, StfError> {
        let root = self.root_at(block).ok_or_else(|| {
            StfError::State(format!(
                "STATE_REVERT_FAILED: block {block} is not in the last {} blocks kept",
                self.keep
            ))
        })?;
        tree.revert_to(root)
            .map_err(|e| StfError::State(e.to_string()))?;
        while matches!(self.roots.back(), Some((b, _)) if *b > block) {
            self.roots.pop_back();
        }
        Ok(root)
    }

    /// A new in-memory store holding only the nodes of the kept roots (and `extra` roots, e.g.
    /// the current one), with the contract storage trees their accounts (and archive records)
    /// name: what a node does to bound its memory.
    pub fn prune(&self, store: &MemoryStore, extra: &[H256]) -> Result<MemoryStore, StfError> {
        let roots: Vec<H256> = self
            .roots
            .iter()
            .map(|(_, r)| *r)
            .chain(extra.iter().copied())
            .collect();
        let follow = |v: &[u8]| {
            if v.len() != crate::types::AccountState::SIZE {
                return None;
            }
            <crate::types::AccountState as crate::codec::Decode>::decode(v)
                .ok()
                .map(|a| a.storage_root)
                .filter(|r| !r.is_zero())
        };
        store
            .retain_roots_following(&roots, &follow)
            .map_err(|e| StfError::State(e.to_string()))
    }
}
