//! The defence: in every open game where this node is the defender, reveal its roots (its
//! trace from the state rebuilt from L1), and claim the challenger's timeouts. The moves come
//! from the watcher's game player ([`casl2_lightclient::watcher::Defence`]), the same one the
//! challenger plays with.

use super::Task;
use crate::node::Shared;
use casl2_lightclient::l1::L1Client;
use casl2_lightclient::watcher::LyingTrace;
use casl2_verifier::fraud::BatchData;
use casl2_verifier::H256;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a sequencer needs to defend its anchors (the watcher's game player over an in-memory
/// replica of the chain rebuilt from L1).
pub type Defence = casl2_lightclient::watcher::Defence<casl2_verifier::smt::MemoryStore>;

/// The defence task's state: the [`Defence`], built when the first game against this node
/// opens.
#[derive(Debug, Default)]
pub struct Defend {
    defence: Option<Defence>,
}

impl Task for Defend {
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let Some(key) = shared.cfg().key.clone() else {
            return;
        };
        let me = key.address();
        let chain = shared.cfg().chain_id;
        let games = match shared.l1().games(chain, true).await {
            Ok(g) => g,
            Err(e) => return tracing::debug!("games: {e}"),
        };
        let mine: Vec<_> = games.into_iter().filter(|g| g.defender == me).collect();
        if mine.is_empty() {
            return;
        }
        let Ok(tip) = shared.l1().tip_height().await else {
            return;
        };
        let mut d = match self.defence.take() {
            Some(mut d) => match d.refresh(shared.l1()).await {
                Ok(()) => d,
                Err(e) => {
                    tracing::debug!("defence: {e}");
                    self.defence = Some(d);
                    return;
                }
            },
            None => {
                let store = casl2_verifier::smt::MemoryStore::new();
                match Defence::open(shared.l1(), chain, store).await {
                    Ok(d) => d,
                    Err(e) => return tracing::debug!("defence: {e}"),
                }
            }
        };
        // A batch this node rewrote is defended with the lie it anchored.
        let lie = shared.cfg().misbehaviour.clone().map(|x| {
            move |trace: &[H256], batch: &BatchData| x.defence_trace(trace, &batch.blocks)
        });
        let lie = lie.as_ref().map(|f| f as LyingTrace<'_>);
        let ops = match d.moves(&mine, &me, tip, lie) {
            Ok((ops, failures)) => {
                for f in failures {
                    tracing::debug!("defence of {f}");
                }
                ops
            }
            Err(e) => {
                tracing::debug!("defence: replaying L1: {e}");
                Vec::new()
            }
        };
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
