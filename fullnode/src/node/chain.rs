//! The node's chain database (redb): final L2 blocks with their quorum signatures, receipts,
//! the transaction index, the node's own votes (its locks) and the batches it anchored.
//!
//! Every block is written in one durable redb transaction together with the head pointer, after
//! the state tree (a separate [`crate::RedbNodeStore`] file) has durably written the block's
//! nodes. So a node killed at any moment reopens with a head whose state root is in the tree
//! store; nodes of a half-applied block are unreferenced and harmless.
//!
//! The node's vote at a height is written durably **before** the vote is sent: a restarted node
//! never votes for a second block at a height it already voted on (Property 11 across restarts).

use casl2_verifier::stf::Receipt;
use casl2_verifier::{Decode, Encode, L2Block, H256};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::Path;

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("l2_blocks");
const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("l2_receipts");
const TX_INDEX: TableDefinition<&[u8], (u64, u32)> = TableDefinition::new("l2_tx_index");
const VOTES: TableDefinition<u64, &[u8]> = TableDefinition::new("l2_my_votes");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("l2_meta");
/// Key in `META` of the block of the node's newest vote.
const LOCKED_BLOCK: &str = "locked_block";

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("chain store: {0}")]
pub struct ChainStoreError(pub String);

fn err(e: impl std::fmt::Display) -> ChainStoreError {
    ChainStoreError(e.to_string())
}

/// A receipt as stored and served (`l2_gettransactionreceipt`): the api's type.
pub use casl2_lightclient::api::node::StoredReceipt;

/// The node's own vote at one height (its lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MyVote {
    /// The block it accepted.
    pub block_hash: H256,
    /// The slot.
    pub slot: u64,
}

/// The chain database.
#[derive(Debug)]
pub struct ChainStore {
    db: std::sync::Arc<Database>,
}

impl ChainStore {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<ChainStore, ChainStoreError> {
        let db = Database::create(path).map_err(err)?;
        let w = db.begin_write().map_err(err)?;
        {
            w.open_table(BLOCKS).map_err(err)?;
            w.open_table(RECEIPTS).map_err(err)?;
            w.open_table(TX_INDEX).map_err(err)?;
            w.open_table(VOTES).map_err(err)?;
            w.open_table(META).map_err(err)?;
        }
        w.commit().map_err(err)?;
        Ok(ChainStore {
            db: std::sync::Arc::new(db),
        })
    }

    /// A second handle on the same database, for readers that must not hold the owner's lock
    /// (the RPC's log scans); redb gives each read transaction a consistent snapshot.
    pub fn share(&self) -> ChainStore {
        ChainStore {
            db: self.db.clone(),
        }
    }

    /// The number of the newest stored block (0: none; block 0 is the genesis state).
    pub fn head(&self) -> Result<u64, ChainStoreError> {
        let r = self.db.begin_read().map_err(err)?;
        let t = r.open_table(BLOCKS).map_err(err)?;
        let last = t.last().map_err(err)?;
        Ok(last.map(|(k, _)| k.value()).unwrap_or(0))
    }

    /// The stored block `number`, with its signatures.
    pub fn block(&self, number: u64) -> Result<Option<L2Block>, ChainStoreError> {
        let r = self.db.begin_read().map_err(err)?;
        let t = r.open_table(BLOCKS).map_err(err)?;
        match t.get(number).map_err(err)? {
            Some(v) => Ok(Some(decode_block(v.value())?)),
            None => Ok(None),
        }
    }

    /// Store a final block (its number must be head + 1) with its receipts, in one durable
    /// transaction.
    pub fn append(&self, block: &L2Block, receipts: &[Receipt]) -> Result<(), ChainStoreError> {
        let n = block.header.block_number;
        let head = self.head()?;
        if n != head + 1 {
            return Err(ChainStoreError(format!(
                "block {n} does not follow the stored head {head}"
            )));
        }
        let hash = block.hash();
        let w = self.db.begin_write().map_err(err)?;
        {
            let mut t = w.open_table(BLOCKS).map_err(err)?;
            t.insert(n, encode_block(block).as_slice()).map_err(err)?;
            let stored: Vec<StoredReceipt> = receipts
                .iter()
                .enumerate()
                .map(|(i, r)| StoredReceipt {
                    hash: r.hash,
                    block_number: n,
                    block_hash: hash,
                    step: i as u32,
                    receipt: r.clone(),
                })
                .collect();
            let mut rt = w.open_table(RECEIPTS).map_err(err)?;
            rt.insert(n, serde_json::to_vec(&stored).map_err(err)?.as_slice())
                .map_err(err)?;
            let mut ix = w.open_table(TX_INDEX).map_err(err)?;
            for (i, r) in stored.iter().enumerate() {
                if r.hash != H256::ZERO {
                    ix.insert(r.hash.0.as_slice(), (n, i as u32)).map_err(err)?;
                }
            }
        }
        w.commit().map_err(err)
    }

    /// Remove every block above `keep` (a revert after an L1 reorg).
    pub fn truncate(&self, keep: u64) -> Result<(), ChainStoreError> {
        let head = self.head()?;
        let w = self.db.begin_write().map_err(err)?;
        {
            let mut t = w.open_table(BLOCKS).map_err(err)?;
            let mut rt = w.open_table(RECEIPTS).map_err(err)?;
            let mut ix = w.open_table(TX_INDEX).map_err(err)?;
            for n in (keep + 1)..=head {
                t.remove(n).map_err(err)?;
                if let Some(v) = rt.remove(n).map_err(err)? {
                    let stored: Vec<StoredReceipt> =
                        serde_json::from_slice(v.value()).map_err(err)?;
                    for r in stored {
                        ix.remove(r.hash.0.as_slice()).map_err(err)?;
                    }
                }
            }
            let mut v = w.open_table(VOTES).map_err(err)?;
            let above: Vec<u64> = v
                .range((keep + 1)..)
                .map_err(err)?
                .map(|e| e.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            for n in above {
                v.remove(n).map_err(err)?;
            }
        }
        w.commit().map_err(err)
    }

    /// The receipt of transaction (or L1 message) `hash`.
    pub fn receipt(&self, hash: &H256) -> Result<Option<StoredReceipt>, ChainStoreError> {
        let r = self.db.begin_read().map_err(err)?;
        let ix = r.open_table(TX_INDEX).map_err(err)?;
        let Some(pos) = ix.get(hash.0.as_slice()).map_err(err)? else {
            return Ok(None);
        };
        let (n, i) = pos.value();
        drop(ix);
        drop(r);
        Ok(self.receipts(n)?.into_iter().nth(i as usize))
    }

    /// The receipts of final block `number`, one per step (empty when there is no such block).
    pub fn receipts(&self, number: u64) -> Result<Vec<StoredReceipt>, ChainStoreError> {
        let r = self.db.begin_read().map_err(err)?;
        let rt = r.open_table(RECEIPTS).map_err(err)?;
        match rt.get(number).map_err(err)? {
            Some(v) => serde_json::from_slice(v.value()).map_err(err),
            None => Ok(Vec::new()),
        }
    }

    /// Where transaction `hash` is: (block, position among the block's steps).
    pub fn locate(&self, hash: &H256) -> Result<Option<(u64, u32)>, ChainStoreError> {
        let r = self.db.begin_read().map_err(err)?;
        let ix = r.open_table(TX_INDEX).map_err(err)?;
        Ok(ix.get(hash.0.as_slice()).map_err(err)?.map(|v| v.value()))
    }

    /// The node's vote at `height`, if it cast one.
    pub fn my_vote(&self, height: u64) -> Result<Option<MyVote>, ChainStoreError> {
        let r = self.db.begin_read().map_err(err)?;
        let t = r.open_table(VOTES).map_err(err)?;
        match t.get(height).map_err(err)? {
            Some(v) => Ok(Some(serde_json::from_slice(v.value()).map_err(err)?)),
            None => Ok(None),
        }
    }

    /// Record the node's vote at `height` durably (before sending it), together with the block
    /// it accepts: the block of its newest lock is kept (one, overwritten at the next lock), so
    /// a restarted node can propose and vote for it again instead of standing locked on a block
    /// nobody has any more.
    pub fn record_vote(
        &self,
        height: u64,
        vote: &MyVote,
        block: &L2Block,
    ) -> Result<(), ChainStoreError> {
        let w = self.db.begin_write().map_err(err)?;
        {
            let mut t = w.open_table(VOTES).map_err(err)?;
            t.insert(height, serde_json::to_vec(vote).map_err(err)?.as_slice())
                .map_err(err)?;
            let mut m = w.open_table(META).map_err(err)?;
            m.insert(LOCKED_BLOCK, block.encode().as_slice())
                .map_err(err)?;
        }
        w.commit().map_err(err)
    }

    /// The block this node accepted at `height` (its lock), if it is the newest lock and was
    /// stored with it.
    pub fn locked_block(&self, height: u64) -> Result<Option<L2Block>, ChainStoreError> {
        let Some(vote) = self.my_vote(height)? else {
            return Ok(None);
        };
        let Some(bytes) = self.meta(LOCKED_BLOCK)? else {
            return Ok(None);
        };
        let block = decode_block(&bytes)?;
        Ok(
            (block.header.block_number == height && block.hash() == vote.block_hash)
                .then_some(block),
        )
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ChainStoreError> {
        let r = self.db.begin_read().map_err(err)?;
        let t = r.open_table(META).map_err(err)?;
        Ok(t.get(key).map_err(err)?.map(|v| v.value().to_vec()))
    }

    /// Set a metadata value.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), ChainStoreError> {
        let w = self.db.begin_write().map_err(err)?;
        {
            let mut t = w.open_table(META).map_err(err)?;
            t.insert(key, value).map_err(err)?;
        }
        w.commit().map_err(err)
    }
}

/// A block in the node's format (header, transactions, message hashes, signatures, flag).
pub fn encode_block(block: &L2Block) -> Vec<u8> {
    block.encode()
}

/// Decode [`encode_block`]'s bytes.
pub fn decode_block(bytes: &[u8]) -> Result<L2Block, ChainStoreError> {
    L2Block::decode(bytes).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_votes_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let s = ChainStore::open(&dir.path().join("c.redb")).unwrap();
        assert_eq!(s.head().unwrap(), 0);
        let mut b = L2Block::default();
        b.header.block_number = 2;
        assert!(s.append(&b, &[]).is_err());
        b.header.block_number = 1;
        b.signatures.push(casl2_verifier::BlockSignature {
            sequencer: casl2_verifier::Address([1; 20]),
            signature: vec![1, 2, 3],
            timestamp: 5,
        });
        b.is_finalized = true;
        s.append(&b, &[]).unwrap();
        assert_eq!(s.block(1).unwrap().unwrap(), b);
        let mut locked = L2Block::default();
        locked.header.block_number = 2;
        s.record_vote(
            2,
            &MyVote {
                block_hash: locked.hash(),
                slot: 0,
            },
            &locked,
        )
        .unwrap();
        drop(s);
        let s = ChainStore::open(&dir.path().join("c.redb")).unwrap();
        assert_eq!(s.head().unwrap(), 1);
        assert_eq!(s.my_vote(2).unwrap().unwrap().block_hash, locked.hash());
        // The locked block comes back with the vote, and only at its own height.
        assert_eq!(s.locked_block(2).unwrap(), Some(locked.clone()));
        assert_eq!(s.locked_block(3).unwrap(), None);
        s.truncate(0).unwrap();
        assert_eq!(s.head().unwrap(), 0);
        assert!(s.my_vote(2).unwrap().is_none());
    }
}
