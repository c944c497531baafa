//! Prices nobody can choose: the independent review's three price-choice attacks, run against the
//! real program on the devnet SOL 3x market exactly as `migrations/markets.toml` defines it, and
//! the instant path's own limits. Each attack asserts the attacker ends with no more than an honest
//! user on the same price path and that the other holders lose nothing.

use lever::error::LeverError;
use lever::state::{MarketParams, RequestKind};
use lever_sdk::ix::{self, UserAccounts};
use lever_sdk::pyth::PriceInput;
use lever_tests::*;

use crate::two_step::covering;

/// A market's parameters as `migrations/markets.toml` deploys it (9 decimals, like SOL).
fn deployed(name: &str) -> MarketParams {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/markets.toml");
    let file = lever_cli::deploy::DeployFile::load(path).expect("migrations/markets.toml");
    let entry = file
        .markets
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} in markets.toml"));
    entry.params(9).expect("params")
}

/// The devnet SOL 3x market with 100 SOL of funding and Alice's 10 SOL of LT, the price at $100.
async fn sol3x() -> (Harness, User, User) {
    levered_with(MarketOpts {
        params: deployed("SOL 3x"),
        ..MarketOpts::default()
    })
    .await
}

/// The same market with the instant path turned on as a market may choose (it is off in
/// `markets.toml`): updates up to 2 s old, a 0.3% fee, confidence up to 1%, 500 SOL per slot.
async fn sol3x_instant() -> (Harness, User, User) {
    let params = MarketParams {
        instant_max_age_secs: 2,
        instant_fee_ppm: 3_000,
        instant_max_conf_ppm: 10_000,
        instant_slot_cap: sol(500.0),
        ..deployed("SOL 3x")
    };
    levered_with(MarketOpts {
        params,
        ..MarketOpts::default()
    })
    .await
}

/// `u`'s instant operation priced by an update in an account of the caller's own (any valid
/// update can be posted by anyone: the pull oracle).
fn instant_with(
    h: &mut Harness,
    u: &User,
    kind: RequestKind,
    amount: u64,
    update: &PriceInput,
) -> solana_instruction::Instruction {
    let own = h.price_account_with(update);
    let lt = UserAccounts {
        price_update: own,
        ..h.lt_accounts(u)
    };
    let ft = UserAccounts {
        price_update: own,
        ..h.ft_accounts(u)
    };
    match kind {
        RequestKind::MintLt => ix::mint_lt(&h.keys, &lt, amount, 0),
        RequestKind::RedeemLt => ix::redeem_lt(&h.keys, &lt, amount, 0),
        RequestKind::DepositFunding => ix::deposit_funding(&h.keys, &ft, amount, 0),
        RequestKind::WithdrawFunding => ix::withdraw_funding(&h.keys, &ft, amount, 0),
    }
}

/// What the LP's FT are worth now at `usd` (value units): the funding pool's side of the books.
async fn ft_value(h: &mut Harness, lp: &User, usd: f64) -> u128 {
    let market = h.market().await;
    let q = h.price_q(usd);
    let accrued = lever_sdk::quote::accrued(&market, q, h.chain.now()).expect("accrual");
    let nav = accrued.pool().ft_nav(q).expect("FT NAV");
    let shares = h.balance(&lp.ft).await;
    nav * u128::from(shares) / 1_000_000_000
}

/// Run one two-step round trip for `u` (in with `kind_in`, out with `kind_out`) on the price path
/// `path` (the update covering each target): returns the underlying units `u` ends with.
async fn round_trip(
    h: &mut Harness,
    u: &User,
    kind_in: RequestKind,
    kind_out: RequestKind,
    amount: u64,
    path: [f64; 2],
) -> u64 {
    let (request, receipt) = h.request(u, kind_in, amount, 0).await.expect("request in");
    h.advance(11);
    h.write_price(&covering(h, path[0], receipt.tau - 1, receipt.tau));
    assert!(h.settle(&request).await.expect("settle in").filled);
    let shares = match kind_out {
        RequestKind::RedeemLt => h.balance(&u.lt).await,
        _ => h.balance(&u.ft).await,
    };
    let (request, receipt) = h.request(u, kind_out, shares, 0).await.expect("request out");
    h.advance(11);
    h.write_price(&covering(h, path[1], receipt.tau - 1, receipt.tau));
    assert!(h.settle(&request).await.expect("settle out").filled);
    h.balance(&u.underlying).await
}

/// The price at `usd`, published `secs` after the update now in the account (chained to it);
/// returns that older update, which an attacker still holds.
fn price_moves(h: &mut Harness, secs: i64, usd: f64) -> PriceInput {
    let old = h.price_input(100.0);
    h.advance(secs);
    let new = covering(h, usd, old.publish_time, h.chain.now());
    h.write_price(&new);
    old
}

/// The deployed market has no instant path: `u`'s instant operation with `old` is refused.
async fn instant_is_off(h: &mut Harness, u: &User, kind: RequestKind, amount: u64, old: &PriceInput) {
    let ix = instant_with(h, u, kind, amount, old);
    h.expect_error(&[ix], &[&u.kp.insecure_clone()], LeverError::InstantPathDisabled)
        .await;
}

/// The FT NAV now at `usd`, funding accrued.
async fn ft_nav_at(h: &mut Harness, usd: f64) -> u128 {
    let m = h.market().await;
    let q = h.price_q(usd);
    lever_sdk::quote::accrued(&m, q, h.chain.now())
        .expect("accrual")
        .pool()
        .ft_nav(q)
        .expect("FT NAV")
}

/// On the instant variant: `secs` after an update the price moves to `usd`, and an instant
/// operation of `kind` with the older update is refused (`PriceTooOld`), nothing changed.
async fn instant_refuses_the_old_update(kind: RequestKind, secs: i64, usd: f64, amount: u64) {
    let (mut h, lp, alice) = sol3x_instant().await;
    let old = price_moves(&mut h, secs, usd);
    let who = match kind {
        RequestKind::MintLt | RequestKind::RedeemLt => &alice,
        _ => &lp,
    };
    let ix = instant_with(&mut h, who, kind, amount.min(sol(10.0)), &old);
    h.expect_error(&[ix], &[&who.kp.insecure_clone()], LeverError::PriceTooOld)
        .await;
}

#[tokio::test]
async fn attack_mint_at_an_old_price_redeem_at_the_new_one_does_not_profit() {
    // Review: $100 -> $100.60 in 20 s (inside the 2% band); mint 10 SOL with the $100 update,
    // redeem one slot later at $100.60: +0.87% riskless, paid by the funding pool.
    let (mut h, lp, _alice) = sol3x().await;
    let old = price_moves(&mut h, 20, 100.6);
    let attacker = h.user(sol(10.0)).await;
    let honest = h.user(sol(10.0)).await;
    // The deployed market has no instant path; where a market turns it on, the 20 s old update
    // is refused (its age is 2 s).
    instant_is_off(&mut h, &attacker, RequestKind::MintLt, sol(10.0), &old).await;
    instant_refuses_the_old_update(RequestKind::MintLt, 20, 100.6, sol(10.0)).await;
    // Under two-step the attacker gets the update the rule forces, as an honest user does.
    let ft_before = ft_value(&mut h, &lp, 100.6).await;
    let path = [100.6, 100.6];
    let a = round_trip(
        &mut h,
        &attacker,
        RequestKind::MintLt,
        RequestKind::RedeemLt,
        sol(10.0),
        path,
    )
    .await;
    let ft_after = ft_value(&mut h, &lp, 100.6).await;
    let b = round_trip(
        &mut h,
        &honest,
        RequestKind::MintLt,
        RequestKind::RedeemLt,
        sol(10.0),
        path,
    )
    .await;
    println!("mint-old/redeem-new: attacker {a}, honest {b}, of {}", sol(10.0));
    assert!(a <= sol(10.0), "the attacker gained: {a}");
    assert!(
        a <= b + 1,
        "the attacker beat an honest user on the same path: {a} > {b}"
    );
    assert!(
        ft_after >= ft_before,
        "the funding pool lost: {ft_before} -> {ft_after}"
    );
}

#[tokio::test]
async fn attack_wipe_escape_with_a_pre_gap_update_fails() {
    // Review: the feed gaps $100 -> $60 (the 3x pool is insolvent); the holder redeems with the
    // 5 s old $100 update and receives 9.97 SOL instead of 0, and the funding pool loses 9%.
    let (mut h, lp, alice) = sol3x().await;
    let before_gap = h.price_input(100.0);
    h.advance(5);
    let gap = covering(&h, 60.0, before_gap.publish_time, h.chain.now());
    h.write_price(&gap);
    let shares = h.balance(&alice.lt).await;
    instant_is_off(&mut h, &alice, RequestKind::RedeemLt, shares, &before_gap).await;
    instant_refuses_the_old_update(RequestKind::RedeemLt, 5, 60.0, shares).await;
    // The funding pool's value at $60 with the gap booked (a rebalance wipes the pool), before
    // the holder's exit.
    let at60 = h.price_q(60.0);
    let market = h.market().await;
    let wiped = lever_sdk::quote::rebalance(&market, &gap, h.chain.clock())
        .expect("wipe")
        .market;
    assert!(wiped.is_wiped());
    let ft_nav_wiped = wiped.pool().ft_nav(at60).unwrap();
    // A two-step exit requested now settles at the update covering its target: after the gap.
    let underlying_before = h.balance(&alice.underlying).await;
    let (request, receipt) = h.request(&alice, RequestKind::RedeemLt, shares, 0).await.unwrap();
    h.advance(11);
    h.write_price(&covering(&h, 60.0, gap.publish_time, receipt.tau));
    let out = h.settle(&request).await.expect("settle");
    assert!(h.market().await.is_wiped());
    assert_eq!(out.amount_out, 0, "nothing is left for a wiped LT");
    assert_eq!(h.balance(&alice.underlying).await, underlying_before);
    let ft_nav_after = h.market().await.pool().ft_nav(at60).unwrap();
    assert!(
        ft_nav_after >= ft_nav_wiped,
        "FT lost to the exit: {ft_nav_wiped} -> {ft_nav_after}"
    );
    let _ = lp;
}

#[tokio::test]
async fn attack_ft_dilution_with_an_older_higher_price_fails() {
    // Review: with 0% funding fees, deposit at an older higher price and withdraw at the newer
    // lower one: +0.13 SOL on 50 SOL, taken from the other FT holders.
    let (mut h, lp, _alice) = sol3x().await;
    let old = price_moves(&mut h, 20, 99.0);
    let attacker = h.user(sol(50.0)).await;
    let honest = h.user(sol(50.0)).await;
    instant_is_off(&mut h, &attacker, RequestKind::DepositFunding, sol(50.0), &old).await;
    instant_refuses_the_old_update(RequestKind::DepositFunding, 20, 99.0, sol(50.0)).await;
    let lp_nav_before = ft_nav_at(&mut h, 99.0).await;
    let path = [99.0, 99.0];
    let a = round_trip(
        &mut h,
        &attacker,
        RequestKind::DepositFunding,
        RequestKind::WithdrawFunding,
        sol(50.0),
        path,
    )
    .await;
    let lp_nav_after = ft_nav_at(&mut h, 99.0).await;
    let b = round_trip(
        &mut h,
        &honest,
        RequestKind::DepositFunding,
        RequestKind::WithdrawFunding,
        sol(50.0),
        path,
    )
    .await;
    println!("FT dilution: attacker {a}, honest {b}, of {}", sol(50.0));
    // FT earn funding while held (22 s here): at most the curve's top rate, 110% a year, which is
    // under 1 PPM of the deposit; the review's attack took 0.26%.
    assert!(a <= sol(50.0) + sol(50.0) / 1_000_000, "the attacker gained: {a}");
    assert!(a <= b + 1, "the attacker beat an honest user: {a} > {b}");
    assert!(lp_nav_after >= lp_nav_before, "the other FT holders lost");
    let _ = lp;
}

#[tokio::test]
async fn instant_round_trip_inside_the_age_window_pays_more_fee_than_it_takes() {
    // What the instant path still allows: a caller who sees a move first picks the update from
    // before it, if it is at most 2 s old. A 0.1% move in a second (a large one for SOL) at 3x
    // is worth about 0.3%; the instant fee takes 0.3% on each leg.
    let (mut h, _lp, _alice) = sol3x_instant().await;
    let attacker = h.user(sol(10.0)).await;
    let old = h.price_input(100.0);
    h.advance(1);
    let new = covering(&h, 100.1, old.publish_time, h.chain.now());
    h.write_price(&new);
    let kp = attacker.kp.insecure_clone();
    let ix = instant_with(&mut h, &attacker, RequestKind::MintLt, sol(10.0), &old);
    h.send(&[ix], &[&kp])
        .await
        .expect("the 1 s old update is allowed");
    h.chain.next_slot();
    let shares = h.balance(&attacker.lt).await;
    let ix = instant_with(&mut h, &attacker, RequestKind::RedeemLt, shares, &new);
    h.send(&[ix], &[&kp]).await.expect("redeem at the new price");
    let end = h.balance(&attacker.underlying).await;
    println!("instant round trip on a 0.1% move in 1 s: {} -> {end}", sol(10.0));
    assert!(end < sol(10.0), "the instant fee must exceed the edge: {end}");
}

#[tokio::test]
async fn instant_path_limits_slot_cap_confidence_and_the_switch() {
    let (mut h, lp, alice) = sol3x_instant().await;
    let market = h.market().await;
    assert_eq!(market.params.instant_slot_cap, sol(500.0));
    // The per-slot cap: units moved by instant operations in one slot.
    let whale = h.user(sol(700.0)).await;
    let kp = whale.kp.insecure_clone();
    h.set_price(100.0);
    let ix = h.deposit_ix(&whale, sol(400.0), 0);
    h.send(&[ix], &[&kp]).await.expect("400 of 500 in this slot");
    // In the same slot 101 more would pass the cap.
    let ix = h.deposit_ix(&whale, sol(101.0), 0);
    h.expect_error(
        std::slice::from_ref(&ix),
        &[&kp],
        LeverError::InstantSlotCapExceeded,
    )
    .await;
    h.chain.next_slot();
    h.send(&[ix], &[&kp]).await.expect("a new slot, a new cap");
    // The confidence cut-off: the instant path takes conf / price up to 1%, two-step up to 2%.
    h.set_price_conf(100.0, 0.015);
    let ix = h.mint_ix(&alice, sol(1.0), 0);
    h.expect_error(
        &[ix],
        &[&alice.kp.insecure_clone()],
        LeverError::PriceConfidenceTooWide,
    )
    .await;
    h.mint_lt(&alice, sol(1.0))
        .await
        .expect("two-step settles within max_conf");
    // The switch: from 5x up the instant path is off.
    let mut h5 = Harness::new(MarketOpts {
        params: deployed("SOL 5x"),
        ..MarketOpts::default()
    })
    .await;
    assert_eq!(h5.market().await.params.instant_max_age_secs, 0);
    let u = h5.user(sol(10.0)).await;
    let ix = h5.deposit_ix(&u, sol(1.0), 0);
    h5.expect_error(&[ix], &[&u.kp.insecure_clone()], LeverError::InstantPathDisabled)
        .await;
    h5.deposit(&u, sol(1.0))
        .await
        .expect("two-step works on the 5x market");
    let _ = lp;
}

fn mid(usd: f64) -> u128 {
    lever::math::price_band((usd * 1e8).round() as i64, 0, -8, 9, u64::MAX, 1_000_000)
        .expect("price")
        .mid
}

/// LT equity and funding value per share at `usd` (value units per raw share, rounded down).
async fn nav_per_share(h: &mut Harness, usd: f64) -> (i128, u128) {
    let pool = h.market().await.pool();
    let lt = pool
        .equity_rounded(mid(usd), lever::math::Rounding::Down)
        .expect("equity")
        / i128::from(pool.lt_supply);
    let ft = pool.funding_value(mid(usd)).expect("funding value") / u128::from(pool.ft_supply);
    (lt, ft)
}

/// Settlements are permissionless and the window lasts minutes, so a requester may wait, see the
/// price at a later target, and settle a request of its own with that later target first: the
/// books then move on (here a rebalance at the later price) before its earlier request settles.
/// `kind` is the late request's; `later_usd` the price at the later target.
async fn settle_out_of_order(kind: RequestKind, later_usd: f64) {
    let (mut h, lp, alice) = sol3x().await;
    let bob = h.user(sol(40.0)).await;
    h.mint_lt(&bob, sol(10.0)).await.expect("bob's LT");
    let t0 = h.chain.now();
    let amount = match kind {
        RequestKind::RedeemLt => h.balance(&bob.lt).await,
        _ => sol(10.0),
    };
    let (early, receipt1) = h.request(&bob, kind, amount, 0).await.expect("request");
    h.advance(5);
    let (later, receipt2) = h
        .request(&bob, RequestKind::MintLt, sol(0.01), 0)
        .await
        .expect("request");
    // The updates at both targets are published: $100 at the first, `later_usd` at the second.
    h.advance(20);
    let at_first = covering(&h, 100.0, t0, receipt1.tau);
    let at_later = covering(&h, later_usd, receipt1.tau, receipt2.tau);
    // In order, the early request would settle at $100 against the books as they are.
    h.write_price(&at_first);
    let r1 = h.request_state(&early).await;
    let vault = h.balance(&h.keys.vault.clone()).await;
    let in_order = lever_sdk::quote::settle(&h.market().await, &r1, &at_first, vault, h.chain.clock())
        .expect("quote")
        .fill()
        .expect("fills in order")
        .amounts()
        .1;
    // Out of order: the later request first (the books rebalance at the later price) ...
    h.write_price(&at_later);
    let payer = h.chain.payer_pubkey();
    let price_account = h.price_account;
    let ix = h.settle_ix(&payer, &later, &price_account).await;
    h.send(&[ix], &[]).await.expect("settle the later request");
    assert!(h.market().await.last_publish_time == receipt2.tau);
    let (lt_before, ft_before) = nav_per_share(&mut h, later_usd).await;
    // ... then the early one, at the $100 update.
    h.write_price(&at_first);
    let out = h.settle(&early).await.expect("settle the early request late");
    assert!(out.filled);
    assert!(
        out.amount_out <= in_order,
        "{kind:?} settled late paid {} against {in_order} in order",
        out.amount_out
    );
    // Nobody else paid for it: the other LT holders' NAV per share and the funding pool's value
    // at the books' price did not fall.
    let (lt_after, ft_after) = nav_per_share(&mut h, later_usd).await;
    assert!(
        lt_after >= lt_before,
        "LT NAV per share {lt_before} -> {lt_after}"
    );
    assert!(
        ft_after >= ft_before,
        "FT NAV per share {ft_before} -> {ft_after}"
    );
    let _ = (lp, alice);
    h.check().await;
}

#[tokio::test]
async fn attack_redeem_settled_after_a_later_drop_gains_nothing() {
    settle_out_of_order(RequestKind::RedeemLt, 96.0).await;
}

#[tokio::test]
async fn attack_mint_settled_after_a_later_rise_gains_nothing() {
    settle_out_of_order(RequestKind::MintLt, 104.0).await;
}
