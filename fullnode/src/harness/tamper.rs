//! A lying node, for showing (and testing) that the light client rejects it: a JSON-RPC proxy
//! on 127.0.0.1 that forwards every request to a real node and alters chosen answers
//! ([`Tamper`]). Never part of a real deployment.

use crate::jsonrpc;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use casl2_lightclient::api::node as m;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What the proxy alters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Nothing: an honest relay.
    None,
    /// `l2_getproof`: the reported account's balance plus one (the proof left alone).
    Balance,
    /// `l2_getproof`: the proven value's balance byte and the reported balance changed
    /// together, so only the proof's root shows the lie.
    Proof,
    /// `l2_getproof` and `l2_getblockbynumber`: the quorum signatures dropped but one.
    Signatures,
    /// `l2_getshare`: the first byte of every share flipped.
    Share,
}

impl std::str::FromStr for Tamper {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" => Tamper::None,
            "balance" => Tamper::Balance,
            "proof" => Tamper::Proof,
            "signatures" => Tamper::Signatures,
            "share" => Tamper::Share,
            o => {
                return Err(format!(
                    "tamper mode must be none, balance, proof, signatures or share, got {o:?}"
                ))
            }
        })
    }
}

#[derive(Debug)]
struct Proxy {
    target: String,
    mode: Mutex<Tamper>,
    http: reqwest::Client,
}

/// A running tampering proxy.
#[derive(Debug)]
pub struct TamperProxy {
    /// Its URL.
    pub url: String,
    proxy: Arc<Proxy>,
    task: tokio::task::JoinHandle<()>,
}

impl TamperProxy {
    /// Start a proxy in front of the node at `target` on a free port of 127.0.0.1.
    pub async fn start(target: &str, mode: Tamper) -> std::io::Result<TamperProxy> {
        let proxy = Arc::new(Proxy {
            target: target.to_string(),
            mode: Mutex::new(mode),
            http: reqwest::Client::new(),
        });
        let app = Router::new()
            .route("/", post(handle))
            .layer(axum::middleware::from_fn(jsonrpc::cors))
            .with_state(proxy.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TamperProxy { url, proxy, task })
    }

    /// Change what the proxy alters.
    pub fn set(&self, mode: Tamper) {
        *self.proxy.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
    }

    /// Stop the proxy.
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn handle(State(p): State<Arc<Proxy>>, Json(req): Json<Value>) -> Json<Value> {
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let answer = match p.http.post(&p.target).json(&req).send().await {
        Ok(r) => r.json::<Value>().await.ok(),
        Err(_) => None,
    };
    let Some(mut answer) = answer else {
        return Json(json!({
            "jsonrpc": "2.0", "id": req.get("id").cloned().unwrap_or(Value::Null),
            "error": { "code": -32603, "message": "tamper proxy: the node did not answer" }
        }));
    };
    let mode = *p.mode.lock().unwrap_or_else(|x| x.into_inner());
    if let Some(result) = answer.get_mut("result") {
        alter(mode, &method, result);
    }
    Json(answer)
}

fn flip_hex_byte(v: &mut Value, byte: usize) {
    let Some(s) = v.as_str() else { return };
    let digits = s.trim_start_matches("0x");
    let Ok(mut bytes) = hex::decode(digits) else {
        return;
    };
    if let Some(b) = bytes.get_mut(byte) {
        *b ^= 0x01;
        *v = json!(format!("0x{}", hex::encode(bytes)));
    }
}

fn alter(mode: Tamper, method: &str, r: &mut Value) {
    match (mode, method) {
        (Tamper::Balance, m::L2_GETPROOF) => {
            if let Some(b) = r["account"]["balance"].as_i64() {
                r["account"]["balance"] = json!(b + 1);
            }
        }
        (Tamper::Proof, m::L2_GETPROOF) => {
            // The value's first byte is the balance's low byte (little-endian i64).
            flip_hex_byte(&mut r["proof"]["value"], 0);
            if let Some(b) = r["account"]["balance"].as_i64() {
                r["account"]["balance"] = json!(b ^ 1);
            }
        }
        (Tamper::Signatures, m::L2_GETPROOF) => {
            if let Some(s) = r["finality"]["signatures"].as_array_mut() {
                s.truncate(1);
            }
        }
        (Tamper::Signatures, m::L2_GETBLOCKBYNUMBER) => {
            if let Some(s) = r["signatures"].as_array_mut() {
                s.truncate(1);
            }
        }
        (Tamper::Share, m::L2_GETSHARE) => flip_hex_byte(&mut r["sample"]["share"], 0),
        _ => {}
    }
}
