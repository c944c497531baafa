//! The four user instructions: preview with the program's own code, send with a minimum-out, report what landed.

use super::*;
use crate::cluster::{submit, Cluster, ClusterError, Landed};
use crate::ix;
use crate::pda::{associated_token_account, MarketKeys};
use crate::pyth::price_input;
use crate::quote::{self};
use crate::units::format_units;
use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use lever::constants::PPM;
use lever::instructions::{DepositFundingOutcome, MintLtOutcome, RedeemLtOutcome, WithdrawFundingOutcome};
use serde::Serialize;
use solana_account::Account;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::Instruction;
use solana_keypair::Keypair;

// ---------------------------------------------------------------------------------------------
// The four user instructions
// ---------------------------------------------------------------------------------------------

/// Which user instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Underlying in, LT out.
    Mint,
    /// LT in, underlying out.
    Redeem,
    /// Underlying in, FT out (`lever fund`).
    Deposit,
    /// FT in, underlying out.
    Withdraw,
}

impl Flow {
    /// The two-step request of this operation.
    pub fn request_kind(self) -> lever::state::RequestKind {
        use lever::state::RequestKind;
        match self {
            Self::Mint => RequestKind::MintLt,
            Self::Redeem => RequestKind::RedeemLt,
            Self::Deposit => RequestKind::DepositFunding,
            Self::Withdraw => RequestKind::WithdrawFunding,
        }
    }

    pub(super) fn spends_underlying(self) -> bool {
        matches!(self, Self::Mint | Self::Deposit)
    }

    /// What the user pays in and receives, for display.
    pub fn tokens(self) -> (&'static str, &'static str) {
        match self {
            Self::Mint => ("underlying", "LT"),
            Self::Redeem => ("LT", "underlying"),
            Self::Deposit => ("underlying", "FT"),
            Self::Withdraw => ("FT", "underlying"),
        }
    }
}

/// What a user operation will send, and what the program's code says it will do.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub flow: Flow,
    /// The wallet that signs and pays.
    pub user: Pubkey,
    pub market: Pubkey,
    pub keys: MarketKeys,
    pub decimals: u8,
    /// Raw units (underlying for mint/fund, shares for redeem/withdraw).
    pub amount_in: u64,
    /// Previewed output (raw) at the cluster's clock and the current price.
    pub expected_out: u64,
    pub fee_units: u64,
    /// Sent with the instruction: the program refuses to give less.
    pub min_out: u64,
    pub price_account: Pubkey,
    /// Price the conversion uses (USD per whole token; the confidence-interval end that favours
    /// the pools).
    pub price_usd: f64,
    pub user_in: Pubkey,
    pub user_out: Pubkey,
    /// A two-step request's address (`None`: the instant instruction).
    pub request: Option<Pubkey>,
    /// The request's prepaid settlement tip (lamports; 0 for the instant path).
    pub tip_lamports: u64,
    pub instructions: Vec<Instruction>,
}

impl Prepared {
    pub fn preview(&self) -> Preview {
        let (pay, get) = self.flow.tokens();
        Preview {
            flow: self.flow,
            market: self.market.to_string(),
            pay: format!("{} {pay}", format_units(self.amount_in, self.decimals)),
            receive: format!("{} {get}", format_units(self.expected_out, self.decimals)),
            minimum: format!("{} {get}", format_units(self.min_out, self.decimals)),
            fee: format!("{} underlying", format_units(self.fee_units, self.decimals)),
            price_usd: self.price_usd,
            amount_in: self.amount_in,
            expected_out: self.expected_out,
            min_out: self.min_out,
            fee_units: self.fee_units,
        }
    }
}

/// A preview in whole tokens (and raw units for machines).
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    pub flow: Flow,
    pub market: String,
    pub pay: String,
    pub receive: String,
    pub minimum: String,
    pub fee: String,
    pub price_usd: f64,
    pub amount_in: u64,
    pub expected_out: u64,
    pub min_out: u64,
    pub fee_units: u64,
}

/// How a user operation is sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendOptions {
    /// The minimum output; `None` derives it from the preview and `slippage_ppm`.
    pub min_out: Option<u64>,
    /// Accepted shortfall from the preview when `min_out` is `None` (PPM; default 0.5%).
    pub slippage_ppm: u64,
    /// The price account; `None` uses Pyth's sponsored account for the market's feed.
    pub price_account: Option<Pubkey>,
    /// `SetComputeUnitPrice` in micro-lamports (0 or `None`: leave it out).
    pub compute_unit_price: Option<u64>,
    /// Send the instant instruction (one transaction, the caller's update, the instant fee;
    /// only where the market allows it). `false` (the default): a two-step request, settled by a
    /// keeper at the one update covering its target time.
    pub instant: bool,
}

/// Default slippage tolerance: 0.5%.
pub const DEFAULT_SLIPPAGE_PPM: u64 = 5_000;

/// Build a user operation for `user` and preview it with the program's code; nothing is sent.
/// The user's token accounts are their associated token accounts; the output account is created
/// in the same transaction if it does not exist.
pub async fn prepare<C: Cluster>(
    cluster: &C,
    user: Pubkey,
    market_key: Pubkey,
    flow: Flow,
    amount: u64,
    options: SendOptions,
) -> OpsResult<Prepared> {
    if amount == 0 {
        return Err(OpsError::Invalid("the amount must be above zero".into()));
    }
    if options.slippage_ppm > PPM {
        return Err(OpsError::Invalid("slippage above 100%".into()));
    }
    let market = load_market(cluster, &market_key).await?;
    let keys = MarketKeys::of(&market);
    if keys.market != market_key {
        return Err(OpsError::WrongAccount {
            what: "market",
            address: market_key,
            why: "its address is not the PDA of its underlying mint and id".into(),
        });
    }
    let token_2022 = anchor_spl::token_2022::ID;
    let underlying = associated_token_account(&user, &keys.underlying_mint, &keys.underlying_token_program);
    let shares_mint = match flow {
        Flow::Mint | Flow::Redeem => keys.lt_mint,
        Flow::Deposit | Flow::Withdraw => keys.ft_mint,
    };
    let shares = associated_token_account(&user, &shares_mint, &token_2022);
    let (user_in, user_out) = if flow.spends_underlying() {
        (underlying, shares)
    } else {
        (shares, underlying)
    };
    let price_account = price_account_for(&market, options.price_account);
    let now = cluster.clock().await?;
    let accounts = cluster.accounts(&[price_account, keys.vault, user_in]).await?;
    let [price_acc, vault_acc, in_acc]: [Option<Account>; 3] = accounts
        .try_into()
        .map_err(|_| OpsError::Cluster(ClusterError::Client("accounts: wrong count".into())))?;
    let update = price_update_of(
        &price_account,
        &price_acc.ok_or(OpsError::AccountMissing {
            what: "price account",
            address: price_account,
        })?,
    )?;
    let vault_units = vault_acc
        .as_ref()
        .and_then(|a| token_account_amount(&a.data))
        .ok_or(OpsError::AccountMissing {
            what: "vault",
            address: keys.vault,
        })?;
    let have = in_acc
        .as_ref()
        .and_then(|a| token_account_amount(&a.data))
        .ok_or(OpsError::AccountMissing {
            what: "your token account",
            address: user_in,
        })?;
    if have < amount {
        return Err(OpsError::InsufficientBalance {
            account: user_in,
            have,
            need: amount,
            decimals: market.decimals,
        });
    }
    let input = price_input(&update);
    let kind = flow.request_kind();
    // Preview with no minimum: the program's own code decides the output. A request settles at
    // the price at its target time, unknown now: the estimate settles it at the current price.
    let (expected_out, fee_units, price) = if !options.instant {
        let settled = quote::settle_now(&market, kind, amount, 0, &input, vault_units, now)?;
        match settled.fill() {
            Some(fill) => {
                let (_, out, fee, price) = fill.amounts();
                (out, fee, price)
            }
            None => {
                let code = settled.refund_code().unwrap_or_default();
                return Err(OpsError::Invalid(format!(
                    "at the current price the request would be refunded: {}",
                    crate::errors::describe(code)
                )));
            }
        }
    } else {
        match flow {
            Flow::Mint => {
                let p = quote::mint_lt(&market, &input, vault_units, now, amount, 0)?;
                (p.quote.shares_out, p.quote.fee_units, p.price.band.upper)
            }
            Flow::Redeem => {
                let p = quote::redeem_lt(&market, &input, vault_units, now, amount, 0)?;
                (p.quote.units_out, p.quote.fee_units, p.price.band.lower)
            }
            Flow::Deposit => {
                let p = quote::deposit_funding(&market, &input, vault_units, now, amount, 0)?;
                (p.quote.shares_out, p.quote.fee_units, p.price.band.lower)
            }
            Flow::Withdraw => {
                let p = quote::withdraw_funding(&market, &input, vault_units, now, amount, 0)?;
                (p.quote.units_out, p.quote.fee_units, p.price.band.upper)
            }
        }
    };
    // Minimum out rounds down: the tolerance is never tighter than asked.
    let min_out = options.min_out.unwrap_or_else(|| {
        let kept = u128::from(expected_out) * u128::from(PPM - options.slippage_ppm) / u128::from(PPM);
        u64::try_from(kept).unwrap_or(expected_out)
    });
    let accounts = ix::UserAccounts {
        user,
        user_underlying: underlying,
        user_shares: shares,
        price_update: price_account,
    };
    let mut instructions = Vec::with_capacity(3);
    if let Some(price) = options.compute_unit_price.filter(|p| *p > 0) {
        instructions.push(ComputeBudgetInstruction::set_compute_unit_price(price));
    }
    let (out_mint, out_program) = if flow.spends_underlying() {
        (shares_mint, token_2022)
    } else {
        (keys.underlying_mint, keys.underlying_token_program)
    };
    instructions.push(ix::create_associated_token_account_idempotent(
        user,
        user,
        out_mint,
        out_program,
    ));
    let (request, tip_lamports) = if options.instant {
        instructions.push(match flow {
            Flow::Mint => ix::mint_lt(&keys, &accounts, amount, min_out),
            Flow::Redeem => ix::redeem_lt(&keys, &accounts, amount, min_out),
            Flow::Deposit => ix::deposit_funding(&keys, &accounts, amount, min_out),
            Flow::Withdraw => ix::withdraw_funding(&keys, &accounts, amount, min_out),
        });
        (None, 0)
    } else {
        // A nonce nobody else picks for this owner: the wall clock in nanoseconds.
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let args = lever::state::RequestArgs {
            nonce,
            amount,
            min_out,
            tip_lamports: market.params.min_settle_tip_lamports,
        };
        let owned = ix::RequestAccounts {
            payer: user,
            owner: user,
            source: user_in,
            destination: user_out,
        };
        instructions.push(ix::open_request(&keys, kind, &owned, args));
        (
            Some(crate::pda::request(&keys.market, &user, nonce)),
            args.tip_lamports,
        )
    };
    Ok(Prepared {
        flow,
        user,
        market: market_key,
        keys,
        decimals: market.decimals,
        amount_in: amount,
        expected_out,
        fee_units,
        min_out,
        price_account,
        price_usd: price_usd(price, market.decimals),
        user_in,
        user_out,
        request,
        tip_lamports,
        instructions,
    })
}

/// What a user operation did: read from the program's return data, or, when the node did not
/// return it, from the change of the output token account (the fee is then the preview's).
#[derive(Clone, Debug, Serialize)]
pub struct Executed {
    pub signature: String,
    pub flow: Flow,
    pub amount_in: u64,
    pub amount_out: u64,
    pub fee_units: u64,
    /// Whole tokens.
    pub received: String,
    /// `return_data` or `balance_change`.
    pub source: &'static str,
}

/// Send a prepared operation signed by `user` (also the fee payer). Once the transaction has
/// landed this never fails: a landed operation reported as an error could be sent twice.
pub async fn execute<C: Cluster>(cluster: &C, user: &Keypair, prepared: &Prepared) -> OpsResult<Executed> {
    if user.pubkey() != prepared.user {
        return Err(OpsError::Invalid(
            "the operation was prepared for another wallet".into(),
        ));
    }
    if prepared.request.is_some() {
        return Err(OpsError::Invalid(
            "prepared as a two-step request: send it with ops::request".into(),
        ));
    }
    let out_before = token_balance(cluster, &prepared.user_out).await?;
    let landed = submit(cluster, &prepared.instructions, user, &[]).await?;
    let (amount_in, amount_out, fee_units, source) = match outcome(prepared.flow, &landed) {
        Some((i, o, f)) => (i, o, f, "return_data"),
        None => {
            // Another transaction may move the account in between; the signature is what counts.
            let after = token_balance(cluster, &prepared.user_out)
                .await
                .unwrap_or(out_before);
            (
                prepared.amount_in,
                after.saturating_sub(out_before),
                prepared.fee_units,
                "balance_change",
            )
        }
    };
    let (_, get) = prepared.flow.tokens();
    Ok(Executed {
        signature: landed.signature.to_string(),
        flow: prepared.flow,
        amount_in,
        amount_out,
        fee_units,
        received: format!("{} {get}", format_units(amount_out, prepared.decimals)),
        source,
    })
}

/// A token account's amount (0 if it does not exist yet).
pub(super) async fn token_balance<C: Cluster>(cluster: &C, address: &Pubkey) -> OpsResult<u64> {
    Ok(cluster
        .account(address)
        .await?
        .and_then(|a| token_account_amount(&a.data))
        .unwrap_or(0))
}

/// `(in, out, fee)` from the return data of the user instruction.
pub(super) fn outcome(flow: Flow, landed: &Landed) -> Option<(u64, u64, u64)> {
    let mut data = landed.return_data.as_deref()?;
    Some(match flow {
        Flow::Mint => {
            let o = MintLtOutcome::deserialize(&mut data).ok()?;
            (o.units_in, o.shares_out, o.fee_units)
        }
        Flow::Redeem => {
            let o = RedeemLtOutcome::deserialize(&mut data).ok()?;
            (o.shares_in, o.units_out, o.fee_units)
        }
        Flow::Deposit => {
            let o = DepositFundingOutcome::deserialize(&mut data).ok()?;
            (o.units_in, o.shares_out, o.fee_units)
        }
        Flow::Withdraw => {
            let o = WithdrawFundingOutcome::deserialize(&mut data).ok()?;
            (o.shares_in, o.units_out, o.fee_units)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Two-step requests
// ---------------------------------------------------------------------------------------------

/// A request that landed: where it is, when it settles, and the balances to tell its outcome by.
#[derive(Clone, Debug, Serialize)]
pub struct Requested {
    pub signature: String,
    pub flow: Flow,
    #[serde(serialize_with = "as_string")]
    pub request: Pubkey,
    pub amount_in: u64,
    pub min_out: u64,
    /// Settles at the one update with `prev_publish_time < tau <= publish_time`.
    pub tau: i64,
    /// After this a keeper (or anyone) cancels it and the escrow comes back.
    pub expires_at: i64,
    pub tip_lamports: u64,
    #[serde(skip)]
    pub(super) user_in: Pubkey,
    #[serde(skip)]
    pub(super) user_out: Pubkey,
    #[serde(skip)]
    pub(super) out_before: u64,
    #[serde(skip)]
    pub(super) in_after: u64,
    #[serde(skip)]
    pub(super) decimals: u8,
}

fn as_string<S: serde::Serializer>(key: &Pubkey, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(key)
}

/// Where a request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RequestStatus {
    /// Waiting for its settlement (`now` is the cluster's clock).
    Open { now: i64, tau: i64, expires_at: i64 },
    /// Settled and filled: `amount_out` arrived in the output account.
    Filled { amount_out: u64, received: String },
    /// Closed without a fill: refunded at settlement (the books refused at the price at `tau`)
    /// or cancelled after expiry; the input is back.
    Returned { amount: u64 },
}

/// Send a prepared two-step request signed by `user` (also the fee payer and the rent payer; the
/// rent comes back when the request closes). Once it has landed this never fails.
pub async fn request<C: Cluster>(cluster: &C, user: &Keypair, prepared: &Prepared) -> OpsResult<Requested> {
    let Some(address) = prepared.request else {
        return Err(OpsError::Invalid(
            "prepared for the instant path: send it with ops::execute".into(),
        ));
    };
    if user.pubkey() != prepared.user {
        return Err(OpsError::Invalid(
            "the operation was prepared for another wallet".into(),
        ));
    }
    let out_before = token_balance(cluster, &prepared.user_out).await?;
    let landed = submit(cluster, &prepared.instructions, user, &[]).await?;
    let in_after = token_balance(cluster, &prepared.user_in).await.unwrap_or(0);
    let receipt = landed
        .return_data
        .as_deref()
        .and_then(|mut data| lever::instructions::RequestReceipt::deserialize(&mut data).ok());
    let (tau, expires_at) = match receipt {
        Some(r) => (r.tau, r.expires_at),
        // No return data from this node: the request account says the same.
        None => match cluster.account(&address).await {
            Ok(Some(account)) => crate::accounts::decode_request(&account)
                .map(|r| (r.tau, r.expires_at))
                .unwrap_or_default(),
            _ => (0, 0),
        },
    };
    Ok(Requested {
        signature: landed.signature.to_string(),
        flow: prepared.flow,
        request: address,
        amount_in: prepared.amount_in,
        min_out: prepared.min_out,
        tau,
        expires_at,
        tip_lamports: prepared.tip_lamports,
        user_in: prepared.user_in,
        user_out: prepared.user_out,
        out_before,
        in_after,
        decimals: prepared.decimals,
    })
}

/// Where `requested` stands: open, or closed and how (told by the owner's balances, so it works
/// on any node). Poll it until it is not `Open`.
pub async fn request_status<C: Cluster>(cluster: &C, requested: &Requested) -> OpsResult<RequestStatus> {
    if let Some(account) = cluster.account(&requested.request).await? {
        if let Some(r) = crate::accounts::decode_request(&account) {
            let now = cluster.clock().await?.unix_timestamp;
            return Ok(RequestStatus::Open {
                now,
                tau: r.tau,
                expires_at: r.expires_at,
            });
        }
    }
    let out_now = token_balance(cluster, &requested.user_out).await?;
    let in_now = token_balance(cluster, &requested.user_in).await?;
    if out_now > requested.out_before {
        let amount_out = out_now - requested.out_before;
        let (_, get) = requested.flow.tokens();
        return Ok(RequestStatus::Filled {
            amount_out,
            received: format!("{} {get}", format_units(amount_out, requested.decimals)),
        });
    }
    Ok(RequestStatus::Returned {
        amount: in_now.saturating_sub(requested.in_after),
    })
}
