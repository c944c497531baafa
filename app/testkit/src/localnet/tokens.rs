//! SPL Token and Token-2022 views: the mint data a token account is shown with, token balances in
//! transaction meta, and the token queries.

use super::*;
use anchor_spl::token_2022::spl_token_2022;
use lever_sdk::cluster::Cluster;
use serde_json::{json, Value};
use solana_account::Account;
use solana_account_decoder::parse_account_data::SplTokenAdditionalDataV2;
use solana_account_decoder::parse_token::{get_token_account_mint, token_amount_to_ui_amount_v3};
use solana_rpc_client::api::config::RpcAccountInfoConfig;
use solana_rpc_client::api::response::{RpcKeyedAccount, UiAccount, UiAccountEncoding};
use spl_token_2022::extension::interest_bearing_mint::InterestBearingConfig;
use spl_token_2022::extension::scaled_ui_amount::ScaledUiAmountConfig;
use spl_token_2022::extension::{BaseStateWithExtensions, StateWithExtensions};

/// The two token programs.
pub(super) fn is_token_program(program: &Pubkey) -> bool {
    *program == anchor_spl::token::ID || *program == spl_token_2022::ID
}

/// Whether `data` is an initialized token account (what a `tokenAccountState` filter asks).
pub(super) fn is_token_account(data: &[u8]) -> bool {
    get_token_account_mint(data).is_some()
}

/// A token account's owner and amount (offsets 32 and 64 of the base layout).
pub(super) fn token_owner_and_amount(data: &[u8]) -> Option<(Pubkey, u64)> {
    let owner: [u8; 32] = data.get(32..64)?.try_into().ok()?;
    let amount: [u8; 8] = data.get(64..72)?.try_into().ok()?;
    Some((Pubkey::new_from_array(owner), u64::from_le_bytes(amount)))
}

/// Decimals and the UI-amount extensions of a mint, at `now`; `None` if `data` is no mint.
pub(super) fn mint_additional(data: &[u8], now: i64) -> Option<(SplTokenAdditionalDataV2, u64)> {
    let mint = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(data).ok()?;
    let interest = mint
        .get_extension::<InterestBearingConfig>()
        .ok()
        .map(|c| (*c, now));
    let scaled = mint
        .get_extension::<ScaledUiAmountConfig>()
        .ok()
        .map(|c| (*c, now));
    Some((
        SplTokenAdditionalDataV2 {
            decimals: mint.base.decimals,
            interest_bearing_config: interest,
            scaled_ui_amount_config: scaled,
        },
        mint.base.supply,
    ))
}

impl Node {
    pub(super) async fn now(&self) -> i64 {
        self.cluster.chain().await.now()
    }

    /// The mint data a token account is shown with (`None` for anything else).
    pub(super) async fn token_additional(&self, account: &Account) -> Option<SplTokenAdditionalDataV2> {
        if !is_token_program(&account.owner) {
            return None;
        }
        let mint = get_token_account_mint(&account.data)?;
        let mint = self.cluster.account(&mint).await.ok()??;
        Some(mint_additional(&mint.data, self.now().await)?.0)
    }

    /// `ui_account` with the mint data when `jsonParsed` is asked for.
    pub(super) async fn ui(
        &self,
        key: &Pubkey,
        account: &Account,
        config: &RpcAccountInfoConfig,
    ) -> UiAccount {
        let additional = match config.encoding {
            Some(UiAccountEncoding::JsonParsed) => self.token_additional(account).await,
            _ => None,
        };
        ui_account(key, account, config, additional)
    }

    /// `preTokenBalances`/`postTokenBalances`: every token account among `keys`.
    pub(super) async fn token_balances(&self, keys: &[Pubkey], accounts: &[Option<Account>]) -> Vec<Value> {
        let mut out = Vec::new();
        for (i, (key, account)) in keys.iter().zip(accounts).enumerate() {
            let _ = key;
            let Some(account) = account else { continue };
            if !is_token_program(&account.owner) {
                continue;
            }
            let Some(mint) = get_token_account_mint(&account.data) else {
                continue;
            };
            let (Some(additional), Some((owner, amount))) = (
                self.token_additional(account).await,
                token_owner_and_amount(&account.data),
            ) else {
                continue;
            };
            out.push(json!({
                "accountIndex": i,
                "mint": mint.to_string(),
                "owner": owner.to_string(),
                "programId": account.owner.to_string(),
                "uiTokenAmount": token_amount_to_ui_amount_v3(amount, &additional),
            }));
        }
        out
    }

    pub(super) async fn get_token_supply(&self, params: &Value) -> Result<Value, RpcErr> {
        let key = pubkey(&required::<String>(params, 0, "mint")?)?;
        let account = self
            .cluster
            .account(&key)
            .await
            .map_err(RpcErr::cluster)?
            .filter(|a| is_token_program(&a.owner))
            .ok_or_else(|| RpcErr::invalid_params("Invalid param: not a Token mint"))?;
        let (additional, supply) = mint_additional(&account.data, self.now().await)
            .ok_or_else(|| RpcErr::invalid_params("Invalid param: not a Token mint"))?;
        self.with_context(token_amount_to_ui_amount_v3(supply, &additional))
            .await
    }

    pub(super) async fn get_token_account_balance(&self, params: &Value) -> Result<Value, RpcErr> {
        let key = pubkey(&required::<String>(params, 0, "account")?)?;
        let account = self
            .cluster
            .account(&key)
            .await
            .map_err(RpcErr::cluster)?
            .filter(|a| is_token_program(&a.owner) && is_token_account(&a.data))
            .ok_or_else(|| RpcErr::invalid_params("Invalid param: not a Token account"))?;
        let additional = self
            .token_additional(&account)
            .await
            .ok_or_else(|| RpcErr::invalid_params("Invalid param: the account's mint is missing"))?;
        let (_, amount) = token_owner_and_amount(&account.data)
            .ok_or_else(|| RpcErr::invalid_params("Invalid param: not a Token account"))?;
        self.with_context(token_amount_to_ui_amount_v3(amount, &additional))
            .await
    }

    /// `getTokenAccountsByOwner` (and `...ByDelegate`): the token accounts among the accounts
    /// this chain has seen (see `getProgramAccounts`).
    pub(super) async fn get_token_accounts_by(
        &self,
        params: &Value,
        delegate: bool,
    ) -> Result<Value, RpcErr> {
        let owner = pubkey(&required::<String>(params, 0, "owner")?)?;
        let filter: Value = required(params, 1, "filter")?;
        let config: RpcAccountInfoConfig = param(params, 2)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let (mint, program) = match (filter.get("mint"), filter.get("programId")) {
            (Some(Value::String(m)), None) => (Some(pubkey(m)?), None),
            (None, Some(Value::String(p))) => {
                let p = pubkey(p)?;
                if !is_token_program(&p) {
                    return Err(RpcErr::invalid_params(
                        "Invalid param: unrecognized Token program id",
                    ));
                }
                (None, Some(p))
            }
            _ => {
                return Err(RpcErr::invalid_params(
                    "Invalid param: the filter is {\"mint\": ...} or {\"programId\": ...}",
                ))
            }
        };
        let mut keys = self.cluster.chain().await.known_accounts();
        keys.sort();
        let accounts = self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?;
        let mut out = Vec::new();
        for (key, account) in keys.iter().zip(accounts) {
            let Some(account) = account else { continue };
            if !is_token_program(&account.owner) || program.is_some_and(|p| p != account.owner) {
                continue;
            }
            let Some(account_mint) = get_token_account_mint(&account.data) else {
                continue;
            };
            if mint.is_some_and(|m| m != account_mint) {
                continue;
            }
            let who = if delegate {
                // COption<Pubkey> at 72: a u32 tag, then the key.
                match account.data.get(72..108) {
                    Some(d) if d[..4] == [1, 0, 0, 0] => d[4..36].try_into().ok().map(Pubkey::new_from_array),
                    _ => None,
                }
            } else {
                token_owner_and_amount(&account.data).map(|(o, _)| o)
            };
            if who != Some(owner) {
                continue;
            }
            out.push(RpcKeyedAccount {
                pubkey: key.to_string(),
                account: self.ui(key, &account, &config).await,
            });
        }
        self.with_context(out).await
    }
}
