//! The L2 node's JSON-RPC (`casl2 node`, `docs/protocol.md` "Sequencer node RPC") as seen from a
//! client: [`NodeClient`].
//!
//! Answers from a node are *not* trusted by this module: it only moves them. Whatever is
//! verified (proofs against L1 anchors, quorum signatures, samples) is verified by the caller
//! through `casl2_verifier`.

use casl2_verifier::da::Sample;
use casl2_verifier::types::L2Transaction;
use casl2_verifier::{Address, Encode, H256};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

/// Why a call to an L2 node failed.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The HTTP request failed (connection refused, timeout, bad body).
    #[error("L2 node at {url}: {message}")]
    Transport {
        /// The node's URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("L2 node error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i64,
        /// The message.
        message: String,
    },
    /// The answer did not have the expected shape.
    #[error("L2 node answer: {0}")]
    Decode(String),
}

/// Nonces of an account as a node sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct NonceInfo {
    /// The account's nonce in the node's head state.
    pub nonce: u64,
    /// The next nonce to use, counting the node's mempool.
    pub pending: u64,
}

/// A share of a batch's extended square with its proof, as `l2_getshare` serves it
/// (unverified: check `sample` against L1's DA commitment, e.g. with
/// [`crate::verify::verify_batch_sample`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    /// The anchor index.
    pub index: u64,
    /// The data root the node built the square from.
    pub data_root: H256,
    /// The share and its proof.
    pub sample: Sample,
}

/// A JSON-RPC client of one L2 node.
#[derive(Debug)]
pub struct NodeClient {
    url: String,
    http: reqwest::Client,
    next_id: AtomicU64,
}

impl NodeClient {
    /// A client of the node at `url` (e.g. `http://127.0.0.1:18546/`).
    pub fn new(url: impl Into<String>) -> NodeClient {
        NodeClient {
            url: url.into(),
            http: reqwest::Client::new(),
            next_id: AtomicU64::new(1),
        }
    }

    /// A client of the node at `url` over `http` (e.g. one with a timeout).
    pub fn with_client(url: impl Into<String>, http: reqwest::Client) -> NodeClient {
        NodeClient {
            url: url.into(),
            http,
            next_id: AtomicU64::new(1),
        }
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Call `method` with positional `params` and decode the result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, NodeError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let req = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let transport = |e: reqwest::Error| NodeError::Transport {
            url: self.url.clone(),
            message: e.to_string(),
        };
        let resp = self
            .http
            .post(&self.url)
            .json(&req)
            .send()
            .await
            .map_err(transport)?;
        let body: Value = resp.json().await.map_err(transport)?;
        if let Some(err) = body.get("error") {
            return Err(NodeError::Rpc {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        }
        let result = body
            .get("result")
            .cloned()
            .ok_or_else(|| NodeError::Decode(format!("{method}: no result")))?;
        serde_json::from_value(result).map_err(|e| NodeError::Decode(format!("{method}: {e}")))
    }

    /// `l2_getchaininfo`.
    pub async fn chain_info(&self) -> Result<Value, NodeError> {
        self.call("l2_getchaininfo", json!([])).await
    }

    /// `l2_blocknumber`: the node's head height.
    pub async fn block_number(&self) -> Result<u64, NodeError> {
        self.call("l2_blocknumber", json!([])).await
    }

    /// `l2_getbalance` (unverified: the node's word).
    pub async fn balance(&self, address: &Address) -> Result<i64, NodeError> {
        self.call("l2_getbalance", json!([address])).await
    }

    /// `l2_gettransactioncount`.
    pub async fn nonce(&self, address: &Address) -> Result<NonceInfo, NodeError> {
        self.call("l2_gettransactioncount", json!([address])).await
    }

    /// `l2_sendrawtransaction`: submit a signed transaction; returns its hash.
    pub async fn send_transaction(&self, tx: &L2Transaction) -> Result<H256, NodeError> {
        let raw = hex::encode(tx.encode());
        self.call("l2_sendrawtransaction", json!([raw])).await
    }

    /// `l2_gettransactionreceipt`: `None` when the node does not know the transaction.
    pub async fn receipt(&self, hash: &H256) -> Result<Option<Value>, NodeError> {
        self.call("l2_gettransactionreceipt", json!([hash])).await
    }

    /// `l2_getproof` at `"latest"` or `"finalized"`.
    pub async fn proof(&self, address: &Address, at: &str) -> Result<Value, NodeError> {
        self.call("l2_getproof", json!([address, at])).await
    }

    /// `l2_getwithdrawalproof` at `"latest"` or `"finalized"`.
    pub async fn withdrawal_proof(&self, id: &H256, at: &str) -> Result<Value, NodeError> {
        self.call("l2_getwithdrawalproof", json!([id, at])).await
    }

    /// `l2_getshare`: share (`row`, `column`) of anchor `index`'s extended square with its
    /// proof along `axis` (`"row"` or `"column"`).
    pub async fn share(
        &self,
        index: u64,
        row: u32,
        column: u32,
        axis: &str,
    ) -> Result<Share, NodeError> {
        self.call("l2_getshare", json!([index, row, column, axis]))
            .await
    }
}
