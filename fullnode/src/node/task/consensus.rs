//! The consensus ticker and the handling of peer messages: the engine's round is driven by a
//! tick every 20 ms (propose when leading, replay kept messages, re-send this node's proposal
//! and vote) and by every message a peer sends; what comes out is broadcast to the peers.

use super::Task;
use crate::node::engine::{EngineError, Outgoing};
use crate::node::{now_ms, Shared};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The consensus ticker (no state of its own: the round lives in the engine).
#[derive(Debug, Default)]
pub struct ConsensusTick;

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
            // Relayed once by the node that took them; not relayed further. A refusal (a
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
        let relay = shared.take_relay();
        for chunk in relay.chunks(1_000) {
            out.push(Outgoing::Transactions {
                txs: chunk.to_vec(),
            });
        }
        broadcast(shared, out);
    }
}
