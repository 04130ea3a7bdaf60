//! `casl2 force` against `casl2 devnet --scenario censor`: the censored user's `casl2 transfer`
//! is never included, `casl2 force` gets the same transfer in through L1's forced queue before
//! its deadline; when the sequencers ignore the forced queue too, `casl2 force` reports the
//! punishment (exit 1), the chain's L1 entry and the sequencer's show it, and the third missed
//! message puts the chain in EMERGENCY.

mod support;

use casl2_fullnode::devnet::dev_key;
use casl2_verifier::params::COIN;
use casl2_verifier::PrivateKey;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{call, casl2, devnet, fails, ok_json, sh, Killed};

/// The censored user: dev key 5 (a funded account of a one-sequencer devnet).
fn censored() -> PrivateKey {
    dev_key(5).unwrap()
}

/// A one-sequencer devnet censoring dev key 5 (and the forced queue with `forced`), with the
/// user's 50 CAS deposited on L2. Returns the devnet, its L1 URL, its sequencer's address and a
/// command builder with the wallet and the L1 set.
fn censoring_net(
    dir: &std::path::Path,
    forced: bool,
) -> (Killed, String, String, impl Fn(&str) -> Command) {
    let who = censored().address().to_string();
    let extra = if forced { " --censor-forced" } else { "" };
    let (net, info, _) = devnet(
        dir,
        &format!(
            "--port 0 --no-www --sequencers 1 --l1-block-ms 1000 --run-for 400 --no-challenger \
             --scenario censor --censor {who}{extra}"
        ),
    );
    assert_eq!(info["censor"]["address"], json!(who), "{info}");
    assert_eq!(info["censor"]["ignoreForced"], json!(forced));
    let l1 = info["l1RpcUrl"].as_str().unwrap().to_string();
    let node = info["nodes"][0]["rpcUrl"].as_str().unwrap().to_string();
    let seq = info["nodes"][0]["sequencer"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while call(&node, "l2_blocknumber", json!([]))
        .as_u64()
        .unwrap_or(0)
        < 1
    {
        assert!(t0.elapsed() < Duration::from_secs(60), "no L2 blocks");
        std::thread::sleep(Duration::from_millis(200));
    }
    let wallet = dir.join("wallet");
    let l1c = l1.clone();
    let run = move |args: &str| {
        let mut c = casl2(&wallet);
        c.args(sh(args)).args(["--l1", &l1c]);
        c
    };
    let key = censored().to_hex();
    // Deposits are queue messages, not mempool transactions: the censor credits them.
    let d = ok_json(run(&format!("--json deposit 50 --key {key} --timeout 120")));
    assert_eq!(d["credited"], true, "{d}");
    (net, l1, seq, run)
}

#[test]
fn a_censored_transfer_gets_in_through_the_forced_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (_net, l1, _, run) = censoring_net(dir.path(), false);
    let key = censored().to_hex();
    let to = dev_key(6).unwrap().address().to_string();
    // The sequencers accept the transfer but never include it.
    let out = run(&format!("--json transfer {to} 1 --key {key} --timeout 8"))
        .output()
        .unwrap();
    fails(out, "gave up after 8 s waiting for the transfer");
    let f = ok_json(run(&format!(
        "--json force {to} 1 --key {key} --timeout 120"
    )));
    assert_eq!(f["outcome"], "included", "{f}");
    assert_eq!(f["anchored"], true, "{f}");
    assert_eq!(f["success"], true, "{f}");
    assert!(f["l2Block"].as_u64().unwrap() > 0, "{f}");
    assert_eq!(f["missed"], json!([]), "{f}");
    assert_eq!(f["slashed"], json!([]), "{f}");
    assert_eq!(
        f["nonce"], 0,
        "the head nonce: the censored transfer is superseded"
    );
    let node = call(&l1, "l2_getsequencers", json!([1]))[0]["endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(call(&node, "l2_getbalance", json!([to])), json!(COIN));
    // `--resume` waits for the same message again (here: already decided) and sends nothing.
    let l1tx = f["l1Tx"].as_str().unwrap();
    let again = ok_json(run(&format!("--json force --resume {l1tx} --key {key}")));
    assert_eq!(
        (&again["outcome"], &again["messageIndex"], &again["slashed"]),
        (&json!("included"), &f["messageIndex"], &Value::Null),
        "{again}"
    );
    assert_eq!(call(&node, "l2_getbalance", json!([to])), json!(COIN));
    // Bad input is named before anything is sent.
    fails(
        run(&format!("force {to} 0 --key {key}")).output().unwrap(),
        "more than 0",
    );
    fails(
        run(&format!("force 0x12 1 --key {key}")).output().unwrap(),
        "recipient",
    );
    fails(
        run(&format!("force {to} 1 --key {key} --chain 9"))
            .output()
            .unwrap(),
        "no L2 chain 9",
    );
}

#[test]
fn a_forced_transfer_the_sequencers_ignore_gets_the_chain_punished() {
    let dir = tempfile::tempdir().unwrap();
    let (_net, _l1, seq, run) = censoring_net(dir.path(), true);
    let key = censored().to_hex();
    let to = dev_key(6).unwrap().address().to_string();
    let out = run(&format!("--json force {to} 1 --key {key} --timeout 120"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(f["outcome"], "punished", "{f}");
    assert_eq!(f["anchored"], false, "{f}");
    assert_eq!(f["l2Block"], Value::Null, "{f}");
    let index = f["messageIndex"].clone();
    assert_eq!(f["missed"], json!([index]), "{f}");
    assert_eq!(
        f["slashed"],
        json!([{ "address": seq, "amount": COIN }]),
        "{f}"
    );
    // The chain's L1 entry and the sequencer's show it.
    let info = ok_json(run("--json chain info --chain 1"));
    assert_eq!(info["missed"], json!([index]), "{info}");
    assert_eq!(
        info["status"], "ACTIVE",
        "one missed message is not yet EMERGENCY"
    );
    let s = ok_json(run(&format!("--json sequencer status {seq} --chain 1")));
    assert_eq!(s["slashed"], json!(COIN), "{s}");
    // Two more missed messages: the third puts the chain in EMERGENCY, as the rules say.
    let mut last = Value::Null;
    for amount in ["2", "3"] {
        let out = run(&format!(
            "--json force {to} {amount} --key {key} --timeout 120"
        ))
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        last = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap())
            .unwrap();
        assert_eq!(last["outcome"], "punished", "{last}");
    }
    assert_eq!(last["chainStatus"], "EMERGENCY", "{last}");
    assert_eq!(last["missed"].as_array().unwrap().len(), 3, "{last}");
    let info = ok_json(run("--json chain info --chain 1"));
    assert_eq!(info["status"], "EMERGENCY", "{info}");
}
