//! The wasm light client in Node and on the page in headless Chromium, against three
//! sequencers and the devnet L1 on 127.0.0.1 in this process, with tampering nodes in front of
//! a real one.
//!
//! Needs the built package (`wasm/pkg/`), `node`, `wasm/node_modules/playwright-core` and
//! Chromium: `.ci/run` provides them and sets `CASL2_BROWSER_TEST=1`, under which anything
//! missing fails the test. Without the variable the test says it did not run and passes.
//! Screenshots and the page's figures go to `target/light-browser*.png` and
//! `target/light-browser.json`.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::harness::tamper::{Tamper, TamperProxy};
use casl2_lightclient::l1::DevnetClient;
use casl2_lightclient::{Finality, LightClient};
use casl2_verifier::params::COIN;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn wasm_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../wasm")
}

/// A static file server for `wasm/` (the page at `/www/index.html`, the package at `/pkg/`).
async fn serve_static() -> String {
    async fn file(Path(path): Path<String>) -> Response {
        if path.split('/').any(|c| c == ".." || c.is_empty()) {
            return (StatusCode::BAD_REQUEST, "bad path").into_response();
        }
        let kind = match path.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("js") | Some("mjs") => "text/javascript",
            Some("wasm") => "application/wasm",
            Some("css") => "text/css",
            _ => "application/octet-stream",
        };
        match tokio::fs::read(wasm_dir().join(&path)).await {
            Ok(b) => ([(header::CONTENT_TYPE, kind)], b).into_response(),
            Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
        }
    }
    let app = Router::new().route("/{*path}", get(file));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    url
}

async fn run_node(args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .args(args)
            .current_dir(wasm_dir())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the node script finished within 180 s")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{} failed: {}{}",
        args[0],
        String::from_utf8_lossy(&out.stderr),
        stdout
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_light_client_in_node_and_headless_chromium() {
    if std::env::var("CASL2_BROWSER_TEST").as_deref() != Ok("1") {
        eprintln!(
            "NOT RUN: the browser test needs CASL2_BROWSER_TEST=1 and the built package \
             (.ci/run does both)"
        );
        return;
    }
    let pkg = wasm_dir().join("pkg/casl2_wasm_bg.wasm");
    assert!(
        pkg.exists(),
        "{} is missing: build the package first",
        pkg.display()
    );
    assert!(
        wasm_dir().join("node_modules/playwright-core").exists(),
        "wasm/node_modules/playwright-core is missing: npm install in wasm/"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 3);
    cfg.l1_block_ms = 300;
    cfg.params.challenge_period = 3;
    let net = LocalNet::start(&cfg).await.unwrap();
    let node = format!("http://{}/", net.configs[0].listen);
    let user = dev_key(7).unwrap();
    let addr = user.address();
    net.deposit(&user, 1_000 * COIN).unwrap();
    // Wait (bounded) for the deposit under a quorum-signed head and for a first batch.
    let lc = LightClient::new(DevnetClient::new(&net.l1_url), &node, 1);
    let start = Instant::now();
    loop {
        let funded = lc
            .balance(&addr, Finality::Soft)
            .await
            .is_ok_and(|b| b.balance == 1_000 * COIN);
        let anchored = lc.poll().await.is_ok_and(|u| u.anchors > 0);
        if funded && anchored {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no funded, anchored chain after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let balance_liar = TamperProxy::start(&node, Tamper::Balance).await.unwrap();
    let proof_liar = TamperProxy::start(&node, Tamper::Proof).await.unwrap();
    let share_liar = TamperProxy::start(&node, Tamper::Share).await.unwrap();
    let a = addr.to_string();

    let in_node = run_node(&[
        "tests/node.mjs",
        &net.l1_url,
        &node,
        &balance_liar.url,
        &share_liar.url,
        &a,
    ])
    .await;
    eprintln!("node: {in_node}");

    let base = serve_static().await;
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    std::fs::create_dir_all(&target).unwrap();
    let out = target.to_string_lossy().to_string();
    let in_browser = run_node(&[
        "tests/browser.mjs",
        &base,
        &net.l1_url,
        &node,
        &balance_liar.url,
        &proof_liar.url,
        &share_liar.url,
        &a,
        &out,
    ])
    .await;
    eprintln!("browser: {in_browser}");
    let figures = serde_json::json!({
        "node": serde_json::from_str::<serde_json::Value>(in_node.trim()).unwrap(),
        "browser": serde_json::from_str::<serde_json::Value>(in_browser.trim()).unwrap(),
    });
    std::fs::write(target.join("light-browser.json"), figures.to_string()).unwrap();
    assert!(target.join("light-browser.png").exists(), "the screenshot");

    for p in [balance_liar, proof_liar, share_liar] {
        p.stop();
    }
    net.shutdown().await;
}
