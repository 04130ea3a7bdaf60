//! `casl2 l1`: the L1 side. `casl2 l1 devnet` runs the embedded devnet L1 with its JSON-RPC
//! server on 127.0.0.1 until Ctrl-C.

use crate::Failure;
use anyhow::{anyhow, Context};
use casl2_fullnode::devnet::rpc::{mine_every, serve, SharedDevnet};
use casl2_fullnode::devnet::{authority_key, dev_key, Devnet, DevnetConfig};
use casl2_verifier::params::COIN;
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum L1Command {
    /// Run the embedded devnet L1 (the casl2 L1 rules, JSON-RPC on 127.0.0.1) until Ctrl-C.
    Devnet {
        /// Directory of the chain database (created if missing; reused on restart).
        #[arg(long, value_name = "DIR", default_value = "casl2-devnet")]
        data_dir: PathBuf,
        /// RPC port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 18545)]
        port: u16,
        /// Mine a block every MS milliseconds (0: only on `generate`).
        #[arg(long, value_name = "MS", default_value_t = 0)]
        block_interval_ms: u64,
        /// Funded dev accounts of a new chain (an existing chain keeps its genesis).
        #[arg(long, value_name = "N", default_value_t = 10)]
        accounts: u32,
    },
    /// HAT v2 reputation scores: get (either backend), set (the devnet authority).
    #[command(subcommand)]
    Hat(crate::hat::HatCommand),
}

pub fn run(cmd: L1Command, json_out: bool) -> Result<(), Failure> {
    match cmd {
        L1Command::Devnet {
            data_dir,
            port,
            block_interval_ms,
            accounts,
        } => devnet(data_dir, port, block_interval_ms, accounts, json_out).map_err(Failure::Error),
        L1Command::Hat(cmd) => crate::hat::run(cmd, json_out).map_err(Failure::Error),
    }
}

fn devnet(
    data_dir: PathBuf,
    port: u16,
    interval_ms: u64,
    accounts: u32,
    json_out: bool,
) -> anyhow::Result<()> {
    if accounts > 1_000 {
        return Err(anyhow!("--accounts is at most 1000, got {accounts}"));
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let db = data_dir.join("devnet.redb");
    let config = DevnetConfig {
        accounts,
        ..DevnetConfig::default()
    };
    let node = Devnet::open(&db, &config).with_context(|| format!("opening {}", db.display()))?;
    // The funded dev keys of the stored genesis (which wins over --accounts on restart).
    let funded: Vec<(casl2_verifier::Address, i64)> = node.genesis().accounts.clone();
    let authority = authority_key()?;
    let mut keys = Vec::new();
    for i in 0..u32::try_from(funded.len()).unwrap_or(u32::MAX) {
        let k = dev_key(i)?;
        match funded.iter().find(|(a, _)| *a == k.address()) {
            Some((_, bal)) => keys.push((i, k, *bal)),
            None => break,
        }
    }
    let height = node.height();
    let shared: SharedDevnet = Arc::new(Mutex::new(node));

    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let addr = listener.local_addr().context("local address")?;
        let url = format!("http://{addr}/");
        if json_out {
            let list: Vec<Value> = keys
                .iter()
                .map(|(i, k, bal)| {
                    json!({ "index": i, "address": k.address(), "privateKey": k.to_hex(), "balance": bal })
                })
                .collect();
            println!(
                "{}",
                json!({
                    "rpcUrl": url,
                    "dataDir": data_dir.display().to_string(),
                    "height": height,
                    "blockIntervalMs": interval_ms,
                    "authority": { "address": authority.address(), "privateKey": authority.to_hex() },
                    "accounts": list,
                })
            );
        } else {
            println!("casl2 devnet L1 (data {}, height {height})", data_dir.display());
            println!();
            println!("Available accounts (private keys are public knowledge: devnet only)");
            println!("==================");
            for (i, k, bal) in &keys {
                println!(
                    "({i}) {}  {} CAS  key {}",
                    k.address(),
                    bal / COIN,
                    k.to_hex()
                );
            }
            println!();
            println!(
                "Authority (SetHatScore): {}  key {}",
                authority.address(),
                authority.to_hex()
            );
            println!();
            if interval_ms > 0 {
                println!("Mining a block every {interval_ms} ms");
            } else {
                println!("Mining on demand (RPC generate)");
            }
            println!("JSON-RPC listening on {url}");
        }
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let miner = if interval_ms > 0 {
            Some(tokio::spawn(mine_every(
                shared.clone(),
                Duration::from_millis(interval_ms),
                stop(rx.clone()),
            )))
        } else {
            None
        };
        let mut server = tokio::spawn(serve(shared.clone(), listener, stop(rx.clone())));
        let miner_done = async {
            match miner {
                Some(m) => m.await,
                None => std::future::pending().await,
            }
        };
        // Run until Ctrl-C, or until the server or the miner stops on an error.
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            r = &mut server => {
                r.context("server task")?.context("RPC server")?;
                return Err(anyhow!("the RPC server stopped"));
            }
            r = miner_done => {
                r.context("miner task")?.context("miner")?;
                return Err(anyhow!("the miner stopped"));
            }
        }
        let _ = tx.send(true);
        server
            .await
            .context("server task")?
            .context("RPC server")?;
        let height = shared.lock().map(|d| d.height()).unwrap_or(0);
        eprintln!("stopped at height {height}");
        Ok::<(), anyhow::Error>(())
    })
}
