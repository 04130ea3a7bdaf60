//! casl2's one way to the L1: the [`L1Client`] trait, and its devnet backend [`DevnetClient`]
//! (the JSON-RPC of `casl2 l1 devnet`, `docs/protocol.md` "Devnet L1 RPC").
//!
//! The other backend, a real Cascoin node, is [`crate::cascoind::CascoindClient`]. What the real
//! node cannot do (state anchors, fraud games, escrowed withdrawals, …) it answers with
//! [`L1ClientError::Unsupported`], never with a made-up success.

use crate::api::devnet::{self as m, ChainParams, WindowParams};
use crate::api::devnet_types::{BlockAnswer, ChainState, VerboseBlock};
use crate::api::{Method, NoParams};
use crate::rpc::{RpcClient, RpcError};
use casl2_verifier::fraud::Game;
use casl2_verifier::l1::{
    Anchor, AvailabilityChallenge, L1Block, L1Receipt, L1Tx, L2ChainInfo, QueuedMessage, Sequencer,
};
use casl2_verifier::{Address, Decode, Encode, H256};
use thiserror::Error;

pub use crate::api::devnet_types::L1AccountInfo;

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

    /// Call the devnet method `M` with `params`.
    async fn req<M: Method>(&self, params: M::Params) -> Result<M::Result, L1ClientError> {
        Ok(self.rpc.request::<M>(&params).await?)
    }

    /// `getblock` at `verbosity`.
    async fn get_block(&self, hash: &H256, verbosity: u64) -> Result<BlockAnswer, L1ClientError> {
        let p = m::GetBlockParams {
            block_hash: *hash,
            verbosity: Some(verbosity),
        };
        self.req::<m::GetBlock>(p).await
    }

    /// Mine `n` blocks now (devnet only); returns their hashes.
    pub async fn generate(&self, n: u64) -> Result<Vec<H256>, L1ClientError> {
        self.req::<m::Generate>(m::GenerateParams { blocks: Some(n) })
            .await
    }

    /// Mark a block invalid (devnet only; reorgs the chain).
    pub async fn invalidate_block(&self, hash: &H256) -> Result<(), L1ClientError> {
        let p = m::BlockHashParams { block_hash: *hash };
        self.req::<m::InvalidateBlock>(p).await
    }

    /// Clear a block's invalid mark (devnet only).
    pub async fn reconsider_block(&self, hash: &H256) -> Result<(), L1ClientError> {
        let p = m::BlockHashParams { block_hash: *hash };
        self.req::<m::ReconsiderBlock>(p).await
    }

    /// The tip's hash.
    pub async fn best_block_hash(&self) -> Result<H256, L1ClientError> {
        self.req::<m::GetBestBlockHash>(NoParams {}).await
    }

    /// An account's balance.
    pub async fn balance(&self, address: &Address) -> Result<i64, L1ClientError> {
        let p = m::AddressParams { address: *address };
        self.req::<m::GetBalance>(p).await
    }

    /// At most `count` (≤ 1000) of the deposits in a chain's L1→L2 queue, from the `from`th.
    pub async fn deposits(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.req::<m::GetDeposits>(window(chain, from, Some(count)))
            .await
    }
}

/// The parameters of a window from `from`.
fn window(chain: u64, from: u64, count: Option<u64>) -> WindowParams {
    WindowParams {
        chain_id: chain,
        from: Some(from),
        count,
    }
}

/// The parameters of a method about `chain`.
fn chain_p(chain: u64) -> ChainParams {
    ChainParams { chain_id: chain }
}

impl L1Client for DevnetClient {
    async fn tip_height(&self) -> Result<u64, L1ClientError> {
        self.req::<m::GetBlockCount>(NoParams {}).await
    }

    async fn block_hash(&self, height: u64) -> Result<H256, L1ClientError> {
        self.req::<m::GetBlockHash>(m::HeightParams { height })
            .await
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
        let BlockAnswer::Hex(raw) = self.get_block(hash, 0).await? else {
            return Err(L1ClientError::Decode(format!(
                "{}: verbosity 0 answered with a verbose block",
                m::GETBLOCK
            )));
        };
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
        let p = m::AddressParams { address: *address };
        Ok(self.req::<m::GetAccount>(p).await?.account)
    }

    async fn hat_score(&self, address: &Address) -> Result<u32, L1ClientError> {
        Ok(self.account(address).await?.hat_score)
    }

    async fn send_transaction(&self, tx: &L1Tx) -> Result<H256, L1ClientError> {
        let p = m::RawTransactionParams {
            transaction_hex: hex::encode(tx.encode()),
        };
        self.req::<m::SendRawTransaction>(p).await
    }

    async fn chains(&self) -> Result<Vec<L2ChainInfo>, L1ClientError> {
        self.req::<m::ListChains>(NoParams {}).await
    }

    async fn sequencers(&self, chain: u64) -> Result<Vec<Sequencer>, L1ClientError> {
        let list = self.req::<m::GetSequencers>(chain_p(chain)).await?;
        Ok(list.into_iter().map(|e| e.sequencer).collect())
    }

    async fn anchors(&self, chain: u64, from: u64) -> Result<Vec<Anchor>, L1ClientError> {
        self.req::<m::GetAnchors>(window(chain, from, None)).await
    }

    async fn queue(&self, chain: u64, from: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.req::<m::GetQueue>(window(chain, from, None)).await
    }

    async fn forced_queue(&self, chain: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.req::<m::GetForcedQueue>(chain_p(chain)).await
    }

    async fn games(&self, chain: u64, open_only: bool) -> Result<Vec<Game>, L1ClientError> {
        let p = m::OpenOnlyParams {
            chain_id: chain,
            open_only: Some(open_only),
        };
        self.req::<m::GetGames>(p).await
    }

    async fn availability_challenges(
        &self,
        chain: u64,
        open_only: bool,
    ) -> Result<Vec<AvailabilityChallenge>, L1ClientError> {
        let p = m::OpenOnlyParams {
            chain_id: chain,
            open_only: Some(open_only),
        };
        self.req::<m::GetAvailability>(p).await
    }

    async fn anchors_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<Anchor>, L1ClientError> {
        self.req::<m::GetAnchors>(window(chain, from, Some(count)))
            .await
    }

    async fn anchor_count(&self, chain: u64) -> Result<u64, L1ClientError> {
        Ok(self.chain_state(chain).await?.anchors)
    }

    async fn sequencers_with_hat(
        &self,
        chain: u64,
    ) -> Result<Vec<(Sequencer, u32)>, L1ClientError> {
        let list = self.req::<m::GetSequencers>(chain_p(chain)).await?;
        Ok(list
            .into_iter()
            .map(|e| (e.sequencer, e.hat_score))
            .collect())
    }

    async fn paid_withdrawals(&self, chain: u64) -> Result<Vec<(H256, i64)>, L1ClientError> {
        let list = self.req::<m::GetWithdrawals>(chain_p(chain)).await?;
        Ok(list.into_iter().map(|p| (p.id, p.amount)).collect())
    }

    async fn chain_state(&self, chain: u64) -> Result<ChainState, L1ClientError> {
        self.req::<m::GetChain>(chain_p(chain)).await
    }

    async fn exits(&self, chain: u64) -> Result<Vec<Address>, L1ClientError> {
        self.req::<m::GetExits>(chain_p(chain)).await
    }

    async fn queue_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<QueuedMessage>, L1ClientError> {
        self.req::<m::GetQueue>(window(chain, from, Some(count)))
            .await
    }

    async fn mempool(&self) -> Result<Vec<H256>, L1ClientError> {
        self.req::<m::GetRawMempool>(NoParams {}).await
    }

    async fn game(&self, id: u64) -> Result<Game, L1ClientError> {
        self.req::<m::GetGame>(m::GameParams { game_id: id }).await
    }

    async fn block_verbose(&self, hash: &H256) -> Result<VerboseBlock, L1ClientError> {
        match self.get_block(hash, 1).await? {
            BlockAnswer::Verbose(b) => Ok(*b),
            BlockAnswer::Hex(_) => Err(L1ClientError::Decode(format!(
                "{}: verbosity 1 answered with a hex block",
                m::GETBLOCK
            ))),
        }
    }
}

/// Why [`find_mined`] could not place a transaction.
#[derive(Debug, Error)]
pub enum MinedError {
    /// An L1 call failed.
    #[error("{0}")]
    L1(#[from] L1ClientError),
    /// The sender's nonce was used by another transaction: this one can never be mined.
    #[error("the L1 account {from} used nonce {nonce} for another transaction than {tx}")]
    NonceReused {
        /// The sender.
        from: Address,
        /// The nonce.
        nonce: u64,
        /// The transaction.
        tx: H256,
    },
    /// An L1 block lists the transaction without its receipt.
    #[error("the L1's block {block} has no receipt {index}")]
    NoReceipt {
        /// The block height.
        block: u64,
        /// The transaction's position.
        index: usize,
    },
}

/// One look at L1: is transaction `id` (from `from` with `nonce`, sent when the tip was
/// `since`) mined? `Ok(None)` while `from`'s nonce has not passed `nonce`; then the height of
/// the block that holds it and its receipt, searched from `since`. Used by every waiter on an
/// L1 transaction (the CLI's commands, the withdrawal machine).
pub async fn find_mined<C: L1Client>(
    l1: &C,
    id: &H256,
    from: &Address,
    nonce: u64,
    since: u64,
) -> Result<Option<(u64, L1Receipt)>, MinedError> {
    if l1.account(from).await?.nonce <= nonce {
        return Ok(None);
    }
    let tip = l1.tip_height().await?;
    for h in since..=tip {
        let hash = l1.block_hash(h).await?;
        let b = l1.block_verbose(&hash).await?;
        if let Some((index, r)) = b.receipt_of(id) {
            let r = r
                .cloned()
                .ok_or(MinedError::NoReceipt { block: h, index })?;
            return Ok(Some((h, r)));
        }
    }
    Err(MinedError::NonceReused {
        from: *from,
        nonce,
        tx: *id,
    })
}
