//! casl2's one way to the L1: the [`L1Client`] trait, and its devnet backend [`DevnetClient`]
//! (the JSON-RPC of `casl2 l1 devnet`, `docs/protocol.md` "Devnet L1 RPC").
//!
//! The other backend, a real Cascoin node, is [`crate::cascoind::CascoindClient`]. What the real
//! node cannot do (state anchors, fraud games, escrowed withdrawals, …) it answers with
//! [`L1ClientError::Unsupported`], never with a made-up success.

use casl2_verifier::fraud::Game;
use casl2_verifier::l1::{
    Anchor, AvailabilityChallenge, L1Block, L1Tx, L2ChainInfo, QueuedMessage, Sequencer,
};
use casl2_verifier::{Address, Decode, Encode, H256};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
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
        let mut list = self.anchors(chain, from).await?;
        list.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        Ok(list)
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
}

/// The devnet backend: JSON-RPC 2.0 over HTTP to `casl2 l1 devnet`.
#[derive(Debug)]
pub struct DevnetClient {
    url: String,
    http: reqwest::Client,
    next_id: AtomicU64,
}

impl DevnetClient {
    /// A client of the devnet at `url` (e.g. `http://127.0.0.1:18545/`).
    pub fn new(url: impl Into<String>) -> DevnetClient {
        DevnetClient {
            url: url.into(),
            http: reqwest::Client::new(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Call `method` with positional `params` and decode the result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, L1ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let req = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let resp = self
            .http
            .post(&self.url)
            .json(&req)
            .send()
            .await
            .map_err(|e| L1ClientError::Transport(e.to_string()))?;
        let body: Value = resp
            .json()
            .await
            .map_err(|e| L1ClientError::Transport(e.to_string()))?;
        if let Some(err) = body.get("error") {
            return Err(L1ClientError::Rpc {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                name: err
                    .get("data")
                    .and_then(|d| d.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
        let result = body
            .get("result")
            .cloned()
            .ok_or_else(|| L1ClientError::Decode(format!("{method}: no result")))?;
        serde_json::from_value(result).map_err(|e| L1ClientError::Decode(format!("{method}: {e}")))
    }

    /// Mine `n` blocks now (devnet only); returns their hashes.
    pub async fn generate(&self, n: u64) -> Result<Vec<H256>, L1ClientError> {
        self.call("generate", json!([n])).await
    }

    /// Mark a block invalid (devnet only; reorgs the chain).
    pub async fn invalidate_block(&self, hash: &H256) -> Result<(), L1ClientError> {
        self.call::<Value>("invalidateblock", json!([hash])).await?;
        Ok(())
    }

    /// Clear a block's invalid mark (devnet only).
    pub async fn reconsider_block(&self, hash: &H256) -> Result<(), L1ClientError> {
        self.call::<Value>("reconsiderblock", json!([hash])).await?;
        Ok(())
    }
}

impl L1Client for DevnetClient {
    async fn tip_height(&self) -> Result<u64, L1ClientError> {
        self.call("getblockcount", json!([])).await
    }

    async fn block_hash(&self, height: u64) -> Result<H256, L1ClientError> {
        self.call("getblockhash", json!([height])).await
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
        let raw: String = self.call("getblock", json!([hash, 0])).await?;
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
        self.call("getaccount", json!([address])).await
    }

    async fn hat_score(&self, address: &Address) -> Result<u32, L1ClientError> {
        Ok(self.account(address).await?.hat_score)
    }

    async fn send_transaction(&self, tx: &L1Tx) -> Result<H256, L1ClientError> {
        self.call("sendrawtransaction", json!([hex::encode(tx.encode())]))
            .await
    }

    async fn chains(&self) -> Result<Vec<L2ChainInfo>, L1ClientError> {
        self.call("l2_listchains", json!([])).await
    }

    async fn sequencers(&self, chain: u64) -> Result<Vec<Sequencer>, L1ClientError> {
        self.call("l2_getsequencers", json!([chain])).await
    }

    async fn anchors(&self, chain: u64, from: u64) -> Result<Vec<Anchor>, L1ClientError> {
        self.call("l2_getanchors", json!([chain, from])).await
    }

    async fn queue(&self, chain: u64, from: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.call("l2_getqueue", json!([chain, from])).await
    }

    async fn forced_queue(&self, chain: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.call("l2_getforcedqueue", json!([chain])).await
    }

    async fn games(&self, chain: u64, open_only: bool) -> Result<Vec<Game>, L1ClientError> {
        self.call("l2_getgames", json!([chain, open_only])).await
    }

    async fn availability_challenges(
        &self,
        chain: u64,
        open_only: bool,
    ) -> Result<Vec<AvailabilityChallenge>, L1ClientError> {
        self.call("l2_getavailability", json!([chain, open_only]))
            .await
    }

    async fn anchors_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<Anchor>, L1ClientError> {
        self.call("l2_getanchors", json!([chain, from, count]))
            .await
    }

    async fn anchor_count(&self, chain: u64) -> Result<u64, L1ClientError> {
        let info: Value = self.call("l2_getchain", json!([chain])).await?;
        info.get("anchors")
            .and_then(Value::as_u64)
            .ok_or_else(|| L1ClientError::Decode("l2_getchain: no anchor count".into()))
    }

    async fn sequencers_with_hat(
        &self,
        chain: u64,
    ) -> Result<Vec<(Sequencer, u32)>, L1ClientError> {
        let raw: Vec<Value> = self.call("l2_getsequencers", json!([chain])).await?;
        raw.into_iter()
            .map(|r| {
                let hat = r
                    .get("hatScore")
                    .and_then(Value::as_u64)
                    .and_then(|h| u32::try_from(h).ok())
                    .ok_or_else(|| L1ClientError::Decode("l2_getsequencers: no hatScore".into()))?;
                let s: Sequencer = serde_json::from_value(r)
                    .map_err(|e| L1ClientError::Decode(format!("l2_getsequencers: {e}")))?;
                Ok((s, hat))
            })
            .collect()
    }

    async fn paid_withdrawals(&self, chain: u64) -> Result<Vec<(H256, i64)>, L1ClientError> {
        #[derive(Deserialize)]
        struct Paid {
            id: H256,
            amount: i64,
        }
        let list: Vec<Paid> = self.call("l2_getwithdrawals", json!([chain])).await?;
        Ok(list.into_iter().map(|p| (p.id, p.amount)).collect())
    }
}
