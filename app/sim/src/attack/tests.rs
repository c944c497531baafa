//! The latency attacker's tests: real series slices through the real program.

use super::*;
use crate::prices;

/// The first `bars` bars of a shared high-frequency series.
fn slice(file: &str, bars: usize) -> Series {
    let path = lever_sdk::data::data_file(None, &format!("hf/{file}")).expect("shared data");
    let mut s = prices::load(&path).expect("series");
    s.bars.truncate(bars);
    s
}

const CRASH: &str = "jkbt_BTCUSDT-1m-2020-03-12.csv";

fn cfg(leverage: f64) -> AttackConfig {
    AttackConfig::deployed(SimConfig {
        asset: "BTC".into(),
        leverage,
        ..SimConfig::default()
    })
}

async fn attack(series: &Series, cfg: &AttackConfig) -> AttackSummary {
    let s = run(series, cfg).await.expect("attack replay");
    eprintln!(
        "{}x lag {} delay {} age {} fee {}: {}",
        s.leverage,
        s.clock_lag_secs,
        s.settle_delay_secs,
        s.instant.max_age_secs,
        s.instant.fee,
        serde_json::to_string(&s.attacker).unwrap()
    );
    assert_eq!(s.attacker.instant_quote_mismatches, 0);
    s
}

#[test]
fn updates_follow_the_bar_in_its_direction_order() {
    let s = prices::parse("t", "time,open,high,low,close\n0,10,12,9,11\n60,11,11.5,8,9\n").unwrap();
    let u = updates(&s, 4).unwrap();
    let got: Vec<(i64, f64)> = u.iter().map(|u| (u.publish, u.price)).collect();
    // Up bar: open, low, high, close; down bar: open, high, low, close.
    assert_eq!(
        got,
        vec![
            (0, 10.0),
            (15, 9.0),
            (30, 12.0),
            (45, 11.0),
            (60, 11.0),
            (75, 11.5),
            (90, 8.0),
            (105, 9.0)
        ]
    );
    assert!(u[3].is_close && u[7].is_close && !u[4].is_close);
    let u = updates(&s, 12).unwrap();
    assert_eq!(u.len(), 24);
    assert_eq!((u[1].publish, u[1].price), (5, 10.0 - 1.0 / 3.0));
    assert_eq!(u[9].price, 11.0);
    assert_eq!(u[11].price, 11.0);
    assert!(u[9].is_close);
    assert!(updates(&s, 6).is_err());
    assert!(updates(&s, 0).is_err());
}

#[test]
fn pyth_confidence_sample_is_about_three_basis_points() {
    let path = lever_sdk::data::data_file(None, "hf/pythbench_pyth_btc_usd_1sec_1y.csv").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let mut ratios: Vec<f64> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some(f.get(3)?.parse::<f64>().ok()? / f.get(2)?.parse::<f64>().ok()?)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    assert!(ratios.len() > 100);
    let median = ratios[ratios.len() / 2];
    assert!(
        (0.5 * DEFAULT_CONF_RATIO..=1.5 * DEFAULT_CONF_RATIO).contains(&median),
        "median conf/price {median}"
    );
}

/// With the deployed parameters (lag 3 s, delay 10 s) the two-step attacker loses at every
/// leverage, and from 5x the instant path is off: no instant round trip at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_step_does_not_pay_when_the_delay_exceeds_the_lag_and_the_instant_path_is_off() {
    let series = slice(CRASH, 300);
    for leverage in [2.0, 3.0, 5.0, 10.0] {
        let s = attack(&series, &cfg(leverage)).await;
        assert!(
            s.attacker.round_trips.two_step > 0,
            "the attacker traded at {leverage}x"
        );
        assert!(
            s.attacker.two_step_pnl_usd <= 0.0,
            "{leverage}x: two-step attacker made {}",
            s.attacker.two_step_pnl_usd
        );
        // The deployed markets keep the instant path off: nothing to take there.
        assert!(!s.instant.on, "{leverage}x");
        assert_eq!(s.attacker.instant_pnl_usd, 0.0, "{leverage}x");
        assert_eq!(s.attacker.round_trips.instant, 0, "{leverage}x");
    }
}

/// A lag at least the delay (here 30 s against 10 s) lets a request settle at an update already
/// published: the attacker sees both legs' prices and profits. This is why the delay must
/// exceed the lag, and it shows the two-step measurement above can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_step_pays_when_the_lag_reaches_the_delay() {
    let series = slice(CRASH, 300);
    for leverage in [3.0, 10.0] {
        let mut c = cfg(leverage);
        c.clock_lag_secs = 30;
        c.instant_max_age_secs = 0;
        c.instant_fee = 0.0;
        let s = attack(&series, &c).await;
        assert!(
            s.attacker.two_step_pnl_usd > 0.0,
            "{leverage}x: lag >= delay yet the attacker made {}",
            s.attacker.two_step_pnl_usd
        );
        assert!(s.attacker.two_step_winning_round_trips * 2 > s.attacker.round_trips.two_step);
    }
}

/// At the floor fee (0.06% at 3x and 2 s) on the crash day, with updates every 5 s, the instant
/// attacker's stale-update round trips pay and the honest LP pays for them: the instant
/// measurement is not vacuous. (With the replay's default 15 s between updates no older update
/// is ever within lag + age = 5 s, and the instant attacker cannot act at all.)
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn instant_pays_at_the_floor_fee() {
    let series = slice(CRASH, 1440);
    let mut c = cfg(3.0);
    c.instant_max_age_secs = 2;
    c.instant_fee = 0.0006;
    c.updates_per_bar = 12;
    c.two_step_attacker = false;
    let s = attack(&series, &c).await;
    assert!((s.instant.fee_floor - 0.0006).abs() < 1e-12);
    assert!(s.attacker.round_trips.instant > 0);
    assert!(s.attacker.instant_pnl_usd > 0.0, "{}", s.attacker.instant_pnl_usd);
    assert!(
        s.attacker.honest_ft_loss_usd > 0.0,
        "{}",
        s.attacker.honest_ft_loss_usd
    );
    assert_eq!(
        s.attacker.round_trips.two_step, 0,
        "two-step attacker switched off"
    );
    // The same replay at the default 4 updates per bar: nothing for the instant attacker.
    c.updates_per_bar = 4;
    let s = attack(&slice(CRASH, 300), &c).await;
    assert_eq!(s.attacker.round_trips.instant, 0);
}
