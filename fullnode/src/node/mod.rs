//! The L2 node (`casl2 node`): a sequencer or a follower of one L2 chain.
//!
//! A **sequencer** (configured with a key) announces itself on L1 with its stake if it is not
//! registered yet, takes part in leader election and consensus, produces blocks when it leads,
//! and posts batches to L1. A **follower** (no key) verifies every final block — its quorum
//! signatures and its re-execution — and serves RPC.
//!
//! The pieces: [`engine::Engine`] (the deterministic core: chain, state, mempool, consensus
//! round), [`l1view::L1View`] (what the node knows of L1), [`chain::ChainStore`] (redb),
//! [`mempool::Mempool`], [`peer::PeerTransport`] (how sequencers reach each other), the HTTP
//! server ([`rpc`]: JSON-RPC 2.0 on `POST /`, peer messages on `POST /p2p/message`,
//! `GET /p2p/block/{n}`, `POST /p2p/batch-sign`, and `GET /metrics` from [`metrics`]), and the
//! background tasks started by [`Node::start`] (in [`task`], each owning its state): the L1
//! poller, the consensus ticker, the catch-up sync, the batcher, the defence in games and the
//! availability answers. [`Misbehaviour`] is the one hook through which demos make a node lie.

pub mod chain;
pub mod cvm_rpc;
pub mod engine;
pub mod l1view;
pub mod mempool;
pub mod metrics;
pub mod misbehaviour;
pub mod peer;
pub mod rpc;
pub mod task;

pub use misbehaviour::Misbehaviour;
pub use peer::{BatchSignRequest, PeerFilter};
pub use task::consensus::{broadcast, handle_message};

use crate::RedbNodeStore;
use casl2_lightclient::endpoint::{AnyL1, Role};
use casl2_lightclient::l1::L1Client;
use casl2_verifier::da::ExtendedSquare;
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::{L2Transaction, PrivateKey, H256};
use chain::ChainStore;
use engine::Engine;
use l1view::L1View;
use mempool::MempoolConfig;
use peer::{HttpPeers, PeerTransport};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
    /// RPC requests per second the server answers each client (an IP address, an IPv6 /64);
    /// each request of a batch counts.
    pub rpc_rate_limit: u64,
    /// Peer message filter (tests).
    pub filter: Option<PeerFilter>,
    /// How the node deviates from the protocol (demos and tests of the fraud proofs: the
    /// harness's `Dishonest`); `None`, the default, is the honest node.
    pub misbehaviour: Option<Arc<dyn Misbehaviour>>,
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
            misbehaviour: None,
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Storage could not be opened.
    #[error("node storage: {0}")]
    Storage(String),
    /// The L1 URL is not of a known form, or its L1 lacks an RPC the node needs.
    #[error("--l1: {0}")]
    L1(String),
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
    /// Peer messages without a valid signature of a registry sequencer (refused unless they
    /// are relayed transactions; each costs its sender's IP budget).
    pub unauthenticated: AtomicU64,
    /// Fraud-proof game moves this node sent in defence of its anchors.
    pub game_moves: AtomicU64,
}

/// Unauthenticated peer messages (relayed transactions from followers, and junk) accepted
/// per client IP per second; beyond it they are refused (HTTP 429) before they are parsed.
pub const UNAUTHENTICATED_P2P_PER_SEC: u64 = 200;

/// What the tasks and handlers share: the configuration, the engine, the L1 view and client,
/// the peers, the counters, and the RPC server's small caches. Each background task keeps its
/// own state (see [`task`]).
pub struct Shared {
    cfg: NodeConfig,
    url: String,
    engine: Mutex<Engine>,
    view: RwLock<L1View>,
    l1: AnyL1,
    peers: Arc<dyn PeerTransport>,
    metrics: NodeMetrics,
    /// RPC rate limiter, per client.
    rate: crate::ratelimit::PerClient,
    /// Budget of unauthenticated peer messages, per client.
    p2p_budget: crate::ratelimit::PerClient,
    /// Extended DA squares of recently served anchors: (anchor index, data root, square).
    squares: Mutex<Vec<SquareEntry>>,
    /// Transactions admitted over RPC, relayed to the peers by the next consensus tick.
    relay: Mutex<Vec<L2Transaction>>,
}

/// A cached extended DA square: (anchor index, data root, square).
pub type SquareEntry = (u64, H256, Arc<ExtendedSquare>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn unpoisoned<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// The configuration.
    pub fn cfg(&self) -> &NodeConfig {
        &self.cfg
    }

    /// This node's URL (with a trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Lock the engine (a poisoned lock is taken over: the engine's state is in its stores).
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        unpoisoned(&self.engine)
    }

    /// A copy of the L1 view.
    pub fn view(&self) -> L1View {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The L1 registry's active sequencers (`L1View::set_at(None)`), read without copying the
    /// view: the peer endpoint checks every message's signer against it.
    pub fn registry_set(&self) -> casl2_verifier::consensus::SequencerSet {
        self.view
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .set_at(None)
    }

    /// Replace the L1 view (the L1 poller).
    pub fn set_view(&self, v: L1View) {
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = v;
    }

    /// The L1 client.
    pub fn l1(&self) -> &AnyL1 {
        &self.l1
    }

    /// How this node reaches its peers.
    pub fn transport(&self) -> &dyn PeerTransport {
        self.peers.as_ref()
    }

    /// The counters.
    pub fn metrics(&self) -> &NodeMetrics {
        &self.metrics
    }

    /// The RPC rate limiter (per client).
    pub fn rate(&self) -> &crate::ratelimit::PerClient {
        &self.rate
    }

    /// The budget of unauthenticated peer messages (per client).
    pub fn p2p_budget(&self) -> &crate::ratelimit::PerClient {
        &self.p2p_budget
    }

    /// The cache of extended DA squares the RPC server built (newest last).
    pub fn squares(&self) -> MutexGuard<'_, Vec<SquareEntry>> {
        unpoisoned(&self.squares)
    }

    /// Queue `tx`, admitted over RPC, for relay to the peers by the next consensus tick.
    pub fn relay(&self, tx: L2Transaction) {
        unpoisoned(&self.relay).push(tx);
    }

    /// Take the transactions queued for relay.
    pub fn take_relay(&self) -> Vec<L2Transaction> {
        std::mem::take(&mut *unpoisoned(&self.relay))
    }

    /// Whether this node withholds its batches' data now (only ever with a
    /// [`Misbehaviour`] that says so).
    pub fn withholds(&self) -> bool {
        self.cfg.misbehaviour.as_ref().is_some_and(|m| {
            let v = self.view.read().unwrap_or_else(|p| p.into_inner());
            v.chain.as_ref().is_some_and(|info| m.withholds(info))
        })
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

    /// Sign `op` with `key` at its next L1 nonce and send it to L1 (a failed send is counted).
    pub async fn send_l1(&self, key: &PrivateKey, op: L1Op) -> Result<H256, String> {
        let acct = self
            .l1
            .account(&key.address())
            .await
            .map_err(|e| e.to_string())?;
        let tx = L1Tx::signed(key, acct.next_nonce, op).map_err(|e| e.to_string())?;
        self.l1.send_transaction(&tx).await.map_err(|e| {
            self.metrics.l1_errors.fetch_add(1, Ordering::Relaxed);
            e.to_string()
        })
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
        let l1 = AnyL1::from_url(&cfg.l1_url).map_err(NodeError::L1)?;
        l1.check_role(Role::Node).map_err(NodeError::L1)?;
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| NodeError::Storage(e.to_string()))?;
        let tree = RedbNodeStore::open(&cfg.data_dir.join("state.redb"))
            .map_err(|e| NodeError::Storage(e.to_string()))?;
        let chain = ChainStore::open(&cfg.data_dir.join("chain.redb"))
            .map_err(|e| NodeError::Storage(e.to_string()))?;
        let mut engine = Engine::open(
            cfg.chain_id,
            cfg.key.clone(),
            tree,
            chain,
            cfg.mempool,
            cfg.max_block_txs,
        )
        .map_err(|e| NodeError::Storage(e.to_string()))?;
        engine.set_misbehaviour(cfg.misbehaviour.clone());
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
        let peers = HttpPeers::new(cfg.filter.clone())
            .map_err(|e| NodeError::Storage(format!("HTTP client: {e}")))?;
        let rate_limit = cfg.rpc_rate_limit;
        let shared = Arc::new(Shared {
            l1,
            cfg,
            url,
            engine: Mutex::new(engine),
            view: RwLock::new(L1View::default()),
            peers: Arc::new(peers),
            metrics: NodeMetrics::default(),
            rate: crate::ratelimit::PerClient::new(rate_limit),
            p2p_budget: crate::ratelimit::PerClient::new(UNAUTHENTICATED_P2P_PER_SEC),
            relay: Mutex::new(Vec::new()),
            squares: Mutex::new(Vec::new()),
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        {
            let app = rpc::router(shared.clone());
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let app = app.into_make_service_with_connect_info::<SocketAddr>();
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
        tasks.extend(task::spawn_all(&shared, &stop_rx));
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
