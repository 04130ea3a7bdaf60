//! The batcher: when this node leads, plan the next batch, collect the peers' signatures, check
//! L1's quorum rule and post it; one batch in flight at a time.

use super::Task;
use crate::node::{now_ms, BatchSignRequest, Shared};
use casl2_verifier::l1::L1Op;
use casl2_verifier::BlockSignature;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The batcher's state: the batch in flight, (end block, since ms).
#[derive(Debug, Default)]
pub struct Batcher {
    inflight: Option<(u64, u64)>,
}

impl Task for Batcher {
    /// When this node leads, anchor the next batch: collect signatures from peers and post it.
    async fn tick(&mut self, shared: &Arc<Shared>) {
        let Some(key) = shared.cfg().key.clone() else {
            return;
        };
        let view = shared.view();
        let Some(info) = view.chain.clone() else {
            return;
        };
        let now = now_ms();
        if let Some((end, since)) = self.inflight {
            if info.latest_l2_block >= end || now > since + 15_000 {
                self.inflight = None;
            } else {
                return;
            }
        }
        let plan = {
            let mut e = shared.engine();
            match e.leader(&view, now) {
                Ok(t) if t.leader == key.address() => {}
                _ => return,
            }
            match e.plan_batch(&view, key.address(), now, 2_000) {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(err) => {
                    tracing::debug!("batch: {err}");
                    return;
                }
            }
        };
        // Signatures: this node's own, then the peers'.
        let hash = plan.header.hash();
        let mut sigs: Vec<BlockSignature> = Vec::new();
        let own = shared
            .engine()
            .sign_batch(&plan.header, info.latest_state_root, Some(&info));
        let own = match own {
            Ok(s) => s,
            Err(err) => {
                tracing::debug!("batch: this node does not sign its own plan: {err}");
                return;
            }
        };
        sigs.push(own.clone());
        let req = BatchSignRequest {
            header: plan.header.clone(),
            pre_state_root: info.latest_state_root,
            poster_signature: own,
        };
        for p in shared.peers() {
            if let Ok(s) = shared.transport().sign_batch(&p, &req).await {
                sigs.push(s);
            }
        }
        // Keep valid signatures of L1-active sequencers and check the L1's quorum rule (the
        // verifier's, the one L1 applies to the batch).
        let set = view.set_at(None);
        let sigs = set.countable_batch_signatures(&hash, sigs);
        let w = set.batch_weight(&hash, &sigs).unwrap_or_default();
        if !w.reached(info.params.consensus_threshold_pct) {
            tracing::debug!(
                "batch {}..={}: signatures of weight {} of {}, no quorum yet",
                plan.header.start_block,
                plan.header.end_block,
                w.signed,
                w.total
            );
            return;
        }
        let end = plan.header.end_block;
        let op = L1Op::PostBatch {
            chain: shared.cfg().chain_id,
            header: plan.header,
            commitment: plan.commitment,
            payload: plan.payload,
            signatures: sigs,
        };
        match shared.send_l1(&key, op).await {
            Ok(_) => {
                shared
                    .metrics()
                    .batches_posted
                    .fetch_add(1, Ordering::Relaxed);
                self.inflight = Some((end, now));
            }
            Err(e) => tracing::debug!("post batch: {e}"),
        }
    }
}
