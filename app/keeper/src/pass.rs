//! One keeper pass per market: read, decide with the program's own code, simulate, send, retry, log.

use super::*;
use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use lever::constants::{pause, PPM};
use lever::error::LeverError;
use lever::instructions::RebalanceOutcome;
use lever::math::RebalanceResult;
use lever::oracle::Now;
use lever::state::Market;
use lever_sdk::accounts::decode_market;
use lever_sdk::cluster::{custom_code, Cluster, ClusterError, ClusterResult};
use lever_sdk::pyth::{price_input, scaled, sponsored_feed_address, to_hex};
use lever_sdk::{ix, quote};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::{Hash, Signature, Transaction};
use solana_transaction_error::TransactionError;
use std::collections::HashMap;

pub struct Keeper<C> {
    pub(super) cluster: C,
    pub(super) payer: Keypair,
    pub(super) config: KeeperConfig,
}

impl<C: Cluster> Keeper<C> {
    /// A keeper paying fees from `payer` (it signs the rebalances; it needs lamports only).
    pub fn new(cluster: C, payer: Keypair, config: KeeperConfig) -> Self {
        Self {
            cluster,
            payer,
            config,
        }
    }

    pub fn cluster(&self) -> &C {
        &self.cluster
    }

    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    pub fn config(&self) -> &KeeperConfig {
        &self.config
    }

    /// The markets one pass goes over.
    pub async fn markets(&self) -> ClusterResult<Vec<Pubkey>> {
        match &self.config.markets {
            MarketSelection::Only(markets) => Ok(markets.clone()),
            MarketSelection::All => Ok(self
                .cluster
                .markets()
                .await?
                .into_iter()
                .map(|(k, _)| k)
                .collect()),
        }
    }

    /// One pass over the markets: a decision for each (each also logged).
    pub async fn run_once(&self) -> ClusterResult<Vec<Decision>> {
        Ok(self.pass(&Shutdown::never()).await?.0)
    }

    /// Passes every [`KeeperConfig::poll_interval`] until `shutdown` fires. The signal is looked at
    /// between markets and while waiting between passes: a market being handled (its simulation,
    /// send, confirmation and retries) is always finished first.
    pub async fn run(&self, mut shutdown: Shutdown) -> RunSummary {
        let mut summary = RunSummary::default();
        while !shutdown.is_requested() {
            match self.pass(&shutdown).await {
                Ok((decisions, complete)) => {
                    for d in decisions {
                        *summary.decisions.entry(d.action).or_default() += 1;
                    }
                    if complete {
                        summary.passes += 1;
                    }
                }
                Err(e) => {
                    summary.failed_passes += 1;
                    self.config.log.write_line(
                        &serde_json::json!({
                            "event": "pass_failed",
                            "keeper": self.payer().to_string(),
                            "reason": format!("list markets: {e}"),
                        })
                        .to_string(),
                    );
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.requested() => {}
            }
        }
        let decisions: HashMap<String, u64> = summary
            .decisions
            .iter()
            .map(|(a, n)| (a.as_str().to_string(), *n))
            .collect();
        self.config.log.write_line(
            &serde_json::json!({
                "event": "stopped",
                "keeper": self.payer().to_string(),
                "passes": summary.passes,
                "failed_passes": summary.failed_passes,
                "decisions": decisions,
            })
            .to_string(),
        );
        summary
    }

    /// One pass; `false` if the signal stopped it before the last market.
    pub(super) async fn pass(&self, shutdown: &Shutdown) -> ClusterResult<(Vec<Decision>, bool)> {
        let markets = self.markets().await?;
        let mut decisions = Vec::with_capacity(markets.len());
        for market in markets {
            if shutdown.is_requested() {
                return Ok((decisions, false));
            }
            // Requests first, in `tau` order, so each settles at or after the books' price; then
            // the rebalance, if the market is still out of band.
            match &self.config.hermes {
                Some(hermes) => {
                    let source = self.hermes_updates(hermes.clone(), HashMap::new());
                    self.settle_due(&market, &source).await
                }
                None => self.settle_due(&market, &self.account_updates()).await,
            };
            decisions.push(self.keep(&market).await);
        }
        Ok((decisions, true))
    }

    /// Assess one market and act on it.
    pub async fn keep(&self, market: &Pubkey) -> Decision {
        let assessment = self.assess(market).await;
        self.act(assessment).await
    }

    /// Read the market and its price and decide, with the program's own code, what to do.
    /// Sends nothing.
    pub async fn assess(&self, market: &Pubkey) -> Assessment {
        let mut observed = Observed::default();
        let verdict = self.judge(market, &mut observed).await;
        Assessment {
            market: *market,
            observed,
            verdict,
        }
    }

    pub(super) async fn judge(&self, key: &Pubkey, obs: &mut Observed) -> Verdict {
        let now = match self.cluster.clock().await {
            Ok(now) => now,
            Err(e) => return Verdict::Retry(format!("read clock: {e}")),
        };
        obs.now = Some(now);
        let market = match self.cluster.account(key).await {
            Err(e) => return Verdict::Retry(format!("read market: {e}")),
            Ok(None) => return failed(format!("market account {key} not found")),
            Ok(Some(account)) => match decode_market(&account) {
                Some(m) => m,
                None => return failed(format!("{key} is not a Lever market account")),
            },
        };
        obs.target_leverage_ppm = Some(market.params.target_leverage_ppm);
        if market.paused & pause::REBALANCE != 0 {
            return Verdict::Skip(format!("rebalance paused (pause bits {:#07b})", market.paused));
        }
        let configured = self.config.price_accounts.get(&market.feed_id).copied();
        let sponsored = self
            .config
            .sponsored_shard
            .map(|shard| sponsored_feed_address(shard, &market.feed_id));
        let Some(price_account) = configured.or(sponsored) else {
            return failed(format!(
                "no price account configured for feed 0x{}",
                to_hex(&market.feed_id)
            ));
        };
        let update = match self.cluster.account(&price_account).await {
            Err(e) => return Verdict::Retry(format!("read price account: {e}")),
            Ok(None) => return failed(format!("price account {price_account} not found")),
            Ok(Some(a)) => match lever_sdk::ops::price_update_of(&price_account, &a) {
                Ok(u) => u,
                Err(e) => return failed(e.to_string()),
            },
        };
        let msg = &update.price_message;
        let age = now.unix_timestamp.saturating_sub(msg.publish_time);
        obs.price = Some(scaled(msg.price, msg.exponent));
        obs.publish_time = Some(msg.publish_time);
        obs.publish_age_secs = Some(age);
        if msg.feed_id != market.feed_id {
            return Verdict::Failed {
                reason: format!(
                    "price account {price_account} holds feed 0x{}",
                    to_hex(&msg.feed_id)
                ),
                code: Some(LeverError::PriceFeedMismatch.into()),
            };
        }
        let max_age = market.params.max_price_age_secs;
        if age > 0 && age as u64 > max_age {
            return Verdict::Wait {
                reason: format!(
                    "price too old: published {age} s ago, market max age {max_age} s; waiting for a fresh price"
                ),
                code: Some(LeverError::PriceTooOld.into()),
            };
        }
        match quote::rebalance(&market, &price_input(&update), now) {
            Ok(p) => {
                let r = p.quote;
                obs.leverage_ppm = nonzero_ppm(r.leverage_before_ppm);
                let reason = if r.wiped {
                    "insolvent: equity <= 0 at the mid price, the leveraged pool will be wiped out"
                        .to_string()
                } else {
                    format!(
                        "out of band: leverage {} outside {}; rebalance to {}{}",
                        lev(r.leverage_before_ppm),
                        band_text(&market),
                        lev(r.leverage_after_ppm),
                        if r.bounded { " (bounded by idle units)" } else { "" }
                    )
                };
                Verdict::Rebalance {
                    price_account,
                    expected: r,
                    reason,
                }
            }
            Err(r) if r.is(LeverError::WithinBand) => {
                obs.leverage_ppm = in_band_leverage(&market, &update, now);
                Verdict::Skip(format!(
                    "in band: leverage {} within {}",
                    obs.leverage_ppm
                        .map(|l| lev(l.into()))
                        .unwrap_or_else(|| "?".into()),
                    band_text(&market)
                ))
            }
            Err(r) if r.is(LeverError::NothingToRebalance) => {
                Verdict::Skip("nothing to rebalance: the leveraged pool is empty".into())
            }
            Err(r) if r.is(LeverError::OperationPaused) => Verdict::Skip("rebalance paused".into()),
            Err(r) if r.is(LeverError::PriceChangedInSlot) => Verdict::NextSlot(format!(
                "{r}: another price was already used in slot {}",
                now.slot
            )),
            Err(r)
                if [
                    LeverError::PriceTooOld,
                    LeverError::PriceOlderThanLast,
                    LeverError::PriceConfidenceTooWide,
                    LeverError::PriceNotPositive,
                ]
                .into_iter()
                .any(|e| r.is(e)) =>
            {
                Verdict::Wait {
                    reason: format!("the program would refuse this price: {r}; waiting for another"),
                    code: Some(r.code),
                }
            }
            Err(r) => Verdict::Failed {
                reason: format!("the program would refuse the rebalance: {r}"),
                code: Some(r.code),
            },
        }
    }

    /// Carry out an assessment: for a rebalance, simulate then send, retrying transient failures
    /// (each retry assesses the market again). Logs and returns the decision.
    pub async fn act(&self, assessment: Assessment) -> Decision {
        let mut a = assessment;
        let mut attempt = 1u32;
        let decision = loop {
            let outcome = match &a.verdict {
                Verdict::Skip(reason) => Outcome::Done(Done::new(Action::Skip, reason.clone(), None)),
                Verdict::Wait { reason, code } => {
                    Outcome::Done(Done::new(Action::Wait, reason.clone(), *code))
                }
                Verdict::Failed { reason, code } => {
                    Outcome::Done(Done::new(Action::Failed, reason.clone(), *code))
                }
                Verdict::NextSlot(reason) => Outcome::Retry {
                    reason: reason.clone(),
                    next_slot: true,
                },
                Verdict::Retry(reason) => Outcome::Retry {
                    reason: reason.clone(),
                    next_slot: false,
                },
                Verdict::Rebalance {
                    price_account,
                    expected,
                    reason,
                } => {
                    self.try_rebalance(&a.market, *price_account, expected, reason)
                        .await
                }
            };
            match outcome {
                Outcome::Done(done) => break self.decision(&a, done, attempt),
                Outcome::Retry { reason, next_slot } => {
                    if attempt > self.config.max_retries {
                        let action = if next_slot { Action::Wait } else { Action::Failed };
                        let code = next_slot.then(|| LeverError::PriceChangedInSlot.into());
                        let done = Done::new(
                            action,
                            format!("gave up after {attempt} attempts: {reason}"),
                            code,
                        );
                        break self.decision(&a, done, attempt);
                    }
                    if next_slot {
                        let slot = a.observed.now.map(|n| n.slot).unwrap_or_default();
                        if self.cluster.wait_for_slot_after(slot).await.is_err() {
                            tokio::time::sleep(self.config.backoff(attempt)).await;
                        }
                    } else {
                        tokio::time::sleep(self.config.backoff(attempt)).await;
                    }
                    attempt += 1;
                    a = self.assess(&a.market).await;
                }
            }
        };
        self.config.log.write_line(&decision.to_json());
        decision
    }

    /// The signed rebalance transaction: compute budget, then `rebalance`.
    pub fn rebalance_transaction(
        &self,
        market: &Pubkey,
        price_account: &Pubkey,
        blockhash: Hash,
    ) -> Transaction {
        let mut ixs = self.budget();
        ixs.push(ix::rebalance(self.payer(), *market, *price_account));
        Transaction::new_signed_with_payer(&ixs, Some(&self.payer()), &[&self.payer], blockhash)
    }

    pub(super) async fn try_rebalance(
        &self,
        market: &Pubkey,
        price_account: Pubkey,
        expected: &RebalanceResult,
        reason: &str,
    ) -> Outcome {
        let blockhash = match self.cluster.latest_blockhash().await {
            Ok(h) => h,
            Err(e) => return retry(format!("latest blockhash: {e}")),
        };
        let tx = self.rebalance_transaction(market, &price_account, blockhash);
        let simulation = match self.cluster.simulate(&tx).await {
            Ok(s) => s,
            Err(e) => return retry(format!("simulate: {e}")),
        };
        if let Some(error) = simulation.error {
            return refused("simulation", error, None);
        }
        match self.cluster.send_and_confirm(&tx).await {
            Ok(landed) => {
                let outcome = landed
                    .return_data
                    .as_deref()
                    .and_then(|mut data| RebalanceOutcome::deserialize(&mut data).ok());
                let after = outcome.map_or(expected.leverage_after_ppm, |o| o.leverage_after_ppm);
                Outcome::Done(Done {
                    action: Action::Rebalanced,
                    reason: reason.to_string(),
                    code: None,
                    signature: Some(landed.signature),
                    leverage_after_ppm: Some(ppm_u64(after)),
                })
            }
            Err(ClusterError::Transaction { error, signature, .. }) => refused("the chain", error, signature),
            Err(e @ ClusterError::Expired { .. }) => retry(e.to_string()),
            Err(ClusterError::Client(e)) => retry(format!("send: {e}")),
        }
    }

    pub(super) fn decision(&self, a: &Assessment, done: Done, attempt: u32) -> Decision {
        let o = &a.observed;
        Decision {
            market: a.market,
            keeper: self.payer(),
            action: done.action,
            reason: done.reason,
            leverage_before_ppm: o.leverage_ppm,
            leverage_after_ppm: done.leverage_after_ppm,
            target_leverage_ppm: o.target_leverage_ppm,
            price: o.price,
            publish_time: o.publish_time,
            publish_age_secs: o.publish_age_secs,
            signature: done.signature,
            error_code: done.code,
            attempt,
            slot: o.now.map(|n| n.slot),
            unix_time: o.now.map(|n| n.unix_timestamp),
        }
    }
}

pub(super) fn failed(reason: String) -> Verdict {
    Verdict::Failed { reason, code: None }
}

pub(super) fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        reason,
        next_slot: false,
    }
}

/// A refusal by the simulation or the chain.
pub(super) fn refused(stage: &str, error: TransactionError, signature: Option<Signature>) -> Outcome {
    let code = custom_code(&error);
    let is = |e: LeverError| code == Some(u32::from(e));
    let named = match code {
        Some(c) => format!("{} ({c})", error_name(c)),
        None => error.to_string(),
    };
    if is(LeverError::WithinBand) || is(LeverError::NothingToRebalance) {
        return Outcome::Done(Done {
            signature,
            ..Done::new(
                Action::LostRace,
                format!("{stage} refused with {named}: another keeper rebalanced first"),
                code,
            )
        });
    }
    if is(LeverError::PriceChangedInSlot) {
        return Outcome::Retry {
            reason: format!("{stage} refused with {named}"),
            next_slot: true,
        };
    }
    if is(LeverError::OperationPaused) {
        return Outcome::Done(Done {
            signature,
            ..Done::new(
                Action::Skip,
                format!("{stage} refused with {named}: paused meanwhile"),
                code,
            )
        });
    }
    // Transient: the next assessment sees what changed (a price gone stale becomes a `wait`).
    if is(LeverError::PriceTooOld)
        || matches!(
            error,
            TransactionError::BlockhashNotFound | TransactionError::AlreadyProcessed
        )
    {
        return retry(format!("{stage} refused with {named}"));
    }
    Outcome::Done(Done {
        signature,
        ..Done::new(Action::Failed, format!("{stage} refused with {named}"), code)
    })
}

/// The name of a custom program error code (Lever's, or Anchor's framework errors by number).
pub fn error_name(code: u32) -> String {
    const LEVER: &[LeverError] = &[
        LeverError::OperationPaused,
        LeverError::PriceFeedMismatch,
        LeverError::PriceTooOld,
        LeverError::PriceNotFullyVerified,
        LeverError::PriceConfidenceTooWide,
        LeverError::PriceNotPositive,
        LeverError::PriceOlderThanLast,
        LeverError::PriceOutOfRange,
        LeverError::WithinBand,
        LeverError::NothingToRebalance,
        LeverError::MathOverflow,
        LeverError::DivisionByZero,
        LeverError::InvalidPoolState,
        LeverError::PriceChangedInSlot,
        LeverError::UnexpectedAccounts,
    ];
    LEVER
        .iter()
        .find(|e| u32::from(**e) == code)
        .map(|e| quote::Refusal::from(*e).name)
        .unwrap_or_else(|| format!("custom program error {code}"))
}

/// Leverage at the mid price with funding accrued, as the program would see it (in band).
pub(super) fn in_band_leverage(market: &Market, update: &PriceUpdateV2, now: Now) -> Option<u64> {
    let price = lever::oracle::read_price(update, market, now).ok()?;
    let accrued = quote::accrued(market, price.band.mid, now.unix_timestamp).ok()?;
    let leverage = quote::marks(&accrued, price.band.mid).ok()?.leverage_ppm?;
    Some(ppm_u64(leverage))
}

pub(super) fn ppm_u64(ppm: u128) -> u64 {
    u64::try_from(ppm).unwrap_or(u64::MAX)
}

pub(super) fn nonzero_ppm(ppm: u128) -> Option<u64> {
    (ppm != 0).then(|| ppm_u64(ppm))
}

pub(super) fn lev(ppm: u128) -> String {
    format!("{:.4}x", ppm as f64 / PPM as f64)
}

/// "3x ± 5% (2.8500x-3.1500x)".
pub(super) fn band_text(market: &Market) -> String {
    let target = u128::from(market.params.target_leverage_ppm);
    let width = target * u128::from(market.params.band_ppm) / u128::from(PPM);
    format!(
        "{} ± {}% ({}-{})",
        lever_sdk::units::leverage_label(market.params.target_leverage_ppm) + "x",
        market.params.band_ppm as f64 / 1e4,
        lev(target - width),
        lev(target + width)
    )
}
