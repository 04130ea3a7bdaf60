//! `casl2 devnet` as a newcomer runs it: the light-client page is served on 127.0.0.1 (redirect
//! with the fields preset, the page, the package or a hint to build it, nothing outside `www/`
//! and `pkg/`), and `--load` sends transfers that the chain includes.

mod support;

use casl2_verifier::hash::sha256d;
use casl2_verifier::PrivateKey;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{call, devnet, get};

#[test]
fn devnet_serves_the_light_client_page_and_generates_load() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, info, mut lines) = devnet(
        dir.path(),
        "--port 0 --www-port 0 --sequencers 1 --l1-block-ms 300 --no-challenger --load 20 --run-for 150",
    );
    let l1 = info["l1RpcUrl"].as_str().unwrap().to_string();
    let node = info["nodes"][0]["rpcUrl"].as_str().unwrap().to_string();
    let page = info["lightClientPage"]["url"].as_str().unwrap().to_string();
    let built = info["lightClientPage"]["packageBuilt"].as_bool().unwrap();
    assert_eq!(info["loadTps"], json!(20));

    // The page: `/` presets the fields for this network, or says how to build the package.
    let (status, head, body) = get(&page, "/");
    if built {
        assert_eq!(status, 302, "{head}");
        assert!(
            head.contains(&format!(
                "location: /www/index.html?l1={l1}&node={node}&chain=1"
            )),
            "{head}"
        );
        let (_, head, _) = get(&page, "/?address=0xab");
        assert!(head.contains("&chain=1&address=0xab"), "{head}");
        let (s, h, b) = get(&page, "/pkg/casl2_wasm_bg.wasm");
        assert_eq!(s, 200);
        assert!(h.contains("application/wasm"), "{h}");
        assert_eq!(&b[..4], b"\0asm");
    } else {
        assert_eq!(status, 503, "{head}");
        assert!(String::from_utf8_lossy(&body).contains("scripts/build-wasm.sh"));
        let (s, _, b) = get(&page, "/pkg/casl2_wasm.js");
        assert_eq!(s, 404);
        assert!(String::from_utf8_lossy(&b).contains("scripts/build-wasm.sh"));
    }
    let (s, h, b) = get(&page, "/www/index.html");
    assert_eq!(s, 200);
    assert!(h.contains("text/html"), "{h}");
    assert!(String::from_utf8_lossy(&b).contains("app.js"));
    let (s, h, _) = get(&page, "/www/app.js");
    assert_eq!(s, 200);
    assert!(h.contains("text/javascript"), "{h}");
    for bad in [
        "/www/../Cargo.toml",
        "/www/%2e%2e%2fCargo.toml",
        "/src/lib.rs",
        "/www/.hidden.js",
        "/www/nosuch.js",
        "/Cargo.toml",
    ] {
        let (s, _, _) = get(&page, bad);
        assert_eq!(s, 404, "{bad}");
    }

    // The load: accepted by the node, included in blocks (the load account's nonce moves).
    let load0 = {
        let mut pre = b"casl2-devnet-load".to_vec();
        pre.extend_from_slice(&0u32.to_le_bytes());
        PrivateKey::from_bytes(&sha256d(&pre).0).unwrap().address()
    };
    let t0 = Instant::now();
    let mut accepted = 0;
    while accepted < 40 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the load did not run"
        );
        let line = lines.next().expect("devnet output").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        if let Some(l) = v.get("load").filter(|l| !l.is_null()) {
            assert_ne!(l["phase"], json!("failed"), "{l}");
            accepted = l["accepted"].as_u64().unwrap_or(0);
        }
    }
    let t1 = Instant::now();
    loop {
        let n = call(&node, "l2_gettransactioncount", json!([load0]));
        if n["nonce"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(60),
            "no load transfer included: {n}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let bal = call(&node, "l2_getbalance", json!([load0]));
    assert!(bal.as_i64().unwrap() > 0, "{bal}");
}
