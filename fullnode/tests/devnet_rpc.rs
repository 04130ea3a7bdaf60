//! The devnet L1's JSON-RPC server on 127.0.0.1: round trips and every error class.

use casl2_fullnode::devnet::rpc::{serve, SharedDevnet, MAX_BODY_BYTES};
use casl2_fullnode::devnet::{dev_key, Devnet, DevnetConfig};
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::COIN;
use casl2_verifier::Encode;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Node {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn start() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(&dir.path().join("l1.redb"), &DevnetConfig::default()).unwrap();
    let shared: SharedDevnet = Arc::new(Mutex::new(d));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(serve(shared, listener, async {
        let _ = rx.await;
    }));
    Node {
        addr,
        stop: Some(tx),
        rt: Some(rt),
        _dir: dir,
    }
}

/// POST `body`; returns the HTTP status and the body.
fn post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before the whole body is sent.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let req = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let (status, body) = post(addr, req.to_string().as_bytes());
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn ok(addr: SocketAddr, method: &str, params: Value) -> Value {
    let v = call(addr, method, params);
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

fn err(v: &Value) -> (i64, String) {
    (
        v["error"]["code"].as_i64().unwrap(),
        v["error"]["data"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

fn raw(tx: &L1Tx) -> String {
    hex::encode(tx.encode())
}

#[test]
fn transfer_round_trip() {
    let n = start();
    let (a, b) = (dev_key(0).unwrap(), dev_key(1).unwrap());
    assert_eq!(ok(n.addr, "getblockcount", json!([])), json!(0));
    let start_a = ok(n.addr, "getbalance", json!([a.address()]))
        .as_i64()
        .unwrap();
    let tx = L1Tx::signed(
        &a,
        0,
        L1Op::Transfer {
            to: b.address(),
            amount: 3 * COIN,
        },
    )
    .unwrap();
    let id = ok(n.addr, "sendrawtransaction", json!([raw(&tx)]));
    assert_eq!(id, json!(tx.hash()));
    assert_eq!(ok(n.addr, "getrawmempool", json!([])), json!([tx.hash()]));
    let hashes = ok(n.addr, "generate", json!([2]));
    assert_eq!(hashes.as_array().unwrap().len(), 2);
    assert_eq!(ok(n.addr, "getblockcount", json!([])), json!(2));
    assert_eq!(ok(n.addr, "getblockhash", json!([1])), hashes[0]);
    let block = ok(n.addr, "getblock", json!([hashes[0]]));
    assert_eq!(block["height"], json!(1));
    assert_eq!(block["txids"], json!([tx.hash()]));
    assert!(block["receipts"][0]["outcome"]["Ok"].is_array(), "{block}");
    let hex_block = ok(n.addr, "getblock", json!([hashes[0], 0]));
    assert!(hex_block.as_str().unwrap().len() > 100);
    assert_eq!(
        ok(n.addr, "getbalance", json!([a.address()]))
            .as_i64()
            .unwrap(),
        start_a - 3 * COIN
    );
    assert_eq!(
        ok(n.addr, "getbalance", json!([b.address()]))
            .as_i64()
            .unwrap(),
        start_a + 3 * COIN
    );
    let acct = ok(n.addr, "getaccount", json!([a.address()]));
    assert_eq!(acct["nonce"], json!(1));
    assert_eq!(ok(n.addr, "l2_listchains", json!([])), json!([]));

    // A batch with a notification (no answer for it).
    let batch = json!([
        { "jsonrpc": "2.0", "id": "x", "method": "getblockcount" },
        { "jsonrpc": "2.0", "method": "getblockcount" },
        { "jsonrpc": "2.0", "id": 2, "method": "nope" }
    ]);
    let (status, body) = post(n.addr, batch.to_string().as_bytes());
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["result"], json!(2));
    assert_eq!(v[1]["error"]["code"], json!(-32601));

    // Reorg over RPC.
    ok(n.addr, "invalidateblock", json!([hashes[0]]));
    assert_eq!(ok(n.addr, "getblockcount", json!([])), json!(0));
    assert_eq!(ok(n.addr, "getrawmempool", json!([])), json!([tx.hash()]));
    ok(n.addr, "reconsiderblock", json!([hashes[0]]));
    assert_eq!(ok(n.addr, "getblockcount", json!([])), json!(2));
    assert_eq!(ok(n.addr, "getrawmempool", json!([])), json!([]));
}

#[test]
fn errors_are_json_rpc_errors() {
    let n = start();
    let (a, b) = (dev_key(0).unwrap(), dev_key(1).unwrap());

    let (status, body) = post(n.addr, b"{not json");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], json!(-32700));
    assert_eq!(v["id"], Value::Null);

    for bad in [
        json!(5),
        json!([]),
        json!({ "id": 1, "method": "getblockcount" }),
        json!({ "jsonrpc": "2.0", "id": 1, "method": 7 }),
        json!({ "jsonrpc": "2.0", "id": [1], "method": "getblockcount" }),
    ] {
        let (_, body) = post(n.addr, bad.to_string().as_bytes());
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], json!(-32600), "{bad} → {v}");
    }

    assert_eq!(err(&call(n.addr, "nosuchmethod", json!([]))).0, -32601);
    assert_eq!(err(&call(n.addr, "l2_nosuch", json!([1]))).0, -32601);
    for (m, p) in [
        ("getblockhash", json!(["x"])),
        ("getblockhash", json!([99])),
        ("getblockhash", json!([])),
        ("getblock", json!(["zz"])),
        ("getbalance", json!([12])),
        ("generate", json!([100_000])),
        ("sendrawtransaction", json!(["zz"])),
        ("sendrawtransaction", json!(["00"])),
        ("invalidateblock", json!([format!("0x{}", "11".repeat(32))])),
    ] {
        assert_eq!(err(&call(n.addr, m, p.clone())).0, -32602, "{m} {p}");
    }
    let v = call(n.addr, "getblockcount", json!({ "a": 1 }));
    assert_eq!(err(&v).0, -32602);
    // A bad parameter is named (position and name) in the message.
    for (m, p, named) in [
        ("getblockhash", json!(["x"]), "parameter 0 (height): "),
        ("getblockhash", json!([]), "missing parameter 0 (height)"),
        ("getblock", json!(["zz"]), "parameter 0 (block hash): "),
        (
            "getblock",
            json!([format!("0x{}", "11".repeat(32)), "x"]),
            "parameter 1 (verbosity): ",
        ),
        ("l2_getanchors", json!([1, -1]), "parameter 1 (from): "),
        ("l2_getqueue", json!([1, 0, "all"]), "parameter 2 (count): "),
        (
            "l2_getgames",
            json!([1, "yes"]),
            "parameter 1 (open only): ",
        ),
        ("l2_getgame", json!([]), "missing parameter 0 (game id)"),
        ("getaccount", json!(["0x12"]), "parameter 0 (address): "),
    ] {
        let v = call(n.addr, m, p.clone());
        let msg = v["error"]["message"].as_str().unwrap_or("");
        assert_eq!(err(&v).0, -32602, "{m} {p}: {v}");
        assert!(msg.starts_with(named), "{m} {p}: {msg}");
    }

    // Oversized body: a clean -32600 with HTTP 413.
    let big = vec![b' '; MAX_BODY_BYTES + 1024];
    let (status, body) = post(n.addr, &big);
    assert_eq!(status, 413);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], json!(-32600));

    // Rule failures: the L1Error code and name.
    let op = L1Op::Transfer {
        to: b.address(),
        amount: COIN,
    };
    let mut forged = L1Tx::signed(&b, 0, op.clone()).unwrap();
    forged.from = a.address();
    assert_eq!(
        err(&call(n.addr, "sendrawtransaction", json!([raw(&forged)]))),
        (1001, "L1_BAD_SIGNATURE".into())
    );
    let tx = L1Tx::signed(&a, 0, op).unwrap();
    ok(n.addr, "sendrawtransaction", json!([raw(&tx)]));
    assert_eq!(
        err(&call(n.addr, "sendrawtransaction", json!([raw(&tx)]))),
        (1002, "L1_BAD_NONCE".into())
    );
    ok(n.addr, "generate", json!([1]));
    assert_eq!(
        err(&call(n.addr, "sendrawtransaction", json!([raw(&tx)]))),
        (1002, "L1_BAD_NONCE".into())
    );
    assert_eq!(
        err(&call(n.addr, "l2_getchain", json!([42]))),
        (1501, "CHAIN_UNKNOWN".into())
    );
    // The server is still fine.
    assert_eq!(ok(n.addr, "getblockcount", json!([])), json!(1));
}

#[test]
fn lightclient_devnet_backend() {
    use casl2_lightclient::l1::{DevnetClient, L1Client, L1ClientError};
    let n = start();
    let (a, b) = (dev_key(0).unwrap(), dev_key(1).unwrap());
    let client = DevnetClient::new(format!("http://{}/", n.addr));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(client.tip_height().await.unwrap(), 0);
        let acct = client.account(&a.address()).await.unwrap();
        let tx = L1Tx::signed(
            &a,
            acct.next_nonce,
            L1Op::Transfer {
                to: b.address(),
                amount: COIN,
            },
        )
        .unwrap();
        assert_eq!(client.send_transaction(&tx).await.unwrap(), tx.hash());
        match client.send_transaction(&tx).await {
            Err(L1ClientError::Rpc { code, name, .. }) => {
                assert_eq!((code, name.as_deref()), (1002, Some("L1_BAD_NONCE")))
            }
            other => panic!("{other:?}"),
        }
        let hashes = client.generate(1).await.unwrap();
        assert_eq!(client.block_hash(1).await.unwrap(), hashes[0]);
        let block = client.block(&hashes[0]).await.unwrap();
        assert_eq!(block.txs, vec![tx]);
        let header = client.block_header(&hashes[0]).await.unwrap();
        assert_eq!(
            (header.hash, header.height, header.time, header.prev_hash),
            (hashes[0], 1, block.time, block.prev_hash)
        );
        // The authority has HAT score 100 in the devnet genesis, dev keys none.
        let authority = casl2_fullnode::devnet::authority_key().unwrap().address();
        assert_eq!(client.hat_score(&authority).await.unwrap(), 100);
        assert_eq!(client.hat_score(&b.address()).await.unwrap(), 0);
        let after = client.account(&a.address()).await.unwrap();
        assert_eq!(after.balance, acct.balance - COIN);
        assert_eq!(after.nonce, 1);
        assert!(client.chains().await.unwrap().is_empty());
        assert!(matches!(
            client.queue(9, 0).await,
            Err(L1ClientError::Rpc { code: 1501, .. })
        ));
        client.invalidate_block(&hashes[0]).await.unwrap();
        assert_eq!(client.tip_height().await.unwrap(), 0);
        client.reconsider_block(&hashes[0]).await.unwrap();
        assert_eq!(client.tip_height().await.unwrap(), 1);
    });
    // A dead endpoint is a transport error, not a panic.
    let dead = DevnetClient::new("http://127.0.0.1:1/");
    assert!(matches!(
        rt.block_on(dead.tip_height()),
        Err(L1ClientError::Transport(_))
    ));
}
