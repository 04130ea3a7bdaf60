//! A whole network on one machine: the devnet L1 in-process with its JSON-RPC server and miner,
//! one L2 chain registered on it, and N sequencer nodes, all on 127.0.0.1. The end-to-end tests
//! and `casl2 devnet` run on it.
//!
//! Set-up on a new data directory, in one L1 block: dev key 0 registers the chain (genesis =
//! the empty state), the authority gives each sequencer key (dev keys 1..=N) its HAT score,
//! and each announces itself with its stake and endpoint. A reused directory keeps its L1
//! chain, its registration and every node's databases.

use crate::devnet::rpc::{mine_every, now_secs, serve, SharedDevnet};
use crate::devnet::{authority_key, dev_key, Devnet, DevnetConfig, DevnetError};
use crate::node::{Node, NodeConfig, NodeError};
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::empty_root;
use casl2_verifier::{PrivateKey, H256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How to lay out a local network.
#[derive(Debug, Clone)]
pub struct LocalNetConfig {
    /// Root directory (`l1/` and `node-<i>/` below it).
    pub data_dir: PathBuf,
    /// Number of sequencers.
    pub sequencers: usize,
    /// The L2 chain id.
    pub chain_id: u64,
    /// The chain's parameters (registered on a new L1).
    pub params: ChainParams,
    /// L1 block interval (ms).
    pub l1_block_ms: u64,
    /// Port of the L1 RPC (0: any free port).
    pub l1_port: u16,
    /// HAT score given to each sequencer.
    pub hat_score: u32,
    /// Stake of each sequencer.
    pub stake: i64,
    /// Every sequencer posts this kind of bad batch (they collude; regtest only).
    pub dishonest: Option<super::dishonest::Dishonest>,
    /// Every sequencer censors (used when `dishonest` is `None`).
    pub censor: Option<super::censor::Censor>,
}

impl LocalNetConfig {
    /// `sequencers` sequencers of chain 1 under `data_dir`, regtest parameters with a 3 s
    /// leader timeout, 1 s L1 blocks.
    pub fn new(data_dir: PathBuf, sequencers: usize) -> Self {
        let mut params = ChainParams::for_network(Network::Regtest);
        params.leader_timeout_ms = 3_000;
        LocalNetConfig {
            data_dir,
            sequencers,
            chain_id: 1,
            params,
            l1_block_ms: 1_000,
            l1_port: 0,
            hat_score: 80,
            stake: 100 * COIN,
            dishonest: None,
            censor: None,
        }
    }
}

/// Why the local network could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalNetError {
    /// The L1 failed.
    #[error(transparent)]
    L1(#[from] DevnetError),
    /// A node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Binding a port failed.
    #[error("binding 127.0.0.1: {0}")]
    Io(#[from] std::io::Error),
}

/// A running local network.
#[derive(Debug)]
pub struct LocalNet {
    /// The L1 RPC URL.
    pub l1_url: String,
    /// The L1.
    pub l1: SharedDevnet,
    /// The nodes (`None` while stopped).
    pub nodes: Vec<Option<Node>>,
    /// The node configurations.
    pub configs: Vec<NodeConfig>,
    /// The sequencer keys (dev keys 1..=N).
    pub keys: Vec<PrivateKey>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// A port of 127.0.0.1 that is free now, taken from 20000–31999: below the kernel's ephemeral
/// range (32768–60999 on Linux), so no outgoing connection of this machine takes it between
/// this check and the node's bind (with `bind(0)` that race was real under parallel tests).
/// Each process starts at its own offset and walks on, so two networks do not pick one port.
fn free_port() -> std::io::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const BASE: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        std::process::id().wrapping_mul(7_919).wrapping_add(nanos)
    });
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (BASE + start.wrapping_add(n.wrapping_mul(97)) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn l1_err(e: casl2_verifier::l1::L1Error) -> LocalNetError {
    LocalNetError::L1(DevnetError::Rule(e))
}

impl LocalNet {
    /// Start (or restart, on a reused directory) the network; returns when every node runs.
    pub async fn start(cfg: &LocalNetConfig) -> Result<LocalNet, LocalNetError> {
        Self::start_with_filters(cfg, Vec::new()).await
    }

    /// [`start`](Self::start) with a peer-message filter for node `i` at `filters[i]` (tests
    /// cut the network with them).
    pub async fn start_with_filters(
        cfg: &LocalNetConfig,
        filters: Vec<crate::node::PeerFilter>,
    ) -> Result<LocalNet, LocalNetError> {
        let l1_dir = cfg.data_dir.join("l1");
        std::fs::create_dir_all(&l1_dir)?;
        let devnet = Devnet::open(&l1_dir.join("devnet.redb"), &DevnetConfig::default())?;
        let shared: SharedDevnet = Arc::new(Mutex::new(devnet));
        let keys: Vec<PrivateKey> = (1..=cfg.sequencers as u32)
            .map(dev_key)
            .collect::<Result<_, _>>()?;
        // Node ports: kept in the data directory so a restart reuses the announced endpoints.
        let mut ports = Vec::new();
        for i in 0..cfg.sequencers {
            let f = cfg.data_dir.join(format!("node-{i}")).join("port");
            let port = match std::fs::read_to_string(&f)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                Some(p) => p,
                None => {
                    let p = free_port()?;
                    std::fs::create_dir_all(cfg.data_dir.join(format!("node-{i}")))?;
                    std::fs::write(&f, p.to_string())?;
                    p
                }
            };
            ports.push(port);
        }
        let urls: Vec<String> = ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}/"))
            .collect();
        {
            let mut d = shared.lock().unwrap_or_else(|p| p.into_inner());
            if d.state().chain(cfg.chain_id).is_none() {
                let deployer = dev_key(0)?;
                let authority = authority_key()?;
                let mut txs = vec![L1Tx::signed(
                    &deployer,
                    d.next_nonce(&deployer.address()),
                    L1Op::RegisterChain {
                        chain_id: cfg.chain_id,
                        name: "casl2-local".into(),
                        params: cfg.params.clone(),
                        genesis_root: empty_root(),
                        deployer_stake: cfg.params.min_sequencer_stake,
                    },
                )
                .map_err(l1_err)?];
                let first = d.next_nonce(&authority.address());
                for (nonce, k) in (first..).zip(&keys) {
                    txs.push(
                        L1Tx::signed(
                            &authority,
                            nonce,
                            L1Op::SetHatScore {
                                address: k.address(),
                                score: cfg.hat_score,
                            },
                        )
                        .map_err(l1_err)?,
                    );
                }
                for (k, url) in keys.iter().zip(&urls) {
                    txs.push(
                        L1Tx::signed(
                            k,
                            d.next_nonce(&k.address()),
                            L1Op::AnnounceSequencer {
                                chain: cfg.chain_id,
                                stake: cfg.stake,
                                endpoint: url.clone(),
                            },
                        )
                        .map_err(l1_err)?,
                    );
                }
                for t in txs {
                    d.submit(t)?;
                }
                d.generate(1, now_secs())?;
            }
        }
        let (stop, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.l1_port)).await?;
        let l1_addr: SocketAddr = listener.local_addr()?;
        let l1_url = format!("http://{l1_addr}/");
        {
            let mut rx = rx.clone();
            tasks.push(tokio::spawn(unit(serve(
                shared.clone(),
                listener,
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                },
            ))));
        }
        if cfg.l1_block_ms > 0 {
            let mut rx = rx.clone();
            tasks.push(tokio::spawn(unit(mine_every(
                shared.clone(),
                Duration::from_millis(cfg.l1_block_ms),
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                },
            ))));
        }
        let mut configs = Vec::new();
        let mut nodes = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let mut c = NodeConfig::new(
                cfg.data_dir.join(format!("node-{i}")),
                cfg.chain_id,
                l1_url.clone(),
                SocketAddr::from(([127, 0, 0, 1], ports[i])),
            );
            c.key = Some(k.clone());
            c.peers = urls.clone();
            c.filter = filters.get(i).cloned();
            c.misbehaviour = match (cfg.dishonest, cfg.censor) {
                (Some(d), _) => Some(Arc::new(d) as Arc<dyn crate::node::Misbehaviour>),
                (None, Some(x)) => Some(Arc::new(x) as Arc<dyn crate::node::Misbehaviour>),
                (None, None) => None,
            };
            nodes.push(Some(Node::start(c.clone()).await?));
            configs.push(c);
        }
        Ok(LocalNet {
            l1_url,
            l1: shared,
            nodes,
            configs,
            keys,
            stop,
            tasks,
        })
    }

    /// Stop node `i` (as a crash would: nothing is flushed beyond what each write made durable).
    pub async fn stop_node(&mut self, i: usize) {
        if let Some(n) = self.nodes.get_mut(i).and_then(Option::take) {
            n.stop().await;
        }
    }

    /// Start node `i` again from its databases.
    pub async fn start_node(&mut self, i: usize) -> Result<(), NodeError> {
        if self.nodes.get(i).is_some_and(Option::is_none) {
            // The old server may still be releasing its port.
            let mut last = None;
            for _ in 0..50 {
                match Node::start(self.configs[i].clone()).await {
                    Ok(n) => {
                        self.nodes[i] = Some(n);
                        return Ok(());
                    }
                    Err(e @ NodeError::Bind { .. }) => {
                        last = Some(e);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some(e) = last {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Submit to the L1 a deposit of `amount` from `key` to its own L2 account on this
    /// network's chain; it is mined with the next L1 block. Returns the L1 transaction id.
    pub fn deposit(&self, key: &PrivateKey, amount: i64) -> Result<H256, LocalNetError> {
        let chain = self.configs.first().map_or(1, |c| c.chain_id);
        let mut d = self.l1.lock().unwrap_or_else(|p| p.into_inner());
        let tx = L1Tx::signed(
            key,
            d.next_nonce(&key.address()),
            L1Op::Deposit {
                chain,
                recipient: key.address(),
                amount,
            },
        )
        .map_err(|e| DevnetError::InvalidArgument(format!("deposit: {e}")))?;
        Ok(d.submit(tx)?)
    }

    /// A receiver that turns `true` when [`shutdown`](Self::shutdown) starts (for servers run
    /// beside the network).
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stop everything: every node, the L1 miner and the L1 server.
    pub async fn shutdown(mut self) {
        for i in 0..self.nodes.len() {
            self.stop_node(i).await;
        }
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

async fn unit<F: std::future::Future>(f: F) {
    let _ = f.await;
}
