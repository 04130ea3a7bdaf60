//! The cascoind backend against a fake node: an axum server on 127.0.0.1 (port 0) that answers
//! recorded responses in the real node's shapes and quirks (0/1 booleans, reversed hex, decimal
//! amounts, JSON-RPC error objects with HTTP 500, 401 for bad credentials).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use casl2_lightclient::cascoind::rpc::Auth;
use casl2_lightclient::cascoind::{
    batch_commitment, CascoindClient, CascoindConfig, Submitted, BATCH_COMMITMENT_LEN,
};
use casl2_lightclient::l1::{L1Client, L1ClientError};
use casl2_verifier::da::DACommitment;
use casl2_verifier::fraud::FraudEvidence;
use casl2_verifier::l1::{L1Op, L1Tx, L2Status};
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::{AccountTree, MemoryStore};
use casl2_verifier::stf::StepWitness;
use casl2_verifier::types::{BatchHeader, BurnData, L2Transaction, WithdrawalRecord};
use casl2_verifier::{AccountState, Address, PrivateKey, H256};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What the fake node answers to one call.
enum Reply {
    /// `{"result": <raw>, "error": null, "id": …}`, HTTP 200.
    Ok(String),
    /// `{"result": null, "error": {code, message}, "id": …}`, HTTP 500 (404 for -32601), as
    /// bitcoind does.
    Err(i64, &'static str),
    /// Any status and body.
    Http(u16, &'static str),
}

type Answer = dyn Fn(&str, &[Value]) -> Reply + Send + Sync;

#[derive(Clone)]
struct Fake {
    /// The `Authorization` header the node wants (`None`: no check).
    auth: Option<&'static str>,
    answer: Arc<Answer>,
    /// Every request body received, as text.
    log: Arc<Mutex<Vec<String>>>,
}

async fn handle(State(f): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).to_string();
    f.log.lock().unwrap().push(text.clone());
    if let Some(want) = f.auth {
        let got = headers.get("authorization").and_then(|v| v.to_str().ok());
        if got != Some(want) {
            // bitcoind: 401 with an empty body and a WWW-Authenticate header.
            return (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Basic realm=\"jsonrpc\"")],
                "",
            )
                .into_response();
        }
    }
    let req: Value = serde_json::from_str(&text).unwrap();
    let id = req["id"].clone();
    let method = req["method"].as_str().unwrap_or("").to_string();
    let params = req["params"].as_array().cloned().unwrap_or_default();
    match (f.answer)(&method, &params) {
        Reply::Ok(raw) => (
            StatusCode::OK,
            format!(r#"{{"result":{raw},"error":null,"id":{id}}}"#),
        )
            .into_response(),
        Reply::Err(code, message) => {
            let status = if code == -32601 {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            let body = serde_json::json!({
                "result": null, "error": {"code": code, "message": message}, "id": id
            });
            (status, body.to_string()).into_response()
        }
        Reply::Http(status, body) => (StatusCode::from_u16(status).unwrap(), body).into_response(),
    }
}

/// A running fake node; stops when dropped (and at the end of the test's runtime).
struct Node {
    url: String,
    log: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Node {
    fn methods(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                let v: Value = serde_json::from_str(b).unwrap();
                v["method"].as_str().unwrap().to_string()
            })
            .collect()
    }
    fn bodies(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

async fn start(
    auth: Option<&'static str>,
    answer: impl Fn(&str, &[Value]) -> Reply + Send + Sync + 'static,
) -> Node {
    let log = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake {
        auth,
        answer: Arc::new(answer),
        log: log.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = Router::new().route("/", post(handle)).with_state(fake);
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Node {
        url: format!("http://{addr}/"),
        log,
        stop: Some(tx),
    }
}

const ALICE: &str = "Basic YWxpY2U6czNjcmV0"; // alice:s3cret
const COOKIE: &str = "__cookie__:0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const COOKIE_AUTH: &str = "Basic X19jb29raWVfXzowZjFlMmQzYzRiNWE2OTc4ODc5NmE1YjRjM2QyZTFmMA==";

fn alice(url: &str) -> CascoindClient {
    CascoindClient::new(CascoindConfig::new(
        url,
        Auth::UserPass {
            user: "alice".into(),
            password: "s3cret".into(),
        },
    ))
}

fn open(url: &str) -> CascoindClient {
    CascoindClient::new(CascoindConfig::new(url, Auth::None))
}

/// A hash whose raw bytes are 0x00, 0x01, …, 0x1f.
fn h(start: u8) -> H256 {
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = start.wrapping_add(i as u8);
    }
    H256(b)
}

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[n; 32]).unwrap()
}

fn tx(op: L1Op) -> L1Tx {
    L1Tx::signed(&key(5), 0, op).unwrap()
}

fn rpc_code(e: &L1ClientError) -> Option<i64> {
    match e {
        L1ClientError::Rpc { code, .. } => Some(*code),
        _ => None,
    }
}

#[tokio::test]
async fn basic_auth_and_401() {
    let node = start(Some(ALICE), |m, _| match m {
        "getblockcount" => Reply::Ok("1234".into()),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    assert_eq!(alice(&node.url).tip_height().await.unwrap(), 1234);
    let wrong = CascoindClient::new(CascoindConfig::new(
        &node.url,
        Auth::UserPass {
            user: "alice".into(),
            password: "wrong".into(),
        },
    ));
    let e = wrong.tip_height().await.unwrap_err();
    assert!(matches!(e, L1ClientError::Unauthorized(_)), "{e}");
    assert!(e.to_string().contains("401"), "{e}");
    let e = open(&node.url).tip_height().await.unwrap_err();
    assert!(matches!(e, L1ClientError::Unauthorized(_)), "{e}");
    // The request is JSON-RPC 1.0 with positional params, as bitcoin-cli sends.
    let first: Value = serde_json::from_str(&node.bodies()[0]).unwrap();
    assert_eq!(first["jsonrpc"], "1.0");
    assert_eq!(first["params"], serde_json::json!([]));
}

#[tokio::test]
async fn cookie_auth_is_read_per_request() {
    let node = start(Some(COOKIE_AUTH), |m, _| match m {
        "getblockcount" => Reply::Ok("7".into()),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".cookie");
    std::fs::write(&path, COOKIE).unwrap();
    let c = CascoindClient::new(CascoindConfig::new(&node.url, Auth::Cookie(path.clone())));
    assert_eq!(c.tip_height().await.unwrap(), 7);
    // A restarted node writes a new cookie: the old one is refused, the file is re-read.
    std::fs::write(&path, "__cookie__:ffff\n").unwrap();
    assert!(matches!(
        c.tip_height().await,
        Err(L1ClientError::Unauthorized(_))
    ));
    std::fs::write(&path, format!("{COOKIE}\n")).unwrap();
    assert_eq!(c.tip_height().await.unwrap(), 7);
    // Missing and malformed cookie files are named.
    std::fs::write(&path, "no colon here").unwrap();
    let e = c.tip_height().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Unauthorized(m) if m.contains(".cookie")),
        "{e}"
    );
    let gone = CascoindClient::new(CascoindConfig::new(
        &node.url,
        Auth::Cookie(dir.path().join("missing")),
    ));
    let e = gone.tip_height().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Unauthorized(m) if m.contains("missing")),
        "{e}"
    );
}

#[tokio::test]
async fn hashes_are_reversed_both_ways() {
    let hash = h(0x00);
    let prev = h(0x40);
    let node_hex = hash.to_node_hex();
    let prev_hex = prev.to_node_hex();
    assert_eq!(&node_hex[..2], "1f"); // GetHex() prints the last byte first
    let (nh, ph) = (node_hex.clone(), prev_hex.clone());
    let node = start(None, move |m, p| match m {
        "getblockhash" if p[0] == 100 => Reply::Ok(format!("\"{nh}\"")),
        "getblock" if p[0] == nh.as_str() && p[1] == 1 => Reply::Ok(format!(
            r#"{{"hash":"{nh}","confirmations":3,"strippedsize":226,"size":226,"weight":904,
               "height":100,"version":536870912,"versionHex":"20000000",
               "merkleroot":"4a31ddc148dbb95ec904c376f0d84e9c23ebcf12a91f6100d3a43df055bb5460",
               "tx":["4a31ddc148dbb95ec904c376f0d84e9c23ebcf12a91f6100d3a43df055bb5460"],
               "time":1744615453,"mediantime":1744615400,"nonce":517471,"bits":"1e0ffff0",
               "difficulty":0.000244140625,"chainwork":"0000000000000000000000000000000000000000000000000000000000100010",
               "previousblockhash":"{ph}"}}"#
        )),
        "getblock" => Reply::Err(-5, "Block not found"),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    assert_eq!(c.block_hash(100).await.unwrap(), hash);
    let hd = c.block_header(&hash).await.unwrap();
    assert_eq!(hd.hash, hash);
    assert_eq!(hd.height, 100);
    assert_eq!(hd.time, 1_744_615_453);
    assert_eq!(hd.prev_hash, prev);
    // The hash went out reversed: the node found it.
    assert!(node.bodies()[1].contains(&node_hex));
    // An unknown block is the node's error -5, named.
    match c.block_header(&prev).await {
        Err(L1ClientError::Rpc { code: -5, name, .. }) => {
            assert_eq!(name.as_deref(), Some("RPC_INVALID_ADDRESS_OR_KEY"))
        }
        r => panic!("{r:?}"),
    }
    // Round trips of the conversion itself.
    for x in [h(0), h(0x80), H256([0xab; 32]), H256::ZERO] {
        assert_eq!(H256::from_node_hex(&x.to_node_hex()).unwrap(), x);
    }
}

#[tokio::test]
async fn rpc_errors_and_malformed_answers() {
    let node = start(None, |m, p| match m {
        "getblockhash" if p[0] == 1 => Reply::Err(-8, "Block height out of range"),
        "getblockhash" if p[0] == 2 => Reply::Ok("\"not hex\"".into()),
        "getblockhash" if p[0] == 3 => Reply::Ok("\"00ff\"".into()),
        "getblockhash" => Reply::Ok("12".into()),
        "getblockcount" => Reply::Http(200, "<html>busy</html>"),
        "getblock" => Reply::Ok(format!(
            r#"{{"hash":"{}","height":1,"time":1}}"#,
            h(0x33).to_node_hex()
        )),
        "getsecuretrust" => match p[0].as_str().unwrap().len() {
            _ if p.len() > 1 => Reply::Ok(r#"{"trust_score":"x"}"#.into()),
            _ => Reply::Ok(r#"{"target":"H","viewer":"H","trust_score":101}"#.into()),
        },
        "l2_getleader" => Reply::Ok(r#"{"hasLeader":2}"#.into()),
        "l2_getsequencers" => Reply::Ok(
            r#"[{"address":"0x00","stake":1.00000001,"hatScore":1,"isVerified":1,"isEligible":1}]"#
                .into(),
        ),
        "l2_getchaininfo" => Reply::Http(503, "Loading block index..."),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    let e = c.block_hash(1).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-8));
    assert!(e.to_string().contains("Block height out of range"), "{e}");
    for height in [2, 3, 4] {
        let e = c.block_hash(height).await.unwrap_err();
        assert!(
            matches!(&e, L1ClientError::Decode(m) if m.contains("getblockhash")),
            "{e}"
        );
    }
    let e = c.tip_height().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("not a JSON-RPC object")),
        "{e}"
    );
    let e = c.block_header(&h(0x10)).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("asked block")),
        "{e}"
    );
    let e = c.hat_score(&Address::ZERO).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("0..=100")),
        "{e}"
    );
    let e = c.leader().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("0 or 1")),
        "{e}"
    );
    let e = c.node_sequencers(false).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("decimals") || m.contains("address")),
        "{e}"
    );
    let e = c.chain_info().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Transport(m) if m.contains("503")),
        "{e}"
    );
    let e = c.call::<Value>("nosuchmethod", &[]).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-32601));
    let dead = open("http://127.0.0.1:1/");
    assert!(matches!(
        dead.tip_height().await,
        Err(L1ClientError::Transport(_))
    ));
}

#[tokio::test]
async fn hat_scores_registry_sequencers_and_leader() {
    let seq = Address([0x11; 20]);
    let seq_hex = format!("0x{}", seq.to_node_hex());
    let mut reversed = [0u8; 20];
    for (i, b) in reversed.iter_mut().enumerate() {
        *b = i as u8;
    }
    let deployer = Address(reversed);
    let dep_hex = format!("0x{}", deployer.to_node_hex());
    let who = key(7).address();
    let who_b58 = open("http://x/").node_address(&who);
    let expect_b58 = who_b58.clone();
    let (s, d) = (seq_hex.clone(), dep_hex.clone());
    let node = start(None, move |m, p| match m {
        "getsecuretrust" if p[0] == expect_b58.as_str() => Reply::Ok(format!(
            r#"{{"target":"{expect_b58}","viewer":"{expect_b58}","trust_score":75}}"#
        )),
        "l2_getregisteredchain" if p[0] == 1001 => Reply::Ok(format!(
            r#"{{"found":1,"chainId":1001,"name":"casl2-test","deployer":"{d}",
               "deploymentBlock":500,"deploymentTime":1744615453,"status":"ACTIVE",
               "stake":1000.0000000,"bridgeContract":"0x0000000000000000000000000000000000000000",
               "genesisHash":"{z}","latestStateRoot":"{z}","latestL2Block":0,"latestL1Anchor":0,
               "totalValueLocked":0.1234567,"sequencerCount":1,"isActive":1,"acceptsDeposits":1,
               "allowsWithdrawals":1,"params":{{"blockTimeMs":500,"gasLimit":30000000,
               "challengePeriod":604800,"minSequencerStake":100.0000000,
               "minSequencerHatScore":70,"l1AnchorInterval":100}}}}"#,
            z = H256::ZERO.to_node_hex()
        )),
        "l2_getregisteredchain" => Reply::Ok(r#"{"found":0,"message":"Chain not found"}"#.into()),
        "l2_listregisteredchains" => Reply::Ok(format!(
            r#"[{{"chainId":1001,"name":"casl2-test","status":"ACTIVE","deployer":"{d}",
                "stake":"1000.0000000","latestL2Block":3,"tvl":0.0000001,"sequencerCount":1}}]"#
        )),
        "l2_getsequencers" => Reply::Ok(format!(
            r#"[{{"address":"{s}","stake":100.5000001,"hatScore":80,"peerCount":3,
                "endpoint":"10.0.0.1:7000","isVerified":1,"isEligible":0,"blocksProduced":9,
                "blocksMissed":1,"uptimePercent":90.0,"weight":800,"lastAnnouncement":1744615453,
                "attestationCount":2}}]"#
        )),
        "l2_getleader" => Reply::Ok(format!(
            r#"{{"hasLeader":1,"address":"{s}","slotNumber":7,"validUntilBlock":75,
                "electionSeed":"{}","electionTimestamp":1,"isLocalNode":0,"backupCount":1,
                "failoverInProgress":false,"backupSequencers":["{d}"]}}"#,
            h(0).to_node_hex()
        )),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    assert!(who_b58.starts_with('H'), "{who_b58}");
    assert_eq!(c.hat_score(&who).await.unwrap(), 75);
    let chain = c.registered_chain(1001).await.unwrap().unwrap();
    assert_eq!(chain.deployer, deployer);
    assert_eq!(chain.stake, 1000 * COIN);
    assert_eq!(chain.total_value_locked, Some(1_234_567));
    assert_eq!(chain.params.min_sequencer_stake, 100 * COIN);
    assert_eq!(chain.params.challenge_period, 604_800);
    assert_eq!(chain.latest_state_root, Some(H256::ZERO));
    assert_eq!(c.registered_chain(5).await.unwrap(), None);
    let list = c.registered_chains().await.unwrap();
    assert_eq!(list[0].stake, 1000 * COIN); // a decimal string is accepted too
    assert_eq!(list[0].tvl, Some(1));
    let seqs = c.node_sequencers(false).await.unwrap();
    assert_eq!(seqs[0].address, seq);
    assert_eq!(seqs[0].stake, 1_005_000_001);
    assert!(seqs[0].is_verified && !seqs[0].is_eligible);
    let l = c.leader().await.unwrap();
    assert!(l.has_leader);
    assert_eq!(l.address, Some(seq));
    assert_eq!(l.election_seed, Some(h(0)));
    assert_eq!(l.is_local_node, Some(false));
    assert_eq!(l.failover_in_progress, Some(false));
    assert_eq!(l.backup_sequencers, vec![deployer]);
    // The trait's casl2-shaped registry calls are not faked from these partial answers.
    for e in [
        c.chains().await.map(|_| ()).unwrap_err(),
        c.sequencers(1001).await.map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(e, L1ClientError::Unsupported { .. }), "{e}");
    }
}

fn burn_script(chain: u32, amount: i64) -> (BurnData, Vec<u8>) {
    let b = BurnData::new(chain, key(9).public_key(), amount).unwrap();
    (b, b.to_script().to_vec())
}

#[tokio::test]
async fn burn_deposit_creates_signs_and_sends() {
    let (burn, script) = burn_script(1, 10 * COIN);
    let txid = h(0x20);
    let (script_hex, pk, txid_hex) = (
        hex::encode(&script),
        burn.recipient.to_hex(),
        txid.to_node_hex(),
    );
    let node = start(Some(ALICE), move |m, p| match m {
        "l2_createburntx" if p[1] == pk.as_str() => Reply::Ok(format!(
            r#"{{"hex":"0200000001aa","burnAmount":10.0000000,"l2Recipient":"{pk}",
                "l2RecipientAddress":"0x00","chainId":1,"fee":0.0010000,"burnScript":"{script_hex}",
                "message":"Unsigned burn transaction created."}}"#
        )),
        // An older node: no signrawtransactionwithwallet, the client falls back.
        "signrawtransactionwithwallet" => Reply::Err(-32601, "Method not found"),
        "signrawtransaction" if p[0] == "0200000001aa" => {
            Reply::Ok(r#"{"hex":"0200000001aa5151","complete":1}"#.into())
        }
        "l2_sendburntx" if p[0] == "0200000001aa5151" => Reply::Ok(format!(
            r#"{{"txid":"{txid_hex}","burnAmount":10.0000000,"l2Recipient":"0x00","chainId":1,
                "confirmationsNeeded":6,"message":"Burn transaction broadcast successfully."}}"#
        )),
        "l2_getburnstatus" => Reply::Ok(format!(
            r#"{{"l1TxHash":"{txid_hex}","found":1,"burnAmount":10.0000000,
                "l2Recipient":"0x{}","chainId":1,"confirmations":2,"confirmationsRequired":6,
                "consensusStatus":"WAITING_CONFIRMATIONS","mintStatus":"NOT_MINTED",
                "message":"Waiting for 4 more confirmations."}}"#,
            key(9).address().to_node_hex()
        )),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = alice(&node.url);
    let t = tx(L1Op::BurnDeposit {
        script: script.clone(),
    });
    assert_eq!(c.send_transaction(&t).await.unwrap(), txid);
    assert_eq!(
        node.methods(),
        [
            "l2_createburntx",
            "signrawtransactionwithwallet",
            "signrawtransaction",
            "l2_sendburntx"
        ]
    );
    // The amount went out as the exact decimal number.
    assert!(
        node.bodies()[0].contains("[10.0000000,"),
        "{}",
        node.bodies()[0]
    );
    let st = c.burn_status(&txid).await.unwrap();
    assert!(st.found);
    assert_eq!(st.burn_amount, Some(10 * COIN));
    assert_eq!(st.l2_recipient, Some(key(9).address()));
    assert_eq!(st.confirmations, Some(2));
    assert!(node.bodies().last().unwrap().contains(&txid.to_node_hex()));
    // A bad script is refused before anything is sent.
    let before = node.bodies().len();
    let mut bad = script.clone();
    bad[2] = b'X';
    let e = c
        .send_transaction(&tx(L1Op::BurnDeposit { script: bad }))
        .await
        .unwrap_err();
    assert!(matches!(e, L1ClientError::InvalidTransaction(_)), "{e}");
    assert_eq!(node.bodies().len(), before);
}

#[tokio::test]
async fn burn_for_another_chain_is_a_mismatch_and_nothing_is_sent() {
    let (_, script) = burn_script(7, 5 * COIN);
    let (_, node_script) = burn_script(1, 5 * COIN);
    let node_hex = hex::encode(node_script);
    let node = start(None, move |m, _| match m {
        "l2_createburntx" => Reply::Ok(format!(
            r#"{{"hex":"02","burnAmount":5.0000000,"chainId":1,"burnScript":"{node_hex}"}}"#
        )),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let e = open(&node.url)
        .send_transaction(&tx(L1Op::BurnDeposit { script }))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Mismatch(m) if m.contains("chain 1") && m.contains("chain 7")),
        "{e}"
    );
    assert_eq!(node.methods(), ["l2_createburntx"]);
}

fn batch_header(chain: u64) -> BatchHeader {
    BatchHeader {
        version: 1,
        start_block: 1,
        end_block: 4,
        post_state_root: h(0x50),
        l2_chain_id: chain,
        ..Default::default()
    }
}

fn commitment() -> DACommitment {
    DACommitment {
        data_hash: h(0x60),
        data_size: 100,
        erasure_coding_root: h(0x70),
        row_roots: vec![],
        column_roots: vec![],
    }
}

#[tokio::test]
async fn post_batch_is_an_op_return_commitment() {
    let header = batch_header(1001);
    let data = hex::encode(batch_commitment(1001, &header.hash(), &h(0x70)));
    let txid = h(0x90);
    let (d, txid_hex) = (data.clone(), txid.to_node_hex());
    let node = start(None, move |m, p| match m {
        "createrawtransaction" if p[1]["data"] == d.as_str() => {
            Reply::Ok("\"020000000001\"".into())
        }
        "fundrawtransaction" => {
            Reply::Ok(r#"{"hex":"0200000001ff","fee":0.0002260,"changepos":1}"#.into())
        }
        "signrawtransactionwithwallet" => {
            Reply::Ok(r#"{"hex":"0200000001ffsig","complete":true}"#.into())
        }
        "sendrawtransaction" if p[0] == "0200000001ffsig" => Reply::Ok(format!("\"{txid_hex}\"")),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    let op = L1Op::PostBatch {
        chain: 1001,
        header: header.clone(),
        commitment: commitment(),
        payload: vec![1, 2, 3],
        signatures: vec![],
    };
    assert_eq!(c.send_transaction(&tx(op)).await.unwrap(), txid);
    assert_eq!(
        node.methods(),
        [
            "createrawtransaction",
            "fundrawtransaction",
            "signrawtransactionwithwallet",
            "sendrawtransaction"
        ]
    );
    assert_eq!(data.len(), 2 * BATCH_COMMITMENT_LEN);
    assert!(data.starts_with(&hex::encode("CASL2B")));
    // A header for another chain is refused before sending.
    let op = L1Op::PostBatch {
        chain: 1002,
        header,
        commitment: commitment(),
        payload: vec![],
        signatures: vec![],
    };
    let e = c.send_transaction(&tx(op)).await.unwrap_err();
    assert!(matches!(e, L1ClientError::InvalidTransaction(_)), "{e}");
    assert_eq!(node.methods().len(), 4);
}

#[tokio::test]
async fn unsigned_wallet_is_an_error() {
    let node = start(None, |m, _| match m {
        "createrawtransaction" => Reply::Ok("\"02\"".into()),
        "fundrawtransaction" => Reply::Ok(r#"{"hex":"0201","fee":0.0001,"changepos":-1}"#.into()),
        "signrawtransactionwithwallet" => Reply::Ok(
            r#"{"hex":"0201","complete":0,"errors":[{"error":"Unable to sign input"}]}"#.into(),
        ),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let op = L1Op::Transfer {
        to: key(8).address(),
        amount: COIN / 2,
    };
    let e = open(&node.url).send_transaction(&tx(op)).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-4));
    assert!(e.to_string().contains("Unable to sign input"), "{e}");
    assert!(!node.methods().contains(&"sendrawtransaction".to_string()));
    // The transfer's output was the recipient's P2PKH address with the exact amount.
    let b58 = open("http://x/").node_address(&key(8).address());
    assert!(
        node.bodies()[0].contains(&format!("{{\"{b58}\":0.5000000}}")),
        "{}",
        node.bodies()[0]
    );
}

#[tokio::test]
async fn announce_and_register_use_the_registry_rpcs() {
    let me = key(5).address();
    let b58 = open("http://x/").node_address(&me);
    let seq = Address([0x21; 20]);
    let dep = Address([0x31; 20]);
    let (s, d) = (seq.to_node_hex(), dep.to_node_hex());
    let node = start(None, move |m, p| {
        match m {
        "l2_getchaininfo" => Reply::Ok(
            r#"{"chainId":1001,"name":"casl2-test","enabled":1,"mode":"FULL_NODE","blockHeight":0}"#
                .into(),
        ),
        "getsecuretrust" if p[0] == b58.as_str() => Reply::Ok(r#"{"trust_score":72}"#.into()),
        "l2_announcesequencer" if p[1] == 72 && p[2] == "10.0.0.1:7000" => Reply::Ok(format!(
            r#"{{"success":1,"address":"0x{s}","stake":100.0000000,"hatScore":72,"eligible":1,
                "message":"Sequencer announcement broadcast successfully"}}"#
        )),
        "l2_registerchain" if p[0] == "casl2-test" => Reply::Ok(format!(
            r#"{{"success":true,"chainId":1001,"name":"casl2-test","deployer":"0x{d}",
                "stake":1000.0000000,"status":"BOOTSTRAPPING","deploymentBlock":500,
                "params":{{}},"message":"L2 chain registered successfully"}}"#
        )),
        "l2_registerchain" => Reply::Err(-8, "Chain name already exists"),
        _ => Reply::Err(-32601, "Method not found"),
    }
    })
    .await;
    let c = open(&node.url);
    let ann = tx(L1Op::AnnounceSequencer {
        chain: 1001,
        stake: 100 * COIN,
        endpoint: "10.0.0.1:7000".into(),
    });
    assert_eq!(
        c.submit(&ann).await.unwrap(),
        Submitted::SequencerAnnounced {
            address: seq,
            eligible: Some(true)
        }
    );
    assert_eq!(c.send_transaction(&ann).await.unwrap(), ann.hash());
    assert!(node.bodies().iter().any(|b| b.contains("[100.0000000,72,")));
    let wrong_chain = tx(L1Op::AnnounceSequencer {
        chain: 5,
        stake: 100 * COIN,
        endpoint: String::new(),
    });
    let e = c.send_transaction(&wrong_chain).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::InvalidTransaction(m) if m.contains("1001")),
        "{e}"
    );

    let mut params = ChainParams::for_network(Network::Regtest);
    params.min_sequencer_stake = 100 * COIN;
    let reg = |chain_id: u64, name: &str| {
        tx(L1Op::RegisterChain {
            chain_id,
            name: name.into(),
            params: params.clone(),
            genesis_root: H256::ZERO,
            deployer_stake: 1000 * COIN,
        })
    };
    assert_eq!(
        c.submit(&reg(1001, "casl2-test")).await.unwrap(),
        Submitted::ChainRegistered {
            chain_id: 1001,
            deployer: dep
        }
    );
    let body = node.bodies().last().unwrap().clone();
    let v: Value = serde_json::from_str(&body).unwrap();
    // Challenge period: 10 L1 blocks of 150 s.
    assert_eq!(v["params"][4], params.challenge_period * 150);
    assert!(
        body.contains("1000.0000000") && body.contains("100.0000000"),
        "{body}"
    );
    let e = c.submit(&reg(7, "casl2-test")).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Mismatch(m) if m.contains("1001")),
        "{e}"
    );
    let e = c.submit(&reg(7, "other")).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-8));
}

#[tokio::test]
async fn unsupported_calls_and_ops_name_what_is_missing() {
    let node = start(None, |_, _| Reply::Err(-32601, "Method not found")).await;
    let c = open(&node.url);
    let a = Address([3; 20]);
    let mut errs = vec![
        c.block(&H256::ZERO).await.map(|_| ()).unwrap_err(),
        c.account(&a).await.map(|_| ()).unwrap_err(),
        c.chains().await.map(|_| ()).unwrap_err(),
        c.sequencers(1).await.map(|_| ()).unwrap_err(),
        c.anchors(1, 0).await.map(|_| ()).unwrap_err(),
        c.queue(1, 0).await.map(|_| ()).unwrap_err(),
        c.forced_queue(1).await.map(|_| ()).unwrap_err(),
    ];
    let tree = AccountTree::new(MemoryStore::new());
    let proof = tree.tree().prove_compact(&a.tree_key()).unwrap();
    let witness = StepWitness {
        proof: tree.tree().prove_multi(&[a.tree_key()]).unwrap(),
        storage: Vec::new(),
    };
    let ops = vec![
        L1Op::SetHatScore {
            address: a,
            score: 50,
        },
        L1Op::SetChainStatus {
            chain: 1,
            status: L2Status::Paused,
        },
        L1Op::Unbond { chain: 1 },
        L1Op::WithdrawStake { chain: 1 },
        L1Op::Deposit {
            chain: 1,
            recipient: a,
            amount: COIN,
        },
        L1Op::ForceTransaction {
            chain: 1,
            tx: Box::new(L2Transaction::default()),
        },
        L1Op::FinalizeWithdrawal {
            chain: 1,
            anchor: 0,
            record: WithdrawalRecord {
                id: H256([1; 32]),
                l2_sender: a,
                l1_recipient: a,
                amount: COIN,
                l2_block: 1,
            },
            proof: proof.clone(),
        },
        L1Op::EmergencyWithdraw {
            chain: 1,
            address: a,
            account: AccountState::default(),
            proof,
        },
        L1Op::OpenChallenge {
            chain: 1,
            anchor: 0,
            disputed_root: H256::ZERO,
        },
        L1Op::BisectReveal {
            game: 0,
            root: H256::ZERO,
        },
        L1Op::BisectAnswer {
            game: 0,
            agree: true,
        },
        L1Op::SubmitOneStepProof { game: 0, witness },
        L1Op::SubmitFraudProof {
            chain: 1,
            anchor: 0,
            evidence: FraudEvidence::TimestampManipulation { block: 0 },
        },
        L1Op::Timeout { game: 0 },
    ];
    let n_ops = ops.len();
    for op in ops {
        errs.push(c.send_transaction(&tx(op)).await.unwrap_err());
    }
    assert_eq!(errs.len(), 7 + n_ops);
    for e in &errs {
        match e {
            L1ClientError::Unsupported { what, why } => {
                assert!(!what.is_empty() && why.len() > 20, "{e}");
                assert!(
                    e.to_string().starts_with("not supported by this L1: "),
                    "{e}"
                );
            }
            other => panic!("expected Unsupported, got {other}"),
        }
    }
    // Nothing was asked of the node.
    assert!(node.bodies().is_empty());
}
