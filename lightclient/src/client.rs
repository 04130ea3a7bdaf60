//! [`LightClient`]: answers about an L2 chain that a node serves and the light client checks
//! against what L1 anchors (the finalised state root, the sequencer registry, the DA
//! commitments). Async over `reqwest` only, so the same code runs natively and in the browser;
//! loops and timers (following the chain) are the caller's.

use crate::api::node::{self as api, ProofAt, ProofFinality};
use crate::l1::{DevnetClient, L1Client, L1ClientError};
use crate::l2::{NodeClient, NodeError};
use crate::verify::{
    check_reported_account, sequencer_set, verify_account_proof, verify_header_quorum,
    verify_withdrawal_proof, VerifyError,
};
use casl2_verifier::consensus::SequencerSet;
use casl2_verifier::l1::{Anchor, L2ChainInfo};
use casl2_verifier::smt::CompactProof;
use casl2_verifier::types::{BlockSignature, L2BlockHeader, WithdrawalRecord};
use casl2_verifier::{AccountState, Address, Encode, H256};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use thiserror::Error;

/// Why a light-client question got no verified answer.
#[derive(Debug, Error)]
pub enum LightError {
    /// L1 could not be asked.
    #[error(transparent)]
    L1(#[from] L1ClientError),
    /// The node could not be asked.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The node's evidence failed a check (the reason names it).
    #[error(transparent)]
    Rejected(#[from] VerifyError),
    /// The chain is not registered on the L1.
    #[error("chain {0} is not registered on L1")]
    NotRegistered(u64),
    /// The node's answer lacks what the check needs or has the wrong shape.
    #[error("the node's {method} answer: {reason}")]
    BadAnswer {
        /// The RPC method.
        method: &'static str,
        /// What was missing or malformed.
        reason: String,
    },
    /// Availability sampling did not pass (a share missing, refused or not proven).
    #[error("batch {batch} NOT shown available: {reason} (after {verified} verified samples, confidence {confidence:.6})")]
    Unavailable {
        /// The anchor index.
        batch: u64,
        /// Samples verified before the failure.
        verified: usize,
        /// The confidence those samples give.
        confidence: f64,
        /// What failed.
        reason: String,
    },
    /// Something asked of L1 does not exist (an anchor index past the end).
    #[error("{0}")]
    NotFound(String),
    /// A bad argument (an address, a confidence out of range).
    #[error("{0}")]
    Invalid(String),
}

impl LightError {
    /// A stable short name for scripts and the browser page: `rejected` (evidence failed a
    /// check), `unavailable` (sampling failed), `transport` (L1 or the node unreachable or
    /// refusing), `not-found`, `invalid` (bad argument).
    pub fn kind(&self) -> &'static str {
        match self {
            LightError::Rejected(_) | LightError::BadAnswer { .. } => "rejected",
            LightError::Unavailable { .. } => "unavailable",
            LightError::L1(_) | LightError::Node(_) | LightError::NotRegistered(_) => "transport",
            LightError::NotFound(_) => "not-found",
            LightError::Invalid(_) => "invalid",
        }
    }
}

/// Which finality an answer was verified under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finality {
    /// Against the head, whose quorum signatures carry the chain's threshold (two thirds) of
    /// the weight of the sequencers L1 registers.
    Soft,
    /// Against the state root of the latest anchor L1 has finalised.
    Hard,
}

impl std::str::FromStr for Finality {
    type Err = LightError;
    fn from_str(s: &str) -> Result<Self, LightError> {
        match s {
            "soft" | "latest" => Ok(Finality::Soft),
            "hard" | "finalized" => Ok(Finality::Hard),
            o => Err(LightError::Invalid(format!(
                "finality must be \"soft\" or \"hard\", got {o:?}"
            ))),
        }
    }
}

/// Where a verified answer's root came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trust {
    /// Soft or hard.
    pub finality: Finality,
    /// The state root the proof was checked against.
    pub state_root: H256,
    /// The L2 block of that root.
    pub l2_block: u64,
    /// Soft: the L1 block the head anchors to; hard: the L1 height of the final anchor (the
    /// chain's registration height before any anchor is final).
    pub l1_height: u64,
    /// The L1 tip when the answer was checked.
    pub l1_tip: u64,
    /// Hard: the index of the final anchor whose post-state root this is (`None` for the
    /// genesis root).
    pub anchor_index: Option<u64>,
    /// Soft: the hash of the quorum-signed header.
    pub block_hash: Option<H256>,
    /// Soft: the weight that signed the header.
    pub signed_weight: Option<u128>,
    /// Soft: the total weight of the L1 set.
    pub total_weight: Option<u128>,
    /// Soft: number of signatures checked.
    pub signers: Option<usize>,
    /// Soft: the chain's consensus threshold (percent of the weight).
    pub threshold_pct: Option<u32>,
}

/// What a proof looked like (for display).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofSummary {
    /// The tree key proved.
    pub key: H256,
    /// True when the key is present.
    pub inclusion: bool,
    /// Non-default siblings carried.
    pub siblings: usize,
    /// Size of the compact proof in bytes.
    pub bytes: usize,
}

impl ProofSummary {
    fn of(p: &CompactProof) -> Self {
        ProofSummary {
            key: p.key,
            inclusion: p.value.is_some(),
            siblings: p.siblings.len(),
            bytes: p.encode().len(),
        }
    }
}

/// A balance proven against an L1-anchored root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedBalance {
    /// The account.
    pub address: Address,
    /// Its proven balance (smallest units; 0 for an absent account).
    pub balance: i64,
    /// Its proven nonce.
    pub nonce: u64,
    /// True when the account is in the tree (false: proven absent).
    pub exists: bool,
    /// The whole proven account.
    pub account: AccountState,
    /// What the proof was checked against.
    pub trust: Trust,
    /// The proof.
    pub proof: ProofSummary,
    /// The node that served it.
    pub node: String,
}

/// A head whose quorum signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedHead {
    /// The header.
    pub header: L2BlockHeader,
    /// Soft-finality details (`finality` is always soft).
    pub trust: Trust,
}

/// Where a withdrawal stands, each step proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WithdrawalState {
    /// Proven absent from the quorum-signed head.
    Unknown,
    /// In the quorum-signed head, not yet in the finalised root.
    Pending,
    /// In L1's finalised root: claimable on L1.
    Finalized,
    /// L1 has paid it out.
    Paid,
}

/// A withdrawal's status with its proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalStatus {
    /// The withdrawal id (the WITHDRAWAL transaction's hash).
    pub id: H256,
    /// Where it stands.
    pub state: WithdrawalState,
    /// The record (from the newest proof that holds it).
    pub record: Option<WithdrawalRecord>,
    /// The check against the quorum-signed head.
    pub soft: Trust,
    /// The check against the finalised root.
    pub hard: Trust,
    /// Whether L1 lists it paid (`None`: this L1 cannot say).
    pub paid_on_l1: Option<bool>,
}

/// What L1 says now: tip, registry entry and the sequencer set.
#[derive(Debug, Clone)]
pub struct L1Snapshot {
    /// L1 tip height.
    pub tip: u64,
    /// The chain's registry entry.
    pub chain: L2ChainInfo,
    /// The eligible sequencers (for soft finality).
    pub set: SequencerSet,
}

/// What changed on L1 since the last [`LightClient::poll`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpdate {
    /// L1 tip height.
    pub l1_tip: u64,
    /// Number of anchors of the chain.
    pub anchors: u64,
    /// Anchor indices new since the last poll (at most 16, oldest first).
    pub new_batches: Vec<u64>,
    /// L2 block of L1's finalised root.
    pub finalized_l2_block: u64,
    /// L1's finalised state root.
    pub finalized_state_root: H256,
    /// L2 block of the latest anchor.
    pub anchored_l2_block: u64,
    /// Sequencers in the L1 set.
    pub sequencers: usize,
    /// Their total weight.
    pub total_weight: u128,
}

/// The light client of one L2 chain: an L1 it trusts and a node it does not.
#[derive(Debug)]
pub struct LightClient<L: L1Client = DevnetClient> {
    pub(crate) l1: L,
    pub(crate) node: NodeClient,
    pub(crate) chain_id: u64,
    next_anchor: Mutex<Option<u64>>,
}

impl<L: L1Client> LightClient<L> {
    /// A light client of chain `chain_id` that trusts `l1` and asks the node at `node_url`.
    pub fn new(l1: L, node_url: impl Into<String>, chain_id: u64) -> Self {
        LightClient {
            l1,
            node: NodeClient::new(node_url),
            chain_id,
            next_anchor: Mutex::new(None),
        }
    }

    /// The L1 backend.
    pub fn l1(&self) -> &L {
        &self.l1
    }

    /// The node's client.
    pub fn node(&self) -> &NodeClient {
        &self.node
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The L1 tip and the chain's registry entry.
    pub async fn chain_info(&self) -> Result<(u64, L2ChainInfo), LightError> {
        let tip = self.l1.tip_height().await?;
        let chain = self
            .l1
            .chains()
            .await?
            .into_iter()
            .find(|c| c.chain_id == self.chain_id)
            .ok_or(LightError::NotRegistered(self.chain_id))?;
        Ok((tip, chain))
    }

    /// Tip, registry entry and the eligible sequencer set, read from L1 now.
    pub async fn snapshot(&self) -> Result<L1Snapshot, LightError> {
        let (tip, chain) = self.chain_info().await?;
        let registry = self.l1.sequencers_with_hat(self.chain_id).await?;
        let set = sequencer_set(&registry, &chain.params)?;
        Ok(L1Snapshot { tip, chain, set })
    }

    /// Anchor `index` as L1 holds it.
    pub async fn anchor(&self, index: u64) -> Result<Anchor, LightError> {
        self.l1
            .anchors_window(self.chain_id, index, 1)
            .await?
            .into_iter()
            .find(|a| a.index == index)
            .ok_or_else(|| {
                LightError::NotFound(format!(
                    "L1 has no batch {index} of chain {}",
                    self.chain_id
                ))
            })
    }

    /// The hard-finality trust of L1's finalised root: the final anchor that carries it (found
    /// by a binary search over the anchors' last blocks), or the genesis root.
    async fn hard_trust(&self, tip: u64, chain: &L2ChainInfo) -> Result<Trust, LightError> {
        let mut trust = Trust {
            finality: Finality::Hard,
            state_root: chain.finalized_state_root,
            l2_block: chain.finalized_l2_block,
            l1_height: chain.activated_at.unwrap_or(chain.deployment_block),
            l1_tip: tip,
            anchor_index: None,
            block_hash: None,
            signed_weight: None,
            total_weight: None,
            signers: None,
            threshold_pct: None,
        };
        if chain.finalized_l2_block == 0 {
            return Ok(trust);
        }
        // The last anchor whose end block is at most the finalised block.
        let (mut lo, mut hi) = (0u64, self.l1.anchor_count(self.chain_id).await?);
        let mut found = None;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let a = self.anchor(mid).await?;
            if a.header.end_block <= chain.finalized_l2_block {
                lo = mid + 1;
                found = Some(a);
            } else {
                hi = mid;
            }
        }
        let a = found
            .filter(|a| a.finalized && a.header.post_state_root == chain.finalized_state_root)
            .ok_or_else(|| {
                LightError::NotFound(format!(
                    "L1 lists no final anchor with root {} at L2 block {}",
                    chain.finalized_state_root, chain.finalized_l2_block
                ))
            })?;
        trust.anchor_index = Some(a.index);
        trust.l1_height = a.l1_height;
        Ok(trust)
    }

    /// Check the soft finality of a header and its signatures against L1's set.
    fn soft_trust(
        &self,
        snap: &L1Snapshot,
        header: &L2BlockHeader,
        signatures: &[BlockSignature],
    ) -> Result<Trust, LightError> {
        let n = header.block_number;
        let mismatch = |reason: String| VerifyError::HeaderMismatch { block: n, reason };
        if header.l2_chain_id != self.chain_id {
            return Err(mismatch(format!(
                "it is a header of chain {}, not {}",
                header.l2_chain_id, self.chain_id
            ))
            .into());
        }
        if n < snap.chain.finalized_l2_block {
            return Err(mismatch(format!(
                "it is older than L1's finalised block {}",
                snap.chain.finalized_l2_block
            ))
            .into());
        }
        let pct = snap.chain.params.consensus_threshold_pct;
        let signed = verify_header_quorum(header, signatures, &snap.set, pct)?;
        Ok(Trust {
            finality: Finality::Soft,
            state_root: header.state_root,
            l2_block: n,
            l1_height: header.l1_anchor_block,
            l1_tip: snap.tip,
            anchor_index: None,
            block_hash: Some(header.hash()),
            signed_weight: Some(signed),
            total_weight: Some(snap.set.total_weight()),
            signers: Some(signatures.len()),
            threshold_pct: Some(pct),
        })
    }

    /// The soft trust of a `l2_getproof`/`l2_getwithdrawalproof` answer at `"latest"`.
    fn soft_answer(
        &self,
        snap: &L1Snapshot,
        method: &'static str,
        root: &H256,
        block: u64,
        finality: &ProofFinality,
    ) -> Result<Trust, LightError> {
        let ProofFinality::Soft { header, signatures } = finality else {
            return Err(LightError::BadAnswer {
                method,
                reason: "asked at \"latest\", the answer is not of soft finality".into(),
            });
        };
        let header = header.as_deref().ok_or(LightError::BadAnswer {
            method,
            reason: "no quorum-signed header (the chain has no block yet)".into(),
        })?;
        if header.block_number != block || header.state_root != *root {
            return Err(VerifyError::HeaderMismatch {
                block: header.block_number,
                reason: format!(
                    "the proof is at block {block} root {root}, the header is block {} root {}",
                    header.block_number, header.state_root
                ),
            }
            .into());
        }
        self.soft_trust(snap, header, signatures)
    }

    /// The node's root must be the trusted one for a hard answer.
    fn check_hard_root(
        trust: &Trust,
        what: String,
        root: &H256,
        block: u64,
    ) -> Result<(), VerifyError> {
        if *root != trust.state_root {
            return Err(VerifyError::HeaderMismatch {
                block,
                reason: format!(
                    "the node proves {what} against root {root} at block {block}, L1's \
                     finalised root is {} at block {} (the node is behind, ahead or lying)",
                    trust.state_root, trust.l2_block
                ),
            });
        }
        Ok(())
    }

    /// `address`'s balance, proven against L1's finalised root (hard) or against the head the
    /// sequencers L1 registers signed with the chain's threshold (soft).
    pub async fn balance(
        &self,
        address: &Address,
        finality: Finality,
    ) -> Result<VerifiedBalance, LightError> {
        const M: &str = api::L2_GETPROOF;
        let (trust, answer) = match finality {
            Finality::Soft => {
                let snap = self.snapshot().await?;
                let a = self.node.proof(address, ProofAt::Latest).await?;
                let t = self.soft_answer(&snap, M, &a.state_root, a.block_number, &a.finality)?;
                (t, a)
            }
            Finality::Hard => {
                let (tip, chain) = self.chain_info().await?;
                let t = self.hard_trust(tip, &chain).await?;
                let a = self.node.proof(address, ProofAt::Finalized).await?;
                Self::check_hard_root(
                    &t,
                    format!("account {address}"),
                    &a.state_root,
                    a.block_number,
                )?;
                (t, a)
            }
        };
        let account = verify_account_proof(address, &answer.proof, &trust.state_root)?;
        if let Some(reported) = &answer.account {
            check_reported_account(address, reported, &account)?;
        }
        Ok(VerifiedBalance {
            address: *address,
            balance: account.balance,
            nonce: account.nonce,
            exists: answer.proof.value.is_some(),
            account,
            trust,
            proof: ProofSummary::of(&answer.proof),
            node: self.node.url().to_string(),
        })
    }

    /// The node's head, with its quorum signatures checked against L1's set.
    pub async fn head(&self) -> Result<VerifiedHead, LightError> {
        let snap = self.snapshot().await?;
        let n = self.node.block_number().await?;
        let b = match self.node.block_by_number(n).await? {
            Some(answer) => answer.block,
            None => {
                return Err(LightError::BadAnswer {
                    method: api::L2_GETBLOCKBYNUMBER,
                    reason: format!("the node has no block {n}, its own head"),
                })
            }
        };
        if b.header.block_number != n {
            return Err(VerifyError::HeaderMismatch {
                block: n,
                reason: format!("asked block {n}, got block {}", b.header.block_number),
            }
            .into());
        }
        let trust = self.soft_trust(&snap, &b.header, &b.signatures)?;
        Ok(VerifiedHead {
            header: b.header,
            trust,
        })
    }

    /// Withdrawal `id`'s status: proven in (or absent from) the quorum-signed head and L1's
    /// finalised root, and whether L1 paid it.
    pub async fn withdrawal(&self, id: &H256) -> Result<WithdrawalStatus, LightError> {
        const M: &str = api::L2_GETWITHDRAWALPROOF;
        let snap = self.snapshot().await?;
        let a = self.node.withdrawal_proof(id, ProofAt::Latest).await?;
        let soft = self.soft_answer(&snap, M, &a.state_root, a.block_number, &a.finality)?;
        let soft_record = verify_withdrawal_proof(id, &a.proof, &soft.state_root)?;

        let hard = self.hard_trust(snap.tip, &snap.chain).await?;
        let h = self.node.withdrawal_proof(id, ProofAt::Finalized).await?;
        Self::check_hard_root(
            &hard,
            format!("withdrawal {id}"),
            &h.state_root,
            h.block_number,
        )?;
        let hard_record = verify_withdrawal_proof(id, &h.proof, &hard.state_root)?;

        let paid_on_l1 = match self.l1.paid_withdrawals(self.chain_id).await {
            Ok(list) => Some(list.iter().any(|(p, _)| p == id)),
            Err(L1ClientError::Unsupported { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let state = if paid_on_l1 == Some(true) {
            WithdrawalState::Paid
        } else if hard_record.is_some() {
            WithdrawalState::Finalized
        } else if soft_record.is_some() {
            WithdrawalState::Pending
        } else {
            WithdrawalState::Unknown
        };
        Ok(WithdrawalStatus {
            id: *id,
            state,
            record: soft_record.or(hard_record),
            soft,
            hard,
            paid_on_l1,
        })
    }

    /// What changed on L1 since the last call: the tip, finalisation, the set, and the new
    /// batches (anchors) to sample. The first call reports only the newest batch.
    pub async fn poll(&self) -> Result<FollowUpdate, LightError> {
        let snap = self.snapshot().await?;
        let anchors = self.l1.anchor_count(self.chain_id).await?;
        let new_batches = {
            let mut next = self.next_anchor.lock().unwrap_or_else(|p| p.into_inner());
            let from = next.unwrap_or(anchors.saturating_sub(1)).min(anchors);
            // At most 16 per poll: a client that slept long samples the newest.
            let from = from.max(anchors.saturating_sub(16));
            *next = Some(anchors);
            (from..anchors).collect()
        };
        Ok(FollowUpdate {
            l1_tip: snap.tip,
            anchors,
            new_batches,
            finalized_l2_block: snap.chain.finalized_l2_block,
            finalized_state_root: snap.chain.finalized_state_root,
            anchored_l2_block: snap.chain.latest_l2_block,
            sequencers: snap.set.len(),
            total_weight: snap.set.total_weight(),
        })
    }
}
