//! `lever study`: sweep leverage, band and keeper interval over one or more series. Each case is a
//! `lever sim --json` child process (one embedded chain per process; program-test's syscall
//! stubs are process-wide, so chains are not run side by side in one process), `jobs` at a time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;

/// One simulation of the sweep.
#[derive(Clone, Debug)]
pub struct Case {
    pub prices: PathBuf,
    pub asset: String,
    pub leverage: f64,
    pub band: f64,
    /// Seconds; 0 = every bar.
    pub keeper_interval: i64,
}

impl Case {
    fn args(&self, extra: &[String]) -> Vec<String> {
        let mut args = vec![
            "sim".to_string(),
            "--json".into(),
            "--prices".into(),
            self.prices.display().to_string(),
            "--asset".into(),
            self.asset.clone(),
            "--leverage".into(),
            self.leverage.to_string(),
            "--band".into(),
            self.band.to_string(),
            "--keeper-interval".into(),
            self.keeper_interval.to_string(),
        ];
        args.extend_from_slice(extra);
        args
    }
}

/// Run every case with `exe` (the `lever` binary), `jobs` at a time; results in case order.
/// `on_done` is told each finished case's index.
pub fn run(
    exe: &Path,
    cases: &[Case],
    extra: &[String],
    jobs: usize,
    on_done: impl Fn(usize) + Sync,
) -> Result<Vec<Result<Value>>> {
    let next = Arc::new(Mutex::new(0usize));
    let results: Mutex<Vec<Option<Result<Value>>>> = Mutex::new(cases.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = {
                    let Ok(mut n) = next.lock() else { return };
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(case) = cases.get(i) else { return };
                let outcome = run_case(exe, case, extra);
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(outcome);
                }
                on_done(i);
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| anyhow!("a study worker panicked"))?;
    Ok(results
        .into_iter()
        .zip(cases)
        .map(|(r, case)| r.unwrap_or_else(|| Err(anyhow!("case {case:?} did not run"))))
        .collect())
}

fn run_case(exe: &Path, case: &Case, extra: &[String]) -> Result<Value> {
    let out = Command::new(exe)
        .args(case.args(extra))
        .output()
        .with_context(|| format!("start {}", exe.display()))?;
    if !out.status.success() {
        bail!(
            "case {case:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("case {case:?}: parse its JSON"))
}

/// "bar", "4h", "1d" for an interval in seconds.
pub fn interval_label(secs: i64) -> String {
    match secs {
        0 => "bar".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{s}s"),
    }
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn fmt(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(x) => format!("{x:.digits$}"),
        None => "-".into(),
    }
}

/// A Markdown table of the results, one row per case (a failed case says why).
pub fn markdown(cases: &[Case], results: &[Result<Value>]) -> String {
    let mut s = String::from(
        "| asset | L | band | keeper | LT NAV | ideal NAV | tracking ln | max abs tracking ln | rebalances | wipe-outs | leverage range | ftx ln | toros ln | fli ln |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (case, r) in cases.iter().zip(results) {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                let why = format!("{e:#}").replace('|', "/").replace('\n', " ");
                s.push_str(&format!(
                    "| {} | {}x | {}% | {} | failed: {why} |\n",
                    case.asset,
                    case.leverage,
                    case.band * 100.0,
                    interval_label(case.keeper_interval)
                ));
                continue;
            }
        };
        let peer = |name: &str| {
            r.get("peers")
                .and_then(Value::as_array)
                .and_then(|ps| {
                    ps.iter()
                        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
                })
                .and_then(|p| num(p, "tracking_error_log"))
        };
        s.push_str(&format!(
            "| {} | {}x | {}% | {} | {} | {} | {} | {} | {} | {} | {}–{} | {} | {} | {} |\n",
            case.asset,
            case.leverage,
            case.band * 100.0,
            interval_label(case.keeper_interval),
            fmt_nav(num(r, "final_lt_nav")),
            fmt_nav(num(r, "ideal_lt_nav")),
            fmt(num(r, "tracking_error_log"), 4),
            fmt(num(r, "max_abs_tracking_log"), 4),
            fmt(num(r, "rebalances"), 0),
            fmt(num(r, "lt_wipeouts"), 0),
            fmt(num(r, "min_leverage"), 2),
            fmt(num(r, "max_leverage"), 2),
            fmt(peer("ftx"), 4),
            fmt(peer("toros"), 4),
            fmt(peer("fli"), 4),
        ));
    }
    s
}

/// NAVs span many orders of magnitude: scientific notation outside [1e-3, 1e4).
pub fn format_nav(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn fmt_nav(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), format_nav)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_table() {
        assert_eq!(interval_label(0), "bar");
        assert_eq!(interval_label(14_400), "4h");
        assert_eq!(interval_label(86_400), "1d");
        assert_eq!(interval_label(90), "90s");
        let case = Case {
            prices: "x.csv".into(),
            asset: "SOL".into(),
            leverage: 3.0,
            band: 0.05,
            keeper_interval: 3600,
        };
        let r: Value = serde_json::json!({
            "final_lt_nav": 12.5, "ideal_lt_nav": 12.0, "tracking_error_log": 0.0408,
            "max_abs_tracking_log": 0.1, "rebalances": 42, "lt_wipeouts": 0,
            "min_leverage": 2.7, "max_leverage": 3.4,
            "peers": [{"name": "ftx", "tracking_error_log": -0.01}, {"name": "toros", "tracking_error_log": null}]
        });
        let table = markdown(&[case.clone(), case], &[Ok(r), Err(anyhow!("boom | bang"))]);
        let row = table.lines().nth(2).unwrap_or_default();
        assert_eq!(
            row,
            "| SOL | 3x | 5% | 1h | 12.5000 | 12.0000 | 0.0408 | 0.1000 | 42 | 0 | 2.70–3.40 | -0.0100 | - | - |"
        );
        assert_eq!(
            table.lines().nth(3),
            Some("| SOL | 3x | 5% | 1h | failed: boom / bang |")
        );
    }
}
