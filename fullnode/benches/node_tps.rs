//! Sustained throughput of four sequencers on loopback at 100 ms blocks (a bench binary, not a
//! test): `cargo bench -p casl2-fullnode --features harness --bench node_tps -- [TPS] [SECONDS] [SENDERS]`.
//!
//! Set-up: the local network (devnet L1 with 500 ms blocks, four sequencers), one deposit, and a
//! fan-out to SENDERS accounts (default 200). Then transfers pre-signed by those senders are
//! submitted in JSON-RPC batches of 100, spread over the four nodes, at TPS per second for
//! SECONDS. Reported: transactions included per second over the load window, inclusion latency
//! (submission → the block is final on node 0, p50/p99), time from a block's timestamp to its
//! finality on node 0 (p50/p99), and the process's CPU time per wall second.

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::node::now_ms;
use casl2_fullnode::node::rpc::call_peer;
use casl2_verifier::params::COIN;
use casl2_verifier::{Address, Encode, L2Transaction, PrivateKey, TxType, H256};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CHAIN: u64 = 1;

fn transfer(k: &PrivateKey, to: Address, value: i64, nonce: u64) -> L2Transaction {
    let mut t = L2Transaction {
        from: k.address(),
        to,
        value,
        nonce,
        gas_limit: 21_000,
        gas_price: 1,
        tx_type: TxType::Transfer,
        l2_chain_id: CHAIN,
        ..Default::default()
    };
    t.sign(k).expect("signing");
    t
}

async fn send_batch(http: &reqwest::Client, url: &str, txs: &[L2Transaction]) -> usize {
    let body: Vec<Value> = txs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({ "jsonrpc": "2.0", "id": i, "method": "l2_sendrawtransaction", "params": [hex::encode(t.encode())] })
        })
        .collect();
    match http.post(url).json(&body).send().await {
        Ok(r) => match r.json::<Vec<Value>>().await {
            Ok(v) => v.iter().filter(|x| x.get("result").is_some()).count(),
            Err(_) => 0,
        },
        Err(_) => 0,
    }
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process from /proc (Linux), in clock ticks of 100 Hz.
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(") ")?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: f64 = f.get(11)?.parse().ok()?;
            let k: f64 = f.get(12)?.parse().ok()?;
            Some((u + k) / 100.0)
        })
        .unwrap_or(0.0)
}

fn pct(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let tps: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let senders: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(tps, secs, senders));
}

async fn run(tps: u64, secs: u64, senders: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 4);
    cfg.l1_block_ms = 500;
    let net = LocalNet::start(&cfg).await.expect("local network");
    let urls: Vec<String> = net
        .configs
        .iter()
        .map(|c| format!("http://{}/", c.listen))
        .collect();
    let http = reqwest::Client::new();
    let keys = fund_senders(&net, &http, &urls[0], senders).await;
    // Pre-sign the load: round-robin over senders, nonces in order.
    let total = (tps * secs) as usize;
    let sink = Address([0x51; 20]);
    eprintln!("signing {total} transfers from {senders} senders");
    let mut nonces = vec![0u64; senders];
    let load: Vec<L2Transaction> = (0..total)
        .map(|i| {
            let s = i % senders;
            let t = transfer(&keys[s], sink, 1, nonces[s]);
            nonces[s] += 1;
            t
        })
        .collect();
    // Watch node 0's final blocks.
    let start_height = call_peer(&http, &urls[0], "l2_blocknumber", json!([]))
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    let mut submitted: HashMap<H256, u64> = HashMap::with_capacity(total);
    let per_tick = (tps / 10).max(1) as usize;
    let mut next = 0usize;
    let mut accepted = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut seen_height = start_height;
    let mut latencies = Vec::new();
    let mut finality = Vec::new();
    let mut included = 0u64;
    let mut first_inclusion: Option<u64> = None;
    let mut last_inclusion = 0u64;
    let deadline = Instant::now() + Duration::from_secs(secs + 30);
    while Instant::now() < deadline {
        tick.tick().await;
        if next < load.len() {
            let end = (next + per_tick).min(load.len());
            let now = now_ms();
            for t in &load[next..end] {
                submitted.insert(t.hash(), now);
            }
            let mut jobs = Vec::new();
            for (j, c) in load[next..end].chunks(100).enumerate() {
                let u = urls[j % 4].clone();
                let h = http.clone();
                let c = c.to_vec();
                jobs.push(tokio::spawn(async move { send_batch(&h, &u, &c).await }));
            }
            for j in jobs {
                accepted += j.await.unwrap_or(0);
            }
            next = end;
        }
        let h = call_peer(&http, &urls[0], "l2_blocknumber", json!([]))
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(seen_height);
        let now = now_ms();
        for n in (seen_height + 1)..=h {
            let Ok(b) = call_peer(&http, &urls[0], "l2_getblockbynumber", json!([n])).await else {
                break;
            };
            let ts = b["header"]["timestamp"].as_u64().unwrap_or(now);
            finality.push(now.saturating_sub(ts));
            if let Some(txs) = b["transactions"].as_array() {
                for t in txs {
                    let tx: L2Transaction = match serde_json::from_value(t.clone()) {
                        Ok(t) => t,
                        Err(_) => continue,
                    };
                    if let Some(at) = submitted.get(&tx.hash()) {
                        latencies.push(now.saturating_sub(*at));
                        included += 1;
                        first_inclusion.get_or_insert(now);
                        last_inclusion = now;
                    }
                }
            }
            seen_height = n;
        }
        if next >= load.len() && included as usize >= accepted {
            break;
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let window_ms = last_inclusion
        .saturating_sub(first_inclusion.unwrap_or(last_inclusion))
        .max(1);
    println!("offered {tps} tx/s for {secs} s: {total} signed, {accepted} accepted by the nodes, {included} included");
    println!(
        "throughput {:.0} tx/s (included / inclusion window {:.1} s); blocks {}",
        included as f64 * 1000.0 / window_ms as f64,
        window_ms as f64 / 1000.0,
        seen_height - start_height
    );
    println!(
        "inclusion latency p50 {} ms p99 {} ms; block finality p50 {} ms p99 {} ms",
        pct(&mut latencies.clone(), 0.5),
        pct(&mut latencies, 0.99),
        pct(&mut finality.clone(), 0.5),
        pct(&mut finality, 0.99)
    );
    println!("CPU {:.2} core-seconds per wall second (all four nodes, L1 and the load generator in one process)", cpu / wall);
    net.shutdown().await;
}

/// Fund a whale by deposit, then `senders` fresh keys by transfers from it; returns the keys.
async fn fund_senders(
    net: &LocalNet,
    http: &reqwest::Client,
    url: &str,
    senders: usize,
) -> Vec<PrivateKey> {
    // Fund a whale by deposit, then the senders by transfers.
    let whale = dev_key(7).expect("key");
    net.deposit(&whale, 5_000 * COIN).expect("deposit");
    let t0 = Instant::now();
    loop {
        let b = call_peer(http, url, "l2_getbalance", json!([whale.address()])).await;
        if b.ok().and_then(|v| v.as_i64()).unwrap_or(0) > 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "deposit not credited"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let keys: Vec<PrivateKey> = (0..senders)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            b[31] = 0x77;
            PrivateKey::from_bytes(&b).expect("key")
        })
        .collect();
    let fund: Vec<L2Transaction> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| transfer(&whale, k.address(), 10 * COIN, i as u64))
        .collect();
    // The mempool keeps at most 64 nonces ahead per sender: fund in steps of 50.
    for (i, c) in fund.chunks(50).enumerate() {
        send_batch(http, url, c).await;
        let want = ((i + 1) * 50).min(fund.len()) as u64;
        let t0 = Instant::now();
        loop {
            let n = call_peer(
                http,
                url,
                "l2_gettransactioncount",
                json!([whale.address()]),
            )
            .await
            .ok()
            .and_then(|v| v["nonce"].as_u64())
            .unwrap_or(0);
            if n >= want {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "fan-out stuck at nonce {n}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    keys
}
