//! Amounts as people write them: whole tokens with the mint's decimals ("1.5" SOL is 1_500_000_000
//! raw units at 9 decimals), and PPM ratios as fractions or percentages. Parsing is exact (no
//! floating point): a string with more fractional digits than the mint has is refused, never
//! rounded.

use std::fmt;

use lever::constants::PPM;

/// Why an amount string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitsError {
    Empty,
    NotANumber(String),
    TooPrecise { given: String, decimals: u8 },
    TooLarge(String),
}

impl fmt::Display for UnitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty amount"),
            Self::NotANumber(s) => write!(f, "`{s}` is not a decimal number"),
            Self::TooPrecise { given, decimals } => {
                write!(f, "`{given}` has more than {decimals} decimal places")
            }
            Self::TooLarge(s) => write!(f, "`{s}` does not fit in a u64 amount"),
        }
    }
}

impl std::error::Error for UnitsError {}

/// Parse a non-negative decimal ("12", "0.5", "1_000.25") into raw units at `decimals`.
pub fn parse_units(text: &str, decimals: u8) -> Result<u64, UnitsError> {
    let cleaned: String = text.trim().chars().filter(|c| *c != '_' && *c != ',').collect();
    if cleaned.is_empty() {
        return Err(UnitsError::Empty);
    }
    let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(frac) || (whole.is_empty() && frac.is_empty()) {
        return Err(UnitsError::NotANumber(text.to_string()));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > usize::from(decimals) {
        return Err(UnitsError::TooPrecise {
            given: text.to_string(),
            decimals,
        });
    }
    let too_large = || UnitsError::TooLarge(text.to_string());
    let scale = 10u128.checked_pow(u32::from(decimals)).ok_or_else(too_large)?;
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let frac_units: u128 = if frac.is_empty() {
        0
    } else {
        // `frac` has at most `decimals` digits: pad it to exactly `decimals`.
        let pad = 10u128.pow(u32::from(decimals) - frac.len() as u32);
        frac.parse::<u128>().map_err(|_| too_large())? * pad
    };
    let raw = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(too_large)?;
    u64::try_from(raw).map_err(|_| too_large())
}

/// Raw units as whole tokens, exactly, without trailing zeros ("1.5", "0.000000001", "12").
pub fn format_units(raw: u64, decimals: u8) -> String {
    let scale = 10u128.pow(u32::from(decimals));
    let raw = u128::from(raw);
    let (whole, frac) = (raw / scale, raw % scale);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = usize::from(decimals));
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Parse a ratio given as a fraction ("0.02"), a percentage ("2%") or basis points ("200bps")
/// into parts per million. Exact; more precision than 1 PPM is refused.
pub fn parse_ppm(text: &str) -> Result<u64, UnitsError> {
    let t = text.trim();
    if let Some(p) = t.strip_suffix('%') {
        parse_units(p, 4)
    } else if let Some(b) = t.strip_suffix("bps") {
        // 1 bps = 100 PPM: hundredths of a basis point are PPM.
        parse_units(b, 2)
    } else if let Some(x) = t.strip_suffix('x') {
        // Leverage: "3x" is 3_000_000 PPM.
        parse_units(x, 6)
    } else {
        parse_units(t, 6)
    }
    .map_err(|e| match e {
        UnitsError::TooPrecise { .. } => UnitsError::TooPrecise {
            given: text.to_string(),
            decimals: 6,
        },
        other => other,
    })
}

/// A PPM ratio as a percentage ("2%", "0.05%").
pub fn format_percent(ppm: u64) -> String {
    format!("{}%", format_units(ppm, 4))
}

/// A PPM leverage as "3x", "2.5x".
pub fn format_leverage(ppm: u64) -> String {
    format!("{}x", format_units(ppm, 6))
}

/// "3" for 3x, "2.5" for 2.5x.
pub fn leverage_label(target_leverage_ppm: u64) -> String {
    let whole = target_leverage_ppm / PPM;
    let frac = target_leverage_ppm % PPM;
    if frac == 0 {
        whole.to_string()
    } else {
        let digits = format!("{frac:06}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_whole_tokens_exactly() {
        assert_eq!(parse_units("1.5", 9), Ok(1_500_000_000));
        assert_eq!(parse_units("0.000000001", 9), Ok(1));
        assert_eq!(parse_units(".25", 2), Ok(25));
        assert_eq!(parse_units("12", 0), Ok(12));
        assert_eq!(parse_units("1_000.10", 6), Ok(1_000_100_000));
        assert_eq!(parse_units("18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(parse_units("18446744073.709551615", 9), Ok(u64::MAX));
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        assert_eq!(parse_units("", 6), Err(UnitsError::Empty));
        assert!(matches!(parse_units("-1", 6), Err(UnitsError::NotANumber(_))));
        assert!(matches!(parse_units("1e3", 6), Err(UnitsError::NotANumber(_))));
        assert!(matches!(parse_units(".", 6), Err(UnitsError::NotANumber(_))));
        assert!(matches!(
            parse_units("0.0000001", 6),
            Err(UnitsError::TooPrecise { .. })
        ));
        assert!(matches!(
            parse_units("18446744073709551616", 0),
            Err(UnitsError::TooLarge(_))
        ));
        assert!(matches!(
            parse_units("18446744073.709551616", 9),
            Err(UnitsError::TooLarge(_))
        ));
        // Trailing zeros beyond the decimals are not extra precision.
        assert_eq!(parse_units("1.5000000000000", 6), Ok(1_500_000));
    }

    #[test]
    fn formats_round_trip() {
        for (raw, d) in [
            (0u64, 9u8),
            (1, 9),
            (1_500_000_000, 9),
            (u64::MAX, 6),
            (42, 0),
            (7, 1),
        ] {
            let s = format_units(raw, d);
            assert_eq!(parse_units(&s, d), Ok(raw), "{s}");
        }
        assert_eq!(format_units(1_500_000_000, 9), "1.5");
        assert_eq!(format_units(1, 6), "0.000001");
    }

    #[test]
    fn ratios() {
        assert_eq!(parse_ppm("0.02"), Ok(20_000));
        assert_eq!(parse_ppm("2%"), Ok(20_000));
        assert_eq!(parse_ppm("30bps"), Ok(3_000));
        assert_eq!(parse_ppm("3x"), Ok(3_000_000));
        assert_eq!(parse_ppm("2.5x"), Ok(2_500_000));
        assert!(matches!(
            parse_ppm("0.0000001"),
            Err(UnitsError::TooPrecise { .. })
        ));
        assert_eq!(format_percent(20_000), "2%");
        assert_eq!(format_percent(500), "0.05%");
        assert_eq!(format_leverage(2_500_000), "2.5x");
    }
}
