//! casl2's one JSON-RPC client: [`RpcClient`], HTTP POST over `reqwest` (natively and in
//! wasm), used by every client of every server (the devnet L1, the L2 node, its peers, a real
//! Cascoin node).
//!
//! What it does once for all of them: request ids; HTTP basic auth from a user and password or
//! from a bitcoind-style cookie file ([`Auth`]); answers in the JSON-RPC 2.0 shape or the
//! bitcoind 1.0 shape (`"error": null`, HTTP 500 on errors); error objects mapped to
//! [`RpcError::Rpc`] with the casl2 error name (`data.name`) when present; and a cap on the
//! size of an answer ([`DEFAULT_MAX_RESPONSE_BYTES`], settable), read in chunks so that a
//! hostile server cannot make the client buffer more than the cap.
//!
//! Parameters and results travel as raw JSON text ([`RawValue`]), so that exact decimal
//! numbers (CAS amounts) keep their digits.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

/// The default cap on the size of one answer: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// JSON-RPC "method not found".
pub const METHOD_NOT_FOUND: i64 = -32601;

/// Why a JSON-RPC call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RpcError {
    /// The HTTP request failed (connection, status without a JSON-RPC body, body read).
    #[error("{url}: {method}: {message}")]
    Transport {
        /// The server's URL.
        url: String,
        /// The method called.
        method: String,
        /// What went wrong.
        message: String,
    },
    /// The server refused the credentials (HTTP 401/403).
    #[error("{url}: {method}: HTTP {status}: check the user/password or the cookie file")]
    Unauthorized {
        /// The server's URL.
        url: String,
        /// The method called.
        method: String,
        /// The HTTP status.
        status: u16,
    },
    /// The cookie file could not be used.
    #[error("{0}")]
    Cookie(String),
    /// The answer is larger than the client's cap.
    #[error("{url}: {method}: answer over the response cap of {cap} bytes")]
    TooLarge {
        /// The server's URL.
        url: String,
        /// The method called.
        method: String,
        /// The cap in bytes.
        cap: usize,
    },
    /// The server answered with a JSON-RPC error object.
    #[error("{method}: error {code}: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The message.
        message: String,
        /// The casl2 error name (`data.name`, e.g. `L1_BAD_NONCE`) when present.
        name: Option<String>,
    },
    /// The answer is not a JSON-RPC answer, or its result does not have the expected shape.
    #[error("{method}: {message}")]
    Decode {
        /// The method called.
        method: String,
        /// What is wrong.
        message: String,
    },
}

/// How to authenticate to a server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic auth (`-rpcuser` / `-rpcpassword`).
    UserPass {
        /// User.
        user: String,
        /// Password.
        password: String,
    },
    /// A cookie file (`<datadir>/.cookie`, one line `__cookie__:<hex>`), read again for every
    /// request so that a restarted node's new cookie is picked up.
    Cookie(PathBuf),
}

impl Auth {
    /// The `(user, password)` to send, if any; a cookie file that cannot be read or has no
    /// `:` is an [`RpcError::Cookie`] naming the file.
    pub fn credentials(&self) -> Result<Option<(String, String)>, RpcError> {
        match self {
            Auth::None => Ok(None),
            Auth::UserPass { user, password } => Ok(Some((user.clone(), password.clone()))),
            Auth::Cookie(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    RpcError::Cookie(format!("cannot read cookie file {}: {e}", path.display()))
                })?;
                let line = text.lines().next().unwrap_or("").trim();
                let (user, password) = line.split_once(':').ok_or_else(|| {
                    RpcError::Cookie(format!(
                        "cookie file {} is not `user:password`",
                        path.display()
                    ))
                })?;
                Ok(Some((user.to_string(), password.to_string())))
            }
        }
    }
}

/// The `"jsonrpc"` version a client writes in its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `"2.0"` (casl2's servers).
    V2,
    /// `"1.0"` (bitcoind-family nodes).
    V1,
}

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
    // Serializing plain strings, numbers, arrays and derived structs cannot fail.
    serde_json::value::to_raw_value(v).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// How long one request may take, natively (connecting: 10 s); a server that hangs is a
/// transport error naming the URL and method, not a caller stuck for ever. (In a browser the
/// page's fetch decides.)
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

fn default_http() -> reqwest::Client {
    #[cfg(not(target_arch = "wasm32"))]
    {
        reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    }
    #[cfg(target_arch = "wasm32")]
    {
        reqwest::Client::new()
    }
}

/// A JSON-RPC client of one server.
#[derive(Debug)]
pub struct RpcClient {
    url: String,
    auth: Auth,
    version: Version,
    max_response: usize,
    http: reqwest::Client,
    next_id: AtomicU64,
}

impl RpcClient {
    /// A JSON-RPC 2.0 client of `url`, no auth, the default response cap.
    pub fn new(url: impl Into<String>) -> RpcClient {
        RpcClient {
            url: url.into(),
            auth: Auth::None,
            version: Version::V2,
            max_response: DEFAULT_MAX_RESPONSE_BYTES,
            http: default_http(),
            next_id: AtomicU64::new(1),
        }
    }

    /// The same client with credentials.
    pub fn with_auth(mut self, auth: Auth) -> RpcClient {
        self.auth = auth;
        self
    }

    /// The same client writing `version` in its requests.
    pub fn with_version(mut self, version: Version) -> RpcClient {
        self.version = version;
        self
    }

    /// The same client with another cap on the size of one answer.
    pub fn with_max_response(mut self, bytes: usize) -> RpcClient {
        self.max_response = bytes;
        self
    }

    /// The same client sharing an existing HTTP connection pool.
    pub fn with_http(mut self, http: reqwest::Client) -> RpcClient {
        self.http = http;
        self
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cap on the size of one answer, in bytes.
    pub fn max_response(&self) -> usize {
        self.max_response
    }

    fn transport(&self, method: &str, message: impl std::fmt::Display) -> RpcError {
        RpcError::Transport {
            url: self.url.clone(),
            method: method.to_string(),
            message: message.to_string(),
        }
    }

    /// Read the body, at most the cap.
    async fn read_body(&self, method: &str, resp: reqwest::Response) -> Result<Vec<u8>, RpcError> {
        read_capped(resp, self.max_response)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge { cap } => RpcError::TooLarge {
                    url: self.url.clone(),
                    method: method.to_string(),
                    cap,
                },
                ReadError::Transport(m) => self.transport(method, format!("read body: {m}")),
            })
    }

    /// Call `method` with positional `params`; its result as raw JSON text (`null` for a null
    /// or absent result under HTTP success).
    pub async fn call_raw(
        &self,
        method: &str,
        params: &[Box<RawValue>],
    ) -> Result<Box<RawValue>, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let jsonrpc = match self.version {
            Version::V2 => "2.0",
            Version::V1 => "1.0",
        };
        let body = serde_json::to_string(&Request {
            jsonrpc,
            id,
            method,
            params,
        })
        .map_err(|e| self.transport(method, format!("encode request: {e}")))?;
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some((user, password)) = self.auth.credentials()? {
            req = req.basic_auth(user, Some(password));
        }
        let resp = req.send().await.map_err(|e| self.transport(method, e))?;
        let status = resp.status();
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(RpcError::Unauthorized {
                url: self.url.clone(),
                method: method.to_string(),
                status: status.as_u16(),
            });
        }
        let text = self.read_body(method, resp).await?;
        // bitcoind answers RPC errors with HTTP 500 (404 for an unknown method) and a JSON
        // body: read the body whatever the status, fail on the status only without one.
        let env: Envelope = match serde_json::from_slice(&text) {
            Ok(env) => env,
            Err(e) if status.is_success() => {
                return Err(RpcError::Decode {
                    method: method.to_string(),
                    message: format!("answer is not a JSON-RPC object: {e}"),
                })
            }
            Err(_) => {
                return Err(self.transport(method, format!("HTTP {status} without a JSON-RPC body")))
            }
        };
        if let Some(err) = env.error.filter(|e| !e.is_null()) {
            return Err(RpcError::Rpc {
                method: method.to_string(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                name: err
                    .get("data")
                    .and_then(|d| d.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
        match env.result {
            Some(r) => Ok(r),
            None if status.is_success() => Ok(RawValue::NULL.to_owned()),
            None => Err(self.transport(method, format!("HTTP {status} without a result or error"))),
        }
    }

    /// Call `method` and decode its result into `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Box<RawValue>],
    ) -> Result<T, RpcError> {
        let raw = self.call_raw(method, params).await?;
        serde_json::from_str(raw.get()).map_err(|e| RpcError::Decode {
            method: method.to_string(),
            message: e.to_string(),
        })
    }

    /// Call `method` with a JSON array (or `null`: no parameters) of positional parameters.
    pub async fn call_value<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, RpcError> {
        let list: Vec<Box<RawValue>> = match params {
            Value::Array(a) => a.iter().map(param).collect(),
            Value::Null => Vec::new(),
            other => vec![param(&other)],
        };
        self.call(method, &list).await
    }

    /// Call the typed method `M` (see [`crate::api::Method`]) with `params`.
    pub async fn request<M: crate::api::Method>(
        &self,
        params: &M::Params,
    ) -> Result<M::Result, RpcError> {
        let v = serde_json::to_value(params).map_err(|e| RpcError::Decode {
            method: M::NAME.to_string(),
            message: format!("encode parameters: {e}"),
        })?;
        self.call_value(M::NAME, v).await
    }
}

/// Why [`read_capped`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The body is larger than the cap.
    #[error("answer over the cap of {cap} bytes")]
    TooLarge {
        /// The cap in bytes.
        cap: usize,
    },
    /// Reading failed.
    #[error("{0}")]
    Transport(String),
}

/// Read an HTTP answer's body, at most `cap` bytes: refused at once when its declared length
/// is larger, and natively read in chunks, so that a hostile server cannot make the client
/// buffer more than the cap. Every casl2 HTTP client reads answers through it.
pub async fn read_capped(
    #[allow(unused_mut)] mut resp: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, ReadError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge { cap });
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ReadError::Transport(e.to_string()))?
        {
            if body.len() + chunk.len() > cap {
                return Err(ReadError::TooLarge { cap });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let body = resp
            .bytes()
            .await
            .map_err(|e| ReadError::Transport(e.to_string()))?;
        if body.len() > cap {
            return Err(ReadError::TooLarge { cap });
        }
        Ok(body.to_vec())
    }
}
