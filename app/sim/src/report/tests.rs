use super::*;

fn bar(time: i64, price: f64, rebalanced: bool) -> BarRecord {
    BarRecord {
        time,
        price,
        lt_nav: 1.0,
        ideal_nav: 1.0,
        leverage: 3.0,
        utilization: 0.5,
        ft_nav: 1.0,
        rebalanced,
    }
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("lever_report_test_{}_{name}", std::process::id()))
}

#[test]
fn csv_round_trip() {
    let rows = [
        BarRecord {
            time: 1_735_689_600,
            price: 189.25,
            lt_nav: 1.0,
            ideal_nav: 1.0,
            leverage: 3.0,
            utilization: 0.75,
            ft_nav: 1.0,
            rebalanced: false,
        },
        BarRecord {
            time: 1_709_164_800 + 12 * 3600 + 34 * 60 + 56,
            price: 0.1 + 0.2,
            lt_nav: 1.0 / 3.0,
            ideal_nav: 1e-20,
            leverage: 3.1500000000000004,
            utilization: 0.0,
            ft_nav: 1.000_000_1,
            rebalanced: true,
        },
        bar(-1, 12345.678, false),
    ];
    let path = temp_path("round_trip.csv");
    write_csv(&path, &rows).expect("write csv");
    let text = std::fs::read_to_string(&path).expect("read csv");
    std::fs::remove_file(&path).ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        "time,unix,price,lt_nav,ideal_nav,leverage,utilization,ft_nav,rebalanced"
    );
    assert_eq!(lines[1], "2025-01-01 00:00:00,1735689600,189.25,1,1,3,0.75,1,0");
    assert!(
        lines[2].starts_with("2024-02-29 12:34:56,1709210096,"),
        "{}",
        lines[2]
    );
    assert!(lines[3].starts_with("1969-12-31 23:59:59,-1,"), "{}", lines[3]);

    for (line, row) in lines[1..].iter().zip(&rows) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 9);
        let num = |i: usize| f[i].parse::<f64>().expect("float field");
        let parsed = BarRecord {
            time: f[1].parse().expect("unix field"),
            price: num(2),
            lt_nav: num(3),
            ideal_nav: num(4),
            leverage: num(5),
            utilization: num(6),
            ft_nav: num(7),
            rebalanced: f[8] == "1",
        };
        assert_eq!(&parsed, row);
        assert!(!line.contains('e'), "no exponent notation: {line}");
    }
}

#[test]
fn months() {
    let m = month_index(1_709_210_096);
    assert_eq!(month_start_unix(m), 1_706_745_600); // 2024-02-01
    assert_eq!(month_start_unix(m + 1), 1_709_251_200); // 2024-03-01
}

#[test]
fn decimate_keeps_extremes_and_bounds_count() {
    let n = 50_000;
    let mut pts: Vec<(f64, f64)> = (0..n).map(|i| (i as f64, (i as f64 * 0.01).sin())).collect();
    pts[12_345].1 = 50.0;
    pts[33_333].1 = -70.0;
    pts[n - 1].1 = 9.0;
    for max in [3000, 2999, 10, 2] {
        let out = decimate(&pts, max);
        assert!(out.len() <= max, "{} > {max}", out.len());
        assert!(out.len() >= max - 1);
        assert!(out.contains(&(12_345.0, 50.0)));
        assert!(out.contains(&(33_333.0, -70.0)));
        if max >= 10 {
            assert!(out.contains(&((n - 1) as f64, 9.0)));
        }
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "x order");
    }
    let small = &pts[..100];
    assert_eq!(decimate(small, 100), small.to_vec());
    assert_eq!(decimate(small, 1000), small.to_vec());
    assert_eq!(decimate(small, 1), vec![small[0]]);
    assert!(decimate(small, 0).is_empty());
    assert!(decimate(&[], 10).is_empty());
    let with_nan = [(0.0, f64::NAN), (1.0, 2.0), (2.0, f64::NAN), (3.0, -1.0)];
    assert_eq!(decimate(&with_nan, 2), vec![(1.0, 2.0), (3.0, -1.0)]);
}

/// 50,000 hourly bars of a sine-modulated price, with a wipe-out near the end so the
/// clamp note shows.
fn synthetic(n: usize) -> Vec<BarRecord> {
    let start = 1_609_459_200; // 2021-01-01
    let l = 3.0;
    let mut rows = Vec::with_capacity(n);
    let (mut lt, mut ideal, mut lev) = (1.0f64, 1.0f64, l);
    let mut prev = 100.0;
    for i in 0..n {
        let x = i as f64;
        let price = 100.0 * (1.0 + 0.6 * (x / 6000.0).sin()) * (1.0 + 0.02 * (x / 7.0).sin());
        let r = price / prev - 1.0;
        prev = price;
        ideal *= 1.0 + l * r;
        let nav_before = lt;
        lt = (lt * (1.0 + lev * r)).max(0.0);
        lev = if lt > 0.0 {
            lev * (1.0 + r) * nav_before / lt
        } else {
            0.0
        };
        let rebalanced = lt > 0.0 && (lev - l).abs() > 0.05 * l;
        if rebalanced {
            lev = l;
        }
        if i == n - 100 {
            lt = 0.0;
            lev = 0.0;
        }
        rows.push(BarRecord {
            time: start + 3600 * i as i64,
            price,
            lt_nav: lt,
            ideal_nav: ideal,
            leverage: lev,
            utilization: 0.6,
            ft_nav: 1.0 + x * 1e-6,
            rebalanced,
        });
    }
    rows
}

#[test]
fn chart_of_50k_bars() {
    let rows = synthetic(50_000);
    let info = ChartInfo {
        title: "SOL 3x & test <run>".to_string(),
        target_leverage: 3.0,
        band: 0.05,
    };
    let path = temp_path("chart.svg");
    write_chart(&path, &info, &rows).expect("write chart");
    let svg = std::fs::read_to_string(&path).expect("read svg");
    if std::env::var_os("KEEP_CHART").is_none() {
        std::fs::remove_file(&path).ok();
    } else {
        eprintln!("chart kept at {}", path.display());
    }
    assert!(svg.contains("<svg"));
    assert!(svg.contains("width=\"1200\"") && svg.contains("height=\"900\""));
    assert!(svg.len() < 2_000_000, "svg is {} bytes", svg.len());
    for text in [
        "SOL 3x &amp; test &lt;run&gt;",
        "LT NAV (values below 1e-9 drawn at 1e-9)",
        "ideal NAV (exactly 3x every bar)",
        "underlying price (normalised)",
        "leverage after the bar",
        "rebalance band ±5% (2.85x to 3.15x)",
        "target 3x",
        "bars with a rebalance",
        "2022-01",
    ] {
        assert!(svg.contains(text), "missing text {text:?}");
    }
    assert!(svg.matches("<text").count() > 20);
    assert!(!svg.contains("NaN"));
}

#[test]
fn chart_of_short_runs() {
    let info = ChartInfo {
        title: "short".to_string(),
        target_leverage: 2.0,
        band: 0.1,
    };
    let path = temp_path("short.svg");
    for rows in [
        vec![bar(1_735_689_600, 10.0, true)],
        (0..100)
            .map(|i| bar(1_735_689_600 + 3600 * i, 10.0 + i as f64, i % 7 == 0))
            .collect(),
        (0..10)
            .map(|i| bar(1_735_689_600 + 60 * i, 10.0, false))
            .collect(),
    ] {
        write_chart(&path, &info, &rows).expect("write chart");
        let svg = std::fs::read_to_string(&path).expect("read svg");
        assert!(svg.contains("<svg") && svg.contains("leverage after the bar"));
        assert!(!svg.contains("(values below"), "nothing was clamped");
    }
    std::fs::remove_file(&path).ok();
    let bad = [bar(0, 0.0, false)];
    assert!(write_chart(&path, &info, &bad).is_err());
}

#[test]
fn empty_rows_and_bad_paths_are_refused() {
    let info = ChartInfo {
        title: "empty".to_string(),
        target_leverage: 3.0,
        band: 0.05,
    };
    let path = temp_path("empty.out");
    let err = write_csv(&path, &[]).expect_err("empty csv");
    assert!(err.to_string().contains("no bars"), "{err}");
    let err = write_chart(&path, &info, &[]).expect_err("empty chart");
    assert!(err.to_string().contains("no bars"), "{err}");
    assert!(!path.exists());

    let missing = std::env::temp_dir()
        .join("lever_report_no_such_dir")
        .join("x.csv");
    let rows = [bar(0, 1.0, false)];
    let err = write_csv(&missing, &rows).expect_err("missing dir");
    assert!(format!("{err:#}").contains("lever_report_no_such_dir"), "{err:#}");
    let err = write_chart(&missing.with_extension("svg"), &info, &rows).expect_err("missing dir");
    assert!(format!("{err:#}").contains("lever_report_no_such_dir"), "{err:#}");
}

#[test]
fn ticks() {
    assert_eq!(format_tick(0.05), "0.05");
    assert_eq!(format_tick(2.85), "2.85");
    assert_eq!(format_tick(1000.0), "1000");
    assert_eq!(format_tick(0.30000000000000004), "0.3");
    assert_eq!(format_tick(1e-4), "1e-4");
    let (bold, _) = log_ticks(0.5, 3.0);
    assert_eq!(bold, vec![0.5, 0.7, 1.0, 1.5, 2.0, 3.0]);
    let (bold, _) = log_ticks(1e-4, 1e3);
    assert_eq!(bold.len(), 8);
    let (bold, _) = log_ticks(1e-300, 1e300);
    assert!(bold.len() <= MAX_Y_TICKS && bold.len() >= 2);
    let t = TimeTicks::new(1_609_459_200, 1_609_459_200 + 47_000 * 3600);
    assert!(t.bold.len() >= 2 && t.bold.len() <= MAX_X_TICKS + 1);
    assert_eq!(t.label(t.bold[0]), "2021-01");
    assert_eq!(nice_step(1_000_000, &[1, 2, 3, 6, 12], 12), 120_000);
    let t = TimeTicks::new(1_735_689_600, 1_735_689_600 + 4 * 86_400);
    assert_eq!(t.bold.len(), 4, "the tick at the very end is left out");
    assert_eq!(t.label(t.bold[1]), "2025-01-02");
    let t = TimeTicks::new(1_735_689_600 + 1800, 1_735_689_600 + 9 * 3600);
    assert_eq!(t.label(t.bold[0]), "2025-01-01 02:00");
    let t = TimeTicks::new(1_735_689_600 + 60, 1_735_689_600 + 600);
    assert_eq!(t.bold, vec![1_735_689_660.0]);
}
