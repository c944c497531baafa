//! Loading real OHLCV price series from CSV files.
//!
//! The simulator replays recorded market data, so this loader is deliberately strict: every bad
//! line is reported with its 1-based line number (the header is line 1) instead of being skipped,
//! because a silently dropped bar would distort returns and volatility. It depends only on `std`
//! (including a small hand-written UTC date parser) so that it can be used anywhere in the crate.
//!
//! Accepted formats:
//! - A header line naming the columns (case-insensitive, trimmed), with a time column (`timestamp`,
//!   `time`, `date`, `open_time` or `timestamp_ms`; the first one present wins), a `close` column and
//!   optionally `open`, `high` and `low`; other columns are ignored.
//! - Binance's headerless daily kline files (data.binance.vision): recognised by a first field that
//!   is an integer, exactly 12 columns `open_time, open, high, low, close, volume, close_time,
//!   quote_volume, trades, taker_buy_base, taker_buy_quote, ignore`. Line 1 is then a data line.
//!
//! Time values may be `YYYY-MM-DD HH:MM:SS` (UTC, `T` separator and a trailing `Z` also accepted),
//! unix seconds, unix milliseconds (an integer >= 1e11) or unix microseconds (>= 1e14: Binance's
//! files from 2025 on); milliseconds and microseconds must be a whole second.

use std::fmt;
use std::path::Path;

use crate::time::{days_from_civil, days_in_month, format_time};

/// One bar of the series. Only the fields the simulator uses are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Unix seconds, UTC.
    pub time: i64,
    /// `None` unless the file has an `open` column (headerless kline files always do).
    pub open: Option<f64>,
    pub close: f64,
    /// `None` unless the file has both a `high` and a `low` column.
    pub high: Option<f64>,
    /// `None` unless the file has both a `high` and a `low` column.
    pub low: Option<f64>,
}

/// A validated price series plus a summary of its sampling regularity, so reports can say how many
/// bars the data is missing rather than hiding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// File name as given by the caller.
    pub source: String,
    /// Bars in strictly increasing time order (at least 2).
    pub bars: Vec<Bar>,
    /// Most common interval between consecutive bars (ties: the smallest).
    pub bar_seconds: i64,
    /// Number of intervals longer than `bar_seconds`.
    pub gaps: usize,
    /// Sum over gaps of `interval / bar_seconds - 1`, rounded down.
    pub missing_bars: usize,
}

/// A loading error tied to a file and, when possible, a 1-based line (0 when not tied to a line).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceError {
    pub source: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}:{}: {}", self.source, self.line, self.message)
        }
    }
}

impl std::error::Error for PriceError {}

/// Reads and parses a CSV file; `source` in the result and in errors is the path as given.
pub fn load(path: &Path) -> Result<Series, PriceError> {
    let source = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&source, &text),
        Err(e) => Err(PriceError {
            source,
            line: 0,
            message: e.to_string(),
        }),
    }
}

/// Column positions resolved from the header.
struct Columns {
    time: usize,
    open: Option<usize>,
    close: usize,
    high_low: Option<(usize, usize)>,
    /// Number of fields a data line needs so that every used column is present.
    needed: usize,
    /// Every line must have exactly [`KLINE_FIELDS`] fields (the headerless kline layout, where a
    /// different count means the file is not what its first field suggested).
    exact: bool,
}

/// Fields of a Binance kline line.
const KLINE_FIELDS: usize = 12;

/// The Binance kline layout: open time, open, high, low, close, then seven columns not used.
const KLINE_COLUMNS: Columns = Columns {
    time: 0,
    open: Some(1),
    close: 4,
    high_low: Some((2, 3)),
    needed: KLINE_FIELDS,
    exact: true,
};

/// A first line whose first field is an integer is data, not a header: no column is named by
/// digits, and Binance's kline files start straight with an open time.
fn is_headerless(line: &str) -> bool {
    let first = line.split(',').next().unwrap_or("").trim();
    !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit())
}

/// The time column names accepted, in order of preference.
const TIME_COLUMNS: [&str; 5] = ["timestamp", "time", "date", "open_time", "timestamp_ms"];

/// Parses CSV text; `source` is only used to label the result and errors.
pub fn parse(source: &str, text: &str) -> Result<Series, PriceError> {
    let err = |line: usize, message: String| PriceError {
        source: source.to_string(),
        line,
        message,
    };
    // A UTF-8 byte order mark would otherwise become part of the first column name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut columns: Option<Columns> = None;
    let mut bars: Vec<Bar> = Vec::new();
    let mut prev_line = 0usize;

    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if columns.is_none() {
            if is_headerless(line) {
                columns = Some(KLINE_COLUMNS);
            } else {
                columns = Some(parse_header(line).map_err(|m| err(line_no, m))?);
                continue;
            }
        }
        let Some(cols) = columns.as_ref() else {
            continue;
        };
        if cols.exact && line.split(',').count() != KLINE_FIELDS {
            return Err(err(
                line_no,
                format!(
                    "headerless kline line: expected {KLINE_FIELDS} fields, found {}",
                    line.split(',').count()
                ),
            ));
        }
        let bar = parse_row(line, cols).map_err(|m| err(line_no, m))?;
        if let Some(prev) = bars.last() {
            if bar.time == prev.time {
                return Err(err(
                    line_no,
                    format!(
                        "repeated timestamp {} (same as line {prev_line})",
                        format_time(bar.time)
                    ),
                ));
            }
            if bar.time < prev.time {
                return Err(err(
                    line_no,
                    format!(
                        "timestamp out of order: {} is before {} on line {prev_line}",
                        format_time(bar.time),
                        format_time(prev.time)
                    ),
                ));
            }
        }
        bars.push(bar);
        prev_line = line_no;
    }

    if columns.is_none() {
        return Err(err(0, "no header line (file is empty)".to_string()));
    }
    if bars.len() < 2 {
        return Err(err(0, format!("needs at least 2 bars, found {}", bars.len())));
    }
    let (bar_seconds, gaps, missing_bars) = interval_stats(&bars);
    Ok(Series {
        source: source.to_string(),
        bars,
        bar_seconds,
        gaps,
        missing_bars,
    })
}

fn parse_header(line: &str) -> Result<Columns, String> {
    let names: Vec<String> = line.split(',').map(|n| n.trim().to_ascii_lowercase()).collect();
    let find = |want: &str| names.iter().position(|n| n == want);
    let time = names.iter().position(|n| TIME_COLUMNS.contains(&n.as_str()));
    let close = find("close");
    let missing: Vec<&str> = [
        ("timestamp/time/date/open_time/timestamp_ms", time),
        ("close", close),
    ]
    .iter()
    .filter(|(_, pos)| pos.is_none())
    .map(|(name, _)| *name)
    .collect();
    match (time, close) {
        (Some(time), Some(close)) => {
            let high_low = find("high").zip(find("low"));
            let open = find("open");
            let mut needed = time.max(close) + 1;
            if let Some((h, l)) = high_low {
                needed = needed.max(h + 1).max(l + 1);
            }
            if let Some(o) = open {
                needed = needed.max(o + 1);
            }
            Ok(Columns {
                time,
                open,
                close,
                high_low,
                needed,
                exact: false,
            })
        }
        _ => Err(format!(
            "header is missing column {} (columns found: {})",
            missing.join(" and "),
            names.join(", ")
        )),
    }
}

fn parse_row(line: &str, cols: &Columns) -> Result<Bar, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if fields.len() < cols.needed {
        return Err(format!(
            "expected at least {} fields, found {}",
            cols.needed,
            fields.len()
        ));
    }
    let time = parse_time(fields[cols.time])?;
    let close = parse_price("close", fields[cols.close])?;
    let open = cols.open.map(|o| parse_price("open", fields[o])).transpose()?;
    let (high, low) = match cols.high_low {
        Some((h, l)) => {
            let high = parse_price("high", fields[h])?;
            let low = parse_price("low", fields[l])?;
            if low > high {
                return Err(format!("low {low} is above high {high}"));
            }
            (Some(high), Some(low))
        }
        None => (None, None),
    };
    if let (Some(o), Some(h), Some(l)) = (open, high, low) {
        if o > h || o < l {
            return Err(format!("open {o} is outside low {l} .. high {h}"));
        }
    }
    if let (Some(h), Some(l)) = (high, low) {
        if close > h || close < l {
            return Err(format!("close {close} is outside low {l} .. high {h}"));
        }
    }
    Ok(Bar {
        time,
        open,
        close,
        high,
        low,
    })
}

/// Parses a price and requires it to be finite and strictly positive (returns use ratios).
fn parse_price(column: &str, text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("column '{column}': cannot parse number '{text}'"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!(
            "column '{column}': price must be finite and > 0, got '{text}'"
        ));
    }
    Ok(value)
}

/// Integers at or above this are unix milliseconds (1e11 seconds would be in the year 5138).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;
/// Integers at or above this are unix microseconds (1e14 milliseconds would be in the year 5138).
const MICROS_THRESHOLD: i64 = 100_000_000_000_000;

fn parse_time(text: &str) -> Result<i64, String> {
    if !text.is_empty()
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
    {
        let value: i64 = text
            .parse()
            .map_err(|_| format!("cannot parse unix time '{text}'"))?;
        if value >= MICROS_THRESHOLD {
            if value % 1_000_000 != 0 {
                return Err(format!("unix microseconds '{text}' are not a whole second"));
            }
            return Ok(value / 1_000_000);
        }
        if value >= MILLIS_THRESHOLD {
            if value % 1000 != 0 {
                return Err(format!("unix milliseconds '{text}' are not a whole second"));
            }
            return Ok(value / 1000);
        }
        return Ok(value);
    }
    parse_datetime(text).ok_or_else(|| {
        format!("cannot parse time '{text}' (expected YYYY-MM-DD HH:MM:SS, unix seconds or milliseconds)")
    })
}

/// Parses `YYYY-MM-DD HH:MM:SS` (or with `T`, optionally ending in `Z`) as UTC, validating the date.
fn parse_datetime(text: &str) -> Option<i64> {
    let s = text.strip_suffix('Z').unwrap_or(text).as_bytes();
    if s.len() != 19 || s[4] != b'-' || s[7] != b'-' || (s[10] != b' ' && s[10] != b'T') {
        return None;
    }
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<i64> {
        s[a..b].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let (month, day) = (u32::try_from(month).ok()?, u32::try_from(day).ok()?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour >= 24 || minute >= 60 || second >= 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Returns (bar_seconds, gaps, missing_bars) for bars in strictly increasing time order.
fn interval_stats(bars: &[Bar]) -> (i64, usize, usize) {
    let mut diffs: Vec<i64> = bars.windows(2).map(|w| w[1].time - w[0].time).collect();
    diffs.sort_unstable();
    // Most frequent difference; scanning the sorted runs in ascending order and replacing only on a
    // strictly larger count keeps the smallest difference on ties.
    let (mut best, mut best_count) = (0i64, 0usize);
    let mut i = 0;
    while i < diffs.len() {
        let run = diffs[i..].iter().take_while(|&&d| d == diffs[i]).count();
        if run > best_count {
            best = diffs[i];
            best_count = run;
        }
        i += run;
    }
    let (mut gaps, mut missing) = (0usize, 0usize);
    if best > 0 {
        for &d in diffs.iter().filter(|&&d| d > best) {
            gaps += 1;
            missing += usize::try_from(d / best - 1).unwrap_or(usize::MAX);
        }
    }
    (best, gaps, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> PriceError {
        parse("t.csv", text).unwrap_err()
    }

    fn assert_err(text: &str, line: usize, needle: &str) {
        let e = parse_err(text);
        assert_eq!(e.line, line, "wrong line for {e}");
        assert!(
            e.message.contains(needle),
            "message {:?} lacks {:?}",
            e.message,
            needle
        );
    }

    #[test]
    fn parses_datetime_format() {
        let s = parse(
            "a.csv",
            "timestamp,open,high,low,close,volume\r\n\
             2020-08-11 06:00:00,2.85,3.47,2.85,2.9515,20032.26\r\n\
             2020-08-11 07:00:00,2.9515,3.1355,2.88,2.9224,42069.37\r\n",
        )
        .unwrap();
        assert_eq!(s.source, "a.csv");
        assert_eq!(s.bars.len(), 2);
        // 2020-08-11 is day 18485 since the epoch.
        assert_eq!(s.bars[0].time, 18_485 * 86_400 + 6 * 3600);
        assert_eq!(s.bars[0].time, 1_597_125_600);
        assert_eq!(s.bars[0].close, 2.9515);
        assert_eq!(s.bars[0].high, Some(3.47));
        assert_eq!(s.bars[0].low, Some(2.85));
        assert_eq!(s.bar_seconds, 3600);
        assert_eq!((s.gaps, s.missing_bars), (0, 0));
    }

    #[test]
    fn parses_iso_t_and_z_and_leap_day() {
        let s = parse("a", "Time,Close\n2024-02-29T23:59:59Z,1\n2024-03-01T00:00:00,2\n").unwrap();
        // 2024-03-01 is day 19783 since the epoch.
        assert_eq!(s.bars[1].time, 19_783 * 86_400);
        assert_eq!(s.bars[0].time, 19_783 * 86_400 - 1);
        assert_eq!(s.bars[0].high, None);
        assert_eq!(s.bar_seconds, 1);
    }

    #[test]
    fn parses_unix_seconds_and_millis() {
        let s = parse("a", " TIME , close ,high\n1597125600,2,5\n1597129200000,3,5\n").unwrap();
        assert_eq!(s.bars[0].time, 1_597_125_600);
        assert_eq!(s.bars[1].time, 1_597_129_200);
        // `low` column absent: both stay None.
        assert_eq!((s.bars[0].high, s.bars[0].low), (None, None));
        let s = parse("a", "time,close\n0,1\n60,1\n").unwrap();
        assert_eq!(s.bars[0].time, 0);
        assert_eq!(s.bar_seconds, 60);
    }

    #[test]
    fn first_time_column_wins_and_extra_columns_ignored() {
        let s = parse("a", "x,time,timestamp,close\nfoo,100,bar,1\nfoo,200,bar,2\n").unwrap();
        assert_eq!(s.bars[1].time, 200);
    }

    #[test]
    fn header_errors() {
        assert_err("time,open\n1,2\n", 1, "close");
        assert_err("time,open\n1,2\n", 1, "columns found: time, open");
        assert_err("day,close\n1,2\n", 1, "timestamp/time");
        assert_err("", 0, "header");
    }

    #[test]
    fn field_count_error() {
        assert_err(
            "time,open,close\n1,2,3\n2,3\n",
            3,
            "expected at least 3 fields, found 2",
        );
    }

    #[test]
    fn time_errors() {
        assert_err(
            "time,close\n1,1\nyesterday,1\n",
            3,
            "cannot parse time 'yesterday'",
        );
        assert_err("time,close\n2021-02-29 00:00:00,1\n", 2, "cannot parse time");
        assert_err("time,close\n2021-13-01 00:00:00,1\n", 2, "cannot parse time");
        assert_err("time,close\n2021-04-31 00:00:00,1\n", 2, "cannot parse time");
        assert_err("time,close\n2021-01-01 24:00:00,1\n", 2, "cannot parse time");
        assert_err("time,close\n2021-01-01 00:60:00,1\n", 2, "cannot parse time");
        assert_err("time,close\n2021-01-01 00:00:60,1\n", 2, "cannot parse time");
        assert_err("time,close\n2021-1-01 00:00:00,1\n", 2, "cannot parse time");
        assert_err("time,close\n1597125600500,1\n", 2, "not a whole second");
        assert_err(
            "time,close\n99999999999999999999,1\n",
            2,
            "cannot parse unix time",
        );
    }

    #[test]
    fn number_errors() {
        assert_err(
            "time,close\n1,1\n2,abc\n",
            3,
            "column 'close': cannot parse number 'abc'",
        );
        assert_err("time,close\n1,0\n", 2, "close");
        assert_err("time,close\n1,-3\n", 2, "must be finite and > 0");
        assert_err("time,close\n1,inf\n", 2, "must be finite and > 0");
        assert_err("time,close\n1,NaN\n", 2, "must be finite and > 0");
        assert_err(
            "time,high,low,close\n1,x,1,1\n",
            2,
            "column 'high': cannot parse number 'x'",
        );
        assert_err("time,high,low,close\n1,2,0,1\n", 2, "column 'low'");
        assert_err("time,high,low,close\n1,2,3,1\n", 2, "low 3 is above high 2");
    }

    #[test]
    fn order_errors() {
        let e = parse_err("time,close\n100,1\n\n200,1\n200,1\n");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("repeated timestamp"), "{e}");
        assert!(e.message.contains("line 4"), "{e}");
        let e = parse_err("time,close\n100,1\n200,1\n\n150,1\n");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("out of order"), "{e}");
        assert!(e.message.contains("1970-01-01 00:03:20 on line 3"), "{e}");
        assert_eq!(e.to_string(), format!("t.csv:5: {}", e.message));
    }

    #[test]
    fn too_few_bars() {
        assert_err("time,close\n100,1\n", 0, "needs at least 2 bars");
        assert_err("time,close\n\n\n", 0, "needs at least 2 bars");
        assert_eq!(
            parse_err("time,close\n").to_string(),
            "t.csv: needs at least 2 bars, found 0"
        );
    }

    #[test]
    fn gap_counting() {
        // Diffs: 60, 60, 180 (gap, 2 missing), 60, 30 (irregular, not a gap), 150 (gap, 1 missing), 60.
        let text = "time,close\n0,1\n60,1\n120,1\n300,1\n360,1\n390,1\n540,1\n600,1\n";
        let s = parse("g", text).unwrap();
        assert_eq!(s.bar_seconds, 60);
        assert_eq!(s.gaps, 2);
        assert_eq!(s.missing_bars, 3);
        // Tie between 10 (twice) and 20 (twice): the smallest wins.
        let s = parse("g", "time,close\n0,1\n10,1\n20,1\n40,1\n60,1\n").unwrap();
        assert_eq!((s.bar_seconds, s.gaps, s.missing_bars), (10, 2, 2));
    }

    #[test]
    fn load_reports_io_error() {
        let e = load(Path::new("/nonexistent/prices.csv")).unwrap_err();
        assert_eq!(e.line, 0);
        assert!(e.to_string().starts_with("/nonexistent/prices.csv: "), "{e}");
    }

    #[test]
    fn parses_headerless_binance_klines_ms_and_us() {
        // Two lines of jkbt_BTCUSDT-1m-2020-03-12.csv (milliseconds), then the 2025 layout
        // (microseconds).
        let ms = "1583971200000,7934.58,7954.59,7934.43,7949.22,54.02,1583971259999,429402.29,610,37.21,295788.26,0\n\
                  1583971260000,7948.97,7955.00,7946.06,7950.48,30.60,1583971319999,243336.53,386,13.86,110287.73,0\n";
        let s = parse("k", ms).unwrap();
        assert_eq!(s.bars.len(), 2);
        assert_eq!(s.bars[0].time, 1_583_971_200);
        assert_eq!(s.bars[0].open, Some(7934.58));
        assert_eq!(s.bars[0].high, Some(7954.59));
        assert_eq!(s.bars[0].low, Some(7934.43));
        assert_eq!(s.bars[0].close, 7949.22);
        assert_eq!(s.bar_seconds, 60);
        let us = "1735689600000000,93576.0,93610.93,93537.5,93610.93,8.2,1735689659999999,767468.5,1178,4.9,459211.2,0\n\
                  1735689660000000,93610.93,93652.0,93606.6,93652.0,11.9,1735689719999999,1113986.6,1400,6.5,608752.7,0\n";
        let s = parse("k", us).unwrap();
        assert_eq!(s.bars[0].time, 1_735_689_600);
        assert_eq!(s.bars[1].time, 1_735_689_660);
    }

    #[test]
    fn headerless_errors_name_the_line() {
        let good = "1583971200000,1,2,1,1.5,0,1583971259999,0,0,0,0,0\n";
        // Line 1 is data in a headerless file: a short second line is line 2.
        assert_err(
            &format!("{good}1583971260000,1,2,1,1.5\n"),
            2,
            "expected 12 fields, found 5",
        );
        assert_err(
            &format!("{good}1583971260000,1,2,1,1.5,0,1583971259999,0,0,0,0,0,9\n"),
            2,
            "expected 12 fields, found 13",
        );
        assert_err(
            &format!("{good}1583971260000,1,2,1,x,0,1583971259999,0,0,0,0,0\n"),
            2,
            "column 'close': cannot parse number 'x'",
        );
        assert_err(
            &format!("{good}1583971260000,3,2,1,1.5,0,1583971259999,0,0,0,0,0\n"),
            2,
            "open 3 is outside",
        );
        assert_err(
            "1583971200000500,1,2,1,1.5,0,0,0,0,0,0,0\n1583971260000000,1,2,1,1.5,0,0,0,0,0,0,0\n",
            1,
            "unix microseconds",
        );
    }

    #[test]
    fn accepts_the_common_time_headers_and_open() {
        for name in ["date", "open_time", "timestamp_ms", "Timestamp", "TIME"] {
            let s = parse(
                "a",
                &format!("{name},open,high,low,close\n60,1,2,0.5,1.5\n120,1.5,2,1,1\n"),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.bars[1].time, 120, "{name}");
            assert_eq!(s.bars[0].open, Some(1.0), "{name}");
        }
        // Without an `open` column it stays None.
        let s = parse("a", "date,close\n2020-01-01,1\n").err();
        assert!(s.is_some(), "a date without a time is refused");
        let s = parse("a", "timestamp_ms,close\n1583971200000,1\n1583971260000,2\n").unwrap();
        assert_eq!((s.bars[0].time, s.bars[0].open), (1_583_971_200, None));
        assert_err("time,open,close\n1,abc,1\n", 2, "column 'open'");
        assert_err("time,high,low,close\n1,2,1,3\n", 2, "close 3 is outside");
    }

    #[test]
    fn loads_real_hf_kline_file_through_the_data_dir() {
        let path = lever_sdk::data::data_file(None, "hf/jkbt_BTCUSDT-1m-2020-03-12.csv").unwrap();
        let s = load(&path).unwrap();
        assert_eq!(s.bars.len(), 1440);
        assert_eq!(s.bar_seconds, 60);
        assert_eq!((s.gaps, s.missing_bars), (0, 0));
        assert_eq!(s.bars[0].time, 1_583_971_200);
        assert_eq!(s.bars[0].open, Some(7934.58));
        assert_eq!(s.bars[0].close, 7949.22);
        // And a freqtrade conversion with a `timestamp_ms` header.
        let path = lever_sdk::data::data_file(None, "hf/hlft_WIF_USDC_USDC-1m-futures.derived.csv").unwrap();
        let s = load(&path).unwrap();
        assert_eq!(s.bars.len(), 6840);
        assert_eq!(s.bars[0].open, Some(1.2514));
    }

    #[test]
    fn loads_real_sol_series() {
        let path = lever_sdk::data::data_file(None, lever_sdk::data::files::SOL_USDT_1H).unwrap();
        let s = load(&path).unwrap();
        assert_eq!(s.bars.len(), 47_360);
        assert_eq!(s.bar_seconds, 3600);
        // Checked with awk: 5 gaps of 2h, 2 of 3h, 1 of 4h, 2 of 5h => 10 gaps, 20 missing bars.
        assert_eq!(s.gaps, 10);
        assert_eq!(s.missing_bars, 20);
        assert_eq!(s.bars[0].close, 2.9515);
        assert_eq!(s.bars[0].high, Some(3.47));
        assert_eq!(s.bars.last().unwrap().close, 138.2);
    }
}
