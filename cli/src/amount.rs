//! CAS amounts as people type them: whole CAS with up to 7 decimals (1 CAS = 10^7 units).

use anyhow::{bail, Result};
use casl2_verifier::params::COIN;

/// Parse `"12.5"` → 125 000 000 units. Refuses signs, more than 7 decimals, empty parts and
/// amounts over `i64::MAX` units, with a message that says which.
pub fn parse_cas(s: &str) -> Result<i64> {
    let t = s.trim();
    if t.is_empty() {
        bail!("empty amount");
    }
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        bail!("{s:?} is not an amount");
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        bail!("{s:?} is not an amount in CAS (digits and at most one '.')");
    }
    if frac.len() > 7 {
        bail!("{s:?} has {} decimals; CAS has at most 7", frac.len());
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| anyhow::anyhow!("{s:?} is too large"))?
    };
    let f: i64 = format!("{frac:0<7}").parse().unwrap_or(0);
    w.checked_mul(COIN)
        .and_then(|x| x.checked_add(f))
        .ok_or_else(|| anyhow::anyhow!("{s:?} is too large"))
}

/// Units as CAS for people: `125_000_000` → `"12.5"` (no trailing zeros, sign kept).
pub fn format_cas(units: i64) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let u = units.unsigned_abs();
    let c = COIN.unsigned_abs();
    let frac = format!("{:07}", u % c);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", u / c)
    } else {
        format!("{sign}{}.{frac}", u / c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_and_refuses_bad_amounts() {
        assert_eq!(parse_cas("1").unwrap(), COIN);
        assert_eq!(parse_cas("12.5").unwrap(), 125_000_000);
        assert_eq!(parse_cas("0.0000001").unwrap(), 1);
        assert_eq!(parse_cas(".5").unwrap(), COIN / 2);
        for bad in [
            "",
            "-1",
            "1.00000001",
            "1,5",
            "abc",
            ".",
            "1e3",
            "99999999999999999999",
        ] {
            assert!(parse_cas(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_cas(125_000_000), "12.5");
        assert_eq!(format_cas(COIN), "1");
        assert_eq!(format_cas(1), "0.0000001");
        assert_eq!(format_cas(-COIN / 2), "-0.5");
        assert_eq!(format_cas(i64::MIN), "-922337203685.4775808");
        assert_eq!(parse_cas(&format_cas(987_654_321)).unwrap(), 987_654_321);
    }
}
