//! The node's Prometheus metrics (`GET /metrics`), encoded by `prometheus-client` in the
//! OpenMetrics text format: the engine's counters, the node's [`NodeMetrics`] and gauges of
//! the chain and L1.

use super::{NodeMetrics, Shared};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A counter or a gauge and its value now.
enum Sample {
    Counter(u64),
    Gauge(u64),
}

/// The metrics of `shared` now, as (name without `_total`, help, sample).
fn samples(shared: &Shared) -> Vec<(&'static str, &'static str, Sample)> {
    use Sample::{Counter, Gauge};
    let view = shared.view();
    let (height, stats, mempool, last_final, halted) = {
        let e = shared.engine();
        (
            e.height(),
            e.stats.clone(),
            e.mempool.len(),
            e.last_final_ms,
            e.halted().is_some(),
        )
    };
    let m: &NodeMetrics = shared.metrics();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let l1_lag = view
        .chain
        .as_ref()
        .map(|c| height.saturating_sub(c.latest_l2_block))
        .unwrap_or(0);
    vec![
        ("casl2_l2_height", "Newest final L2 block", Gauge(height)),
        (
            "casl2_halted",
            "1 when a revert failed (STATE_REVERT_FAILED) and the node stopped taking part",
            Gauge(u64::from(halted)),
        ),
        (
            "casl2_l2_transactions",
            "Transactions in final blocks",
            Counter(stats.transactions),
        ),
        (
            "casl2_mempool_size",
            "Transactions in the mempool",
            Gauge(mempool as u64),
        ),
        (
            "casl2_consensus_proposed",
            "Blocks this node proposed",
            Counter(stats.proposed),
        ),
        (
            "casl2_consensus_votes",
            "Votes this node cast",
            Counter(stats.votes),
        ),
        (
            "casl2_consensus_rejected",
            "Proposals this node rejected",
            Counter(stats.rejected),
        ),
        (
            "casl2_consensus_failovers",
            "Final blocks produced by a backup leader",
            Counter(stats.failovers),
        ),
        (
            "casl2_consensus_conflicting_votes",
            "Conflicting votes seen",
            Counter(stats.conflicting_votes),
        ),
        (
            "casl2_consensus_dropped_proposals",
            "Proposals dropped unvoted (wrong round, not the producer's turn, or unsigned)",
            Counter(stats.dropped_proposals),
        ),
        (
            "casl2_l2_reverts",
            "Reverts after L1 reorganisations",
            Counter(stats.reverts),
        ),
        ("casl2_l1_tip", "L1 tip height", Gauge(view.tip)),
        (
            "casl2_l1_lag_blocks",
            "Final L2 blocks not yet anchored on L1",
            Gauge(l1_lag),
        ),
        (
            "casl2_batches_posted",
            "Batches this node posted to L1",
            Counter(load(&m.batches_posted)),
        ),
        (
            "casl2_l1_errors",
            "L1 transactions that failed to send",
            Counter(load(&m.l1_errors)),
        ),
        (
            "casl2_p2p_messages_in",
            "Peer messages received",
            Counter(load(&m.messages_in)),
        ),
        (
            "casl2_p2p_messages_out",
            "Peer messages sent",
            Counter(load(&m.messages_out)),
        ),
        (
            "casl2_p2p_invalid",
            "Peer messages refused",
            Counter(load(&m.invalid_messages)),
        ),
        (
            "casl2_p2p_unauthenticated",
            "Peer messages without a valid signature of a registry sequencer",
            Counter(load(&m.unauthenticated)),
        ),
        (
            "casl2_rpc_requests",
            "JSON-RPC requests answered",
            Counter(load(&m.rpc_requests)),
        ),
        (
            "casl2_game_moves",
            "Fraud-proof game moves this node sent in defence of its anchors",
            Counter(load(&m.game_moves)),
        ),
        (
            "casl2_last_final_ms",
            "When the newest block became final here (Unix ms)",
            Gauge(last_final),
        ),
    ]
}

/// The metrics of `shared` in the OpenMetrics text format.
pub fn render(shared: &Shared) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    for (name, help, sample) in samples(shared) {
        match sample {
            Sample::Counter(v) => registry.register(name, help, ConstCounter::new(v)),
            Sample::Gauge(v) => registry.register(
                name,
                help,
                ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX)),
            ),
        }
    }
    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

/// `GET /metrics`.
pub async fn handle(State(shared): State<Arc<Shared>>) -> Response {
    match render(&shared) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
