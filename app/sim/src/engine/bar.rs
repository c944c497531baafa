//! What runs each bar: seeded users, the funding provider, the keeper and wipe-out handling, every transaction predicted first and checked after.

use super::*;
use crate::prices::Bar;
use crate::time::format_time;
use anchor_lang::AnchorSerialize;
use anyhow::{anyhow, bail, Result};
use lever::constants::{PPM, PRICE_SCALE};
use lever::instructions::{
    DepositFundingOutcome, MintLtOutcome, RebalanceOutcome, RedeemLtOutcome, WithdrawFundingOutcome,
};
use lever::math::BandStatus;
use lever::oracle::Now;
use lever::state::Market;
use lever_sdk::ix::{self, UserAccounts};
use lever_sdk::pda::MarketKeys;
use lever_sdk::pyth::PriceInput;
use lever_sdk::quote::{self, Marks, Refusal};
use lever_testkit::local::{LocalMarket, Wallet};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// The chain's market account against the SDK's prediction, byte for byte.
pub(super) fn same_market(chain: &Market, sdk: &Market) -> Result<()> {
    if bytemuck::bytes_of(chain) != bytemuck::bytes_of(sdk) {
        bail!(
            "the chain's market differs from the SDK's prediction\n chain: {:?}\n   sdk: {:?}",
            chain.pool(),
            sdk.pool()
        );
    }
    Ok(())
}

/// Borsh bytes, as the program's return data carries them.
pub(super) fn encode<T: AnchorSerialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    value.serialize(&mut out)?;
    Ok(out)
}

pub(super) fn log_ratio(a: f64, b: f64) -> Option<f64> {
    (a > 0.0 && b > 0.0).then(|| (a / b).ln())
}

pub(super) fn usd_to_units(usd: f64, price: f64) -> Result<u64> {
    let units = usd / price * UNITS_PER_TOKEN;
    if !units.is_finite() || units < 1.0 || units > u64::MAX as f64 / 16.0 {
        bail!("{usd} USD at {price} is not a usable number of units");
    }
    Ok(units.round() as u64)
}

/// The update written for `bar`: Full verification, exponent -8, published at the bar's time.
pub(super) fn price_input(cfg: &SimConfig, bar: &Bar, m: &LocalMarket) -> PriceInput {
    let conf_ratio = match cfg.conf {
        ConfMode::Ratio(r) => r,
        ConfMode::Bar => match (bar.high, bar.low) {
            (Some(h), Some(l)) => (h - l) / 2.0 / bar.close / 60f64.sqrt(),
            _ => 0.0,
        },
    };
    PriceInput::usd(m.feed_id, bar.close, conf_ratio, bar.time)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Who {
    Holder,
    Provider,
    User(usize),
}

impl Actor {
    pub(super) fn new(wallet: Wallet, units: u64) -> Self {
        Self {
            wallet,
            units,
            lt: 0,
            ft: 0,
        }
    }
}

impl Sim {
    pub(super) fn actor_ref(&self, who: Who) -> &Actor {
        match who {
            Who::Holder => &self.holder,
            Who::Provider => &self.provider,
            Who::User(i) => &self.users[i],
        }
    }

    pub(super) fn actor(&mut self, who: Who) -> &mut Actor {
        match who {
            Who::Holder => &mut self.holder,
            Who::Provider => &mut self.provider,
            Who::User(i) => &mut self.users[i],
        }
    }

    pub(super) fn publish(&mut self) {
        let input = self.price;
        self.m.write_price(&input);
    }

    /// The mid price as the program computes it from the current update.
    pub(super) fn mid(&self) -> Result<u128> {
        let p = &self.price;
        Ok(
            lever::math::price_band(p.price, p.conf, p.exponent, DECIMALS, u64::MAX, PPM)
                .map_err(Refusal::from)?
                .mid,
        )
    }

    /// The SDK's marks at this bar: funding accrued to now at the mid price.
    pub(super) fn marks(&self) -> Result<Marks> {
        let mid = self.mid()?;
        Ok(quote::marks(&quote::accrued(&self.shadow, mid, self.now)?, mid)?)
    }

    pub(super) fn vault_units(&self) -> Result<u64> {
        Ok(self.shadow.pool().units_owed().map_err(Refusal::from)?)
    }

    pub(super) fn compare(&self, chain_market: &Market, what: &str) -> Result<()> {
        same_market(chain_market, &self.shadow)
            .map_err(|e| anyhow!("bar {} ({}), {what}: {e}", self.bar, format_time(self.now)))
    }

    /// After any transaction: conservation against the real vault, and the chain's market
    /// against the prediction.
    pub(super) async fn after_tx(&mut self, what: &str) -> Result<()> {
        let chain_market = self.m.market().await?;
        let vault = self.m.vault_units().await?;
        if vault != chain_market.pool().units_owed().map_err(Refusal::from)? {
            self.conservation_violations += 1;
        }
        self.compare(&chain_market, what)
    }

    /// Send an instruction predicted to land; its return data must be `expected`.
    pub(super) async fn land(
        &mut self,
        what: &str,
        ix: Instruction,
        signer: Option<Keypair>,
        predicted: Market,
        expected: Vec<u8>,
    ) -> Result<()> {
        let signers: Vec<&Keypair> = signer.iter().collect();
        let ok = self.m.chain.send(&[ix], &signers).await.map_err(|e| {
            anyhow!(
                "bar {} ({}): {what} was predicted to land but failed: {e}",
                self.bar,
                format_time(self.now)
            )
        })?;
        if ok.return_data.as_deref() != Some(&expected[..]) {
            bail!(
                "bar {} ({}): {what} returned {:?}, the SDK predicted {:?}",
                self.bar,
                format_time(self.now),
                ok.return_data,
                expected
            );
        }
        let was_wiped = self.shadow.is_wiped();
        self.shadow = predicted;
        self.after_tx(what).await?;
        if !was_wiped && self.shadow.is_wiped() {
            self.wipeout().await?;
        }
        Ok(())
    }

    /// Send an instruction predicted to be refused; the chain must refuse it the same way.
    pub(super) async fn refuse(
        &mut self,
        what: &str,
        ix: Instruction,
        signer: Keypair,
        refusal: &Refusal,
    ) -> Result<()> {
        match self.m.chain.send(&[ix], &[&signer]).await {
            Ok(_) => bail!(
                "bar {} ({}): {what} landed, the SDK predicted {refusal}",
                self.bar,
                format_time(self.now)
            ),
            Err(e) if e.custom_code() != Some(refusal.code) => bail!(
                "bar {} ({}): {what} failed with {e}, the SDK predicted {refusal}",
                self.bar,
                format_time(self.now)
            ),
            Err(_) => self.after_tx(what).await,
        }
    }

    pub(super) async fn mint(&mut self, who: Who, amount: u64) -> Result<()> {
        self.user_op(who, Op::Mint, amount, 0).await.map(|_| ())
    }

    pub(super) async fn deposit(&mut self, who: Who, amount: u64) -> Result<()> {
        self.user_op(who, Op::Deposit, amount, 0).await.map(|_| ())
    }

    /// One user instruction, predicted then sent. A predicted refusal is sent too (and must be
    /// refused the same way) for the random users; the holder and the provider only send what
    /// lands. Returns whether it landed.
    pub(super) async fn user_op(&mut self, who: Who, op: Op, amount: u64, min_out_bump: u64) -> Result<bool> {
        let vault = self.vault_units()?;
        let (market, now, price) = (self.shadow, self.m.chain.clock(), self.price);
        let m = &self.m;
        let wallet = &self.actor_ref(who).wallet;
        let accounts = match op {
            Op::Mint | Op::Redeem => wallet.lt_accounts(m.price_account),
            Op::Deposit | Op::Withdraw => wallet.ft_accounts(m.price_account),
        };
        let signer = wallet.kp.insecure_clone();
        // Quote with no minimum, then send with the quoted amount (+ bump) as the minimum.
        let first = op.predict(&market, &price, vault, now, amount, 0);
        let min = first
            .as_ref()
            .map_or(0, |(_, d)| d.out().saturating_add(min_out_bump));
        let outcome = first.and_then(|_| op.predict(&market, &price, vault, now, amount, min));
        let ix = op.instruction(&m.keys, &accounts, amount, min);
        let label = format!("{op:?} by {who:?}");
        match outcome {
            Ok((predicted, delta)) => {
                let bytes = delta.encode()?;
                self.land(&label, ix, Some(signer), predicted, bytes).await?;
                let counter = match op {
                    Op::Mint => &mut self.landed.mint_lt,
                    Op::Redeem => &mut self.landed.redeem_lt,
                    Op::Deposit => &mut self.landed.deposit_funding,
                    Op::Withdraw => &mut self.landed.withdraw_funding,
                };
                *counter += 1;
                delta.apply(self.actor(who));
                Ok(true)
            }
            Err(refusal) if matches!(who, Who::User(_)) => {
                self.refuse(&label, ix, signer, &refusal).await?;
                self.user_refusals += 1;
                Ok(false)
            }
            Err(refusal) => bail!(
                "bar {} ({}): {label} would be refused: {refusal}",
                self.bar,
                format_time(self.now)
            ),
        }
    }

    /// The seeded users: each acts about once a day, picking one of the four user instructions
    /// with a random size; about one action in fifty asks for one unit more than the quote, which
    /// the program must refuse with `SlippageExceeded`.
    pub(super) async fn users_act(&mut self) -> Result<()> {
        if self.users.is_empty() {
            return Ok(());
        }
        let p_act = (self.bar_seconds as f64 / 86_400.0).min(1.0);
        for i in 0..self.users.len() {
            if self.rng.unit() >= p_act {
                continue;
            }
            let kind = self.rng.next_u64() % 4;
            let fraction = 0.05 + 0.95 * self.rng.unit();
            let bump = u64::from(self.rng.unit() < 0.02);
            let a = &self.users[i];
            let (op, balance) = match kind {
                0 => (Op::Mint, a.units / 5),
                1 => (Op::Redeem, a.lt),
                2 => (Op::Deposit, a.units / 5),
                _ => (Op::Withdraw, a.ft),
            };
            let amount = (balance as f64 * fraction) as u64;
            if amount == 0 {
                continue;
            }
            self.user_actions += 1;
            self.user_op(Who::User(i), op, amount, bump).await?;
        }
        Ok(())
    }

    /// The funding provider: steer the utilization the pool would have at target leverage,
    /// `(L-1)E / F`, back to its target when it leaves [target/2, (1+target)/2]. It deposits
    /// (minted underlying, so it never runs dry) or withdraws its own FT.
    pub(super) async fn provide(&mut self) -> Result<()> {
        let mid = self.mid()?;
        let view = quote::accrued(&self.shadow, mid, self.now)?;
        let pool = view.pool();
        let equity = pool.equity(mid).map_err(Refusal::from)?;
        if equity <= 0 || pool.lt_supply == 0 {
            return Ok(());
        }
        let l = self.shadow.params.target_leverage_ppm as f64 / PPM as f64;
        let want_debt = (l - 1.0) * equity as f64;
        let funding = pool.funding_value(mid).map_err(Refusal::from)? as f64;
        let target = self.cfg.utilization_target;
        let u = if funding > 0.0 { want_debt / funding } else { 1.0 };
        // Value units per raw unit (prices carry PRICE_SCALE).
        let value_per_unit = mid as f64 / PRICE_SCALE as f64;
        if u > (1.0 + target) / 2.0 {
            let units = ((want_debt / target - funding) / value_per_unit).ceil();
            if units >= 1.0 && units < u64::MAX as f64 / 4.0 {
                let units = units as u64;
                let to = self.provider.wallet.underlying;
                self.m.fund(&to, units).await?;
                self.provider.units += units;
                self.provider_actions += 1;
                self.user_op(Who::Provider, Op::Deposit, units, 0).await?;
            }
        } else if u < target / 2.0 && self.provider.ft > 0 {
            let excess = funding - want_debt / target;
            let ft_value =
                pool.ft_nav(mid).map_err(Refusal::from)? as f64 * self.provider.ft as f64 / UNITS_PER_TOKEN;
            let share = (excess / ft_value.max(1.0)).min(1.0);
            let shares = (self.provider.ft as f64 * share) as u64;
            if shares > 0 {
                // Paid from idle only: skip what the pool cannot pay now.
                let price = self.price;
                let vault = self.vault_units()?;
                if quote::withdraw_funding(&self.shadow, &price, vault, self.m.chain.clock(), shares, 0)
                    .is_ok()
                {
                    self.provider_actions += 1;
                    self.user_op(Who::Provider, Op::Withdraw, shares, 0).await?;
                }
            }
        }
        Ok(())
    }

    /// The keeper: rebalance when the market is out of band (or insolvent) at this bar.
    pub(super) async fn keep(&mut self) -> Result<()> {
        let mid = self.mid()?;
        let view = quote::accrued(&self.shadow, mid, self.now)?;
        let status = quote::marks(&view, mid)?.band;
        if !matches!(status, BandStatus::Out { .. } | BandStatus::Insolvent) {
            return Ok(());
        }
        let prediction = quote::rebalance(&self.shadow, &self.price, self.m.chain.clock()).map_err(|r| {
            anyhow!(
                "bar {} ({}): the keeper saw {status:?} but the rebalance would be refused: {r}",
                self.bar,
                format_time(self.now)
            )
        })?;
        let payer = self.m.chain.payer_pubkey();
        let ix = ix::rebalance(payer, self.m.keys.market, self.m.price_account);
        let expected = encode(&RebalanceOutcome::of(
            &prediction.quote,
            prediction.price.band.mid,
        ))?;
        self.keeper_rebalances += 1;
        self.landed.rebalance += 1;
        self.land("rebalance", ix, None, prediction.market, expected)
            .await
    }

    /// The leveraged pool was wiped out: the holder's NAV is 0 from here on. Every wiped LT is
    /// burned (redeemed for nothing), the admin re-opens the market, and the holder opens a new
    /// position so the rest of the path still runs through the program.
    pub(super) async fn wipeout(&mut self) -> Result<()> {
        self.wipeouts += 1;
        self.lt_alive = false;
        let holders: Vec<Who> = std::iter::once(Who::Holder)
            .chain((0..self.users.len()).map(Who::User))
            .collect();
        for who in holders {
            let lt = self.actor(who).lt;
            if lt > 0 {
                // Boxed: `user_op` may land a wipe-out itself, which calls back here.
                Box::pin(self.user_op(who, Op::Redeem, lt, 0)).await?;
            }
        }
        let reopened = quote::reopen_market(&self.shadow).map_err(|r| {
            anyhow!(
                "bar {} ({}): the market cannot be re-opened: {r}",
                self.bar,
                format_time(self.now)
            )
        })?;
        let admin = self.m.admin.insecure_clone();
        let ix = ix::reopen_market(admin.pubkey(), &self.m.keys);
        let signers = [&admin];
        self.m.chain.send(&[ix], &signers).await.map_err(|e| {
            anyhow!(
                "bar {} ({}): reopen_market failed: {e}",
                self.bar,
                format_time(self.now)
            )
        })?;
        self.shadow = reopened;
        self.landed.reopen_market += 1;
        self.after_tx("reopen_market").await?;
        Box::pin(self.open_position(self.price.price as f64 / 1e8)).await?;
        self.lt_base = self.marks()?.lt_nav.max(1);
        Ok(())
    }

    /// Open the holder's position at `close`: the provider first deposits what the pool will
    /// lend at the utilization target, then the holder mints `deposit_usd` of LT at target.
    pub(super) async fn open_position(&mut self, close: f64) -> Result<()> {
        let l = self.shadow.params.target_leverage_ppm as f64 / PPM as f64;
        let lend = usd_to_units(
            self.cfg.deposit_usd * (l - 1.0) / self.cfg.utilization_target,
            close,
        )?;
        let units = usd_to_units(self.cfg.deposit_usd, close)?;
        for (who, amount) in [(Who::Provider, lend), (Who::Holder, units)] {
            let to = self.actor(who).wallet.underlying;
            self.m.fund(&to, amount).await?;
            self.actor(who).units += amount;
        }
        self.provider_actions += 1;
        self.deposit(Who::Provider, lend).await?;
        self.mint(Who::Holder, units).await
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    Mint,
    Redeem,
    Deposit,
    Withdraw,
}

/// A landed user instruction's return data.
pub(super) enum Delta {
    Mint(MintLtOutcome),
    Redeem(RedeemLtOutcome),
    Deposit(DepositFundingOutcome),
    Withdraw(WithdrawFundingOutcome),
}

impl Op {
    /// The SDK's prediction: the market after it and the return data.
    pub(super) fn predict(
        self,
        market: &Market,
        price: &PriceInput,
        vault: u64,
        now: Now,
        amount: u64,
        min: u64,
    ) -> Result<(Market, Delta), Refusal> {
        Ok(match self {
            Op::Mint => {
                let p = quote::mint_lt(market, price, vault, now, amount, min)?;
                (p.market, Delta::Mint(MintLtOutcome::of(&p.quote, &p.price)))
            }
            Op::Redeem => {
                let p = quote::redeem_lt(market, price, vault, now, amount, min)?;
                (p.market, Delta::Redeem(RedeemLtOutcome::of(&p.quote, &p.price)))
            }
            Op::Deposit => {
                let p = quote::deposit_funding(market, price, vault, now, amount, min)?;
                (
                    p.market,
                    Delta::Deposit(DepositFundingOutcome::of(&p.quote, &p.price)),
                )
            }
            Op::Withdraw => {
                let p = quote::withdraw_funding(market, price, vault, now, amount, min)?;
                (
                    p.market,
                    Delta::Withdraw(WithdrawFundingOutcome::of(&p.quote, &p.price)),
                )
            }
        })
    }

    pub(super) fn instruction(
        self,
        keys: &MarketKeys,
        accounts: &UserAccounts,
        amount: u64,
        min: u64,
    ) -> Instruction {
        match self {
            Op::Mint => ix::mint_lt(keys, accounts, amount, min),
            Op::Redeem => ix::redeem_lt(keys, accounts, amount, min),
            Op::Deposit => ix::deposit_funding(keys, accounts, amount, min),
            Op::Withdraw => ix::withdraw_funding(keys, accounts, amount, min),
        }
    }
}

impl Delta {
    /// What the user receives: shares minted or units paid.
    pub(super) fn out(&self) -> u64 {
        match self {
            Delta::Mint(o) => o.shares_out,
            Delta::Redeem(o) => o.units_out,
            Delta::Deposit(o) => o.shares_out,
            Delta::Withdraw(o) => o.units_out,
        }
    }

    pub(super) fn encode(&self) -> Result<Vec<u8>> {
        match self {
            Delta::Mint(o) => encode(o),
            Delta::Redeem(o) => encode(o),
            Delta::Deposit(o) => encode(o),
            Delta::Withdraw(o) => encode(o),
        }
    }

    /// The wallet's balances after it (the chain checked them: saturating only guards the sim).
    pub(super) fn apply(&self, a: &mut Actor) {
        match self {
            Delta::Mint(o) => {
                a.units = a.units.saturating_sub(o.units_in);
                a.lt = a.lt.saturating_add(o.shares_out);
            }
            Delta::Redeem(o) => {
                a.lt = a.lt.saturating_sub(o.shares_in);
                a.units = a.units.saturating_add(o.units_out);
            }
            Delta::Deposit(o) => {
                a.units = a.units.saturating_sub(o.units_in);
                a.ft = a.ft.saturating_add(o.shares_out);
            }
            Delta::Withdraw(o) => {
                a.ft = a.ft.saturating_sub(o.shares_in);
                a.units = a.units.saturating_add(o.units_out);
            }
        }
    }
}
