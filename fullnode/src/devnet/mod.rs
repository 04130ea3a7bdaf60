//! The embedded devnet L1: a single-miner chain that runs [`L1State`] (the `verifier::l1` rules)
//! over blocks chained by SHA256d, with a mempool, mining on demand or on an interval,
//! `invalidateblock` / `reconsiderblock` reorgs and persistence in redb.
//!
//! Persistence: every block ever mined is kept in the `blocks` table (hash → encoded block), the
//! active chain in `chain` (height → hash), the genesis and the invalidated hashes in `meta`.
//! Mining a block, invalidating and reconsidering are each one redb write transaction, committed
//! durably before the in-memory state changes, so a process killed at any moment reopens at the
//! last committed block. The state is not stored: [`Devnet::open`] rebuilds it by replaying the
//! active chain from genesis (reorgs do the same). The mempool lives in memory only.
//!
//! Dev keys are deterministic: key `i` = `SHA256d("casl2-devnet-key" ‖ i as u32 LE)`, the
//! authority (the only sender of `SetHatScore`) = `SHA256d("casl2-devnet-authority")`.

pub mod rpc;

use casl2_verifier::l1::{BlockOutcome, L1Block, L1Error, L1Genesis, L1State, L1Tx, MAX_BLOCK_TXS};
use casl2_verifier::params::COIN;
use casl2_verifier::{sha256d, Address, Decode, Encode, PrivateKey, H256};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use thiserror::Error;

const BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("l1_blocks");
const CHAIN: TableDefinition<u64, &[u8]> = TableDefinition::new("l1_chain");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("l1_meta");

/// Most blocks one `generate` call mines.
pub const MAX_GENERATE: u64 = 10_000;
/// Most transactions the mempool holds.
pub const MAX_MEMPOOL: usize = 100_000;
/// Default balance of each funded dev account: one million CAS.
pub const DEFAULT_DEV_BALANCE: i64 = 1_000_000 * COIN;

/// Why a devnet operation failed.
#[derive(Debug, Error)]
pub enum DevnetError {
    /// The L1 rules rejected a transaction or block.
    #[error(transparent)]
    Rule(#[from] L1Error),
    /// The storage failed (I/O, corruption).
    #[error("devnet storage: {0}")]
    Storage(String),
    /// An argument out of range (unknown block, too many blocks, full mempool).
    #[error("{0}")]
    InvalidArgument(String),
}

fn storage(e: impl std::fmt::Display) -> DevnetError {
    DevnetError::Storage(e.to_string())
}

/// The deterministic dev key number `i`.
pub fn dev_key(i: u32) -> Result<PrivateKey, DevnetError> {
    let mut pre = b"casl2-devnet-key".to_vec();
    pre.extend_from_slice(&i.to_le_bytes());
    PrivateKey::from_bytes(&sha256d(&pre).0)
        .map_err(|e| DevnetError::InvalidArgument(e.to_string()))
}

/// The deterministic devnet authority key (sender of `SetHatScore`).
pub fn authority_key() -> Result<PrivateKey, DevnetError> {
    PrivateKey::from_bytes(&sha256d(b"casl2-devnet-authority").0)
        .map_err(|e| DevnetError::InvalidArgument(e.to_string()))
}

/// How to create a new devnet (ignored when opening an existing one: the stored genesis wins).
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// Number of funded dev accounts.
    pub accounts: u32,
    /// Balance of each (smallest units).
    pub balance: i64,
    /// Genesis time (Unix seconds).
    pub genesis_time: u64,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        DevnetConfig {
            accounts: 10,
            balance: DEFAULT_DEV_BALANCE,
            genesis_time: 1_700_000_000,
        }
    }
}

impl DevnetConfig {
    /// The genesis: `accounts` dev keys funded with `balance`, plus the authority (funded too,
    /// HAT score 100).
    pub fn genesis(&self) -> Result<L1Genesis, DevnetError> {
        let authority = authority_key()?.address();
        let mut accounts = vec![(authority, self.balance)];
        for i in 0..self.accounts {
            accounts.push((dev_key(i)?.address(), self.balance));
        }
        Ok(L1Genesis {
            time: self.genesis_time,
            authority,
            accounts,
            hat_scores: vec![(authority, 100)],
        })
    }
}

/// The devnet L1: state, active chain, mempool and store.
#[derive(Debug)]
pub struct Devnet {
    db: Database,
    genesis: L1Genesis,
    state: L1State,
    /// Active chain blocks, index = height (genesis included).
    blocks: Vec<L1Block>,
    /// Outcomes of the active chain's blocks, index = height (genesis has an empty one).
    outcomes: Vec<BlockOutcome>,
    invalid: BTreeSet<H256>,
    mempool: Vec<L1Tx>,
    /// Mempool transactions per sender.
    pending: HashMap<Address, u64>,
}

fn meta_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, DevnetError> {
    serde_json::to_vec(v).map_err(storage)
}

impl Devnet {
    /// Open the devnet stored at `path`, or create it from `config` when the file is new.
    /// Replays the stored active chain from genesis.
    pub fn open(path: &Path, config: &DevnetConfig) -> Result<Devnet, DevnetError> {
        let db = Database::create(path).map_err(storage)?;
        let stored: Option<Vec<u8>> = {
            let r = db.begin_read().map_err(storage)?;
            match r.open_table(META) {
                Ok(t) => t
                    .get("genesis")
                    .map_err(storage)?
                    .map(|v| v.value().to_vec()),
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(storage(e)),
            }
        };
        let genesis: L1Genesis = match stored {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(storage)?,
            None => {
                let g = config.genesis()?;
                let w = db.begin_write().map_err(storage)?;
                {
                    let mut meta = w.open_table(META).map_err(storage)?;
                    meta.insert("genesis", meta_json(&g)?.as_slice())
                        .map_err(storage)?;
                    meta.insert("invalid", meta_json(&Vec::<H256>::new())?.as_slice())
                        .map_err(storage)?;
                    w.open_table(BLOCKS).map_err(storage)?;
                    w.open_table(CHAIN).map_err(storage)?;
                }
                w.commit().map_err(storage)?;
                g
            }
        };
        let state = L1State::genesis(&genesis)?;
        let genesis_block = genesis.block();
        let genesis_outcome = BlockOutcome {
            hash: genesis_block.hash(),
            receipts: Vec::new(),
            events: Vec::new(),
        };
        let mut dn = Devnet {
            db,
            genesis,
            state,
            blocks: vec![genesis_block],
            outcomes: vec![genesis_outcome],
            invalid: BTreeSet::new(),
            mempool: Vec::new(),
            pending: HashMap::new(),
        };
        let (chain, invalid) = {
            let r = dn.db.begin_read().map_err(storage)?;
            let meta = r.open_table(META).map_err(storage)?;
            let invalid: Vec<H256> = match meta.get("invalid").map_err(storage)? {
                Some(v) => serde_json::from_slice(v.value()).map_err(storage)?,
                None => Vec::new(),
            };
            let chain_t = r.open_table(CHAIN).map_err(storage)?;
            let blocks_t = r.open_table(BLOCKS).map_err(storage)?;
            let mut chain = Vec::new();
            for entry in chain_t.range(1u64..).map_err(storage)? {
                let (_, hash) = entry.map_err(storage)?;
                let raw = blocks_t
                    .get(hash.value())
                    .map_err(storage)?
                    .ok_or_else(|| storage("active chain names a missing block"))?;
                chain.push(L1Block::decode(raw.value()).map_err(storage)?);
            }
            (chain, invalid)
        };
        dn.invalid = invalid.into_iter().collect();
        for b in chain {
            dn.connect_in_memory(b)?;
        }
        Ok(dn)
    }

    /// The genesis this devnet was created with.
    pub fn genesis(&self) -> &L1Genesis {
        &self.genesis
    }

    /// The current L1 state (tip of the active chain).
    pub fn state(&self) -> &L1State {
        &self.state
    }

    /// Height of the tip.
    pub fn height(&self) -> u64 {
        self.state.height()
    }

    /// The active-chain block at `height`.
    pub fn block_at(&self, height: u64) -> Option<&L1Block> {
        usize::try_from(height)
            .ok()
            .and_then(|h| self.blocks.get(h))
    }

    /// The outcome (receipts and events) of the active-chain block at `height`.
    pub fn outcome_at(&self, height: u64) -> Option<&BlockOutcome> {
        usize::try_from(height)
            .ok()
            .and_then(|h| self.outcomes.get(h))
    }

    /// Height of an active-chain block by hash.
    pub fn height_of(&self, hash: &H256) -> Option<u64> {
        self.outcomes
            .iter()
            .position(|o| &o.hash == hash)
            .and_then(|p| u64::try_from(p).ok())
    }

    /// Any stored block (active or not) by hash.
    pub fn stored_block(&self, hash: &H256) -> Result<Option<L1Block>, DevnetError> {
        if *hash == self.blocks[0].hash() {
            return Ok(Some(self.blocks[0].clone()));
        }
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(BLOCKS).map_err(storage)?;
        match t.get(hash.0.as_slice()).map_err(storage)? {
            Some(v) => Ok(Some(L1Block::decode(v.value()).map_err(storage)?)),
            None => Ok(None),
        }
    }

    /// The transactions waiting in the mempool, in mining order.
    pub fn mempool(&self) -> &[L1Tx] {
        &self.mempool
    }

    /// The nonce the next transaction from `a` must carry, counting the mempool.
    pub fn next_nonce(&self, a: &Address) -> u64 {
        let pending = self.pending.get(a).copied().unwrap_or(0);
        self.state.nonce_of(a).saturating_add(pending)
    }

    /// Add a transaction to the mempool: its signature must recover `from` and its nonce must be
    /// the sender's next one counting the transactions already waiting (so a replay of a mined
    /// or waiting transaction fails with `L1_BAD_NONCE`). Returns the transaction id.
    pub fn submit(&mut self, tx: L1Tx) -> Result<H256, DevnetError> {
        if self.mempool.len() >= MAX_MEMPOOL {
            return Err(DevnetError::InvalidArgument(format!(
                "mempool full ({MAX_MEMPOOL} transactions): generate blocks first"
            )));
        }
        tx.recover_signer()?;
        let expected = self.next_nonce(&tx.from);
        if tx.nonce != expected {
            return Err(L1Error::BadNonce {
                expected,
                got: tx.nonce,
            }
            .into());
        }
        let id = tx.hash();
        *self.pending.entry(tx.from).or_insert(0) += 1;
        self.mempool.push(tx);
        Ok(id)
    }

    /// Mine `n` blocks (each with up to [`MAX_BLOCK_TXS`] mempool transactions) at time `now`
    /// (Unix seconds; never below the tip's). Each block is committed durably before the next.
    pub fn generate(&mut self, n: u64, now: u64) -> Result<Vec<H256>, DevnetError> {
        if n > MAX_GENERATE {
            return Err(DevnetError::InvalidArgument(format!(
                "generate at most {MAX_GENERATE} blocks per call, asked {n}"
            )));
        }
        let mut hashes = Vec::new();
        for _ in 0..n {
            let take = self.mempool.len().min(MAX_BLOCK_TXS);
            let txs: Vec<L1Tx> = self.mempool[..take].to_vec();
            let mut block = L1Block {
                height: self.state.height().saturating_add(1),
                time: now.max(self.state.tip_time()),
                prev_hash: self.state.tip_hash(),
                txs,
            };
            // Never re-mine an invalidated block (same parent, transactions and time): move the
            // time on until the hash is new.
            for _ in 0..=self.invalid.len() {
                if !self.invalid.contains(&block.hash()) {
                    break;
                }
                block.time = block.time.saturating_add(1);
            }
            self.state.check_block(&block)?;
            let hash = block.hash();
            let w = self.db.begin_write().map_err(storage)?;
            {
                let mut bt = w.open_table(BLOCKS).map_err(storage)?;
                bt.insert(hash.0.as_slice(), block.encode().as_slice())
                    .map_err(storage)?;
                let mut ct = w.open_table(CHAIN).map_err(storage)?;
                ct.insert(block.height, hash.0.as_slice())
                    .map_err(storage)?;
            }
            w.commit().map_err(storage)?;
            for tx in self.mempool.drain(..take) {
                if let Some(n) = self.pending.get_mut(&tx.from) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.pending.remove(&tx.from);
                    }
                }
            }
            self.connect_in_memory(block)?;
            hashes.push(hash);
        }
        Ok(hashes)
    }

    fn connect_in_memory(&mut self, block: L1Block) -> Result<(), DevnetError> {
        let outcome = self.state.apply_block(&block)?;
        self.blocks.push(block);
        self.outcomes.push(outcome);
        Ok(())
    }

    /// Mark the block `hash` and its descendants invalid; the active chain rewinds to its parent
    /// (then to the best valid chain). Transactions of the disconnected blocks go back to the
    /// mempool when still valid.
    pub fn invalidate_block(&mut self, hash: &H256) -> Result<(), DevnetError> {
        if *hash == self.blocks[0].hash() {
            return Err(DevnetError::InvalidArgument(
                "the genesis block cannot be invalidated".into(),
            ));
        }
        if self.stored_block(hash)?.is_none() {
            return Err(DevnetError::InvalidArgument(format!(
                "unknown block {hash}"
            )));
        }
        let mut invalid = self.invalid.clone();
        invalid.insert(*hash);
        self.activate_best(invalid)
    }

    /// Remove the invalid mark from `hash`, its ancestors and its descendants, then switch to
    /// the longest valid chain when it is longer than the active one.
    pub fn reconsider_block(&mut self, hash: &H256) -> Result<(), DevnetError> {
        let all = self.all_blocks()?;
        if !all.contains_key(hash) && *hash != self.blocks[0].hash() {
            return Err(DevnetError::InvalidArgument(format!(
                "unknown block {hash}"
            )));
        }
        let mut invalid = self.invalid.clone();
        // Ancestors.
        let mut cur = *hash;
        while let Some(b) = all.get(&cur) {
            invalid.remove(&cur);
            cur = b.prev_hash;
        }
        // Descendants.
        let mut frontier = vec![*hash];
        while let Some(h) = frontier.pop() {
            invalid.remove(&h);
            for (ch, b) in &all {
                if b.prev_hash == h {
                    frontier.push(*ch);
                }
            }
        }
        self.activate_best(invalid)
    }

    fn all_blocks(&self) -> Result<BTreeMap<H256, L1Block>, DevnetError> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(BLOCKS).map_err(storage)?;
        let mut out = BTreeMap::new();
        for e in t.iter().map_err(storage)? {
            let (k, v) = e.map_err(storage)?;
            let b = L1Block::decode(v.value()).map_err(storage)?;
            let mut h = [0u8; 32];
            if k.value().len() == 32 {
                h.copy_from_slice(k.value());
            }
            out.insert(H256(h), b);
        }
        Ok(out)
    }

    /// With the invalid set `invalid`, pick the best chain (the active one's valid prefix, or a
    /// strictly longer fully valid chain), store it and the set in one transaction, and rebuild
    /// the state and mempool.
    fn activate_best(&mut self, invalid: BTreeSet<H256>) -> Result<(), DevnetError> {
        let all = self.all_blocks()?;
        let genesis_hash = self.blocks[0].hash();
        // A block is usable when it and all its ancestors are stored and not invalid.
        let mut best: Vec<H256> = {
            let mut keep = vec![genesis_hash];
            for o in self.outcomes.iter().skip(1) {
                if invalid.contains(&o.hash) {
                    break;
                }
                keep.push(o.hash);
            }
            keep
        };
        for tip in all.keys() {
            let mut path = Vec::new();
            let mut cur = *tip;
            let mut ok = true;
            while cur != genesis_hash {
                if invalid.contains(&cur) {
                    ok = false;
                    break;
                }
                match all.get(&cur) {
                    Some(b) => {
                        path.push(cur);
                        cur = b.prev_hash;
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && path.len() + 1 > best.len() {
                path.push(genesis_hash);
                path.reverse();
                best = path;
            }
        }
        // Rebuild the state along `best` before committing, so a chain the rules reject is never
        // stored as active.
        let disconnected: Vec<L1Block> = self
            .blocks
            .iter()
            .skip(1)
            .filter(|b| !best.contains(&b.hash()))
            .cloned()
            .collect();
        let mut state = L1State::genesis(&self.genesis)?;
        let mut blocks = vec![self.blocks[0].clone()];
        let mut outcomes = vec![self.outcomes[0].clone()];
        for h in best.iter().skip(1) {
            let b = all
                .get(h)
                .cloned()
                .ok_or_else(|| storage("chain names a missing block"))?;
            outcomes.push(state.apply_block(&b)?);
            blocks.push(b);
        }
        let w = self.db.begin_write().map_err(storage)?;
        {
            let mut ct = w.open_table(CHAIN).map_err(storage)?;
            let old_len = u64::try_from(self.blocks.len()).unwrap_or(u64::MAX);
            for h in best.len()..self.blocks.len() {
                ct.remove(u64::try_from(h).unwrap_or(u64::MAX))
                    .map_err(storage)?;
            }
            for (height, h) in best.iter().enumerate().skip(1) {
                ct.insert(u64::try_from(height).unwrap_or(old_len), h.0.as_slice())
                    .map_err(storage)?;
            }
            let mut meta = w.open_table(META).map_err(storage)?;
            let list: Vec<H256> = invalid.iter().copied().collect();
            meta.insert("invalid", meta_json(&list)?.as_slice())
                .map_err(storage)?;
        }
        w.commit().map_err(storage)?;
        // Mempool: disconnected transactions first, then the waiting ones, minus those now mined.
        let mined: HashSet<H256> = blocks
            .iter()
            .flat_map(|b| b.txs.iter().map(L1Tx::hash))
            .collect();
        let mut candidates: Vec<L1Tx> = disconnected.into_iter().flat_map(|b| b.txs).collect();
        candidates.append(&mut self.mempool);
        self.pending.clear();
        self.state = state;
        self.blocks = blocks;
        self.outcomes = outcomes;
        self.invalid = invalid;
        let mut seen = HashSet::new();
        for tx in candidates {
            let id = tx.hash();
            if mined.contains(&id) || !seen.insert(id) {
                continue;
            }
            // Drops what no longer fits (nonce taken or gap, bad signature).
            let _ = self.submit(tx);
        }
        Ok(())
    }

    /// The invalidated block hashes.
    pub fn invalid_blocks(&self) -> &BTreeSet<H256> {
        &self.invalid
    }
}
