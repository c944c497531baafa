//! `update_share_metadata`: the admin renames a market's share tokens (Token-2022 TokenMetadata on
//! the LT and FT mints, update authority the market). `update_market` can change the target
//! leverage, so "SOL 3x Long" could become false; the name, symbol and uri can now follow it.
//! Every update is read back from the real Token-2022 mint; every refusal leaves the mint's bytes
//! and lamports, the books and the balances unchanged; the harness checks conservation after
//! every step.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::compat::spl_token_metadata_interface::state::{Field, TokenMetadata};
use anchor_spl::token::ID as TOKEN;
use anchor_spl::token_2022::spl_token_2022;
use lever::constants::{pause, MAX_NAME_LEN, MAX_SYMBOL_LEN, MAX_URI_LEN};
use lever::error::LeverError;
use lever::events::ShareMetadataUpdated;
use lever::instructions::{share_metadata_writes, StartLtEpochArgs, UpdateShareMetadataArgs};
use lever::state::ShareKind;
use lever_sdk::events::LeverEvent;
use lever_sdk::ix;
use lever_sdk::pda::MarketKeys;
use lever_tests::*;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_signer::Signer;
use spl_token_2022::extension::{BaseStateWithExtensions, StateWithExtensions};

fn update(
    share: ShareKind,
    name: Option<&str>,
    symbol: Option<&str>,
    uri: Option<&str>,
) -> UpdateShareMetadataArgs {
    UpdateShareMetadataArgs {
        share,
        name: name.map(Into::into),
        symbol: symbol.map(Into::into),
        uri: uri.map(Into::into),
    }
}

/// (name, symbol, uri) of `mint`, read with the SDK's decoder.
fn meta(account: &Account) -> (String, String, String) {
    lever_sdk::accounts::token_metadata(&account.data).expect("token metadata")
}

async fn mint_account(h: &mut Harness, mint: &Pubkey) -> Account {
    h.chain.account(mint).await.expect("rpc").expect("mint")
}

async fn lamports(h: &mut Harness, key: &Pubkey) -> u64 {
    h.chain.account(key).await.expect("rpc").map_or(0, |a| a.lamports)
}

async fn rent(h: &mut Harness, len: usize) -> u64 {
    h.chain.rent(len).await.expect("rent")
}

/// Everything but the three fields: the base mint (supply, authorities, decimals) and the
/// metadata's update authority, mint and additional entries.
fn rest(account: &Account) -> (Vec<u8>, TokenMetadata) {
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data).expect("mint");
    let mut m = state
        .get_variable_len_extension::<TokenMetadata>()
        .expect("metadata");
    (m.name, m.symbol, m.uri) = (String::new(), String::new(), String::new());
    (account.data[..spl_token_2022::state::Mint::LEN].to_vec(), m)
}

/// `args` by the admin: lands, leaves the books and every balance unchanged, and moves exactly the
/// mint's rent top-up from the admin to the mint. Returns the mint account after it and the event.
async fn update_ok(h: &mut Harness, args: UpdateShareMetadataArgs) -> (Account, ShareMetadataUpdated) {
    let mint = h.keys.share_mint(args.share);
    let admin = h.admin.insecure_clone();
    let before = mint_account(h, &mint).await;
    let admin_before = lamports(h, &admin.pubkey()).await;
    let books = h.snapshot().await;
    let ix = ix::update_share_metadata(admin.pubkey(), &h.keys, args);
    // The event, from a simulation of the same transaction (which changes nothing): the chain
    // drops inner instructions of landed ones.
    let raw = h.events(std::slice::from_ref(&ix), &[&admin]).await;
    assert_eq!(raw.len(), 1, "one event");
    assert_eq!(
        LeverEvent::decode(&raw[0]).map(|e| e.name()),
        Some("ShareMetadataUpdated"),
        "the SDK decodes it"
    );
    let event: ShareMetadataUpdated = find_event(&raw).expect("ShareMetadataUpdated");
    h.admin_send(&[ix])
        .await
        .unwrap_or_else(|e| panic!("update_share_metadata: {e}"));
    assert_eq!(
        h.snapshot().await,
        books,
        "metadata only: books and balances unchanged"
    );
    let after = mint_account(h, &mint).await;
    let paid = admin_before - lamports(h, &admin.pubkey()).await;
    assert_eq!(
        after.lamports - before.lamports,
        paid,
        "the admin pays the mint's top-up"
    );
    assert_eq!(rest(&after), rest(&before), "only name, symbol and uri change");
    assert!(
        after.lamports >= rent(h, after.data.len()).await,
        "the mint stays rent exempt"
    );
    let (name, symbol, uri) = meta(&after);
    assert_eq!(
        (&event.name, &event.symbol, &event.uri),
        (&name, &symbol, &uri),
        "the event holds the mint's fields after the update"
    );
    (after, event)
}

/// `args` by `signer` is refused with `expected`, and the mint (bytes and lamports), the books and
/// the balances are unchanged.
async fn update_refused(
    h: &mut Harness,
    keys: &MarketKeys,
    signer: &Keypair,
    args: UpdateShareMetadataArgs,
    expected: LeverError,
) {
    let ix = ix::update_share_metadata(signer.pubkey(), keys, args);
    let mint = ix.accounts[3].pubkey;
    let before = h.chain.account(&mint).await.expect("rpc");
    h.expect_error(&[ix], &[signer], expected).await;
    assert_eq!(
        h.chain.account(&mint).await.expect("rpc"),
        before,
        "the mint changed"
    );
}

#[tokio::test]
async fn admin_updates_lt_and_ft_metadata_and_each_mint_stays_rent_exempt() {
    let (mut h, _lp, _alice) = levered().await;
    let (lt, ft) = (h.keys.lt_mint, h.keys.ft_mint);
    let lt0 = meta(&mint_account(&mut h, &lt).await);
    let ft0 = meta(&mint_account(&mut h, &ft).await);
    assert_eq!(
        lt0,
        (
            "SOL 3x Long".into(),
            "SOL3X".into(),
            "https://lever.example/sol3x.json".into()
        )
    );

    // The uri only: name and symbol kept; the mint grows by the uri's extra bytes, funded to its
    // exact rent.
    let len0 = mint_account(&mut h, &lt).await.data.len();
    let uri1 = "https://lever.example/sol3x-v2.json";
    let (after, event) = update_ok(&mut h, update(ShareKind::Lt, None, None, Some(uri1))).await;
    assert_eq!(meta(&after), (lt0.0.clone(), lt0.1.clone(), uri1.into()));
    assert_eq!(after.data.len(), len0 + uri1.len() - lt0.2.len());
    assert_eq!(after.lamports, rent(&mut h, after.data.len()).await);
    assert_eq!(
        (event.market, event.mint, event.share),
        (h.keys.market, lt, ShareKind::Lt)
    );
    assert_eq!(meta(&mint_account(&mut h, &ft).await), ft0, "FT untouched");

    // The leverage changed: all three, name and symbol at their limits.
    let name = "SOL 4x Long, was 3x until Dec 26";
    let symbol = "SOL4XLONG2";
    assert_eq!((name.len(), symbol.len()), (MAX_NAME_LEN, MAX_SYMBOL_LEN));
    let uri2 = "https://lever.example/markets/sol/4x/long/metadata.json";
    let len1 = after.data.len();
    let (after, event) = update_ok(
        &mut h,
        update(ShareKind::Lt, Some(name), Some(symbol), Some(uri2)),
    )
    .await;
    assert_eq!(meta(&after), (name.into(), symbol.into(), uri2.into()));
    assert_eq!(
        after.data.len(),
        len1 + (name.len() - lt0.0.len()) + (symbol.len() - lt0.1.len()) + (uri2.len() - uri1.len())
    );
    assert_eq!(after.lamports, rent(&mut h, after.data.len()).await);
    assert_eq!(
        (event.name.as_str(), event.symbol.as_str(), event.uri.as_str()),
        (name, symbol, uri2)
    );

    // One field shrinks while another grows more (the uri to its limit): the shrinking write goes
    // first, so the mint never needs more than its final size.
    let short = "SOL 4x Long";
    let uri3 = format!("https://lever.example/{}", "u".repeat(MAX_URI_LEN - 22));
    assert_eq!(uri3.len(), MAX_URI_LEN);
    let len2 = after.data.len();
    let (after, _) = update_ok(&mut h, update(ShareKind::Lt, Some(short), None, Some(&uri3))).await;
    assert_eq!(meta(&after), (short.into(), symbol.into(), uri3.clone()));
    assert_eq!(
        after.data.len(),
        len2 + (uri3.len() - uri2.len()) - (name.len() - short.len())
    );
    assert_eq!(after.lamports, rent(&mut h, after.data.len()).await);

    // Everything shorter: the mint shrinks and keeps its lamports (nothing can take them out).
    let (before, len3) = (after.lamports, after.data.len());
    let (after, _) = update_ok(
        &mut h,
        update(ShareKind::Lt, Some("SOL 4x"), Some("SOL4X"), Some("")),
    )
    .await;
    assert_eq!(meta(&after), ("SOL 4x".into(), "SOL4X".into(), String::new()));
    assert_eq!(
        after.data.len(),
        len3 - (short.len() - 6) - (symbol.len() - 5) - uri3.len()
    );
    assert_eq!(after.lamports, before, "a shrink refunds nothing");
    assert!(after.lamports > rent(&mut h, after.data.len()).await);

    // The FT, on a market with every operation paused (an admin correction is not a user
    // operation): same-length name and symbol, then a longer uri.
    let admin = h.admin.insecure_clone();
    h.admin_send(&[ix::set_pause(admin.pubkey(), h.keys.market, pause::ALL)])
        .await
        .expect("pause all");
    let lt_now = mint_account(&mut h, &lt).await;
    let ft_before = mint_account(&mut h, &ft).await;
    let (after, event) = update_ok(
        &mut h,
        update(ShareKind::Ft, Some("SOL 4x Funding"), Some("fSOL4X"), None),
    )
    .await;
    assert_eq!(
        meta(&after),
        ("SOL 4x Funding".into(), "fSOL4X".into(), ft0.2.clone())
    );
    assert_eq!(
        (after.data.len(), after.lamports),
        (ft_before.data.len(), ft_before.lamports)
    );
    assert_eq!(
        (event.mint, event.share, event.uri.as_str()),
        (ft, ShareKind::Ft, ft0.2.as_str())
    );
    let (after, _) = update_ok(&mut h, update(ShareKind::Ft, None, None, Some(uri2))).await;
    assert_eq!(
        meta(&after),
        ("SOL 4x Funding".into(), "fSOL4X".into(), uri2.into())
    );
    assert_eq!(after.lamports, rent(&mut h, after.data.len()).await);
    assert_eq!(
        mint_account(&mut h, &lt).await,
        lt_now,
        "LT untouched by the FT's update"
    );
    assert!(h.checks > 0);
}

#[tokio::test]
async fn the_event_carries_every_field_after_the_update() {
    let (mut h, _lp, _alice) = levered().await;
    let uri = "https://lever.example/sol3x-long.json";
    let (_, event) = update_ok(&mut h, update(ShareKind::Lt, None, None, Some(uri))).await;
    assert_eq!(
        (event.market, event.mint, event.share),
        (h.keys.market, h.keys.lt_mint, ShareKind::Lt)
    );
    // The fields not given are the kept ones.
    assert_eq!(
        (event.name.as_str(), event.symbol.as_str(), event.uri.as_str()),
        ("SOL 3x Long", "SOL3X", uri)
    );
    let (_, ft) = update_ok(&mut h, update(ShareKind::Ft, Some("SOL 3x Lending"), None, None)).await;
    assert_eq!(
        (ft.mint, ft.share, ft.name.as_str(), ft.symbol.as_str()),
        (h.keys.ft_mint, ShareKind::Ft, "SOL 3x Lending", "fSOL3X")
    );
    assert_eq!(ft.uri, "https://lever.example/sol3x.json");
}

#[tokio::test]
async fn a_signer_other_than_the_admin_is_refused_and_nothing_changes() {
    let (mut h, _lp, _alice) = levered().await;
    let stranger = Keypair::new();
    h.chain
        .airdrop(&stranger.pubkey(), 1_000_000_000)
        .await
        .expect("airdrop");
    let pause_authority = h.pause_authority.insecure_clone();
    let keys = h.keys;
    for signer in [&stranger, &pause_authority] {
        for share in [ShareKind::Lt, ShareKind::Ft] {
            let args = update(
                share,
                Some("SCAM 10x Long"),
                Some("SCAM"),
                Some("https://evil.example"),
            );
            update_refused(&mut h, &keys, signer, args, LeverError::Unauthorized).await;
        }
    }
    let lt = mint_account(&mut h, &keys.lt_mint).await;
    assert_eq!(meta(&lt).0, "SOL 3x Long");
}

/// A second market on the harness's underlying (id 1), created by the admin.
async fn second_market(h: &mut Harness) -> MarketKeys {
    let keys = MarketKeys::derive(h.keys.underlying_mint, 1, TOKEN);
    let admin = h.admin.insecure_clone();
    let underlying = h.keys.underlying_mint;
    let admin_underlying = h
        .chain
        .create_token_account(&underlying, &admin.pubkey(), &TOKEN)
        .await
        .expect("token account");
    h.fund(&admin_underlying, 100_000).await;
    let args = h.create_args(&MarketOpts {
        id: 1,
        ..MarketOpts::default()
    });
    let create = ix::create_market(admin.pubkey(), &keys, admin_underlying, args);
    h.chain.send(&[create], &[&admin]).await.expect("second market");
    keys
}

#[tokio::test]
async fn a_mint_other_than_the_markets_lt_or_ft_is_refused() {
    let (mut h, _lp, _alice) = levered().await;
    let admin = h.admin.insecure_clone();
    let other = second_market(&mut h).await;
    let rename = |share| {
        update(
            share,
            Some("SOL 4x Long"),
            None,
            Some("https://lever.example/x.json"),
        )
    };
    let cases = [
        // The other share of the same market.
        (ShareKind::Lt, h.keys.ft_mint, LeverError::LtMintMismatch),
        (ShareKind::Ft, h.keys.lt_mint, LeverError::FtMintMismatch),
        // The other market's shares (the same update authority rule, another market).
        (ShareKind::Lt, other.lt_mint, LeverError::LtMintMismatch),
        (ShareKind::Ft, other.ft_mint, LeverError::FtMintMismatch),
        // No mint at all.
        (ShareKind::Lt, h.keys.vault, LeverError::LtMintMismatch),
        (ShareKind::Ft, h.keys.underlying_mint, LeverError::FtMintMismatch),
    ];
    for (share, mint, expected) in cases {
        let keys = MarketKeys {
            lt_mint: mint,
            ft_mint: mint,
            ..h.keys
        };
        update_refused(&mut h, &keys, &admin, rename(share), expected).await;
    }
    // The other market's mints are renamed through their own market.
    let ix = ix::update_share_metadata(admin.pubkey(), &other, rename(ShareKind::Lt));
    h.admin_send(&[ix]).await.expect("the other market's own LT");
    let renamed = meta(&mint_account(&mut h, &other.lt_mint).await);
    assert_eq!(renamed.0, "SOL 4x Long");
    let own = h.keys.lt_mint;
    assert_eq!(meta(&mint_account(&mut h, &own).await).0, "SOL 3x Long");
}

#[tokio::test]
async fn a_retired_lt_mint_is_refused_and_the_new_epochs_lt_is_renamed() {
    let (mut h, _lp, _alice) = levered().await;
    h.set_price(50.0);
    assert!(h.rebalance().await.expect("rebalance").wiped);
    let retired = h.keys;
    h.start_lt_epoch(StartLtEpochArgs {
        epoch: 1,
        name: "SOL 3x Long".into(),
        symbol: "SOL3X".into(),
        uri: String::new(),
    })
    .await
    .expect("start_lt_epoch");
    assert_ne!(h.keys.lt_mint, retired.lt_mint);
    let admin = h.admin.insecure_clone();
    let args = update(ShareKind::Lt, Some("SOL 3x Long (epoch 0, retired)"), None, None);
    update_refused(&mut h, &retired, &admin, args, LeverError::LtMintMismatch).await;
    // The current one (created with an empty uri) takes a uri.
    let uri = "https://lever.example/sol3x-epoch-1.json";
    let (after, event) = update_ok(&mut h, update(ShareKind::Lt, None, None, Some(uri))).await;
    assert_eq!(meta(&after), ("SOL 3x Long".into(), "SOL3X".into(), uri.into()));
    assert_eq!(event.mint, h.keys.lt_mint);
}

#[tokio::test]
async fn metadata_past_the_limits_and_an_empty_update_are_refused() {
    let (mut h, _lp, _alice) = levered().await;
    let admin = h.admin.insecure_clone();
    let keys = h.keys;
    let long_name = "n".repeat(MAX_NAME_LEN + 1);
    let long_symbol = "S".repeat(MAX_SYMBOL_LEN + 1);
    let long_uri = "u".repeat(MAX_URI_LEN + 1);
    for share in [ShareKind::Lt, ShareKind::Ft] {
        let invalid = [
            update(share, Some(&long_name), None, None),
            update(share, None, Some(&long_symbol), None),
            update(share, None, None, Some(&long_uri)),
            // Too long next to valid fields: nothing of it is written.
            update(share, Some("SOL 4x Long"), Some("SOL4X"), Some(&long_uri)),
            update(share, Some(""), None, None),
            update(share, None, Some(""), None),
        ];
        for args in invalid {
            update_refused(&mut h, &keys, &admin, args, LeverError::InvalidMetadata).await;
        }
        let nothing = update(share, None, None, None);
        update_refused(&mut h, &keys, &admin, nothing, LeverError::NothingToUpdate).await;
    }
    assert_eq!(u32::from(LeverError::NothingToUpdate), 6087);
    // Exactly at the limits lands (and an empty uri is allowed, as at creation).
    let name = "n".repeat(MAX_NAME_LEN);
    let symbol = "S".repeat(MAX_SYMBOL_LEN);
    let uri = "u".repeat(MAX_URI_LEN);
    let (after, _) = update_ok(
        &mut h,
        update(ShareKind::Ft, Some(&name), Some(&symbol), Some(&uri)),
    )
    .await;
    assert_eq!(meta(&after), (name, symbol, uri));
    let (after, _) = update_ok(&mut h, update(ShareKind::Ft, None, None, Some(""))).await;
    assert_eq!(meta(&after).2, "");
}

#[test]
fn writes_that_do_not_grow_the_metadata_go_first() {
    let current = TokenMetadata {
        name: "SOL 3x Long".into(),
        symbol: "SOL3X".into(),
        uri: "https://lever.example/sol3x.json".into(),
        ..TokenMetadata::default()
    };
    let fields = |writes: Vec<(Field, String)>| writes.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
    // The name grows, the symbol keeps its length, the uri shrinks: symbol and uri first.
    let args = update(ShareKind::Lt, Some("SOL 4x Long Token"), Some("SOL4X"), Some(""));
    let writes = share_metadata_writes(&current, &args).expect("valid");
    assert_eq!(fields(writes), [Field::Symbol, Field::Uri, Field::Name]);
    // The name and symbol grow, the uri shrinks: the uri first.
    let args = update(
        ShareKind::Lt,
        Some("SOL 4x Long Token"),
        Some("SOL4XL"),
        Some("ipfs://a"),
    );
    let writes = share_metadata_writes(&current, &args).expect("valid");
    assert_eq!(fields(writes), [Field::Uri, Field::Name, Field::Symbol]);
    // All growing: name, symbol, uri.
    let uri = format!("{}/v2", current.uri);
    let args = update(
        ShareKind::Lt,
        Some("SOL 4x Long Token"),
        Some("SOL4XL"),
        Some(&uri),
    );
    let writes = share_metadata_writes(&current, &args).expect("valid");
    assert_eq!(fields(writes), [Field::Name, Field::Symbol, Field::Uri]);
    // Only the fields given are written; none given is refused.
    let args = update(ShareKind::Ft, None, Some("fSOL4X"), None);
    assert_eq!(
        fields(share_metadata_writes(&current, &args).expect("valid")),
        [Field::Symbol]
    );
    assert!(share_metadata_writes(&current, &update(ShareKind::Ft, None, None, None)).is_err());
}
