//! Parameter and answer types of the node's contract methods (`l2_call`, `l2_estimategas`,
//! `l2_getcode`, `l2_getstorageat`, `l2_getlogs`) and of the `eth_*` names Ethereum tooling
//! calls. Reading is as lenient as Ethereum tools need: numbers as JSON numbers, `0x`
//! quantities or decimal strings; blocks as tags, numbers or EIP-1898 objects; `data` or
//! `input`; 32-byte words as short hex. The `l2_*` names answer plain JSON numbers, the
//! `eth_*` names `0x` quantities ([`HexU64`]).

use casl2_verifier::stf::Log;
use casl2_verifier::{Address, H256};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A non-negative integer given as a JSON number, a `0x` quantity or a decimal string; the
/// error starts with `what`.
pub fn quantity(v: &Value, what: &str) -> Result<u64, String> {
    let bad = |m: String| format!("{what}: {m}");
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

/// A 32-byte word (a storage slot or a topic): `0x` + 1 to 64 hex digits, big-endian,
/// left-padded with zeros, or a JSON number; the error starts with `what`.
pub fn word(v: &Value, what: &str) -> Result<H256, String> {
    let bad = |m: String| format!("{what}: {m}");
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Number(n) => {
            let n = n
                .as_u64()
                .ok_or_else(|| bad(format!("{n} is not a non-negative integer")))?;
            let mut w = [0u8; 32];
            w[24..].copy_from_slice(&n.to_be_bytes());
            return Ok(H256(w));
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
    Ok(H256(w))
}

/// A `u64` written as a `0x` quantity (the `eth_*` answers); read from any [`quantity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct HexU64(pub u64);

impl Serialize for HexU64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{:x}", self.0))
    }
}

impl<'de> Deserialize<'de> for HexU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        quantity(&v, "quantity")
            .map(HexU64)
            .map_err(D::Error::custom)
    }
}

/// Bytes written as `0x` + hex (code, call output, call data).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HexBytes(pub Vec<u8>);

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let s = v
            .as_str()
            .ok_or_else(|| D::Error::custom(format!("{v} is not a hex string")))?;
        hex::decode(s.strip_prefix("0x").unwrap_or(s))
            .map(HexBytes)
            .map_err(D::Error::custom)
    }
}

/// A 32-byte word parameter (a storage slot): read as [`word`], written as `0x` + 64 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Word(pub H256);

impl Serialize for Word {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        word(&v, "word").map(Word).map_err(D::Error::custom)
    }
}

/// A block selector. Absent (`None` where it is a parameter) means the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockId {
    /// `"latest"`: the head.
    Latest,
    /// `"pending"`: the head too (the node serves final blocks only).
    Pending,
    /// `"earliest"`: block 0.
    Earliest,
    /// `"safe"`: L1's latest anchored block.
    Safe,
    /// `"anchored"`: L1's latest anchored block.
    Anchored,
    /// `"finalized"`: L1's finalised block.
    Finalized,
    /// A number (JSON number, `0x` quantity or decimal string; `{"blockNumber": …}`).
    Number(u64),
    /// `{"blockHash": …}` (EIP-1898): read so that it can be refused by name.
    Hash(H256),
}

impl BlockId {
    fn from_json(v: &Value) -> Result<BlockId, String> {
        Ok(match v {
            Value::Null => BlockId::Latest,
            Value::Object(o) => {
                if let Some(h) = o.get("blockHash") {
                    let h =
                        serde_json::from_value(h.clone()).map_err(|e| format!("blockHash: {e}"))?;
                    return Ok(BlockId::Hash(h));
                }
                return BlockId::from_json(o.get("blockNumber").unwrap_or(&Value::Null));
            }
            Value::String(s) => match s.as_str() {
                "latest" => BlockId::Latest,
                "pending" => BlockId::Pending,
                "earliest" => BlockId::Earliest,
                "safe" => BlockId::Safe,
                "anchored" => BlockId::Anchored,
                "finalized" => BlockId::Finalized,
                _ => BlockId::Number(quantity(v, "block")?),
            },
            v => BlockId::Number(quantity(v, "block")?),
        })
    }
}

impl Serialize for BlockId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let tag = match self {
            BlockId::Latest => "latest",
            BlockId::Pending => "pending",
            BlockId::Earliest => "earliest",
            BlockId::Safe => "safe",
            BlockId::Anchored => "anchored",
            BlockId::Finalized => "finalized",
            BlockId::Number(n) => return s.serialize_u64(*n),
            BlockId::Hash(h) => {
                let mut o = Map::new();
                o.insert("blockHash".into(), Value::String(h.to_hex()));
                return o.serialize(s);
            }
        };
        s.serialize_str(tag)
    }
}

impl<'de> Deserialize<'de> for BlockId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BlockId::from_json(&Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// The call object of `l2_call` / `eth_call` / `*_estimategas`. Absent fields are `None`; the
/// node's defaults: `from` the zero address, `to` none (a creation with `data` as init code),
/// `data` empty, `value` 0 (at most `i64::MAX`), `gas` 30,000,000 (also the cap). `input`
/// is read as `data`; other fields (`gasPrice`, `nonce`, …) are ignored: a call pays nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallRequest {
    /// The caller.
    pub from: Option<Address>,
    /// The contract called (`None`: a creation).
    pub to: Option<Address>,
    /// The call data or init code.
    pub data: Option<Vec<u8>>,
    /// The value sent, in smallest CAS units (= wei).
    pub value: Option<u64>,
    /// The gas limit.
    pub gas: Option<u64>,
}

impl CallRequest {
    fn from_json(v: &Value) -> Result<CallRequest, String> {
        let o = v.as_object().ok_or("must be an object")?;
        let addr = |k: &str| -> Result<Option<Address>, String> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Address::from_hex(s)
                    .map(Some)
                    .map_err(|e| format!("call object field {k}: {e}")),
                Some(v) => Err(format!("call object field {k}: {v} is not an address")),
            }
        };
        let data = match o.get("data").or_else(|| o.get("input")) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                hex::decode(s.strip_prefix("0x").unwrap_or(s))
                    .map_err(|e| format!("call object field data: {e}"))?,
            ),
            Some(v) => return Err(format!("call object field data: {v} is not a hex string")),
        };
        let num = |k: &str| -> Result<Option<u64>, String> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => quantity(v, &format!("call object field {k}")).map(Some),
            }
        };
        Ok(CallRequest {
            from: addr("from")?,
            to: addr("to")?,
            data,
            value: num("value")?,
            gas: num("gas")?,
        })
    }
}

impl Serialize for CallRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Map::new();
        if let Some(a) = &self.from {
            o.insert("from".into(), Value::String(a.to_hex()));
        }
        if let Some(a) = &self.to {
            o.insert("to".into(), Value::String(a.to_hex()));
        }
        if let Some(d) = &self.data {
            o.insert(
                "data".into(),
                Value::String(format!("0x{}", hex::encode(d))),
            );
        }
        if let Some(v) = self.value {
            o.insert("value".into(), Value::from(v));
        }
        if let Some(g) = self.gas {
            o.insert("gas".into(), Value::from(g));
        }
        o.serialize(s)
    }
}

impl<'de> Deserialize<'de> for CallRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CallRequest::from_json(&Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// One position of a log filter's `topics`: any topic (`null`), or one of a list.
pub type TopicFilter = Option<Vec<H256>>;

/// The filter of `l2_getlogs` / `eth_getLogs`: blocks `fromBlock..=toBlock` (default the
/// head), `address` (one or a list; empty: any), `topics` (at most 4 positions).
/// `blockHash` is read so that the node can refuse it by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogFilter {
    /// The first block.
    pub from_block: Option<BlockId>,
    /// The last block.
    pub to_block: Option<BlockId>,
    /// The emitting contracts (empty: any).
    pub address: Vec<Address>,
    /// Per topic position: any, or one of a list.
    pub topics: Vec<TopicFilter>,
    /// A block hash (EIP-234), which the node does not support.
    pub block_hash: Option<H256>,
}

impl LogFilter {
    fn from_json(v: &Value) -> Result<LogFilter, String> {
        let empty = Map::new();
        let o = match v {
            Value::Null => &empty,
            Value::Object(o) => o,
            _ => return Err("must be an object".into()),
        };
        let block = |k: &str| -> Result<Option<BlockId>, String> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => BlockId::from_json(v)
                    .map(Some)
                    .map_err(|e| format!("{k}: {e}")),
            }
        };
        let one_address = |v: &Value| -> Result<Address, String> {
            let s = v
                .as_str()
                .ok_or_else(|| format!("filter address: {v} is not a string"))?;
            Address::from_hex(s).map_err(|e| format!("filter address {s:?}: {e}"))
        };
        let address = match o.get("address") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().map(one_address).collect::<Result<_, _>>()?,
            Some(v) => vec![one_address(v)?],
        };
        let topic = |v: &Value, i: usize| word(v, &format!("filter topic {i}"));
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
            Some(_) => return Err("filter topics must be a list of at most 4 positions".into()),
        };
        let block_hash = match o.get("blockHash") {
            None => None,
            Some(h) => Some(H256::deserialize(h).map_err(|e| format!("blockHash: {e}"))?),
        };
        Ok(LogFilter {
            from_block: block("fromBlock")?,
            to_block: block("toBlock")?,
            address,
            topics,
            block_hash,
        })
    }

    /// Whether `log` passes the address and topic conditions.
    pub fn matches(&self, log: &Log) -> bool {
        (self.address.is_empty() || self.address.contains(&log.address))
            && self.topics.iter().enumerate().all(|(i, want)| match want {
                None => true,
                Some(alts) => log.topics.get(i).is_some_and(|t| alts.contains(t)),
            })
    }
}

impl Serialize for LogFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut o = Map::new();
        let mut put = |k: &str, v: Result<Value, serde_json::Error>| -> Result<(), S::Error> {
            o.insert(k.into(), v.map_err(S::Error::custom)?);
            Ok(())
        };
        if let Some(b) = &self.from_block {
            put("fromBlock", serde_json::to_value(b))?;
        }
        if let Some(b) = &self.to_block {
            put("toBlock", serde_json::to_value(b))?;
        }
        if !self.address.is_empty() {
            put("address", serde_json::to_value(&self.address))?;
        }
        if !self.topics.is_empty() {
            put("topics", serde_json::to_value(&self.topics))?;
        }
        if let Some(h) = &self.block_hash {
            put("blockHash", serde_json::to_value(h))?;
        }
        o.serialize(s)
    }
}

impl<'de> Deserialize<'de> for LogFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LogFilter::from_json(&Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// One log of a `l2_getlogs` (`N` = `u64`) or `eth_getLogs` (`N` = [`HexU64`]) answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry<N> {
    /// The emitting contract.
    pub address: Address,
    /// Its topics.
    pub topics: Vec<H256>,
    /// Its data.
    pub data: HexBytes,
    /// The block number.
    pub block_number: N,
    /// The block hash.
    pub block_hash: H256,
    /// The transaction hash.
    pub transaction_hash: H256,
    /// The transaction's position among the block's steps.
    pub transaction_index: N,
    /// The log's position in the block.
    pub log_index: N,
    /// `false` under the `eth_*` name (final blocks are never removed); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<bool>,
}

/// `l2_call`: what a call without a transaction gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallAnswer {
    /// Whether it succeeded.
    pub success: bool,
    /// Gas used.
    pub gas_used: u64,
    /// The return (or revert) data.
    pub output: HexBytes,
    /// The logs it emitted.
    pub logs: Vec<Log>,
    /// The contract a creation made.
    pub contract_address: Option<Address>,
    /// Why it failed (empty on success).
    pub error: String,
    /// The block whose state it ran on.
    pub block_number: u64,
}
