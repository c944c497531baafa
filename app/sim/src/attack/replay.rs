//! One replay: the market, the honest holders, the keeper and one attacker, update by update.

use super::*;

/// The mid price (value units per raw unit, scaled) the program computes from `p`.
pub(super) fn mid_of(p: &PriceInput) -> Result<u128> {
    Ok(
        lever::math::price_band(p.price, p.conf, p.exponent, DECIMALS, u64::MAX, PPM)
            .map_err(Refusal::from)?
            .mid,
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Who {
    Holder,
    Provider,
    TwoStep,
}

impl Replay {
    pub(super) fn party(&self, who: Who) -> Result<&Party> {
        match who {
            Who::Holder => Ok(&self.holder),
            Who::Provider => Ok(&self.provider),
            Who::TwoStep => self.two.as_ref().ok_or_else(|| anyhow!("no two-step attacker")),
        }
    }

    pub(super) fn at(&self) -> String {
        format!("update {} ({})", self.k, format_time(self.ups[self.k].publish))
    }

    /// The clock the next transaction sees (the chain's slot, the replay's time).
    pub(super) fn clock(&self) -> Now {
        Now {
            unix_timestamp: self.now,
            slot: self.m.chain.clock().slot,
        }
    }

    /// Bring the chain's clock to the replay's time before a transaction.
    pub(super) fn sync(&mut self) {
        if self.m.chain.now() != self.now {
            self.m.chain.set_time(self.now);
        }
    }

    /// Send a transaction, then check conservation against the real vault: whatever happened, the
    /// vault holds exactly the units the books owe (exposure + idle + fees).
    pub(super) async fn send(
        &mut self,
        ixs: &[solana_instruction::Instruction],
        signers: &[&solana_keypair::Keypair],
    ) -> Result<lever_sdk::cluster::Landed> {
        let out = self.m.chain.send(ixs, signers).await;
        let market = self.m.market().await?;
        let vault = self.m.chain.token_amount(&self.m.keys.vault).await?;
        let owed = market.pool().units_owed().map_err(Refusal::from)?;
        if vault != owed {
            bail!("{}: conservation: vault {vault} != books {owed}", self.at());
        }
        Ok(out?)
    }

    pub(super) fn vault(&self) -> Result<u64> {
        Ok(self.market.pool().units_owed().map_err(Refusal::from)?)
    }

    pub(super) async fn refresh(&mut self) -> Result<()> {
        self.market = self.m.market().await?;
        Ok(())
    }

    /// Index of the update covering `tau` (the first published at or after it), if any.
    pub(super) fn cover(&self, tau: i64) -> Option<usize> {
        let j = self.ups.partition_point(|u| u.publish < tau);
        (j < self.ups.len()).then_some(j)
    }

    /// Open a request of `kind` for `amount` by `who` at the chain's current time.
    pub(super) async fn open(&mut self, who: Who, kind: RequestKind, amount: u64, leg: Leg) -> Result<()> {
        self.nonce += 1;
        let w = &self.party(who)?.wallet;
        let (source, destination) = match kind {
            RequestKind::MintLt => (w.underlying, w.lt),
            RequestKind::RedeemLt => (w.lt, w.underlying),
            RequestKind::DepositFunding => (w.underlying, w.ft),
            RequestKind::WithdrawFunding => (w.ft, w.underlying),
        };
        let owner = w.pubkey();
        let signer = w.kp.insecure_clone();
        let args = RequestArgs {
            nonce: self.nonce,
            amount,
            min_out: 0,
            tip_lamports: self.cfg.min_settle_tip_lamports,
        };
        let accounts = RequestAccounts {
            payer: owner,
            owner,
            source,
            destination,
        };
        let ix = ix::open_request(&self.m.keys, kind, &accounts, args);
        self.sync();
        self.send(&[ix], &[&signer])
            .await
            .map_err(|e| anyhow!("{}: request {kind:?} of {amount} by {who:?}: {e}", self.at()))?;
        let address = lever_sdk::pda::request(&self.m.keys.market, &owner, self.nonce);
        let account = self
            .m
            .chain
            .account(&address)
            .await?
            .ok_or_else(|| anyhow!("the request {address} is not on chain"))?;
        let request = lever_sdk::accounts::decode_request(&account)
            .ok_or_else(|| anyhow!("{address} is not a request"))?;
        if leg != Leg::Honest {
            self.report.two_step_tips_usd += self.cfg.min_settle_tip_lamports as f64 / 1e9 * SOL_USD_FOR_TIPS;
        }
        self.pending.push(Pending {
            address,
            request,
            leg,
        });
        Ok(())
    }

    /// The keeper settles every request whose covering update is published (or cancels one past
    /// its window).
    pub(super) async fn settle_due(&mut self) -> Result<()> {
        // In target order, as the keeper does: a later target settled first moves the books on.
        self.pending.sort_by_key(|p| p.request.tau);
        let mut i = 0;
        while i < self.pending.len() {
            let (tau, expires) = (self.pending[i].request.tau, self.pending[i].request.expires_at);
            let due = self.cover(tau).filter(|&j| j <= self.k);
            if self.now > expires {
                self.sync();
                let p = self.pending.remove(i);
                let payer = self.m.chain.payer_pubkey();
                let ix = ix::cancel_request(payer, &self.m.keys, p.address, &p.request);
                self.send(&[ix], &[])
                    .await
                    .map_err(|e| anyhow!("{}: cancel_request: {e}", self.at()))?;
                self.after_settle(p.leg, None, 0.0)?;
                continue;
            }
            let Some(j) = due else {
                i += 1;
                continue;
            };
            let p = self.pending.remove(i);
            let input = self.inputs[j];
            let account = self.m.price_account;
            self.sync();
            self.m.chain.write_price(&account, &input);
            let payer = self.m.chain.payer_pubkey();
            let ix = ix::settle_request(payer, &self.m.keys, p.address, &p.request, account);
            let landed = self
                .send(&[ix], &[])
                .await
                .map_err(|e| anyhow!("{}: settle_request at update {j}: {e}", self.at()))?;
            let data = landed
                .return_data
                .ok_or_else(|| anyhow!("settle_request returned nothing"))?;
            let out = SettleOutcome::deserialize(&mut &data[..]).context("decode SettleOutcome")?;
            self.refresh().await?;
            self.after_settle(p.leg, Some(out), self.ups[j].price)?;
        }
        Ok(())
    }

    /// The two-step attacker's books after one of its requests ended (`None`: cancelled).
    pub(super) fn after_settle(&mut self, leg: Leg, out: Option<SettleOutcome>, price: f64) -> Result<()> {
        let filled = out.filter(|o| o.filled);
        self.two_state = match (leg, self.two_state, filled) {
            (Leg::Honest, s, _) => s,
            (Leg::Entry, TwoStep::Entering { kind, units, known }, Some(o)) => TwoStep::Holding {
                kind,
                units,
                shares: o.amount_out,
                known,
            },
            (
                Leg::Exit,
                TwoStep::Exiting {
                    kind,
                    units,
                    shares,
                    known,
                },
                None,
            ) => TwoStep::Holding {
                kind,
                units,
                shares,
                known,
            },
            (Leg::Entry, _, None) => {
                self.report.two_step_refunds += 1;
                TwoStep::Idle
            }
            (Leg::Exit, TwoStep::Exiting { kind, units, .. }, Some(o)) => {
                let pnl = units_usd(o.amount_out, units, price)
                    - 2.0 * self.cfg.min_settle_tip_lamports as f64 / 1e9 * SOL_USD_FOR_TIPS;
                self.report.two_step_pnl_usd += pnl;
                self.report.round_trips.two_step += 1;
                if pnl > 0.0 {
                    self.report.two_step_winning_round_trips += 1;
                }
                match kind {
                    RequestKind::MintLt => self.report.two_step_lt_round_trips += 1,
                    _ => self.report.two_step_ft_round_trips += 1,
                }
                TwoStep::Idle
            }
            (l, s, _) => bail!("{}: a {l:?} settled while the attacker was {s:?}", self.at()),
        };
        if leg == Leg::Exit && out.is_some_and(|o| !o.filled) {
            self.report.two_step_refunds += 1;
        }
        Ok(())
    }

    /// Would a request of `kind` for `amount` fill if it settled at the newest price now?
    pub(super) fn fills(&self, kind: RequestKind, amount: u64) -> Result<bool> {
        let now = self.clock();
        Ok(quote::settle_now(
            &self.market,
            kind,
            amount,
            0,
            &self.inputs[self.k],
            self.vault()?,
            now,
        )
        .map(|p| p.fill().is_some())
        .unwrap_or(false))
    }

    /// The two-step attacker at update `k`.
    pub(super) async fn two_step_attack(&mut self) -> Result<()> {
        let Some(party) = &self.two else {
            return Ok(());
        };
        let (under, lt, ft) = (party.wallet.underlying, party.wallet.lt, party.wallet.ft);
        let delay = i64::try_from(self.cfg.settle_delay_secs).context("delay")?;
        let k = self.k;
        let tau_now = self.now + delay;
        // The update the next request would settle at, if it is already published.
        let known_entry = self.cover(tau_now).filter(|&j| j <= k);
        // Where an exit requested at the next update would settle, if that is published now.
        let known_exit = self.ups.get(k + 1).and_then(|next| {
            self.cover(next.publish - self.cfg.clock_lag_secs + delay)
                .filter(|&j| j <= k)
        });
        let l = self.market.params.target_leverage_ppm as f64 / PPM as f64;
        let conf = 2.0 * self.cfg.conf_ratio;
        let lt_cost = self.market.params.mint_fee_ppm as f64 / 1e6
            + self.market.params.redeem_fee_ppm as f64 / 1e6
            + conf;
        let ft_cost = self.market.params.deposit_fee_ppm as f64 / 1e6
            + self.market.params.withdraw_fee_ppm as f64 / 1e6
            + conf;
        match self.two_state {
            TwoStep::Idle => {
                let (kind, known) = match (known_entry, known_exit) {
                    (Some(a), Some(b)) if b > a => {
                        // It knows both prices: take the side that pays after costs.
                        let r = self.ups[b].price / self.ups[a].price - 1.0;
                        if (l - 1.0) * r > lt_cost {
                            (RequestKind::MintLt, true)
                        } else if -r > ft_cost {
                            (RequestKind::DepositFunding, true)
                        } else {
                            return Ok(());
                        }
                    }
                    _ => {
                        // It knows nothing the settlement will use: bet on the momentum of the
                        // closes, at bar closes only (so both legs settle at the same phase of
                        // their bars, not at a high or low the replay's path put there).
                        let u = self.ups[k];
                        if !u.is_close || u.bar == 0 {
                            return Ok(());
                        }
                        let prev = self.series_close(u.bar - 1);
                        let r = u.price / prev - 1.0;
                        if r >= self.cfg.momentum_threshold {
                            (RequestKind::MintLt, false)
                        } else if r <= -self.cfg.momentum_threshold {
                            (RequestKind::DepositFunding, false)
                        } else {
                            return Ok(());
                        }
                    }
                };
                let balance = self.m.chain.token_amount(&under).await?;
                let mut amount = balance;
                for _ in 0..SIZE_STEPS {
                    if amount == 0 || self.fills(kind, amount)? {
                        break;
                    }
                    amount /= 2;
                }
                if amount == 0 || !self.fills(kind, amount)? {
                    return Ok(());
                }
                self.two_state = TwoStep::Entering {
                    kind,
                    units: amount,
                    known,
                };
                self.open(Who::TwoStep, kind, amount, Leg::Entry).await
            }
            TwoStep::Holding {
                kind,
                units,
                shares,
                known,
            } => {
                let exit_now = if known { true } else { self.ups[k].is_close };
                if !exit_now {
                    return Ok(());
                }
                let (exit_kind, account) = match kind {
                    RequestKind::MintLt => (RequestKind::RedeemLt, lt),
                    _ => (RequestKind::WithdrawFunding, ft),
                };
                let held = self.m.chain.token_amount(&account).await?;
                if held < shares {
                    bail!(
                        "{}: the attacker holds {held} shares, expected {shares}",
                        self.at()
                    );
                }
                self.two_state = TwoStep::Exiting {
                    kind,
                    units,
                    shares,
                    known,
                };
                self.open(Who::TwoStep, exit_kind, shares, Leg::Exit).await
            }
            TwoStep::Entering { .. } | TwoStep::Exiting { .. } => Ok(()),
        }
    }

    /// The close of bar `b` (its close update's price).
    pub(super) fn series_close(&self, b: usize) -> f64 {
        let per = self.cfg.updates_per_bar;
        self.ups.get(b * per + 3 * per / 4).map_or(f64::NAN, |u| u.price)
    }

    /// The instant attacker at update `k`: the best stale-then-newest round trip the quotes allow.
    pub(super) async fn instant_attack(&mut self) -> Result<()> {
        let Some(party) = &self.instant else {
            return Ok(());
        };
        let (under, lt, ft) = (party.wallet.underlying, party.wallet.lt, party.wallet.ft);
        let signer = party.wallet.kp.insecure_clone();
        let k = self.k;
        let now = self.clock();
        let age = i64::try_from(self.market.params.instant_max_age_secs).context("age")?;
        let newest = self.ups[k].price;
        // Older updates the program would still take: within the age of the lagging clock and not
        // older than the market's last price (the confidence is constant and within the limit).
        let mut low: Option<usize> = None;
        let mut high: Option<usize> = None;
        for j in (0..k).rev() {
            let p = self.ups[j].publish;
            if now.unix_timestamp - p > age || p < self.market.last_publish_time {
                break;
            }
            if self.ups[j].price < newest && low.is_none_or(|i| self.ups[j].price < self.ups[i].price) {
                low = Some(j);
            }
            if self.ups[j].price > newest && high.is_none_or(|i| self.ups[j].price > self.ups[i].price) {
                high = Some(j);
            }
        }
        if low.is_none() && high.is_none() {
            return Ok(());
        }
        // The legs' slots follow the synced clock's: each price write starts a new slot.
        self.sync();
        let now = self.clock();
        let balance = self.m.chain.token_amount(&under).await?;
        let cap = self.market.params.instant_slot_cap;
        // Slots of the two legs: each price write starts a new slot.
        let s1 = Now {
            slot: now.slot + 1,
            ..now
        };
        let s2 = Now {
            slot: now.slot + 2,
            ..now
        };
        let mut best: Option<(f64, Trip)> = None;
        for (stale, lt_side) in [(low, true), (high, false)] {
            let Some(j) = stale else { continue };
            let mut amount = balance.min(cap);
            for _ in 0..SIZE_STEPS {
                if amount == 0 {
                    break;
                }
                if let Some(t) = self.quote_trip(lt_side, j, amount, s1, s2)? {
                    let pnl = units_usd(t.units_out, t.units_in, newest);
                    if pnl > 0.0 && best.as_ref().is_none_or(|(b, _)| pnl > *b) {
                        best = Some((pnl, t));
                    }
                    break;
                }
                amount /= 2;
            }
        }
        let Some((pnl, trip)) = best else {
            return Ok(());
        };
        // Execute: leg 1 at the stale update, leg 2 at the newest, each in its own slot.
        let account = self.m.price_account;
        let w = &self
            .instant
            .as_ref()
            .ok_or_else(|| anyhow!("no instant attacker"))?
            .wallet;
        let (lt_acc, ft_acc) = (w.lt_accounts(account), w.ft_accounts(account));
        let before = self.m.chain.token_amount(&under).await?;
        self.sync();
        let input = self.inputs[trip.stale];
        self.m.chain.write_price(&account, &input);
        let ix1 = if trip.lt {
            ix::mint_lt(&self.m.keys, &lt_acc, trip.units_in, trip.shares)
        } else {
            ix::deposit_funding(&self.m.keys, &ft_acc, trip.units_in, trip.shares)
        };
        self.send(&[ix1], &[&signer])
            .await
            .map_err(|e| anyhow!("{}: instant entry predicted to land: {e}", self.at()))?;
        let got = self.m.chain.token_amount(if trip.lt { &lt } else { &ft }).await?;
        let input = self.inputs[k];
        self.m.chain.write_price(&account, &input);
        let ix2 = if trip.lt {
            ix::redeem_lt(&self.m.keys, &lt_acc, got, 0)
        } else {
            ix::withdraw_funding(&self.m.keys, &ft_acc, got, 0)
        };
        self.send(&[ix2], &[&signer])
            .await
            .map_err(|e| anyhow!("{}: instant exit predicted to land: {e}", self.at()))?;
        self.refresh().await?;
        let after = self.m.chain.token_amount(&under).await?;
        if got != trip.shares || after + trip.units_in != before + trip.units_out {
            self.report.instant_quote_mismatches += 1;
        }
        // The landed amounts count, not the quote (they are equal unless a mismatch is counted).
        let realized = units_usd(after, before, newest);
        let _quoted = pnl;
        self.report.instant_pnl_usd += realized;
        self.report.instant_best_usd = self.report.instant_best_usd.max(realized);
        self.report.round_trips.instant += 1;
        if trip.lt {
            self.report.instant_lt_round_trips += 1;
        } else {
            self.report.instant_ft_round_trips += 1;
        }
        Ok(())
    }

    /// The quoted instant round trip: entry at update `stale` in slot `s1`, exit at the newest in
    /// `s2`. `None` if either leg would be refused.
    pub(super) fn quote_trip(
        &self,
        lt: bool,
        stale: usize,
        amount: u64,
        s1: Now,
        s2: Now,
    ) -> Result<Option<Trip>> {
        let vault = self.vault()?;
        let (p1, p2) = (&self.inputs[stale], &self.inputs[self.k]);
        let units_after = |m: &Market| m.pool().units_owed().map_err(Refusal::from);
        // (units in, shares, the market after the first leg), then the units the second pays.
        let first = if lt {
            quote::mint_lt(&self.market, p1, vault, s1, amount, 0)
                .map(|a| (a.quote.units_in, a.quote.shares_out, a.market))
        } else {
            quote::deposit_funding(&self.market, p1, vault, s1, amount, 0)
                .map(|a| (a.quote.units_in, a.quote.shares_out, a.market))
        };
        let Ok((units_in, shares, after)) = first else {
            return Ok(None);
        };
        let vault_after = units_after(&after)?;
        let second = if lt {
            quote::redeem_lt(&after, p2, vault_after, s2, shares, 0).map(|b| b.quote.units_out)
        } else {
            quote::withdraw_funding(&after, p2, vault_after, s2, shares, 0).map(|b| b.quote.units_out)
        };
        let Ok(units_out) = second else {
            return Ok(None);
        };
        let trip = Trip {
            lt,
            stale,
            units_in,
            shares,
            units_out,
        };
        Ok(Some(trip))
    }

    /// The keeper: rebalance at the newest update when the program would (out of band).
    pub(super) async fn keep(&mut self) -> Result<()> {
        let input = self.inputs[self.k];
        let now = self.clock();
        let next = Now {
            slot: now.slot + 1,
            ..now
        };
        if quote::rebalance(&self.market, &input, next).is_err() {
            return Ok(());
        }
        let account = self.m.price_account;
        self.sync();
        self.m.chain.write_price(&account, &input);
        let payer = self.m.chain.payer_pubkey();
        let ix = ix::rebalance(payer, self.m.keys.market, account);
        self.send(&[ix], &[])
            .await
            .map_err(|e| anyhow!("{}: rebalance predicted to land: {e}", self.at()))?;
        self.keeper_rebalances += 1;
        self.refresh().await
    }
}

/// An instant round trip as quoted.
#[derive(Clone, Copy, Debug)]
pub(super) struct Trip {
    lt: bool,
    stale: usize,
    units_in: u64,
    shares: u64,
    units_out: u64,
}
