//! Two-step requests against the real program: request, settle at the one update covering `tau`
//! (exactly as the SDK quotes it), refund, cancel, the updates that are refused, many settlements
//! in one transaction, racing settlers, an oracle outage. The harness checks the books, the vault
//! and every open escrow after each step.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use lever::error::LeverError;
use lever::instructions::{SettleOutcome, Settled};
use lever::state::{Request, RequestKind};
use lever_sdk::pyth::PriceInput;
use lever_sdk::quote;
use lever_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

const KINDS: [RequestKind; 4] = [
    RequestKind::MintLt,
    RequestKind::RedeemLt,
    RequestKind::DepositFunding,
    RequestKind::WithdrawFunding,
];

/// An update of the harness's feed at `usd` (zero confidence) covering `(prev, publish]`.
pub fn covering(h: &Harness, usd: f64, prev: i64, publish: i64) -> PriceInput {
    PriceInput {
        publish_time: publish,
        ..h.price_input(usd)
    }
    .after(prev)
}

/// The user of a request of `kind` in [`levered`]: the LP for funding, Alice for LT.
fn who<'a>(kind: RequestKind, lp: &'a User, alice: &'a User) -> &'a User {
    match kind {
        RequestKind::MintLt | RequestKind::RedeemLt => alice,
        RequestKind::DepositFunding | RequestKind::WithdrawFunding => lp,
    }
}

/// Lamports a settler or canceller holds (it only signs: the chain's payer pays the fees).
async fn lamports(h: &mut Harness, key: &Pubkey) -> u64 {
    h.chain.lamports(key).await.expect("lamports")
}

/// Settle `request` by `settler` at `input` (written to the price account first) and require the
/// outcome, the market after it and the token moves to be exactly what `quote::settle` said.
pub(crate) async fn settle_as_quoted(
    h: &mut Harness,
    settler: &Keypair,
    request: Pubkey,
    input: &PriceInput,
) -> SettleOutcome {
    h.write_price(input);
    let r: Request = h.request_state(&request).await;
    let market = h.market().await;
    let vault = h.balance(&h.keys.vault.clone()).await;
    let q = quote::settle(&market, &r, input, vault, h.chain.clock()).expect("the quote settles");
    let (dest_before, source_before) = (h.balance(&r.destination).await, h.balance(&r.source).await);
    let settler_before = lamports(h, &settler.pubkey()).await;
    let payer_before = lamports(h, &r.payer).await;
    let held = lamports(h, &request).await + lamports(h, &r.escrow).await;
    let ix = h
        .settle_ix(&settler.pubkey(), &request, &h.price_account.clone())
        .await;
    let landed = h.send(&[ix], &[settler]).await.expect("settle_request");
    let out: SettleOutcome = decode(&landed);
    assert_eq!(
        bytemuck::bytes_of(&h.market().await),
        bytemuck::bytes_of(&q.market),
        "the books after the settlement are the quote's"
    );
    match q.settled {
        Settled::Filled(fill) => {
            let (amount_in, amount_out, fee_units, price) = fill.amounts();
            assert!(out.filled);
            assert_eq!(
                (out.amount_in, out.amount_out, out.fee_units, out.price),
                (amount_in, amount_out, fee_units, price)
            );
            assert_eq!(out.publish_time, input.publish_time);
            assert_eq!(h.balance(&r.destination).await, dest_before + amount_out);
            assert_eq!(
                h.balance(&r.source).await,
                source_before,
                "nothing left in escrow"
            );
        }
        Settled::Refunded { code, .. } => {
            assert!(!out.filled);
            assert_eq!(out.refund_code, code);
            assert_eq!((out.amount_in, out.amount_out), (0, 0));
            assert_eq!(h.balance(&r.destination).await, dest_before);
            assert_eq!(h.balance(&r.source).await, source_before + r.amount, "refunded");
        }
    }
    // The settler earns the tip; the owner gets back the rent of the request and its escrow.
    assert_eq!(
        lamports(h, &settler.pubkey()).await,
        settler_before + r.tip_lamports
    );
    assert_eq!(lamports(h, &r.payer).await, payer_before + held - r.tip_lamports);
    assert!(
        h.chain.account(&request).await.unwrap().is_none(),
        "request closed"
    );
    assert!(
        h.chain.account(&r.escrow).await.unwrap().is_none(),
        "escrow closed"
    );
    out
}

/// A keeper with lamports of its own.
pub(crate) async fn keeper(h: &mut Harness) -> Keypair {
    let k = Keypair::new();
    h.chain.airdrop(&k.pubkey(), 1_000_000_000).await.unwrap();
    k
}

#[tokio::test]
async fn request_escrows_the_input_and_changes_no_books() {
    let (mut h, lp, alice) = levered().await;
    for kind in KINDS {
        let u = who(kind, &lp, &alice);
        let accounts = h.request_accounts(u, kind);
        let source_before = h.balance(&accounts.source).await;
        let now = h.chain.now();
        // The harness compares the market and the vault around the request.
        let (address, receipt) = h.request(u, kind, sol(1.0), 7).await.expect("request");
        let r = h.request_state(&address).await;
        assert_eq!(
            address,
            lever_sdk::pda::request(&h.keys.market, &u.pubkey(), r.nonce)
        );
        assert_eq!(r.escrow, lever_sdk::pda::escrow(&address));
        assert_eq!(
            (r.owner, r.kind, r.amount, r.min_out, r.source, r.destination),
            (
                u.pubkey(),
                kind,
                sol(1.0),
                7,
                accounts.source,
                accounts.destination
            )
        );
        assert_eq!(
            (r.requested_at, r.tau, r.expires_at),
            (now, now + 10, now + 10 + 120)
        );
        assert_eq!((receipt.tau, receipt.expires_at), (r.tau, r.expires_at));
        assert_eq!(r.tip_lamports, 5_000);
        assert_eq!(h.balance(&r.escrow).await, sol(1.0), "the input waits in escrow");
        assert_eq!(h.balance(&accounts.source).await, source_before - sol(1.0));
        let rent = h
            .chain
            .rent(8 + <Request as anchor_lang::Space>::INIT_SPACE)
            .await
            .unwrap();
        assert_eq!(
            lamports(&mut h, &address).await,
            rent + 5_000,
            "rent + the prepaid tip"
        );
    }
}

#[tokio::test]
async fn request_refusals_change_nothing() {
    let (mut h, lp, alice) = levered().await;
    let kind = RequestKind::MintLt;
    let ix_with = |h: &mut Harness, amount: u64, tip: u64| {
        h.next_nonce += 1;
        let args = lever::state::RequestArgs {
            nonce: h.next_nonce,
            amount,
            min_out: 0,
            tip_lamports: tip,
        };
        lever_sdk::ix::open_request(&h.keys, kind, &h.request_accounts(&alice, kind), args)
    };
    let kp = alice.kp.insecure_clone();
    let ix = ix_with(&mut h, 0, 5_000);
    h.expect_error(&[ix], &[&kp], LeverError::ZeroAmount).await;
    let ix = ix_with(&mut h, sol(1.0), 4_999);
    h.expect_error(&[ix], &[&kp], LeverError::SettleTipTooSmall).await;
    // A mint request naming a redemption's accounts (LT in, underlying out) is refused.
    h.next_nonce += 1;
    let args = lever::state::RequestArgs {
        nonce: h.next_nonce,
        amount: sol(1.0),
        min_out: 0,
        tip_lamports: 5_000,
    };
    let mint = lever_sdk::ix::open_request(&h.keys, kind, &h.request_accounts(&alice, kind), args);
    let redeem = RequestKind::RedeemLt;
    let mut wrong = lever_sdk::ix::open_request(&h.keys, redeem, &h.request_accounts(&alice, redeem), args);
    wrong.data = mint.data;
    h.expect_error(&[wrong], &[&kp], LeverError::RequestMintMismatch)
        .await;
    // More than the owner holds: the token program refuses, nothing moves.
    let held = h.balance(&lp.underlying).await;
    h.next_nonce += 1;
    let ix = lever_sdk::ix::open_request(
        &h.keys,
        RequestKind::DepositFunding,
        &h.request_accounts(&lp, RequestKind::DepositFunding),
        lever::state::RequestArgs {
            nonce: h.next_nonce,
            amount: held + 1,
            min_out: 0,
            tip_lamports: 5_000,
        },
    );
    h.expect_failure(&[ix], &[&lp.kp.insecure_clone()]).await;
    // The same nonce twice: the request account exists.
    let (_, _) = h.request(&alice, kind, sol(1.0), 0).await.expect("first");
    let again = lever_sdk::ix::open_request(
        &h.keys,
        kind,
        &h.request_accounts(&alice, kind),
        lever::state::RequestArgs {
            nonce: h.next_nonce,
            amount: sol(1.0),
            min_out: 0,
            tip_lamports: 5_000,
        },
    );
    h.expect_failure(&[again], &[&kp]).await;
}

#[tokio::test]
async fn settle_fills_each_kind_exactly_as_quoted() {
    let (mut h, lp, alice) = levered().await;
    let k = keeper(&mut h).await;
    for (i, kind) in KINDS.into_iter().enumerate() {
        let u = who(kind, &lp, &alice);
        let (request, receipt) = h.request(u, kind, sol(1.0), 1).await.expect("request");
        // The price moves (in band) while the request waits; the update at tau decides.
        h.advance(12);
        let usd = 100.0 + 0.25 * (i as f64 + 1.0);
        let input = covering(&h, usd, receipt.tau - 1, receipt.tau + 1);
        let out = settle_as_quoted(&mut h, &k, request, &input).await;
        assert!(out.filled, "{kind:?}");
        assert!(out.amount_out > sol(0.9), "{kind:?}: {out:?}");
    }
}

#[tokio::test]
async fn settle_refunds_below_min_out_and_still_pays_the_settler() {
    let (mut h, lp, alice) = levered().await;
    let k = keeper(&mut h).await;
    for kind in KINDS {
        let u = who(kind, &lp, &alice);
        // What the request will get at tau, from the SDK before it is opened.
        let now = h.chain.now();
        let tau = now + 10;
        let accounts = h.request_accounts(u, kind);
        let planned = Request {
            market: h.keys.market,
            owner: u.pubkey(),
            payer: u.pubkey(),
            kind,
            nonce: 0,
            amount: sol(1.0),
            min_out: 0,
            escrow: Pubkey::default(),
            source: accounts.source,
            destination: accounts.destination,
            requested_at: now,
            requested_slot: 0,
            tau,
            expires_at: tau + 120,
            tip_lamports: 5_000,
            bump: 0,
        };
        let input = covering(&h, 100.5, tau - 1, tau);
        let market = h.market().await;
        let vault = h.balance(&h.keys.vault.clone()).await;
        let at_tau = lever::oracle::Now {
            unix_timestamp: tau,
            slot: h.chain.clock().slot,
        };
        let q = quote::settle(&market, &planned, &input, vault, at_tau).expect("quote");
        let expected = q.fill().expect("fills").amounts().1;
        // One unit more than that is refunded; exactly that fills.
        let (above, _) = h.request(u, kind, sol(1.0), expected + 1).await.expect("request");
        let (exact, _) = h.request(u, kind, sol(1.0), expected).await.expect("request");
        h.chain.set_time(tau);
        let out = settle_as_quoted(&mut h, &k, above, &input).await;
        assert!(!out.filled, "{kind:?}");
        assert_eq!(
            out.refund_code,
            u32::from(LeverError::SlippageExceeded),
            "{kind:?}"
        );
        let out = settle_as_quoted(&mut h, &k, exact, &input).await;
        assert!(out.filled, "{kind:?}");
        assert_eq!(
            out.amount_out, expected,
            "{kind:?}: the SDK's prediction, to the unit"
        );
    }
}

#[tokio::test]
async fn settle_refunds_what_the_books_refuse_at_the_forced_price() {
    // A mint over the exposure cap, and one on a market the forced price wipes, are refunded
    // with the books' own error: the price was nobody's choice, so no retry could change it.
    let (mut h, _lp, alice) = levered().await;
    let k = keeper(&mut h).await;
    let cap = lever::state::UpdateMarketParams {
        exposure_cap: Some(sol(31.0)),
        ..Default::default()
    };
    let ix = h.update_ix(cap);
    h.admin_send(&[ix]).await.expect("cap");
    let (request, receipt) = h.request(&alice, RequestKind::MintLt, sol(1.0), 0).await.unwrap();
    h.advance(10);
    let input = covering(&h, 100.0, receipt.tau - 1, receipt.tau);
    let out = settle_as_quoted(&mut h, &k, request, &input).await;
    assert_eq!(out.refund_code, u32::from(LeverError::ExposureCapExceeded));

    // A mint requested just before a gap that wipes the pool is refunded with `MarketWiped`, and
    // the refund still records the gap (the books see the forced price).
    let (request, receipt) = h.request(&alice, RequestKind::MintLt, sol(1.0), 0).await.unwrap();
    h.advance(10);
    let input = covering(&h, 60.0, receipt.tau - 1, receipt.tau);
    let out = settle_as_quoted(&mut h, &k, request, &input).await;
    assert_eq!(out.refund_code, u32::from(LeverError::MarketWiped), "{out:?}");
    assert!(
        h.market().await.is_wiped(),
        "the refund's refresh saw the gap and wiped the pool"
    );
}

#[tokio::test]
async fn only_the_update_covering_tau_settles_a_request() {
    let (mut h, _lp, alice) = levered().await;
    let (request, receipt) = h.request(&alice, RequestKind::MintLt, sol(1.0), 0).await.unwrap();
    let tau = receipt.tau;
    h.advance(20);
    let payer = h.chain.payer_pubkey();
    let price = h.price_account;
    for (what, input, error) in [
        (
            "older: published before tau",
            covering(&h, 100.0, tau - 2, tau - 1),
            LeverError::PriceUpdateNotForTarget,
        ),
        (
            "newer: the one after the covering update",
            covering(&h, 100.0, tau, tau + 1),
            LeverError::PriceUpdateNotForTarget,
        ),
        (
            "much newer",
            covering(&h, 100.0, tau + 5, tau + 9),
            LeverError::PriceUpdateNotForTarget,
        ),
        (
            "prev == publish == tau",
            covering(&h, 100.0, tau, tau),
            LeverError::PriceUpdateNotUnique,
        ),
        (
            "prev == publish, after tau",
            covering(&h, 100.0, tau + 1, tau + 1),
            LeverError::PriceUpdateNotUnique,
        ),
    ] {
        h.write_price(&input);
        let ix = h.settle_ix(&payer, &request, &price).await;
        let before = h.snapshot().await;
        let fail = h.send(&[ix], &[]).await.expect_err(what);
        assert_eq!(fail.custom_code(), Some(u32::from(error)), "{what}: {fail}");
        assert_eq!(before, h.snapshot().await, "{what}: nothing changed");
    }
    // Exactly at tau (publish_time == tau) and from just before it: the one update.
    let k = keeper(&mut h).await;
    let input = covering(&h, 100.0, tau - 1, tau);
    assert!(settle_as_quoted(&mut h, &k, request, &input).await.filled);
}

#[tokio::test]
async fn real_update_repeating_its_publish_time_settles_nothing() {
    // The real mainnet account repeats its predecessor's publish time (prev == publish): whatever
    // the target, it is not the unique update, so a settler cannot use it.
    let (address, account) = mainnet_sol_usd_account();
    let update = lever_sdk::pyth::decode_price_update(&account.data).unwrap();
    let publish = update.price_message.publish_time;
    let mut h = Harness::new(MarketOpts::default()).await;
    h.chain.set_time(publish - 10);
    h.set_price(215.0);
    let lp = h.user(sol(10.0)).await;
    let (request, receipt) = h
        .request(&lp, RequestKind::DepositFunding, sol(1.0), 0)
        .await
        .unwrap();
    assert_eq!(receipt.tau, publish);
    h.chain.set_account(&address, account);
    h.chain.set_time(publish + 1);
    let payer = h.chain.payer_pubkey();
    let ix = h.settle_ix(&payer, &request, &address).await;
    h.expect_error(&[ix], &[], LeverError::PriceUpdateNotUnique).await;
}

#[tokio::test]
async fn many_requests_settle_in_one_transaction_in_tau_order() {
    let (mut h, lp, alice) = levered().await;
    let bob = h.user(sol(5.0)).await;
    let mut opened = Vec::new();
    for (u, kind) in [
        (&alice, RequestKind::MintLt),
        (&lp, RequestKind::DepositFunding),
        (&bob, RequestKind::MintLt),
        (&alice, RequestKind::RedeemLt),
    ] {
        let (request, receipt) = h.request(u, kind, sol(1.0), 0).await.unwrap();
        opened.push((request, receipt.tau));
        h.advance(1);
    }
    h.advance(15);
    // One update per target, each its own Pyth account, chained as the feed publishes them.
    let k = keeper(&mut h).await;
    let mut ixs = Vec::new();
    let mut inputs = Vec::new();
    for (i, (_, tau)) in opened.iter().enumerate() {
        let account = Pubkey::new_unique();
        let input = covering(&h, 100.0 + 0.1 * i as f64, tau - 1, *tau);
        h.chain.write_price(&account, &input);
        inputs.push((account, input));
    }
    let mut market = h.market().await;
    let mut vault = h.balance(&h.keys.vault.clone()).await;
    let now = h.chain.clock();
    let mut expected = Vec::new();
    for ((request, _), (account, input)) in opened.iter().zip(&inputs) {
        let r = h.request_state(request).await;
        let q = quote::settle(&market, &r, input, vault, now).expect("quote");
        let fill = *q.fill().expect("fills");
        let (amount_in, amount_out, _, _) = fill.amounts();
        vault = match r.kind {
            RequestKind::MintLt | RequestKind::DepositFunding => vault + amount_in,
            _ => vault - amount_out,
        };
        market = q.market;
        expected.push(amount_out);
        ixs.push(h.settle_ix(&k.pubkey(), request, account).await);
    }
    let before = lamports(&mut h, &k.pubkey()).await;
    h.send(&ixs, &[&k])
        .await
        .expect("four settlements in one transaction");
    assert_eq!(lamports(&mut h, &k.pubkey()).await, before + 4 * 5_000);
    assert_eq!(bytemuck::bytes_of(&h.market().await), bytemuck::bytes_of(&market));
    for (request, _) in &opened {
        assert!(h.chain.account(request).await.unwrap().is_none());
    }
    assert!(expected.iter().all(|&out| out > 0));
}

#[tokio::test]
async fn two_settlers_race_and_the_second_changes_nothing() {
    let (mut h, _lp, alice) = levered().await;
    let (request, receipt) = h.request(&alice, RequestKind::MintLt, sol(1.0), 0).await.unwrap();
    h.advance(11);
    let input = covering(&h, 100.0, receipt.tau - 1, receipt.tau + 1);
    h.write_price(&input);
    let (k1, k2) = (keeper(&mut h).await, keeper(&mut h).await);
    let price = h.price_account;
    let first = h.settle_ix(&k1.pubkey(), &request, &price).await;
    let second = h.settle_ix(&k2.pubkey(), &request, &price).await;
    // Both in one transaction: the second finds the request closed and the whole transaction
    // reverts.
    let fail = h
        .expect_failure(&[first.clone(), second.clone()], &[&k1, &k2])
        .await;
    assert_eq!(
        fail.custom_code(),
        Some(AnchorError::AccountNotInitialized as u32),
        "{fail}"
    );
    // One after the other: the first settles and is paid, the second is refused.
    let k2_before = lamports(&mut h, &k2.pubkey()).await;
    h.send(&[first], &[&k1]).await.expect("first settler");
    h.expect_anchor_error(&[second], &[&k2], AnchorError::AccountNotInitialized)
        .await;
    assert_eq!(lamports(&mut h, &k2.pubkey()).await, k2_before);
}

#[tokio::test]
async fn cancel_only_after_expiry_returns_the_escrow_and_pays_the_canceller() {
    let (mut h, lp, alice) = levered().await;
    for kind in KINDS {
        let u = who(kind, &lp, &alice);
        let source = h.request_accounts(u, kind).source;
        let before = h.balance(&source).await;
        let (request, receipt) = h.request(u, kind, sol(1.0), 0).await.unwrap();
        let r = h.request_state(&request).await;
        let c = keeper(&mut h).await;
        let cancel = lever_sdk::ix::cancel_request(c.pubkey(), &h.keys, request, &r);
        // Nobody may cancel before expiry, the owner included: it would be a free option.
        h.expect_error(
            std::slice::from_ref(&cancel),
            &[&c],
            LeverError::RequestNotExpired,
        )
        .await;
        let owner_cancel = lever_sdk::ix::cancel_request(u.pubkey(), &h.keys, request, &r);
        h.expect_error(
            &[owner_cancel],
            &[&u.kp.insecure_clone()],
            LeverError::RequestNotExpired,
        )
        .await;
        h.chain.set_time(receipt.expires_at);
        h.expect_error(
            std::slice::from_ref(&cancel),
            &[&c],
            LeverError::RequestNotExpired,
        )
        .await;
        // After expiry, a settlement is refused even with the covering update.
        h.chain.set_time(receipt.expires_at + 1);
        h.write_price(&covering(&h, 100.0, receipt.tau - 1, receipt.tau));
        let payer = h.chain.payer_pubkey();
        let price = h.price_account;
        let settle = h.settle_ix(&payer, &request, &price).await;
        h.expect_error(&[settle], &[], LeverError::RequestExpired).await;
        let c_before = lamports(&mut h, &c.pubkey()).await;
        let landed = h.send(&[cancel], &[&c]).await.expect("cancel");
        let out: lever::instructions::CancelOutcome = decode(&landed);
        assert_eq!((out.amount_refunded, out.tip_lamports), (sol(1.0), 5_000));
        assert_eq!(h.balance(&source).await, before, "{kind:?}: escrow returned");
        assert_eq!(lamports(&mut h, &c.pubkey()).await, c_before + 5_000);
        assert!(h.chain.account(&request).await.unwrap().is_none());
        h.set_price(100.0);
    }
}

#[tokio::test]
async fn exit_requested_in_an_outage_settles_at_the_first_update_after_it() {
    // The oracle stops for two minutes. Instant exits are refused (no old price to pick); a
    // redemption requested during the outage waits and settles at the first update after its
    // target, whatever that price is, and does not rebalance at a price older than the books'.
    let (mut h, _lp, alice) = levered().await;
    let last = h.chain.now();
    h.advance(120);
    let kp = alice.kp.insecure_clone();
    h.expect_error(
        &[h.redeem_ix(&alice, sol(1.0), 0)],
        &[&kp],
        LeverError::PriceTooOld,
    )
    .await;
    let (request, receipt) = h
        .request(&alice, RequestKind::RedeemLt, sol(2.0), 0)
        .await
        .unwrap();
    // The old update does not cover the target.
    let payer = h.chain.payer_pubkey();
    let price = h.price_account;
    let ix = h.settle_ix(&payer, &request, &price).await;
    h.expect_error(&[ix], &[], LeverError::PriceUpdateNotForTarget)
        .await;
    // The oracle comes back 25 s later: its first update chains to the last one before the outage
    // and covers the target.
    h.advance(25);
    let input = covering(&h, 98.0, last, receipt.tau + 15);
    let k = keeper(&mut h).await;
    let out = settle_as_quoted(&mut h, &k, request, &input).await;
    assert!(out.filled);
    assert_eq!(h.market().await.last_publish_time, receipt.tau + 15);
}

#[tokio::test]
async fn another_payer_funds_the_request_and_gets_its_rent_back() {
    // A composing program's PDA can own a request (sign for its input) while its user pays: the
    // payer funds rent and tip and gets the rent back; the owner's tokens move, not its lamports.
    let (mut h, _lp, alice) = levered().await;
    let payer = keeper(&mut h).await;
    let owner_lamports = lamports(&mut h, &alice.pubkey()).await;
    let payer_before = lamports(&mut h, &payer.pubkey()).await;
    h.next_nonce += 1;
    let accounts = lever_sdk::ix::RequestAccounts {
        payer: payer.pubkey(),
        ..h.request_accounts(&alice, RequestKind::MintLt)
    };
    let args = lever::state::RequestArgs {
        nonce: h.next_nonce,
        amount: sol(1.0),
        min_out: 0,
        tip_lamports: 5_000,
    };
    let ix = lever_sdk::ix::open_request(&h.keys, RequestKind::MintLt, &accounts, args);
    let landed = h.send(&[ix], &[&payer, &alice.kp]).await.expect("request");
    let receipt: lever::instructions::RequestReceipt = decode(&landed);
    h.requests.push(receipt.request);
    let r = h.request_state(&receipt.request).await;
    assert_eq!((r.owner, r.payer), (alice.pubkey(), payer.pubkey()));
    assert_eq!(
        lamports(&mut h, &alice.pubkey()).await,
        owner_lamports,
        "the owner paid nothing"
    );
    h.advance(10);
    let k = keeper(&mut h).await;
    let input = covering(&h, 100.0, r.tau - 1, r.tau);
    let out = settle_as_quoted(&mut h, &k, receipt.request, &input).await;
    assert!(out.filled);
    assert_eq!(
        lamports(&mut h, &payer.pubkey()).await,
        payer_before - 5_000,
        "the payer got the rents back and paid the tip"
    );
}
