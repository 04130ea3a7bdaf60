//! The defence: in every open game where this node is the defender, reveal its roots (its
//! trace from the state rebuilt from L1), and claim the challenger's timeouts.

use super::Task;
use crate::node::Shared;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::fraud::Move;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a sequencer needs to defend its anchors: the chain's L1 data, the state replayed from
/// it, and the moves sent (key → L1 tip when sent).
#[derive(Debug)]
pub struct Defence {
    data: crate::watch::ChainData,
    replica: crate::watch::Replica<casl2_verifier::smt::MemoryStore>,
    sent: std::collections::HashMap<(u64, u32, bool), u64>,
}

/// The defence task's state: the [`Defence`], built when the first game against this node
/// opens.
#[derive(Debug, Default)]
pub struct Defend {
    defence: Option<Defence>,
}

/// Defend this node's anchors: in every open game where it is the defender, reveal its roots
/// (its trace from the state rebuilt from L1), and claim the challenger's timeouts.
impl Task for Defend {
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let Some(key) = shared.cfg().key.clone() else {
            return;
        };
        let me = key.address();
        let chain = shared.cfg().chain_id;
        let games = match shared.l1().games(chain, true).await {
            Ok(g) => g,
            Err(e) => {
                tracing::debug!("games: {e}");
                return;
            }
        };
        let mine: Vec<_> = games.into_iter().filter(|g| g.defender == me).collect();
        if mine.is_empty() {
            return;
        }
        let Ok(tip) = shared.l1().tip_height().await else {
            return;
        };
        let taken = self.defence.take();
        let mut d = match taken {
            Some(mut d) => match d.data.refresh(shared.l1()).await {
                Ok(()) => d,
                Err(e) => {
                    tracing::debug!("defence: {e}");
                    self.defence = Some(d);
                    return;
                }
            },
            None => {
                let data = match crate::watch::ChainData::fetch(shared.l1(), chain).await {
                    Ok(x) => x,
                    Err(e) => return tracing::debug!("defence: {e}"),
                };
                let store = casl2_verifier::smt::MemoryStore::new();
                match crate::watch::Replica::new(chain, store, Vec::new()) {
                    Ok(replica) => Defence {
                        data,
                        replica,
                        sent: Default::default(),
                    },
                    Err(e) => return tracing::debug!("defence: {e}"),
                }
            }
        };
        let mut ops = Vec::new();
        match d.replica.sync(&d.data, |_, _| {}) {
            Ok(_) => {
                for g in &mine {
                    let trace = match d.replica.trace(&d.data, g.anchor) {
                        Ok(Some(t)) => t,
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::debug!("defence of game {}: {e}", g.id);
                            continue;
                        }
                    };
                    // A batch this node rewrote is defended with the lie it anchored.
                    let lied = d
                        .replica
                        .judged()
                        .get(g.anchor as usize)
                        .is_some_and(|j| j.verdict.is_bad());
                    let trace = match &shared.cfg().misbehaviour {
                        Some(x) if lied => match d.data.batch(g.anchor) {
                            Ok(batch) => x.defence_trace(&trace, &batch.blocks),
                            Err(e) => {
                                tracing::debug!("defence of game {}: {e}", g.id);
                                continue;
                            }
                        },
                        _ => trace,
                    };
                    let Some(m) = casl2_verifier::fraud::honest_move(g, &me, &trace, tip + 1)
                    else {
                        continue;
                    };
                    let key = (g.id, g.rounds, matches!(m, Move::Timeout { .. }));
                    if d.sent.get(&key).is_some_and(|t| tip < t + 3) {
                        continue;
                    }
                    if let Some(op) = crate::watch::move_op(m, None) {
                        d.sent.insert(key, tip);
                        ops.push(op);
                    }
                }
            }
            Err(e) => tracing::debug!("defence: replaying L1: {e}"),
        }
        self.defence = Some(d);
        for op in ops {
            match shared.send_l1(&key, op).await {
                Ok(_) => {
                    shared.metrics().game_moves.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::debug!("game move: {e}"),
            }
        }
    }
}
