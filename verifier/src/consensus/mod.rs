//! Sequencer consensus rules: weights and quorum thresholds (more to come in this module).

use crate::params::COIN;

/// Weight of a sequencer, as the real node computes it: `hatScore × ⌈√(stake in whole CAS)⌉`.
/// A negative stake weighs nothing.
pub fn sequencer_weight(stake: i64, hat_score: u32) -> u128 {
    if stake <= 0 {
        return 0;
    }
    let whole = (stake / COIN) as u128;
    hat_score as u128 * ceil_sqrt(whole)
}

/// ⌈√n⌉ exactly (integer arithmetic).
pub fn ceil_sqrt(n: u128) -> u128 {
    if n == 0 {
        return 0;
    }
    let mut x = (n as f64).sqrt() as u128;
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    if x * x == n {
        x
    } else {
        x + 1
    }
}

/// True when `signed` is at least `threshold_pct` percent of `total` (exact: `signed × 100 ≥
/// total × threshold_pct`), and `total` is not zero.
pub fn quorum_reached(signed: u128, total: u128, threshold_pct: u32) -> bool {
    total > 0 && signed.saturating_mul(100) >= total.saturating_mul(threshold_pct as u128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_thresholds() {
        assert_eq!(ceil_sqrt(0), 0);
        assert_eq!(ceil_sqrt(1), 1);
        assert_eq!(ceil_sqrt(2), 2);
        assert_eq!(ceil_sqrt(100), 10);
        assert_eq!(ceil_sqrt(101), 11);
        assert_eq!(sequencer_weight(100 * COIN, 70), 700);
        assert_eq!(sequencer_weight(10 * COIN + 5, 50), 50 * 4);
        assert_eq!(sequencer_weight(-1, 50), 0);
        assert!(quorum_reached(67, 100, 67));
        assert!(!quorum_reached(66, 100, 67));
        assert!(!quorum_reached(0, 0, 67));
    }
}
