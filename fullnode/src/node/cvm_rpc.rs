//! The node's JSON-RPC methods for contract users: `l2_call`, `l2_estimategas`, `l2_getcode`,
//! `l2_getstorageat`, `l2_getlogs`, and the read-only `eth_*` names Ethereum tooling calls
//! (`eth_chainId`, `eth_blockNumber`, `eth_getBalance`, `eth_getCode`, `eth_getStorageAt`,
//! `eth_call`, `eth_estimateGas`, `eth_getLogs`). Both families answer from the same final
//! state; the `l2_*` ones take and give plain JSON numbers, the `eth_*` ones `0x` quantities.
//! Parameters, results and errors: docs/protocol.md, "Sequencer node RPC", "Contracts".

use super::engine::{params_of, Engine};
use super::l1view::L1View;
use super::Shared;
use crate::jsonrpc::{p_address, param, RpcError};
use casl2_lightclient::api::node as m;
use casl2_verifier::smt::empty_root;
use casl2_verifier::stf::cvm::{self, CallResult, CVM_BLOCK_GAS_LIMIT};
use casl2_verifier::stf::rules::RentParams;
use casl2_verifier::stf::{AtRoot, BlockContext, Log};
use casl2_verifier::{Address, H256};
use serde_json::{json, Map, Value};

/// The contract methods (listed with the node's other methods in `rpc::METHODS`).
pub use casl2_lightclient::api::node::CVM_METHODS as METHODS;

/// Most blocks one `l2_getlogs` / `eth_getLogs` request may span.
pub const MAX_LOG_BLOCKS: u64 = 10_000;
/// Most logs one `l2_getlogs` / `eth_getLogs` answer may hold.
pub const MAX_LOGS: usize = 10_000;

/// JSON-RPC error code of a call that reverted (the code Ethereum tooling expects); its `data`
/// is the revert data.
pub const REVERTED: i64 = 3;
/// JSON-RPC error code of a call that failed otherwise (halted, rejected by the EVM).
pub const CALL_FAILED: i64 = -32000;
/// JSON-RPC error code of a request for state or blocks the node does not hold.
pub const NOT_HELD: i64 = -32011;
/// JSON-RPC error code of a log query over too many blocks or with too many results.
pub const TOO_MUCH: i64 = -32005;

/// How numbers are written: `l2_*` methods use JSON numbers, `eth_*` methods `0x` quantities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    L2,
    Eth,
}

impl Style {
    fn num(self, n: u64) -> Value {
        match self {
            Style::L2 => json!(n),
            Style::Eth => json!(format!("0x{n:x}")),
        }
    }
}

/// Answer `method` if it is one of [`METHODS`] (`None` otherwise).
pub fn call(shared: &Shared, method: &str, p: &[Value]) -> Option<Result<Value, RpcError>> {
    let style = if method.starts_with("eth_") {
        Style::Eth
    } else {
        Style::L2
    };
    Some(match method {
        m::ETH_CHAIN_ID => Ok(style.num(shared.cfg().chain_id)),
        m::ETH_BLOCK_NUMBER => Ok(style.num(shared.engine().height())),
        m::ETH_GET_BALANCE => with_state(shared, p.get(1), |st| {
            let a = p_address(p, 0)?;
            let acct = casl2_verifier::stf::Overlay::new(&st.view())
                .account(&a)
                .map_err(state_err)?;
            Ok(style.num(u64::try_from(acct.balance).unwrap_or(0)))
        }),
        m::L2_GETCODE | m::ETH_GET_CODE => with_state(shared, p.get(1), |st| {
            let a = p_address(p, 0)?;
            let code = cvm::code_at(&st.view(), &st.ctx, &a).map_err(state_err)?;
            Ok(json!(format!("0x{}", hex::encode(code))))
        }),
        m::L2_GETSTORAGEAT | m::ETH_GET_STORAGE_AT => with_state(shared, p.get(2), |st| {
            let a = p_address(p, 0)?;
            let slot = p_word(p, 1, "storage slot")?;
            let v = cvm::storage_at(&st.view(), &st.ctx, &a, &slot).map_err(state_err)?;
            Ok(json!(format!("0x{}", hex::encode(v))))
        }),
        m::L2_CALL | m::ETH_CALL => {
            let req = match CallRequest::parse(p) {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            with_state(shared, p.get(1), |st| {
                let r = cvm::call(
                    &st.view(),
                    &st.ctx,
                    &req.from,
                    req.to.as_ref(),
                    &req.data,
                    req.value,
                    req.gas,
                )
                .map_err(state_err)?;
                match style {
                    Style::Eth if r.success => Ok(json!(format!("0x{}", hex::encode(&r.output)))),
                    Style::Eth => Err(failure(&r)),
                    Style::L2 => Ok(json!({
                        "success": r.success,
                        "gasUsed": r.gas_used,
                        "output": format!("0x{}", hex::encode(&r.output)),
                        "logs": r.logs,
                        "contractAddress": r.contract_address,
                        "error": r.error,
                        "blockNumber": st.number,
                    })),
                }
            })
        }
        m::L2_ESTIMATEGAS | m::ETH_ESTIMATE_GAS => {
            let req = match CallRequest::parse(p) {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            with_state(shared, p.get(1), |st| {
                match cvm::estimate_gas(
                    &st.view(),
                    &st.ctx,
                    &req.from,
                    req.to.as_ref(),
                    &req.data,
                    req.value,
                    req.gas,
                )
                .map_err(state_err)?
                {
                    Ok(gas) => Ok(style.num(gas)),
                    Err(r) => Err(failure(&r)),
                }
            })
        }
        m::L2_GETLOGS | m::ETH_GET_LOGS => get_logs(shared, style, p),
        _ => return None,
    })
}

/// The error of a failed call: code 3 with the revert data for a revert, -32000 otherwise.
fn failure(r: &CallResult) -> RpcError {
    let reverted = r.error.starts_with("execution reverted");
    let mut e = RpcError::new(
        if reverted { REVERTED } else { CALL_FAILED },
        r.error.clone(),
    );
    if reverted {
        e.data = Some(json!(format!("0x{}", hex::encode(&r.output))));
    }
    e
}

fn state_err(e: casl2_verifier::stf::StfError) -> RpcError {
    match e {
        casl2_verifier::stf::StfError::MissingWitness { .. } => RpcError::new(
            NOT_HELD,
            format!("the state of that block is no longer held by this node: {e}"),
        ),
        other => RpcError::internal(other.to_string()),
    }
}

/// The final state at one block, with the block context a call at it sees.
struct StateAt<'e> {
    engine: &'e Engine,
    root: H256,
    number: u64,
    ctx: BlockContext,
}

impl StateAt<'_> {
    fn view(&self) -> AtRoot<'_, crate::store::RedbNodeStore> {
        AtRoot {
            tree: self.engine.tree(),
            root: self.root,
        }
    }
}

/// Run `f` on the state after the block `at` names (default: the head), holding the engine.
fn with_state(
    shared: &Shared,
    at: Option<&Value>,
    f: impl FnOnce(&StateAt<'_>) -> Result<Value, RpcError>,
) -> Result<Value, RpcError> {
    let view = shared.view();
    let engine = shared.engine();
    let number = block_number(&engine, &view, at, "block")?;
    let rent = params_of(&view).map(RentParams::of).unwrap_or_default();
    let (root, ctx) = if number == 0 {
        let ctx = BlockContext {
            chain_id: shared.cfg().chain_id,
            number: 0,
            timestamp: 0,
            producer: Address::ZERO,
            other_sequencers: Vec::new(),
            rent,
        };
        (empty_root(), ctx)
    } else {
        let header = if number == engine.height() {
            engine.head().cloned()
        } else {
            engine
                .chain()
                .block(number)
                .map_err(|e| RpcError::internal(e.to_string()))?
                .map(|b| b.header)
        }
        .ok_or_else(|| RpcError::new(NOT_HELD, format!("block {number} is not stored")))?;
        let ctx = BlockContext {
            chain_id: shared.cfg().chain_id,
            number,
            timestamp: header.timestamp,
            producer: header.sequencer,
            other_sequencers: Vec::new(),
            rent,
        };
        (header.state_root, ctx)
    };
    f(&StateAt {
        engine: &engine,
        root,
        number,
        ctx,
    })
}

/// A block selector: absent, `"latest"` or `"pending"` (the head: this node serves final blocks
/// only), `"earliest"` (0), `"safe"` / `"anchored"` (L1's latest anchored block), `"finalized"`
/// (L1's finalised block), a number (JSON number, `0x` quantity or decimal string), or
/// `{"blockNumber": …}` (EIP-1898). A block above the head is refused.
fn block_number(
    engine: &Engine,
    view: &L1View,
    at: Option<&Value>,
    what: &str,
) -> Result<u64, RpcError> {
    let head = engine.height();
    let chain = || {
        view.chain
            .as_ref()
            .ok_or_else(|| RpcError::new(NOT_HELD, "the chain is not registered on L1"))
    };
    let n = match at {
        None | Some(Value::Null) => head,
        Some(Value::Object(o)) => {
            if o.contains_key("blockHash") {
                return Err(RpcError::params(format!(
                    "{what}: selecting by blockHash is not supported; give a blockNumber"
                )));
            }
            return block_number(engine, view, o.get("blockNumber"), what);
        }
        Some(Value::String(s)) => match s.as_str() {
            "latest" | "pending" => head,
            "earliest" => 0,
            "safe" | "anchored" => chain()?.latest_l2_block.min(head),
            "finalized" => chain()?.finalized_l2_block.min(head),
            _ => quantity(&Value::String(s.clone()), what)?,
        },
        Some(v) => quantity(v, what)?,
    };
    if n > head {
        return Err(RpcError::new(
            NOT_HELD,
            format!("{what} {n} is not final on this node yet (its head is block {head})"),
        ));
    }
    Ok(n)
}

/// A non-negative integer given as a JSON number, a `0x` quantity or a decimal string.
fn quantity(v: &Value, what: &str) -> Result<u64, RpcError> {
    let bad = |m: String| RpcError::params(format!("{what}: {m}"));
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| bad(format!("{n} is not a non-negative integer"))),
        Value::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16)
                .map_err(|e| bad(format!("{s:?} is not a 64-bit hex quantity: {e}"))),
            None => s
                .parse()
                .map_err(|_| bad(format!("{s:?} is not a block tag or number"))),
        },
        other => Err(bad(format!("{other} is not a number"))),
    }
}

/// A 32-byte word parameter (a storage slot or a topic): `0x` + up to 64 hex digits,
/// big-endian, left-padded with zeros.
fn word(v: &Value, what: &str) -> Result<[u8; 32], RpcError> {
    let bad = |m: String| RpcError::params(format!("{what}: {m}"));
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Number(n) => {
            let n = n
                .as_u64()
                .ok_or_else(|| bad(format!("{n} is not a non-negative integer")))?;
            let mut w = [0u8; 32];
            w[24..].copy_from_slice(&n.to_be_bytes());
            return Ok(w);
        }
        other => return Err(bad(format!("{other} is not a hex string"))),
    };
    let h = s.strip_prefix("0x").unwrap_or(s);
    if h.is_empty() || h.len() > 64 {
        return Err(bad(format!("{s:?} must have 1 to 64 hex digits")));
    }
    let padded = format!("{h:0>64}");
    let mut w = [0u8; 32];
    hex::decode_to_slice(&padded, &mut w).map_err(|e| bad(format!("{s:?}: {e}")))?;
    Ok(w)
}

fn p_word(p: &[Value], i: usize, what: &str) -> Result<[u8; 32], RpcError> {
    word(param(p, i, what)?, &format!("parameter {i} ({what})"))
}

/// The call object of `l2_call` / `eth_call` / `*_estimategas`: `from` (default the zero
/// address), `to` (absent or null: a creation with `data` as init code), `data` (or `input`),
/// `value` (smallest CAS units = wei; at most `i64::MAX`), `gas` (default and cap
/// 30,000,000). Other fields (`gasPrice`, `nonce`, …) are ignored: a call pays nothing.
#[derive(Debug)]
struct CallRequest {
    from: Address,
    to: Option<Address>,
    data: Vec<u8>,
    value: i64,
    gas: u64,
}

impl CallRequest {
    fn parse(p: &[Value]) -> Result<CallRequest, RpcError> {
        let o = param(p, 0, "call object")?
            .as_object()
            .ok_or_else(|| RpcError::params("parameter 0 (call object) must be an object"))?;
        let addr = |k: &str| -> Result<Option<Address>, RpcError> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Address::from_hex(s)
                    .map(Some)
                    .map_err(|e| RpcError::params(format!("call object field {k}: {e}"))),
                Some(v) => Err(RpcError::params(format!(
                    "call object field {k}: {v} is not an address"
                ))),
            }
        };
        let data = match o.get("data").or_else(|| o.get("input")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => hex::decode(s.strip_prefix("0x").unwrap_or(s))
                .map_err(|e| RpcError::params(format!("call object field data: {e}")))?,
            Some(v) => {
                return Err(RpcError::params(format!(
                    "call object field data: {v} is not a hex string"
                )))
            }
        };
        let num = |k: &str, default: u64| -> Result<u64, RpcError> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => quantity(v, &format!("call object field {k}")),
            }
        };
        let value = num("value", 0)?;
        let value = i64::try_from(value).map_err(|_| {
            RpcError::params(format!(
                "call object field value: {value} is above the largest CAS amount {}",
                i64::MAX
            ))
        })?;
        Ok(CallRequest {
            from: addr("from")?.unwrap_or(Address::ZERO),
            to: addr("to")?,
            data,
            value,
            gas: num("gas", CVM_BLOCK_GAS_LIMIT)?.min(CVM_BLOCK_GAS_LIMIT),
        })
    }
}

/// A log filter: blocks `fromBlock..=toBlock` (default the head), `address` (one or a list),
/// `topics` (per position: null = any, a topic, or a list of alternatives).
struct LogFilter {
    from: u64,
    to: u64,
    addresses: Vec<Address>,
    topics: Vec<Option<Vec<H256>>>,
}

impl LogFilter {
    fn parse(engine: &Engine, view: &L1View, p: &[Value]) -> Result<LogFilter, RpcError> {
        let empty = Map::new();
        let o = match p.first() {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(o)) => o,
            Some(_) => return Err(RpcError::params("parameter 0 (filter) must be an object")),
        };
        if o.contains_key("blockHash") {
            return Err(RpcError::params(
                "filter: blockHash is not supported; give fromBlock and toBlock",
            ));
        }
        let from = block_number(engine, view, o.get("fromBlock"), "fromBlock")?;
        let to = block_number(engine, view, o.get("toBlock"), "toBlock")?;
        if from > to {
            return Err(RpcError::params(format!(
                "filter: fromBlock {from} is above toBlock {to}"
            )));
        }
        if to - from >= MAX_LOG_BLOCKS {
            return Err(RpcError::new(
                TOO_MUCH,
                format!(
                    "filter: {} blocks asked, at most {MAX_LOG_BLOCKS} per request",
                    to - from + 1
                ),
            ));
        }
        let one_address = |v: &Value| -> Result<Address, RpcError> {
            v.as_str()
                .ok_or_else(|| RpcError::params(format!("filter address: {v} is not a string")))
                .and_then(|s| {
                    Address::from_hex(s)
                        .map_err(|e| RpcError::params(format!("filter address {s:?}: {e}")))
                })
        };
        let addresses = match o.get("address") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().map(one_address).collect::<Result<_, _>>()?,
            Some(v) => vec![one_address(v)?],
        };
        let topic = |v: &Value, i: usize| -> Result<H256, RpcError> {
            word(v, &format!("filter topic {i}")).map(H256)
        };
        let topics = match o.get("topics") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) if a.len() <= 4 => a
                .iter()
                .enumerate()
                .map(|(i, t)| match t {
                    Value::Null => Ok(None),
                    Value::Array(alts) => alts
                        .iter()
                        .map(|v| topic(v, i))
                        .collect::<Result<Vec<_>, _>>()
                        .map(Some),
                    v => topic(v, i).map(|t| Some(vec![t])),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(RpcError::params(
                    "filter topics must be a list of at most 4 positions",
                ))
            }
        };
        Ok(LogFilter {
            from,
            to,
            addresses,
            topics,
        })
    }

    fn matches(&self, log: &Log) -> bool {
        (self.addresses.is_empty() || self.addresses.contains(&log.address))
            && self.topics.iter().enumerate().all(|(i, want)| match want {
                None => true,
                Some(alts) => log.topics.get(i).is_some_and(|t| alts.contains(t)),
            })
    }
}

fn get_logs(shared: &Shared, style: Style, p: &[Value]) -> Result<Value, RpcError> {
    let view = shared.view();
    let engine = shared.engine();
    let filter = LogFilter::parse(&engine, &view, p)?;
    let mut out = Vec::new();
    for n in filter.from.max(1)..=filter.to {
        let receipts = engine
            .chain()
            .receipts(n)
            .map_err(|e| RpcError::internal(e.to_string()))?;
        let mut log_index = 0u64;
        for r in &receipts {
            let Some(cvm) = &r.receipt.cvm else { continue };
            for log in &cvm.logs {
                if filter.matches(log) {
                    if out.len() == MAX_LOGS {
                        return Err(RpcError::new(
                            TOO_MUCH,
                            format!("more than {MAX_LOGS} logs match: narrow the filter"),
                        ));
                    }
                    let mut v = json!({
                        "address": log.address,
                        "topics": log.topics,
                        "data": format!("0x{}", hex::encode(&log.data)),
                        "blockNumber": style.num(r.block_number),
                        "blockHash": r.block_hash,
                        "transactionHash": r.hash,
                        "transactionIndex": style.num(u64::from(r.step)),
                        "logIndex": style.num(log_index),
                    });
                    if style == Style::Eth {
                        v["removed"] = json!(false);
                    }
                    out.push(v);
                }
                log_index += 1;
            }
        }
    }
    Ok(Value::Array(out))
}
