//! Predict what an instruction will do, with the program's own code: each function runs the
//! instruction's `*_books` function (everything it does to the market's books, before any token
//! moves) on a copy of the market account. A prediction therefore equals the landed transaction
//! to the unit, which the simulator checks on every bar.

use lever::error::LeverError;
use lever::instructions::{
    deposit_funding_books, mint_lt_books, rebalance_books, redeem_lt_books, withdraw_funding_books,
};
use lever::instructions::{settle_decision, Fill, Settled};
use lever::math::{
    band_status, BandStatus, DepositQuote, MintLtQuote, PoolState, RebalanceResult, RedeemLtQuote,
    WithdrawQuote,
};
use lever::oracle::{Now, Pricing, ValidPrice};
use lever::state::{Market, Request};

use crate::pyth::{price_update, PriceInput};

/// The market after the instruction, and what it reported.
#[derive(Clone, Copy)]
pub struct Prediction<Q> {
    pub market: Market,
    pub price: ValidPrice,
    pub quote: Q,
}

/// Why the program would refuse: its error code (6000 + index for Lever's own errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: u32,
    pub name: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.code)
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// Is this Lever error `e`?
    pub fn is(&self, e: LeverError) -> bool {
        self.code == u32::from(e)
    }
}

impl From<anchor_lang::error::Error> for Refusal {
    fn from(e: anchor_lang::error::Error) -> Self {
        match e {
            anchor_lang::error::Error::AnchorError(a) => Self {
                code: a.error_code_number,
                name: a.error_name,
            },
            anchor_lang::error::Error::ProgramError(p) => Self {
                code: u32::MAX,
                name: format!("{:?}", p.program_error),
            },
        }
    }
}

impl From<LeverError> for Refusal {
    fn from(e: LeverError) -> Self {
        Self::from(anchor_lang::error::Error::from(e))
    }
}

pub type QuoteResult<Q> = Result<Prediction<Q>, Refusal>;

/// Run one of the program's `*_books` functions on a copy of `market`.
fn predict<Q>(
    market: &Market,
    books: impl FnOnce(&mut Market) -> anchor_lang::Result<(ValidPrice, lever::state::Refresh, Q)>,
) -> QuoteResult<Q> {
    let mut m = *market;
    let (price, _, quote) = books(&mut m)?;
    Ok(Prediction {
        market: m,
        price,
        quote,
    })
}

/// Instant `mint_lt` of `amount` units with `price` published, at `now`, with `vault_units` in the vault.
pub fn mint_lt(
    market: &Market,
    price: &PriceInput,
    vault_units: u64,
    now: Now,
    amount: u64,
    min_shares_out: u64,
) -> QuoteResult<MintLtQuote> {
    predict(market, |m| {
        mint_lt_books(
            m,
            &price_update(price),
            Pricing::Instant,
            vault_units,
            now,
            amount,
            min_shares_out,
        )
    })
}

/// `redeem_lt` of `shares` raw LT.
pub fn redeem_lt(
    market: &Market,
    price: &PriceInput,
    vault_units: u64,
    now: Now,
    shares: u64,
    min_units_out: u64,
) -> QuoteResult<RedeemLtQuote> {
    predict(market, |m| {
        redeem_lt_books(
            m,
            &price_update(price),
            Pricing::Instant,
            vault_units,
            now,
            shares,
            min_units_out,
        )
    })
}

/// `deposit_funding` of `amount` units.
pub fn deposit_funding(
    market: &Market,
    price: &PriceInput,
    vault_units: u64,
    now: Now,
    amount: u64,
    min_shares_out: u64,
) -> QuoteResult<DepositQuote> {
    predict(market, |m| {
        deposit_funding_books(
            m,
            &price_update(price),
            Pricing::Instant,
            vault_units,
            now,
            amount,
            min_shares_out,
        )
    })
}

/// `withdraw_funding` of `shares` raw FT.
pub fn withdraw_funding(
    market: &Market,
    price: &PriceInput,
    vault_units: u64,
    now: Now,
    shares: u64,
    min_units_out: u64,
) -> QuoteResult<WithdrawQuote> {
    predict(market, |m| {
        withdraw_funding_books(
            m,
            &price_update(price),
            Pricing::Instant,
            vault_units,
            now,
            shares,
            min_units_out,
        )
    })
}

/// How `settle_request` ends for `request` at `price` (the update covering its `tau`): the
/// program's own decision ([`settle_decision`]) on a copy of the market, so a fill equals the
/// landed settlement to the unit and a refund names the refusal.
#[derive(Clone, Copy)]
pub struct SettlePrediction {
    pub market: Market,
    pub settled: Settled,
}

impl SettlePrediction {
    /// The fill, if the request fills.
    pub fn fill(&self) -> Option<&Fill> {
        match &self.settled {
            Settled::Filled(fill) => Some(fill),
            Settled::Refunded { .. } => None,
        }
    }

    /// The refund code, if the request is refunded.
    pub fn refund_code(&self) -> Option<u32> {
        match self.settled {
            Settled::Filled(_) => None,
            Settled::Refunded { code, .. } => Some(code),
        }
    }
}

/// `settle_request` of `request` at `price`, at `now`, with `vault_units` in the vault. Refused
/// (`Err`) only where the program fails the transaction: an expired request, or an update that does
/// not cover `tau`.
pub fn settle(
    market: &Market,
    request: &Request,
    price: &PriceInput,
    vault_units: u64,
    now: Now,
) -> Result<SettlePrediction, Refusal> {
    let mut m = *market;
    let settled = settle_decision(&mut m, &price_update(price), vault_units, now, request)?;
    Ok(SettlePrediction { market: m, settled })
}

/// What a request of `kind` for `amount` (least out `min_out`) would do if it settled now at the
/// price in `price`: the estimate a wallet shows before requesting (the real settlement uses the
/// price at `tau`, unknown until then). The update is taken as covering `now`.
pub fn settle_now(
    market: &Market,
    kind: lever::state::RequestKind,
    amount: u64,
    min_out: u64,
    price: &PriceInput,
    vault_units: u64,
    now: Now,
) -> Result<SettlePrediction, Refusal> {
    let tau = now.unix_timestamp;
    let request = Request {
        market: Default::default(),
        owner: Default::default(),
        payer: Default::default(),
        kind,
        nonce: 0,
        amount,
        min_out,
        escrow: Default::default(),
        source: Default::default(),
        destination: Default::default(),
        requested_at: tau,
        requested_slot: now.slot,
        tau,
        expires_at: tau,
        tip_lamports: 0,
        bump: 0,
    };
    let at_now = PriceInput {
        publish_time: tau.max(price.publish_time),
        ..*price
    }
    .after(tau.saturating_sub(1));
    settle(market, &request, &at_now, vault_units, now)
}

/// `rebalance`: refused with `WithinBand` while the market is in band.
pub fn rebalance(market: &Market, price: &PriceInput, now: Now) -> QuoteResult<RebalanceResult> {
    let mut m = *market;
    let (price, _, _, result) = rebalance_books(&mut m, &price_update(price), now)?;
    Ok(Prediction {
        market: m,
        price,
        quote: result,
    })
}

/// The market as the next instruction would see it at `now` and mid price `price` (value units
/// per raw unit): funding accrued, nothing else. This is what NAVs are read from between
/// transactions.
pub fn accrued(market: &Market, price: u128, now: i64) -> Result<Market, Refusal> {
    let mut m = *market;
    m.accrue(price, now)?;
    Ok(m)
}

/// What the market's numbers are at a price: NAVs in value units (1e-18 USD) per whole share
/// (1e9 raw units), leverage and utilization in PPM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    pub lt_nav: u128,
    pub ft_nav: u128,
    /// `None` while the leveraged pool is empty or insolvent.
    pub leverage_ppm: Option<u128>,
    pub utilization_ppm: u64,
    pub band: BandStatus,
}

pub fn marks(market: &Market, price: u128) -> Result<Marks, Refusal> {
    let pool: PoolState = market.pool();
    Ok(Marks {
        lt_nav: pool.lt_nav(price)?,
        ft_nav: pool.ft_nav(price)?,
        leverage_ppm: pool.leverage_ppm(price)?,
        utilization_ppm: lever::math::utilization_ppm(&pool, price)?,
        band: band_status(&pool, &market.risk_params(), price)?,
    })
}

/// `reopen_market` after a wipe-out (admin only; every wiped LT burned first).
pub fn reopen_market(market: &Market) -> Result<Market, Refusal> {
    let mut m = *market;
    lever::instructions::reopen_books(&mut m)?;
    Ok(m)
}
