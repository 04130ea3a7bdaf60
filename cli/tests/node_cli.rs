//! `casl2 node` as an operator runs it: a real `casl2 l1 devnet` child process, a chain
//! registered over its RPC, then `casl2 node --key … --announce-stake …` which announces itself
//! on L1 and produces final blocks alone (its weight is the whole set). Bad flags and bad RPC
//! input get clear errors. `casl2 devnet` runs a network and resumes it from its directory.

mod support;

use casl2_fullnode::devnet::{authority_key, dev_key};
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::{ChainParams, Network};
use casl2_verifier::smt::empty_root;
use casl2_verifier::{Encode, PrivateKey};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{first_json_line, host_of, post, rpc, Killed};

fn send(host: &str, key: &PrivateKey, op: L1Op) {
    let acct = rpc(host, "getaccount", json!([key.address()]));
    let nonce = acct["result"]["nextNonce"].as_u64().unwrap();
    let tx = L1Tx::signed(key, nonce, op).unwrap();
    let r = rpc(
        host,
        "sendrawtransaction",
        json!([hex::encode(tx.encode())]),
    );
    assert!(r.get("error").is_none(), "{r}");
}

#[test]
fn a_single_sequencer_announces_itself_and_finalises_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut l1 = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args([
            "--json",
            "l1",
            "devnet",
            "--port",
            "0",
            "--block-interval-ms",
            "300",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("l1"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let info = first_json_line(&mut l1);
    let _l1 = Killed(l1);
    let l1_url = info["rpcUrl"].as_str().unwrap().to_string();
    let l1_host = host_of(&l1_url);
    let seq = dev_key(1).unwrap();
    send(
        &l1_host,
        &dev_key(0).unwrap(),
        L1Op::RegisterChain {
            chain_id: 9,
            name: "cli-test".into(),
            params: ChainParams::for_network(Network::Regtest),
            genesis_root: empty_root(),
            deployer_stake: 10 * casl2_verifier::params::COIN,
        },
    );
    send(
        &l1_host,
        &authority_key().unwrap(),
        L1Op::SetHatScore {
            address: seq.address(),
            score: 80,
        },
    );

    let mut node = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args([
            "--json",
            "node",
            "--listen",
            "127.0.0.1:0",
            "--chain-id",
            "9",
        ])
        .args(["--announce-stake", "100", "--run-for", "120"])
        .args(["--l1", &l1_url, "--key", &seq.to_hex()])
        .arg("--data-dir")
        .arg(dir.path().join("node"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = first_json_line(&mut node);
    let _node = Killed(node);
    assert_eq!(
        started["role"],
        json!(format!("sequencer {}", seq.address()))
    );
    let host = host_of(started["rpcUrl"].as_str().unwrap());

    let t0 = Instant::now();
    loop {
        let h = rpc(&host, "l2_blocknumber", json!([]))["result"]
            .as_u64()
            .unwrap_or(0);
        if h >= 3 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no block 3 after 60 s (height {h})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Registered on L1 with its endpoint.
    let seqs = rpc(&l1_host, "l2_getsequencers", json!([9]));
    assert_eq!(seqs["result"][0]["address"], json!(seq.address()));
    let b = rpc(&host, "l2_getblockbynumber", json!([1]));
    assert_eq!(b["result"]["header"]["sequencer"], json!(seq.address()));

    // Bad RPC input: each gets its JSON-RPC error, the node keeps running.
    let (_, b) = post(&host, "{not json");
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["error"]["code"],
        json!(-32700)
    );
    let r = rpc(&host, "l2_nosuchmethod", json!([]));
    assert_eq!(r["error"]["code"], json!(-32601));
    let r = rpc(&host, "l2_getbalance", json!([42]));
    assert_eq!(r["error"]["code"], json!(-32602));
    let r = rpc(&host, "l2_getbalance", json!(["0x1234"]));
    assert_eq!(r["error"]["code"], json!(-32602));
    let r = rpc(&host, "l2_sendrawtransaction", json!(["00ff"]));
    assert_eq!(r["error"]["code"], json!(-32602), "{r}");
    let r = rpc(&host, "l2_getblockbynumber", json!([-1]));
    assert_eq!(r["error"]["code"], json!(-32602));
    let r = rpc(&host, "admin_status", json!([]));
    assert_eq!(r["error"]["code"], json!(-32030));
    let big = format!("[\"{}\"]", "a".repeat(2 * 1024 * 1024));
    let (status, _) = post(&host, &big);
    assert_eq!(status, 413);
    let h = rpc(&host, "l2_blocknumber", json!([]))["result"]
        .as_u64()
        .unwrap();
    assert!(h >= 3);
}

fn fails_with(args: &[&str], needle: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn bad_flags_and_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    fails_with(&["node", "--key", "zz"], "--key");
    fails_with(&["node", "--network", "moonnet"], "unknown network");
    fails_with(
        &[
            "node",
            "--announce-stake",
            "1.000000001",
            "--key",
            &dev_key(1).unwrap().to_hex(),
        ],
        "decimals",
    );
    fails_with(&["node", "--announce-stake", "5"], "needs --key");
    let key = dev_key(1).unwrap().to_hex();
    let someone = dev_key(7).unwrap().address().to_string();
    fails_with(&["node", "--censor", "0xnope", "--key", &key], "--censor");
    fails_with(&["node", "--censor", &someone], "needs --key");
    fails_with(
        &[
            "node",
            "--censor",
            &someone,
            "--key",
            &key,
            "--network",
            "testnet",
        ],
        "refused on testnet",
    );
    fails_with(
        &[
            "node",
            "--censor",
            &someone,
            "--key",
            &key,
            "--dishonest",
            "bad-signature",
        ],
        "no --dishonest",
    );
    fails_with(&["node", "--l1", "ftp://x"], "not an http:// URL");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "colour = \"blue\"\n").unwrap();
    fails_with(&["node", "--config", bad.to_str().unwrap()], "bad.toml");
    let missing = dir.path().join("missing.toml");
    fails_with(
        &["node", "--config", missing.to_str().unwrap()],
        "missing.toml",
    );
}

#[test]
fn casl2_devnet_runs_a_network_and_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |min: u64| -> u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_casl2"))
            .args([
                "--json",
                "devnet",
                "--port",
                "0",
                "--www-port",
                "0",
                "--run-for",
                "60",
                "--l1-block-ms",
                "300",
            ])
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let info = first_json_line(&mut child);
        let _c = Killed(child);
        assert_eq!(info["nodes"].as_array().unwrap().len(), 4); // the default
        let hosts: Vec<String> = info["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| host_of(n["rpcUrl"].as_str().unwrap()))
            .collect();
        let t0 = Instant::now();
        loop {
            let hs: Vec<u64> = hosts
                .iter()
                .map(|h| {
                    rpc(h, "l2_blocknumber", json!([]))["result"]
                        .as_u64()
                        .unwrap_or(0)
                })
                .collect();
            if hs.iter().all(|h| *h >= min) {
                return hs[0];
            }
            assert!(
                t0.elapsed() < Duration::from_secs(45),
                "heights {hs:?}, want {min}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let first = run(2);
    // Same directory: the chain continues where it was.
    let again = run(first + 1);
    assert!(again > first);
}

/// `examples/network/`: every config its compose file names parses with `casl2 node --config
/// … --check-config` (the CI check when no container daemon runs), the sequencers are dev keys
/// 1..4 on distinct ports, the set-up script announces exactly those endpoints, and the scripts
/// are valid bash.
#[test]
fn the_example_network_configs_parse_and_match_the_setup() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/network");
    let compose = std::fs::read_to_string(root.join("compose.yaml")).unwrap();
    let setup = std::fs::read_to_string(root.join("setup.sh")).unwrap();
    let names: Vec<&str> = compose
        .split("/etc/casl2/network/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|s| s.ends_with(".toml"))
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    let mut ports = std::collections::BTreeSet::new();
    for name in names {
        let out = Command::new(env!("CARGO_BIN_EXE_casl2"))
            .args(["--json", "node", "--check-config", "--config"])
            .arg(root.join(name))
            .env_remove("CASL2_CONFIG")
            .env_remove("CASL2_KEY")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["chainId"], 1, "{name}: {v}");
        assert_eq!(v["l1"], "http://127.0.0.1:18545/", "{name}: {v}");
        let listen = v["listen"].as_str().unwrap().to_string();
        assert!(ports.insert(listen.clone()), "{name}: {listen} used twice");
        if let Some(i) = name
            .strip_prefix("seq")
            .and_then(|s| s.strip_suffix(".toml"))
        {
            let i: u32 = i.parse().unwrap();
            assert_eq!(v["role"], "sequencer", "{name}");
            assert_eq!(
                v["sequencer"],
                json!(dev_key(i).unwrap().address()),
                "{name}: not dev key {i}"
            );
            assert_eq!(listen, format!("127.0.0.1:1864{i}"));
            assert!(setup.contains(&dev_key(i).unwrap().to_hex()), "{name}");
        } else {
            assert_eq!(v["role"], "follower", "{name}");
        }
    }
    assert!(setup.contains("--endpoint \"http://127.0.0.1:1864$i/\""));
    for script in ["setup.sh", "run.sh"] {
        let ok = Command::new("bash")
            .arg("-n")
            .arg(root.join(script))
            .status()
            .unwrap();
        assert!(ok.success(), "{script} is not valid bash");
    }
    // A bad file is a one-line error naming it.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "listen = 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(["node", "--check-config", "--config"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid casl2 node config"));
}
