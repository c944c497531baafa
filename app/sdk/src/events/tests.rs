use super::*;
use anchor_lang::prelude::Pubkey;
use anchor_lang::Event;
use lever::state::Market;
use lever::state::MarketParams;

fn pool() -> PoolSnapshot {
    PoolSnapshot {
        exposure: 30,
        debt: 2_000,
        idle: 80,
        fee_units: 1,
        lt_supply: 10,
        ft_supply: 100,
    }
}

fn minted() -> LtMinted {
    LtMinted {
        market: Pubkey::new_unique(),
        user: Pubkey::new_unique(),
        units_in: 10,
        fee_units: 1,
        shares_out: 9,
        from_idle: 18,
        debt_added: 1_800,
        price: 100,
        pool: pool(),
    }
}

fn ix_data(event: &impl Event) -> Vec<u8> {
    let mut data = anchor_lang::event::EVENT_IX_TAG_LE.to_vec();
    data.extend(event.data());
    data
}

#[test]
fn event_instructions_decode_and_anything_else_is_skipped() {
    let e = minted();
    let data = ix_data(&e);
    let Some(LeverEvent::LtMinted(got)) = decode_event_ix(&data) else {
        panic!("not decoded");
    };
    assert_eq!((got.market, got.user), (e.market, e.user));
    assert_eq!((got.units_in, got.shares_out, got.debt_added), (10, 9, 1_800));
    assert_eq!(got.pool, pool());

    // No tag, a truncated body, a trailing byte, an unknown discriminator, empty data.
    assert!(decode_event_ix(&data[8..]).is_none());
    assert!(decode_event_ix(&data[..data.len() - 1]).is_none());
    let mut long = data.clone();
    long.push(0);
    assert!(decode_event_ix(&long).is_none());
    let mut unknown = data.clone();
    unknown[8] ^= 0xff;
    assert!(decode_event_ix(&unknown).is_none());
    assert!(decode_event_ix(&[]).is_none());
    assert!(decode_event_ix(anchor_lang::event::EVENT_IX_TAG_LE).is_none());

    let other = Pubkey::new_unique();
    let reopened = MarketReopened {
        market: e.market,
        pool: pool(),
    };
    let events = events_in([
        (lever::ID, data.clone()),
        (other, data.clone()),
        (lever::ID, unknown),
        (lever::ID, ix_data(&reopened)),
    ]);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events.iter().map(LeverEvent::name).collect::<Vec<_>>(),
        ["LtMinted", "MarketReopened"]
    );
    assert_eq!(find::<MarketReopened>(&events).map(|r| r.market), Some(e.market));
    assert_eq!(filter::<LtMinted>(&events).count(), 1);
    assert!(find::<Rebalanced>(&events).is_none());
    assert!(events.iter().all(|ev| ev.market() == Some(e.market)));
}

#[test]
fn clone_eq_and_debug_go_through_the_bytes() {
    let a = LeverEvent::from(minted());
    let b = a.clone();
    assert_eq!(a, b);
    assert_eq!(a.data(), b.data());
    let LeverEvent::LtMinted(mut changed) = b else {
        panic!("clone changed the type")
    };
    changed.shares_out += 1;
    assert_ne!(a, LeverEvent::from(changed));
    let debug = format!("{a:?}");
    assert!(debug.starts_with("LtMinted(0x"), "{debug}");

    let started = LeverEvent::from(AdminTransferStarted {
        admin: Pubkey::new_unique(),
        pending_admin: Pubkey::new_unique(),
    });
    assert_eq!(started.name(), "AdminTransferStarted");
    assert_eq!(started.market(), None);
    assert_ne!(a, started);
}

#[test]
fn every_event_type_round_trips() {
    let market = Pubkey::new_unique();
    let key = Pubkey::new_unique();
    let bounds = lever::state::ConfigBounds::default();
    let mut zeroed: Market = bytemuck::Zeroable::zeroed();
    zeroed.params.target_leverage_ppm = 2_000_000;
    let params: MarketParams = zeroed.params();
    let events: Vec<LeverEvent> = vec![
        ConfigInitialized {
            admin: key,
            pause_authority: key,
            fee_receiver: key,
            bounds,
        }
        .into(),
        ConfigUpdated {
            pause_authority: key,
            fee_receiver: key,
            bounds,
        }
        .into(),
        AdminTransferStarted {
            admin: key,
            pending_admin: key,
        }
        .into(),
        AdminTransferAccepted {
            previous_admin: key,
            admin: key,
        }
        .into(),
        MarketCreated {
            market,
            underlying_mint: key,
            id: 7,
            feed_id: [3; 32],
            lt_mint: key,
            ft_mint: key,
            params,
            seed_units: 1_000,
            pool: pool(),
        }
        .into(),
        MarketParamsUpdated {
            market,
            before: params,
            after: params,
            pool: pool(),
        }
        .into(),
        MarketPauseChanged {
            market,
            by: key,
            paused_before: 0,
            paused_after: 1,
        }
        .into(),
        MarketReopened { market, pool: pool() }.into(),
        LtEpochStarted {
            market,
            epoch: 1,
            retired_lt_mint: key,
            retired_supply: 7,
            lt_mint: market,
            pool: pool(),
        }
        .into(),
        LtRebased {
            market,
            epoch: 2,
            ratio: 1_000_000,
            retired_lt_mint: key,
            retired_supply: 9,
            lt_mint: market,
            pool: pool(),
        }
        .into(),
        RetiredLtConverted {
            market,
            owner: key,
            retired_lt_mint: key,
            retired_in: 10,
            lt_out: 1,
            pool: pool(),
        }
        .into(),
        FeesWithdrawn {
            market,
            destination: key,
            units: 5,
            pool: pool(),
        }
        .into(),
        FundingAccrued {
            market,
            interest: 1,
            rate_ppm: 2,
            utilization_ppm: 3,
            elapsed: 4,
            price: 5,
            pool: pool(),
        }
        .into(),
        Rebalanced {
            market,
            caller: key,
            automatic: true,
            price: 1,
            leverage_before_ppm: 2,
            leverage_after_ppm: 3,
            units_to_pool: 4,
            units_to_idle: 5,
            bounded: false,
            wiped: true,
            bad_debt: 6,
            pool: pool(),
        }
        .into(),
        minted().into(),
        LtRedeemed {
            market,
            user: key,
            shares_in: 1,
            units_out: 2,
            fee_units: 3,
            to_idle: 4,
            debt_removed: 5,
            price: 6,
            pool: pool(),
        }
        .into(),
        FundingDeposited {
            market,
            user: key,
            units_in: 1,
            fee_units: 2,
            shares_out: 3,
            price: 4,
            pool: pool(),
        }
        .into(),
        FundingWithdrawn {
            market,
            user: key,
            shares_in: 1,
            units_out: 2,
            fee_units: 3,
            price: 4,
            pool: pool(),
        }
        .into(),
        RequestOpened {
            market,
            request: key,
            owner: key,
            payer: key,
            kind: lever::state::RequestKind::MintLt,
            amount: 11,
            min_out: 10,
            destination: key,
            requested_at: 100,
            tau: 110,
            expires_at: 700,
            tip_lamports: 5_000,
        }
        .into(),
        RequestSettled {
            market,
            request: key,
            owner: key,
            settler: market,
            kind: lever::state::RequestKind::RedeemLt,
            filled: true,
            refund_code: 0,
            amount_in: 11,
            amount_out: 12,
            fee_units: 1,
            price: 150_000_000_000_000_000_000_000_000,
            publish_time: 110,
            tau: 110,
            tip_lamports: 5_000,
        }
        .into(),
        RequestCancelled {
            market,
            request: key,
            owner: key,
            canceller: market,
            kind: lever::state::RequestKind::WithdrawFunding,
            amount_refunded: 11,
            tip_lamports: 5_000,
        }
        .into(),
        ShareMetadataUpdated {
            market,
            mint: key,
            share: lever::state::ShareKind::Ft,
            name: "SOL 4x Funding".into(),
            symbol: "fSOL4X".into(),
            uri: String::new(),
        }
        .into(),
    ];
    let mut names: Vec<&str> = events.iter().map(LeverEvent::name).collect();
    names.sort_unstable();
    names.dedup();
    // One variant per event of the IDL: an event added to the program and not here fails.
    let idl: serde_json::Value =
        serde_json::from_str(include_str!("../../../../idls/lever.json")).expect("the IDL");
    let mut in_idl: Vec<&str> = idl["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    in_idl.sort_unstable();
    assert_eq!(names, in_idl);
    let inner = events.iter().map(|e| {
        let mut data = anchor_lang::event::EVENT_IX_TAG_LE.to_vec();
        data.extend(e.data());
        (lever::ID, data)
    });
    assert_eq!(events_in(inner), events);
}
