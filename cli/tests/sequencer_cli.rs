//! `casl2 sequencer announce|status|leave|withdraw-stake` against a `casl2 l1 devnet` child
//! process: a sequencer joins a chain, leaves it, is refused its stake while the unbonding delay
//! runs (the rule named, the blocks left said), and takes it back once the L1 has mined past
//! the delay; bad input gets the L1 rule's name. Against a fake real node: the node announces
//! its own key, `status` shows what it has, and what it lacks is named.

mod support;

use casl2_fullnode::devnet::dev_key;
use casl2_verifier::params::COIN;
use serde_json::json;
use support::{call, casl2, fails, l1_devnet, ok_json};

/// The chain's unbonding delay in L1 blocks: long against the test's own pace (100 ms blocks),
/// so the refusal cannot race the delay; the test mines past it with `generate`.
const DELAY: u64 = 600;

#[test]
fn announce_status_leave_and_withdraw_stake_follow_the_registry_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (_l1, url, banner) = l1_devnet(&dir.path().join("l1"), 3, 100);
    let wallet = dir.path().join("wallet");
    let authority = banner["authority"]["privateKey"]
        .as_str()
        .unwrap()
        .to_string();
    let deployer = dev_key(0).unwrap().to_hex();
    let seq = dev_key(1).unwrap();
    let (seq_hex, seq_addr) = (seq.to_hex(), seq.address().to_string());
    let stranger = dev_key(2).unwrap().address().to_string();
    let cmd = |args: &[&str]| {
        let mut c = casl2(&wallet);
        c.arg("--json").args(args).args(["--l1", &url]);
        c
    };

    let params = dir.path().join("params.toml");
    std::fs::write(
        &params,
        format!("unbondingDelay = {DELAY}\nemergencyAfter = 1000000\n"),
    )
    .unwrap();
    let p = params.to_str().unwrap();
    let r = ok_json(cmd(&[
        "chain", "register", "--name", "seqs", "--key", &deployer, "--params", p,
    ]));
    assert_eq!(r["chainId"], 1);
    ok_json(cmd(&[
        "l1", "hat", "set", &seq_addr, "80", "--key", &authority,
    ]));

    // Bad input: an unknown chain, a stake below the minimum (10 CAS on regtest), no key.
    let announce = |chain: &str, stake: &str| {
        cmd(&[
            "sequencer",
            "announce",
            "--chain",
            chain,
            "--stake",
            stake,
            "--endpoint",
            "http://127.0.0.1:1/",
            "--key",
            &seq_hex,
        ])
    };
    fails(announce("9", "20").output().unwrap(), "CHAIN_UNKNOWN");
    fails(announce("1", "1").output().unwrap(), "SEQ_NOT_ELIGIBLE");
    fails(announce("1", "x").output().unwrap(), "--stake");
    fails(
        cmd(&["sequencer", "status", "--chain", "1"])
            .output()
            .unwrap(),
        "ADDRESS",
    );

    // Announce: the chain turns ACTIVE, the entry shows the stake, HAT and endpoint.
    let a = ok_json(announce("1", "20"));
    assert_eq!(a["status"], "ACTIVE");
    assert_eq!(a["stake"], json!(20 * COIN));
    assert_eq!(a["hatScore"], 80);
    assert_eq!(a["endpoint"], "http://127.0.0.1:1/");
    assert!(a["l1Block"].as_u64().unwrap() > 0);
    let s = ok_json(cmd(&[
        "sequencer",
        "status",
        "--chain",
        "1",
        "--key",
        &seq_hex,
    ]));
    assert_eq!(
        (s["address"].as_str(), s["status"].as_str()),
        (Some(seq_addr.as_str()), Some("ACTIVE"))
    );
    assert_eq!(
        ok_json(cmd(&["chain", "info", "--chain", "1"]))["status"],
        "ACTIVE"
    );
    fails(
        announce("1", "20").output().unwrap(),
        "SEQ_ALREADY_REGISTERED",
    );
    fails(
        cmd(&["sequencer", "status", &stranger, "--chain", "1"])
            .output()
            .unwrap(),
        "SEQ_UNKNOWN",
    );
    // Still active: no stake back.
    let withdraw = || {
        cmd(&[
            "sequencer",
            "withdraw-stake",
            "--chain",
            "1",
            "--key",
            &seq_hex,
        ])
    };
    fails(withdraw().output().unwrap(), "still active");
    // SEQ_OFFLINE by hand: refused before sending when the anchors do not prove it, and for
    // an address that is not an active sequencer.
    let report = |who: &str| {
        cmd(&[
            "sequencer",
            "report-offline",
            who,
            "--chain",
            "1",
            "--key",
            &seq_hex,
        ])
        .output()
        .unwrap()
    };
    let out = report(&seq_addr);
    fails(out.clone(), "last 20 anchors");
    fails(out, "nothing was sent");
    fails(report(&stranger), "SEQ_UNKNOWN");
    fails(report("0xnope"), "ADDRESS");

    // Leave: unbonding, released DELAY blocks after the Unbond's block.
    let l = ok_json(cmd(&[
        "sequencer",
        "leave",
        "--chain",
        "1",
        "--key",
        &seq_hex,
    ]));
    assert_eq!(l["status"], "UNBONDING");
    let release = l["releaseAt"].as_u64().unwrap();
    assert_eq!(release, l["l1Block"].as_u64().unwrap() + DELAY);
    assert_eq!(l["withdrawable"], false);
    let out = withdraw().output().unwrap();
    fails(out.clone(), "SEQ_STILL_BONDED");
    fails(out, "more L1 blocks");
    // Leaving twice is the L1's refusal, named.
    fails(
        cmd(&["sequencer", "leave", "--chain", "1", "--key", &seq_hex])
            .output()
            .unwrap(),
        "SEQ_UNKNOWN",
    );

    // Mine past the delay, then the stake comes back and the entry is gone.
    let before = call(&url, "getaccount", json!([seq_addr]))["balance"]
        .as_i64()
        .unwrap();
    call(&url, "generate", json!([DELAY]));
    let s = ok_json(cmd(&["sequencer", "status", &seq_addr, "--chain", "1"]));
    assert_eq!(s["withdrawable"], true);
    let w = ok_json(withdraw());
    assert_eq!(w["withdrawn"], json!(20 * COIN));
    assert_eq!(w["l1Balance"], json!(before + 20 * COIN));
    fails(
        cmd(&["sequencer", "status", &seq_addr, "--chain", "1"])
            .output()
            .unwrap(),
        "SEQ_UNKNOWN",
    );
}

/// The real node's answers (shapes as recorded in lightclient's cascoind tests): a regtest node
/// that runs L2 chain 1001 and announces sequencer 0x2121… (a palindrome: the node's reversed
/// hex reads the same).
fn node_answers(method: &str) -> Option<serde_json::Value> {
    let seq = "21".repeat(20);
    Some(match method {
        "getblockchaininfo" => json!({ "chain": "regtest", "blocks": 164, "headers": 164 }),
        "l2_getchaininfo" => json!({ "chainId": 1001, "name": "casl2-test", "enabled": 1,
            "mode": "FULL_NODE", "blockHeight": 0 }),
        "getsecuretrust" => json!({ "trust_score": 72 }),
        "l2_announcesequencer" => json!({ "success": 1, "address": format!("0x{seq}"),
            "stake": 100.0, "hatScore": 72, "eligible": 1, "message": "broadcast" }),
        "l2_getsequencers" => json!([{ "address": seq, "stake": 100.5000001, "hatScore": 80,
            "peerCount": 3, "endpoint": "10.0.0.1:7000", "isVerified": 1, "isEligible": 0 }]),
        _ => return None,
    })
}

#[test]
fn a_real_node_announces_its_own_key_and_says_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "cascoind+http://u:p@127.0.0.1:{}/",
        support::fake_rpc::serve(node_answers)
    );
    let key = dev_key(1).unwrap().to_hex();
    let to = dev_key(2).unwrap().address().to_string();
    let seq = format!("0x{}", "21".repeat(20));
    let cmd = |args: &[&str]| {
        let mut c = casl2(dir.path());
        c.arg("--json").args(args).args(["--l1", &url]);
        c
    };
    let a = ok_json(cmd(&[
        "sequencer",
        "announce",
        "--chain",
        "1001",
        "--stake",
        "100",
        "--endpoint",
        "10.0.0.1:7000",
        "--key",
        &key,
    ]));
    assert_eq!(
        (&a["address"], &a["eligible"], &a["backend"]),
        (&json!(seq), &json!(true), &json!("cascoind")),
        "{a}"
    );
    let s = ok_json(cmd(&["sequencer", "status", &seq, "--chain", "1001"]));
    assert_eq!(s["stake"], json!(1_005_000_001), "{s}");
    assert_eq!(
        (&s["hatScore"], &s["eligible"]),
        (&json!(80), &json!(false))
    );
    assert_eq!(
        s["status"],
        serde_json::Value::Null,
        "no bonding state: {s}"
    );
    fails(
        cmd(&["sequencer", "status", &seq, "--chain", "5"])
            .output()
            .unwrap(),
        "runs L2 chain 1001, not 5",
    );
    for op in ["leave", "withdraw-stake"] {
        fails(
            cmd(&["sequencer", op, "--chain", "1001", "--key", &key])
                .output()
                .unwrap(),
            "not supported by this L1: L1Op::Unbond/WithdrawStake",
        );
    }
    fails(
        cmd(&["force", &to, "1", "--chain", "1001", "--key", &key])
            .output()
            .unwrap(),
        "a ForceTransaction RPC",
    );
}
