//! The `lever` binary end to end: help, a short real run with `--json` and `--out`, and bad input
//! reported with the file and line.

use std::path::PathBuf;
use std::process::Command;

const LEVER: &str = env!("CARGO_BIN_EXE_lever");
/// The shared SOL/USDT hourly series (`lever_sdk::data`).
fn sol_1h() -> PathBuf {
    lever_sdk::data::data_file(None, lever_sdk::data::files::SOL_USDT_1H).unwrap_or_else(|e| panic!("{e}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lever-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The header and the first `bars` rows of the bundled series.
fn head(bars: usize) -> String {
    let text = std::fs::read_to_string(sol_1h()).expect("bundled series");
    text.lines().take(bars + 1).collect::<Vec<_>>().join("\n")
}

#[test]
fn every_subcommand_has_help() {
    let commands: &[&[&str]] = &[
        &["--help"],
        &["sim", "--help"],
        &["study", "--help"],
        &["status", "--help"],
        &["market", "--help"],
        &["market", "list", "--help"],
        &["market", "show", "--help"],
        &["market", "create", "--help"],
        &["market", "update", "--help"],
        &["mint", "--help"],
        &["redeem", "--help"],
        &["fund", "--help"],
        &["withdraw", "--help"],
        &["rebalance", "--help"],
        &["pause", "--help"],
        &["unpause", "--help"],
        &["keeper", "--help"],
        &["deploy", "--help"],
        &["localnet", "--help"],
    ];
    for &args in commands {
        let out = Command::new(LEVER).args(args).output().expect("run lever");
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: lever"));
    }
}

#[test]
fn json_run_reports_every_field_and_writes_csv_and_chart() {
    let dir = scratch("json");
    let prices = dir.join("sol.csv");
    std::fs::write(&prices, head(48)).expect("write slice");
    let out = Command::new(LEVER)
        .args(["sim", "--json", "--prices"])
        .arg(&prices)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .expect("run lever sim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // stdout is exactly one JSON object: the program's native logs must not leak into it.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for key in [
        "bars",
        "gaps",
        "start",
        "end",
        "leverage",
        "band",
        "final_lt_nav",
        "ideal_lt_nav",
        "underlying_return",
        "tracking_error_log",
        "max_abs_tracking_log",
        "rebalances",
        "min_leverage",
        "max_leverage",
        "lt_wipeouts",
        "funding_bad_debt_usd",
        "conservation_violations",
        "final_ft_nav",
        "wall_seconds",
        "peers",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["bars"], 48);
    assert_eq!(v["start"], "2020-08-11 06:00:00");
    assert_eq!(v["conservation_violations"], 0);
    let peers: Vec<&str> = v["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(peers, ["ftx", "toros", "fli"]);
    let csv = std::fs::read_to_string(dir.join("out/bars.csv")).expect("bars.csv");
    assert_eq!(csv.lines().count(), 49);
    assert!(csv.starts_with("time,unix,price,lt_nav,ideal_nav,leverage,utilization,ft_nav,rebalanced"));
    let svg = std::fs::read_to_string(dir.join("out/chart.svg")).expect("chart.svg");
    assert!(svg.contains("<svg") && svg.contains("LT NAV"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_names_the_file_and_line() {
    let dir = scratch("bad");
    let cases = [
        (
            "nocol.csv",
            "timestamp,open\n2021-01-01 00:00:00,1\n",
            ":1:",
            "close",
        ),
        (
            "num.csv",
            "time,close\n1600000000,1\n1600003600,abc\n",
            ":3:",
            "abc",
        ),
        (
            "neg.csv",
            "time,close\n1600000000,1\n1600003600,-2\n",
            ":3:",
            "> 0",
        ),
        (
            "order.csv",
            "time,close\n1600003600,1\n1600000000,2\n",
            ":3:",
            "out of order",
        ),
        (
            "repeat.csv",
            "time,close\n1600000000,1\n1600000000,2\n",
            ":3:",
            "repeated",
        ),
    ];
    for (name, text, line, why) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        let out = Command::new(LEVER)
            .args(["sim", "--prices"])
            .arg(&path)
            .output()
            .expect("run lever sim");
        assert!(!out.status.success(), "{name} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{name}{line}")), "{name}: {err}");
        assert!(err.contains(why), "{name}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
