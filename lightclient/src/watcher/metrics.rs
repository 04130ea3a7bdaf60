//! The challenger's Prometheus exposition (`casl2 challenger run --metrics`).

use super::state::ChallengerState;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

fn counter(reg: &mut Registry, name: &str, help: &str, value: u64) {
    let c = Counter::<u64>::default();
    c.inc_by(value);
    reg.register(name, help, c);
}

fn gauge(reg: &mut Registry, name: &str, help: &str, value: i64) {
    let g = Gauge::<i64>::default();
    g.set(value);
    reg.register(name, help, g);
}

impl ChallengerState {
    /// The Prometheus (OpenMetrics text) exposition of the counters and gauges: counters
    /// are named `…_total`.
    pub fn metrics(&self) -> String {
        let s = &self.stats;
        let open_avail = self
            .availability
            .values()
            .filter(|c| c.result.is_none())
            .count() as i64;
        let unavailable = self
            .sampled
            .values()
            .filter(|x| x.status == "withheld")
            .count() as i64;
        let mut reg = Registry::default();
        gauge(
            &mut reg,
            "casl2_challenger_l1_tip",
            "L1 tip at the last tick.",
            self.l1_tip as i64,
        );
        counter(
            &mut reg,
            "casl2_challenger_anchors_judged",
            "Anchors re-executed.",
            s.anchors_judged,
        );
        counter(
            &mut reg,
            "casl2_challenger_anchors_bad",
            "Anchors found fraudulent or standing on fraud.",
            s.anchors_bad,
        );
        gauge(
            &mut reg,
            "casl2_challenger_lag_anchors",
            "Anchors on L1 not judged yet.",
            self.lag() as i64,
        );
        counter(
            &mut reg,
            "casl2_challenger_transactions_replayed",
            "Transactions re-executed.",
            s.transactions_replayed,
        );
        counter(
            &mut reg,
            "casl2_challenger_proofs_sent",
            "Non-interactive fraud proofs sent.",
            s.proofs_sent,
        );
        counter(
            &mut reg,
            "casl2_challenger_games_opened",
            "Games opened.",
            s.games_opened,
        );
        gauge(
            &mut reg,
            "casl2_challenger_games_open",
            "Games open.",
            self.open_games() as i64,
        );
        counter(
            &mut reg,
            "casl2_challenger_moves_sent",
            "Game moves sent.",
            s.moves_sent,
        );
        counter(
            &mut reg,
            "casl2_challenger_games_won",
            "Games won (fraud proven).",
            s.games_won,
        );
        counter(
            &mut reg,
            "casl2_challenger_games_lost",
            "Games lost (challenge failed).",
            s.games_lost,
        );
        gauge(
            &mut reg,
            "casl2_challenger_bonds_at_risk",
            "Bond locked in open games (smallest units).",
            self.bonds_at_risk(),
        );
        counter(
            &mut reg,
            "casl2_challenger_anchors_sampled",
            "Anchors whose availability was sampled from the sequencers.",
            s.anchors_sampled,
        );
        counter(
            &mut reg,
            "casl2_challenger_shares_verified",
            "Shares fetched and verified against DA commitments.",
            s.shares_verified,
        );
        gauge(
            &mut reg,
            "casl2_challenger_anchors_withheld",
            "Anchors whose shares the nodes refused or served wrong.",
            unavailable,
        );
        gauge(
            &mut reg,
            "casl2_challenger_availability_challenges_open",
            "Availability challenges open.",
            open_avail,
        );
        counter(
            &mut reg,
            "casl2_challenger_availability_won",
            "Availability challenges won (data withheld, anchor reverted).",
            s.availability_won,
        );
        counter(
            &mut reg,
            "casl2_challenger_send_errors",
            "L1 transactions that failed to send.",
            s.send_errors,
        );
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &reg);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_keep_their_names() {
        let mut st = ChallengerState::default();
        st.stats.games_won = 2;
        st.l1_tip = 7;
        let m = st.metrics();
        assert!(
            m.contains("# TYPE casl2_challenger_games_won counter\n"),
            "{m}"
        );
        assert!(m.contains("\ncasl2_challenger_games_won_total 2\n"), "{m}");
        assert!(m.contains("\ncasl2_challenger_l1_tip 7\n"), "{m}");
        assert!(m.contains("casl2_challenger_send_errors_total 0"), "{m}");
    }
}
