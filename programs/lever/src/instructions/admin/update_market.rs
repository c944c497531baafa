use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::error::LeverError;
use crate::events::{FundingAccrued, MarketParamsUpdated};
use crate::instructions::emit_event;
use crate::state::{Config, Market, UpdateMarketParams};

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    #[account(mut, has_one = config @ LeverError::ConfigMismatch)]
    pub market: AccountLoader<'info, Market>,
}

/// Change the fields set in `update`, each checked against the bounds. Funding is accrued first
/// (at the last price) so the old curve applies to the time before the change. A new target
/// leverage takes effect at the next price-reading instruction, which rebalances to it.
pub fn update_market_handler(ctx: Context<UpdateMarket>, update: UpdateMarketParams) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market_key = ctx.accounts.market.key();
    let (accrued, event) = {
        let config = ctx.accounts.config.load()?;
        let mut market = ctx.accounts.market.load_mut()?;
        let price = market.last_price.get();
        let accrual = market.accrue(price, now)?;
        let accrued = (accrual.interest > 0).then(|| FundingAccrued {
            market: market_key,
            interest: accrual.interest,
            rate_ppm: accrual.rate_ppm,
            utilization_ppm: accrual.utilization_ppm,
            elapsed: accrual.elapsed,
            price,
            pool: market.pool().into(),
        });
        let before = market.params();
        let after = before.apply(&update);
        market.set_params(&after, &config)?;
        (
            accrued,
            MarketParamsUpdated {
                market: market_key,
                before,
                after,
                pool: market.pool().into(),
            },
        )
    };
    if let Some(accrued) = accrued {
        emit_event(&ctx.accounts.event_authority, &accrued)?;
    }
    emit_event(&ctx.accounts.event_authority, &event)
}
