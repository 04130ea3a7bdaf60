//! The real node's JSON-RPC transport: HTTP POST with basic auth (user/password or the
//! bitcoind-style `.cookie` file), JSON-RPC 1.0 requests, answers in either the 1.0 shape
//! (`{"result", "error": null, "id"}`, HTTP 500 on errors) or the 2.0 shape. Parameters and
//! results travel as raw JSON text so that CAS amounts keep their exact decimal digits.

use crate::l1::L1ClientError;
pub use crate::rpc::{param, Auth, METHOD_NOT_FOUND};
use crate::rpc::{RpcClient, RpcError, Version};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

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

/// A CAS amount parameter: the exact decimal number (`10.0000000`), not a float.
pub fn amount_param(units: i64) -> Box<RawValue> {
    let text = super::amount::format_cas(units);
    RawValue::from_string(text).unwrap_or_else(|_| param(&units))
}

/// The HTTP side of a client: the one JSON-RPC client ([`RpcClient`]) speaking 1.0, with
/// bitcoind's error names.
#[derive(Debug)]
pub struct Transport {
    rpc: RpcClient,
}

impl Transport {
    /// A transport to `url` with `auth`.
    pub fn new(url: String, auth: Auth) -> Transport {
        Transport {
            rpc: RpcClient::new(url)
                .with_auth(auth)
                .with_version(Version::V1),
        }
    }

    /// The same transport with another cap on the size of one answer.
    pub fn with_max_response(self, bytes: usize) -> Transport {
        Transport {
            rpc: self.rpc.with_max_response(bytes),
        }
    }

    /// Call `method` and return its result as raw JSON text (`null` for a null result).
    pub async fn call_raw(
        &self,
        method: &str,
        params: &[Box<RawValue>],
    ) -> Result<Box<RawValue>, L1ClientError> {
        self.rpc.call_raw(method, params).await.map_err(node_error)
    }

    /// Call `method` and decode its result into `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Box<RawValue>],
    ) -> Result<T, L1ClientError> {
        self.rpc.call(method, params).await.map_err(node_error)
    }
}

/// An error of the real node, its code named by [`rpc_error_name`].
fn node_error(e: RpcError) -> L1ClientError {
    match L1ClientError::from(e) {
        L1ClientError::Rpc {
            code,
            message,
            name,
        } => L1ClientError::Rpc {
            code,
            message,
            name: name.or_else(|| rpc_error_name(code).map(str::to_string)),
        },
        other => other,
    }
}
