//! wasm-bindgen bindings (wasm32 only).

use crate::checks;
use casl2_lightclient::l1::DevnetClient;
use casl2_lightclient::verifier::{Address, H256};
use casl2_lightclient::{Finality, LightClient as Inner, LightError};
use js_sys::{Function, Promise};
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Soft: a quorum-signed head; hard: the root of the latest anchor L1 finalised. */
export type Finality = "soft" | "hard";
/** What a verified answer was checked against. */
export interface Trust {
  finality: Finality;
  stateRoot: string;
  l2Block: number;
  /** Soft: L1 block the head anchors to; hard: L1 height of the final anchor. */
  l1Height: number;
  l1Tip: number;
  anchorIndex: number | null;
  blockHash: string | null;
  signedWeight: number | null;
  totalWeight: number | null;
  signers: number | null;
  thresholdPct: number | null;
}
export interface AccountState {
  balance: number; nonce: number; codeHash: string; storageRoot: string;
  hatScore: number; lastActivity: number;
}
export interface ProofSummary { key: string; inclusion: boolean; siblings: number; bytes: number; }
export interface VerifiedBalance {
  address: string; balance: number; nonce: number; exists: boolean;
  account: AccountState; trust: Trust; proof: ProofSummary; node: string;
}
export interface VerifiedHead { header: any; trust: Trust; }
export interface WithdrawalStatus {
  id: string; state: "unknown" | "pending" | "finalized" | "paid";
  record: { id: string; l2Sender: string; l1Recipient: string; amount: number; l2Block: number } | null;
  soft: Trust; hard: Trust; paidOnL1: boolean | null;
}
export interface FollowUpdate {
  l1Tip: number; anchors: number; newBatches: number[]; finalizedL2Block: number;
  finalizedStateRoot: string; anchoredL2Block: number; sequencers: number; totalWeight: number;
}
export interface SampleProgress {
  batch: number; verified: number; needed: number; confidence: number; row: number; column: number;
}
export interface SampleReport {
  batch: number; l1Height: number; startBlock: number; endBlock: number; dataRoot: string;
  k: number; width: number; wanted: number; needed: number; verified: number;
  confidence: number; seed: string;
}
/** Thrown by every method: `message` is the one-line reason. */
export interface LightClientError extends Error {
  kind: "rejected" | "unavailable" | "transport" | "not-found" | "invalid";
}
"#;

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    let s = serde_json::to_string(v).map_err(|e| err("invalid", &e.to_string()))?;
    js_sys::JSON::parse(&s)
}

fn from_js(v: &JsValue) -> Result<serde_json::Value, JsValue> {
    let s: String = js_sys::JSON::stringify(v)
        .map_err(|_| err("invalid", "argument is not JSON"))?
        .into();
    serde_json::from_str(&s).map_err(|e| err("invalid", &e.to_string()))
}

fn err(kind: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&e, &"kind".into(), &kind.into());
    e.into()
}

fn light_err(e: LightError) -> JsValue {
    err(e.kind(), &e.to_string())
}

fn address(s: &str) -> Result<Address, JsValue> {
    Address::from_hex(s.trim()).map_err(|e| {
        err(
            "invalid",
            &format!("address {s:?}: {e} (want 0x and 40 hex digits)"),
        )
    })
}

/// A light client of one L2 chain: trusts the devnet L1 at `l1Url`, checks everything the node
/// at `nodeUrl` says.
#[wasm_bindgen]
#[derive(Debug)]
pub struct LightClient {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl LightClient {
    /// `new LightClient(l1Url, nodeUrl, chainId)`.
    #[wasm_bindgen(constructor)]
    pub fn new(l1_url: String, node_url: String, chain_id: u32) -> LightClient {
        LightClient {
            inner: Rc::new(Inner::new(
                DevnetClient::new(l1_url),
                node_url,
                u64::from(chain_id),
            )),
        }
    }

    /// The balance of `address`, proven (`finality` "soft", the default, or "hard").
    #[wasm_bindgen(unchecked_return_type = "Promise<VerifiedBalance>")]
    pub fn balance(
        &self,
        address_hex: String,
        #[wasm_bindgen(unchecked_param_type = "Finality | undefined")] finality: Option<String>,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let a = address(&address_hex)?;
            let f: Finality = finality
                .as_deref()
                .unwrap_or("soft")
                .parse()
                .map_err(light_err)?;
            to_js(&inner.balance(&a, f).await.map_err(light_err)?)
        })
    }

    /// The node's head with its quorum signatures checked.
    #[wasm_bindgen(unchecked_return_type = "Promise<VerifiedHead>")]
    pub fn head(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { to_js(&inner.head().await.map_err(light_err)?) })
    }

    /// Withdrawal `id`'s status with its proofs.
    #[wasm_bindgen(unchecked_return_type = "Promise<WithdrawalStatus>")]
    pub fn withdrawal(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let id = H256::from_hex(id.trim())
                .map_err(|e| err("invalid", &format!("withdrawal id {id:?}: {e}")))?;
            to_js(&inner.withdrawal(&id).await.map_err(light_err)?)
        })
    }

    /// What changed on L1 since the last poll (new batches to sample).
    #[wasm_bindgen(unchecked_return_type = "Promise<FollowUpdate>")]
    pub fn poll(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { to_js(&inner.poll().await.map_err(light_err)?) })
    }

    /// Sample batch `batch` until `confidence` (e.g. 0.9999), calling `onProgress` (if given)
    /// with a `SampleProgress` after each verified share. Rejects (kind `unavailable`) at the
    /// first share not served or not proven.
    #[wasm_bindgen(unchecked_return_type = "Promise<SampleReport>")]
    pub fn sample(
        &self,
        batch: u32,
        confidence: f64,
        #[wasm_bindgen(unchecked_param_type = "((p: SampleProgress) => void) | undefined")]
        on_progress: Option<Function>,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let seed = casl2_lightclient::sampling::fresh_seed().map_err(light_err)?;
            let report = inner
                .sample_with(u64::from(batch), confidence, seed, |p| {
                    if let (Some(f), Ok(v)) = (&on_progress, to_js(p)) {
                        let _ = f.call1(&JsValue::NULL, &v);
                    }
                })
                .await
                .map_err(light_err)?;
            to_js(&report)
        })
    }
}

/// Check a compact account proof against a state root; returns the proven account.
#[wasm_bindgen(js_name = verifyAccountProof, unchecked_return_type = "AccountState")]
pub fn verify_account_proof(address: &str, proof: JsValue, root: &str) -> Result<JsValue, JsValue> {
    let acc =
        checks::account_proof(address, from_js(&proof)?, root).map_err(|e| err("rejected", &e))?;
    to_js(&acc)
}

/// Check one DA sample against a commitment (itself checked against the data root).
#[wasm_bindgen(js_name = verifySample)]
pub fn verify_sample(commitment: JsValue, data_root: &str, sample: JsValue) -> Result<(), JsValue> {
    checks::sample(from_js(&commitment)?, data_root, from_js(&sample)?)
        .map_err(|e| err("rejected", &e))
}

/// Check a header's signatures against L1's registry (`l2_getsequencers` entries); returns the
/// signed weight.
#[wasm_bindgen(js_name = verifyQuorum)]
pub fn verify_quorum(
    header: JsValue,
    signatures: JsValue,
    registry: JsValue,
    threshold_pct: u32,
) -> Result<f64, JsValue> {
    let w = checks::quorum(
        from_js(&header)?,
        from_js(&signatures)?,
        from_js(&registry)?,
        threshold_pct,
    )
    .map_err(|e| err("rejected", &e))?;
    Ok(w as f64)
}

/// The stage of a saved withdrawal record (an entry of `withdrawals.json`).
#[wasm_bindgen(js_name = withdrawalStage)]
pub fn withdrawal_stage(record: JsValue) -> Result<String, JsValue> {
    checks::withdrawal_stage(from_js(&record)?).map_err(|e| err("invalid", &e))
}
