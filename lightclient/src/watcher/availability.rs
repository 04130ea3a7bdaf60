//! The challenger's availability watch: sample every new anchor's shares from the sequencers'
//! nodes, challenge the shares they refuse or serve wrong (`ChallengeAvailability`), and end
//! its availability challenges whose deadline passed or whose anchor is gone.
//!
//! A share is fetched with [`NodeClient::share`] and verified with
//! [`crate::verify::verify_batch_sample`], as the light client's sampling does.

use super::challenger::Challenger;
use super::replica::ChainData;
use super::state::{ChallengerEvent, Sampled, SAMPLES_PER_ANCHOR};
use crate::l1::L1Client;
use crate::l2::{NodeClient, NodeError};
use crate::verify::verify_batch_sample;
use casl2_verifier::da::{sampling_plan, DACommitment};
use casl2_verifier::l1::{
    Anchor, AvailabilityResult, L1Op, SequencerStatus, SharePosition, MAX_AVAILABILITY_POSITIONS,
};
use casl2_verifier::smt::NodeStore;

/// What the nodes did with one share.
enum Fetched {
    /// A node served it with a valid proof.
    Verified,
    /// No node served it with a valid proof; `answered`: some node answered at all.
    Missing {
        /// Some node answered (with an error or a share that does not verify).
        answered: bool,
    },
}

/// Ask each of `nodes` in turn for share (`row`, `column`) of anchor `index` until one serves
/// it with a valid proof against `commitment`.
async fn fetch_share(
    nodes: &[NodeClient],
    index: u64,
    commitment: &DACommitment,
    row: u32,
    column: u32,
) -> Fetched {
    let mut answered = false;
    for node in nodes {
        match node
            .share(index, row, column, crate::api::node::Axis::Row)
            .await
        {
            Ok(share) => {
                answered = true;
                if verify_batch_sample(index, commitment, row, column, &share.sample).is_ok() {
                    return Fetched::Verified;
                }
            }
            // No HTTP answer at all: the node is unreachable.
            Err(NodeError::Transport { .. }) => {}
            // A node that answers with an error is reachable, and refusing.
            Err(_) => answered = true,
        }
    }
    Fetched::Missing { answered }
}

impl<S: NodeStore, C: L1Client> Challenger<S, C> {
    /// Sample every new anchor's availability from the sequencers' nodes, challenge the shares
    /// that nodes refuse or serve wrong, and end this challenger's availability challenges
    /// whose deadline passed (or whose anchor is gone).
    pub(super) async fn availability(
        &mut self,
        data: &ChainData,
        tip: u64,
        emergency: bool,
    ) -> Vec<ChallengerEvent> {
        let mut events = Vec::new();
        let chain = self.cfg.chain_id;
        let mut nodes: Option<Vec<NodeClient>> = None;
        for a in &data.anchors {
            // A sample mined in the next block must still find the anchor open.
            if emergency || !a.open_to_challenge(tip + 1) {
                continue;
            }
            let done = self
                .state
                .sampled
                .get(&a.index)
                .is_some_and(|s| s.batch_hash == a.batch_hash && s.status != "unreachable");
            if done || a.commitment.is_none() {
                continue;
            }
            if nodes.is_none() {
                let Ok(list) = self.l1.sequencers(chain).await else {
                    return events;
                };
                nodes = Some(
                    list.into_iter()
                        .filter(|s| s.status == SequencerStatus::Active)
                        .map(|s| self.node(&s.endpoint))
                        .collect(),
                );
            }
            let nodes = nodes.as_deref().unwrap_or_default();
            events.extend(self.sample_anchor(a, nodes, tip).await);
        }
        events.extend(self.end_availability(data, tip).await);
        events
    }

    /// Sample anchor `a` (which has a DA commitment) from `nodes`; challenge what is withheld.
    async fn sample_anchor(
        &mut self,
        a: &Anchor,
        nodes: &[NodeClient],
        tip: u64,
    ) -> Vec<ChallengerEvent> {
        let mut events = Vec::new();
        let Some(commitment) = a.commitment.as_ref() else {
            return events;
        };
        let width = commitment.width();
        let mut seed_src = self.cfg.key.to_hex().into_bytes();
        seed_src.extend_from_slice(&a.batch_hash.0);
        let seed = casl2_verifier::sha256d(&seed_src).0;
        let count = SAMPLES_PER_ANCHOR.min(width * width);
        let Ok(plan) = sampling_plan(&seed, width, count) else {
            return events;
        };
        let mut missing = Vec::new();
        let mut answered = false;
        for (row, column) in plan {
            match fetch_share(nodes, a.index, commitment, row, column).await {
                Fetched::Verified => {
                    answered = true;
                    self.state.stats.shares_verified += 1;
                }
                Fetched::Missing { answered: a } => {
                    answered |= a;
                    missing.push(SharePosition { row, column });
                }
            }
        }
        let status = if missing.is_empty() {
            "available"
        } else if answered {
            "withheld"
        } else {
            "unreachable"
        };
        let result = Sampled {
            batch_hash: a.batch_hash,
            samples: count as u32,
            missing: missing.clone(),
            status: status.into(),
        };
        let first = !self.state.sampled.contains_key(&a.index);
        if status != "unreachable" || first {
            events.push(ChallengerEvent::Sampled {
                anchor: a.index,
                result: result.clone(),
            });
        }
        if status != "unreachable" {
            self.state.stats.anchors_sampled += 1;
        }
        self.state.sampled.insert(a.index, result);
        if status == "withheld" {
            tracing::warn!(
                anchor = a.index,
                missing = missing.len(),
                "challenger: shares withheld"
            );
            missing.truncate(MAX_AVAILABILITY_POSITIONS);
            let op = L1Op::ChallengeAvailability {
                chain: self.cfg.chain_id,
                anchor: a.index,
                positions: missing,
            };
            let key = format!("avail:{}:{}", a.index, a.batch_hash);
            let about = format!("anchor {}", a.index);
            let count = |s: &mut super::state::ChallengerState| s.stats.availability_opened += 1;
            events.extend(self.send_once(op, key, tip, about, count).await);
        }
        events
    }

    /// Record how this challenger's availability challenges stand; claim the timeouts of those
    /// whose deadline passed or whose anchor is gone.
    async fn end_availability(&mut self, data: &ChainData, tip: u64) -> Vec<ChallengerEvent> {
        let mut events = Vec::new();
        let me = self.cfg.key.address();
        let Ok(list) = self
            .l1
            .availability_challenges(self.cfg.chain_id, false)
            .await
        else {
            return events;
        };
        for c in list.into_iter().filter(|c| c.challenger == me) {
            let before = self.state.availability.get(&c.id).and_then(|o| o.result);
            if let (Some(result), None) = (c.result, before) {
                let stats = &mut self.state.stats;
                match result {
                    AvailabilityResult::Withheld => stats.availability_won += 1,
                    AvailabilityResult::Answered => stats.availability_lost += 1,
                    AvailabilityResult::Cancelled => stats.availability_cancelled += 1,
                }
                events.push(ChallengerEvent::AvailabilityOver {
                    id: c.id,
                    anchor: c.anchor,
                    result,
                });
            }
            let gone = data
                .anchors
                .get(c.anchor as usize)
                .is_none_or(|a| a.batch_hash != c.batch_hash);
            if c.result.is_none() && (c.answer_window_over(tip + 1) || gone) {
                let op = L1Op::TimeoutAvailability { id: c.id };
                let key = format!("avail-timeout:{}", c.id);
                let about = format!("availability {}", c.id);
                let count = |s: &mut super::state::ChallengerState| s.stats.moves_sent += 1;
                events.extend(self.send_once(op, key, tip, about, count).await);
            }
            self.state.availability.insert(c.id, c);
        }
        events
    }
}
