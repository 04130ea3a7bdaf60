//! CAS amounts as the real node prints them: decimal numbers of whole CAS with up to 7
//! decimals (`COIN` = 10^7), converted exactly to and from smallest units, never through `f64`.

use casl2_verifier::params::COIN;

/// Decimals of one CAS.
pub const DECIMALS: usize = 7;

/// Parse the decimal text of a CAS amount (`"10"`, `"10.5"`, `"-0.0000001"`, `"10.0000000"`)
/// into smallest units. Rejects exponents, more than 7 significant decimals, empty parts and
/// values outside `i64`; the error says which.
pub fn parse_cas(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if digits.contains(['e', 'E']) {
        return Err(format!(
            "amount {text:?} uses an exponent; expected plain decimals"
        ));
    }
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("amount {text:?} is not a decimal number"));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (digits.contains('.') && frac.is_empty()) {
        return Err(format!("amount {text:?} is not a decimal number"));
    }
    let significant = frac.trim_end_matches('0');
    if significant.len() > DECIMALS {
        return Err(format!(
            "amount {text:?} has more than {DECIMALS} decimals (1 CAS = 10^{DECIMALS} units)"
        ));
    }
    let overflow = || format!("amount {text:?} does not fit in 64 bits of smallest units");
    let whole: i64 = int
        .trim_start_matches('0')
        .parse::<i64>()
        .or_else(|e| {
            if int.trim_start_matches('0').is_empty() {
                Ok(0)
            } else {
                Err(e)
            }
        })
        .map_err(|_| overflow())?;
    let mut frac_units: i64 = 0;
    for (i, b) in significant.bytes().enumerate() {
        let d = i64::from(b - b'0');
        frac_units += d * 10i64.pow(u32::try_from(DECIMALS - 1 - i).unwrap_or(0));
    }
    let units = whole
        .checked_mul(COIN)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(overflow)?;
    Ok(if neg { -units } else { units })
}

/// Format smallest units as the node's decimal text with all 7 decimals (`100000000` →
/// `"10.0000000"`).
pub fn format_cas(units: i64) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    let coin = COIN.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / coin,
        abs % coin,
        width = DECIMALS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_cas("10.0000000"), Ok(100_000_000));
        assert_eq!(parse_cas("10"), Ok(100_000_000));
        assert_eq!(parse_cas("0.0000001"), Ok(1));
        assert_eq!(parse_cas("0.1"), Ok(1_000_000));
        assert_eq!(parse_cas("-0.5"), Ok(-5_000_000));
        assert_eq!(parse_cas("000.50000000000"), Ok(5_000_000));
        // 0.1 + 0.2 style values that f64 cannot hold exactly.
        assert_eq!(parse_cas("123456789.1234567"), Ok(1_234_567_891_234_567));
        assert_eq!(parse_cas("922337203685.4775807"), Ok(i64::MAX));
        assert_eq!(parse_cas("-922337203685.4775807"), Ok(-i64::MAX));
    }

    #[test]
    fn rejects_with_reasons() {
        for bad in [
            "", "-", ".5", "5.", "1e7", "1E-7", "0x10", "1.2.3", "abc", "1,5", " - 1",
        ] {
            assert!(parse_cas(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_cas("0.00000001")
            .unwrap_err()
            .contains("more than 7 decimals"));
        assert!(parse_cas("922337203685.4775808")
            .unwrap_err()
            .contains("64 bits"));
        assert!(parse_cas("99999999999999999999")
            .unwrap_err()
            .contains("64 bits"));
        assert!(parse_cas("1e5").unwrap_err().contains("exponent"));
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(format_cas(100_000_000), "10.0000000");
        assert_eq!(format_cas(1), "0.0000001");
        assert_eq!(format_cas(-5_000_000), "-0.5000000");
        assert_eq!(format_cas(0), "0.0000000");
        for v in [0, 1, -1, 12_345, COIN, i64::MAX, i64::MIN + 1] {
            assert_eq!(parse_cas(&format_cas(v)), Ok(v));
        }
        assert_eq!(format_cas(i64::MIN), "-922337203685.4775808");
    }
}
