//! `casl2 light` as a child process against three sequencers and the devnet L1 started in
//! this test: a verified balance (text and `--json`), a sampled batch, a bounded follow, a
//! lying node rejected with exit 1, and bad input refused with exit 2.

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::harness::tamper::{Tamper, TamperProxy};
use casl2_lightclient::l1::DevnetClient;
use casl2_lightclient::{Finality, LightClient};
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::COIN;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn casl2(args: &[&str]) -> (i32, String, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_casl2"))
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("casl2 finished within 60 s")
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_balance_sample_follow_and_a_lying_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 3);
    cfg.l1_block_ms = 300;
    cfg.params.challenge_period = 3;
    let net = LocalNet::start(&cfg).await.unwrap();
    let user = dev_key(7).unwrap();
    let addr = user.address();
    {
        let mut d = net.l1.lock().unwrap();
        let tx = L1Tx::signed(
            &user,
            d.next_nonce(&addr),
            L1Op::Deposit {
                chain: 1,
                recipient: addr,
                amount: 1_000 * COIN,
            },
        )
        .unwrap();
        d.submit(tx).unwrap();
    }
    let node = format!("http://{}/", net.configs[0].listen);
    let lc = LightClient::new(DevnetClient::new(&net.l1_url), &node, 1);
    let start = Instant::now();
    while !(lc
        .balance(&addr, Finality::Soft)
        .await
        .is_ok_and(|b| b.balance == 1_000 * COIN)
        && lc.poll().await.is_ok_and(|u| u.anchors > 0))
    {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no funded, anchored chain"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let a = addr.to_string();
    let l1 = net.l1_url.as_str();

    // The node comes from L1's registry when --node is not given.
    let (code, out, err) = casl2(&["light", "--l1", l1, "balance", &a]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1000.0000000 CAS  verified (soft"), "{out}");
    assert!(out.contains("quorum: 3 signatures"), "{out}");

    let (code, out, err) = casl2(&[
        "--json",
        "light",
        "--l1",
        l1,
        "--node",
        &node,
        "balance",
        &a,
        "--finality",
        "hard",
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trust"]["finality"], "hard", "{v}");

    let (code, out, err) = casl2(&["--json", "light", "--l1", l1, "sample", "0"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["confidence"].as_f64().unwrap() >= 0.9999, "{v}");

    let (code, out, err) = casl2(&[
        "--json",
        "light",
        "--l1",
        l1,
        "follow",
        "--run-for",
        "2",
        "--interval-ms",
        "300",
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["event"] == "l1"), "{out}");
    assert!(events.iter().any(|e| e["event"] == "sample"), "{out}");

    // A lying node: exit 1 with the reason.
    let liar = TamperProxy::start(&node, Tamper::Share).await.unwrap();
    let (code, out, err) = casl2(&["light", "--l1", l1, "--node", &liar.url, "sample", "0"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("NOT shown available"), "{err}");
    liar.set(Tamper::Proof);
    let (code, out, err) = casl2(&[
        "--json", "light", "--l1", l1, "--node", &liar.url, "balance", &a,
    ])
    .await;
    assert_eq!(code, 1, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["valid"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("account proof"),
        "{v}"
    );

    // Bad input: exit 2, one line.
    let (code, _, err) = casl2(&["light", "--l1", l1, "balance", "0x12"]).await;
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("address"), "{err}");
    let (code, _, err) = casl2(&["light", "--l1", l1, "sample", "0", "--confidence", "2"]).await;
    assert_eq!(code, 2, "{err}");

    liar.stop();
    net.shutdown().await;
}
