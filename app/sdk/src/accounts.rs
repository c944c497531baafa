//! Every Lever account decoder in one place: the zero-copy `Market` and `Config`, the `Request`,
//! token accounts
//! and Token-2022 metadata, and the Clock sysvar. Each checks what it can (owner, discriminator,
//! size) and returns `None`/an error rather than reading bytes of the wrong kind.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use anchor_lang::Discriminator;
use anchor_spl::compat::spl_token_metadata_interface::state::TokenMetadata;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::spl_token_2022::extension::{BaseStateWithExtensions, StateWithExtensions};
use anyhow::{anyhow, Result};
use lever::oracle::Now;
use lever::state::{Config, Market, Request};
use solana_account::Account;

/// Decode a zero-copy account (8-byte discriminator, then the struct), whatever the alignment.
pub fn decode_zero_copy<T: bytemuck::Pod + anchor_lang::Discriminator>(data: &[u8]) -> Result<T> {
    let size = std::mem::size_of::<T>();
    let disc = T::DISCRIMINATOR;
    if data.len() < 8 + size || &data[..disc.len()] != disc {
        return Err(anyhow!("not a {} account", std::any::type_name::<T>()));
    }
    Ok(bytemuck::pod_read_unaligned::<T>(&data[8..8 + size]))
}

/// Decode `account` as a Lever market if it is one (owner, discriminator, size, and the layout
/// version this SDK reads: the program refuses any other with `UnsupportedMarketVersion`).
pub fn decode_market(account: &Account) -> Option<Market> {
    if account.owner != lever::ID || account.data.len() != Market::SPACE {
        return None;
    }
    decode_zero_copy::<Market>(&account.data)
        .ok()
        .filter(Market::is_current_version)
}

/// Decode `account` as a Lever two-step request (owner, discriminator, borsh layout).
pub fn decode_request(account: &Account) -> Option<Request> {
    if account.owner != lever::ID {
        return None;
    }
    Request::try_deserialize(&mut account.data.as_slice()).ok()
}

/// The Clock sysvar's address.
pub const CLOCK_SYSVAR: Pubkey = anchor_lang::prelude::pubkey!("SysvarC1ock11111111111111111111111111111111");

/// Decode the Clock sysvar's bincode layout: slot, epoch start time, epoch, leader schedule epoch,
/// unix time (five little-endian 64-bit fields).
pub fn decode_clock(data: &[u8]) -> Option<Now> {
    let field = |i: usize| -> Option<[u8; 8]> { data.get(8 * i..8 * i + 8)?.try_into().ok() };
    Some(Now {
        slot: u64::from_le_bytes(field(0)?),
        unix_timestamp: i64::from_le_bytes(field(4)?),
    })
}

/// An SPL Token / Token-2022 token account's amount (`None` if the data is not a token account).
pub fn token_account_amount(data: &[u8]) -> Option<u64> {
    StateWithExtensions::<spl_token_2022::state::Account>::unpack(data)
        .ok()
        .map(|a| a.base.amount)
}

/// The mint of a token account (SPL Token or Token-2022).
pub fn token_account_mint(data: &[u8]) -> Option<Pubkey> {
    StateWithExtensions::<spl_token_2022::state::Account>::unpack(data)
        .ok()
        .map(|a| a.base.mint)
}

/// Name, symbol and uri from a Token-2022 mint's metadata extension (the LT and FT carry one).
pub fn token_metadata(data: &[u8]) -> Option<(String, String, String)> {
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(data).ok()?;
    let meta = state.get_variable_len_extension::<TokenMetadata>().ok()?;
    Some((meta.name, meta.symbol, meta.uri))
}

/// A Lever account, decoded.
#[derive(Clone, Copy, Debug)]
// A market is 792 bytes, a config 320: held by value, as `Chain::market`/`Chain::config` return
// them, rather than boxed for the sake of the smaller variant.
#[allow(clippy::large_enum_variant)]
pub enum LeverAccount {
    Config(Config),
    Market(Market),
}

/// Decode a Lever account's data by its discriminator (both accounts are zero-copy: the
/// discriminator, then the struct's bytes). The data alone does not say who owns the account, and
/// any program can write these bytes: for an account read from a chain, use
/// [`decode_lever_account`], which checks the owner.
pub fn decode_account(data: &[u8]) -> Option<LeverAccount> {
    if data.starts_with(Market::DISCRIMINATOR) {
        decode_zero_copy::<Market>(data).ok().map(LeverAccount::Market)
    } else if data.starts_with(Config::DISCRIMINATOR) {
        decode_zero_copy::<Config>(data).ok().map(LeverAccount::Config)
    } else {
        None
    }
}

/// Decode `account` if the Lever program owns it and it is a config or a market of the exact size.
pub fn decode_lever_account(account: &Account) -> Option<LeverAccount> {
    if let Some(market) = decode_market(account) {
        return Some(LeverAccount::Market(market));
    }
    if account.owner != lever::ID || account.data.len() != Config::SPACE {
        return None;
    }
    match decode_account(&account.data)? {
        config @ LeverAccount::Config(_) => Some(config),
        LeverAccount::Market(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_decode_by_discriminator_and_owner() {
        let mut market: Market = bytemuck::Zeroable::zeroed();
        market.version = lever::constants::MARKET_VERSION;
        market.params.target_leverage_ppm = 3_000_000;
        let mut market_data = Market::DISCRIMINATOR.to_vec();
        market_data.extend_from_slice(bytemuck::bytes_of(&market));
        let mut config: Config = bytemuck::Zeroable::zeroed();
        config.market_count = 4;
        let mut config_data = Config::DISCRIMINATOR.to_vec();
        config_data.extend_from_slice(bytemuck::bytes_of(&config));

        match decode_account(&market_data) {
            Some(LeverAccount::Market(m)) => assert_eq!(m.params.target_leverage_ppm, 3_000_000),
            other => panic!("{other:?}"),
        }
        match decode_account(&config_data) {
            Some(LeverAccount::Config(c)) => assert_eq!(c.market_count, 4),
            other => panic!("{other:?}"),
        }
        assert!(decode_account(&market_data[..100]).is_none());
        assert!(decode_account(&[0; 64]).is_none());

        let account = |owner: Pubkey, data: &[u8]| Account {
            lamports: 1,
            data: data.to_vec(),
            owner,
            executable: false,
            rent_epoch: 0,
        };
        assert!(matches!(
            decode_lever_account(&account(lever::ID, &market_data)),
            Some(LeverAccount::Market(_))
        ));
        // A market of another layout version is not read at this version's offsets.
        let mut old_market = market;
        old_market.version = 2;
        let mut old_data = Market::DISCRIMINATOR.to_vec();
        old_data.extend_from_slice(bytemuck::bytes_of(&old_market));
        assert!(decode_market(&account(lever::ID, &old_data)).is_none());
        assert!(matches!(
            decode_lever_account(&account(lever::ID, &config_data)),
            Some(LeverAccount::Config(_))
        ));
        let forged = Pubkey::new_unique();
        assert!(decode_lever_account(&account(forged, &market_data)).is_none());
        assert!(decode_lever_account(&account(forged, &config_data)).is_none());
        let mut long = config_data.clone();
        long.push(0);
        assert!(decode_lever_account(&account(lever::ID, &long)).is_none());
    }
}
