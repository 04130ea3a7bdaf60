//! `SEQ_OFFLINE` watch: keep the chain's last `offlineAfter` anchors (without their payloads),
//! and report on L1 every active sequencer that signed none of them (the L1's own rule,
//! [`check_offline`]); and when this node's own entry was reported offline and it runs with
//! `--announce-stake`, announce it again once it is back.

use super::Task;
use crate::node::Shared;
use casl2_lightclient::endpoint::AnyL1;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::{check_offline, Anchor, L1Op, SequencerStatus};
use casl2_verifier::Address;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Most anchors fetched in one tick (the window fills over several ticks).
const FETCH_PER_TICK: u64 = 32;

/// The watch's state: the anchor window and what it already reported.
#[derive(Debug, Default)]
pub struct OfflineWatch {
    /// The newest anchors, in order, payloads dropped; `window.last().index + 1` is the count
    /// it has read up to.
    window: Vec<Anchor>,
    /// (sequencer, anchor count) pairs already reported: one report per evidence window.
    reported: BTreeSet<(Address, u64)>,
}

impl Task for OfflineWatch {
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let Some(key) = shared.cfg().key.clone() else {
            return;
        };
        // The real node keeps no anchors with their signers and no active-set removal.
        if matches!(shared.l1(), AnyL1::Cascoind(_)) {
            return;
        }
        let view = shared.view();
        let Some(info) = view.chain.clone() else {
            return;
        };
        let k = info.params.offline_after;
        if k == 0 {
            return;
        }
        let chain = shared.cfg().chain_id;
        if let Err(e) = self.refresh(shared.l1(), chain, view.anchors, k).await {
            tracing::debug!("offline watch: reading anchors: {e}");
            return;
        }
        let me = key.address();
        for e in &view.sequencers {
            let s = &e.sequencer;
            if s.address == me || s.status != SequencerStatus::Active {
                continue;
            }
            let mark = (s.address, view.anchors);
            if self.reported.contains(&mark) || check_offline(&self.window, &s.address, k).is_err()
            {
                continue;
            }
            let op = L1Op::ReportOffline {
                chain,
                sequencer: s.address,
            };
            match shared.send_l1(&key, op).await {
                Ok(_) => tracing::info!(
                    "reported sequencer {} offline: it signed none of the last {k} anchors",
                    s.address
                ),
                Err(err) => tracing::debug!("reporting {} offline: {err}", s.address),
            }
            self.reported.insert(mark);
        }
        self.reported.retain(|(_, n)| *n + k >= view.anchors);
        // Back from an outage: this node's own entry says OFFLINE.
        let mine = view.sequencers.iter().find(|e| e.sequencer.address == me);
        if let (Some(e), Some(_)) = (mine, shared.cfg().announce_stake) {
            if matches!(e.sequencer.status, SequencerStatus::Offline { .. }) {
                let stake = (info.params.min_sequencer_stake - e.sequencer.stake).max(0);
                let op = L1Op::AnnounceSequencer {
                    chain,
                    stake,
                    endpoint: shared.url().to_string(),
                };
                match shared.send_l1(&key, op).await {
                    Ok(_) => tracing::info!("this sequencer was reported offline: announced again"),
                    Err(err) => tracing::debug!("announcing again: {err}"),
                }
            }
        }
    }
}

impl OfflineWatch {
    /// Bring the window up to `count` anchors (at most [`FETCH_PER_TICK`] per call), keeping
    /// the last `k`. A count below what was read (anchors reverted by a fraud proof or an
    /// L1 reorganisation) starts the window again.
    async fn refresh(&mut self, l1: &AnyL1, chain: u64, count: u64, k: u64) -> Result<(), String> {
        let read = self.window.last().map_or(0, |a| a.index + 1);
        if count < read {
            self.window.clear();
        }
        let read = self.window.last().map_or(0, |a| a.index + 1);
        let from = read.max(count.saturating_sub(k));
        if from >= count {
            return Ok(());
        }
        if from > read {
            self.window.clear();
        }
        // Re-read the newest anchor kept, too: if L1 replaced it, the window starts again.
        let overlap = u64::from(!self.window.is_empty());
        let n = (count - from).min(FETCH_PER_TICK) + overlap;
        let mut fresh = l1
            .anchors_window(chain, from - overlap, n)
            .await
            .map_err(|e| e.to_string())?
            .into_iter();
        if overlap == 1 {
            let again = fresh.next();
            let kept = self.window.last().map(|a| a.batch_hash);
            if again.map(|a| a.batch_hash) != kept {
                self.window.clear();
                return Err("the anchors changed on L1; reading them again".into());
            }
        }
        for mut a in fresh {
            if self.window.last().is_some_and(|l| a.index != l.index + 1) || a.index < from {
                self.window.clear();
                return Err(format!("the L1 answered anchor {} out of order", a.index));
            }
            a.payload = Vec::new();
            self.window.push(a);
        }
        let extra = self.window.len().saturating_sub(k as usize);
        self.window.drain(..extra);
        Ok(())
    }
}
