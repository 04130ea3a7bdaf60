//! What the CLI's end-to-end tests share: child processes that die with the test, and plain
//! HTTP/JSON-RPC to 127.0.0.1 over `TcpStream` (no client library in the tests' way).
#![allow(dead_code)]

pub mod fake_rpc;
pub mod network;
pub mod proxy;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Lines, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;

/// Kills the child when dropped (a failing assertion leaves no process behind).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `127.0.0.1:port` from `http://127.0.0.1:port/` (a bare host is returned as it is).
pub fn host_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// The first line the child prints on stdout, as JSON (the `--json` banner).
pub fn first_json_line(child: &mut Child) -> Value {
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// Start `casl2 --json devnet ARGS --data-dir DIR/net` and read its banner (the first line of
/// its output). Returns the child (killed on drop), the banner, and the rest of its output.
pub fn devnet(dir: &Path, args: &str) -> (Killed, Value, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(["--json", "devnet"])
        .args(sh(args))
        .arg("--data-dir")
        .arg(dir.join("net"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let child = Killed(child);
    let line = lines.next().expect("the devnet's banner").unwrap();
    let banner = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, banner, lines)
}

/// A `casl2` command with the wallet in `wallet` and nothing from the caller's environment.
pub fn casl2(wallet: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_casl2"));
    for k in [
        "CASL2_PASSPHRASE",
        "CASL2_PASSPHRASE_FILE",
        "CASL2_KEY",
        "CASL2_KEYSTORE",
        "CASL2_NODE",
        "CASL2_L1",
        "CASL2_CHAIN_ID",
    ] {
        c.env_remove(k);
    }
    c.env("CASL2_WALLET_DIR", wallet).stdin(Stdio::null());
    c
}

/// Run `cmd`, which must succeed; its last line of output as JSON.
pub fn ok_json(mut cmd: Command) -> Value {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Exit 2, one line on stderr that contains `needle`, no panic.
pub fn fails(out: Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "want {needle:?} in: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Split a shell-like argument string on whitespace.
pub fn sh(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn exchange(host: &str, request: String) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

/// POST a raw body to `url` (or host); returns (HTTP status, body).
pub fn post(url: &str, body: &str) -> (u16, String) {
    let host = host_of(url);
    let (status, _, b) = exchange(
        &host,
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    (status, String::from_utf8_lossy(&b).to_string())
}

/// GET `path` from `url` (or host); returns (HTTP status, response head, body).
pub fn get(url: &str, path: &str) -> (u16, String, Vec<u8>) {
    let host = host_of(url);
    exchange(
        &host,
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

/// A JSON-RPC call; returns the whole response object (result or error).
pub fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let (_, b) = post(url, &body);
    serde_json::from_str(&b).unwrap_or_else(|e| panic!("{method}: {e}: {b}"))
}

/// A JSON-RPC call that must succeed; returns its result.
pub fn call(url: &str, method: &str, params: Value) -> Value {
    let v = rpc(url, method, params);
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// Start `casl2 --json l1 devnet` in `dir` (a free port, `accounts` funded dev keys, a block
/// every `block_ms`); returns the child (killed on drop), its RPC URL and its banner.
pub fn l1_devnet(dir: &Path, accounts: u32, block_ms: u64) -> (Killed, String, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(["--json", "l1", "devnet", "--port", "0", "--accounts"])
        .arg(accounts.to_string())
        .arg("--block-interval-ms")
        .arg(block_ms.to_string())
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner = first_json_line(&mut child);
    let url = banner["rpcUrl"].as_str().unwrap().to_string();
    (Killed(child), url, banner)
}
