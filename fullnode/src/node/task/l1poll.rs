//! The L1 poller: refresh the L1 view, check the chain against it (reverting after a
//! reorganisation), announce this sequencer if configured and not registered yet, and report
//! the double signs this node saw.

use super::Task;
use crate::node::Shared;
use casl2_verifier::l1::L1Op;
use casl2_verifier::H256;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The L1 poller's state: the double-sign evidence ids it already reported to L1.
#[derive(Debug, Default)]
pub struct L1Poll {
    reported: BTreeSet<H256>,
}

impl Task for L1Poll {
    /// Refresh the L1 view; announce this sequencer if configured and not registered yet.
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let old = shared.view();
        let cfg = shared.cfg();
        match old.refresh(shared.l1(), cfg.chain_id).await {
            Ok(v) => {
                let announce = match (&cfg.key, cfg.announce_stake, &v.chain) {
                    (Some(k), Some(stake), Some(_)) => (!v
                        .sequencers
                        .iter()
                        .any(|s| s.sequencer.address == k.address()))
                    .then(|| (k.clone(), stake)),
                    _ => None,
                };
                if v.chain.is_some() {
                    if let Err(e) = shared.engine().revert_to_l1(&v) {
                        tracing::debug!("checking the chain against L1: {e}");
                    }
                }
                shared.set_view(v);
                self.report_double_signs(shared).await;
                if let Some((k, stake)) = announce {
                    let op = L1Op::AnnounceSequencer {
                        chain: cfg.chain_id,
                        stake,
                        endpoint: shared.url().to_string(),
                    };
                    if let Err(e) = shared.send_l1(&k, op).await {
                        tracing::debug!("announce: {e}");
                    }
                }
            }
            Err(e) => tracing::debug!("L1 poll: {e}"),
        }
    }
}

impl L1Poll {
    /// Post the double-sign evidence this node saw to L1 (`L1Op::ReportDoubleSign`), once each.
    async fn report_double_signs(&mut self, shared: &Arc<Shared>) {
        let Some(key) = shared.cfg().key.clone() else {
            return;
        };
        let fresh: Vec<_> = {
            let e = shared.engine();
            e.evidence
                .iter()
                .filter(|ev| !self.reported.contains(&ev.id()))
                .cloned()
                .collect()
        };
        for ev in fresh {
            let id = ev.id();
            let op = L1Op::ReportDoubleSign {
                chain: shared.cfg().chain_id,
                evidence: Box::new(ev),
            };
            match shared.send_l1(&key, op).await {
                Ok(_) => tracing::debug!("reported double sign {id} to L1"),
                Err(e) => tracing::debug!("reporting double sign {id}: {e}"),
            }
            self.reported.insert(id);
        }
    }
}
