//! The browser (and Node) face of casl2's light client: a JS class [`LightClient`] with async
//! methods over `casl2_lightclient::LightClient`, and the bare checks (`verifyAccountProof`,
//! `verifySample`, `verifyQuorum`) for pages that fetch evidence themselves; `withdrawalStage`
//! reads a saved withdrawal record (an entry of `withdrawals.json`, the library's
//! `withdrawal::Withdrawal`).
//!
//! Every answer is a plain JS object (the JSON shapes of `docs/protocol.md`, "Light client";
//! TypeScript types in the generated `casl2_wasm.d.ts`). Every failure is a thrown `Error` whose
//! message is the one-line reason and whose `kind` is `rejected` (the node's evidence failed a
//! check), `unavailable` (sampling failed), `transport`, `not-found` or `invalid`.
//!
//! Build: `cargo build -p casl2-wasm --target wasm32-unknown-unknown --profile wasm` then
//! `wasm-bindgen --target web --out-dir wasm/pkg target/wasm32-unknown-unknown/wasm/casl2_wasm.wasm`
//! (`.ci/run` does both).

pub use casl2_lightclient as lightclient;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
pub use bindings::*;

/// The checks behind the bindings, on JSON values (so they are testable natively).
pub mod checks {
    use casl2_lightclient::verifier::da::{DACommitment, Sample};
    use casl2_lightclient::verifier::l1::Sequencer;
    use casl2_lightclient::verifier::params::{ChainParams, Network};
    use casl2_lightclient::verifier::smt::CompactProof;
    use casl2_lightclient::verifier::types::{BlockSignature, L2BlockHeader};
    use casl2_lightclient::verifier::{Address, H256};
    use casl2_lightclient::verify;
    use casl2_lightclient::withdrawal::Withdrawal;
    use serde_json::{json, Value};

    fn parse<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, String> {
        serde_json::from_value(v).map_err(|e| format!("{what}: {e}"))
    }

    /// Check `proof` (a compact proof as `l2_getproof` serves it) of `address` against `root`;
    /// returns the proven account.
    pub fn account_proof(address: &str, proof: Value, root: &str) -> Result<Value, String> {
        let a = Address::from_hex(address).map_err(|e| format!("address {address:?}: {e}"))?;
        let r = H256::from_hex(root).map_err(|e| format!("root {root:?}: {e}"))?;
        let p: CompactProof = parse("proof", proof)?;
        let acc = verify::verify_account_proof(&a, &p, &r).map_err(|e| e.to_string())?;
        Ok(json!(acc))
    }

    /// Check `sample` (as `l2_getshare` serves it) against `commitment` (as L1's anchor holds
    /// it); the commitment is first checked against `data_root`.
    pub fn sample(commitment: Value, data_root: &str, sample: Value) -> Result<(), String> {
        let c: DACommitment = parse("commitment", commitment)?;
        let root =
            H256::from_hex(data_root).map_err(|e| format!("data root {data_root:?}: {e}"))?;
        let s: Sample = parse("sample", sample)?;
        verify::verify_batch_commitment(0, &c, &root).map_err(|e| e.to_string())?;
        verify::verify_batch_sample(0, &c, s.row, s.column, &s).map_err(|e| e.to_string())
    }

    /// Check `signatures` on `header` against `registry` (L1's `l2_getsequencers` entries)
    /// with regtest eligibility and `threshold_pct`; returns the signed weight.
    pub fn quorum(
        header: Value,
        signatures: Value,
        registry: Value,
        threshold_pct: u32,
    ) -> Result<u128, String> {
        let h: L2BlockHeader = parse("header", header)?;
        let sigs: Vec<BlockSignature> = parse("signatures", signatures)?;
        let entries: Vec<Value> = parse("registry", registry)?;
        let mut reg = Vec::new();
        for e in entries {
            let hat = e
                .get("hatScore")
                .and_then(Value::as_u64)
                .and_then(|h| u32::try_from(h).ok())
                .ok_or("registry entry without hatScore")?;
            reg.push((parse::<Sequencer>("registry entry", e)?, hat));
        }
        let set = verify::sequencer_set(&reg, &ChainParams::for_network(Network::Regtest))
            .map_err(|e| e.to_string())?;
        verify::verify_header_quorum(&h, &sigs, &set, threshold_pct).map_err(|e| e.to_string())
    }

    /// The stage (`signed`, `included`, `finalizing`, `paid` or `failed`) of a saved
    /// withdrawal record (an entry of `withdrawals.json`).
    pub fn withdrawal_stage(record: Value) -> Result<String, String> {
        let w: Withdrawal = parse("withdrawal record", record)?;
        match json!(w.stage) {
            Value::String(s) => Ok(s),
            other => Err(format!("withdrawal stage: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::checks;
    use serde_json::json;

    #[test]
    fn bad_input_is_a_one_line_error_naming_it() {
        let e = checks::account_proof("0x12", json!({}), "0x00").unwrap_err();
        assert!(e.starts_with("address \"0x12\""), "{e}");
        let root = format!("0x{}", "00".repeat(32));
        let addr = format!("0x{}", "11".repeat(20));
        let e = checks::account_proof(&addr, json!({"key": 5}), &root).unwrap_err();
        assert!(e.starts_with("proof: "), "{e}");
        let e = checks::sample(json!(null), &root, json!(null)).unwrap_err();
        assert!(e.starts_with("commitment: "), "{e}");
        let e = checks::quorum(json!({}), json!([]), json!([{}]), 67).unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        let e = checks::withdrawal_stage(json!({"id": 1})).unwrap_err();
        assert!(e.starts_with("withdrawal record: "), "{e}");
    }

    #[test]
    fn a_saved_withdrawal_gives_its_stage() {
        let h = format!("0x{}", "11".repeat(32));
        let a = format!("0x{}", "22".repeat(20));
        let w = json!({"id": h, "chain": 1, "from": a, "to": a, "amount": 5, "l2Tx": "00",
            "stage": "finalizing"});
        assert_eq!(checks::withdrawal_stage(w).unwrap(), "finalizing");
    }
}
