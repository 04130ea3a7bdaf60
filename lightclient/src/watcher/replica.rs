//! The L2 state as L1 data alone gives it, and the judgement of every anchor.
//!
//! [`Replica`] replays a chain's anchors from L1: for each anchor it rebuilds the batch from the
//! anchored payload and the consumed L1 messages ([`BatchData::from_anchor`]), re-executes every
//! step from the agreed pre-state and judges the anchor ([`Verdict`]). The challenger keeps one
//! (persisted) to dispute bad anchors; a sequencer node builds one when it must defend its
//! anchor in a game. [`Replica::trace`] and [`Replica::witness`] give what the moves need
//! ([`super::player`]).

use crate::l1::{L1Client, L1ClientError};
use casl2_verifier::fraud::{honest_trace, honest_witness, judge_batch, BatchData, FraudEvidence};
use casl2_verifier::l1::{Anchor, L2ChainInfo, QueuedMessage};
use casl2_verifier::smt::{empty_root, NodeStore, SparseMerkleTree};
use casl2_verifier::stf::StepWitness;
use casl2_verifier::types::L1Message;
use casl2_verifier::H256;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;

/// Why the replica could not go on.
#[derive(Debug, Error)]
pub enum ReplicaError {
    /// The L1 could not be read.
    #[error(transparent)]
    L1(#[from] L1ClientError),
    /// The anchored data cannot be rebuilt (payload, messages).
    #[error("anchor {index}: {message}")]
    Batch {
        /// The anchor.
        index: u64,
        /// What is wrong.
        message: String,
    },
    /// The local tree failed (storage).
    #[error("state tree: {0}")]
    State(String),
    /// The chain's genesis state is not the empty tree, so L1 data alone cannot rebuild it.
    #[error("chain {chain}: genesis root {root} is not the empty tree; L1 data alone cannot rebuild its state")]
    Genesis {
        /// The chain.
        chain: u64,
        /// Its genesis root.
        root: H256,
    },
}

/// What re-execution says of an anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum Verdict {
    /// Every step re-executes to the anchored roots.
    Valid,
    /// A non-interactive proof applies.
    Evidence {
        /// The evidence (what `SubmitFraudProof` carries).
        evidence: FraudEvidence,
    },
    /// Re-execution gives another post-state root (or an invalid step): a game decides.
    WrongRoot {
        /// The root re-execution gives (after the last valid step).
        computed: H256,
        /// Index of the first invalid step, if one is invalid.
        invalid_step: Option<u64>,
    },
    /// The anchor continues a root that re-execution does not give: it falls with the earlier
    /// fraudulent anchor and is not judged on its own.
    BuildsOnFraud,
}

impl Verdict {
    /// Whether the anchor is fraudulent (or stands on fraud).
    pub fn is_bad(&self) -> bool {
        !matches!(self, Verdict::Valid)
    }
}

async fn chain_info<C: L1Client>(l1: &C, chain: u64) -> Result<L2ChainInfo, ReplicaError> {
    l1.chains()
        .await?
        .into_iter()
        .find(|c| c.chain_id == chain)
        .ok_or_else(|| ReplicaError::Batch {
            index: 0,
            message: format!("chain {chain} is not registered on this L1"),
        })
}

/// Every item of a paged L1 list (pages of at most 1000) from `from`.
async fn all_from<T, F, Fut>(mut page: F, from: u64) -> Result<Vec<T>, ReplicaError>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, L1ClientError>>,
{
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let got = page(at).await?;
        let n = got.len() as u64;
        out.extend(got);
        if n < 1000 {
            return Ok(out);
        }
        at += n;
    }
}

/// One judged anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Judged {
    /// Anchor index.
    pub index: u64,
    /// Its batch hash (an anchor replaced after a revert has another).
    pub batch_hash: H256,
    /// L1 height it was anchored at.
    #[serde(default)]
    pub l1_height: u64,
    /// Its pre-state root.
    pub pre_state_root: H256,
    /// Its post-state root as anchored.
    pub post_state_root: H256,
    /// L2 blocks it covers.
    pub blocks: (u64, u64),
    /// Transactions in it.
    pub transactions: u64,
    /// Steps of its trace.
    pub steps: u64,
    /// The verdict.
    pub verdict: Verdict,
}

/// The L1 data of a chain a replica reads: its registry entry, anchors and queue.
#[derive(Debug, Clone)]
pub struct ChainData {
    /// The registry entry.
    pub info: L2ChainInfo,
    /// Every anchor, in order.
    pub anchors: Vec<Anchor>,
    /// The whole L1→L2 queue.
    pub queue: Vec<QueuedMessage>,
}

impl ChainData {
    /// Read everything from the L1.
    pub async fn fetch<C: L1Client>(l1: &C, chain: u64) -> Result<ChainData, ReplicaError> {
        let info = chain_info(l1, chain).await?;
        let mut d = ChainData {
            info,
            anchors: Vec::new(),
            queue: Vec::new(),
        };
        d.anchors = all_from(|f| l1.anchors(chain, f), 0).await?;
        d.queue = all_from(|f| l1.queue(chain, f), 0).await?;
        Ok(d)
    }

    /// Bring this copy up to date: the registry entry, new queue messages, and the anchors
    /// from a few before the last known one (so replaced anchors are seen; everything is read
    /// again when even those changed).
    pub async fn refresh<C: L1Client>(&mut self, l1: &C) -> Result<(), ReplicaError> {
        let chain = self.info.chain_id;
        self.info = chain_info(l1, chain).await?;
        let from = self.queue.len() as u64;
        let more = all_from(|f| l1.queue(chain, f), from).await?;
        self.queue.extend(more);
        let start = (self.anchors.len() as u64).saturating_sub(8);
        let fetched = all_from(|f| l1.anchors(chain, f), start).await?;
        let continues = match (fetched.first(), self.anchors.get(start as usize)) {
            (Some(a), Some(b)) => a.batch_hash == b.batch_hash,
            _ => start == 0 || fetched.is_empty(),
        };
        if continues {
            self.anchors.truncate(start as usize);
            self.anchors.extend(fetched);
        } else {
            self.anchors = all_from(|f| l1.anchors(chain, f), 0).await?;
        }
        Ok(())
    }

    /// The batch data of anchor `index`.
    pub fn batch(&self, index: u64) -> Result<BatchData, ReplicaError> {
        let err = |message: String| ReplicaError::Batch { index, message };
        let a = usize::try_from(index)
            .ok()
            .and_then(|i| self.anchors.get(i))
            .ok_or_else(|| err("no such anchor".into()))?;
        let prev = index
            .checked_sub(1)
            .and_then(|p| self.anchors.get(p as usize));
        let msgs: Vec<L1Message> = self
            .queue
            .iter()
            .filter(|q| q.message.index >= a.messages_start && q.message.index < a.messages_end)
            .map(|q| q.message.clone())
            .collect();
        BatchData::from_anchor(self.info.chain_id, a, prev, &msgs, &self.info.params)
            .map_err(|e| err(e.to_string()))
    }
}

/// The chain's state rebuilt from L1 anchors, anchor by anchor.
#[derive(Debug)]
pub struct Replica<S: NodeStore> {
    chain_id: u64,
    tree: SparseMerkleTree<S>,
    judged: Vec<Judged>,
    traces: HashMap<u64, Vec<H256>>,
}

impl<S: NodeStore> Replica<S> {
    /// A replica over `store` that has judged `judged` (empty for a new one); the tree is put at
    /// the root the judged anchors lead to.
    pub fn new(chain_id: u64, store: S, judged: Vec<Judged>) -> Result<Replica<S>, ReplicaError> {
        let mut r = Replica {
            chain_id,
            tree: SparseMerkleTree::new(store),
            judged,
            traces: HashMap::new(),
        };
        let root = r.agreed_root();
        r.tree
            .revert_to(root)
            .map_err(|e| ReplicaError::State(format!("resume at {root}: {e}")))?;
        Ok(r)
    }

    /// The anchors judged so far, in order.
    pub fn judged(&self) -> &[Judged] {
        &self.judged
    }

    /// The tree (at [`Replica::agreed_root`] between calls).
    pub fn tree(&self) -> &SparseMerkleTree<S> {
        &self.tree
    }

    /// The root after the last valid anchor judged (the empty tree before any): the root the
    /// next valid anchor must continue.
    pub fn agreed_root(&self) -> H256 {
        self.judged
            .iter()
            .rev()
            .find(|j| j.verdict == Verdict::Valid)
            .map_or_else(empty_root, |j| j.post_state_root)
    }

    /// Judge the anchors of `data` not judged yet. Anchors that L1 no longer has, or has
    /// replaced (after a fraud proof or an L1 reorganisation), are forgotten first. Calls
    /// `progress(done, total)` after each anchor. Returns the newly judged anchors.
    pub fn sync(
        &mut self,
        data: &ChainData,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Vec<Judged>, ReplicaError> {
        if data.info.genesis_root != empty_root() {
            return Err(ReplicaError::Genesis {
                chain: self.chain_id,
                root: data.info.genesis_root,
            });
        }
        // Forget what L1 no longer has.
        let keep = self
            .judged
            .iter()
            .zip(&data.anchors)
            .take_while(|(j, a)| j.batch_hash == a.batch_hash)
            .count();
        if keep < self.judged.len() {
            self.judged.truncate(keep);
            self.traces.retain(|i, _| (*i as usize) < keep);
            let root = self.agreed_root();
            self.tree
                .revert_to(root)
                .map_err(|e| ReplicaError::State(e.to_string()))?;
        }
        let total = data.anchors.len() as u64;
        let mut new = Vec::new();
        for a in data.anchors.iter().skip(keep) {
            let j = self.judge(data, a)?;
            self.judged.push(j.clone());
            new.push(j);
            progress(a.index + 1, total);
        }
        Ok(new)
    }

    fn judge(&mut self, data: &ChainData, a: &Anchor) -> Result<Judged, ReplicaError> {
        let agreed = self.agreed_root();
        let stands_on_fraud = self.judged.last().is_some_and(|j| j.verdict.is_bad());
        let batch = data.batch(a.index)?;
        let mut judged = Judged {
            index: a.index,
            batch_hash: a.batch_hash,
            l1_height: a.l1_height,
            pre_state_root: a.header.pre_state_root,
            post_state_root: a.header.post_state_root,
            blocks: (a.header.start_block, a.header.end_block),
            transactions: a.header.transaction_count,
            steps: batch.step_count(),
            verdict: Verdict::BuildsOnFraud,
        };
        if stands_on_fraud || a.header.pre_state_root != agreed {
            return Ok(judged);
        }
        // The screening recovers every sender once and the replay reuses them, block i
        // replayed while block i + 1 is screened; the step trace only when something is wrong.
        self.tree
            .revert_to(agreed)
            .map_err(|e| ReplicaError::State(e.to_string()))?;
        let (evidence, replayed) =
            judge_batch(&mut self.tree, &batch).map_err(|e| ReplicaError::Batch {
                index: a.index,
                message: e.to_string(),
            })?;
        if let Some(evidence) = evidence {
            self.tree
                .revert_to(agreed)
                .map_err(|e| ReplicaError::State(e.to_string()))?;
            judged.verdict = Verdict::Evidence { evidence };
            return Ok(judged);
        }
        if replayed {
            judged.verdict = Verdict::Valid;
            return Ok(judged);
        }
        let trace = self.run_trace(&batch)?;
        let last = *trace.last().unwrap_or(&agreed);
        let complete = trace.len() as u64 == batch.step_count() + 1;
        judged.verdict = if complete && last == a.header.post_state_root {
            Verdict::Valid
        } else {
            Verdict::WrongRoot {
                computed: last,
                invalid_step: (!complete).then(|| trace.len() as u64 - 1),
            }
        };
        if judged.verdict == Verdict::Valid {
            self.tree
                .revert_to(last)
                .map_err(|e| ReplicaError::State(e.to_string()))?;
        } else {
            self.tree
                .revert_to(agreed)
                .map_err(|e| ReplicaError::State(e.to_string()))?;
            self.traces.insert(a.index, trace);
        }
        Ok(judged)
    }

    /// Re-execute `batch` from its pre-state root; leaves the tree at the last root.
    fn run_trace(&mut self, batch: &BatchData) -> Result<Vec<H256>, ReplicaError> {
        self.tree
            .revert_to(batch.pre_state_root)
            .map_err(|e| ReplicaError::State(e.to_string()))?;
        let (trace, _invalid) =
            honest_trace(&mut self.tree, batch).map_err(|e| ReplicaError::Batch {
                index: 0,
                message: e.to_string(),
            })?;
        Ok(trace)
    }

    /// This replica's trace of anchor `index` of `data` (`r₀ …`, shorter when a step is
    /// invalid), computed again if not kept. `None` when the anchor was not judged from the
    /// agreed state (it builds on fraud, or the L1 replaced it).
    pub fn trace(
        &mut self,
        data: &ChainData,
        index: u64,
    ) -> Result<Option<Vec<H256>>, ReplicaError> {
        let Some(j) = self.judged.get(index as usize).cloned() else {
            return Ok(None);
        };
        let current = data.anchors.get(index as usize);
        if j.verdict == Verdict::BuildsOnFraud
            || current.map(|a| a.batch_hash) != Some(j.batch_hash)
        {
            return Ok(None);
        }
        if let Some(t) = self.traces.get(&index) {
            return Ok(Some(t.clone()));
        }
        let back = self.tree.root();
        let batch = data.batch(index)?;
        let trace = self.run_trace(&batch);
        self.tree
            .revert_to(back)
            .map_err(|e| ReplicaError::State(e.to_string()))?;
        let trace = trace?;
        self.traces.insert(index, trace.clone());
        Ok(Some(trace))
    }

    /// The one-step witness of step `step` of anchor `index` against `pre_root`.
    pub fn witness(
        &self,
        data: &ChainData,
        index: u64,
        step: u64,
        pre_root: H256,
    ) -> Result<StepWitness, ReplicaError> {
        let batch = data.batch(index)?;
        honest_witness(&self.tree, &batch, step, pre_root).map_err(|e| ReplicaError::Batch {
            index,
            message: format!("witness of step {step}: {e}"),
        })
    }
}
