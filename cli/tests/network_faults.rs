//! Four `casl2 node` sequencers, each its own process, with every link between them through a
//! fault-injecting proxy of the tests' own (`support::proxy`): each sequencer is announced on
//! L1 at its proxy's URL, so what one sequencer asks of another goes through the proxy of the
//! destination, which delays, drops or passes it by the link's entry in a shared table.
//! Measured figures are printed (`-- --nocapture`), never asserted: docs/benchmarks.md,
//! "Finality through a faulty network". The tests run one at a time (each starts five
//! processes; the figures would otherwise measure the other tests).

mod support;

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::node::peer::sign_peer_message;
use casl2_fullnode::node::BatchSignRequest;
use casl2_verifier::{BatchHeader, BlockSignature, H256};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::network::{
    all_reach, block_hash, free_port, height, heights, node, one_hash_per_height, try_call, Chain,
};
use support::proxy::{Fault, FaultyNet};
use support::{get, ok_json, Killed};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The network: fields drop in order (nodes, proxies, L1, directory).
struct Net {
    _nodes: Vec<Killed>,
    proxies: FaultyNet,
    chain: Chain,
    /// The nodes' own listen ports (the tests' RPC goes here, not through the proxies).
    ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

impl Net {
    /// Four sequencers behind their proxies on an L1 with a block every `l1_block_ms`, every
    /// node at height 2 or above.
    fn start(l1_block_ms: u64) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
        let addrs = (1..=4)
            .map(|i| dev_key(i).unwrap().address().to_string())
            .collect();
        let proxies = FaultyNet::start(addrs, &ports);
        let urls: Vec<String> = (0..4).map(|i| proxies.url(i)).collect();
        let chain = Chain::start(dir.path(), &urls, l1_block_ms);
        let nodes: Vec<Killed> = (0..4)
            .map(|i| {
                node(
                    dir.path(),
                    i as u32 + 1,
                    &chain.l1,
                    ports[i],
                    Some(&urls[i]),
                )
            })
            .collect();
        for (i, n) in nodes.iter().enumerate() {
            proxies.set_pid(i, n.0.id());
        }
        all_reach(&ports, 2, 120, "the network to start");
        Net {
            _nodes: nodes,
            proxies,
            chain,
            ports,
            _dir: dir,
        }
    }

    fn top(&self) -> u64 {
        heights(&self.ports).into_iter().max().unwrap()
    }

    /// Deposit 20 for dev key 6 (through node 0), final on L2.
    fn deposit(&self) {
        let user = dev_key(6).unwrap().to_hex();
        let d = ok_json(self.chain.user_cmd(
            self.ports[0],
            &["deposit", "20", "--key", &user, "--timeout", "120"],
        ));
        assert_eq!(d["credited"], true, "{d}");
    }

    /// Transfer 1 from dev key 6 to dev key 7 through node `via`, waiting until it is final
    /// there; returns its hash and how long the command took.
    fn transfer(&self, via: usize) -> (Value, Duration) {
        let user = dev_key(6).unwrap().to_hex();
        let to = dev_key(7).unwrap().address().to_string();
        let t0 = Instant::now();
        let t = ok_json(self.chain.user_cmd(
            self.ports[via],
            &["transfer", &to, "1", "--key", &user, "--timeout", "60"],
        ));
        (t["hash"].clone(), t0.elapsed())
    }

    /// `tx` is in a final block on every node (each may take up to 30 s to hear of it: a
    /// lost commit waits for the catch-up).
    fn final_everywhere(&self, tx: &Value) {
        let t0 = Instant::now();
        for p in &self.ports {
            loop {
                let r = try_call(*p, "l2_gettransactionreceipt", json!([tx]));
                let r = r.unwrap_or(Value::Null);
                if r["blockNumber"].as_u64().is_some() {
                    break;
                }
                assert!(t0.elapsed() < Duration::from_secs(30), "{tx} on {p}: {r}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Blocks per second while every node finalises `n` more blocks (at most `secs`).
    fn rate(&self, n: u64, secs: u64, what: &str) -> f64 {
        let (h0, t0) = (self.top(), Instant::now());
        all_reach(&self.ports, h0 + n, secs, what);
        n as f64 / t0.elapsed().as_secs_f64()
    }
}

/// Every height any node has finalised has one hash on every node that has it.
fn no_two_hashes_at_one_height(ports: &[u16]) {
    let top = heights(ports).into_iter().max().unwrap();
    for n in 1..=top {
        let mut hashes: Vec<String> = ports.iter().filter_map(|p| block_hash(*p, n)).collect();
        hashes.dedup();
        assert!(hashes.len() <= 1, "height {n}: {hashes:?}");
    }
}

#[test]
fn finality_goes_on_with_50_ms_or_20_percent_loss_on_every_link() {
    let _serial = serial();
    let net = Net::start(500);
    net.deposit();
    // Per condition: blocks per second over 8 blocks, and three transfers (through nodes 0, 1
    // and 2) timed until final; the CLI polls its receipt every 250 ms.
    let measure = |what: &str| {
        let rate = net.rate(8, 120, what);
        let times: Vec<String> = (0..3)
            .map(|via| {
                let (tx, took) = net.transfer(via);
                net.final_everywhere(&tx);
                format!("{:.2}", took.as_secs_f64())
            })
            .collect();
        format!(
            "{what}: {rate:.2} blocks/s, transfers final in {} s",
            times.join(" / ")
        )
    };
    let base = measure("no fault");
    net.proxies.all(Fault::Delay(50));
    let delayed = measure("50 ms on every link");
    // One RPC call through a proxy (the test is an unknown caller: 50 ms there, none back).
    let t0 = Instant::now();
    assert!(height(net.proxies.port(0)).is_some());
    let (via_proxy, t0) = (t0.elapsed(), Instant::now());
    assert!(height(net.ports[0]).is_some());
    let direct = t0.elapsed();
    let after_delay = net.proxies.stats();
    net.proxies.all(Fault::Loss(20));
    let lossy = measure("20 % loss on every link");
    let stats = net.proxies.stats();
    eprintln!(
        "{base}; {delayed}; {lossy}; an RPC call through a 50 ms proxy {:.1} ms, direct \
         {:.1} ms; proxies: {stats:?}",
        via_proxy.as_secs_f64() * 1e3,
        direct.as_secs_f64() * 1e3
    );
    // The links really went through the proxies, and the loss dropped requests (none were
    // dropped before it).
    assert!(
        after_delay.forwarded > 0 && after_delay.by_header > 0,
        "{after_delay:?}"
    );
    assert_eq!(after_delay.dropped, 0, "{after_delay:?}");
    assert!(stats.dropped > 0, "{stats:?}");
    one_hash_per_height(&net.ports, *heights(&net.ports).iter().min().unwrap());
}

#[test]
fn a_partitioned_sequencer_falls_behind_and_catches_up_after_healing() {
    let _serial = serial();
    let net = Net::start(500);
    net.deposit();
    let live = &net.ports[..3];
    net.proxies.split(&[&[0, 1, 2], &[3]]);
    let t0 = Instant::now();
    let before = heights(live).into_iter().max().unwrap();
    let hs = all_reach(live, before + 5, 90, "three of four to go on finalising");
    let cut = height(net.ports[3]).unwrap();
    let partitioned = t0.elapsed();
    // It finalised nothing on its own and fetched nothing: it fell behind.
    assert!(cut < *hs.iter().min().unwrap(), "{cut} vs {hs:?}");
    // The cut node's unsigned requests (catch-up) were told apart by their socket's owner:
    // had they passed, it would have fetched the three's blocks.
    let stats = net.proxies.stats();
    let dropped = stats.dropped;
    assert!(dropped > 0, "nothing was dropped: {stats:?}");
    if cfg!(target_os = "linux") {
        assert!(stats.by_owner > 0, "{stats:?}");
    }

    net.proxies.heal();
    let t1 = Instant::now();
    let target = net.top();
    let hs = all_reach(&net.ports, target, 90, "the partitioned node to catch up");
    let caught_up = t1.elapsed();
    let (tx, took) = net.transfer(3);
    net.final_everywhere(&tx);
    eprintln!(
        "partition of one of four: the three went {before} -> {} in {:.1} s while the fourth \
         stayed at {cut} ({dropped} requests dropped); after healing it reached {target} in \
         {:.1} s; a transfer through it was final in {:.2} s",
        before + 5,
        partitioned.as_secs_f64(),
        caught_up.as_secs_f64(),
        took.as_secs_f64()
    );
    no_two_hashes_at_one_height(&net.ports);
    one_hash_per_height(&net.ports, *hs.iter().min().unwrap());
}

/// Split the network 2|2 for `secs`, heal, and wait (at most 90 s) for 3 more final blocks.
/// Neither side holds the 67 % threshold, so neither finalises during the split; after
/// healing, no height has two hashes on any node (checked before liveness). The L1 makes a
/// block every `l1_block_ms`: a chain without a batch for `emergencyAfter` (50) L1 blocks is
/// frozen by L1 (EMERGENCY), and no batch gathers its signatures during a 2|2 split.
fn split_two_two(secs: u64, l1_block_ms: u64) {
    let net = Net::start(l1_block_ms);
    net.proxies.split(&[&[0, 1], &[2, 3]]);
    let at_split = heights(&net.ports);
    std::thread::sleep(Duration::from_secs(secs));
    let after_split = heights(&net.ports);
    let top_at_split = *at_split.iter().max().unwrap();
    assert!(
        after_split.iter().all(|h| *h <= top_at_split + 1),
        "{at_split:?} -> {after_split:?}"
    );
    no_two_hashes_at_one_height(&net.ports);

    net.proxies.heal();
    let t0 = Instant::now();
    let want = net.top() + 3;
    let mut hs = heights(&net.ports);
    while hs.iter().any(|h| *h < want) && t0.elapsed() < Duration::from_secs(90) {
        std::thread::sleep(Duration::from_millis(250));
        hs = heights(&net.ports);
    }
    eprintln!(
        "2|2 split for {secs} s: heights {at_split:?} -> {after_split:?}; after healing {hs:?} \
         (want {want}) in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    // Safety first (also when finality did not resume), then liveness.
    no_two_hashes_at_one_height(&net.ports);
    assert!(
        hs.iter().all(|h| *h >= want),
        "finality did not resume: {hs:?}, want {want}"
    );
}

/// Shorter than a leader timeout (10 s on regtest): only the leader's side accepts its block;
/// after healing the other side accepts it too.
#[test]
fn a_short_two_two_split_finalises_nothing_twice_and_resumes_after_healing() {
    let _serial = serial();
    split_two_two(5, 1000);
}

/// Two leader timeouts: the next leader in the failover order can be on the other side, each
/// side then ACCEPTs (and locks) its own block at the same height, 2 + 2 votes, and after
/// healing neither block can reach 3 of 4. This is the known liveness limit of one-phase locks
/// (docs/protocol.md, "Liveness limit"): unlocking needs a lock-change round with votes that
/// name their round (an ACCEPT is a block signature, so a second one at the height would be
/// double signing), which is not built. On a 2 s L1 (EMERGENCY only after 100 s without a
/// batch), the heights stay at the split's for the 90 s after healing; safety holds.
#[test]
#[ignore = "known liveness limit: a 2|2 split longer than a leader timeout splits the ACCEPT \
            locks and the height never decides (no lock-change round; docs/protocol.md)"]
fn a_long_two_two_split_finalises_nothing_twice_and_resumes_after_healing() {
    let _serial = serial();
    split_two_two(25, 2000);
}

/// One request of the junk flood: its path, its `x-casl2-peer` value, its body. `block` is a
/// real final block (JSON), replayed in messages a keyless client cannot sign.
fn junk(k: u64, block: &Value) -> (&'static str, Option<String>, String) {
    let stranger = dev_key(7).unwrap();
    let member = dev_key(1).unwrap().address();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let commit = json!({"type": "commit", "block": block}).to_string();
    let proposal = json!({"type": "proposal", "block": block}).to_string();
    let by_stranger = |body: &str| sign_peer_message(&stranger, 1, now, body.as_bytes()).unwrap();
    match k % 10 {
        0 => (
            "/p2p/message",
            None,
            "{\"type\":\"proposal\",\"block\":".into(),
        ),
        1 => ("/p2p/message", None, commit),
        2 => ("/p2p/message", Some(by_stranger(&proposal)), proposal),
        3 => {
            // A member's address over a stranger's signature.
            let h = by_stranger(&commit);
            let forged = format!("{member}:{}", h.split_once(':').unwrap().1);
            ("/p2p/message", Some(forged), commit)
        }
        4 => ("/p2p/message", Some(format!("{member}:{now}:zz")), commit),
        5 => (
            "/p2p/batch-sign",
            None,
            r#"{"header":{"version":1}}"#.into(),
        ),
        6 => {
            let header = BatchHeader {
                sequencer_address: member,
                ..BatchHeader::default()
            };
            let req = BatchSignRequest {
                header,
                pre_state_root: H256::default(),
                poster_signature: BlockSignature {
                    sequencer: member,
                    signature: vec![0x30; 8],
                    timestamp: 0,
                },
            };
            (
                "/p2p/batch-sign",
                None,
                serde_json::to_string(&req).unwrap(),
            )
        }
        7 => (
            "/",
            None,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":".into(),
        ),
        8 => (
            "/",
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "l2_sendrawtransaction", "params": ["zz"]})
                .to_string(),
        ),
        _ => (
            "/",
            None,
            Value::Array(vec![
                json!({"jsonrpc": "2.0", "id": 1, "method": "l2_nosuch", "params": [k]});
                5
            ])
            .to_string(),
        ),
    }
}

/// POST `body` to `path` of 127.0.0.1:`port`; the answer's status, or what went wrong.
fn post_raw(port: u16, path: &str, auth: Option<&str>, body: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return "refused".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let auth = auth
        .map(|a| format!("x-casl2-peer: {a}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return "reset".into();
    }
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) if out.len() >= 12 => String::from_utf8_lossy(&out[9..12]).into_owned(),
        Ok(_) => "no answer".into(),
        Err(_) => "timeout".into(),
    }
}

/// Most junk requests a second from one flood thread.
const FLOOD_RATE: f64 = 1_500.0;

/// Send junk round-robin to `ports` until `stop`; how it was answered (by path and status).
fn flood(ports: Vec<u16>, block: Value, stop: Arc<AtomicBool>, seed: u64) -> BTreeMap<String, u64> {
    let mut seen = BTreeMap::new();
    // Signed once (the signatures' time stays within the 60 s the nodes allow).
    let reqs: Vec<_> = (0..10).map(|k| junk(k, &block)).collect();
    let t0 = Instant::now();
    for (sent, k) in (seed..seed + 1_000_000).enumerate() {
        // At most FLOOD_RATE a second: with two threads, the JSON-RPC junk stays under the
        // nodes' limit per client address (5,000 a second), which the test's polls share.
        let due = Duration::from_secs_f64(sent as f64 / FLOOD_RATE);
        if let Some(early) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(early);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let (path, auth, body) = &reqs[k as usize % reqs.len()];
        let port = ports[(k / 10) as usize % ports.len()];
        let answer = post_raw(port, path, auth.as_deref(), body);
        *seen.entry(format!("{path} {answer}")).or_default() += 1;
    }
    seen
}

#[test]
fn a_junk_flood_on_the_real_ports_stops_neither_finality_nor_answers() {
    let _serial = serial();
    let net = Net::start(500);
    let (status, _, block) = get(&format!("127.0.0.1:{}", net.ports[0]), "/p2p/block/1");
    assert_eq!(status, 200);
    let block: Value = serde_json::from_slice(&block).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let floods: Vec<_> = [0u64, 5]
        .into_iter()
        .map(|seed| {
            let (ports, block, stop) = (net.ports.clone(), block.clone(), stop.clone());
            std::thread::spawn(move || flood(ports, block, stop, seed))
        })
        .collect();
    let (h0, t0) = (heights(&net.ports), Instant::now());
    let mut unanswered = 0u64;
    let mut hs = h0.clone();
    // At least 6 s of flood, until every node finalised 3 blocks more (at most 60 s).
    while t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
        for (i, p) in net.ports.iter().enumerate() {
            match height(*p) {
                Some(h) => hs[i] = h,
                None => unanswered += 1,
            }
        }
        if t0.elapsed() >= Duration::from_secs(6) && hs.iter().zip(&h0).all(|(h, b)| *h >= b + 3) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let flooded = t0.elapsed();
    let mut answers: BTreeMap<String, u64> = BTreeMap::new();
    for f in floods {
        for (k, v) in f.join().unwrap() {
            *answers.entry(k).or_default() += v;
        }
    }
    let sent: u64 = answers.values().sum();
    eprintln!(
        "junk flood: {sent} requests in {:.1} s from 2 threads ({:.0}/s), answered {answers:?}; \
         heights {h0:?} -> {hs:?}; {unanswered} of our height polls unanswered",
        flooded.as_secs_f64(),
        sent as f64 / flooded.as_secs_f64()
    );
    assert!(
        hs.iter().zip(&h0).all(|(h, b)| *h >= b + 3),
        "finality stalled under the flood: {h0:?} -> {hs:?}"
    );
    assert_eq!(unanswered, 0, "height polls unanswered during the flood");
    for p in &net.ports {
        assert!(
            height(*p).is_some(),
            "node on {p} does not answer after the flood"
        );
    }
    // No junk peer message or batch request was taken (JSON-RPC errors come with 200).
    assert!(
        answers
            .iter()
            .all(|(k, _)| !k.starts_with("/p2p") || !k.ends_with(" 200")),
        "{answers:?}"
    );
    one_hash_per_height(&net.ports, *hs.iter().min().unwrap());
}
