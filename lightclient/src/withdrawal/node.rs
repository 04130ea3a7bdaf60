//! What the withdrawal machine asks of an L2 node ([`WithdrawalNode`]), as typed answers, and
//! its implementation over [`NodeClient`]: the node's typed answers (`api::node`) are reduced to
//! what the machine reads in [`receipt_answer`] and [`proof_answer`].

use crate::api::node::{ReceiptAnswer, WithdrawalProofAnswer};
use crate::l2::{NodeClient, NodeError};
use casl2_verifier::smt::CompactProof;
use casl2_verifier::types::{L2Transaction, WithdrawalRecord};
use casl2_verifier::H256;

/// Which state a withdrawal proof is asked at: `Finalized` for the standard path, `Anchored`
/// for the fast path.
pub use crate::api::node::ProofAt;

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
            NodeClient::withdrawal_proof(self, id, at).await?,
        ))
    }
}

/// `l2_gettransactionreceipt`'s answer: final (block and outcome) or pending.
fn receipt_answer(a: ReceiptAnswer) -> L2Receipt {
    match a {
        ReceiptAnswer::Final(r) => L2Receipt {
            block: Some(r.block_number),
            success: r.receipt.success,
            error: (!r.receipt.error.is_empty()).then(|| r.receipt.error.clone()),
        },
        ReceiptAnswer::Pending(_) => L2Receipt {
            block: None,
            success: false,
            error: None,
        },
    }
}

/// `l2_getwithdrawalproof`'s answer.
fn proof_answer(a: WithdrawalProofAnswer) -> ProofAnswer {
    ProofAnswer {
        state_root: Some(a.state_root),
        record: a.record,
        proof: Ok(a.proof),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::node::PendingReceipt;

    #[test]
    fn answers_read_the_node_answers() {
        let r = receipt_answer(ReceiptAnswer::Pending(PendingReceipt {
            hash: H256::ZERO,
            pending: true,
        }));
        assert_eq!((r.block, r.success), (None, false));
        let answer: ReceiptAnswer = serde_json::from_value(serde_json::json!({
            "hash": H256::ZERO, "blockNumber": 7, "blockHash": H256::ZERO, "step": 0,
            "receipt": {"hash": H256::ZERO, "success": false, "gasUsed": 0, "fee": 0,
                        "error": "STF_X"}
        }))
        .unwrap();
        let r = receipt_answer(answer);
        assert_eq!(
            (r.block, r.success, r.error.as_deref()),
            (Some(7), false, Some("STF_X"))
        );
    }
}
