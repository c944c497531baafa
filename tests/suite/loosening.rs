//! Review 13, I3: how fast the admin may loosen a market's risk parameters. Before the fix one
//! `update_market` could take the maximum price age from 60 s to a day (or the confidence limit to
//! 10%, the band to 50%, the caps off, the instant path on) at once. Now each update may move a
//! parameter by one step in the loosening direction (x2 up, /2 down; `LooseningTooLarge`), and
//! loosening updates are a day apart (`LooseningTooFast`, from `Market::last_loosened_at`).
//! Tightening is always immediate. A refusal changes nothing (`expect_error` compares the market,
//! the config and every balance).

use lever::constants::LOOSEN_INTERVAL_SECS;
use lever::error::LeverError;
use lever::state::UpdateMarketParams;
use lever_tests::*;

fn age(secs: u64) -> UpdateMarketParams {
    UpdateMarketParams {
        max_price_age_secs: Some(secs),
        ..UpdateMarketParams::default()
    }
}

async fn refused(h: &mut Harness, update: UpdateMarketParams, expected: LeverError) {
    let admin = h.admin.insecure_clone();
    let ix = h.update_ix(update);
    h.expect_error(&[ix], &[&admin], expected).await;
}

async fn lands(h: &mut Harness, update: UpdateMarketParams) {
    let ix = h.update_ix(update);
    h.admin_send(&[ix]).await.expect("update_market");
}

#[tokio::test]
async fn loosening_the_price_age_from_60_s_to_a_day_at_once_is_refused() {
    let mut h = Harness::new(MarketOpts::default()).await;
    assert_eq!(h.market().await.params.max_price_age_secs, 60);
    refused(&mut h, age(86_400), LeverError::LooseningTooLarge).await;
    // One step past x2 is refused too, exactly x2 lands.
    refused(&mut h, age(121), LeverError::LooseningTooLarge).await;
    assert_eq!(h.market().await.last_loosened_at, 0);
    lands(&mut h, age(120)).await;
    let m = h.market().await;
    assert_eq!(
        (m.params.max_price_age_secs, m.last_loosened_at),
        (120, h.chain.now())
    );

    // The other loosening directions, each one step past the limit (a day later, so only the
    // step is at fault).
    h.advance(LOOSEN_INTERVAL_SECS);
    let d = UpdateMarketParams::default;
    for u in [
        UpdateMarketParams {
            band_ppm: Some(100_001),
            ..d()
        },
        UpdateMarketParams {
            max_conf_ppm: Some(40_001),
            ..d()
        },
        UpdateMarketParams {
            target_leverage_ppm: Some(6_000_001),
            ..d()
        },
        UpdateMarketParams {
            settle_delay_secs: Some(4),
            ..d()
        },
        UpdateMarketParams {
            settle_window_secs: Some(241),
            ..d()
        },
        UpdateMarketParams {
            instant_fee_ppm: Some(2_499),
            ..d()
        },
    ] {
        refused(&mut h, u, LeverError::LooseningTooLarge).await;
    }
}

#[tokio::test]
async fn a_second_loosening_within_a_day_is_refused_and_tightening_is_immediate() {
    let mut h = Harness::new(MarketOpts::default()).await;
    lands(&mut h, age(120)).await;
    let loosened_at = h.chain.now();

    // Within the day: another loosening of the same or of another parameter is refused, and so is
    // an update that tightens one parameter while it loosens another.
    h.advance(LOOSEN_INTERVAL_SECS - 1);
    refused(&mut h, age(240), LeverError::LooseningTooFast).await;
    let band_up = UpdateMarketParams {
        band_ppm: Some(60_000),
        ..UpdateMarketParams::default()
    };
    refused(&mut h, band_up, LeverError::LooseningTooFast).await;
    let mixed = UpdateMarketParams {
        max_price_age_secs: Some(30),
        band_ppm: Some(60_000),
        ..UpdateMarketParams::default()
    };
    refused(&mut h, mixed, LeverError::LooseningTooFast).await;

    // Tightening lands at once and does not restart the day: a shorter age, a narrower band and
    // confidence limit, higher fees, a lower cap, a longer settle delay.
    let tighten = UpdateMarketParams {
        max_price_age_secs: Some(30),
        band_ppm: Some(20_000),
        max_conf_ppm: Some(10_000),
        instant_max_conf_ppm: Some(10_000),
        mint_fee_ppm: Some(1_000),
        exposure_cap: Some(sol(1_000.0)),
        settle_delay_secs: Some(20),
        ..UpdateMarketParams::default()
    };
    lands(&mut h, tighten).await;
    let m = h.market().await;
    assert_eq!(
        (
            m.params.max_price_age_secs,
            m.params.band_ppm,
            m.params.max_conf_ppm,
            m.params.exposure_cap,
            m.params.settle_delay_secs
        ),
        (30, 20_000, 10_000, sol(1_000.0), 20)
    );
    assert_eq!(m.last_loosened_at, loosened_at);

    // A day after the last loosening the next step lands.
    h.advance(1);
    lands(&mut h, age(60)).await;
    assert_eq!(h.market().await.last_loosened_at, h.chain.now());
    refused(&mut h, age(120), LeverError::LooseningTooFast).await;
}

#[tokio::test]
async fn switching_the_instant_path_on_is_a_loosening_step() {
    let mut h = Harness::new(MarketOpts::default()).await;
    // Off at once (tightening), whatever the instant fee then says.
    let off = UpdateMarketParams {
        instant_max_age_secs: Some(0),
        instant_fee_ppm: Some(0),
        ..UpdateMarketParams::default()
    };
    lands(&mut h, off).await;
    assert_eq!(h.market().await.last_loosened_at, 0);
    // Back on: at most 2 s from off, and a loosening.
    let on = |secs| UpdateMarketParams {
        instant_max_age_secs: Some(secs),
        instant_fee_ppm: Some(5_000),
        ..UpdateMarketParams::default()
    };
    refused(&mut h, on(5), LeverError::LooseningTooLarge).await;
    lands(&mut h, on(2)).await;
    assert_eq!(h.market().await.last_loosened_at, h.chain.now());
    refused(&mut h, on(4), LeverError::LooseningTooFast).await;
}
