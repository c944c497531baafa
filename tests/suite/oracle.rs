//! Prices the program reads from real Pyth account bytes.

use anchor_lang::prelude::Pubkey;
use lever::constants::PPM;
use lever_sdk::pyth::decode_price_update;
use lever_tests::*;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_account::Account;

fn fixture() -> (Pubkey, Account) {
    mainnet_sol_usd_account()
}

#[tokio::test]
async fn real_mainnet_sol_usd_price_update_is_read_exactly() {
    let (address, account) = fixture();
    assert_eq!(account.owner, pyth_solana_receiver_sdk::ID);
    assert_eq!(account.data.len(), 134);
    let update = decode_price_update(&account.data).expect("PriceUpdateV2");
    assert_eq!(update.verification_level, VerificationLevel::Full);
    assert_eq!(update.price_message.feed_id, SOL_FEED);
    assert_eq!(update.price_message.price, 21_568_137_069);
    assert_eq!(update.price_message.exponent, -8);
    // 2025-01-04T09:48:07Z
    assert_eq!(update.price_message.publish_time, 1_735_984_087);
    // Not the first update of its second: Pythnet publishes every 400 ms at 1 s resolution, so
    // this one repeats its predecessor's publish time. Under the unique-update rule it covers no
    // settlement target (`two_step::real_update_repeating_its_publish_time_settles_nothing`).
    assert_eq!(
        update.price_message.prev_publish_time,
        update.price_message.publish_time
    );

    let mut h = Harness::new(MarketOpts::default()).await;
    h.chain.set_account(&address, account);
    h.price_account = address;
    h.chain.set_time(update.price_message.publish_time + 5);

    let lp = h.user(sol(10.0)).await;
    let d = h
        .instant_deposit(&lp, sol(10.0))
        .await
        .expect("an instant deposit priced by the mainnet account");
    let m = h.market().await;
    // The program's price: mantissa * 10^(expo + 36 - decimals) = 21568137069 * 10^19.
    let mid = 21_568_137_069u128 * 10u128.pow(19);
    assert_eq!(m.last_price.get(), mid);
    assert_eq!(m.last_publish_time, 1_735_984_087);
    // Deposits convert at the lower end: mid - conf.
    let lower = (21_568_137_069u128 - u128::from(update.price_message.conf)) * 10u128.pow(19);
    assert_eq!(d.price, lower);
    // 1 SOL is worth 215.68137069 USD at mid.
    let one_sol = lever::math::value_of(1_000_000_000, mid, lever::math::Rounding::Down).unwrap();
    assert_eq!(one_sol, 215_681_370_690_000_000_000);
    let conf_ppm = u128::from(update.price_message.conf) * u128::from(PPM) / 21_568_137_069u128;
    println!(
        "mainnet SOL/USD: 215.68137069, conf {} ({} ppm)",
        update.price_message.conf, conf_ppm
    );
}
