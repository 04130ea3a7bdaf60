//! The committed contract build (`build.json`, from the sources beside it by `compile.js`) and
//! hand ABI encoding. Shared by the verifier's CVM tests and benches (`tests/common_cvm`) and
//! the full node's end-to-end tests, which include this file by path.
#![allow(dead_code)]

use casl2_verifier::stf::cvm::keccak256;
use casl2_verifier::Address;

/// Creation and runtime code of a contract of `build.json`.
pub fn contract(name: &str) -> (Vec<u8>, Vec<u8>) {
    let s = include_str!("build.json");
    let v: serde_json::Value = serde_json::from_str(s).expect("build.json");
    let c = &v["contracts"][name];
    let b = hex::decode(c["bytecode"].as_str().expect("bytecode")).expect("hex");
    let d = hex::decode(c["deployedBytecode"].as_str().expect("code")).expect("hex");
    (b, d)
}

/// The 4-byte selector of a function signature.
pub fn selector(sig: &str) -> [u8; 4] {
    let h = keccak256(sig.as_bytes());
    [h.0[0], h.0[1], h.0[2], h.0[3]]
}

/// An unsigned integer as a 32-byte ABI word.
pub fn word_u(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// An address as a 32-byte ABI word.
pub fn word_a(a: &Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(&a.0);
    w
}

/// Calldata: selector of `sig` and 32-byte words.
pub fn calldata(sig: &str, words: &[[u8; 32]]) -> Vec<u8> {
    let mut d = selector(sig).to_vec();
    for w in words {
        d.extend_from_slice(w);
    }
    d
}

/// A 32-byte ABI word read as an unsigned integer (`None` above `u128::MAX` or not 32 bytes).
pub fn read_u(word: &[u8]) -> Option<u128> {
    if word.len() != 32 || word[..16].iter().any(|b| *b != 0) {
        return None;
    }
    Some(u128::from_be_bytes(word[16..].try_into().ok()?))
}
