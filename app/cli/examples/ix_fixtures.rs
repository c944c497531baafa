//! Every instruction of the program as the SDK builds it (`lever_sdk::ix`), with fixed keys and
//! arguments, written as JSON for the TypeScript client's byte-equality test
//! (`app/client-ts/test/fixtures.test.js` runs `cargo run -q -p lever-cli --example ix_fixtures
//! -- OUT`; the file is not committed).
//!
//! Keys are `[n; 32]` for a small `n` (the TypeScript side builds the same ones); PDAs are derived.

use anchor_lang::prelude::Pubkey;
use lever::instructions::{
    CreateMarketArgs, InitializeConfigArgs, StartLtEpochArgs, UpdateConfigArgs, UpdateShareMetadataArgs,
};
use lever::state::{
    ConfigBounds, MarketParams, Request, RequestArgs, RequestKind, ShareKind, UpdateMarketParams,
};
use lever_sdk::ix;
use lever_sdk::pda::{self, MarketKeys};
use serde_json::{json, Map, Value};
use solana_instruction::Instruction;

const SPL_TOKEN: Pubkey = anchor_lang::pubkey!("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");

fn key(n: u8) -> Pubkey {
    Pubkey::new_from_array([n; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn dump(ix: &Instruction) -> Value {
    json!({
        "programId": ix.program_id.to_string(),
        "accounts": ix.accounts.iter().map(|m| json!({
            "pubkey": m.pubkey.to_string(),
            "isSigner": m.is_signer,
            "isWritable": m.is_writable,
        })).collect::<Vec<_>>(),
        "data": hex(&ix.data),
    })
}

fn bounds(scale: u64) -> ConfigBounds {
    ConfigBounds {
        min_leverage_ppm: 2_000_000,
        max_leverage_ppm: 10_000_000,
        max_fee_ppm: 50_000 / scale,
        max_price_age_secs: 86_400 / scale,
        max_conf_ppm: 100_000 / scale,
        min_seed_units: 1_000 * scale,
    }
}

fn params() -> MarketParams {
    MarketParams {
        target_leverage_ppm: 3_000_000,
        band_ppm: 50_000,
        mint_fee_ppm: 3_000,
        redeem_fee_ppm: 2_000,
        deposit_fee_ppm: 1_000,
        withdraw_fee_ppm: 1_001,
        max_price_age_secs: 60,
        max_conf_ppm: 20_000,
        conf_multiplier_ppm: 1_500_000,
        exposure_cap: u64::MAX,
        max_utilization_ppm: 900_000,
        base_rate_ppm: 20_000,
        kink_ppm: 800_000,
        slope1_ppm: 100_000,
        slope2_ppm: 3_000_000,
        settle_delay_secs: 10,
        settle_window_secs: 600,
        min_settle_tip_lamports: 5_000,
        instant_max_age_secs: 5,
        instant_fee_ppm: 3_000,
        instant_max_conf_ppm: 10_000,
        instant_slot_cap: 123_456_789_012,
    }
}

/// A recorded request of `kind` (what settle and cancel read from the account).
fn request(keys: &MarketKeys, kind: RequestKind, nonce: u64) -> (Pubkey, Request) {
    let owner = key(20);
    let address = pda::request(&keys.market, &owner, nonce);
    let r = Request {
        market: keys.market,
        owner,
        payer: key(24),
        kind,
        nonce,
        amount: 1_000,
        min_out: 900,
        escrow: pda::escrow(&address),
        source: key(21),
        destination: key(22),
        requested_at: 1_700_000_000,
        requested_slot: 42,
        tau: 1_700_000_010,
        expires_at: 1_700_000_610,
        tip_lamports: 5_000,
        bump: 255,
    };
    (address, r)
}

fn main() -> std::io::Result<()> {
    let admin = key(10);
    let keys = MarketKeys::derive(key(1), 7, SPL_TOKEN);
    // A market in LT epoch 2 whose underlying is a Token-2022 mint: its LT mint is no PDA of epoch 0.
    let later = MarketKeys {
        lt_mint: pda::lt_mint_at(&keys.market, 2),
        ..MarketKeys::derive(key(2), 0x0102_0304, anchor_spl::token_2022::ID)
    };
    let user = ix::UserAccounts {
        user: key(20),
        user_underlying: key(21),
        user_shares: key(22),
        price_update: key(30),
    };
    let owned = ix::RequestAccounts {
        payer: key(24),
        owner: key(20),
        source: key(21),
        destination: key(22),
    };
    let request_args = |nonce| RequestArgs {
        nonce,
        amount: 1_500_000_000,
        min_out: 1_400_000_000,
        tip_lamports: 5_000,
    };
    let (settled, settled_r) = request(&keys, RequestKind::MintLt, 3);
    let (cancelled, cancelled_r) = request(&later, RequestKind::RedeemLt, u64::MAX);
    let (cancelled_w, cancelled_w_r) = request(&keys, RequestKind::WithdrawFunding, 9);

    let cases: Vec<(&str, Instruction)> = vec![
        (
            "initialize_config",
            ix::initialize_config(
                admin,
                InitializeConfigArgs {
                    pause_authority: key(11),
                    fee_receiver: key(12),
                    bounds: bounds(1),
                },
            ),
        ),
        (
            "update_config",
            ix::update_config(
                admin,
                UpdateConfigArgs {
                    pause_authority: Some(key(13)),
                    fee_receiver: None,
                    bounds: Some(bounds(2)),
                },
            ),
        ),
        (
            "update_config_empty",
            ix::update_config(admin, UpdateConfigArgs::default()),
        ),
        ("transfer_admin", ix::transfer_admin(admin, key(14))),
        ("accept_admin", ix::accept_admin(key(14))),
        (
            "create_market",
            ix::create_market(
                admin,
                &keys,
                key(15),
                CreateMarketArgs {
                    id: 7,
                    feed_id: [0xab; 32],
                    params: params(),
                    seed_units: 1_000_000,
                    lt_name: "SOL 3x Long".into(),
                    lt_symbol: "SOL3X".into(),
                    ft_name: "SOL 3x Funding".into(),
                    ft_symbol: "SOL3XF".into(),
                    uri: "https://lever.example/sol3x.json".into(),
                    allow_freeze_authority: true,
                },
            ),
        ),
        (
            "update_market",
            ix::update_market(
                admin,
                keys.market,
                UpdateMarketParams {
                    band_ppm: Some(30_000),
                    exposure_cap: Some(0),
                    instant_slot_cap: Some(u64::MAX),
                    ..UpdateMarketParams::default()
                },
            ),
        ),
        ("set_pause", ix::set_pause(key(11), keys.market, 0b0000_0101)),
        ("reopen_market", ix::reopen_market(admin, &later)),
        (
            "start_lt_epoch",
            ix::start_lt_epoch(
                admin,
                &later,
                StartLtEpochArgs {
                    epoch: 3,
                    name: "SOL 3x Long (3)".into(),
                    symbol: "SOL3X3".into(),
                    uri: "".into(),
                },
            ),
        ),
        (
            "rebase_lt",
            ix::rebase_lt(
                admin,
                &later,
                lever::instructions::RebaseLtArgs {
                    epoch: 4,
                    ratio: 1_000_000,
                    name: "SOL 3x Long (4)".into(),
                    symbol: "SOL3X4".into(),
                    uri: "https://lever.example/sol3x.json".into(),
                },
            ),
        ),
        (
            "update_share_metadata",
            ix::update_share_metadata(
                admin,
                &later,
                UpdateShareMetadataArgs {
                    share: ShareKind::Lt,
                    name: Some("SOL 4x Long".into()),
                    symbol: None,
                    uri: Some("https://lever.example/sol4x.json".into()),
                },
            ),
        ),
        (
            "update_share_metadata_ft",
            ix::update_share_metadata(
                admin,
                &keys,
                UpdateShareMetadataArgs {
                    share: ShareKind::Ft,
                    name: None,
                    symbol: Some("fSOL4X".into()),
                    uri: Some(String::new()),
                },
            ),
        ),
        (
            "convert_retired_lt",
            ix::convert_retired_lt(key(12), &later, key(17), key(18), key(19), 3_000_000_005),
        ),
        ("withdraw_fees", ix::withdraw_fees(admin, &keys, key(16), 12_345)),
        ("mint_lt", ix::mint_lt(&keys, &user, 1_500_000_000, 1_486_536_705)),
        ("redeem_lt", ix::redeem_lt(&later, &user, u64::MAX, 0)),
        (
            "deposit_funding",
            ix::deposit_funding(&keys, &user, 20_000_000_000, 1),
        ),
        (
            "withdraw_funding",
            ix::withdraw_funding(&later, &user, 5_000_000_000, 4_984_967_069),
        ),
        (
            "request_mint_lt",
            ix::open_request(&keys, RequestKind::MintLt, &owned, request_args(1)),
        ),
        (
            "request_redeem_lt",
            ix::open_request(&later, RequestKind::RedeemLt, &owned, request_args(u64::MAX)),
        ),
        (
            "request_deposit_funding",
            ix::open_request(
                &keys,
                RequestKind::DepositFunding,
                &owned,
                request_args(0x0123_4567_89ab_cdef),
            ),
        ),
        (
            "request_withdraw_funding",
            ix::open_request(&later, RequestKind::WithdrawFunding, &owned, request_args(0)),
        ),
        (
            "settle_request",
            ix::settle_request(key(25), &keys, settled, &settled_r, key(30)),
        ),
        (
            "cancel_request",
            ix::cancel_request(key(26), &later, cancelled, &cancelled_r),
        ),
        (
            "cancel_request_retired",
            ix::cancel_request_with_input(
                key(26),
                &later,
                cancelled,
                &cancelled_r,
                pda::lt_mint_at(&later.market, 1),
                anchor_spl::token_2022::ID,
            ),
        ),
        (
            "cancel_request_withdraw",
            ix::cancel_request(key(26), &keys, cancelled_w, &cancelled_w_r),
        ),
        ("rebalance", ix::rebalance(key(27), keys.market, key(30))),
    ];

    let mut instructions = Map::new();
    for (name, ix) in &cases {
        instructions.insert((*name).to_string(), dump(ix));
    }
    let out = json!({
        "programId": lever::ID.to_string(),
        "eventAuthority": pda::event_authority().to_string(),
        "instructions": instructions,
    });
    let text = serde_json::to_string_pretty(&out).map_err(std::io::Error::other)?;
    match std::env::args().nth(1) {
        Some(path) => std::fs::write(path, text + "\n"),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}
