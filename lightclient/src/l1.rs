//! casl2's one way to the L1: the [`L1Client`] trait, and its devnet backend [`DevnetClient`]
//! (the JSON-RPC of `casl2 l1 devnet`, `docs/protocol.md` "Devnet L1 RPC").
//!
//! The other backend, a real Cascoin node, is [`crate::cascoind::CascoindClient`]. What the real
//! node cannot do (state anchors, fraud games, escrowed withdrawals, …) it answers with
//! [`L1ClientError::Unsupported`], never with a made-up success.

use crate::api::devnet as m;
use crate::api::types::{ChainState, PaidWithdrawal, VerboseBlock};
use crate::rpc::{RpcClient, RpcError};
use casl2_verifier::fraud::Game;
use casl2_verifier::l1::{
    Anchor, AvailabilityChallenge, L1Block, L1Tx, L2ChainInfo, QueuedMessage, Sequencer,
};
use casl2_verifier::{Address, Decode, Encode, H256};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use thiserror::Error;

/// Why an L1 call failed.
#[derive(Debug, Error)]
pub enum L1ClientError {
    /// The HTTP request failed (connection, status, body).
    #[error("L1 transport: {0}")]
    Transport(String),
    /// The L1 answered with a JSON-RPC error; `name` is the rule's error name (e.g.
    /// `L1_BAD_NONCE`) when the error is an L1 rule failure.
    #[error("L1 error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code (an `L1Error` code for rule failures).
        code: i64,
        /// The message.
        message: String,
        /// The rule's error name, if any.
        name: Option<String>,
    },
    /// The answer did not have the expected shape.
    #[error("L1 answer: {0}")]
    Decode(String),
    /// The L1 refused the credentials (HTTP 401/403): wrong user/password or cookie.
    #[error("L1 authentication: {0}")]
    Unauthorized(String),
    /// This L1 has no support for what was asked: `what` names the call or operation, `why`
    /// says what the L1 lacks.
    #[error("not supported by this L1: {what}: {why}")]
    Unsupported {
        /// The call or operation (e.g. `anchors`, `L1Op::OpenChallenge`).
        what: &'static str,
        /// What the L1 lacks.
        why: &'static str,
    },
    /// The transaction cannot be sent as it is (a bad burn script, a batch for another chain,
    /// an amount out of range); nothing was sent.
    #[error("L1 transaction refused before sending: {0}")]
    InvalidTransaction(String),
    /// The L1 did something other than what was asked (e.g. it assigned another chain id, or
    /// built a burn script for another chain); the message says what happened.
    #[error("L1 answer does not match the request: {0}")]
    Mismatch(String),
}

impl From<RpcError> for L1ClientError {
    fn from(e: RpcError) -> L1ClientError {
        match e {
            RpcError::Rpc {
                code,
                message,
                name,
                ..
            } => L1ClientError::Rpc {
                code,
                message,
                name,
            },
            RpcError::Decode { method, message } => {
                L1ClientError::Decode(format!("{method}: {message}"))
            }
            e @ (RpcError::Unauthorized { .. } | RpcError::Cookie(_)) => {
                L1ClientError::Unauthorized(e.to_string())
            }
            e @ (RpcError::Transport { .. } | RpcError::TooLarge { .. }) => {
                L1ClientError::Transport(e.to_string())
            }
        }
    }
}

/// The first `count` items of `list` (a window's default from a longer page).
fn first<T>(mut list: Vec<T>, count: u64) -> Vec<T> {
    list.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    list
}

fn no_rpc(what: &'static str) -> L1ClientError {
    L1ClientError::Unsupported {
        what,
        why: "this L1 backend has no RPC for it",
    }
}

/// What every L1 can say about one of its blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1BlockHeader {
    /// The block hash (raw byte order).
    pub hash: H256,
    /// Its height.
    pub height: u64,
    /// Its time (Unix seconds).
    pub time: u64,
    /// The previous block's hash (zero for genesis).
    pub prev_hash: H256,
}

/// An L1 account as the L1 reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1AccountInfo {
    /// Spendable balance (smallest units).
    pub balance: i64,
    /// Nonce of the next transaction to be mined.
    pub nonce: u64,
    /// Nonce for the next transaction to send (counting the L1's mempool).
    pub next_nonce: u64,
    /// HAT v2 score.
    pub hat_score: u32,
}

/// What casl2 asks of an L1.
#[allow(async_fn_in_trait)]
pub trait L1Client {
    /// Height of the tip.
    async fn tip_height(&self) -> Result<u64, L1ClientError>;
    /// Hash of the active block at `height`.
    async fn block_hash(&self, height: u64) -> Result<H256, L1ClientError>;
    /// Height, time and previous hash of the block `hash` (for election seeds and anchors).
    async fn block_header(&self, hash: &H256) -> Result<L1BlockHeader, L1ClientError>;
    /// The block `hash` as a casl2 [`L1Block`] (devnet only: a real node's blocks are
    /// Bitcoin-style blocks, see [`L1Client::block_header`]).
    async fn block(&self, hash: &H256) -> Result<L1Block, L1ClientError>;
    /// An account (devnet only: a real node keeps UTXOs, not account balances and nonces).
    async fn account(&self, address: &Address) -> Result<L1AccountInfo, L1ClientError>;
    /// The HAT v2 reputation score (0..=100) the L1 gives `address`.
    async fn hat_score(&self, address: &Address) -> Result<u32, L1ClientError>;
    /// Submit a signed transaction; returns the id of the L1 transaction that carries it. A
    /// backend whose L1 records the operation without a transaction of its own (a real node's
    /// `l2_registerchain`, `l2_announcesequencer`) returns [`L1Tx::hash`] once the L1 has
    /// accepted it.
    async fn send_transaction(&self, tx: &L1Tx) -> Result<H256, L1ClientError>;
    /// The registered L2 chains.
    async fn chains(&self) -> Result<Vec<L2ChainInfo>, L1ClientError>;
    /// A chain's sequencers.
    async fn sequencers(&self, chain: u64) -> Result<Vec<Sequencer>, L1ClientError>;
    /// A chain's anchors from index `from` (at most 1000).
    async fn anchors(&self, chain: u64, from: u64) -> Result<Vec<Anchor>, L1ClientError>;
    /// A chain's L1→L2 queue (deposits and forced transactions) from index `from` (at most
    /// 1000).
    async fn queue(&self, chain: u64, from: u64) -> Result<Vec<QueuedMessage>, L1ClientError>;
    /// A chain's forced transactions not yet consumed.
    async fn forced_queue(&self, chain: u64) -> Result<Vec<QueuedMessage>, L1ClientError>;
    /// The chain's fraud-proof games (only the open ones with `open_only`), by id.
    async fn games(&self, chain: u64, open_only: bool) -> Result<Vec<Game>, L1ClientError>;
    /// The chain's availability challenges (only the open ones with `open_only`), by id.
    async fn availability_challenges(
        &self,
        chain: u64,
        open_only: bool,
    ) -> Result<Vec<AvailabilityChallenge>, L1ClientError>;

    /// At most `count` of a chain's anchors from index `from` (by default the first `count`
    /// of [`L1Client::anchors`]).
    async fn anchors_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<Anchor>, L1ClientError> {
        Ok(first(self.anchors(chain, from).await?, count))
    }

    /// Number of anchors a chain has (by default found by a binary search over
    /// [`L1Client::anchors_window`]).
    async fn anchor_count(&self, chain: u64) -> Result<u64, L1ClientError> {
        let exists = |i: u64| async move {
            Ok::<bool, L1ClientError>(!self.anchors_window(chain, i, 1).await?.is_empty())
        };
        if !exists(0).await? {
            return Ok(0);
        }
        // Invariant: anchor `lo` exists, anchor `hi` does not.
        let (mut lo, mut hi) = (0u64, 1u64);
        while exists(hi).await? {
            lo = hi;
            hi = hi.saturating_mul(2);
            if hi == u64::MAX {
                return Err(L1ClientError::Decode("the L1 lists endless anchors".into()));
            }
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if exists(mid).await? {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(hi)
    }

    /// A chain's sequencers with the HAT score L1 gives each (by default one
    /// [`L1Client::hat_score`] call per sequencer).
    async fn sequencers_with_hat(
        &self,
        chain: u64,
    ) -> Result<Vec<(Sequencer, u32)>, L1ClientError> {
        let mut out = Vec::new();
        for s in self.sequencers(chain).await? {
            let hat = self.hat_score(&s.address).await?;
            out.push((s, hat));
        }
        Ok(out)
    }

    /// The withdrawals L1 has paid out to their recipients: `(id, amount)`.
    async fn paid_withdrawals(&self, _chain: u64) -> Result<Vec<(H256, i64)>, L1ClientError> {
        Err(L1ClientError::Unsupported {
            what: "paid_withdrawals",
            why: "this L1 backend does not list paid withdrawals",
        })
    }

    /// A chain's state as the L1 holds it (escrow, totals, queue and anchor counts).
    async fn chain_state(&self, _chain: u64) -> Result<ChainState, L1ClientError> {
        Err(no_rpc("chain_state (l2_getchain)"))
    }

    /// The accounts that took their emergency exit on a chain.
    async fn exits(&self, _chain: u64) -> Result<Vec<Address>, L1ClientError> {
        Err(no_rpc("exits (l2_getexits)"))
    }

    /// At most `count` of a chain's L1→L2 queue from index `from` (by default the first
    /// `count` of [`L1Client::queue`]).
    async fn queue_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<QueuedMessage>, L1ClientError> {
        Ok(first(self.queue(chain, from).await?, count))
    }

    /// The ids of the casl2 transactions waiting in the L1's mempool.
    async fn mempool(&self) -> Result<Vec<H256>, L1ClientError> {
        Err(no_rpc("mempool (getrawmempool of casl2 transactions)"))
    }

    /// The fraud-proof game `id`.
    async fn game(&self, _id: u64) -> Result<Game, L1ClientError> {
        Err(no_rpc("game (l2_getgame)"))
    }

    /// The block `hash` with its transaction ids and receipts.
    async fn block_verbose(&self, _hash: &H256) -> Result<VerboseBlock, L1ClientError> {
        Err(no_rpc("block_verbose (getblock with casl2 receipts)"))
    }
}

/// The devnet backend: JSON-RPC 2.0 over HTTP to `casl2 l1 devnet`.
#[derive(Debug)]
pub struct DevnetClient {
    rpc: RpcClient,
}

impl DevnetClient {
    /// A client of the devnet at `url` (e.g. `http://127.0.0.1:18545/`).
    pub fn new(url: impl Into<String>) -> DevnetClient {
        DevnetClient {
            rpc: RpcClient::new(url),
        }
    }

    /// A client over an existing [`RpcClient`] (another response cap, a shared HTTP pool).
    pub fn with_rpc(rpc: RpcClient) -> DevnetClient {
        DevnetClient { rpc }
    }

    /// The devnet's URL.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// Call `method` (one of [`crate::api::devnet`]) with positional `params` and decode the
    /// result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, L1ClientError> {
        Ok(self.rpc.call_value(method, params).await?)
    }

    /// Mine `n` blocks now (devnet only); returns their hashes.
    pub async fn generate(&self, n: u64) -> Result<Vec<H256>, L1ClientError> {
        self.call(m::GENERATE, json!([n])).await
    }

    /// Mark a block invalid (devnet only; reorgs the chain).
    pub async fn invalidate_block(&self, hash: &H256) -> Result<(), L1ClientError> {
        self.call::<Value>(m::INVALIDATEBLOCK, json!([hash]))
            .await?;
        Ok(())
    }

    /// Clear a block's invalid mark (devnet only).
    pub async fn reconsider_block(&self, hash: &H256) -> Result<(), L1ClientError> {
        self.call::<Value>(m::RECONSIDERBLOCK, json!([hash]))
            .await?;
        Ok(())
    }
}

impl L1Client for DevnetClient {
    async fn tip_height(&self) -> Result<u64, L1ClientError> {
        self.call(m::GETBLOCKCOUNT, json!([])).await
    }

    async fn block_hash(&self, height: u64) -> Result<H256, L1ClientError> {
        self.call(m::GETBLOCKHASH, json!([height])).await
    }

    async fn block_header(&self, hash: &H256) -> Result<L1BlockHeader, L1ClientError> {
        let b = self.block(hash).await?;
        Ok(L1BlockHeader {
            hash: *hash,
            height: b.height,
            time: b.time,
            prev_hash: b.prev_hash,
        })
    }

    async fn block(&self, hash: &H256) -> Result<L1Block, L1ClientError> {
        let raw: String = self.call(m::GETBLOCK, json!([hash, 0])).await?;
        let bytes = hex::decode(&raw).map_err(|e| L1ClientError::Decode(e.to_string()))?;
        let block = L1Block::decode(&bytes).map_err(|e| L1ClientError::Decode(e.to_string()))?;
        if block.hash() != *hash {
            return Err(L1ClientError::Decode(format!(
                "asked block {hash}, got {}",
                block.hash()
            )));
        }
        Ok(block)
    }

    async fn account(&self, address: &Address) -> Result<L1AccountInfo, L1ClientError> {
        self.call(m::GETACCOUNT, json!([address])).await
    }

    async fn hat_score(&self, address: &Address) -> Result<u32, L1ClientError> {
        Ok(self.account(address).await?.hat_score)
    }

    async fn send_transaction(&self, tx: &L1Tx) -> Result<H256, L1ClientError> {
        self.call(m::SENDRAWTRANSACTION, json!([hex::encode(tx.encode())]))
            .await
    }

    async fn chains(&self) -> Result<Vec<L2ChainInfo>, L1ClientError> {
        self.call(m::L2_LISTCHAINS, json!([])).await
    }

    async fn sequencers(&self, chain: u64) -> Result<Vec<Sequencer>, L1ClientError> {
        self.call(m::L2_GETSEQUENCERS, json!([chain])).await
    }

    async fn anchors(&self, chain: u64, from: u64) -> Result<Vec<Anchor>, L1ClientError> {
        self.call(m::L2_GETANCHORS, json!([chain, from])).await
    }

    async fn queue(&self, chain: u64, from: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.call(m::L2_GETQUEUE, json!([chain, from])).await
    }

    async fn forced_queue(&self, chain: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.call(m::L2_GETFORCEDQUEUE, json!([chain])).await
    }

    async fn games(&self, chain: u64, open_only: bool) -> Result<Vec<Game>, L1ClientError> {
        self.call(m::L2_GETGAMES, json!([chain, open_only])).await
    }

    async fn availability_challenges(
        &self,
        chain: u64,
        open_only: bool,
    ) -> Result<Vec<AvailabilityChallenge>, L1ClientError> {
        self.call(m::L2_GETAVAILABILITY, json!([chain, open_only]))
            .await
    }

    async fn anchors_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<Anchor>, L1ClientError> {
        self.call(m::L2_GETANCHORS, json!([chain, from, count]))
            .await
    }

    async fn anchor_count(&self, chain: u64) -> Result<u64, L1ClientError> {
        Ok(self.chain_state(chain).await?.anchors)
    }

    async fn sequencers_with_hat(
        &self,
        chain: u64,
    ) -> Result<Vec<(Sequencer, u32)>, L1ClientError> {
        let raw: Vec<Value> = self.call(m::L2_GETSEQUENCERS, json!([chain])).await?;
        raw.into_iter()
            .map(|r| {
                let hat = r
                    .get("hatScore")
                    .and_then(Value::as_u64)
                    .and_then(|h| u32::try_from(h).ok())
                    .ok_or_else(|| {
                        L1ClientError::Decode(format!("{}: no hatScore", m::L2_GETSEQUENCERS))
                    })?;
                let s: Sequencer = serde_json::from_value(r)
                    .map_err(|e| L1ClientError::Decode(format!("{}: {e}", m::L2_GETSEQUENCERS)))?;
                Ok((s, hat))
            })
            .collect()
    }

    async fn paid_withdrawals(&self, chain: u64) -> Result<Vec<(H256, i64)>, L1ClientError> {
        let list: Vec<PaidWithdrawal> = self.call(m::L2_GETWITHDRAWALS, json!([chain])).await?;
        Ok(list.into_iter().map(|p| (p.id, p.amount)).collect())
    }

    async fn chain_state(&self, chain: u64) -> Result<ChainState, L1ClientError> {
        self.call(m::L2_GETCHAIN, json!([chain])).await
    }

    async fn exits(&self, chain: u64) -> Result<Vec<Address>, L1ClientError> {
        self.call(m::L2_GETEXITS, json!([chain])).await
    }

    async fn queue_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.call(m::L2_GETQUEUE, json!([chain, from, count])).await
    }

    async fn mempool(&self) -> Result<Vec<H256>, L1ClientError> {
        self.call(m::GETRAWMEMPOOL, json!([])).await
    }

    async fn game(&self, id: u64) -> Result<Game, L1ClientError> {
        self.call(m::L2_GETGAME, json!([id])).await
    }

    async fn block_verbose(&self, hash: &H256) -> Result<VerboseBlock, L1ClientError> {
        self.call(m::GETBLOCK, json!([hash, 1])).await
    }
}
