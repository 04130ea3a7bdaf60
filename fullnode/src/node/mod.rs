//! The L2 node (`casl2 node`): a sequencer or a follower of one L2 chain.
//!
//! A **sequencer** (configured with a key) announces itself on L1 with its stake if it is not
//! registered yet, takes part in leader election and consensus, produces blocks when it leads,
//! and posts batches to L1. A **follower** (no key) verifies every final block — its quorum
//! signatures and its re-execution — and serves RPC.
//!
//! The pieces: [`engine::Engine`] (the deterministic core: chain, state, mempool, consensus
//! round), [`l1view::L1View`] (what the node knows of L1), [`chain::ChainStore`] (redb),
//! [`mempool::Mempool`], the HTTP server ([`rpc`]: JSON-RPC 2.0 on `POST /`, peer messages on
//! `POST /p2p/message`, `GET /p2p/block/{n}`, `POST /p2p/batch-sign`, and `GET /metrics`), and
//! the background tasks started by [`Node::start`]: the L1 poller, the consensus ticker, the
//! catch-up sync and the batcher.

pub mod chain;
pub mod cvm_rpc;
pub mod dishonest;
pub mod engine;
pub mod l1view;
pub mod mempool;
pub mod rpc;

use crate::RedbNodeStore;
use casl2_lightclient::l1::{DevnetClient, L1Client};
use casl2_verifier::consensus::quorum_reached;
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::{BlockSignature, PrivateKey};
use chain::ChainStore;
use engine::{Engine, EngineError, Outgoing};
use l1view::L1View;
use mempool::MempoolConfig;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Decides whether a peer message from this node to `to_url` is delivered (tests use it to cut
/// the network; `None` delivers everything).
pub type PeerFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// How to run a node.
#[derive(Clone)]
pub struct NodeConfig {
    /// Where the databases live (created if missing).
    pub data_dir: PathBuf,
    /// The L2 chain id.
    pub chain_id: u64,
    /// The L1's JSON-RPC URL (the devnet: `http://127.0.0.1:18545/`).
    pub l1_url: String,
    /// Address to listen on (RPC and peer messages).
    pub listen: SocketAddr,
    /// URL peers reach this node at (announced on L1); default `http://<listen>/`.
    pub public_url: Option<String>,
    /// The sequencer key (`None`: a follower).
    pub key: Option<PrivateKey>,
    /// Stake to announce with when the key is not registered on L1 (`None`: do not announce).
    pub announce_stake: Option<i64>,
    /// Extra peers (URLs), besides the sequencers' announced endpoints.
    pub peers: Vec<String>,
    /// Token for the `admin_*` RPC methods (`None`: admin methods are off).
    pub admin_token: Option<String>,
    /// Mempool limits.
    pub mempool: MempoolConfig,
    /// Most transactions per block.
    pub max_block_txs: usize,
    /// L1 poll interval (ms).
    pub l1_poll_ms: u64,
    /// RPC requests per second the server answers (all clients together).
    pub rpc_rate_limit: u64,
    /// Peer message filter (tests).
    pub filter: Option<PeerFilter>,
    /// Post bad batches (tests and demos; only ever applied on a chain with regtest
    /// parameters). See [`dishonest`].
    pub dishonest: Option<dishonest::Dishonest>,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("data_dir", &self.data_dir)
            .field("chain_id", &self.chain_id)
            .field("l1_url", &self.l1_url)
            .field("listen", &self.listen)
            .field("sequencer", &self.key.as_ref().map(PrivateKey::address))
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl NodeConfig {
    /// A follower of `chain_id` on the L1 at `l1_url`, listening on `listen`, with defaults.
    pub fn new(data_dir: PathBuf, chain_id: u64, l1_url: String, listen: SocketAddr) -> Self {
        NodeConfig {
            data_dir,
            chain_id,
            l1_url,
            listen,
            public_url: None,
            key: None,
            announce_stake: None,
            peers: Vec::new(),
            admin_token: None,
            mempool: MempoolConfig::default(),
            max_block_txs: 2_000,
            l1_poll_ms: 200,
            rpc_rate_limit: 5_000,
            filter: None,
            dishonest: None,
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Storage could not be opened.
    #[error("node storage: {0}")]
    Storage(String),
    /// The listen address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// Node counters for `/metrics` besides the engine's.
#[derive(Debug, Default)]
pub struct NodeMetrics {
    /// Batches this node posted to L1.
    pub batches_posted: AtomicU64,
    /// L1 transactions that failed to send.
    pub l1_errors: AtomicU64,
    /// Peer messages received.
    pub messages_in: AtomicU64,
    /// Peer messages sent.
    pub messages_out: AtomicU64,
    /// RPC requests answered.
    pub rpc_requests: AtomicU64,
    /// Consensus messages refused as invalid.
    pub invalid_messages: AtomicU64,
    /// Fraud-proof game moves this node sent in defence of its anchors.
    pub game_moves: AtomicU64,
}

/// What the tasks and handlers share.
pub struct Shared {
    /// The configuration.
    pub cfg: NodeConfig,
    /// This node's URL.
    pub url: String,
    /// The core.
    pub engine: Mutex<Engine>,
    /// The L1 view.
    pub view: RwLock<L1View>,
    /// The L1 client.
    pub l1: DevnetClient,
    /// HTTP client for peers.
    pub http: reqwest::Client,
    /// Counters.
    pub metrics: NodeMetrics,
    /// The batch in flight: (end block, since ms).
    pub batch_inflight: Mutex<Option<(u64, u64)>>,
    /// RPC rate limiter: (second, count).
    pub rate: Mutex<(u64, u64)>,
    /// Extended DA squares of recently served anchors: (anchor index, data root, square).
    pub squares: Mutex<
        Vec<(
            u64,
            casl2_verifier::H256,
            Arc<casl2_verifier::da::ExtendedSquare>,
        )>,
    >,
    /// Double-sign evidence ids this node already reported to L1.
    pub reported: Mutex<std::collections::BTreeSet<casl2_verifier::H256>>,
    /// Transactions admitted over RPC, relayed to the peers by the next consensus tick.
    pub relay: Mutex<Vec<casl2_verifier::L2Transaction>>,
    /// The state rebuilt from L1 to defend this node's anchors in games (built when the first
    /// game against it opens).
    pub defence: Mutex<Option<Defence>>,
    /// Availability challenges this node answered, with the L1 tip when it sent the answer (a
    /// challenge still open 5 blocks later is answered again).
    pub answered: Mutex<std::collections::HashMap<u64, u64>>,
}

/// What a sequencer needs to defend its anchors (the watcher's game player over an in-memory
/// replica of the chain rebuilt from L1).
pub type Defence = casl2_lightclient::watcher::Defence<casl2_verifier::smt::MemoryStore>;

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Lock the engine (a poisoned lock is taken over: the engine's state is in its stores).
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the L1 view.
    pub fn view(&self) -> L1View {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the peer filter lets a message to `url` through.
    pub fn delivers(&self, url: &str) -> bool {
        self.cfg.filter.as_ref().is_none_or(|f| f(url))
    }

    /// The peers to send to: announced endpoints and configured peers, without this node.
    pub fn peers(&self) -> Vec<String> {
        let v = self.view.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<String> = v
            .sequencers
            .iter()
            .map(|s| s.sequencer.endpoint.clone())
            .chain(self.cfg.peers.iter().cloned())
            .filter(|u| !u.is_empty())
            .map(|u| normalize_url(&u))
            .filter(|u| *u != self.url)
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// `u` with a trailing slash.
pub fn normalize_url(u: &str) -> String {
    if u.ends_with('/') {
        u.to_string()
    } else {
        format!("{u}/")
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its shared state.
    pub shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Node {
    /// Open the node's databases, bind its server and start its tasks on the current tokio
    /// runtime.
    pub async fn start(cfg: NodeConfig) -> Result<Node, NodeError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| NodeError::Storage(e.to_string()))?;
        let tree = RedbNodeStore::open(&cfg.data_dir.join("state.redb"))
            .map_err(|e| NodeError::Storage(e.to_string()))?;
        let chain = ChainStore::open(&cfg.data_dir.join("chain.redb"))
            .map_err(|e| NodeError::Storage(e.to_string()))?;
        let engine = Engine::open(
            cfg.chain_id,
            cfg.key.clone(),
            tree,
            chain,
            cfg.mempool,
            cfg.max_block_txs,
        )
        .map_err(|e| NodeError::Storage(e.to_string()))?;
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| NodeError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| NodeError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let url = normalize_url(
            &cfg.public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}/")),
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(4)
            .build()
            .map_err(|e| NodeError::Storage(format!("HTTP client: {e}")))?;
        let shared = Arc::new(Shared {
            l1: DevnetClient::new(cfg.l1_url.clone()),
            cfg,
            url,
            engine: Mutex::new(engine),
            view: RwLock::new(L1View::default()),
            http,
            metrics: NodeMetrics::default(),
            batch_inflight: Mutex::new(None),
            rate: Mutex::new((0, 0)),
            relay: Mutex::new(Vec::new()),
            reported: Mutex::new(Default::default()),
            squares: Mutex::new(Vec::new()),
            defence: Mutex::new(None),
            answered: Mutex::new(Default::default()),
        });
        shared.engine().dishonest = shared.cfg.dishonest;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        {
            let app = rpc::router(shared.clone());
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        while !*rx.borrow() {
                            if rx.changed().await.is_err() {
                                break;
                            }
                        }
                    })
                    .await;
            }));
        }
        tasks.push(spawn_loop(
            shared.clone(),
            stop_rx.clone(),
            shared.cfg.l1_poll_ms,
            poll_l1,
        ));
        tasks.push(spawn_loop(
            shared.clone(),
            stop_rx.clone(),
            20,
            consensus_tick,
        ));
        tasks.push(spawn_loop(
            shared.clone(),
            stop_rx.clone(),
            300,
            sync_from_peers,
        ));
        if shared.cfg.key.is_some() {
            tasks.push(spawn_loop(
                shared.clone(),
                stop_rx.clone(),
                250,
                run_batcher,
            ));
            tasks.push(spawn_loop(shared.clone(), stop_rx.clone(), 400, defend));
            tasks.push(spawn_loop(
                shared.clone(),
                stop_rx.clone(),
                400,
                answer_availability,
            ));
        }
        Ok(Node {
            addr,
            shared,
            stop,
            tasks,
        })
    }

    /// This node's URL.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// Stop every task and wait for them (the databases close when the last handle drops).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

/// A task body run on every tick.
type TaskFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
type LoopFn = fn(Arc<Shared>) -> TaskFuture;

fn spawn_loop(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    every_ms: u64,
    f: LoopFn,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(every_ms.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopped = tokio::select! {
                r = stop.changed() => r.is_err() || *stop.borrow(),
                _ = tick.tick() => false,
            };
            if stopped || *stop.borrow() {
                return;
            }
            f(shared.clone()).await;
        }
    })
}

fn log(msg: &str) {
    if std::env::var_os("CASL2_LOG").is_some() {
        eprintln!("[{}] casl2 node: {msg}", now_ms());
    }
}

/// Refresh the L1 view; announce this sequencer if configured and not registered yet.
fn poll_l1(shared: Arc<Shared>) -> TaskFuture {
    Box::pin(async move {
        let old = shared.view();
        match old.refresh(&shared.l1, shared.cfg.chain_id).await {
            Ok(v) => {
                let announce = match (&shared.cfg.key, shared.cfg.announce_stake, &v.chain) {
                    (Some(k), Some(stake), Some(_)) => (!v
                        .sequencers
                        .iter()
                        .any(|s| s.sequencer.address == k.address()))
                    .then(|| (k.clone(), stake)),
                    _ => None,
                };
                if v.chain.is_some() {
                    if let Err(e) = shared.engine().revert_to_l1(&v) {
                        log(&format!("checking the chain against L1: {e}"));
                    }
                }
                *shared.view.write().unwrap_or_else(|p| p.into_inner()) = v;
                report_double_signs(&shared).await;
                if let Some((k, stake)) = announce {
                    let op = L1Op::AnnounceSequencer {
                        chain: shared.cfg.chain_id,
                        stake,
                        endpoint: shared.url.clone(),
                    };
                    if let Err(e) = send_l1(&shared, &k, op).await {
                        log(&format!("announce: {e}"));
                    }
                }
            }
            Err(e) => log(&format!("L1 poll: {e}")),
        }
    })
}

/// Post the double-sign evidence this node saw to L1 (`L1Op::ReportDoubleSign`), once each.
async fn report_double_signs(shared: &Arc<Shared>) {
    let Some(key) = shared.cfg.key.clone() else {
        return;
    };
    let fresh: Vec<_> = {
        let e = shared.engine();
        let done = shared.reported.lock().unwrap_or_else(|p| p.into_inner());
        e.evidence
            .iter()
            .filter(|ev| !done.contains(&ev.id()))
            .cloned()
            .collect()
    };
    for ev in fresh {
        let id = ev.id();
        let op = L1Op::ReportDoubleSign {
            chain: shared.cfg.chain_id,
            evidence: Box::new(ev),
        };
        match send_l1(shared, &key, op).await {
            Ok(_) => log(&format!("reported double sign {id} to L1")),
            Err(e) => log(&format!("reporting double sign {id}: {e}")),
        }
        shared
            .reported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
    }
}

async fn send_l1(
    shared: &Shared,
    key: &PrivateKey,
    op: L1Op,
) -> Result<casl2_verifier::H256, String> {
    let acct = shared
        .l1
        .account(&key.address())
        .await
        .map_err(|e| e.to_string())?;
    let tx = L1Tx::signed(key, acct.next_nonce, op).map_err(|e| e.to_string())?;
    shared.l1.send_transaction(&tx).await.map_err(|e| {
        shared.metrics.l1_errors.fetch_add(1, Ordering::Relaxed);
        e.to_string()
    })
}

/// Send `msgs` to every peer (fire and forget, each with a timeout).
pub fn broadcast(shared: &Arc<Shared>, msgs: Vec<Outgoing>) {
    if msgs.is_empty() {
        return;
    }
    let peers = shared.peers();
    for m in msgs {
        let body = match serde_json::to_vec(&m) {
            Ok(b) => b,
            Err(_) => continue,
        };
        for p in &peers {
            if !shared.delivers(p) {
                continue;
            }
            let s = shared.clone();
            let url = format!("{p}p2p/message");
            let body = body.clone();
            s.metrics.messages_out.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let _ = s
                    .http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
            });
        }
    }
}

/// Handle one peer message; returns what to send on.
pub fn handle_message(shared: &Arc<Shared>, msg: Outgoing) -> Result<Vec<Outgoing>, EngineError> {
    let view = shared.view();
    let now = now_ms();
    let mut e = shared.engine();
    let mut out = match msg {
        Outgoing::Proposal { block } => e.on_proposal(&view, *block, now)?,
        Outgoing::Vote {
            height,
            vote,
            signature,
        } => e.on_vote(&view, vote, signature, height, now)?,
        Outgoing::Commit { block } => {
            e.on_commit(&view, *block, now)?;
            Vec::new()
        }
        Outgoing::Transactions { txs } => {
            // Relayed once by the node that took them; not relayed further. A refusal (a
            // duplicate, a nonce already used here) is normal and not an error of the sender.
            for tx in txs {
                let _ = e.submit(tx);
            }
            Vec::new()
        }
    };
    out.extend(e.replay_future(&view, now));
    Ok(out)
}

fn consensus_tick(shared: Arc<Shared>) -> TaskFuture {
    Box::pin(async move {
        let view = shared.view();
        if view.chain.is_none() {
            return;
        }
        let mut out = {
            let mut e = shared.engine();
            let now = now_ms();
            let mut out = match e.tick(&view, now) {
                Ok(o) => o,
                Err(EngineError::NotYet(_)) => Vec::new(),
                Err(err) => {
                    log(&format!("tick: {err}"));
                    Vec::new()
                }
            };
            out.extend(e.replay_future(&view, now));
            out.extend(e.rebroadcast(now));
            out
        };
        let relay = std::mem::take(&mut *shared.relay.lock().unwrap_or_else(|p| p.into_inner()));
        for chunk in relay.chunks(1_000) {
            out.push(Outgoing::Transactions {
                txs: chunk.to_vec(),
            });
        }
        broadcast(&shared, out);
    })
}

/// Fetch final blocks this node lacks from any peer that has them.
fn sync_from_peers(shared: Arc<Shared>) -> TaskFuture {
    Box::pin(async move {
        let view = shared.view();
        if view.chain.is_none() {
            return;
        }
        for p in shared.peers() {
            if !shared.delivers(&p) {
                continue;
            }
            let mine = shared.engine().height();
            let theirs: Option<u64> =
                rpc::call_peer(&shared.http, &p, "l2_blocknumber", serde_json::json!([]))
                    .await
                    .ok()
                    .and_then(|v| v.as_u64());
            let Some(theirs) = theirs else { continue };
            if theirs <= mine {
                continue;
            }
            for n in (mine + 1)..=theirs.min(mine + 200) {
                let url = format!("{p}p2p/block/{n}");
                let Ok(resp) = shared.http.get(&url).send().await else {
                    break;
                };
                let Ok(block) = resp.json::<casl2_verifier::L2Block>().await else {
                    break;
                };
                let res = {
                    let mut e = shared.engine();
                    e.on_commit(&view, block, now_ms())
                };
                if let Err(err) = res {
                    log(&format!("sync block {n} from {p}: {err}"));
                    break;
                }
            }
        }
    })
}

/// When this node leads, anchor the next batch: collect signatures from peers and post it.
fn run_batcher(shared: Arc<Shared>) -> TaskFuture {
    Box::pin(async move {
        let Some(key) = shared.cfg.key.clone() else {
            return;
        };
        let view = shared.view();
        let Some(info) = view.chain.clone() else {
            return;
        };
        let now = now_ms();
        {
            let mut inflight = shared
                .batch_inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some((end, since)) = *inflight {
                if info.latest_l2_block >= end || now > since + 15_000 {
                    *inflight = None;
                } else {
                    return;
                }
            }
        }
        let plan = {
            let mut e = shared.engine();
            match e.leader(&view, now) {
                Ok(t) if t.leader == key.address() => {}
                _ => return,
            }
            match e.plan_batch(&view, key.address(), now, 2_000) {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(err) => {
                    log(&format!("batch: {err}"));
                    return;
                }
            }
        };
        // Signatures: this node's own, then the peers'.
        let hash = plan.header.hash();
        let mut sigs: Vec<BlockSignature> = Vec::new();
        if let Ok(s) = shared
            .engine()
            .sign_batch(&plan.header, info.latest_state_root, Some(&info))
        {
            sigs.push(s);
        }
        let req =
            serde_json::json!({ "header": plan.header, "preStateRoot": info.latest_state_root });
        for p in shared.peers() {
            if !shared.delivers(&p) {
                continue;
            }
            let url = format!("{p}p2p/batch-sign");
            if let Ok(resp) = shared.http.post(&url).json(&req).send().await {
                if let Ok(s) = resp.json::<BlockSignature>().await {
                    sigs.push(s);
                }
            }
        }
        // Keep valid signatures of L1-active sequencers and check the L1's quorum rule.
        let set = view.set_at(None);
        sigs.retain(|s| {
            set.get(&s.sequencer)
                .is_some_and(|m| s.verify(&hash, &m.public_key).is_ok())
        });
        sigs.sort_by_key(|s| s.sequencer);
        sigs.dedup_by_key(|s| s.sequencer);
        let signed: u128 = sigs.iter().map(|s| set.weight_of(&s.sequencer)).sum();
        if !quorum_reached(
            signed,
            set.total_weight(),
            info.params.consensus_threshold_pct,
        ) {
            log(&format!(
                "batch {}..={}: signatures of weight {signed} of {}, no quorum yet",
                plan.header.start_block,
                plan.header.end_block,
                set.total_weight()
            ));
            return;
        }
        let end = plan.header.end_block;
        let op = L1Op::PostBatch {
            chain: shared.cfg.chain_id,
            header: plan.header,
            commitment: plan.commitment,
            payload: plan.payload,
            signatures: sigs,
        };
        match send_l1(&shared, &key, op).await {
            Ok(_) => {
                shared
                    .metrics
                    .batches_posted
                    .fetch_add(1, Ordering::Relaxed);
                *shared
                    .batch_inflight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some((end, now));
            }
            Err(e) => log(&format!("post batch: {e}")),
        }
    })
}

/// Defend this node's anchors: in every open game where it is the defender, reveal its roots
/// (its trace from the state rebuilt from L1), and claim the challenger's timeouts. The moves
/// are the watcher's game player's ([`Defence`]); a dishonest node defends its lie.
fn defend(shared: Arc<Shared>) -> TaskFuture {
    Box::pin(async move {
        let Some(key) = shared.cfg.key.clone() else {
            return;
        };
        let me = key.address();
        let chain = shared.cfg.chain_id;
        let games = match shared.l1.games(chain, true).await {
            Ok(g) => g,
            Err(e) => {
                log(&format!("games: {e}"));
                return;
            }
        };
        let mine: Vec<_> = games.into_iter().filter(|g| g.defender == me).collect();
        if mine.is_empty() {
            return;
        }
        let Ok(tip) = shared.l1.tip_height().await else {
            return;
        };
        let taken = shared
            .defence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let mut d = match taken {
            Some(mut d) => match d.refresh(&shared.l1).await {
                Ok(()) => d,
                Err(e) => {
                    log(&format!("defence: {e}"));
                    *shared.defence.lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
                    return;
                }
            },
            None => {
                let store = casl2_verifier::smt::MemoryStore::new();
                match Defence::open(&shared.l1, chain, store).await {
                    Ok(d) => d,
                    Err(e) => return log(&format!("defence: {e}")),
                }
            }
        };
        // A batch this node rewrote is defended with the lie it anchored.
        let lie = shared.cfg.dishonest.map(|x| {
            move |trace: &[casl2_verifier::H256], batch: &casl2_verifier::fraud::BatchData| {
                x.lying_trace(trace, &batch.blocks)
            }
        });
        let lie = lie
            .as_ref()
            .map(|f| f as casl2_lightclient::watcher::LyingTrace<'_>);
        let ops = match d.moves(&mine, &me, tip, lie) {
            Ok((ops, failures)) => {
                for f in failures {
                    log(&format!("defence of {f}"));
                }
                ops
            }
            Err(e) => {
                log(&format!("defence: replaying L1: {e}"));
                Vec::new()
            }
        };
        *shared.defence.lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
        for op in ops {
            match send_l1(&shared, &key, op).await {
                Ok(_) => {
                    shared.metrics.game_moves.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => log(&format!("game move: {e}")),
            }
        }
    })
}

/// Answer the availability challenges on anchors this node posted or signed: publish the asked
/// shares, built from the anchor's payload on L1, before the deadline; claim the timeouts of
/// challenges whose anchor is gone. A node run with `--dishonest withhold` does not answer.
fn answer_availability(shared: Arc<Shared>) -> TaskFuture {
    Box::pin(async move {
        let Some(key) = shared.cfg.key.clone() else {
            return;
        };
        let me = key.address();
        let chain = shared.cfg.chain_id;
        let withholding = shared.cfg.dishonest.is_some_and(|d| {
            let v = shared.view.read().unwrap_or_else(|p| p.into_inner());
            v.chain.as_ref().is_some_and(|info| d.withholds(info))
        });
        if withholding {
            return;
        }
        let open = match shared.l1.availability_challenges(chain, true).await {
            Ok(c) => c,
            Err(e) => return log(&format!("availability challenges: {e}")),
        };
        if open.is_empty() {
            return;
        }
        let Ok(tip) = shared.l1.tip_height().await else {
            return;
        };
        for c in open {
            let sent = shared
                .answered
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&c.id)
                .copied();
            if sent.is_some_and(|t| tip < t + 5) {
                continue;
            }
            let anchor = match shared.l1.anchors_window(chain, c.anchor, 1).await {
                Ok(v) => v.into_iter().next(),
                Err(e) => return log(&format!("availability challenge {}: {e}", c.id)),
            };
            let Some(a) = anchor.filter(|a| a.batch_hash == c.batch_hash) else {
                continue;
            };
            if a.poster != me && !a.signers.contains(&me) {
                continue;
            }
            let samples = match casl2_verifier::l1::answer_samples(&a, &c.positions) {
                Ok(s) => s,
                Err(e) => {
                    log(&format!("availability challenge {}: {e}", c.id));
                    continue;
                }
            };
            let op = casl2_verifier::l1::L1Op::AnswerAvailability { id: c.id, samples };
            match send_l1(&shared, &key, op).await {
                Ok(_) => {
                    shared
                        .answered
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(c.id, tip);
                    log(&format!(
                        "answered availability challenge {} on anchor {} ({} shares)",
                        c.id,
                        c.anchor,
                        c.positions.len()
                    ));
                }
                Err(e) => log(&format!("availability answer {}: {e}", c.id)),
            }
        }
    })
}

/// A batch-signing request between sequencers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSignRequest {
    /// The header to sign.
    pub header: casl2_verifier::BatchHeader,
    /// L1's latest anchored root the batch continues.
    pub pre_state_root: casl2_verifier::H256,
}
