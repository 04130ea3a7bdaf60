//! Shared by the cascoind backend tests: a fake node (an axum server on 127.0.0.1, port 0)
//! that answers recorded responses in the real node's shapes, and small builders.

#![allow(dead_code, unused_imports)]

pub use axum::body::Bytes;
pub use axum::extract::State;
pub use axum::http::{HeaderMap, StatusCode};
pub use axum::response::{IntoResponse, Response};
pub use axum::routing::post;
pub use axum::Router;
pub use casl2_lightclient::cascoind::rpc::Auth;
pub use casl2_lightclient::cascoind::{
    batch_commitment, CascoindClient, CascoindConfig, Submitted, BATCH_COMMITMENT_LEN,
};
pub use casl2_lightclient::l1::{L1Client, L1ClientError};
pub use casl2_verifier::da::DACommitment;
pub use casl2_verifier::fraud::FraudEvidence;
pub use casl2_verifier::l1::{L1Op, L1Tx, L2Status};
pub use casl2_verifier::params::{ChainParams, Network, COIN};
pub use casl2_verifier::smt::{AccountTree, MemoryStore};
pub use casl2_verifier::stf::StepWitness;
pub use casl2_verifier::types::{BatchHeader, BurnData, L2Transaction, WithdrawalRecord};
pub use casl2_verifier::{AccountState, Address, PrivateKey, H256};
pub use serde_json::Value;
pub use std::sync::{Arc, Mutex};

/// What the fake node answers to one call.
pub enum Reply {
    /// `{"result": <raw>, "error": null, "id": …}`, HTTP 200.
    Ok(String),
    /// `{"result": null, "error": {code, message}, "id": …}`, HTTP 500 (404 for -32601), as
    /// bitcoind does.
    Err(i64, &'static str),
    /// Any status and body.
    Http(u16, &'static str),
    /// Any status and an owned body.
    Raw(u16, String),
    /// A recorded answer: its status and JSON body, with the request's id put in.
    Recorded(u16, Value),
}

mod replay;
pub use replay::*;

/// `getblockchaininfo` as the real node answered it on regtest (the fields casl2 reads), for
/// the hand-written fakes whose calls need the network (address versions).
pub const REGTEST_INFO: &str = r#"{"chain":"regtest","blocks":164,"headers":164}"#;

/// The node's P2PKH address of `a` on regtest (version 111).
pub fn regtest_b58(a: &Address) -> String {
    casl2_lightclient::cascoind::base58::p2pkh_address(a, Network::Regtest.p2pkh_version())
}

pub type Answer = dyn Fn(&str, &[Value]) -> Reply + Send + Sync;

#[derive(Clone)]
pub struct Fake {
    /// The `Authorization` header the node wants (`None`: no check).
    pub auth: Option<&'static str>,
    pub answer: Arc<Answer>,
    /// Every request body received, as text.
    pub log: Arc<Mutex<Vec<String>>>,
}

pub async fn handle(State(f): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
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
        Reply::Raw(status, body) => (StatusCode::from_u16(status).unwrap(), body).into_response(),
        Reply::Recorded(status, mut body) => {
            let status = StatusCode::from_u16(status).unwrap();
            if body.is_null() {
                return (status, "").into_response();
            }
            body["id"] = id;
            (status, body.to_string()).into_response()
        }
    }
}

/// A running fake node; stops when dropped (and at the end of the test's runtime).
pub struct Node {
    pub url: String,
    pub log: Arc<Mutex<Vec<String>>>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Node {
    pub fn methods(&self) -> Vec<String> {
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
    pub fn bodies(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

pub async fn start(
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

pub const ALICE: &str = "Basic YWxpY2U6czNjcmV0"; // alice:s3cret
pub const COOKIE: &str = "__cookie__:0f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const COOKIE_AUTH: &str = "Basic X19jb29raWVfXzowZjFlMmQzYzRiNWE2OTc4ODc5NmE1YjRjM2QyZTFmMA==";

pub fn alice(url: &str) -> CascoindClient {
    CascoindClient::new(CascoindConfig::new(
        url,
        Auth::UserPass {
            user: "alice".into(),
            password: "s3cret".into(),
        },
    ))
}

pub fn open(url: &str) -> CascoindClient {
    CascoindClient::new(CascoindConfig::new(url, Auth::None))
}

/// A hash whose raw bytes are 0x00, 0x01, …, 0x1f.
pub fn h(start: u8) -> H256 {
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = start.wrapping_add(i as u8);
    }
    H256(b)
}

pub fn key(n: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[n; 32]).unwrap()
}

pub fn tx(op: L1Op) -> L1Tx {
    L1Tx::signed(&key(5), 0, op).unwrap()
}

pub fn rpc_code(e: &L1ClientError) -> Option<i64> {
    match e {
        L1ClientError::Rpc { code, .. } => Some(*code),
        _ => None,
    }
}
