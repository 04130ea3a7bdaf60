//! The node's HTTP server: JSON-RPC 2.0 for users and tools on `POST /`, the peer protocol on
//! `/p2p/*`, and Prometheus metrics on `GET /metrics`. Methods, parameters and errors:
//! `docs/protocol.md`, "Sequencer node RPC".

use super::engine::{EngineError, Outgoing};
use super::peer::{check_peer_message, PEER_AUTH_HEADER};
use super::{broadcast, handle_message, now_ms, BatchSignRequest, Shared};
use crate::jsonrpc::{self, handle, RpcError};
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use casl2_lightclient::api::node::{
    self as m, BatchAnswer, BlockAnswer, ChainInfo, LeaderAnswer, NodeStatus, NonceInfo,
    PendingReceipt, ProofAnswer, ProofAt, ProofFinality, ReceiptAnswer, SequencerEntry,
    ShareAnswer, WithdrawalProofAnswer,
};
use casl2_lightclient::l1::L1Client;
use casl2_lightclient::rpc::RpcClient;
use casl2_verifier::da::{encode_payload, DaParams, ExtendedSquare};
use casl2_verifier::l1::Anchor;
use casl2_verifier::smt::CompactProof;
use casl2_verifier::stf::Overlay;
use casl2_verifier::types::WithdrawalRecord;
use casl2_verifier::{Decode, L2Transaction, H256};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Largest JSON-RPC request body (1 MiB).
pub const MAX_RPC_BODY: usize = 1024 * 1024;
/// Largest peer message (a block proposal: 4 MiB).
pub const MAX_P2P_BODY: usize = 4 * 1024 * 1024;
/// Most requests in one JSON-RPC batch.
pub const MAX_RPC_BATCH: usize = 100;

/// The JSON-RPC methods the node answers, besides the contract methods of
/// [`super::cvm_rpc::METHODS`].
pub use casl2_lightclient::api::node::METHODS;

/// The node's router.
///
/// Only the user RPC (`/`) answers pages of other origins (CORS). The peer endpoints send no
/// CORS headers and refuse a request that a web page could make: one with an `Origin` header
/// (403) or a POST whose content type is not `application/json` (415, which a page can only
/// send after a CORS pre-flight these endpoints never grant).
pub fn router(shared: Arc<Shared>) -> Router {
    let user = Router::new()
        .route("/", post(handle_rpc))
        .layer(axum::middleware::from_fn(jsonrpc::cors));
    let peers = Router::new()
        .route("/p2p/message", post(handle_p2p))
        .route("/p2p/block/{n}", get(handle_block))
        .route("/p2p/batch-sign", post(handle_batch_sign))
        .layer(axum::middleware::from_fn(peers_only));
    user.merge(peers)
        .route("/metrics", get(super::metrics::handle))
        .with_state(shared)
}

/// Refuse, on the peer endpoints, what a browser page could send (see [`router`]).
async fn peers_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.headers().contains_key(header::ORIGIN) {
        return (
            StatusCode::FORBIDDEN,
            "peer endpoints do not answer web pages (request has an Origin header)",
        )
            .into_response();
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if req.method() == axum::http::Method::POST && !json {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "peer messages are application/json",
        )
            .into_response();
    }
    next.run(req).await
}

/// Call `method` with raw positional `params` on the node at `url` and return its result: for
/// tests and benches that speak the wire itself. Code in the crates calls a node through the
/// typed `casl2_lightclient::l2::NodeClient`.
pub async fn call_peer(
    http: &reqwest::Client,
    url: &str,
    method: &str,
    params: Value,
) -> Result<Value, String> {
    RpcClient::new(url)
        .with_http(http.clone())
        .call_value(method, params)
        .await
        .map_err(|e| e.to_string())
}

fn rate_limited(shared: &Shared, client: std::net::IpAddr, n: u64) -> Option<Response> {
    if shared.rate().take(client, n, now_ms() / 1000) {
        return None;
    }
    let e = RpcError::new(
        -32005,
        format!(
            "rate limited: more than {} requests this second from {client}",
            shared.cfg().rpc_rate_limit
        ),
    );
    Some(jsonrpc::reply(
        StatusCode::TOO_MANY_REQUESTS,
        &jsonrpc::error_reply(Value::Null, &e),
    ))
}

async fn handle_rpc(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // One unit before the body is read, the rest of a batch's requests after.
    if let Some(r) = rate_limited(&shared, peer.ip(), 1) {
        return r;
    }
    let parsed = match jsonrpc::read_body(body, MAX_RPC_BODY).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Value::Array(items) = &parsed {
        let more = (items.len().min(MAX_RPC_BATCH + 1) as u64).saturating_sub(1);
        if more > 0 {
            if let Some(r) = rate_limited(&shared, peer.ip(), more) {
                return r;
            }
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        jsonrpc::dispatch_body(parsed, MAX_RPC_BATCH, |m, p| {
            call(&s, token.as_deref(), m, p)
        })
    })
    .await;
    shared
        .metrics()
        .rpc_requests
        .fetch_add(1, Ordering::Relaxed);
    jsonrpc::respond(result.map_err(|e| e.to_string()))
}

fn engine_err(e: EngineError) -> RpcError {
    match e {
        EngineError::Invalid(m) => RpcError::new(-32010, m),
        EngineError::NotYet(m) => RpcError::new(-32011, m),
        EngineError::Storage(m) => RpcError::internal(m),
        EngineError::Halted(m) => RpcError::new(-32012, format!("this node is halted: {m}")),
    }
}

fn not_registered() -> RpcError {
    RpcError::new(-32011, "the chain is not registered on L1")
}

/// A compact proof of `key` at the head (`"latest"`, the default: soft finality, the head's
/// quorum signatures), at L1's latest anchored root (`"anchored"`: what a fast withdrawal is
/// paid against before the anchor is final) or at L1's finalised root (`"finalized"`: hard
/// finality).
fn proof_at(
    shared: &Arc<Shared>,
    key: &H256,
    at: Option<ProofAt>,
) -> Result<(H256, u64, ProofFinality, CompactProof), RpcError> {
    let view = shared.view();
    let e = shared.engine();
    let (root, block, finality) = match at.unwrap_or_default() {
        ProofAt::Latest => {
            let header = e.head().cloned();
            let signatures = match &header {
                Some(h) => e
                    .chain()
                    .block(h.block_number)
                    .map_err(|x| RpcError::internal(x.to_string()))?
                    .map(|b| b.signatures)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            let f = ProofFinality::Soft {
                header: header.map(Box::new),
                signatures,
            };
            (e.tree().root(), e.height(), f)
        }
        ProofAt::Finalized => {
            let c = view.chain.as_ref().ok_or_else(not_registered)?;
            let f = ProofFinality::Hard {
                l1_tip: view.tip,
                finalized_anchors: view.finalized_anchors,
            };
            (c.finalized_state_root, c.finalized_l2_block, f)
        }
        ProofAt::Anchored => {
            let c = view.chain.as_ref().ok_or_else(not_registered)?;
            let f = ProofFinality::Anchored {
                l1_tip: view.tip,
                anchors: view.anchors,
                finalized_anchors: view.finalized_anchors,
            };
            (c.latest_state_root, c.latest_l2_block, f)
        }
    };
    let proof = e
        .tree()
        .prove_compact_at(root, key)
        .map_err(|x| RpcError::new(-32011, format!("no proof at root {root}: {x}")))?;
    Ok((root, block, finality, proof))
}

/// Anchor `index` of this chain as L1 holds it (fetched from L1 for this request).
fn anchor(shared: &Arc<Shared>, index: u64) -> Result<Anchor, RpcError> {
    let chain = shared.cfg().chain_id;
    let list: Vec<Anchor> = tokio::runtime::Handle::current()
        .block_on(shared.l1().anchors_window(chain, index, 1))
        .map_err(|e| RpcError::new(-32011, format!("L1: {e}")))?;
    list.into_iter()
        .next()
        .ok_or_else(|| RpcError::new(-32011, format!("L1 has no anchor {index} of chain {chain}")))
}

/// The extended square of anchor `index`'s payload (cached for the last few anchors).
fn square(shared: &Arc<Shared>, a: &Anchor) -> Result<Arc<ExtendedSquare>, RpcError> {
    if let Some((_, _, sq)) = shared
        .squares()
        .iter()
        .find(|(i, root, _)| *i == a.index && *root == a.data_root)
    {
        return Ok(sq.clone());
    }
    let c = a
        .commitment
        .as_ref()
        .ok_or_else(|| RpcError::new(-32011, format!("anchor {} has no DA commitment", a.index)))?;
    let enc = encode_payload(&a.payload, c.data_hash, &DaParams::default())
        .map_err(|e| RpcError::internal(format!("anchor {}: {e}", a.index)))?;
    if enc.commitment != *c {
        return Err(RpcError::internal(format!(
            "anchor {}: the payload does not give its commitment",
            a.index
        )));
    }
    let sq = Arc::new(enc.square);
    let mut cache = shared.squares();
    cache.push((a.index, a.data_root, sq.clone()));
    if cache.len() > 4 {
        cache.remove(0);
    }
    Ok(sq)
}

fn call(
    shared: &Arc<Shared>,
    token: Option<&str>,
    method: &str,
    p: &[Value],
) -> Result<Value, RpcError> {
    if let Some(r) = super::cvm_rpc::call(shared, method, p) {
        return r;
    }
    match method {
        m::L2_BLOCKNUMBER => handle::<m::BlockNumber>(p, |_| Ok(shared.engine().height())),
        m::L2_GETBALANCE => handle::<m::GetBalance>(p, |q| {
            let st = shared.engine().account(&q.address).map_err(engine_err)?;
            Ok(st.balance)
        }),
        m::L2_GETCHAININFO => handle::<m::GetChainInfo>(p, |_| Ok(chain_info(shared))),
        m::L2_GETBLOCKBYNUMBER => handle::<m::GetBlockByNumber>(p, |q| {
            let b = shared
                .engine()
                .chain()
                .block(q.block_number)
                .map_err(|x| RpcError::internal(x.to_string()))?;
            Ok(b.map(|block| BlockAnswer {
                hash: block.hash(),
                block,
            }))
        }),
        m::L2_GETTRANSACTIONCOUNT => handle::<m::GetTransactionCount>(p, |q| {
            let e = shared.engine();
            let st = e.account(&q.address).map_err(engine_err)?;
            Ok(NonceInfo {
                nonce: st.nonce,
                pending: e.mempool.next_nonce(&q.address, st.nonce),
            })
        }),
        m::L2_GETACCOUNT => handle::<m::GetAccount>(p, |q| {
            shared.engine().account(&q.address).map_err(engine_err)
        }),
        m::L2_SENDRAWTRANSACTION => handle::<m::SendRawTransaction>(p, |q| {
            let raw = q.raw_transaction_hex;
            let bytes = hex::decode(raw.trim_start_matches("0x"))
                .map_err(|e| RpcError::params(format!("parameter 0 (raw transaction hex): {e}")))?;
            let tx = L2Transaction::decode(&bytes)
                .map_err(|e| RpcError::params(format!("parameter 0 (transaction): {e}")))?;
            let h = shared
                .engine()
                .submit(tx.clone())
                .map_err(|e| RpcError::new(-32020, e.to_string()))?;
            shared.relay(tx);
            Ok(h)
        }),
        m::L2_GETTRANSACTIONRECEIPT => handle::<m::GetTransactionReceipt>(p, |q| {
            let h = q.transaction_hash;
            let e = shared.engine();
            let r = e
                .chain()
                .receipt(&h)
                .map_err(|x| RpcError::internal(x.to_string()))?;
            Ok(match r {
                Some(r) => Some(ReceiptAnswer::Final(Box::new(r))),
                None if e.mempool.contains(&h) => Some(ReceiptAnswer::Pending(PendingReceipt {
                    hash: h,
                    pending: true,
                })),
                None => None,
            })
        }),
        m::L2_GETPROOF => handle::<m::GetProof>(p, |q| get_proof(shared, q)),
        m::L2_GETWITHDRAWALPROOF => {
            handle::<m::GetWithdrawalProof>(p, |q| withdrawal_proof(shared, q))
        }
        m::L2_GETBATCH => handle::<m::GetBatch>(p, |q| {
            let a = anchor(shared, q.anchor_index)?;
            Ok(BatchAnswer {
                index: a.index,
                l1_height: a.l1_height,
                header: a.header,
                batch_hash: a.batch_hash,
                data_root: a.data_root,
                commitment: a.commitment,
                finalized: a.finalized,
                disputed: a.disputed,
                deadline: a.deadline,
                payload_size: a.payload.len() as u64,
                payload: a.payload,
            })
        }),
        m::L2_GETSHARE => handle::<m::GetShare>(p, |q| get_share(shared, q)),
        m::L2_GETSEQUENCERS => handle::<m::GetSequencers>(p, |_| Ok(sequencers(shared))),
        m::L2_GETLEADER => handle::<m::GetLeader>(p, |_| leader(shared)),
        m::ADMIN_STATUS => handle::<m::AdminStatus>(p, |_| admin_status(shared, token)),
        m => Err(RpcError::new(-32601, format!("unknown method {m}"))),
    }
}

/// `m::ADMIN_STATUS`.
fn admin_status(shared: &Arc<Shared>, token: Option<&str>) -> Result<NodeStatus, RpcError> {
    match (&shared.cfg().admin_token, token) {
        (Some(t), Some(given)) if t == given => {}
        (None, _) => {
            return Err(RpcError::new(
                -32030,
                "admin methods are off (no --admin-token)",
            ))
        }
        _ => {
            return Err(RpcError::new(
                -32031,
                "admin method: missing or wrong bearer token",
            ))
        }
    }
    let e = shared.engine();
    Ok(NodeStatus {
        stats: e.stats.clone(),
        evidence: e.evidence.len() as u64,
        peers: shared.peers(),
        url: shared.url().to_string(),
        halted: e.halted().map(str::to_string),
    })
}

/// `m::L2_GETCHAININFO`.
fn chain_info(shared: &Arc<Shared>) -> ChainInfo {
    let view = shared.view();
    let e = shared.engine();
    let chain = view.chain.as_ref();
    ChainInfo {
        chain_id: shared.cfg().chain_id,
        block_number: e.height(),
        block_hash: e.head().map(|h| h.hash()),
        state_root: e.tree().root(),
        sequencer: e.address(),
        l1_tip: view.tip,
        status: chain.map(|c| c.status.to_string()),
        anchored_l2_block: chain.map(|c| c.latest_l2_block),
        finalized_l2_block: chain.map(|c| c.finalized_l2_block),
        mempool_size: e.mempool.len() as u64,
        peers: shared.peers(),
    }
}

/// `m::L2_GETPROOF`.
fn get_proof(shared: &Arc<Shared>, q: m::ProofParams) -> Result<ProofAnswer, RpcError> {
    let a = q.address;
    let (state_root, block_number, finality, proof) = proof_at(shared, &a.tree_key(), q.at)?;
    let account = if matches!(finality, ProofFinality::Soft { .. }) {
        Overlay::new(shared.engine().tree()).account(&a).ok()
    } else {
        None
    };
    Ok(ProofAnswer {
        address: a,
        state_root,
        block_number,
        account,
        proof,
        finality,
    })
}

/// `m::L2_GETWITHDRAWALPROOF`.
fn withdrawal_proof(
    shared: &Arc<Shared>,
    q: m::WithdrawalProofParams,
) -> Result<WithdrawalProofAnswer, RpcError> {
    let id = q.withdrawal_id;
    let key = WithdrawalRecord::key_for(&id);
    let (state_root, block_number, finality, proof) = proof_at(shared, &key, q.at)?;
    let record = match &proof.value {
        Some(v) => Some(
            WithdrawalRecord::decode(v)
                .map_err(|e| RpcError::internal(format!("withdrawal record: {e}")))?,
        ),
        None => None,
    };
    Ok(WithdrawalProofAnswer {
        id,
        key,
        state_root,
        block_number,
        record,
        proof,
        finality,
    })
}

/// `m::L2_GETSHARE`.
fn get_share(shared: &Arc<Shared>, q: m::ShareParams) -> Result<ShareAnswer, RpcError> {
    if shared.withholds() {
        return Err(RpcError::new(
            -32011,
            "share withheld (this node runs --dishonest withhold)".to_string(),
        ));
    }
    let a = anchor(shared, q.anchor_index)?;
    let (row, column) = (q.row, q.column);
    let sq = square(shared, &a)?;
    let w = sq.width() as u64;
    if row >= w || column >= w {
        return Err(RpcError::params(format!(
            "share ({row}, {column}) is outside the {w}×{w} square"
        )));
    }
    let axis = q.axis.unwrap_or_default().into();
    let sample = sq
        .sample(row as usize, column as usize, axis)
        .ok_or_else(|| RpcError::internal("no sample".to_string()))?;
    Ok(ShareAnswer {
        index: a.index,
        data_root: a.data_root,
        sample,
    })
}

/// `m::L2_GETSEQUENCERS`.
fn sequencers(shared: &Arc<Shared>) -> Vec<SequencerEntry> {
    shared
        .view()
        .sequencers
        .iter()
        .map(|s| SequencerEntry {
            address: s.sequencer.address,
            stake: s.sequencer.stake,
            hat_score: s.hat_score,
            endpoint: s.sequencer.endpoint.clone(),
            status: s.sequencer.status,
            announced_at: s.sequencer.announced_at,
        })
        .collect()
}

/// `m::L2_GETLEADER`.
fn leader(shared: &Arc<Shared>) -> Result<LeaderAnswer, RpcError> {
    let view = shared.view();
    let mut e = shared.engine();
    let now = now_ms();
    let turn = e.leader(&view, now).map_err(engine_err)?;
    let (slot, election) = e.election(&view).map_err(engine_err)?;
    Ok(LeaderAnswer::new(e.height() + 1, &turn, &election, slot))
}

/// `POST /p2p/message`. The signature (`x-casl2-peer`) is checked before the body is parsed:
/// a message signed by a sequencer of the L1 registry goes on to the engine; any other costs
/// its sender's IP one unit of [`super::UNAUTHENTICATED_P2P_PER_SEC`] (over it: 429, unread)
/// and is refused (401) unless it is relayed transactions, which carry their users' own
/// signatures.
async fn handle_p2p(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match axum::body::to_bytes(body, MAX_P2P_BODY).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "message too large").into_response(),
    };
    let now = now_ms();
    let signer = match headers.get(PEER_AUTH_HEADER).map(|v| v.to_str()) {
        Some(Ok(h)) => check_peer_message(
            h,
            shared.cfg().chain_id,
            now,
            &bytes,
            &shared.registry_set(),
        ),
        Some(Err(_)) => Err(format!("{PEER_AUTH_HEADER} is not ASCII")),
        None => Err(format!("no {PEER_AUTH_HEADER} signature")),
    };
    if signer.is_err() {
        shared
            .metrics
            .unauthenticated
            .fetch_add(1, Ordering::Relaxed);
        if !shared.p2p_budget().take(from.ip(), 1, now / 1000) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "over this address's budget of unauthenticated peer messages",
            )
                .into_response();
        }
    }
    let msg: Outgoing = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad message: {e}")).into_response(),
    };
    if let Err(why) = signer {
        if !matches!(msg, Outgoing::Transactions { .. }) {
            return (
                StatusCode::UNAUTHORIZED,
                format!(
                    "peer message refused: {why} (only relayed transactions may come unsigned)"
                ),
            )
                .into_response();
        }
    }
    shared.metrics().messages_in.fetch_add(1, Ordering::Relaxed);
    let s = shared.clone();
    let res = tokio::task::spawn_blocking(move || handle_message(&s, msg)).await;
    match res {
        Ok(Ok(out)) => {
            broadcast(&shared, out);
            StatusCode::OK.into_response()
        }
        Ok(Err(e)) => {
            shared
                .metrics
                .invalid_messages
                .fetch_add(1, Ordering::Relaxed);
            (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn handle_block(State(shared): State<Arc<Shared>>, Path(n): Path<u64>) -> Response {
    match shared.engine().chain().block(n) {
        Ok(Some(b)) => Json(b).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no final block {n}")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn handle_batch_sign(
    State(shared): State<Arc<Shared>>,
    Json(req): Json<BatchSignRequest>,
) -> Response {
    // Answer only a poster of the L1 set, proven by its own signature of the header.
    let poster = req.header.sequencer_address;
    let set = shared.registry_set();
    let sig = &req.poster_signature;
    let authentic = sig.sequencer == poster
        && set
            .get(&poster)
            .is_some_and(|m| sig.verify(&req.header.hash(), &m.public_key).is_ok());
    if !authentic {
        shared
            .metrics
            .invalid_messages
            .fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::FORBIDDEN,
            format!(
                "posterSignature is not a valid signature of the header by its poster {poster}, \
                 a sequencer of the L1 set"
            ),
        )
            .into_response();
    }
    // Sign only a batch that continues what L1 anchored.
    let info = shared.view().chain;
    if info.as_ref().map(|c| c.latest_state_root) != Some(req.pre_state_root) {
        return (
            StatusCode::CONFLICT,
            "preStateRoot is not L1's latest anchored root",
        )
            .into_response();
    }
    match shared
        .engine()
        .sign_batch(&req.header, req.pre_state_root, info.as_ref())
    {
        Ok(s) => Json(s).into_response(),
        Err(e) => (StatusCode::CONFLICT, e.to_string()).into_response(),
    }
}
