//! `casl2 l1 devnet` as a real child process: start, send transactions over RPC while it mines
//! on an interval, kill it with SIGKILL, and reopen the data dir: every block it reported is
//! there with its state. Then restart the command itself on the same data dir.

mod support;

use casl2_fullnode::devnet::{dev_key, Devnet, DevnetConfig};
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::COIN;
use casl2_verifier::Encode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{rpc, Killed};

fn spawn(dir: &std::path::Path, extra: &[&str]) -> (Killed, String, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(["--json", "l1", "devnet", "--port", "0", "--accounts", "3"])
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    let url = v["rpcUrl"].as_str().unwrap().to_string();
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    (child, host, v)
}

#[test]
fn devnet_survives_sigkill_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, host, info) = spawn(dir.path(), &["--block-interval-ms", "20"]);
    assert_eq!(info["accounts"].as_array().unwrap().len(), 3);
    assert_eq!(
        info["accounts"][0]["privateKey"].as_str().unwrap(),
        dev_key(0).unwrap().to_hex()
    );
    let (a, b) = (dev_key(0).unwrap(), dev_key(1).unwrap());
    // A burst of transfers while blocks are mined every 20 ms.
    for nonce in 0..40u64 {
        let tx = L1Tx::signed(
            &a,
            nonce,
            L1Op::Transfer {
                to: b.address(),
                amount: COIN,
            },
        )
        .unwrap();
        let r = rpc(
            &host,
            "sendrawtransaction",
            json!([hex::encode(tx.encode())]),
        );
        assert!(r.get("error").is_none(), "{r}");
    }
    // Wait for a few blocks, note what the node reported, then kill -9 mid-mining.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen_height = 0;
    while Instant::now() < deadline {
        seen_height = rpc(&host, "getblockcount", json!([]))["result"]
            .as_u64()
            .unwrap();
        if seen_height >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(seen_height >= 5);
    let seen_hash = rpc(&host, "getblockhash", json!([seen_height]))["result"].clone();
    let seen_b = rpc(&host, "getbalance", json!([b.address()]))["result"]
        .as_i64()
        .unwrap();
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();

    let path = dir.path().join("devnet.redb");
    {
        let d = Devnet::open(&path, &DevnetConfig::default()).unwrap();
        assert!(d.height() >= seen_height);
        assert_eq!(json!(d.state().block_hash(seen_height).unwrap()), seen_hash);
        assert!(d.state().balance(&b.address()) >= seen_b);
        assert_eq!(d.state().total_supply(), Some(d.state().genesis_supply()));
        assert_eq!(d.genesis().accounts.len(), 4);
    }

    // The command restarts on the same data dir with the chain kept.
    let (child, host, info) = spawn(dir.path(), &[]);
    assert!(info["height"].as_u64().unwrap() >= seen_height);
    assert_eq!(
        rpc(&host, "getblockhash", json!([seen_height]))["result"],
        seen_hash
    );
    drop(child);
}
