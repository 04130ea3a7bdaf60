//! `casl2 chain register|list|info|status` against a `casl2 l1 devnet` child process: the
//! registry commands apply the L1's rules (a taken id, a status change by someone who is not the
//! deployer) and say which rule refused, and a parameter file overrides the preset.

mod support;

use casl2_fullnode::devnet::dev_key;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{casl2, fails, ok_json, Killed};

fn l1(dir: &std::path::Path) -> (Killed, String, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(["--json", "l1", "devnet", "--port", "0", "--accounts", "2"])
        .args(["--block-interval-ms", "50", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    (child, v["rpcUrl"].as_str().unwrap().to_string(), v)
}

#[test]
fn register_list_info_and_status_on_the_devnet() {
    let dir = tempfile::tempdir().unwrap();
    let (_l1, url, _) = l1(&dir.path().join("l1"));
    let wallet = dir.path().join("wallet");
    let deployer = dev_key(0).unwrap().to_hex();
    let other = dev_key(1).unwrap().to_hex();
    let cmd = |args: &[&str]| {
        let mut c = casl2(&wallet);
        c.arg("--json").args(args).args(["--l1", &url]);
        c
    };

    let list = ok_json(cmd(&["chain", "list"]));
    assert_eq!(list, serde_json::json!([]));
    // A parameter file overrides the preset; an unknown field is named.
    let params = dir.path().join("params.toml");
    std::fs::write(&params, "challengePeriod = 30\nbatchInterval = 7\n").unwrap();
    let p = params.to_str().unwrap();
    let r = ok_json(cmd(&[
        "chain", "register", "--name", "demo", "--key", &deployer, "--params", p,
    ]));
    assert_eq!(r["chainId"], 1);
    assert_eq!(r["backend"], "devnet");
    let info = ok_json(cmd(&["chain", "info", "--chain", "1"]));
    assert_eq!(info["name"], "demo");
    assert_eq!(info["status"], "BOOTSTRAPPING");
    assert_eq!(info["params"]["challengePeriod"], 30);
    assert_eq!(info["params"]["batchInterval"], 7);
    // The next free id is chosen; a taken id is the L1's refusal, named.
    let r = ok_json(cmd(&[
        "chain", "register", "--name", "two", "--key", &deployer,
    ]));
    assert_eq!(r["chainId"], 2);
    let out = cmd(&[
        "chain",
        "register",
        "--name",
        "again",
        "--key",
        &deployer,
        "--chain-id",
        "1",
    ])
    .output()
    .unwrap();
    fails(out, "refused");
    assert_eq!(
        ok_json(cmd(&["chain", "list"])).as_array().unwrap().len(),
        2
    );
    // Only the deployer changes the status.
    let out = cmd(&[
        "chain",
        "status",
        "deprecated",
        "--chain",
        "1",
        "--key",
        &other,
    ])
    .output()
    .unwrap();
    fails(out, "deployer");
    let s = ok_json(cmd(&[
        "chain",
        "status",
        "deprecated",
        "--chain",
        "1",
        "--key",
        &deployer,
    ]));
    assert_eq!(
        (s["from"].as_str(), s["to"].as_str()),
        (Some("BOOTSTRAPPING"), Some("DEPRECATED"))
    );
    let info = ok_json(cmd(&["chain", "info", "--chain", "1"]));
    assert_eq!(info["status"], "DEPRECATED");
    // Bad input: a bad parameter file, no key, an unknown chain.
    std::fs::write(&params, "challengePeriodd = 30\n").unwrap();
    let out = cmd(&[
        "chain", "register", "--name", "x", "--key", &deployer, "--params", p,
    ])
    .output()
    .unwrap();
    fails(out, "unknown parameter \"challengePeriodd\"");
    let out = cmd(&["chain", "register", "--name", "x"]).output().unwrap();
    fails(out, "--key is needed");
    let out = cmd(&["chain", "info", "--chain", "9"]).output().unwrap();
    fails(out, "chain 9");
}

#[test]
fn hat_scores_are_set_by_the_authority_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_l1, url, banner) = l1(&dir.path().join("l1"));
    let wallet = dir.path().join("wallet");
    let authority = banner["authority"]["privateKey"]
        .as_str()
        .unwrap()
        .to_string();
    let who = dev_key(1).unwrap().address().to_string();
    let cmd = |args: &[&str]| {
        let mut c = casl2(&wallet);
        c.arg("--json").args(args).args(["--l1", &url]);
        c
    };
    let g = ok_json(cmd(&["l1", "hat", "get", &who]));
    let before = g["hatScore"].as_u64().unwrap();
    let s = ok_json(cmd(&["l1", "hat", "set", &who, "77", "--key", &authority]));
    assert_eq!(s["hatScore"], 77);
    assert_ne!(before, 77);
    assert_eq!(ok_json(cmd(&["l1", "hat", "get", &who]))["hatScore"], 77);
    // Only the authority sets scores; 101 is no score; a bad address is named.
    let other = dev_key(0).unwrap().to_hex();
    fails(
        cmd(&["l1", "hat", "set", &who, "50", "--key", &other])
            .output()
            .unwrap(),
        "refused",
    );
    fails(
        cmd(&["l1", "hat", "set", &who, "101", "--key", &authority])
            .output()
            .unwrap(),
        "0..=100",
    );
    fails(
        cmd(&["l1", "hat", "get", "0x12"]).output().unwrap(),
        "ADDRESS",
    );
}

#[test]
fn a_real_node_that_does_not_answer_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = casl2(dir.path())
        .args(["chain", "list", "--l1", "cascoind+http://u:p@127.0.0.1:1/"])
        .output()
        .unwrap();
    fails(out, "127.0.0.1:1");
    let out = casl2(dir.path())
        .args([
            "chain",
            "list",
            "--l1",
            "cascoind+http://127.0.0.1:1/?network=moon",
        ])
        .output()
        .unwrap();
    fails(out, "unknown network \"moon\"");
}
