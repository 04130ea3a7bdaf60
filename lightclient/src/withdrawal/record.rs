//! A user's withdrawal (L2 → L1) as a record that moves through stages, each saved before
//! the next step is taken so that an interrupted withdrawal can be resumed. Every front end
//! (`casl2 withdraw`, the wasm package) keeps the same record in the same JSON shape
//! (`withdrawals.json`, `docs/protocol.md` "Withdrawals file").

use casl2_verifier::{Address, Encode, L2Transaction, H256};
use serde::{Deserialize, Serialize};

/// Where a withdrawal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Signed, maybe sent, not yet in a final L2 block.
    Signed,
    /// In a final L2 block; waiting for its anchor to become final.
    Included,
    /// `FinalizeWithdrawal` signed and sent to L1.
    Finalizing,
    /// Paid on L1.
    Paid,
    /// Failed for good (the reason is in `error`).
    Failed,
}

/// One withdrawal as the wallet remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    /// The withdrawal id (the WITHDRAWAL transaction's hash).
    pub id: H256,
    /// The chain.
    pub chain: u64,
    /// The L2 account debited.
    pub from: Address,
    /// The L1 account paid.
    pub to: Address,
    /// Amount (smallest units).
    pub amount: i64,
    /// The signed L2 transaction (hex of its codec).
    pub l2_tx: String,
    /// The stage.
    pub stage: Stage,
    /// The L2 block that holds it.
    #[serde(default)]
    pub l2_block: Option<u64>,
    /// The anchor it was (or is being) paid against.
    #[serde(default)]
    pub anchor: Option<u64>,
    /// `standard` or `fast`.
    #[serde(default)]
    pub path: Option<String>,
    /// The `FinalizeWithdrawal` L1 transaction id, its nonce and the L1 height it was sent at.
    #[serde(default)]
    pub l1_tx: Option<H256>,
    /// Its sender.
    #[serde(default)]
    pub l1_from: Option<Address>,
    /// Its nonce.
    #[serde(default)]
    pub l1_nonce: Option<u64>,
    /// L1 height when it was sent.
    #[serde(default)]
    pub l1_since: Option<u64>,
    /// L1 block that paid it.
    #[serde(default)]
    pub l1_block: Option<u64>,
    /// Why it failed, or why the last finalisation was refused.
    #[serde(default)]
    pub error: Option<String>,
}

impl Withdrawal {
    /// The record of a signed WITHDRAWAL transaction, at stage `signed` (its hash is the id).
    pub fn signed(tx: &L2Transaction) -> Withdrawal {
        Withdrawal {
            id: tx.hash(),
            chain: tx.l2_chain_id,
            from: tx.from,
            to: tx.to,
            amount: tx.value,
            l2_tx: hex::encode(tx.encode()),
            stage: Stage::Signed,
            l2_block: None,
            anchor: None,
            path: None,
            l1_tx: None,
            l1_from: None,
            l1_nonce: None,
            l1_since: None,
            l1_block: None,
            error: None,
        }
    }
}
