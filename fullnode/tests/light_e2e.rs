//! End to end: the light client against three sequencers and the devnet L1 on 127.0.0.1 in
//! this process. Balances verify soft (quorum-signed head) and hard (L1's finalised root), a
//! withdrawal's status is proven, batches are sampled to a confidence, and a node that tampers
//! with a balance, a proof, the signatures or a share is rejected with the reason.

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::harness::tamper::{Tamper, TamperProxy};
use casl2_fullnode::node::rpc::call_peer;
use casl2_lightclient::l1::DevnetClient;
use casl2_lightclient::{Finality, LightClient, LightError, WithdrawalState};
use casl2_verifier::params::COIN;
use casl2_verifier::{Address, Encode, L2Transaction, TxType};
use serde_json::json;
use std::time::{Duration, Instant};

const CHAIN: u64 = 1;

/// Poll `f` every 200 ms until it returns `Some`, at most `secs` seconds.
async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn light(l1: &str, node: &str) -> LightClient {
    LightClient::new(DevnetClient::new(l1), node, CHAIN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_client_verifies_balances_samples_batches_and_rejects_a_lying_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 3);
    cfg.l1_block_ms = 300;
    cfg.params.challenge_period = 3;
    let net = LocalNet::start(&cfg).await.unwrap();
    let node = format!("http://{}/", net.configs[0].listen);

    // A deposit of 1000 CAS for the user.
    let user = dev_key(7).unwrap();
    let addr = user.address();
    net.deposit(&user, 1_000 * COIN).unwrap();
    let lc = light(&net.l1_url, &node);

    // Browsers on another origin may call the node and the L1 (CORS).
    for url in [&node, &net.l1_url] {
        let r = reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, url.as_str())
            .header("origin", "http://127.0.0.1:9")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204, "{url}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{url}");
    }
    let soft = wait_for("the deposit, soft-verified", 60, || async {
        let b = lc.balance(&addr, Finality::Soft).await.ok()?;
        (b.balance == 1_000 * COIN).then_some(b)
    })
    .await;
    assert_eq!(soft.trust.finality, Finality::Soft);
    assert!(soft.exists);
    let (signed, total) = (
        soft.trust.signed_weight.unwrap(),
        soft.trust.total_weight.unwrap(),
    );
    assert!(signed * 100 >= total * 67, "{signed} of {total}");
    assert!(soft.trust.block_hash.is_some());

    // An account nobody funded is proven absent.
    let nobody = lc
        .balance(&Address([0x5e; 20]), Finality::Soft)
        .await
        .unwrap();
    assert_eq!((nobody.balance, nobody.exists), (0, false));

    // A withdrawal of 3 CAS: first pending under the quorum-signed head.
    let mut w = L2Transaction {
        from: addr,
        to: Address([0x1a; 20]),
        value: 3 * COIN,
        nonce: 0,
        gas_limit: 100_000,
        gas_price: 10,
        tx_type: TxType::Withdrawal,
        l2_chain_id: CHAIN,
        ..Default::default()
    };
    w.sign(&user).unwrap();
    let http = reqwest::Client::new();
    call_peer(
        &http,
        &node,
        "l2_sendrawtransaction",
        json!([hex::encode(w.encode())]),
    )
    .await
    .unwrap();
    let wid = w.hash();
    let status = wait_for("the withdrawal on L2", 60, || async {
        let s = lc.withdrawal(&wid).await.ok()?;
        (s.state != WithdrawalState::Unknown).then_some(s)
    })
    .await;
    assert_eq!(status.record.as_ref().unwrap().amount, 3 * COIN);

    // Hard finality: the deposit under L1's finalised root, with the anchor that carries it.
    let hard = wait_for("the deposit, hard-verified", 90, || async {
        let b = lc.balance(&addr, Finality::Hard).await.ok()?;
        (b.exists).then_some(b)
    })
    .await;
    assert_eq!(hard.trust.finality, Finality::Hard);
    assert!(hard.trust.anchor_index.is_some(), "{hard:?}");
    assert!(hard.trust.l1_height > 0 && hard.trust.l1_height <= hard.trust.l1_tip);
    let finalized = wait_for("the withdrawal finalised", 90, || async {
        let s = lc.withdrawal(&wid).await.ok()?;
        matches!(s.state, WithdrawalState::Finalized | WithdrawalState::Paid).then_some(s)
    })
    .await;
    assert_eq!(finalized.hard.finality, Finality::Hard);

    // Following L1: the first poll names the newest batch; sampling it reaches the confidence.
    let up = lc.poll().await.unwrap();
    assert!(up.anchors >= 1 && up.sequencers == 3, "{up:?}");
    assert_eq!(up.new_batches, vec![up.anchors - 1]);
    let mut seen = Vec::new();
    let report = lc
        .sample_with(0, 0.9999, [7; 32], |p| seen.push(p.confidence))
        .await
        .unwrap();
    assert_eq!(report.verified, report.needed);
    assert!(report.confidence >= 0.9999, "{report:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "confidence rises");
    let head = lc.head().await.unwrap();
    assert!(head.header.block_number >= hard.trust.l2_block);
    let e = lc.sample(up.anchors + 5, 0.99).await.unwrap_err();
    assert_eq!(e.kind(), "not-found", "{e}");
    let e = lc.sample(0, 1.5).await.unwrap_err();
    assert_eq!(e.kind(), "invalid", "{e}");

    // A lying node: each lie is rejected, and the reason names it.
    let proxy = TamperProxy::start(&node, Tamper::None).await.unwrap();
    let liar = light(&net.l1_url, &proxy.url);
    let honest = liar.balance(&addr, Finality::Soft).await.unwrap();
    assert!(honest.balance > 0);

    proxy.set(Tamper::Balance);
    let e = liar.balance(&addr, Finality::Soft).await.unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e}");
    assert!(e.to_string().contains("does not match its proof"), "{e}");

    proxy.set(Tamper::Proof);
    for f in [Finality::Soft, Finality::Hard] {
        let e = liar.balance(&addr, f).await.unwrap_err();
        assert!(matches!(e, LightError::Rejected(_)), "{e}");
        assert!(e.to_string().contains("account proof"), "{e}");
    }

    proxy.set(Tamper::Signatures);
    let e = liar.balance(&addr, Finality::Soft).await.unwrap_err();
    assert!(e.to_string().contains("quorum"), "{e}");
    let e = liar.head().await.unwrap_err();
    assert!(e.to_string().contains("quorum"), "{e}");

    proxy.set(Tamper::Share);
    let e = liar.sample(0, 0.99).await.unwrap_err();
    assert_eq!(e.kind(), "unavailable", "{e}");
    assert!(e.to_string().contains("NOT shown available"), "{e}");
    assert!(e.to_string().contains("rejected"), "{e}");

    proxy.stop();
    net.shutdown().await;
}
