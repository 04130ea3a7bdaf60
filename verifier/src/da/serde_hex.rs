//! Byte strings as `0x`-prefixed hex in serde formats (`#[serde(with = "serde_hex")]`).

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{}", hex::encode(bytes)))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    let t = s.strip_prefix("0x").unwrap_or(&s);
    hex::decode(t).map_err(serde::de::Error::custom)
}
