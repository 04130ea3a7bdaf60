//! What the withdrawal machine asks of an L2 node ([`WithdrawalNode`]), as typed answers, and
//! its implementation over [`NodeClient`]. The node's JSON is read in the two functions
//! [`receipt_answer`] and [`proof_answer`] only.

use crate::l2::{NodeClient, NodeError};
use casl2_verifier::smt::CompactProof;
use casl2_verifier::types::{L2Transaction, WithdrawalRecord};
use casl2_verifier::H256;
use serde_json::Value;

/// Which state a withdrawal proof is asked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofAt {
    /// The state of the latest finalized anchor (the standard path).
    Finalized,
    /// The state of the latest anchor (the fast path).
    Anchored,
}

impl ProofAt {
    /// The tag the node's RPC takes.
    pub fn tag(self) -> &'static str {
        match self {
            ProofAt::Finalized => "finalized",
            ProofAt::Anchored => "anchored",
        }
    }
}

/// What a node knows of an L2 transaction it has seen (pending or in a block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Receipt {
    /// The block that holds it (`None` while it waits in the mempool).
    pub block: Option<u64>,
    /// Whether it succeeded (false when the node does not say).
    pub success: bool,
    /// Why it failed, if the node says.
    pub error: Option<String>,
}

/// A node's proof of a withdrawal record, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofAnswer {
    /// The state root the proof is under (`None` if the node's answer lacks a readable one).
    pub state_root: Option<H256>,
    /// The record at that root (`None`: the node has none).
    pub record: Option<WithdrawalRecord>,
    /// The proof, or why it does not decode.
    pub proof: Result<CompactProof, String>,
}

/// The L2 node as the withdrawal machine uses it.
#[allow(async_fn_in_trait)]
pub trait WithdrawalNode {
    /// The transaction `id` as the node knows it (`None`: unknown to it).
    async fn receipt(&self, id: &H256) -> Result<Option<L2Receipt>, NodeError>;
    /// Send a signed transaction.
    async fn send_transaction(&self, tx: &L2Transaction) -> Result<H256, NodeError>;
    /// The proof of withdrawal `id`'s record at `at`.
    async fn withdrawal_proof(&self, id: &H256, at: ProofAt) -> Result<ProofAnswer, NodeError>;
}

impl WithdrawalNode for NodeClient {
    async fn receipt(&self, id: &H256) -> Result<Option<L2Receipt>, NodeError> {
        Ok(NodeClient::receipt(self, id).await?.map(receipt_answer))
    }

    async fn send_transaction(&self, tx: &L2Transaction) -> Result<H256, NodeError> {
        NodeClient::send_transaction(self, tx).await
    }

    async fn withdrawal_proof(&self, id: &H256, at: ProofAt) -> Result<ProofAnswer, NodeError> {
        Ok(proof_answer(
            NodeClient::withdrawal_proof(self, id, at.tag()).await?,
        ))
    }
}

/// `l2_gettransactionreceipt`'s answer (`{hash, blockNumber, receipt: {success, error}}`, or
/// `{hash, pending: true}`).
fn receipt_answer(v: Value) -> L2Receipt {
    L2Receipt {
        block: v.get("blockNumber").and_then(Value::as_u64),
        success: v["receipt"]["success"] == Value::Bool(true),
        error: v["receipt"]["error"].as_str().map(str::to_string),
    }
}

/// `l2_getwithdrawalproof`'s answer (`{stateRoot, record, proof, …}`).
fn proof_answer(v: Value) -> ProofAnswer {
    ProofAnswer {
        state_root: serde_json::from_value(v["stateRoot"].clone()).ok(),
        record: serde_json::from_value(v["record"].clone()).ok(),
        proof: serde_json::from_value(v["proof"].clone()).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_read_the_node_json() {
        let r = receipt_answer(json!({"hash": H256::ZERO, "pending": true}));
        assert_eq!(r.block, None);
        assert!(!r.success);
        let r = receipt_answer(
            json!({"blockNumber": 7, "receipt": {"success": false, "error": "STF_X"}}),
        );
        assert_eq!(
            (r.block, r.success, r.error.as_deref()),
            (Some(7), false, Some("STF_X"))
        );
        let p = proof_answer(json!({"stateRoot": H256::ZERO, "record": null, "proof": 1}));
        assert_eq!(p.state_root, Some(H256::ZERO));
        assert_eq!(p.record, None);
        assert!(p.proof.is_err());
    }
}
