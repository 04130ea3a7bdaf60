//! Helpers shared by the challenger's end-to-end tests: a dishonest network, traffic, and a
//! challenger ticking in the background.
#![allow(dead_code)] // each test file uses a part

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::dishonest::{Dishonest, DishonestKind};
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::node::rpc::call_peer;
use casl2_fullnode::RedbNodeStore;
use casl2_lightclient::l1::DevnetClient;
use casl2_lightclient::watcher::ChallengerConfig;
use casl2_verifier::params::COIN;
use casl2_verifier::{Address, Encode, L2Transaction, PrivateKey, TxType};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The challenger as the CLI runs it (tree in redb, the devnet L1 over JSON-RPC).
pub type Challenger = casl2_lightclient::watcher::Challenger<RedbNodeStore, DevnetClient>;

pub const CHAIN: u64 = 1;

pub fn transfer(k: &PrivateKey, to: Address, value: i64, nonce: u64) -> L2Transaction {
    let mut t = L2Transaction {
        from: k.address(),
        to,
        value,
        nonce,
        gas_limit: 21_000,
        gas_price: 10,
        tx_type: TxType::Transfer,
        l2_chain_id: CHAIN,
        ..Default::default()
    };
    t.sign(k).unwrap();
    t
}

/// Poll `f` every 200 ms until true, at most `secs` seconds.
pub async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deposit for `user` and keep sending it transfers in the background, so batches carry
/// transactions.
pub async fn traffic(net: &LocalNet, user: &PrivateKey) -> tokio::task::JoinHandle<()> {
    net.deposit(user, 1_000 * COIN).unwrap();
    let url = format!("http://{}/", net.configs[0].listen);
    let user = user.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut nonce = 0u64;
        for _ in 0..600 {
            let t = transfer(&user, Address([0xb0; 20]), COIN / 10, nonce);
            let raw = hex::encode(t.encode());
            if call_peer(&http, &url, "l2_sendrawtransaction", json!([raw]))
                .await
                .is_ok()
            {
                nonce += 1;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}

/// Run a challenger with dev key `k` until `stop`.
pub fn spawn_challenger(
    net: &LocalNet,
    dir: std::path::PathBuf,
    k: u32,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Challenger> {
    let cfg = ChallengerConfig {
        data_dir: dir,
        chain_id: CHAIN,
        l1_url: net.l1_url.clone(),
        key: dev_key(k).unwrap(),
    };
    tokio::spawn(async move {
        let l1 = DevnetClient::new(cfg.l1_url.clone());
        let open_store = |p: &std::path::Path| RedbNodeStore::open(p).map_err(|e| e.to_string());
        let mut c = Challenger::open(cfg, l1, open_store).unwrap();
        loop {
            if let Err(e) = c.tick(|_, _| {}).await {
                eprintln!("challenger tick: {e}");
            }
            tokio::select! {
                _ = stop.changed() => return c,
                _ = tokio::time::sleep(Duration::from_millis(150)) => {}
            }
        }
    })
}

/// A LocalNet of two colluding sequencers that anchor one bad batch of `kind` (from trace step
/// 2), L1 blocks every 400 ms.
pub async fn dishonest_net(dir: &std::path::Path, kind: DishonestKind) -> LocalNet {
    let mut cfg = LocalNetConfig::new(dir.join("net"), 2);
    cfg.l1_block_ms = 400;
    cfg.dishonest = Some(Dishonest {
        kind,
        step: 2,
        batches: 1,
    });
    LocalNet::start(&cfg).await.unwrap()
}

/// `who`'s L1 balance and the stakes of `seqs` on the chain.
pub fn balance_and_stakes(net: &LocalNet, who: &Address, seqs: &[Address]) -> (i64, Vec<i64>) {
    let d = net.l1.lock().unwrap();
    let c = d.state().chain(CHAIN).unwrap();
    let stakes = seqs
        .iter()
        .map(|a| c.sequencer(a).map_or(0, |s| s.stake))
        .collect();
    (d.state().balance(who), stakes)
}
