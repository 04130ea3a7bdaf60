//! `casl2 node`: run an L2 sequencer (with `--key`) or follower node until Ctrl-C.
//!
//! Settings come from flags, then `CASL2_*` environment variables, then the TOML file given
//! with `--config`, then the defaults; the first that sets a value wins.

use crate::amount::parse_cas;
use anyhow::{anyhow, bail, Context, Result};
use casl2_fullnode::node::{now_ms, Node, NodeConfig};
use casl2_verifier::params::Network;
use casl2_verifier::PrivateKey;
use clap::Args;
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Flags of `casl2 node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// TOML file with any of the settings below (keys as the flags, with `_` for `-`).
    #[arg(long, value_name = "FILE", env = "CASL2_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the node's databases [default: ./casl2-node].
    #[arg(long, value_name = "DIR", env = "CASL2_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Parameter set the chain must be registered with: regtest, testnet or mainnet [default: regtest].
    #[arg(long, env = "CASL2_NETWORK")]
    network: Option<String>,
    /// The L2 chain id [default: 1].
    #[arg(long, env = "CASL2_CHAIN_ID")]
    chain_id: Option<u64>,
    /// The L1's JSON-RPC URL [default: http://127.0.0.1:18545/].
    #[arg(long, value_name = "URL", env = "CASL2_L1")]
    l1: Option<String>,
    /// Address for RPC and peer messages [default: 127.0.0.1:18645].
    #[arg(long, value_name = "ADDR", env = "CASL2_LISTEN")]
    listen: Option<SocketAddr>,
    /// URL peers reach this node at, announced on L1 [default: http://<listen>/].
    #[arg(long, value_name = "URL", env = "CASL2_PUBLIC_URL")]
    public_url: Option<String>,
    /// Sequencer key: 64 hex digits, or a keystore name or address (`casl2 wallet`); without
    /// a key the node is a follower.
    #[arg(
        long,
        value_name = "HEX|NAME|ADDRESS",
        env = "CASL2_KEY",
        hide_env_values = true
    )]
    key: Option<String>,
    /// File holding the sequencer private key in hex.
    #[arg(long, value_name = "FILE", env = "CASL2_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Announce this sequencer on L1 with this stake (CAS) if it is not registered yet.
    #[arg(long, value_name = "CAS", env = "CASL2_ANNOUNCE_STAKE")]
    announce_stake: Option<String>,
    /// A peer node's URL (repeatable); the sequencers' announced endpoints are always used.
    #[arg(long = "peer", value_name = "URL")]
    peers: Vec<String>,
    /// Bearer token that enables the admin_* RPC methods.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CASL2_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// Most transactions per block [default: 2000].
    #[arg(long, value_name = "N", env = "CASL2_MAX_BLOCK_TXS")]
    max_block_txs: Option<usize>,
    /// JSON-RPC requests per second answered to each client IP (an IPv6 /64); each request of
    /// a batch counts; beyond it -32005 / HTTP 429 [default: 5000].
    #[arg(long, value_name = "N", env = "CASL2_RPC_RATE_LIMIT")]
    rpc_rate_limit: Option<u64>,
    /// Run for this many seconds, then stop as on Ctrl-C (0: until Ctrl-C) [default: 0].
    #[arg(long, value_name = "SECS")]
    run_for: Option<u64>,
    /// TESTS AND DEMOS ONLY (regtest): anchor bad batches of this kind, to watch a challenger
    /// win: wrong-root[:STEP] (roots wrong from trace step STEP on), wrong-root:contract
    /// (roots wrong from the batch's first CONTRACT_CALL on; batches without one stay honest),
    /// bad-signature, bad-block-signature, bad-timestamp, double-spend, or withhold (honest batches whose shares
    /// the node refuses to serve and whose availability challenges it does not answer). Every sequencer that
    /// is to sign them needs the same option. Refused with any other --network.
    #[arg(long, value_name = "KIND")]
    dishonest: Option<String>,
    /// With --dishonest: stop lying once this many frauds were proven against the chain.
    #[arg(long, value_name = "N", default_value_t = 1)]
    dishonest_batches: u64,
    /// TESTS AND DEMOS ONLY (regtest): leave the L2 transactions of this address out of the
    /// blocks this node builds (try `casl2 force`). Refused with any other --network, and
    /// with --dishonest.
    #[arg(long, value_name = "ADDRESS")]
    censor: Option<String>,
    /// With --censor: ignore the L1's forced-inclusion queue too, so a forced transaction's
    /// deadline passes and the L1 punishes the chain.
    #[arg(long, requires = "censor")]
    censor_forced: bool,
    /// Resolve the settings (flags, environment, --config, defaults), print them (the key as
    /// its address, the admin token as set or not) and exit without starting: a check of a
    /// config file before a deployment.
    #[arg(long)]
    check_config: bool,
    /// The keystore a named --key is read from.
    #[command(flatten)]
    wallet: crate::wallet::WalletArgs,
}

/// The TOML file: every setting optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    network: Option<String>,
    chain_id: Option<u64>,
    l1: Option<String>,
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    key: Option<String>,
    key_file: Option<PathBuf>,
    announce_stake: Option<String>,
    peers: Option<Vec<String>>,
    admin_token: Option<String>,
    max_block_txs: Option<usize>,
    rpc_rate_limit: Option<u64>,
}

fn read_file_config(path: &Path) -> Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{}: not a valid casl2 node config", path.display()))
}

pub(crate) fn read_key(
    hex: Option<String>,
    file: Option<PathBuf>,
    wallet: &crate::wallet::WalletArgs,
) -> Result<Option<PrivateKey>> {
    let text = match (hex, file) {
        (Some(h), _) if !crate::wallet::is_raw_key(&h) => {
            return crate::wallet::resolve_key(&h, wallet).map(Some);
        }
        (Some(h), _) => h,
        (None, Some(f)) => std::fs::read_to_string(&f)
            .with_context(|| format!("reading the key file {}", f.display()))?,
        (None, None) => return Ok(None),
    };
    let k = PrivateKey::from_hex(text.trim()).map_err(|e| anyhow!("--key: {e}"))?;
    Ok(Some(k))
}

/// Resolve flags, environment, file and defaults into a node configuration and its network.
fn resolve(a: NodeArgs) -> Result<(NodeConfig, Network, u64)> {
    let f = match &a.config {
        Some(p) => read_file_config(p)?,
        None => FileConfig::default(),
    };
    let network: Network = a
        .network
        .or(f.network)
        .unwrap_or_else(|| "regtest".into())
        .parse()
        .map_err(|e: String| anyhow!("--network: {e}"))?;
    let data_dir = a
        .data_dir
        .or(f.data_dir)
        .unwrap_or_else(|| "casl2-node".into());
    let chain_id = a.chain_id.or(f.chain_id).unwrap_or(1);
    let l1 =
        a.l1.or(f.l1)
            .unwrap_or_else(|| "http://127.0.0.1:18545/".into());
    casl2_lightclient::endpoint::L1Endpoint::parse(&l1).map_err(|e| anyhow!("--l1: {e}"))?;
    let listen = a
        .listen
        .or(f.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 18645)));
    let key = read_key(a.key.or(f.key), a.key_file.or(f.key_file), &a.wallet)?;
    let stake = match a.announce_stake.or(f.announce_stake) {
        Some(s) => Some(parse_cas(&s).context("--announce-stake")?),
        None => None,
    };
    if stake.is_some() && key.is_none() {
        bail!("--announce-stake needs --key (a follower announces nothing)");
    }
    let mut cfg = NodeConfig::new(data_dir, chain_id, l1, listen);
    cfg.public_url = a.public_url.or(f.public_url);
    cfg.key = key;
    cfg.announce_stake = stake;
    cfg.peers = if a.peers.is_empty() {
        f.peers.unwrap_or_default()
    } else {
        a.peers
    };
    cfg.admin_token = a.admin_token.or(f.admin_token);
    if let Some(d) = &a.dishonest {
        if network != Network::Regtest {
            bail!("--dishonest is refused on {network}: it exists for regtest tests and demos");
        }
        if cfg.key.is_none() {
            bail!("--dishonest needs --key (a follower posts no batches)");
        }
        let mut d: casl2_fullnode::harness::dishonest::Dishonest =
            d.parse().map_err(|e: String| anyhow!("--dishonest: {e}"))?;
        d.batches = a.dishonest_batches;
        cfg.misbehaviour = Some(std::sync::Arc::new(d));
    }
    if let Some(who) = &a.censor {
        if network != Network::Regtest {
            bail!("--censor is refused on {network}: it exists for regtest tests and demos");
        }
        if cfg.key.is_none() || cfg.misbehaviour.is_some() {
            bail!("--censor needs --key (a follower builds no blocks) and no --dishonest");
        }
        let address = crate::net::parse_address("--censor", who)?;
        cfg.misbehaviour = Some(std::sync::Arc::new(
            casl2_fullnode::harness::censor::Censor {
                address,
                ignore_forced: a.censor_forced,
            },
        ));
    }
    if let Some(n) = a.max_block_txs.or(f.max_block_txs) {
        if n == 0 || n > 16_384 {
            bail!("--max-block-txs must be 1..=16384, got {n}");
        }
        cfg.max_block_txs = n;
    }
    if let Some(n) = a.rpc_rate_limit.or(f.rpc_rate_limit) {
        if n == 0 {
            bail!("--rpc-rate-limit must be at least 1 request per second");
        }
        cfg.rpc_rate_limit = n;
    }
    Ok((cfg, network, a.run_for.unwrap_or(0)))
}

/// Run `casl2 node`.
pub fn run(args: NodeArgs, json_out: bool) -> Result<()> {
    let check = args.check_config;
    let (cfg, network, run_for) = resolve(args)?;
    if check {
        let v = json!({
            "network": network.to_string(), "chainId": cfg.chain_id, "l1": cfg.l1_url,
            "listen": cfg.listen.to_string(), "publicUrl": cfg.public_url,
            "dataDir": cfg.data_dir.display().to_string(),
            "role": if cfg.key.is_some() { "sequencer" } else { "follower" },
            "sequencer": cfg.key.as_ref().map(|k| k.address()),
            "announceStake": cfg.announce_stake, "peers": cfg.peers,
            "adminToken": cfg.admin_token.is_some(), "maxBlockTxs": cfg.max_block_txs,
            "rpcRateLimit": cfg.rpc_rate_limit, "demoMisbehaviour": cfg.misbehaviour.is_some(),
        });
        if json_out {
            println!("{v}");
        } else {
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        return Ok(());
    }
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        let role = match &cfg.key {
            Some(k) => format!("sequencer {}", k.address()),
            None => "follower".to_string(),
        };
        let data_dir = cfg.data_dir.clone();
        let node = Node::start(cfg).await.context("starting the node")?;
        let url = node.url().to_string();
        if json_out {
            println!(
                "{}",
                json!({ "rpcUrl": url, "role": role, "dataDir": data_dir.display().to_string(), "network": network.to_string() })
            );
        } else {
            println!("casl2 node: {role}");
            println!("data {}", data_dir.display());
            println!("JSON-RPC and peers on {url} (metrics on {url}metrics)");
        }
        let shared = node.shared.clone();
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut checked = false;
        let stop = crate::run::stopped(run_for);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                r = &mut stop => { r?; break; }
                _ = tick.tick() => {
                    let view = shared.view();
                    if let Some(c) = &view.chain {
                        if !checked {
                            checked = true;
                            if c.params.network != network {
                                node.stop().await;
                                bail!(
                                    "chain {} is registered on L1 with {} parameters, this node runs --network {network}",
                                    c.chain_id, c.params.network
                                );
                            }
                        }
                    }
                    let (h, pool, stats, halted) = {
                        let e = shared.engine();
                        (e.height(), e.mempool.len(), e.stats.clone(), e.halted().map(str::to_string))
                    };
                    if let Some(r) = &halted {
                        eprintln!("HALTED: {r}");
                    }
                    let status = view.chain.as_ref().map(|c| c.status.to_string());
                    if json_out {
                        // A reader that went away is no reason to stop the node.
                        let line = json!({ "timeMs": now_ms(), "height": h, "mempool": pool, "l1Tip": view.tip, "chainStatus": status, "proposed": stats.proposed, "transactions": stats.transactions, "halted": halted });
                        let _ = writeln!(std::io::stdout(), "{line}");
                    } else {
                        eprintln!(
                            "height {h}  mempool {pool}  L1 tip {}  chain {}  proposed {}  txs {}",
                            view.tip,
                            status.unwrap_or_else(|| "not registered yet".into()),
                            stats.proposed,
                            stats.transactions
                        );
                    }
                }
            }
        }
        let h = shared.engine().height();
        node.stop().await;
        eprintln!("stopped at height {h}");
        Ok(())
    })
}
