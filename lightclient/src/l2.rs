//! The L2 node's JSON-RPC (`casl2 node`, `docs/protocol.md` "Sequencer node RPC") as seen from a
//! client: [`NodeClient`].
//!
//! Answers from a node are *not* trusted by this module: it only moves them. Whatever is
//! verified (proofs against L1 anchors, quorum signatures, samples) is verified by the caller
//! through `casl2_verifier`.

use crate::api::node::{self as m, *};
use crate::api::{Method, NoParams};
use crate::rpc::{RpcClient, RpcError};
use casl2_verifier::types::L2Transaction;
use casl2_verifier::{AccountState, Address, Encode, H256};
use thiserror::Error;

pub use crate::api::node::NonceInfo;

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

    /// Call the typed method `M` (one of [`crate::api::node`]) with `params`.
    pub async fn request<M: Method>(&self, params: &M::Params) -> Result<M::Result, NodeError> {
        Ok(self.rpc.request::<M>(params).await?)
    }

    /// `l2_getchaininfo`: the node's head and its view of L1.
    pub async fn chain_info(&self) -> Result<ChainInfo, NodeError> {
        self.request::<m::GetChainInfo>(&NoParams {}).await
    }

    /// `l2_blocknumber`: the node's head height.
    pub async fn block_number(&self) -> Result<u64, NodeError> {
        self.request::<m::BlockNumber>(&NoParams {}).await
    }

    /// `l2_getbalance` (unverified: the node's word).
    pub async fn balance(&self, address: &Address) -> Result<i64, NodeError> {
        let p = AddressParams { address: *address };
        self.request::<m::GetBalance>(&p).await
    }

    /// `l2_gettransactioncount`.
    pub async fn nonce(&self, address: &Address) -> Result<NonceInfo, NodeError> {
        let p = AddressParams { address: *address };
        self.request::<m::GetTransactionCount>(&p).await
    }

    /// `l2_getaccount` (unverified: the node's word).
    pub async fn account(&self, address: &Address) -> Result<AccountState, NodeError> {
        let p = AddressParams { address: *address };
        self.request::<m::GetAccount>(&p).await
    }

    /// `l2_sendrawtransaction`: submit a signed transaction; returns its hash.
    pub async fn send_transaction(&self, tx: &L2Transaction) -> Result<H256, NodeError> {
        let p = RawTransactionParams {
            raw_transaction_hex: hex::encode(tx.encode()),
        };
        self.request::<m::SendRawTransaction>(&p).await
    }

    /// `l2_gettransactionreceipt`: `None` when the node does not know the transaction.
    pub async fn receipt(&self, hash: &H256) -> Result<Option<ReceiptAnswer>, NodeError> {
        let p = TransactionHashParams {
            transaction_hash: *hash,
        };
        self.request::<m::GetTransactionReceipt>(&p).await
    }

    /// `l2_getproof` at `at`.
    pub async fn proof(&self, address: &Address, at: ProofAt) -> Result<ProofAnswer, NodeError> {
        let p = ProofParams {
            address: *address,
            at: Some(at),
        };
        self.request::<m::GetProof>(&p).await
    }

    /// `l2_getwithdrawalproof` at `at`.
    pub async fn withdrawal_proof(
        &self,
        id: &H256,
        at: ProofAt,
    ) -> Result<WithdrawalProofAnswer, NodeError> {
        let p = WithdrawalProofParams {
            withdrawal_id: *id,
            at: Some(at),
        };
        self.request::<m::GetWithdrawalProof>(&p).await
    }

    /// `l2_getbatch`: anchor `index` with its payload.
    pub async fn batch(&self, index: u64) -> Result<BatchAnswer, NodeError> {
        let p = AnchorParams {
            anchor_index: index,
        };
        self.request::<m::GetBatch>(&p).await
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
        let p = ShareParams {
            anchor_index: index,
            row: row.into(),
            column: column.into(),
            axis: Some(axis),
        };
        self.request::<m::GetShare>(&p).await
    }

    /// `l2_getsequencers`: the chain's sequencers as the node sees them on L1.
    pub async fn sequencers(&self) -> Result<Vec<SequencerEntry>, NodeError> {
        self.request::<m::GetSequencers>(&NoParams {}).await
    }

    /// `l2_getleader`: who may produce the next block now.
    pub async fn leader(&self) -> Result<LeaderAnswer, NodeError> {
        self.request::<m::GetLeader>(&NoParams {}).await
    }

    /// `l2_getblockbynumber`: final block `n` (`None` past the node's head).
    pub async fn block_by_number(&self, n: u64) -> Result<Option<BlockAnswer>, NodeError> {
        let p = BlockNumberParams { block_number: n };
        self.request::<m::GetBlockByNumber>(&p).await
    }

    /// `l2_estimategas`: the gas the call or creation `request` would use.
    pub async fn estimate_gas(&self, request: &CallRequest) -> Result<u64, NodeError> {
        let p = CallParams {
            call_object: request.clone(),
            block: None,
        };
        self.request::<m::EstimateGas>(&p).await
    }

    /// `l2_call`: run `request` at `block` (default the head) without a transaction.
    pub async fn call_contract(
        &self,
        request: &CallRequest,
        block: Option<BlockId>,
    ) -> Result<CallAnswer, NodeError> {
        let p = CallParams {
            call_object: request.clone(),
            block,
        };
        self.request::<m::Call>(&p).await
    }

    /// `l2_getcode`: `address`'s code at `block` (default the head).
    pub async fn code(
        &self,
        address: &Address,
        block: Option<BlockId>,
    ) -> Result<Vec<u8>, NodeError> {
        let p = AddressAtParams {
            address: *address,
            block,
        };
        Ok(self.request::<m::GetCode>(&p).await?.0)
    }

    /// `l2_getstorageat`: slot `slot` of contract `address` at `block` (default the head).
    pub async fn storage_at(
        &self,
        address: &Address,
        slot: H256,
        block: Option<BlockId>,
    ) -> Result<H256, NodeError> {
        let p = StorageParams {
            address: *address,
            storage_slot: Word(slot),
            block,
        };
        self.request::<m::GetStorageAt>(&p).await
    }

    /// `l2_getlogs`: the logs `filter` matches.
    pub async fn logs(&self, filter: &LogFilter) -> Result<Vec<LogEntry<u64>>, NodeError> {
        let p = LogsParams {
            filter: Some(filter.clone()),
        };
        self.request::<m::GetLogs>(&p).await
    }
}
