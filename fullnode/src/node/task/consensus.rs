//! The consensus ticker and the handling of peer messages: the engine's round is driven by a
//! tick every 20 ms (propose when leading, replay kept messages, re-send this node's proposal
//! and vote) and by every message a peer sends; what comes out is broadcast to the peers.

use super::Task;
use crate::node::engine::{EngineError, Outgoing};
use crate::node::{now_ms, Shared};
use casl2_verifier::{L2Transaction, H256};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The consensus ticker: the round lives in the engine; the ticker keeps the transactions this
/// node took over RPC, to relay them again while they wait ([`RelayQueue`]).
#[derive(Debug, Default)]
pub struct ConsensusTick {
    relayed: RelayQueue,
}

/// A transaction this node took over RPC is relayed to the peers at once, and again every
/// [`RELAY_AGAIN_MS`] while it is still in this node's mempool, at most [`RELAYS`] times in
/// all: one lost relay (to the leader) no longer leaves it waiting until a node that holds it
/// leads. Peers drop the copies they already hold.
#[derive(Debug, Default)]
pub struct RelayQueue {
    /// (transaction, when last sent, times sent), oldest first.
    waiting: VecDeque<(L2Transaction, H256, u64, u32)>,
}

/// Interval between two relays of a transaction still waiting (ms).
pub const RELAY_AGAIN_MS: u64 = 1_500;
/// Relays of one transaction in all.
pub const RELAYS: u32 = 4;
/// Transactions kept for relaying again (the oldest go first).
const RELAY_KEPT: usize = 20_000;

impl RelayQueue {
    /// Whether anything waits long enough to be sent again at `now_ms`.
    pub fn any_due(&self, now_ms: u64) -> bool {
        self.waiting
            .front()
            .is_some_and(|(_, _, at, _)| now_ms.saturating_sub(*at) >= RELAY_AGAIN_MS)
    }

    /// Take `fresh` (sent now) and return every transaction to send now: the fresh ones, and
    /// those due again that `pooled` says still wait. The queue is in order of last sending,
    /// so only its due front is looked at.
    pub fn due(
        &mut self,
        fresh: Vec<L2Transaction>,
        now_ms: u64,
        pooled: impl Fn(&H256) -> bool,
    ) -> Vec<L2Transaction> {
        let mut out = Vec::new();
        while self.any_due(now_ms) {
            let Some((tx, hash, _, n)) = self.waiting.pop_front() else {
                break;
            };
            if n >= RELAYS || !pooled(&hash) {
                continue;
            }
            out.push(tx.clone());
            self.waiting.push_back((tx, hash, now_ms, n + 1));
        }
        for tx in fresh {
            let hash = tx.hash();
            out.push(tx.clone());
            self.waiting.push_back((tx, hash, now_ms, 1));
        }
        while self.waiting.len() > RELAY_KEPT {
            self.waiting.pop_front();
        }
        out
    }
}

/// Send `msgs` to every peer (fire and forget, each with a timeout).
pub fn broadcast(shared: &Arc<Shared>, msgs: Vec<Outgoing>) {
    if msgs.is_empty() {
        return;
    }
    let peers = shared.peers();
    for m in msgs {
        let body = match serde_json::to_vec(&m) {
            Ok(b) => b,
            Err(_) => continue,
        };
        // Signed once per message; a node without a key (a follower) sends unsigned, which
        // peers accept only for relayed transactions.
        let auth = shared.cfg().key.as_ref().and_then(|k| {
            crate::node::peer::sign_peer_message(k, shared.cfg().chain_id, now_ms(), &body).ok()
        });
        for p in &peers {
            if shared
                .transport()
                .send_message(p, body.clone(), auth.clone())
            {
                shared
                    .metrics()
                    .messages_out
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Handle one peer message; returns what to send on.
pub fn handle_message(shared: &Arc<Shared>, msg: Outgoing) -> Result<Vec<Outgoing>, EngineError> {
    let view = shared.view();
    let now = now_ms();
    let mut e = shared.engine();
    let mut out = match msg {
        Outgoing::Proposal { block } => e.on_proposal(&view, *block, now)?,
        Outgoing::Vote {
            height,
            vote,
            signature,
        } => e.on_vote(&view, vote, signature, height, now)?,
        Outgoing::Commit { block } => {
            e.on_commit(&view, *block, now)?;
            Vec::new()
        }
        Outgoing::Transactions { txs } => {
            // Relayed by the node that took them (again while they wait there); not relayed
            // further. A refusal (a
            // duplicate, a nonce already used here) is normal and not an error of the sender.
            for tx in txs {
                let _ = e.submit(tx);
            }
            Vec::new()
        }
    };
    out.extend(e.replay_future(&view, now));
    Ok(out)
}

impl Task for ConsensusTick {
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let view = shared.view();
        if view.chain.is_none() {
            return;
        }
        let mut out = {
            let mut e = shared.engine();
            let now = now_ms();
            let mut out = match e.resume_lock(&view, now) {
                Ok(o) => o,
                Err(err) => {
                    tracing::debug!("resume lock: {err}");
                    Vec::new()
                }
            };
            out.extend(match e.tick(&view, now) {
                Ok(o) => o,
                Err(EngineError::NotYet(_)) => Vec::new(),
                Err(err) => {
                    tracing::debug!("tick: {err}");
                    Vec::new()
                }
            });
            out.extend(e.replay_future(&view, now));
            out.extend(e.rebroadcast(now));
            out
        };
        let fresh = shared.take_relay();
        let relay = {
            let e = shared.engine();
            self.relayed.due(fresh, now_ms(), |h| e.mempool.contains(h))
        };
        for chunk in relay.chunks(1_000) {
            out.push(Outgoing::Transactions {
                txs: chunk.to_vec(),
            });
        }
        broadcast(shared, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casl2_verifier::PrivateKey;

    fn tx(nonce: u64) -> L2Transaction {
        let k = PrivateKey::from_bytes(&[7; 32]).unwrap();
        let mut t = L2Transaction {
            nonce,
            l2_chain_id: 1,
            ..Default::default()
        };
        t.sign(&k).unwrap();
        t
    }

    #[test]
    fn waiting_transactions_are_relayed_again_until_included_or_spent() {
        let mut q = RelayQueue::default();
        let (a, b) = (tx(0), tx(1));
        let b_hash = b.hash();
        assert_eq!(q.due(vec![a.clone(), b.clone()], 0, |_| true).len(), 2);
        // Not due yet.
        assert!(q.due(vec![], RELAY_AGAIN_MS - 1, |_| true).is_empty());
        // Due; `a` was included meanwhile (gone from the pool): only `b` again.
        let again = q.due(vec![], RELAY_AGAIN_MS, |h| *h == b_hash);
        assert_eq!(again, vec![b.clone()]);
        // At most RELAYS sends of `b` in all (the first one, the one above, then the rest).
        let mut b_sends = 2;
        for i in 2..10 {
            b_sends += q.due(vec![], i * RELAY_AGAIN_MS, |_| true).len();
        }
        assert_eq!(b_sends, RELAYS as usize);
        assert!(q.waiting.is_empty());
    }
}
