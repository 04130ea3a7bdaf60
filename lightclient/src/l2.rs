//! The L2 node's JSON-RPC (`casl2 node`, `docs/protocol.md` "Sequencer node RPC") as seen from a
//! client: [`NodeClient`].
//!
//! Answers from a node are *not* trusted by this module: it only moves them. Whatever is
//! verified (proofs against L1 anchors, quorum signatures, samples) is verified by the caller
//! through `casl2_verifier`.

use crate::api::node as m;
use crate::api::types::{Axis, ShareAnswer};
use crate::api::NoParams;
use crate::rpc::{RpcClient, RpcError};
use casl2_verifier::types::L2Transaction;
use casl2_verifier::{Address, Encode, H256};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
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

impl From<RpcError> for NodeError {
    fn from(e: RpcError) -> NodeError {
        match e {
            RpcError::Rpc { code, message, .. } => NodeError::Rpc { code, message },
            RpcError::Decode { method, message } => {
                NodeError::Decode(format!("{method}: {message}"))
            }
            e @ RpcError::TooLarge { .. } => NodeError::Transport {
                url: url_of(&e),
                message: e.to_string(),
            },
            RpcError::Transport { url, message, .. } => NodeError::Transport { url, message },
            e @ (RpcError::Unauthorized { .. } | RpcError::Cookie(_)) => NodeError::Transport {
                url: url_of(&e),
                message: e.to_string(),
            },
        }
    }
}

fn url_of(e: &RpcError) -> String {
    match e {
        RpcError::Transport { url, .. }
        | RpcError::Unauthorized { url, .. }
        | RpcError::TooLarge { url, .. } => url.clone(),
        _ => String::new(),
    }
}

/// A JSON-RPC client of one L2 node.
#[derive(Debug)]
pub struct NodeClient {
    rpc: RpcClient,
}

impl NodeClient {
    /// A client of the node at `url` (e.g. `http://127.0.0.1:18546/`).
    pub fn new(url: impl Into<String>) -> NodeClient {
        NodeClient {
            rpc: RpcClient::new(url),
        }
    }

    /// A client over an existing [`RpcClient`] (shared HTTP pool, another response cap).
    pub fn with_rpc(rpc: RpcClient) -> NodeClient {
        NodeClient { rpc }
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// Call `method` (one of [`crate::api::node`]) with positional `params` and decode the
    /// result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, NodeError> {
        Ok(self.rpc.call_value(method, params).await?)
    }

    /// `l2_getchaininfo`.
    pub async fn chain_info(&self) -> Result<Value, NodeError> {
        self.call(m::L2_GETCHAININFO, json!([])).await
    }

    /// `l2_blocknumber`: the node's head height.
    pub async fn block_number(&self) -> Result<u64, NodeError> {
        Ok(self.rpc.request::<m::BlockNumber>(&NoParams {}).await?)
    }

    /// `l2_getbalance` (unverified: the node's word).
    pub async fn balance(&self, address: &Address) -> Result<i64, NodeError> {
        let p = m::AddressParams { address: *address };
        Ok(self.rpc.request::<m::GetBalance>(&p).await?)
    }

    /// `l2_gettransactioncount`.
    pub async fn nonce(&self, address: &Address) -> Result<NonceInfo, NodeError> {
        self.call(m::L2_GETTRANSACTIONCOUNT, json!([address])).await
    }

    /// `l2_sendrawtransaction`: submit a signed transaction; returns its hash.
    pub async fn send_transaction(&self, tx: &L2Transaction) -> Result<H256, NodeError> {
        let raw = hex::encode(tx.encode());
        self.call(m::L2_SENDRAWTRANSACTION, json!([raw])).await
    }

    /// `l2_gettransactionreceipt`: `None` when the node does not know the transaction.
    pub async fn receipt(&self, hash: &H256) -> Result<Option<Value>, NodeError> {
        self.call(m::L2_GETTRANSACTIONRECEIPT, json!([hash])).await
    }

    /// `l2_getproof` at `"latest"` or `"finalized"`.
    pub async fn proof(&self, address: &Address, at: &str) -> Result<Value, NodeError> {
        self.call(m::L2_GETPROOF, json!([address, at])).await
    }

    /// `l2_getwithdrawalproof` at `"latest"` or `"finalized"`.
    pub async fn withdrawal_proof(&self, id: &H256, at: &str) -> Result<Value, NodeError> {
        self.call(m::L2_GETWITHDRAWALPROOF, json!([id, at])).await
    }

    /// `l2_getshare`: share (`row`, `column`) of batch `index`'s extended square with its
    /// proof along `axis`.
    pub async fn share(
        &self,
        index: u64,
        row: u32,
        column: u32,
        axis: Axis,
    ) -> Result<ShareAnswer, NodeError> {
        self.call(m::L2_GETSHARE, json!([index, row, column, axis]))
            .await
    }

    /// `l2_getblockbynumber`: block `n` as the node's JSON (`None` past its head).
    pub async fn block_by_number(&self, n: u64) -> Result<Value, NodeError> {
        self.call(m::L2_GETBLOCKBYNUMBER, json!([n])).await
    }

    /// `l2_estimategas`: the gas the call or creation `request` (`{from, to, data, value}`)
    /// would use.
    pub async fn estimate_gas(&self, request: &Value) -> Result<u64, NodeError> {
        self.call(m::L2_ESTIMATEGAS, json!([request])).await
    }

    /// `l2_call`: run `request` (`{from, to, data, value}`) at `block` (a number or a tag)
    /// without a transaction; the node's answer (`success`, `output`, …).
    pub async fn call_contract(&self, request: &Value, block: &Value) -> Result<Value, NodeError> {
        self.call(m::L2_CALL, json!([request, block])).await
    }
}
