//! A network of `casl2 node` processes as operators set it up (`casl2 l1 devnet`, `chain
//! register`, `l1 hat set`, `sequencer announce`), and what the tests ask of it over plain
//! JSON-RPC: heights and block hashes of nodes that may be down.

use super::{casl2, l1_devnet, ok_json, Killed};
use casl2_fullnode::devnet::dev_key;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A port of 127.0.0.1 free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A JSON-RPC call to a node that may be down (`None` then, or when it answers an error).
pub fn try_call(port: u16, method: &str, params: Value) -> Option<Value> {
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

/// The node's newest final block number.
pub fn height(port: u16) -> Option<u64> {
    try_call(port, "l2_blocknumber", json!([]))?.as_u64()
}

/// The hash of the node's final block `n`.
pub fn block_hash(port: u16, n: u64) -> Option<String> {
    Some(
        try_call(port, "l2_getblockbynumber", json!([n]))?["hash"]
            .as_str()?
            .to_string(),
    )
}

/// Every node's height (0 for one that does not answer).
pub fn heights(ports: &[u16]) -> Vec<u64> {
    ports.iter().map(|p| height(*p).unwrap_or(0)).collect()
}

/// Start sequencer `i` (dev key `i`) as its own `casl2 node` process listening on `port`;
/// `public_url` is the endpoint it was announced with when that is not its own port (a proxy).
pub fn node(dir: &Path, i: u32, l1: &str, port: u16, public_url: Option<&str>) -> Killed {
    let key = dev_key(i).unwrap().to_hex();
    let mut c = Command::new(env!("CARGO_BIN_EXE_casl2"));
    c.args(["node", "--key", &key, "--chain-id", "1", "--l1", l1])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.join(format!("node-{i}")));
    if let Some(url) = public_url {
        c.args(["--public-url", url]);
    }
    let child = c
        .env_remove("CASL2_CONFIG")
        .env_remove("CASL2_KEY")
        .env_remove("CASL2_PUBLIC_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}

/// Wait (at most `secs`) until every node of `ports` is at height `min` or above.
pub fn all_reach(ports: &[u16], min: u64, secs: u64, what: &str) -> Vec<u64> {
    let t0 = Instant::now();
    loop {
        let hs = heights(ports);
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

/// Every height from 1 to `top` has one hash, the same on every node of `ports`.
pub fn one_hash_per_height(ports: &[u16], top: u64) {
    for n in 1..=top {
        let mut hashes: Vec<Option<String>> = ports.iter().map(|p| block_hash(*p, n)).collect();
        hashes.dedup();
        assert_eq!(hashes.len(), 1, "height {n}: {hashes:?}");
        assert!(hashes[0].is_some(), "height {n} missing");
    }
}

/// An L1 devnet with chain 1 registered (by dev key 0) and the sequencers dev keys
/// 1..=`endpoints.len()` HAT-scored and announced, sequencer `i` at `endpoints[i - 1]`.
pub struct Chain {
    /// The L1 process (killed on drop).
    pub l1_process: Killed,
    /// The L1's RPC URL.
    pub l1: String,
    /// The wallet directory of the commands.
    pub wallet: PathBuf,
}

impl Chain {
    /// Set the chain up in `dir` with the commands an operator types, on an L1 with a block
    /// every `l1_block_ms`.
    pub fn start(dir: &Path, endpoints: &[String], l1_block_ms: u64) -> Chain {
        let (l1_process, l1, banner) = l1_devnet(&dir.join("l1"), 8, l1_block_ms);
        let chain = Chain {
            l1_process,
            l1,
            wallet: dir.join("wallet"),
        };
        let authority = banner["authority"]["privateKey"].as_str().unwrap();
        let deployer = dev_key(0).unwrap().to_hex();
        let r = ok_json(chain.cmd(&["chain", "register", "--name", "procs", "--key", &deployer]));
        assert_eq!(r["chainId"], 1, "{r}");
        for (i, endpoint) in (1u32..).zip(endpoints) {
            let k = dev_key(i).unwrap();
            let addr = k.address().to_string();
            ok_json(chain.cmd(&["l1", "hat", "set", &addr, "80", "--key", authority]));
            let a = ok_json(chain.cmd(&[
                "sequencer",
                "announce",
                "--chain",
                "1",
                "--stake",
                "100",
                "--endpoint",
                endpoint,
                "--key",
                &k.to_hex(),
            ]));
            assert_eq!(a["status"], "ACTIVE", "{a}");
        }
        chain
    }

    /// `casl2 --json ARGS --l1 L1` with the chain's wallet.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = casl2(&self.wallet);
        c.arg("--json").args(args).args(["--l1", &self.l1]);
        c
    }

    /// `casl2 --json ARGS --l1 L1 --node http://127.0.0.1:PORT/` (a user's command).
    pub fn user_cmd(&self, port: u16, args: &[&str]) -> Command {
        let mut c = self.cmd(args);
        c.args(["--node", &format!("http://127.0.0.1:{port}/")]);
        c
    }
}
