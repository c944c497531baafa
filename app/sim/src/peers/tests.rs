use super::*;

const H: i64 = 3600;
const DAY: i64 = 86_400;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

macro_rules! assert_close {
    ($a:expr, $b:expr) => {{
        let (a, b): (f64, f64) = ($a, $b);
        assert!(close(a, b), "{} = {a}, expected {b}", stringify!($a));
    }};
}

fn assert_navs(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(close(*g, *w), "{got:?} vs {want:?}");
    }
}

/// Steps at the given (time, price) with no borrow cost.
fn path(points: &[(i64, f64)]) -> Vec<Step> {
    points
        .iter()
        .map(|&(time, price)| Step {
            time,
            price,
            borrow_rate: 0.0,
        })
        .collect()
}

#[test]
fn names_and_descriptions() {
    let names: Vec<_> = PeerRule::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(names, ["ftx", "toros", "fli"]);
    assert!(PeerRule::Ftx.describe(3.0).contains(">= 4.00x"));
    assert!(PeerRule::Toros.describe(3.0).contains("[2.80x, 3.20x]"));
    let fli = PeerRule::Fli.describe(3.0);
    assert!(
        fli.contains(">= 3.90x") && fli.contains("[2.55x, 3.45x]"),
        "{fli}"
    );
    assert!(!fli.contains('\n'));
}

#[test]
fn toros_zero_cost() {
    let steps = path(&[(0, 100.0), (H, 110.0), (2 * H, 121.0)]);
    let r = replay(PeerRule::Toros, 3.0, 0.0, &steps);
    // Step 1: E = 1.3, X = 3.3, lam = 2.538 < 2.8 -> X = 3.9 (trade 0.6).
    // Step 2: E = 1.3 + 0.39 = 1.69, X = 4.29, lam = 2.538 -> X = 5.07 (trade 0.78).
    assert_eq!(r.name, "toros");
    assert_navs(&r.navs, &[1.0, 1.3, 1.69]);
    assert_close!(r.final_nav, 1.69);
    assert_eq!(r.rebalances, 2);
    assert_close!(r.traded_notional, 1.38);
    assert_close!(r.trading_costs, 0.0);
    assert!(!r.wiped);
}

#[test]
fn toros_with_trading_cost() {
    let steps = path(&[(0, 100.0), (H, 110.0), (2 * H, 121.0)]);
    let r = replay(PeerRule::Toros, 3.0, 0.001, &steps);
    // Step 1: E = 1.3, X = 3.3, trade 0.6, cost 0.0006 -> E = 1.2994, X = 3.8982.
    // Step 2: E = 1.2994 + 0.38982 = 1.68922, X = 4.28802, lam = 2.5385 -> target 5.06766,
    //         trade 0.77964, cost 0.00077964 -> E = 1.68844036.
    assert_navs(&r.navs, &[1.0, 1.2994, 1.68844036]);
    assert_eq!(r.rebalances, 2);
    assert_close!(r.traded_notional, 1.37964);
    assert_close!(r.trading_costs, 0.00137964);
}

#[test]
fn toros_borrow_cost_pushes_out_of_band() {
    // Flat price over a full year at 10%: debt 2 costs 0.2 -> E = 0.8, X = 3, lam = 3.75 > 3.2.
    let steps = vec![
        Step {
            time: 0,
            price: 50.0,
            borrow_rate: 0.0,
        },
        Step {
            time: 31_536_000,
            price: 50.0,
            borrow_rate: 0.1,
        },
    ];
    let r = replay(PeerRule::Toros, 3.0, 0.0, &steps);
    assert_close!(r.final_nav, 0.8);
    assert_eq!(r.rebalances, 1);
    assert_close!(r.traded_notional, 0.6);
}

#[test]
fn ftx_daily_reset_and_intraday_trigger() {
    let steps = path(&[
        (0, 100.0),
        (H, 110.0),           // E 1.3, X 3.3, lam 2.54: same day, no trade
        (DAY + 1800, 110.0),  // first bar of day 1: reset X 3.3 -> 3.9 (trade 0.6)
        (DAY + 2 * H, 99.0),  // r -10%: E 0.91, X 3.51, lam 3.857 < 4: no trade
        (DAY + 3 * H, 94.05), // r -5%: E 0.7345, X 3.3345, lam 4.54 >= 4: X -> 2.2035 (trade 1.131)
        (DAY + 4 * H, 94.05), // flat, lam 3: nothing
        (2 * DAY, 94.05),     // 00:00 UTC of day 2, lam exactly 3: a no-op reset, not counted
    ]);
    let r = replay(PeerRule::Ftx, 3.0, 0.0, &steps);
    assert_navs(&r.navs, &[1.0, 1.3, 1.3, 0.91, 0.7345, 0.7345, 0.7345]);
    assert_eq!(r.rebalances, 2);
    assert_close!(r.traded_notional, 1.731);
}

#[test]
fn fli_ripcord_and_daily_clamp() {
    // Step 1 (r -10%, same day): E 0.7, X 2.7, lam 3.857 < 3.9: no trade.
    // Step 2 (r -2%): E 0.646, X 2.646, lam 4.096 >= 3.9: ripcord X -> 1.938 (trade 0.708).
    // Step 3 (r -10%, new day): E 0.4522, X 1.7442, lam 3.857 < 3.9; daily move
    //   0.15 + 0.95·3.857 = 3.814 is clamped to 3.45: X -> 1.56009 (trade 0.18411).
    let steps = path(&[(0, 100.0), (H, 90.0), (2 * H, 88.2), (DAY + H, 79.38)]);
    let r = replay(PeerRule::Fli, 3.0, 0.0, &steps);
    assert_navs(&r.navs, &[1.0, 0.7, 0.646, 0.4522]);
    assert_eq!(r.rebalances, 2);
    assert_close!(r.traded_notional, 0.708 + 0.18411);
}

#[test]
fn fli_daily_recentre_within_band() {
    // r +5% across midnight: E 1.15, X 3.15, lam 2.7391; new lam = 0.15 + 0.95·2.7391 = 2.7522,
    // X -> 0.15·1.15 + 0.95·3.15 = 3.165: trade 0.015.
    let steps = path(&[(DAY - H, 100.0), (DAY, 105.0), (DAY + H, 105.0)]);
    let r = replay(PeerRule::Fli, 3.0, 0.0, &steps);
    assert_navs(&r.navs, &[1.0, 1.15, 1.15]);
    assert_eq!(r.rebalances, 1);
    assert_close!(r.traded_notional, 0.015);
    // At exactly target leverage the daily recentre is a no-op and is not counted.
    let r = replay(
        PeerRule::Fli,
        3.0,
        0.0,
        &path(&[(0, 100.0), (DAY, 100.0), (2 * DAY, 100.0)]),
    );
    assert_eq!(r.rebalances, 0);
    assert_close!(r.traded_notional, 0.0);
}

#[test]
fn peer_wipe() {
    // 3x on -40%: E = 1 - 1.2 = -0.2 -> wiped; NAV 0 for the rest of the path.
    let steps = path(&[(0, 100.0), (H, 60.0), (2 * H, 120.0)]);
    for rule in PeerRule::ALL {
        let r = replay(rule, 3.0, 0.0, &steps);
        assert!(r.wiped, "{rule:?}");
        assert_eq!(r.navs, vec![1.0, 0.0, 0.0]);
        assert_eq!(r.final_nav, 0.0);
        assert_eq!(r.rebalances, 0);
    }
}

#[test]
fn empty_and_single_step_paths() {
    let r = replay(PeerRule::Ftx, 3.0, 0.0, &[]);
    assert_eq!((r.final_nav, r.navs.len(), r.wiped), (1.0, 0, false));
    let one = path(&[(0, 10.0)]);
    assert_eq!(replay(PeerRule::Fli, 3.0, 0.0, &one).navs, vec![1.0]);
    assert_eq!(ideal(3.0, &one), vec![1.0]);
    assert!(ideal(3.0, &[]).is_empty());
    assert_eq!(closed_form(3.0, &[]), 1.0);
    assert_eq!(closed_form(3.0, &one), 1.0);
}

#[test]
fn ideal_by_hand() {
    let steps = vec![
        Step {
            time: 0,
            price: 100.0,
            borrow_rate: 0.0,
        },
        // Half a year at 10% on debt 2: 1 + 3·0.1 - 2·0.1·0.5 = 1.2.
        Step {
            time: 15_768_000,
            price: 110.0,
            borrow_rate: 0.1,
        },
        Step {
            time: 15_768_000 + H,
            price: 99.0,
            borrow_rate: 0.0,
        }, // ×0.7 -> 0.84
        Step {
            time: 15_768_000 + 2 * H,
            price: 108.9,
            borrow_rate: 0.0,
        }, // ×1.3 -> 1.092
    ];
    assert_navs(&ideal(3.0, &steps), &[1.0, 1.2, 0.84, 1.092]);
}

#[test]
fn ideal_wipes_and_stays_at_zero() {
    let steps = path(&[(0, 100.0), (H, 60.0), (2 * H, 120.0)]);
    assert_eq!(ideal(3.0, &steps), vec![1.0, 0.0, 0.0]);
}

#[test]
fn closed_form_constant_return() {
    // Three +10% steps at 3x: 1.331^3 · exp(-3 · 3 · ln(1.1)^2)
    // = 2.357947691 · exp(-0.0817562734) = 2.1728406024
    let steps = path(&[(0, 100.0), (H, 110.0), (2 * H, 121.0), (3 * H, 133.1)]);
    let want = 2.357_947_691 * (-9.0 * 0.095_310_179_804_324_86_f64.powi(2)).exp();
    assert_close!(closed_form(3.0, &steps), want);
    assert!((closed_form(3.0, &steps) - 2.172_840_602_4).abs() < 1e-9);
    // At 1x the variance drag vanishes: plain price ratio.
    assert_close!(closed_form(1.0, &steps), 1.331);
}

#[test]
fn closed_form_tracks_ideal_on_fine_path() {
    // Small alternating moves: discrete rebalancing converges to the continuous formula.
    let steps: Vec<Step> = (0..2000)
        .map(|i| Step {
            time: i * 60,
            price: 100.0 * (1.0 + 0.002 * ((i % 7) as f64 - 3.0) / 3.0),
            borrow_rate: 0.0,
        })
        .collect();
    let ideal_final = *ideal(3.0, &steps).last().unwrap();
    let cf = closed_form(3.0, &steps);
    assert!((ideal_final / cf - 1.0).abs() < 1e-3, "{ideal_final} vs {cf}");
}

#[test]
fn no_nan_on_volatile_path() {
    let mut price = 100.0;
    let mut steps = Vec::new();
    for i in 0..500_i64 {
        let r = [0.3, -0.2, 0.05, -0.12, 0.25, -0.24][(i % 6) as usize];
        price *= 1.0 + r;
        steps.push(Step {
            time: i * 7 * H,
            price,
            borrow_rate: 0.08,
        });
    }
    for lev in [2.0, 3.0, 5.0, 10.0] {
        for rule in PeerRule::ALL {
            let r = replay(rule, lev, 0.002, &steps);
            assert_eq!(r.navs.len(), steps.len());
            assert!(
                r.navs.iter().all(|v| v.is_finite() && *v >= 0.0),
                "{rule:?} {lev}"
            );
            assert!(r.final_nav.is_finite() && r.traded_notional.is_finite());
        }
        assert!(ideal(lev, &steps).iter().all(|v| v.is_finite() && *v >= 0.0));
        assert!(closed_form(lev, &steps).is_finite());
    }
}
