//! The real node's JSON-RPC transport: HTTP POST with basic auth (user/password or the
//! bitcoind-style `.cookie` file), JSON-RPC 1.0 requests, answers in either the 1.0 shape
//! (`{"result", "error": null, "id"}`, HTTP 500 on errors) or the 2.0 shape. Parameters and
//! results travel as raw JSON text so that CAS amounts keep their exact decimal digits.

use crate::l1::L1ClientError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// How to authenticate to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials (a node behind an authenticating proxy).
    None,
    /// `-rpcuser` / `-rpcpassword`.
    UserPass {
        /// User.
        user: String,
        /// Password.
        password: String,
    },
    /// The node's cookie file (`<datadir>/.cookie`, one line `__cookie__:<hex>`), read again
    /// for every request so that a restarted node's new cookie is picked up.
    Cookie(PathBuf),
}

impl Auth {
    /// The `(user, password)` to send, if any; a cookie file that cannot be read or has no
    /// `:` is an [`L1ClientError::Unauthorized`] naming the file.
    pub fn credentials(&self) -> Result<Option<(String, String)>, L1ClientError> {
        match self {
            Auth::None => Ok(None),
            Auth::UserPass { user, password } => Ok(Some((user.clone(), password.clone()))),
            Auth::Cookie(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    L1ClientError::Unauthorized(format!(
                        "cannot read cookie file {}: {e}",
                        path.display()
                    ))
                })?;
                let line = text.lines().next().unwrap_or("").trim();
                let (user, password) = line.split_once(':').ok_or_else(|| {
                    L1ClientError::Unauthorized(format!(
                        "cookie file {} is not `user:password`",
                        path.display()
                    ))
                })?;
                Ok(Some((user.to_string(), password.to_string())))
            }
        }
    }
}

/// Name of a bitcoind-family RPC error code (`rpc/protocol.h`), where one is known.
pub fn rpc_error_name(code: i64) -> Option<&'static str> {
    Some(match code {
        -32600 => "RPC_INVALID_REQUEST",
        -32601 => "RPC_METHOD_NOT_FOUND",
        -32602 => "RPC_INVALID_PARAMS",
        -32603 => "RPC_INTERNAL_ERROR",
        -32700 => "RPC_PARSE_ERROR",
        -1 => "RPC_MISC_ERROR",
        -3 => "RPC_TYPE_ERROR",
        -4 => "RPC_WALLET_ERROR",
        -5 => "RPC_INVALID_ADDRESS_OR_KEY",
        -6 => "RPC_WALLET_INSUFFICIENT_FUNDS",
        -8 => "RPC_INVALID_PARAMETER",
        -12 => "RPC_WALLET_KEYPOOL_RAN_OUT",
        -13 => "RPC_WALLET_UNLOCK_NEEDED",
        -18 => "RPC_WALLET_NOT_FOUND",
        -22 => "RPC_DESERIALIZATION_ERROR",
        -25 => "RPC_VERIFY_ERROR",
        -26 => "RPC_VERIFY_REJECTED",
        -27 => "RPC_VERIFY_ALREADY_IN_CHAIN",
        -28 => "RPC_IN_WARMUP",
        _ => return None,
    })
}

/// JSON-RPC method not found (the node is older or built without the feature).
pub const METHOD_NOT_FOUND: i64 = -32601;

#[derive(Serialize)]
struct Request<'a> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: &'a [Box<RawValue>],
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<Value>,
}

/// One positional parameter from any serializable value.
pub fn param<T: Serialize + ?Sized>(v: &T) -> Box<RawValue> {
    // Serializing plain strings, numbers and arrays of them cannot fail.
    serde_json::value::to_raw_value(v).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// A CAS amount parameter: the exact decimal number (`10.0000000`), not a float.
pub fn amount_param(units: i64) -> Box<RawValue> {
    let text = super::amount::format_cas(units);
    RawValue::from_string(text).unwrap_or_else(|_| param(&units))
}

/// The HTTP side of a client: URL, credentials, request ids.
#[derive(Debug)]
pub struct Transport {
    url: String,
    auth: Auth,
    http: reqwest::Client,
    next_id: AtomicU64,
}

impl Transport {
    /// A transport to `url` with `auth`.
    pub fn new(url: String, auth: Auth) -> Transport {
        Transport {
            url,
            auth,
            http: reqwest::Client::new(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Call `method` and return its result as raw JSON text (`null` for a null result).
    pub async fn call_raw(
        &self,
        method: &str,
        params: &[Box<RawValue>],
    ) -> Result<Box<RawValue>, L1ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_string(&Request {
            jsonrpc: "1.0",
            id,
            method,
            params,
        })
        .map_err(|e| L1ClientError::Transport(format!("{method}: encode request: {e}")))?;
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some((user, password)) = self.auth.credentials()? {
            req = req.basic_auth(user, Some(password));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| L1ClientError::Transport(format!("{method}: {e}")))?;
        let status = resp.status();
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(L1ClientError::Unauthorized(format!(
                "{method}: HTTP {status} from {}: check rpcuser/rpcpassword or the cookie file",
                self.url
            )));
        }
        let text = resp
            .text()
            .await
            .map_err(|e| L1ClientError::Transport(format!("{method}: read body: {e}")))?;
        // bitcoind answers RPC errors with HTTP 500 (404 for an unknown method) and a JSON
        // body: read the body whatever the status, fail on the status only without one.
        let env: Envelope = match serde_json::from_str(&text) {
            Ok(env) => env,
            Err(e) if status.is_success() => {
                return Err(L1ClientError::Decode(format!(
                    "{method}: answer is not a JSON-RPC object: {e}"
                )))
            }
            Err(_) => {
                return Err(L1ClientError::Transport(format!(
                    "{method}: HTTP {status} without a JSON-RPC body"
                )))
            }
        };
        if let Some(err) = env.error.filter(|e| !e.is_null()) {
            let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
            return Err(L1ClientError::Rpc {
                code,
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                name: rpc_error_name(code).map(str::to_string),
            });
        }
        match env.result {
            Some(r) => Ok(r),
            None if status.is_success() => Ok(RawValue::NULL.to_owned()),
            None => Err(L1ClientError::Transport(format!(
                "{method}: HTTP {status} without a result or error"
            ))),
        }
    }

    /// Call `method` and decode its result into `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Box<RawValue>],
    ) -> Result<T, L1ClientError> {
        let raw = self.call_raw(method, params).await?;
        serde_json::from_str(raw.get()).map_err(|e| L1ClientError::Decode(format!("{method}: {e}")))
    }
}
