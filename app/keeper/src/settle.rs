//! Settling two-step requests: every open request whose target time has passed is settled at the
//! update covering it (predicted with the program's own decision first), in `tau` order; an
//! expired one is cancelled (its escrow back to the owner). Each outcome is one JSON log line.

use super::*;
use anchor_lang::AnchorDeserialize;
use lever::instructions::{CancelOutcome, SettleOutcome, Settled};
use lever::state::Request;
use lever_sdk::accounts::{decode_market, token_account_amount};
use lever_sdk::cluster::{submit, Cluster, ClusterError};
use lever_sdk::pyth::{decode_price_update, price_input, to_hex};
use lever_sdk::{ix, pda::MarketKeys, quote};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use std::collections::HashMap;
use std::future::Future;

/// Where a keeper finds the Pyth update that covers a request's target time
/// (`prev_publish_time < tau <= publish_time`).
pub trait CoveringUpdates: Send + Sync {
    /// An account holding the update of `feed_id` covering `tau`, posting it first if the source
    /// does that; `Ok(None)` while no such update is available (yet, or any more).
    fn covering(
        &self,
        feed_id: [u8; 32],
        tau: i64,
    ) -> impl Future<Output = Result<Option<Pubkey>, String>> + Send;
}

/// The updates already in known accounts (the keeper's configured price accounts, or any others):
/// an account qualifies while the update it holds covers `tau`. A source that fetches the update
/// of a given time from Hermes (`/v2/updates/price/{tau}`) and posts it implements the same trait.
pub struct AccountUpdates<'a, C> {
    pub cluster: &'a C,
    /// Accounts to look in, per feed.
    pub accounts: HashMap<[u8; 32], Vec<Pubkey>>,
    /// Also look in Pyth's sponsored account of the feed on this shard.
    pub sponsored_shard: Option<u16>,
}

impl<C: Cluster> CoveringUpdates for AccountUpdates<'_, C> {
    async fn covering(&self, feed_id: [u8; 32], tau: i64) -> Result<Option<Pubkey>, String> {
        let mut candidates = self.accounts.get(&feed_id).cloned().unwrap_or_default();
        if let Some(shard) = self.sponsored_shard {
            candidates.push(lever_sdk::pyth::sponsored_feed_address(shard, &feed_id));
        }
        let accounts = self
            .cluster
            .accounts(&candidates)
            .await
            .map_err(|e| format!("read price accounts: {e}"))?;
        for (address, account) in candidates.iter().zip(accounts) {
            let Some(account) = account else { continue };
            let Ok(update) = decode_price_update(&account.data) else {
                continue;
            };
            let m = &update.price_message;
            if m.feed_id == feed_id && m.prev_publish_time < tau && tau <= m.publish_time {
                return Ok(Some(*address));
            }
        }
        Ok(None)
    }
}

/// What the keeper did about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettleAction {
    /// Settled and filled.
    Settled,
    /// Settled and refunded (the books refused at the forced price; the tip is still paid).
    Refunded,
    /// Expired, cancelled: the escrow went back to the owner.
    Cancelled,
    /// Not yet: no update covering its target is available.
    Wait,
    /// Someone else settled or cancelled it first.
    LostRace,
    Failed,
}

/// One request's outcome, logged as one JSON line (`"event": "settle"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SettleDecision {
    #[serde(serialize_with = "display")]
    pub market: Pubkey,
    #[serde(serialize_with = "display")]
    pub request: Pubkey,
    #[serde(serialize_with = "display")]
    pub keeper: Pubkey,
    pub settle: SettleAction,
    pub reason: String,
    pub kind: String,
    pub tau: i64,
    pub amount: u64,
    /// Output paid (filled) or escrow returned (refunded, cancelled).
    pub amount_out: Option<u64>,
    pub refund_code: Option<u32>,
    pub tip_lamports: u64,
    pub publish_time: Option<i64>,
    #[serde(serialize_with = "display_opt")]
    pub signature: Option<Signature>,
    pub error_code: Option<u32>,
}

impl<C: Cluster> Keeper<C> {
    /// The updates this keeper can use without posting: its configured price accounts (and the
    /// sponsored one of each market's feed when a shard is set).
    pub fn account_updates(&self) -> AccountUpdates<'_, C> {
        let mut accounts: HashMap<[u8; 32], Vec<Pubkey>> = HashMap::new();
        for (feed, address) in &self.config.price_accounts {
            accounts.entry(*feed).or_default().push(*address);
        }
        AccountUpdates {
            cluster: &self.cluster,
            accounts,
            sponsored_shard: self.config.sponsored_shard,
        }
    }

    /// Settle (or cancel, once expired) every open request of `market` whose target time has
    /// passed, oldest target first, with updates from `source`. One decision per request handled.
    pub async fn settle_due<S: CoveringUpdates>(&self, market: &Pubkey, source: &S) -> Vec<SettleDecision> {
        let mut out = Vec::new();
        let (now, requests) = match (self.cluster.clock().await, self.cluster.requests(market).await) {
            (Ok(now), Ok(requests)) => (now, requests),
            (Err(e), _) | (_, Err(e)) => {
                self.config.log.write_line(
                    &serde_json::json!({
                        "event": "settle_pass_failed",
                        "market": market.to_string(),
                        "keeper": self.payer().to_string(),
                        "reason": format!("read the clock or the requests: {e}"),
                    })
                    .to_string(),
                );
                return out;
            }
        };
        let mut due: Vec<(Pubkey, Request)> = requests
            .into_iter()
            .filter(|(_, r)| r.tau <= now.unix_timestamp)
            .collect();
        due.sort_by_key(|(key, r)| (r.tau, *key));
        for (address, request) in due {
            let decision = self.settle_request(market, &address, &request, source).await;
            self.config.log.write_line(&settle_json(&decision));
            out.push(decision);
        }
        out
    }

    /// Settle (or, once expired, cancel) one request as recorded in `r`.
    pub async fn settle_request<S: CoveringUpdates>(
        &self,
        market_key: &Pubkey,
        address: &Pubkey,
        r: &Request,
        source: &S,
    ) -> SettleDecision {
        let mut d = SettleDecision {
            market: *market_key,
            request: *address,
            keeper: self.payer(),
            settle: SettleAction::Failed,
            reason: String::new(),
            kind: format!("{:?}", r.kind),
            tau: r.tau,
            amount: r.amount,
            amount_out: None,
            refund_code: None,
            tip_lamports: r.tip_lamports,
            publish_time: None,
            signature: None,
            error_code: None,
        };
        let fail = |mut d: SettleDecision, action: SettleAction, reason: String| {
            d.settle = action;
            d.reason = reason;
            d
        };
        let market = match self.cluster.account(market_key).await {
            Ok(Some(account)) => match decode_market(&account) {
                Some(m) => m,
                None => return fail(d, SettleAction::Failed, "not a market account".into()),
            },
            Ok(None) => return fail(d, SettleAction::Failed, "market not found".into()),
            Err(e) => return fail(d, SettleAction::Failed, format!("read the market: {e}")),
        };
        let keys = MarketKeys::of(&market);
        let now = match self.cluster.clock().await {
            Ok(now) => now,
            Err(e) => return fail(d, SettleAction::Failed, format!("read the clock: {e}")),
        };
        if now.unix_timestamp > r.expires_at {
            return self.cancel(d, &keys, address, r).await;
        }
        let price_account = match source.covering(market.feed_id, r.tau).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                let reason = format!(
                    "no update of feed {} covering tau {} yet (expires at {})",
                    to_hex(&market.feed_id),
                    r.tau,
                    r.expires_at
                );
                return fail(d, SettleAction::Wait, reason);
            }
            Err(e) => return fail(d, SettleAction::Failed, format!("covering update: {e}")),
        };
        // Predict with the program's own decision.
        let accounts = match self.cluster.accounts(&[price_account, keys.vault]).await {
            Ok(a) => a,
            Err(e) => {
                return fail(
                    d,
                    SettleAction::Failed,
                    format!("read the update and the vault: {e}"),
                )
            }
        };
        let (Some(Some(price)), Some(Some(vault))) = (accounts.first(), accounts.get(1)) else {
            return fail(
                d,
                SettleAction::Failed,
                "the update or the vault is missing".into(),
            );
        };
        let (Ok(update), Some(vault_units)) = (
            decode_price_update(&price.data),
            token_account_amount(&vault.data),
        ) else {
            return fail(d, SettleAction::Failed, "undecodable update or vault".into());
        };
        d.publish_time = Some(update.price_message.publish_time);
        let expected = match quote::settle(&market, r, &price_input(&update), vault_units, now) {
            Ok(p) => p,
            Err(refusal) => {
                d.error_code = Some(refusal.code);
                return fail(
                    d,
                    SettleAction::Failed,
                    format!("the program would refuse: {refusal}"),
                );
            }
        };
        let mut ixs = self.budget();
        ixs.push(ix::settle_request(
            self.payer(),
            &keys,
            *address,
            r,
            price_account,
        ));
        match submit(&self.cluster, &ixs, &self.payer, &[]).await {
            Ok(landed) => {
                d.signature = Some(landed.signature);
                let outcome = landed
                    .return_data
                    .as_deref()
                    .and_then(|mut data| SettleOutcome::deserialize(&mut data).ok());
                let (filled, amount_out, refund) = match (&outcome, &expected.settled) {
                    (Some(o), _) => (o.filled, o.amount_out, o.refund_code),
                    // No return data from this node: the prediction, which the program follows.
                    (None, Settled::Filled(fill)) => (true, fill.amounts().1, 0),
                    (None, Settled::Refunded { code, .. }) => (false, 0, *code),
                };
                if filled {
                    d.settle = SettleAction::Settled;
                    d.amount_out = Some(amount_out);
                    d.reason = "filled at the update covering tau".into();
                } else {
                    d.settle = SettleAction::Refunded;
                    d.amount_out = Some(r.amount);
                    d.refund_code = Some(refund);
                    d.reason = format!("refunded: the books refused with error {refund}");
                }
                d
            }
            Err(e) => self.failed_send(d, e),
        }
    }

    async fn cancel(
        &self,
        mut d: SettleDecision,
        keys: &MarketKeys,
        address: &Pubkey,
        r: &Request,
    ) -> SettleDecision {
        let mut ixs = self.budget();
        // The escrow returns with its own mint: a redemption opened before the LT mint changed
        // (an epoch or a re-base) holds the retired LT.
        let escrow = self.cluster.account(&r.escrow).await.ok().flatten();
        let cancel =
            match escrow.and_then(|a| Some((lever_sdk::accounts::token_account_mint(&a.data)?, a.owner))) {
                Some((mint, program)) => {
                    ix::cancel_request_with_input(self.payer(), keys, *address, r, mint, program)
                }
                None => ix::cancel_request(self.payer(), keys, *address, r),
            };
        ixs.push(cancel);
        match submit(&self.cluster, &ixs, &self.payer, &[]).await {
            Ok(landed) => {
                d.signature = Some(landed.signature);
                let refunded = landed
                    .return_data
                    .as_deref()
                    .and_then(|mut data| CancelOutcome::deserialize(&mut data).ok())
                    .map_or(r.amount, |o| o.amount_refunded);
                d.settle = SettleAction::Cancelled;
                d.amount_out = Some(refunded);
                d.reason = format!("expired at {}: escrow returned to the owner", r.expires_at);
                d
            }
            Err(e) => self.failed_send(d, e),
        }
    }

    /// A refused settlement or cancel: the request already closed by someone else is a lost race.
    fn failed_send(&self, mut d: SettleDecision, e: ClusterError) -> SettleDecision {
        let code = e.custom_code();
        d.error_code = code;
        let closed = code == Some(anchor_lang::error::ErrorCode::AccountNotInitialized as u32);
        d.settle = if closed {
            SettleAction::LostRace
        } else {
            SettleAction::Failed
        };
        d.reason = if closed {
            "the request was already settled or cancelled".into()
        } else {
            format!("send: {e}")
        };
        d
    }

    /// The compute-budget instructions every keeper transaction starts with (none when unset).
    pub(super) fn budget(&self) -> Vec<solana_instruction::Instruction> {
        let mut ixs = Vec::with_capacity(3);
        if self.config.compute_unit_limit > 0 {
            ixs.push(ComputeBudgetInstruction::set_compute_unit_limit(
                self.config.compute_unit_limit,
            ));
        }
        if self.config.priority_fee_micro_lamports > 0 {
            ixs.push(ComputeBudgetInstruction::set_compute_unit_price(
                self.config.priority_fee_micro_lamports,
            ));
        }
        ixs
    }
}

fn settle_json(d: &SettleDecision) -> String {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("event".into(), serde_json::Value::from("settle"));
    }
    v.to_string()
}
