//! The figures the web app shows, as the SDK computes them from the program's own math, for many
//! random books: funding accrued to a later clock (`quote::accrued`), then NAVs, leverage and
//! utilization (`quote::marks`) and the funding rate, and Pyth prices scaled to price units
//! (`lever::math::scale_mantissa`). Written as JSON for `app/web/test/figures.test.js`, which
//! runs `cargo run -q -p lever-cli --example marks_fixtures -- OUT` and holds the app's
//! TypeScript port (`app/web/src/figures.ts`) to these numbers exactly. Not committed.

use bytemuck::Zeroable;
use lever::math::{scale_mantissa, PoolState, Rounding};
use lever::state::{Market, MarketParams};
use lever_sdk::quote;
use serde_json::{json, Value};

/// xorshift64*: the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Log-uniform in [1, 10^digits).
    fn magnitude(&mut self, digits: u32) -> u64 {
        let d = self.next() % u64::from(digits.max(1)) + 1;
        let top = 10u64.saturating_pow(u32::try_from(d).unwrap_or(19));
        self.next() % top.max(1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The demo market's parameters with a random target, band and funding curve.
fn params(rng: &mut Rng) -> MarketParams {
    let kink = rng.below(1_000_001);
    MarketParams {
        target_leverage_ppm: 2_000_000 + rng.below(8_000_001),
        band_ppm: 10_000 + rng.below(190_000),
        base_rate_ppm: rng.below(100_001),
        // Both ends of the kink's range too (the program clamps it to 1..PPM-1).
        kink_ppm: match rng.below(8) {
            0 => 0,
            1 => 1_000_000,
            _ => kink,
        },
        slope1_ppm: rng.below(500_001),
        slope2_ppm: rng.below(5_000_001),
        ..lever_testkit::localnet::demo_params()
    }
}

fn case(rng: &mut Rng) -> Option<Value> {
    let decimals = [0u8, 6, 8, 9, 12][usize::try_from(rng.below(5)).ok()?];
    // A Pyth price: mantissa and exponent as feeds publish them.
    let exponent = -(i32::try_from(rng.below(11)).ok()?);
    let mantissa = rng.magnitude(12).max(1);
    let price = scale_mantissa(u128::from(mantissa), exponent, decimals, Rounding::Down).ok()?;
    let exposure = rng.magnitude(15);
    // Books whose values pass u128 are refused by the program (and skipped here).
    let exposure_value = u128::from(exposure).checked_mul(price)? / 1_000_000_000_000_000_000;
    // Debt from none to past the exposure's value (insolvent books), as a fraction of it.
    let debt = match rng.below(6) {
        0 => 0,
        1 => exposure_value.checked_add(u128::from(rng.magnitude(6)))?,
        _ => exposure_value.checked_mul(u128::from(rng.below(1_000)))? / 1_000,
    };
    let pool = PoolState {
        exposure,
        debt,
        idle: rng.magnitude(15),
        fee_units: rng.magnitude(6),
        lt_supply: if rng.below(8) == 0 { 0 } else { rng.magnitude(15) },
        ft_supply: if rng.below(8) == 0 { 0 } else { rng.magnitude(15) },
    };
    let mut market = Market::zeroed();
    market.decimals = decimals;
    market.params = params(rng).into();
    market.set_pool(&pool);
    market.last_accrual_ts = 1_700_000_000;
    let now = market.last_accrual_ts + i64::try_from(rng.magnitude(8)).ok()?;
    let accrued = quote::accrued(&market, price, now).ok()?;
    let marks = quote::marks(&accrued, price).ok()?;
    let rate = accrued.risk_params().curve.rate_ppm(marks.utilization_ppm).ok()?;
    let p = market.params;
    Some(json!({
        "decimals": decimals,
        "mantissa": mantissa.to_string(),
        "exponent": exponent,
        "params": {
            "kinkPpm": p.kink_ppm.to_string(),
            "baseRatePpm": p.base_rate_ppm.to_string(),
            "slope1Ppm": p.slope1_ppm.to_string(),
            "slope2Ppm": p.slope2_ppm.to_string(),
        },
        "books": {
            "exposure": pool.exposure.to_string(),
            "debt": pool.debt.to_string(),
            "idle": pool.idle.to_string(),
            "ltSupply": pool.lt_supply.to_string(),
            "ftSupply": pool.ft_supply.to_string(),
        },
        "lastAccrualTs": market.last_accrual_ts.to_string(),
        "now": now.to_string(),
        "expect": {
            "price": price.to_string(),
            "accruedDebt": accrued.pool().debt.to_string(),
            // Value units per whole share (10^decimals raw units).
            "ltNav": marks.lt_nav.to_string(),
            "ftNav": marks.ft_nav.to_string(),
            "leveragePpm": marks.leverage_ppm.map(|l| l.to_string()),
            "utilizationPpm": marks.utilization_ppm.to_string(),
            "rateAfterPpm": rate.to_string(),
        },
    }))
}

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/marks_fixtures.json".into());
    let mut rng = Rng(0x5eed_2026_f16e_0001);
    let mut cases = Vec::new();
    let mut tries = 0;
    while cases.len() < 2_000 && tries < 100_000 {
        tries += 1;
        if let Some(c) = case(&mut rng) {
            cases.push(c);
        }
    }
    std::fs::write(&out, serde_json::to_string(&cases)?)?;
    eprintln!("{} cases ({tries} drawn) in {out}", cases.len());
    Ok(())
}
