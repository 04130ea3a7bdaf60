//! The network as operators run it: `casl2 l1 devnet`, and four `casl2 node` sequencers, each
//! its own process, set up with the commands an operator types (`chain register`, `l1 hat set`,
//! `sequencer announce`). One sequencer is killed with SIGKILL while users' transfers go through;
//! the other three (three of four is the chain's 67 % threshold) keep finalising; the killed one
//! is started again on its data directory and catches up; no final block is lost or changed.

mod support;

use casl2_fullnode::devnet::dev_key;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{casl2, l1_devnet, ok_json, Killed};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A JSON-RPC call to a node that may be down (`None` then).
fn try_call(port: u16, method: &str, params: Value) -> Option<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let v: Value = serde_json::from_slice(&out[split + 4..]).ok()?;
    v.get("result").cloned()
}

fn height(port: u16) -> Option<u64> {
    try_call(port, "l2_blocknumber", json!([]))?.as_u64()
}

fn block_hash(port: u16, n: u64) -> Option<String> {
    Some(
        try_call(port, "l2_getblockbynumber", json!([n]))?["hash"]
            .as_str()?
            .to_string(),
    )
}

/// Start sequencer `i` (dev key `i`) as its own `casl2 node` process.
fn node(dir: &Path, i: u32, l1: &str, port: u16) -> Killed {
    let key = dev_key(i).unwrap().to_hex();
    let child = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(["node", "--key", &key, "--chain-id", "1", "--l1", l1])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.join(format!("node-{i}")))
        .env_remove("CASL2_CONFIG")
        .env_remove("CASL2_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}

/// Wait (at most `secs`) until every node of `ports` is at height `min` or above.
fn all_reach(ports: &[u16], min: u64, secs: u64, what: &str) -> Vec<u64> {
    let t0 = Instant::now();
    loop {
        let hs: Vec<u64> = ports.iter().map(|p| height(*p).unwrap_or(0)).collect();
        if hs.iter().all(|h| *h >= min) {
            return hs;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what}: heights {hs:?}, want {min}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn four_sequencer_processes_survive_a_kill_and_the_killed_one_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let (_l1, l1, banner) = l1_devnet(&dir.path().join("l1"), 8, 500);
    let wallet = dir.path().join("wallet");
    let authority = banner["authority"]["privateKey"]
        .as_str()
        .unwrap()
        .to_string();
    let cmd = |args: &[&str]| {
        let mut c = casl2(&wallet);
        c.arg("--json").args(args).args(["--l1", &l1]);
        c
    };
    // The operator's set-up: a chain, four scored and announced sequencers.
    let deployer = dev_key(0).unwrap().to_hex();
    let r = ok_json(cmd(&[
        "chain", "register", "--name", "procs", "--key", &deployer,
    ]));
    assert_eq!(r["chainId"], 1, "{r}");
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    for i in 1..=4u32 {
        let k = dev_key(i).unwrap();
        let addr = k.address().to_string();
        ok_json(cmd(&["l1", "hat", "set", &addr, "80", "--key", &authority]));
        let endpoint = format!("http://127.0.0.1:{}/", ports[i as usize - 1]);
        let a = ok_json(cmd(&[
            "sequencer",
            "announce",
            "--chain",
            "1",
            "--stake",
            "100",
            "--endpoint",
            &endpoint,
            "--key",
            &k.to_hex(),
        ]));
        assert_eq!(a["status"], "ACTIVE", "{a}");
    }
    let mut nodes: Vec<Killed> = (1..=4u32)
        .map(|i| node(dir.path(), i, &l1, ports[i as usize - 1]))
        .collect();
    all_reach(&ports, 2, 120, "the network to start");

    // A user deposits, then transfers while a sequencer is killed.
    let user = dev_key(6).unwrap().to_hex();
    let to = dev_key(7).unwrap().address().to_string();
    let node0 = format!("http://127.0.0.1:{}/", ports[0]);
    let user_cmd = |args: &[&str]| {
        let mut c = cmd(args);
        c.args(["--node", &node0]);
        c
    };
    let d = ok_json(user_cmd(&[
        "deposit",
        "20",
        "--key",
        &user,
        "--timeout",
        "120",
    ]));
    assert_eq!(d["credited"], true, "{d}");
    let t = ok_json(user_cmd(&[
        "transfer",
        &to,
        "1",
        "--key",
        &user,
        "--timeout",
        "60",
    ]));
    let first_tx = t["hash"].clone();

    // SIGKILL sequencer 4 (no shutdown of any kind).
    let killed_at = height(ports[3]).unwrap_or(0);
    let _ = nodes[3].0.kill();
    let _ = nodes[3].0.wait();
    let live = &ports[..3];
    let before = live.iter().map(|p| height(*p).unwrap_or(0)).max().unwrap();
    let t = ok_json(user_cmd(&[
        "transfer",
        &to,
        "2",
        "--key",
        &user,
        "--timeout",
        "60",
    ]));
    let second_tx = t["hash"].clone();
    all_reach(live, before + 5, 90, "three of four to go on finalising");

    // Restarted on its data directory, the killed sequencer catches up.
    nodes[3] = node(dir.path(), 4, &l1, ports[3]);
    let target = live.iter().map(|p| height(*p).unwrap_or(0)).max().unwrap();
    let hs = all_reach(&ports, target, 90, "the killed node to catch up");
    assert!(hs[3] > killed_at, "{hs:?}");

    // Nothing final lost or changed: one hash per height on every node, and both transfers
    // in exactly one final block.
    let top = *hs.iter().min().unwrap();
    for n in 1..=top {
        let mut hashes: Vec<Option<String>> = ports.iter().map(|p| block_hash(*p, n)).collect();
        hashes.dedup();
        assert_eq!(hashes.len(), 1, "height {n}: {hashes:?}");
        assert!(hashes[0].is_some(), "height {n} missing");
    }
    for tx in [first_tx, second_tx] {
        for p in &ports {
            let r = try_call(*p, "l2_gettransactionreceipt", json!([tx])).unwrap_or(Value::Null);
            assert!(r["blockNumber"].as_u64().is_some(), "{tx} on {p}: {r}");
        }
    }
    drop(nodes);
}
