//! The devnet L1's JSON-RPC 2.0 server over HTTP (axum), for 127.0.0.1.
//!
//! One `POST /` endpoint takes a request object or a batch array. Parameters are positional
//! arrays (bitcoind style); methods and errors are listed in `docs/protocol.md`, "Devnet L1
//! RPC". Rule failures carry the [`L1Error`] code with its name in `data`; protocol errors use
//! the JSON-RPC codes -32700, -32600, -32601, -32602 and -32603. Bodies over
//! [`MAX_BODY_BYTES`] get -32600 with HTTP 413.

use crate::devnet::{Devnet, DevnetError};
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use casl2_lightclient::api::devnet as m;
use casl2_lightclient::api::devnet_types::{
    BlockAnswer, ChainState as ChainSummary, DevnetAccount, L1AccountInfo, PaidWithdrawal,
    SequencerEntry, VerboseBlock,
};
use casl2_verifier::l1::{ChainState, L1Error, L1Tx, Sequencer};
use casl2_verifier::{Decode, Encode, H256};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

pub use crate::jsonrpc::RpcError;
use crate::jsonrpc::{self, handle, window};

/// Largest request body (4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most requests in one batch.
pub const MAX_BATCH: usize = 1_000;

/// A devnet shared between the server, the miner and the caller.
pub type SharedDevnet = Arc<Mutex<Devnet>>;

/// Why the server could not run.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The HTTP server failed.
    #[error("devnet RPC server: {0}")]
    Io(#[from] std::io::Error),
}

impl From<L1Error> for RpcError {
    fn from(e: L1Error) -> RpcError {
        RpcError {
            code: i64::from(e.code()),
            message: e.to_string(),
            data: Some(json!({ "name": e.name(), "detail": e })),
        }
    }
}

impl From<DevnetError> for RpcError {
    fn from(e: DevnetError) -> RpcError {
        match e {
            DevnetError::Rule(r) => r.into(),
            DevnetError::InvalidArgument(m) => RpcError::params(m),
            e @ DevnetError::Storage(_) => RpcError::internal(e.to_string()),
        }
    }
}

fn lock(d: &SharedDevnet) -> MutexGuard<'_, Devnet> {
    d.lock().unwrap_or_else(|p| p.into_inner())
}

/// Unix seconds now (0 if the clock is before 1970).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The axum router of the JSON-RPC endpoint.
pub fn router(devnet: SharedDevnet) -> Router {
    Router::new()
        .route("/", post(serve_http))
        .layer(axum::middleware::from_fn(jsonrpc::cors))
        .with_state(devnet)
}

/// Serve JSON-RPC on `listener` until `shutdown` completes.
pub async fn serve(
    devnet: SharedDevnet,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, router(devnet))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Mine one block every `interval` until `shutdown` completes (errors end the miner).
pub async fn mine_every(
    devnet: SharedDevnet,
    interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DevnetError> {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tick.tick() => {
                let d = devnet.clone();
                let r = tokio::task::spawn_blocking(move || lock(&d).generate(1, now_secs()).map(|_| ()))
                    .await
                    .map_err(|e| DevnetError::Storage(format!("miner task: {e}")))?;
                r?;
            }
        }
    }
}

async fn serve_http(State(devnet): State<SharedDevnet>, body: Body) -> Response {
    let parsed = match jsonrpc::read_body(body, MAX_BODY_BYTES).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result = tokio::task::spawn_blocking(move || {
        jsonrpc::dispatch_body(parsed, MAX_BATCH, |m, p| call(&devnet, m, p))
    })
    .await;
    jsonrpc::respond(result.map_err(|e| e.to_string()))
}

/// Answer a parsed body (object or batch); `None` when it held only notifications.
pub fn dispatch_body(devnet: &SharedDevnet, body: Value) -> Option<Value> {
    jsonrpc::dispatch_body(body, MAX_BATCH, |m, p| call(devnet, m, p))
}

/// The method names the server answers.
pub use casl2_lightclient::api::devnet::METHODS;

fn call(devnet: &SharedDevnet, method: &str, p: &[Value]) -> Result<Value, RpcError> {
    match method {
        m::GETBLOCKCOUNT => handle::<m::GetBlockCount>(p, |_| Ok(lock(devnet).height())),
        m::GETBESTBLOCKHASH => {
            handle::<m::GetBestBlockHash>(p, |_| Ok(lock(devnet).state().tip_hash()))
        }
        m::GETBLOCKHASH => handle::<m::GetBlockHash>(p, |q| {
            let h = q.height;
            lock(devnet)
                .state()
                .block_hash(h)
                .ok_or_else(|| RpcError::params(format!("no block at height {h}")))
        }),
        m::GETBLOCK => handle::<m::GetBlock>(p, |q| get_block(devnet, q)),
        m::SENDRAWTRANSACTION => handle::<m::SendRawTransaction>(p, |q| {
            let raw = q.transaction_hex.as_str();
            let raw = raw.strip_prefix("0x").unwrap_or(raw);
            let bytes =
                hex::decode(raw).map_err(|e| RpcError::params(format!("transaction hex: {e}")))?;
            let tx = L1Tx::decode(&bytes)
                .map_err(|e| RpcError::params(format!("transaction decode: {e}")))?;
            Ok(lock(devnet).submit(tx)?)
        }),
        m::GETRAWMEMPOOL => handle::<m::GetRawMempool>(p, |_| {
            Ok(lock(devnet).mempool().iter().map(L1Tx::hash).collect())
        }),
        m::GENERATE => handle::<m::Generate>(p, |q| {
            Ok(lock(devnet).generate(q.blocks.unwrap_or(1), now_secs())?)
        }),
        m::GETBALANCE => {
            handle::<m::GetBalance>(p, |q| Ok(lock(devnet).state().balance(&q.address)))
        }
        m::GETACCOUNT => handle::<m::GetAccount>(p, |q| {
            let d = lock(devnet);
            let acct = d.state().account(&q.address);
            Ok(DevnetAccount {
                address: q.address,
                account: L1AccountInfo {
                    balance: acct.balance,
                    nonce: acct.nonce,
                    next_nonce: d.next_nonce(&q.address),
                    hat_score: d.state().hat_score(&q.address),
                },
            })
        }),
        m::INVALIDATEBLOCK => {
            handle::<m::InvalidateBlock>(p, |q| Ok(lock(devnet).invalidate_block(&q.block_hash)?))
        }
        m::RECONSIDERBLOCK => {
            handle::<m::ReconsiderBlock>(p, |q| Ok(lock(devnet).reconsider_block(&q.block_hash)?))
        }
        m::L2_GETGAME => handle::<m::GetGame>(p, |q| {
            let d = lock(devnet);
            d.state()
                .game(q.game_id)
                .cloned()
                .ok_or_else(|| L1Error::UnknownGame(q.game_id).into())
        }),
        m if m.starts_with("l2_") && METHODS.contains(&m) => chain_method(devnet, m, p),
        m => Err(RpcError::new(-32601, format!("unknown method {m}"))),
    }
}

/// `m::GETBLOCK`: verbosity 0 gives the hex of the serialized block, any other the
/// [`VerboseBlock`] (a stored block off the active chain has no receipts, events or ids).
fn get_block(devnet: &SharedDevnet, q: m::GetBlockParams) -> Result<BlockAnswer, RpcError> {
    let hash = q.block_hash;
    let verbose = q.verbosity.unwrap_or(1) != 0;
    let d = lock(devnet);
    let Some(height) = d.height_of(&hash) else {
        let block = d
            .stored_block(&hash)?
            .ok_or_else(|| RpcError::params(format!("unknown block {hash}")))?;
        if !verbose {
            return Ok(BlockAnswer::Hex(hex::encode(Encode::encode(&block))));
        }
        return Ok(BlockAnswer::Verbose(Box::new(VerboseBlock {
            hash,
            height: block.height,
            time: block.time,
            prev_hash: block.prev_hash,
            in_active_chain: false,
            txs: block.txs,
            txs_root: None,
            confirmations: None,
            txids: None,
            receipts: None,
            events: None,
            invalid: Some(d.invalid_blocks().contains(&hash)),
        })));
    };
    let block = d
        .block_at(height)
        .ok_or_else(|| RpcError::internal("active block missing"))?;
    if !verbose {
        return Ok(BlockAnswer::Hex(hex::encode(Encode::encode(block))));
    }
    let outcome = d.outcome_at(height);
    Ok(BlockAnswer::Verbose(Box::new(VerboseBlock {
        hash,
        height,
        time: block.time,
        prev_hash: block.prev_hash,
        in_active_chain: true,
        txs: block.txs.clone(),
        txs_root: Some(block.txs_root()),
        confirmations: Some(d.height().saturating_sub(height).saturating_add(1)),
        txids: Some(block.txs.iter().map(L1Tx::hash).collect()),
        receipts: Some(outcome.map(|o| o.receipts.clone()).unwrap_or_default()),
        events: Some(outcome.map(|o| o.events.clone()).unwrap_or_default()),
        invalid: None,
    })))
}

/// Run `f` over the devnet and chain `chain_id` (1501 `CHAIN_UNKNOWN` if there is none).
fn with_chain<R>(
    devnet: &SharedDevnet,
    chain_id: u64,
    f: impl FnOnce(&Devnet, &ChainState) -> R,
) -> Result<R, RpcError> {
    let d = lock(devnet);
    let c = d
        .state()
        .chain(chain_id)
        .ok_or(L1Error::UnknownChain(chain_id))?;
    Ok(f(&d, c))
}

/// The `l2_*` methods: the registry, and those about one chain (parameter 0: the chain id).
fn chain_method(devnet: &SharedDevnet, method: &str, p: &[Value]) -> Result<Value, RpcError> {
    match method {
        m::L2_LISTCHAINS => handle::<m::ListChains>(p, |_| {
            let d = lock(devnet);
            Ok(d.state()
                .chains()
                .values()
                .map(|c| c.info.clone())
                .collect())
        }),
        m::L2_GETCHAIN => {
            handle::<m::GetChain>(p, |q| with_chain(devnet, q.chain_id, |_, c| summary(c)))
        }
        m::L2_GETSEQUENCERS => handle::<m::GetSequencers>(p, |q| {
            with_chain(devnet, q.chain_id, |d, c| {
                let entry = |s: &Sequencer| SequencerEntry {
                    sequencer: s.clone(),
                    hat_score: d.state().hat_score(&s.address),
                };
                c.sequencers.iter().map(entry).collect()
            })
        }),
        m::L2_GETANCHORS => handle::<m::GetAnchors>(p, |q| {
            with_chain(devnet, q.chain_id, |_, c| {
                window(&c.anchors, q.from, q.count)
            })
        }),
        m::L2_GETQUEUE => handle::<m::GetQueue>(p, |q| {
            with_chain(devnet, q.chain_id, |_, c| window(&c.queue, q.from, q.count))
        }),
        m::L2_GETDEPOSITS => handle::<m::GetDeposits>(p, |q| {
            with_chain(devnet, q.chain_id, |_, c| {
                let deposits: Vec<_> = c.queue.iter().filter(|m| !m.is_forced()).cloned().collect();
                window(&deposits, q.from, q.count)
            })
        }),
        m::L2_GETWITHDRAWALS => handle::<m::GetWithdrawals>(p, |q| {
            with_chain(devnet, q.chain_id, |_, c| {
                let paid = |(id, amount): (&H256, &i64)| PaidWithdrawal {
                    id: *id,
                    amount: *amount,
                };
                c.paid_withdrawals.iter().map(paid).collect()
            })
        }),
        m::L2_GETFORCEDQUEUE => handle::<m::GetForcedQueue>(p, |q| {
            with_chain(devnet, q.chain_id, |_, c| {
                c.pending_forced().cloned().collect()
            })
        }),
        m::L2_GETEXITS => handle::<m::GetExits>(p, |q| {
            with_chain(devnet, q.chain_id, |_, c| {
                c.exited.iter().copied().collect()
            })
        }),
        m::L2_GETGAMES => handle::<m::GetGames>(p, |q| {
            let open_only = q.open_only.unwrap_or(false);
            with_chain(devnet, q.chain_id, |d, _| {
                let games = d.state().games().values();
                games
                    .filter(|g| g.chain == q.chain_id && (!open_only || g.result.is_none()))
                    .cloned()
                    .collect()
            })
        }),
        m::L2_GETAVAILABILITY => handle::<m::GetAvailability>(p, |q| {
            let open_only = q.open_only.unwrap_or(false);
            with_chain(devnet, q.chain_id, |d, _| {
                let list = d.state().availability_challenges().values();
                list.filter(|c| c.chain == q.chain_id && (!open_only || c.result.is_none()))
                    .cloned()
                    .collect()
            })
        }),
        _ => Err(RpcError::new(-32601, format!("unknown method {method}"))),
    }
}

/// `l2_getchain`'s answer for chain `c`.
fn summary(c: &ChainState) -> ChainSummary {
    ChainSummary {
        info: c.info.clone(),
        escrow: c.escrow,
        total_deposited: c.total_deposited,
        total_withdrawn: c.total_withdrawn,
        total_exited: c.total_exited,
        total_refunded: c.total_refunded,
        queue_length: c.queue.len() as u64,
        queue_head: c.queue_head,
        consumed: c.consumed,
        finalized_consumed: c.finalized_consumed,
        missed: c.missed.clone(),
        anchors: c.anchors.len() as u64,
        finalized_anchors: c.finalized_count,
        sequencers: c.sequencers.len() as u64,
    }
}
