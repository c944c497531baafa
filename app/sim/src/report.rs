//! Output of a simulation run: a CSV of every bar and an SVG chart.
//!
//! The chart uses plotters' SVG backend without font features, so text layout is the built-in
//! estimate and no system fonts are needed; the viewer renders the `<text>` elements itself.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::time::{civil_from_days, days_from_civil, format_time, SECS_PER_DAY};
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar of a simulation run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarRecord {
    /// Unix seconds UTC (bar time).
    pub time: i64,
    /// Underlying close, USD.
    pub price: f64,
    /// Leveraged-token NAV, normalised to 1.0 at the start (0 after a wipe-out).
    pub lt_nav: f64,
    /// Ideal NAV (rebalanced to exactly L each bar), normalised to 1.0.
    pub ideal_nav: f64,
    /// Leverage of the leveraged pool after this bar's transactions (0 when the pool is empty).
    pub leverage: f64,
    /// Funding-pool utilization, fraction 0..1.
    pub utilization: f64,
    /// Funding-token NAV, normalised to 1.0 at the start.
    pub ft_nav: f64,
    /// A rebalance landed in this bar.
    pub rebalanced: bool,
}

/// The run's setting, for the chart title and the band lines.
///
/// (`write_csv` takes no `ChartInfo`, so the CSV carries only the column header.)
#[derive(Clone, Debug)]
pub struct ChartInfo {
    /// Chart title.
    pub title: String,
    /// Target leverage L (e.g. 3.0).
    pub target_leverage: f64,
    /// Rebalance band as a fraction of L (e.g. 0.05 for ±5 %).
    pub band: f64,
}

/// Header line of the CSV written by [`write_csv`].
const CSV_HEADER: &str = "time,unix,price,lt_nav,ideal_nav,leverage,utilization,ft_nav,rebalanced";

/// Chart size in pixels.
const CHART_SIZE: (u32, u32) = (1200, 900);
/// Share of the height below the title given to the NAV panel.
const TOP_SHARE: f64 = 0.62;
/// Points per drawn line; keeps the SVG small (a few hundred kB) for ~50,000 bars.
const MAX_LINE_POINTS: usize = 3000;
/// Log-scale floor: NAVs of 0 (wipe-out) cannot be drawn on a log axis.
const LOG_FLOOR: f64 = 1e-9;
/// Time bins for the rebalance ticks, about one per pixel column, so the tick count stays bounded.
const REBALANCE_BINS: usize = 1000;
/// Upper bound on labelled date ticks, so the estimated label widths do not collide.
const MAX_X_TICKS: usize = 12;
/// The same for the log axis, whose labels are stacked and need vertical room.
const MAX_Y_TICKS: usize = 8;

/// Font sizes as plotters takes them (the SVG gets about 80 % of these in px).
const TITLE_FONT: f64 = 30.0;
const LABEL_FONT: f64 = 17.0;
const LEGEND_FONT: f64 = 18.0;
/// Panel layout in pixels, shared so both panels' plot areas line up.
const MARGIN_LEFT: i32 = 10;
const MARGIN_RIGHT: i32 = 25;
const Y_LABEL_AREA: i32 = 85;

const LT_COLOR: RGBColor = RGBColor(214, 39, 40);
const IDEAL_COLOR: RGBColor = RGBColor(31, 119, 180);
const PRICE_COLOR: RGBColor = RGBColor(150, 150, 150);
const LEVERAGE_COLOR: RGBColor = RGBColor(40, 40, 120);
const BAND_COLOR: RGBColor = RGBColor(255, 127, 14);
const TARGET_COLOR: RGBColor = RGBColor(90, 90, 90);
const REBALANCE_COLOR: RGBColor = RGBColor(44, 160, 44);

/// Writes one CSV line per bar, so runs can be analysed outside the simulator.
///
/// Floats use `Display`, the shortest text that parses back to the same `f64` (never an exponent).
pub fn write_csv(path: &Path, rows: &[BarRecord]) -> Result<()> {
    if rows.is_empty() {
        bail!("no bars to write to CSV {}", path.display());
    }
    let file = File::create(path).with_context(|| format!("cannot create CSV {}", path.display()))?;
    let mut out = BufWriter::new(file);
    write_csv_to(&mut out, rows)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write CSV {}", path.display()))
}

/// The CSV body, separate from the file handling so errors get one path context.
fn write_csv_to(out: &mut impl Write, rows: &[BarRecord]) -> std::io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    for r in rows {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            format_time(r.time),
            r.time,
            r.price,
            r.lt_nav,
            r.ideal_nav,
            r.leverage,
            r.utilization,
            r.ft_nav,
            u8::from(r.rebalanced)
        )?;
    }
    Ok(())
}

/// Writes the SVG chart (1200x900): NAVs and normalised price on a log axis above, leverage with
/// its rebalance band below, sharing a date axis.
///
/// Lines are decimated with [`decimate`] to at most 3,000 points each so the file stays small.
/// Values below 1e-9 (e.g. a wiped-out NAV of 0) are drawn at 1e-9, and the legend says so.
pub fn write_chart(path: &Path, info: &ChartInfo, rows: &[BarRecord]) -> Result<()> {
    if rows.is_empty() {
        bail!("no bars to chart in {}", path.display());
    }
    let data = ChartData::new(info, rows)
        .with_context(|| format!("cannot chart the run into {}", path.display()))?;
    draw_chart(path, info, &data).with_context(|| format!("cannot write chart {}", path.display()))
}

/// Min/max decimation: at most `max_points` points of `points`, keeping for each bucket of
/// consecutive points its lowest and highest `y` (in their original order), so spikes stay
/// visible where plain sampling would drop them. Returns all points when they already fit.
///
/// Points whose `y` is NaN are never picked as extremes. With `max_points == 1` only the first
/// point is kept (a bucket needs two slots).
pub fn decimate(points: &[(f64, f64)], max_points: usize) -> Vec<(f64, f64)> {
    if points.len() <= max_points {
        return points.to_vec();
    }
    let buckets = max_points / 2;
    if buckets == 0 {
        return points.iter().take(max_points).copied().collect();
    }
    let n = points.len();
    let mut out = Vec::with_capacity(buckets * 2);
    for b in 0..buckets {
        // Bucket bounds in u128 so `b * n` cannot overflow.
        let start = (b as u128 * n as u128 / buckets as u128) as usize;
        let end = ((b as u128 + 1) * n as u128 / buckets as u128) as usize;
        let Some(bucket) = points.get(start..end) else {
            continue;
        };
        let mut lo: Option<usize> = None;
        let mut hi: Option<usize> = None;
        for (i, p) in bucket.iter().enumerate() {
            if p.1.is_nan() {
                continue;
            }
            if lo.is_none_or(|j| p.1 < bucket[j].1) {
                lo = Some(i);
            }
            if hi.is_none_or(|j| p.1 > bucket[j].1) {
                hi = Some(i);
            }
        }
        match (lo, hi) {
            (Some(a), Some(b)) if a == b => out.push(bucket[a]),
            (Some(a), Some(b)) => {
                out.push(bucket[a.min(b)]);
                out.push(bucket[a.max(b)]);
            }
            _ => {}
        }
    }
    out
}

/// A line ready to draw, with whether any of its values had to be raised to the log floor.
struct LogLine {
    points: Vec<(f64, f64)>,
    clamped: bool,
}

impl LogLine {
    /// Drops non-finite values (they cannot be placed), raises the rest to `LOG_FLOOR`, decimates.
    fn new(rows: &[BarRecord], value: impl Fn(&BarRecord) -> f64) -> Self {
        let mut clamped = false;
        let raw: Vec<(f64, f64)> = rows
            .iter()
            .map(|r| (r.time as f64, value(r)))
            .filter(|p| p.1.is_finite())
            .map(|(x, y)| {
                if y < LOG_FLOOR {
                    clamped = true;
                    (x, LOG_FLOOR)
                } else {
                    (x, y)
                }
            })
            .collect();
        LogLine {
            points: decimate(&raw, MAX_LINE_POINTS),
            clamped,
        }
    }

    /// The legend label, noting the floor only when it was used.
    fn label(&self, name: &str) -> String {
        if self.clamped {
            format!("{name} (values below {LOG_FLOOR:e} drawn at {LOG_FLOOR:e})")
        } else {
            name.to_string()
        }
    }
}

/// Everything the chart needs, computed up front so drawing has no decisions left.
struct ChartData {
    t0: f64,
    t1: f64,
    lt: LogLine,
    ideal: LogLine,
    price: LogLine,
    leverage: Vec<(f64, f64)>,
    rebalance_times: Vec<f64>,
    nav_range: (f64, f64),
    lev_range: (f64, f64),
    x_ticks: TimeTicks,
}

impl ChartData {
    fn new(info: &ChartInfo, rows: &[BarRecord]) -> Result<Self> {
        let p0 = rows.first().map_or(f64::NAN, |r| r.price);
        if !(p0.is_finite() && p0 > 0.0) {
            bail!("the first bar's price must be positive to normalise the price line (got {p0})");
        }
        let (Some(tmin), Some(tmax)) = (
            rows.iter().map(|r| r.time).min(),
            rows.iter().map(|r| r.time).max(),
        ) else {
            bail!("no bars");
        };
        // A single bar still needs a non-empty x range.
        let tmax = if tmax > tmin {
            tmax
        } else {
            tmin.saturating_add(3600)
        };
        let (t0, t1) = (tmin as f64, tmax as f64);

        let lt = LogLine::new(rows, |r| r.lt_nav);
        let ideal = LogLine::new(rows, |r| r.ideal_nav);
        let price = LogLine::new(rows, |r| r.price / p0);
        let nav_range = log_range(
            lt.points
                .iter()
                .chain(&ideal.points)
                .chain(&price.points)
                .map(|p| p.1),
        );

        let lev_raw: Vec<(f64, f64)> = rows
            .iter()
            .map(|r| (r.time as f64, r.leverage))
            .filter(|p| p.1.is_finite())
            .collect();
        let leverage = decimate(&lev_raw, MAX_LINE_POINTS);
        let l = info.target_leverage;
        let band_edges = [l * (1.0 - info.band), l * (1.0 + info.band), l];
        let lev_range = linear_range(
            leverage
                .iter()
                .map(|p| p.1)
                .chain(band_edges.into_iter().filter(|v| v.is_finite())),
        );

        // One tick per occupied time bin: thousands of rebalances would otherwise bloat the SVG.
        let mut bins = vec![false; REBALANCE_BINS];
        for r in rows.iter().filter(|r| r.rebalanced) {
            let f = (r.time as f64 - t0) / (t1 - t0);
            let i = ((f * REBALANCE_BINS as f64) as usize).min(REBALANCE_BINS - 1);
            bins[i] = true;
        }
        let rebalance_times = bins
            .iter()
            .enumerate()
            .filter(|(_, &hit)| hit)
            .map(|(i, _)| t0 + (i as f64 + 0.5) / REBALANCE_BINS as f64 * (t1 - t0))
            .collect();

        Ok(ChartData {
            t0,
            t1,
            lt,
            ideal,
            price,
            leverage,
            rebalance_times,
            nav_range,
            lev_range,
            x_ticks: TimeTicks::new(tmin, tmax),
        })
    }
}

/// Log-axis range covering `values`, with a little padding.
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = min_max(values).unwrap_or((0.5, 2.0));
    let (mut lo, mut hi) = (lo.max(LOG_FLOOR), hi.max(LOG_FLOOR));
    // Show at least a factor of 2 so a flat run is not magnified into noise.
    if hi / lo < 2.0 {
        let mid = (hi * lo).sqrt();
        lo = mid / 2f64.sqrt();
        hi = mid * 2f64.sqrt();
    }
    let span = (hi / lo).ln();
    (
        (lo * (-0.04 * span).exp()).max(f64::MIN_POSITIVE),
        (hi * (0.06 * span).exp()).min(f64::MAX),
    )
}

/// Linear range covering `values`, with room below for the rebalance ticks.
fn linear_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = min_max(values).unwrap_or((0.0, 1.0));
    let span = if hi - lo > 1e-9 { hi - lo } else { 1.0 };
    (lo - 0.12 * span, hi + 0.08 * span)
}

/// Smallest and largest finite value, if any.
fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| {
        Some(acc.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v))))
    })
}

/// How the date axis is labelled, depending on the span of the run.
#[derive(Clone, Copy)]
enum TimeUnit {
    Month,
    Day,
    Hour,
}

/// Date-axis tick positions (unix seconds as f64) aligned to calendar boundaries.
struct TimeTicks {
    bold: Vec<f64>,
    light: Vec<f64>,
    unit: TimeUnit,
}

impl TimeTicks {
    /// Month starts for runs of months or years (every 1, 2, 3, 6, 12, … months so the labels fit),
    /// day starts for runs of days, whole hours for shorter runs, and only the start for runs too
    /// short to hold two whole hours.
    fn new(t0: i64, t1: i64) -> Self {
        let (start, end) = (t0 as f64, t1 as f64);
        // Labels are centred on their tick: none in the last 3 % where they would be cut off.
        let in_range = |t: &f64| *t >= start && *t <= end - 0.03 * (end - start);
        let in_span = |t: &f64| *t >= start && *t <= end;
        let (m0, m1) = (month_index(t0), month_index(t1));
        let month_start = |m: i64| month_start_unix(m) as f64;
        let step = nice_step(m1 - m0 + 1, &[1, 2, 3, 6, 12], MAX_X_TICKS);
        let bold: Vec<f64> = multiples(m0, m1 + 1, step)
            .map(month_start)
            .filter(in_range)
            .collect();
        if bold.len() >= 2 {
            // Monthly grid lines help reading yearly labels, but not over decades.
            let light = if step > 1 && m1 - m0 <= 240 {
                multiples(m0, m1 + 1, 1)
                    .map(month_start)
                    .filter(in_span)
                    .collect()
            } else {
                Vec::new()
            };
            return TimeTicks {
                bold,
                light,
                unit: TimeUnit::Month,
            };
        }
        // Longer labels below, so fewer of them.
        for (unit, secs, steps) in [
            (TimeUnit::Day, SECS_PER_DAY, &[1, 2, 7, 14][..]),
            (TimeUnit::Hour, 3600, &[1, 2, 3, 6, 12][..]),
        ] {
            let (u0, u1) = (t0.div_euclid(secs), t1.div_euclid(secs));
            let step = nice_step(u1 - u0 + 1, steps, MAX_X_TICKS * 2 / 3);
            let bold: Vec<f64> = multiples(u0, u1 + 1, step)
                .map(|u| u.saturating_mul(secs) as f64)
                .filter(in_range)
                .collect();
            if bold.len() >= 2 {
                return TimeTicks {
                    bold,
                    light: Vec::new(),
                    unit,
                };
            }
        }
        TimeTicks {
            bold: vec![t0 as f64],
            light: Vec::new(),
            unit: TimeUnit::Hour,
        }
    }

    fn label(&self, t: f64) -> String {
        let t = t.round() as i64;
        let (y, m, d) = civil_from_days(t.div_euclid(SECS_PER_DAY));
        let secs = t.rem_euclid(SECS_PER_DAY);
        match self.unit {
            TimeUnit::Month => format!("{y:04}-{m:02}"),
            TimeUnit::Day => format!("{y:04}-{m:02}-{d:02}"),
            TimeUnit::Hour => format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", secs / 3600, secs / 60 % 60),
        }
    }
}

/// Smallest step from `base` (then multiples of its last entry by 1, 2, 5, 10, …) giving at most
/// about `max_ticks` ticks over `count` units.
fn nice_step(count: i64, base: &[i64], max_ticks: usize) -> i64 {
    let last = base.last().copied().unwrap_or(1);
    let mut tail = [1i64, 2, 5].into_iter().cycle().scan(1i64, |decade, m| {
        let v = decade.saturating_mul(m).saturating_mul(last);
        if m == 5 {
            *decade = decade.saturating_mul(10);
        }
        Some(v)
    });
    let fits = |s: i64| count / s <= max_ticks as i64;
    base.iter()
        .copied()
        .find(|&s| fits(s))
        .or_else(|| tail.find(|&s| fits(s) || s == i64::MAX))
        .unwrap_or(last)
}

/// Multiples of `step` in `[from, to)`.
fn multiples(from: i64, to: i64, step: i64) -> impl Iterator<Item = i64> {
    let first = from.div_euclid(step) * step + if from.rem_euclid(step) == 0 { 0 } else { step };
    (0..)
        .map(move |k: i64| first.saturating_add(k.saturating_mul(step)))
        .take_while(move |&m| m < to)
}

/// An axis with precomputed tick positions, linear or logarithmic.
///
/// plotters' `with_key_points` wrapper drops the value formatter of `f64` axes, which the mesh
/// needs even when a label formatter is supplied, so this small axis type replaces it.
#[derive(Clone)]
struct KeyedAxis {
    range: (f64, f64),
    log: bool,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for KeyedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let scale = |v: f64| if self.log { v.ln() } else { v };
        let (lo, hi) = (scale(self.range.0), scale(self.range.1));
        let f = (scale(*value) - lo) / (hi - lo);
        // Keep unplaceable values at the axis ends rather than producing garbage pixels.
        let f = if f.is_nan() { 0.0 } else { f.clamp(-10.0, 10.0) };
        limit.0 + (f64::from(limit.1 - limit.0) * f).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.0..self.range.1
    }
}

/// Log-axis ticks: the densest of 1/1.5/2/3/5/7, 1/2/5, 1/3, decades, or every 2nd, 4th, …
/// decade that keeps the labels readable; light grid lines at every integer mantissa when the
/// range spans a few decades or less.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (e0, e1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let over = |mantissas: &[f64], every: i32| -> Vec<f64> {
        (e0..=e1)
            .filter(|e| e.rem_euclid(every) == 0)
            .flat_map(|e| mantissas.iter().map(move |m| scale_pow10(*m, e)))
            .filter(|&v| v >= lo && v <= hi)
            .collect()
    };
    let mantissa_sets: [&[f64]; 4] = [
        &[1.0, 1.5, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 3.0],
        &[1.0],
    ];
    let mut bold = Vec::new();
    for set in mantissa_sets {
        bold = over(set, 1);
        if bold.len() <= MAX_Y_TICKS {
            break;
        }
    }
    let mut every = 2;
    while bold.len() > MAX_Y_TICKS && every < 1000 {
        bold = over(&[1.0], every);
        every *= 2;
    }
    let light = if e1 - e0 <= 6 {
        over(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 1)
    } else {
        over(&[1.0], 1)
    };
    (bold, light)
}

/// `m·10^e`, dividing for negative `e` so that e.g. 0.7 comes out as the nearest double to 0.7.
fn scale_pow10(m: f64, e: i32) -> f64 {
    if e < 0 {
        m / 10f64.powi(-e)
    } else {
        m * 10f64.powi(e)
    }
}

/// Short number for tick labels and legends: three significant digits, no trailing zeros,
/// exponent form for extremes.
fn format_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".to_string();
    }
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.0e}");
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// How a legend entry's sample is drawn.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Tick(RGBColor),
}

/// Draws `entries` as rows of legend items at the top of `area` and returns the rest of it, so the
/// legend never hides data and needs no headroom in the data range.
fn legend_strip<'a>(
    area: &DrawingArea<SVGBackend<'a>, Shift>,
    entries: &[(String, Swatch)],
    left: i32,
) -> Result<DrawingArea<SVGBackend<'a>, Shift>> {
    const ROW: i32 = 22;
    const SAMPLE: i32 = 26;
    let style =
        TextStyle::from(("sans-serif", LEGEND_FONT).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let width = i32::try_from(area.dim_in_pixel().0).unwrap_or(i32::MAX);
    let mut placed = Vec::with_capacity(entries.len());
    let (mut x, mut row) = (left, 0);
    for (label, swatch) in entries {
        let text_w = i32::try_from(area.estimate_text_size(label, &style)?.0).unwrap_or(width);
        if x > left && x + SAMPLE + 6 + text_w > width - 10 {
            row += 1;
            x = left;
        }
        placed.push((x, row, label, *swatch));
        x += SAMPLE + 6 + text_w + 28;
    }
    let height = (row + 1) * ROW + 8;
    let (strip, rest) = area.split_vertically(height);
    for (x, row, label, swatch) in placed {
        let y = 6 + row * ROW + ROW / 2;
        match swatch {
            Swatch::Line(c) => strip.draw(&PathElement::new(
                vec![(x, y), (x + SAMPLE, y)],
                c.stroke_width(2),
            ))?,
            Swatch::Dashed(c) => strip.draw(&DashedPathElement::new(
                vec![(x, y), (x + SAMPLE, y)],
                8,
                4,
                c.stroke_width(2),
            ))?,
            Swatch::Tick(c) => {
                for dx in [SAMPLE / 2 - 4, SAMPLE / 2, SAMPLE / 2 + 4] {
                    strip.draw(&PathElement::new(vec![(x + dx, y - 6), (x + dx, y + 6)], c))?;
                }
            }
        }
        strip.draw_text(label, &style, (x + SAMPLE + 6, y))?;
    }
    Ok(rest)
}

fn draw_chart(path: &Path, info: &ChartInfo, d: &ChartData) -> Result<()> {
    let root = SVGBackend::new(path, CHART_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(&info.title, ("sans-serif", TITLE_FONT))?;
    let top_px = (f64::from(body.dim_in_pixel().1) * TOP_SHARE).round() as u32;
    let (upper, lower) = body.split_vertically(top_px);

    let x_axis = KeyedAxis {
        range: (d.t0, d.t1),
        log: false,
        bold: d.x_ticks.bold.clone(),
        light: d.x_ticks.light.clone(),
    };
    let x_fmt = |t: &f64| d.x_ticks.label(*t);
    let plot_left = MARGIN_LEFT + Y_LABEL_AREA;

    // Upper panel: NAVs and price on a log axis. Price first so the NAV lines are drawn over it.
    let l = info.target_leverage;
    let lines = [
        (
            &d.price,
            d.price.label("underlying price (normalised)"),
            PRICE_COLOR,
        ),
        (
            &d.ideal,
            d.ideal
                .label(&format!("ideal NAV (exactly {}x every bar)", format_tick(l))),
            IDEAL_COLOR,
        ),
        (&d.lt, d.lt.label("LT NAV"), LT_COLOR),
    ];
    let legend: Vec<_> = lines
        .iter()
        .rev()
        .map(|(_, label, c)| (label.clone(), Swatch::Line(*c)))
        .collect();
    let upper = legend_strip(&upper, &legend, plot_left)?;
    let (y0, y1) = d.nav_range;
    let (bold, light) = log_ticks(y0, y1);
    let y_axis = KeyedAxis {
        range: (y0, y1),
        log: true,
        bold,
        light,
    };
    let mut chart = ChartBuilder::on(&upper)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(8)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x_axis.clone(), y_axis)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|v| format_tick(*v))
        .y_desc("NAV and price, normalised to 1 (log scale)")
        .label_style(("sans-serif", LABEL_FONT))
        .axis_desc_style(("sans-serif", LABEL_FONT))
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05))
        .draw()?;
    for (line, _, color) in &lines {
        chart.draw_series(LineSeries::new(
            line.points.iter().copied(),
            color.stroke_width(1),
        ))?;
    }

    // Lower panel: leverage, with the band it is rebalanced back into drawn over it.
    let (band_lo, band_hi) = (l * (1.0 - info.band), l * (1.0 + info.band));
    let mut legend = vec![("leverage after the bar".to_string(), Swatch::Line(LEVERAGE_COLOR))];
    if l.is_finite() {
        legend.push((format!("target {}x", format_tick(l)), Swatch::Line(TARGET_COLOR)));
        legend.push((
            format!(
                "rebalance band ±{}% ({}x to {}x)",
                format_tick(info.band * 100.0),
                format_tick(band_lo),
                format_tick(band_hi)
            ),
            Swatch::Dashed(BAND_COLOR),
        ));
    }
    if !d.rebalance_times.is_empty() {
        legend.push(("bars with a rebalance".to_string(), Swatch::Tick(REBALANCE_COLOR)));
    }
    let lower = legend_strip(&lower, &legend, plot_left)?;
    let (l0, l1) = d.lev_range;
    let mut chart = ChartBuilder::on(&lower)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .margin_bottom(5)
        .x_label_area_size(45)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x_axis, l0..l1)?;
    chart
        .configure_mesh()
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|v| format_tick(*v))
        .y_labels(6)
        .y_desc("leverage")
        .x_desc("date (UTC)")
        .label_style(("sans-serif", LABEL_FONT))
        .axis_desc_style(("sans-serif", LABEL_FONT))
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05))
        .draw()?;
    chart.draw_series(LineSeries::new(
        d.leverage.iter().copied(),
        LEVERAGE_COLOR.stroke_width(1),
    ))?;
    if l.is_finite() {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(d.t0, l), (d.t1, l)],
            TARGET_COLOR,
        )))?;
        let dashed =
            |y: f64| DashedPathElement::new(vec![(d.t0, y), (d.t1, y)], 8, 4, BAND_COLOR.stroke_width(2));
        chart.draw_series([dashed(band_lo), dashed(band_hi)])?;
    }
    let tick_top = l0 + 0.06 * (l1 - l0);
    chart.draw_series(
        d.rebalance_times
            .iter()
            .map(|&t| PathElement::new(vec![(t, l0), (t, tick_top)], REBALANCE_COLOR)),
    )?;

    root.present()?;
    Ok(())
}

/// Months since year 0 of the month containing `t`, for stepping through calendar months.
fn month_index(t: i64) -> i64 {
    let (y, m, _) = civil_from_days(t.div_euclid(SECS_PER_DAY));
    y * 12 + i64::from(m) - 1
}

/// Unix time of the first second of month `index` (see [`month_index`]).
fn month_start_unix(index: i64) -> i64 {
    let y = index.div_euclid(12);
    let m = index.rem_euclid(12) as u32 + 1;
    days_from_civil(y, m, 1) * SECS_PER_DAY
}

#[cfg(test)]
mod tests;
