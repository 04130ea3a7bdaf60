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
use casl2_verifier::l1::{L1Error, L1Tx};
use casl2_verifier::{Decode, H256};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

pub use crate::jsonrpc::RpcError;
use crate::jsonrpc::{self, p_address, p_hash, p_str, p_u64, p_u64_or, to_json, window};

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
        .route("/", post(handle))
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

async fn handle(State(devnet): State<SharedDevnet>, body: Body) -> Response {
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
        m::GETBLOCKCOUNT => Ok(json!(lock(devnet).height())),
        m::GETBESTBLOCKHASH => to_json(&lock(devnet).state().tip_hash()),
        m::GETBLOCKHASH => {
            let h = p_u64(p, 0, "height")?;
            let d = lock(devnet);
            let hash = d
                .state()
                .block_hash(h)
                .ok_or_else(|| RpcError::params(format!("no block at height {h}")))?;
            to_json(&hash)
        }
        m::GETBLOCK => get_block(devnet, p),
        m::SENDRAWTRANSACTION => {
            let raw = p_str(p, 0, "transaction hex")?;
            let raw = raw.strip_prefix("0x").unwrap_or(raw);
            let bytes =
                hex::decode(raw).map_err(|e| RpcError::params(format!("transaction hex: {e}")))?;
            let tx = L1Tx::decode(&bytes)
                .map_err(|e| RpcError::params(format!("transaction decode: {e}")))?;
            let id = lock(devnet).submit(tx)?;
            to_json(&id)
        }
        m::GETRAWMEMPOOL => {
            let d = lock(devnet);
            let ids: Vec<H256> = d.mempool().iter().map(L1Tx::hash).collect();
            to_json(&ids)
        }
        m::GENERATE => {
            let n = p_u64_or(p, 0, "blocks", 1)?;
            let hashes = lock(devnet).generate(n, now_secs())?;
            to_json(&hashes)
        }
        m::GETBALANCE => {
            let a = p_address(p, 0)?;
            Ok(json!(lock(devnet).state().balance(&a)))
        }
        m::GETACCOUNT => {
            let a = p_address(p, 0)?;
            let d = lock(devnet);
            let acct = d.state().account(&a);
            Ok(json!({
                "address": a,
                "balance": acct.balance,
                "nonce": acct.nonce,
                "nextNonce": d.next_nonce(&a),
                "hatScore": d.state().hat_score(&a),
            }))
        }
        m::INVALIDATEBLOCK => {
            let h = p_hash(p, 0)?;
            lock(devnet).invalidate_block(&h)?;
            Ok(Value::Null)
        }
        m::RECONSIDERBLOCK => {
            let h = p_hash(p, 0)?;
            lock(devnet).reconsider_block(&h)?;
            Ok(Value::Null)
        }
        m::L2_LISTCHAINS => {
            let d = lock(devnet);
            let list: Vec<Value> = d
                .state()
                .chains()
                .values()
                .map(|c| to_json(&c.info))
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(list))
        }
        m::L2_GETGAME => {
            let id = p_u64(p, 0, "game id")?;
            let d = lock(devnet);
            match d.state().game(id) {
                Some(g) => to_json(g),
                None => Err(L1Error::UnknownGame(id).into()),
            }
        }
        m if m.starts_with("l2_") && METHODS.contains(&m) => chain_method(devnet, m, p),
        m => Err(RpcError::new(-32601, format!("unknown method {m}"))),
    }
}

/// `m::GETBLOCK`.
fn get_block(devnet: &SharedDevnet, p: &[Value]) -> Result<Value, RpcError> {
    let hash = p_hash(p, 0)?;
    let verbosity = p_u64_or(p, 1, "verbosity", 1)?;
    let d = lock(devnet);
    let Some(height) = d.height_of(&hash) else {
        let block = d
            .stored_block(&hash)?
            .ok_or_else(|| RpcError::params(format!("unknown block {hash}")))?;
        if verbosity == 0 {
            return Ok(json!(hex::encode(casl2_verifier::Encode::encode(&block))));
        }
        return Ok(json!({
            "hash": hash, "height": block.height, "time": block.time,
            "prevHash": block.prev_hash, "inActiveChain": false,
            "invalid": d.invalid_blocks().contains(&hash),
            "txs": to_json(&block.txs)?,
        }));
    };
    let block = d
        .block_at(height)
        .ok_or_else(|| RpcError::internal("active block missing"))?;
    if verbosity == 0 {
        return Ok(json!(hex::encode(casl2_verifier::Encode::encode(block))));
    }
    let outcome = d.outcome_at(height);
    let txids: Vec<H256> = block.txs.iter().map(L1Tx::hash).collect();
    Ok(json!({
        "hash": hash,
        "height": height,
        "time": block.time,
        "prevHash": block.prev_hash,
        "txsRoot": block.txs_root(),
        "confirmations": d.height().saturating_sub(height).saturating_add(1),
        "inActiveChain": true,
        "txids": txids,
        "txs": to_json(&block.txs)?,
        "receipts": match outcome { Some(o) => to_json(&o.receipts)?, None => json!([]) },
        "events": match outcome { Some(o) => to_json(&o.events)?, None => json!([]) },
    }))
}

/// The `l2_*` methods about one chain (parameter 0: the chain id).
fn chain_method(devnet: &SharedDevnet, m: &str, p: &[Value]) -> Result<Value, RpcError> {
    let chain_id = p_u64(p, 0, "chain id")?;
    let d = lock(devnet);
    let c = d
        .state()
        .chain(chain_id)
        .ok_or(L1Error::UnknownChain(chain_id))?;
    match m {
        m::L2_GETCHAIN => Ok(json!({
            "info": to_json(&c.info)?,
            "escrow": c.escrow,
            "totalDeposited": c.total_deposited,
            "totalWithdrawn": c.total_withdrawn,
            "totalExited": c.total_exited,
            "totalRefunded": c.total_refunded,
            "queueLength": c.queue.len(),
            "queueHead": c.queue_head,
            "consumed": c.consumed,
            "finalizedConsumed": c.finalized_consumed,
            "missed": c.missed,
            "anchors": c.anchors.len(),
            "finalizedAnchors": c.finalized_count,
            "sequencers": c.sequencers.len(),
        })),
        m::L2_GETSEQUENCERS => {
            let list: Vec<Value> = c
                .sequencers
                .iter()
                .map(|s| {
                    let mut v = to_json(s)?;
                    v["hatScore"] = json!(d.state().hat_score(&s.address));
                    Ok(v)
                })
                .collect::<Result<_, RpcError>>()?;
            Ok(Value::Array(list))
        }
        m::L2_GETANCHORS => to_json(&window(&c.anchors, p, 1)?),
        m::L2_GETQUEUE => to_json(&window(&c.queue, p, 1)?),
        m::L2_GETDEPOSITS => {
            let deposits: Vec<_> = c.queue.iter().filter(|m| !m.is_forced()).cloned().collect();
            to_json(&window(&deposits, p, 1)?)
        }
        m::L2_GETWITHDRAWALS => {
            let list: Vec<Value> = c
                .paid_withdrawals
                .iter()
                .map(|(id, amount)| json!({ "id": id, "amount": amount }))
                .collect();
            Ok(Value::Array(list))
        }
        m::L2_GETFORCEDQUEUE => {
            let pending: Vec<_> = c.pending_forced().cloned().collect();
            to_json(&pending)
        }
        m::L2_GETEXITS => to_json(&c.exited),
        m::L2_GETGAMES => {
            let open_only = p.get(1).and_then(Value::as_bool).unwrap_or(false);
            let games: Vec<_> = d
                .state()
                .games()
                .values()
                .filter(|g| g.chain == chain_id && (!open_only || g.result.is_none()))
                .collect();
            to_json(&games)
        }
        m::L2_GETAVAILABILITY => {
            let open_only = p.get(1).and_then(Value::as_bool).unwrap_or(false);
            let list: Vec<_> = d
                .state()
                .availability_challenges()
                .values()
                .filter(|c| c.chain == chain_id && (!open_only || c.result.is_none()))
                .collect();
            to_json(&list)
        }
        _ => Err(RpcError::new(-32601, format!("unknown method {m}"))),
    }
}
