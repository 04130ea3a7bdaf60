//! The JSON-RPC 2.0 envelope shared by casl2's servers (the devnet L1 and the L2 node): request
//! objects and batches, positional parameters, error objects with stable codes (-32700 parse,
//! -32600 invalid request, -32601 unknown method, -32602 bad parameters, -32603 internal), and
//! the parameter helpers.

use axum::body::{to_bytes, Body};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use casl2_verifier::Address;
use serde_json::{json, Value};

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The code.
    pub code: i64,
    /// The message.
    pub message: String,
    /// Extra data (the rule error's name and detail).
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with `code`.
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }
    /// -32700.
    pub fn parse(m: impl Into<String>) -> RpcError {
        RpcError::new(-32700, m)
    }
    /// -32600.
    pub fn invalid_request(m: impl Into<String>) -> RpcError {
        RpcError::new(-32600, m)
    }
    /// -32602.
    pub fn params(m: impl Into<String>) -> RpcError {
        RpcError::new(-32602, m)
    }
    /// -32603.
    pub fn internal(m: impl Into<String>) -> RpcError {
        RpcError::new(-32603, m)
    }
    /// The error object.
    pub fn to_json(&self) -> Value {
        let mut o = json!({ "code": self.code, "message": self.message });
        if let Some(d) = &self.data {
            o["data"] = d.clone();
        }
        o
    }
}

/// An HTTP response with a JSON body.
pub fn reply(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// A response carrying `e`.
pub fn error_reply(id: Value, e: &RpcError) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": e.to_json() })
}

/// Read and parse a request body of at most `max` bytes; the `Err` is the response to send.
pub async fn read_body(body: Body, max: usize) -> Result<Value, Response> {
    let bytes = match to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => {
            let e =
                RpcError::invalid_request(format!("request body over {max} bytes (or unreadable)"));
            return Err(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                &error_reply(Value::Null, &e),
            ));
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        let e = RpcError::parse(format!("parse error: {e}"));
        reply(StatusCode::OK, &error_reply(Value::Null, &e))
    })
}

/// The HTTP response for a dispatch result (`None`: only notifications; `Err`: the handler
/// failed).
pub fn respond(result: Result<Option<Value>, String>) -> Response {
    match result {
        Ok(Some(v)) => reply(StatusCode::OK, &v),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            let e = RpcError::internal(format!("handler failed: {e}"));
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                &error_reply(Value::Null, &e),
            )
        }
    }
}

/// Answer a parsed body (object or batch); `None` when it held only notifications.
pub fn dispatch_body(
    body: Value,
    max_batch: usize,
    call: impl Fn(&str, &[Value]) -> Result<Value, RpcError>,
) -> Option<Value> {
    match body {
        Value::Array(items) => {
            if items.is_empty() {
                return Some(error_reply(
                    Value::Null,
                    &RpcError::invalid_request("empty batch"),
                ));
            }
            if items.len() > max_batch {
                return Some(error_reply(
                    Value::Null,
                    &RpcError::invalid_request(format!("batch over {max_batch} requests")),
                ));
            }
            let out: Vec<Value> = items
                .into_iter()
                .filter_map(|r| dispatch_one(&call, r))
                .collect();
            if out.is_empty() {
                None
            } else {
                Some(Value::Array(out))
            }
        }
        other => dispatch_one(&call, other),
    }
}

fn dispatch_one(
    call: &impl Fn(&str, &[Value]) -> Result<Value, RpcError>,
    req: Value,
) -> Option<Value> {
    let Value::Object(obj) = req else {
        return Some(error_reply(
            Value::Null,
            &RpcError::invalid_request("a request must be an object"),
        ));
    };
    let id = obj.get("id").cloned();
    let id_ok = matches!(
        id,
        None | Some(Value::Null) | Some(Value::Number(_)) | Some(Value::String(_))
    );
    let reply_id = if id_ok {
        id.clone().unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if !id_ok || obj.get("jsonrpc") != Some(&json!("2.0")) {
        return Some(error_reply(
            reply_id,
            &RpcError::invalid_request("need \"jsonrpc\": \"2.0\" and a string, number or null id"),
        ));
    }
    let Some(Value::String(method)) = obj.get("method") else {
        return Some(error_reply(
            reply_id,
            &RpcError::invalid_request("\"method\" must be a string"),
        ));
    };
    let params = match obj.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Some(error_reply(
                reply_id,
                &RpcError::params("params must be a positional array"),
            ))
        }
    };
    let result = call(method, &params);
    id.as_ref()?;
    Some(match result {
        Ok(v) => json!({ "jsonrpc": "2.0", "id": reply_id, "result": v }),
        Err(e) => error_reply(reply_id, &e),
    })
}

/// Answer a call of the typed method `M`: read its parameters from `p` (a bad or missing one
/// is a `-32602` error naming it), run `f`, and encode its answer.
pub fn handle<M: casl2_lightclient::api::Method>(
    p: &[Value],
    f: impl FnOnce(M::Params) -> Result<M::Result, RpcError>,
) -> Result<Value, RpcError> {
    use casl2_lightclient::api::Params;
    let params = M::Params::from_positional(p).map_err(RpcError::params)?;
    to_json(&f(params)?)
}

/// A positional parameter helper.
pub fn param<'a>(p: &'a [Value], i: usize, name: &str) -> Result<&'a Value, RpcError> {
    p.get(i)
        .ok_or_else(|| RpcError::params(format!("missing parameter {i} ({name})")))
}

/// A positional parameter helper.
pub fn p_u64(p: &[Value], i: usize, name: &str) -> Result<u64, RpcError> {
    param(p, i, name)?.as_u64().ok_or_else(|| {
        RpcError::params(format!(
            "parameter {i} ({name}) must be a non-negative integer"
        ))
    })
}

/// A positional parameter helper.
pub fn p_str<'a>(p: &'a [Value], i: usize, name: &str) -> Result<&'a str, RpcError> {
    param(p, i, name)?
        .as_str()
        .ok_or_else(|| RpcError::params(format!("parameter {i} ({name}) must be a string")))
}

/// A positional parameter helper.
pub fn p_address(p: &[Value], i: usize) -> Result<Address, RpcError> {
    Address::from_hex(p_str(p, i, "address")?)
        .map_err(|e| RpcError::params(format!("parameter {i} (address): {e}")))
}

/// A positional parameter helper.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(|e| RpcError::internal(format!("serialize: {e}")))
}

/// A window `[from, from + count)` of a list (`from` 0 and `count` 1000 by default, `count`
/// capped at 1000).
pub fn window<T: Clone>(items: &[T], from: Option<u64>, count: Option<u64>) -> Vec<T> {
    let from = usize::try_from(from.unwrap_or(0)).unwrap_or(usize::MAX);
    let count = usize::try_from(count.unwrap_or(1000).min(1000)).unwrap_or(1000);
    items.iter().skip(from).take(count).cloned().collect()
}

/// Let pages from any origin call a JSON-RPC server (the browser light client is served from
/// another origin): answers the CORS pre-flight `OPTIONS` with 204 and adds
/// `Access-Control-Allow-Origin: *` to every answer. No credentials are involved: the admin
/// methods need a bearer token, which a page from another origin does not have.
pub async fn cors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let preflight = req.method() == axum::http::Method::OPTIONS;
    let mut resp = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::HeaderValue::from_static("POST, GET, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            header::HeaderValue::from_static("600"),
        );
    }
    resp
}
