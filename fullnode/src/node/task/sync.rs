//! The catch-up sync: fetch the final blocks this node lacks from any peer that has them (at
//! most 200 per peer and tick), each checked as a commit.

use super::Task;
use crate::node::{now_ms, Shared};
use std::sync::Arc;

/// The catch-up sync (no state of its own).
#[derive(Debug, Default)]
pub struct CatchUp;

impl Task for CatchUp {
    /// Fetch final blocks this node lacks from any peer that has them.
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let view = shared.view();
        if view.chain.is_none() {
            return;
        }
        let peers = shared.transport();
        for p in shared.peers() {
            if !peers.reaches(&p) {
                continue;
            }
            let mine = shared.engine().height();
            let Ok(theirs) = peers.height(&p).await else {
                continue;
            };
            if theirs <= mine {
                continue;
            }
            for n in (mine + 1)..=theirs.min(mine + 200) {
                let Ok(block) = peers.block(&p, n).await else {
                    break;
                };
                let res = {
                    let mut e = shared.engine();
                    e.on_commit(&view, block, now_ms())
                };
                if let Err(err) = res {
                    tracing::debug!("sync block {n} from {p}: {err}");
                    break;
                }
            }
        }
    }
}
