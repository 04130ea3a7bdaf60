//! The accounts file of `casl2 tree`: a JSON array of
//! `{"address": "0x<40 hex, raw order>", "balance": i64, "nonce": u64, "codeHash": "0x…",
//! "storageRoot": "0x…", "hatScore": u32, "lastActivity": u64}` (all but address optional).

use anyhow::{anyhow, bail, Context, Result};
use casl2_verifier::{AccountState, Address, H256};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

const FIELDS: [&str; 7] = [
    "address",
    "balance",
    "nonce",
    "codeHash",
    "storageRoot",
    "hatScore",
    "lastActivity",
];

/// Read and check an accounts file.
pub fn read_accounts_file(path: &Path) -> Result<Vec<(Address, AccountState)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read accounts file {}", path.display()))?;
    parse_accounts(&text).with_context(|| format!("{}", path.display()))
}

/// Parse the accounts JSON; errors name the entry and the field.
pub fn parse_accounts(text: &str) -> Result<Vec<(Address, AccountState)>> {
    let v: Value = serde_json::from_str(text).map_err(|e| anyhow!("not valid JSON: {e}"))?;
    let Value::Array(entries) = v else {
        bail!("expected a JSON array of account objects");
    };
    let mut seen: HashMap<Address, usize> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let Value::Object(obj) = e else {
            bail!("entry {i}: expected an object");
        };
        let (addr, st) = parse_account_object(obj, true).with_context(|| format!("entry {i}"))?;
        let addr = addr.ok_or_else(|| anyhow!("entry {i}: field \"address\" is missing"))?;
        if let Some(prev) = seen.insert(addr, i) {
            bail!("entry {i}: address {addr} already appears in entry {prev}");
        }
        out.push((addr, st));
    }
    Ok(out)
}

/// Parse one account object (the address may be absent when `address_allowed` is false or the
/// caller does not need it).
pub fn parse_account_object(
    obj: &Map<String, Value>,
    address_allowed: bool,
) -> Result<(Option<Address>, AccountState)> {
    for k in obj.keys() {
        if !FIELDS.contains(&k.as_str()) || (!address_allowed && k == "address") {
            bail!("unknown field \"{k}\" (allowed: {})", FIELDS.join(", "));
        }
    }
    let address = match obj.get("address") {
        None => None,
        Some(Value::String(s)) => {
            Some(Address::from_hex(s).map_err(|e| anyhow!("field \"address\": {e}"))?)
        }
        Some(other) => bail!("field \"address\": expected a string, got {other}"),
    };
    let st = AccountState {
        balance: int_field(obj, "balance", |v| v.as_i64(), "an integer (i64)")?,
        nonce: int_field(obj, "nonce", |v| v.as_u64(), "a non-negative integer (u64)")?,
        code_hash: hash_field(obj, "codeHash")?,
        storage_root: hash_field(obj, "storageRoot")?,
        hat_score: int_field(
            obj,
            "hatScore",
            |v| v.as_u64().and_then(|x| u32::try_from(x).ok()),
            "a non-negative integer (u32)",
        )?,
        last_activity: int_field(
            obj,
            "lastActivity",
            |v| v.as_u64(),
            "a non-negative integer (u64)",
        )?,
    };
    Ok((address, st))
}

fn int_field<T: Default>(
    obj: &Map<String, Value>,
    name: &str,
    conv: impl Fn(&Value) -> Option<T>,
    what: &str,
) -> Result<T> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => conv(v).ok_or_else(|| anyhow!("field \"{name}\": expected {what}, got {v}")),
    }
}

fn hash_field(obj: &Map<String, Value>, name: &str) -> Result<H256> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(H256::ZERO),
        Some(Value::String(s)) => H256::from_hex(s).map_err(|e| anyhow!("field \"{name}\": {e}")),
        Some(v) => bail!("field \"{name}\": expected a 0x-prefixed 64-digit hex string, got {v}"),
    }
}

/// The JSON form of an account state (the accounts-file fields).
pub fn account_json(addr: &Address, st: &AccountState) -> Value {
    serde_json::json!({
        "address": addr.to_hex(),
        "balance": st.balance,
        "nonce": st.nonce,
        "codeHash": st.code_hash.to_hex(),
        "storageRoot": st.storage_root.to_hex(),
        "hatScore": st.hat_score,
        "lastActivity": st.last_activity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_entry_and_field() {
        let a = parse_accounts(
            r#"[{"address":"0x0102030405060708090a0b0c0d0e0f1011121314","balance":5}]"#,
        )
        .unwrap();
        assert_eq!(a[0].1.balance, 5);
        assert_eq!(a[0].1.nonce, 0);
        let e = parse_accounts(r#"[{"address":"0x0102030405060708090a0b0c0d0e0f1011121314"},{"address":"0x01","balance":1}]"#)
            .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("entry 1") && msg.contains("\"address\""),
            "{msg}"
        );
        let e = parse_accounts(
            r#"[{"address":"0x0102030405060708090a0b0c0d0e0f1011121314","nonce":-1}]"#,
        )
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("entry 0") && msg.contains("\"nonce\""),
            "{msg}"
        );
        let e = parse_accounts(
            r#"[{"address":"0x0102030405060708090a0b0c0d0e0f1011121314","balanse":1}]"#,
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("unknown field \"balanse\""));
        assert!(parse_accounts("{}").is_err());
        assert!(parse_accounts("[1]").is_err());
        let e = parse_accounts(r#"[{"address":"0x0102030405060708090a0b0c0d0e0f1011121314"},{"address":"0x0102030405060708090a0b0c0d0e0f1011121314"}]"#)
            .unwrap_err();
        assert!(format!("{e:#}").contains("already appears in entry 0"));
    }
}
