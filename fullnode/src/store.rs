//! The state tree on disk: a [`NodeStore`] in a redb database, and the roots of recent blocks.
//!
//! Nodes are written in one redb write transaction per `put_batch` (one per block), which redb
//! commits durably: a node killed at any moment reopens with every committed block's nodes and
//! none of a half-written one. Node encoding: tag `0` ‖ left ‖ right (inner node), or tag `1` ‖
//! key ‖ value (a single-leaf subtree).

use casl2_verifier::smt::store::HashKeyHasher;
use casl2_verifier::smt::{Node, NodeStore, StoreError};
use casl2_verifier::H256;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::path::Path;
use std::sync::{Arc, RwLock};

const NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("smt_nodes");
const ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("block_roots");

/// Nodes kept in memory in front of the database (content-addressed, so never stale); the
/// cache is emptied when it reaches this size.
pub const NODE_CACHE_ENTRIES: usize = 500_000;

/// A persistent node store (and block-root history) in one redb file, with an in-memory cache
/// of the nodes read or written (a node never changes under its hash).
#[derive(Debug)]
pub struct RedbNodeStore {
    db: Arc<Database>,
    cache: Arc<RwLock<HashMap<H256, Node, BuildHasherDefault<HashKeyHasher>>>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn encode(n: &Node) -> Vec<u8> {
    match n {
        Node::Internal { left, right } => {
            let mut v = Vec::with_capacity(65);
            v.push(0);
            v.extend_from_slice(&left.0);
            v.extend_from_slice(&right.0);
            v
        }
        Node::Leaf { key, value } => {
            let mut v = Vec::with_capacity(33 + value.len());
            v.push(1);
            v.extend_from_slice(&key.0);
            v.extend_from_slice(value);
            v
        }
    }
}

fn decode(b: &[u8]) -> Result<Node, StoreError> {
    let h = |s: &[u8]| {
        let mut a = [0u8; 32];
        a.copy_from_slice(s);
        H256(a)
    };
    match b.first() {
        Some(0) if b.len() == 65 => Ok(Node::Internal {
            left: h(&b[1..33]),
            right: h(&b[33..65]),
        }),
        Some(1) if b.len() > 33 => Ok(Node::Leaf {
            key: h(&b[1..33]),
            value: b[33..].to_vec(),
        }),
        _ => Err(StoreError::Backend(format!(
            "corrupt node record of {} bytes",
            b.len()
        ))),
    }
}

impl RedbNodeStore {
    fn remember(&self, nodes: impl IntoIterator<Item = (H256, Node)>) {
        let mut c = self.cache.write().unwrap_or_else(|p| p.into_inner());
        for (h, n) in nodes {
            if c.len() >= NODE_CACHE_ENTRIES {
                c.clear();
            }
            c.insert(h, n);
        }
    }

    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(backend)?;
        let w = db.begin_write().map_err(backend)?;
        w.open_table(NODES).map_err(backend)?;
        w.open_table(ROOTS).map_err(backend)?;
        w.commit().map_err(backend)?;
        Ok(RedbNodeStore {
            db: Arc::new(db),
            cache: Arc::new(RwLock::new(HashMap::default())),
        })
    }

    /// A second handle on the same database and cache, for readers that must not hold the
    /// owner's lock (the RPC's calls and proofs at a past root). Nodes are content-addressed
    /// and never rewritten, so a reader at a root sees exactly that root's tree, whatever the
    /// owner writes meanwhile.
    pub fn share(&self) -> RedbNodeStore {
        RedbNodeStore {
            db: self.db.clone(),
            cache: self.cache.clone(),
        }
    }

    /// Record the post-state root of `block` and forget roots more than `keep` blocks older
    /// (their nodes stay until the store is compacted).
    pub fn record_root(&self, block: u64, root: &H256, keep: u64) -> Result<(), StoreError> {
        let keep = keep.max(1);
        let w = self.db.begin_write().map_err(backend)?;
        {
            let mut t = w.open_table(ROOTS).map_err(backend)?;
            // A block at or below the newest recorded one replaces that part of the history.
            let stale: Vec<u64> = t
                .range(block..)
                .map_err(backend)?
                .filter_map(|r| r.ok().map(|(k, _)| k.value()))
                .collect();
            for b in stale {
                t.remove(b).map_err(backend)?;
            }
            t.insert(block, root.0.as_slice()).map_err(backend)?;
            if block >= keep {
                let old: Vec<u64> = t
                    .range(..block + 1 - keep)
                    .map_err(backend)?
                    .filter_map(|r| r.ok().map(|(k, _)| k.value()))
                    .collect();
                for b in old {
                    t.remove(b).map_err(backend)?;
                }
            }
        }
        w.commit().map_err(backend)
    }

    /// The recorded post-state root of `block`, if kept.
    pub fn root_at(&self, block: u64) -> Result<Option<H256>, StoreError> {
        let r = self.db.begin_read().map_err(backend)?;
        let t = r.open_table(ROOTS).map_err(backend)?;
        Ok(t.get(block).map_err(backend)?.and_then(|v| {
            let b = v.value();
            (b.len() == 32).then(|| {
                let mut a = [0u8; 32];
                a.copy_from_slice(b);
                H256(a)
            })
        }))
    }

    /// The newest recorded (block, root).
    pub fn latest_root(&self) -> Result<Option<(u64, H256)>, StoreError> {
        let r = self.db.begin_read().map_err(backend)?;
        let t = r.open_table(ROOTS).map_err(backend)?;
        let last = t.last().map_err(backend)?;
        Ok(last.and_then(|(k, v)| {
            let b = v.value();
            (b.len() == 32).then(|| {
                let mut a = [0u8; 32];
                a.copy_from_slice(b);
                (k.value(), H256(a))
            })
        }))
    }
}

impl NodeStore for RedbNodeStore {
    fn get(&self, hash: &H256) -> Result<Option<Node>, StoreError> {
        if let Some(n) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
        {
            return Ok(Some(n.clone()));
        }
        let r = self.db.begin_read().map_err(backend)?;
        let t = r.open_table(NODES).map_err(backend)?;
        match t.get(hash.0.as_slice()).map_err(backend)? {
            None => Ok(None),
            Some(v) => {
                let n = decode(v.value())?;
                self.remember(std::iter::once((*hash, n.clone())));
                Ok(Some(n))
            }
        }
    }

    fn put_batch(&mut self, nodes: Vec<(H256, Node)>) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(backend)?;
        {
            let mut t = w.open_table(NODES).map_err(backend)?;
            for (h, n) in &nodes {
                t.insert(h.0.as_slice(), encode(n).as_slice())
                    .map_err(backend)?;
            }
        }
        w.commit().map_err(backend)?;
        // Cached only once durable.
        self.remember(nodes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casl2_verifier::smt::{AccountTree, MemoryStore};
    use casl2_verifier::{AccountState, Address};

    #[test]
    fn same_roots_as_memory_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let accts: Vec<(Address, AccountState)> = (0u8..50)
            .map(|i| {
                (
                    Address([i; 20]),
                    AccountState {
                        balance: i as i64 + 1,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let mut mem = AccountTree::new(MemoryStore::new());
        let r1 = mem.set_many(&accts[..25]).unwrap();
        let r2 = mem.set_many(&accts[25..]).unwrap();
        {
            let mut disk = AccountTree::new(RedbNodeStore::open(&path).unwrap());
            assert_eq!(disk.set_many(&accts[..25]).unwrap(), r1);
            disk.tree().store().record_root(1, &r1, 10).unwrap();
            assert_eq!(disk.set_many(&accts[25..]).unwrap(), r2);
            disk.tree().store().record_root(2, &r2, 10).unwrap();
        }
        let store = RedbNodeStore::open(&path).unwrap();
        assert_eq!(store.latest_root().unwrap(), Some((2, r2)));
        assert_eq!(store.root_at(1).unwrap(), Some(r1));
        let mut disk = AccountTree::with_root(store, r2).unwrap();
        assert_eq!(disk.get(&Address([7; 20])).unwrap().balance, 8);
        // Back to an earlier root.
        disk.tree_mut().revert_to(r1).unwrap();
        assert_eq!(disk.get(&Address([30; 20])).unwrap().balance, 0);
        // Re-recording block 1 drops block 2 from the history; keep bounds it.
        disk.tree().store().record_root(1, &r1, 10).unwrap();
        assert_eq!(disk.tree().store().root_at(2).unwrap(), None);
        for b in 2..20 {
            disk.tree().store().record_root(b, &r1, 5).unwrap();
        }
        assert_eq!(disk.tree().store().root_at(14).unwrap(), None);
        assert_eq!(disk.tree().store().root_at(15).unwrap(), Some(r1));
    }

    #[test]
    fn corrupt_records_are_errors() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0; 10]).is_err());
        assert!(decode(&[7; 65]).is_err());
    }
}
