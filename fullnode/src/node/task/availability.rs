//! The availability answers: publish the shares asked by availability challenges on anchors
//! this node posted or signed, before the deadline.

use super::Task;
use crate::node::Shared;
use casl2_lightclient::l1::L1Client;
use std::collections::HashMap;
use std::sync::Arc;

/// The availability task's state: the challenges this node answered, with the L1 tip when it
/// sent the answer (a challenge still open 5 blocks later is answered again).
#[derive(Debug, Default)]
pub struct Availability {
    answered: HashMap<u64, u64>,
}

/// Answer the availability challenges on anchors this node posted or signed: publish the asked
/// shares, built from the anchor's payload on L1, while an answer mined in the next block is
/// still in the answer window. A node whose [`crate::node::Misbehaviour`] withholds does not answer.
impl Task for Availability {
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let Some(key) = shared.cfg().key.clone() else {
            return;
        };
        let me = key.address();
        let chain = shared.cfg().chain_id;
        if shared.withholds() {
            return;
        }
        let open = match shared.l1().availability_challenges(chain, true).await {
            Ok(c) => c,
            Err(e) => return tracing::debug!("availability challenges: {e}"),
        };
        if open.is_empty() {
            return;
        }
        let Ok(tip) = shared.l1().tip_height().await else {
            return;
        };
        for c in open {
            let sent = self.answered.get(&c.id).copied();
            if sent.is_some_and(|t| tip < t + 5) || c.answer_window_over(tip + 1) {
                continue;
            }
            let anchor = match shared.l1().anchors_window(chain, c.anchor, 1).await {
                Ok(v) => v.into_iter().next(),
                Err(e) => return tracing::debug!("availability challenge {}: {e}", c.id),
            };
            let Some(a) = anchor.filter(|a| a.batch_hash == c.batch_hash) else {
                continue;
            };
            if a.poster != me && !a.signers.contains(&me) {
                continue;
            }
            let samples = match casl2_verifier::l1::answer_samples(&a, &c.positions) {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!("availability challenge {}: {e}", c.id);
                    continue;
                }
            };
            let op = casl2_verifier::l1::L1Op::AnswerAvailability { id: c.id, samples };
            match shared.send_l1(&key, op).await {
                Ok(_) => {
                    self.answered.insert(c.id, tip);
                    tracing::debug!(
                        "answered availability challenge {} on anchor {} ({} shares)",
                        c.id,
                        c.anchor,
                        c.positions.len()
                    );
                }
                Err(e) => tracing::debug!("availability answer {}: {e}", c.id),
            }
        }
    }
}
