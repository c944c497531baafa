//! The covering update from Hermes: when no known account holds the update of a request's feed
//! covering its `tau`, fetch the first update at or after `tau` (`/v2/updates/price/{tau}`), check
//! that it covers `tau` (`prev_publish_time < tau <= publish_time`; otherwise no update does and
//! the request waits for its expiry), and post it with `Full` verification through the Wormhole
//! encoded-VAA path ([`lever_sdk::hermes::full_post_plan`]) into the keeper's own price update
//! account for that feed. The atomic post records `Partial`, which Lever refuses, so it is never used.

use super::*;
use anchor_lang::prelude::Rent;
use lever_sdk::cluster::{submit, Cluster};
use lever_sdk::hermes::{
    close_encoded_vaa_ix, derived_price_update_keypair, encoded_vaa_space, full_post_plan, FullPostAccounts,
    HermesClient, HermesError, WORMHOLE_PROGRAM_ID,
};
use lever_sdk::pyth::{decode_price_update, to_hex};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Known accounts first, then Hermes. Built with [`Keeper::hermes_updates`].
pub struct HermesUpdates<'a, C> {
    pub known: AccountUpdates<'a, C>,
    pub hermes: HermesClient,
    cluster: &'a C,
    payer: &'a Keypair,
    /// The keeper's price update account per feed: a keypair it keeps (the receiver makes every
    /// post's account a signer), overwritten by each post, so one rent serves every settlement.
    /// Feeds not listed use [`derived_price_update_keypair`] of the keeper's key.
    price_accounts: HashMap<[u8; 32], Keypair>,
    pub wormhole: Pubkey,
    pub treasury_id: u8,
    log: LogSink,
}

impl<C: Cluster> Keeper<C> {
    /// A covering-update source that looks in this keeper's known accounts, then posts from
    /// `hermes`, paying with the keeper's key into `price_accounts` (one keypair per feed; a feed
    /// without one uses the account derived from the keeper's key).
    pub fn hermes_updates(
        &self,
        hermes: HermesClient,
        price_accounts: HashMap<[u8; 32], Keypair>,
    ) -> HermesUpdates<'_, C> {
        HermesUpdates {
            known: self.account_updates(),
            hermes,
            cluster: &self.cluster,
            payer: &self.payer,
            price_accounts,
            wormhole: WORMHOLE_PROGRAM_ID,
            treasury_id: 0,
            log: self.config.log.clone(),
        }
    }
}

impl<C: Cluster> HermesUpdates<'_, C> {
    /// The keeper's price update account of `feed_id` (after [`CoveringUpdates::covering`] posted
    /// into it).
    pub fn price_account(&self, feed_id: &[u8; 32]) -> Pubkey {
        self.price_key(feed_id).pubkey()
    }

    fn price_key(&self, feed_id: &[u8; 32]) -> Keypair {
        match self.price_accounts.get(feed_id) {
            Some(k) => k.insecure_clone(),
            None => derived_price_update_keypair(self.payer, feed_id),
        }
    }

    fn log_post(&self, feed_id: &[u8; 32], tau: i64, outcome: &str, detail: serde_json::Value) {
        self.log.write_line(
            &serde_json::json!({
                "event": "hermes_post",
                "feed": to_hex(feed_id),
                "tau": tau,
                "outcome": outcome,
                "detail": detail,
            })
            .to_string(),
        );
    }
}

impl<C: Cluster> CoveringUpdates for HermesUpdates<'_, C> {
    async fn covering(&self, feed_id: [u8; 32], tau: i64) -> Result<Option<Pubkey>, String> {
        if let Some(address) = self.known.covering(feed_id, tau).await? {
            return Ok(Some(address));
        }
        let price_key = self.price_key(&feed_id);
        let price_account = price_key.pubkey();
        // Already posted for an earlier request with a target in the same interval.
        if let Ok(Some(account)) = self.cluster.account(&price_account).await {
            if let Ok(update) = decode_price_update(&account.data) {
                let m = &update.price_message;
                if m.feed_id == feed_id && m.prev_publish_time < tau && tau <= m.publish_time {
                    return Ok(Some(price_account));
                }
            }
        }
        let response = match self.hermes.updates_at(tau, &[feed_id]).await {
            Ok(r) => r,
            // Hermes has nothing at or after tau yet.
            Err(HermesError::Status { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(format!("Hermes: {e}")),
        };
        let Some((update, message)) = response.find(&feed_id) else {
            return Ok(None);
        };
        let m = message.price;
        if !(m.prev_publish_time < tau && tau <= m.publish_time) {
            // The first update at or after tau does not cover it (prev == publish, or a gap
            // Hermes skipped): no update can settle this request; it waits for its expiry.
            self.log_post(
                &feed_id,
                tau,
                "not_covering",
                serde_json::json!({"prev_publish_time": m.prev_publish_time, "publish_time": m.publish_time}),
            );
            return Ok(None);
        }
        let encoded_vaa = Keypair::new();
        let accounts = FullPostAccounts {
            payer: self.payer.pubkey(),
            encoded_vaa: encoded_vaa.pubkey(),
            price_update_account: price_account,
            wormhole: self.wormhole,
            treasury_id: self.treasury_id,
        };
        // Rent exemption at the mainnet parameters (the default rent), for the encoded VAA only:
        // it comes back when the plan's last transaction closes the account.
        let rent = Rent::default().minimum_balance(encoded_vaa_space(update.vaa.bytes.len()));
        let plan =
            full_post_plan(update, &feed_id, &accounts, rent).map_err(|e| format!("plan the post: {e}"))?;
        let last = plan.len().saturating_sub(1);
        for (i, ixs) in plan.iter().enumerate() {
            let signers: Vec<&Keypair> = match i {
                0 => vec![&encoded_vaa],
                _ if i == last => vec![&price_key],
                _ => vec![],
            };
            if let Err(e) = submit(self.cluster, ixs, self.payer, &signers).await {
                // After the first step the encoded VAA exists: close it so its rent comes back.
                let closed = i > 0 && {
                    let close =
                        close_encoded_vaa_ix(&self.wormhole, &self.payer.pubkey(), &encoded_vaa.pubkey());
                    submit(self.cluster, &[close], self.payer, &[]).await.is_ok()
                };
                self.log_post(
                    &feed_id,
                    tau,
                    "failed",
                    serde_json::json!({
                        "step": i + 1,
                        "of": plan.len(),
                        "error": e.to_string(),
                        "closed_encoded_vaa": closed,
                    }),
                );
                return Err(format!("post step {} of {}: {e}", i + 1, plan.len()));
            }
        }
        self.log_post(
            &feed_id,
            tau,
            "posted",
            serde_json::json!({
                "account": price_account.to_string(),
                "publish_time": m.publish_time,
                "prev_publish_time": m.prev_publish_time,
                "transactions": plan.len(),
            }),
        );
        Ok(Some(price_account))
    }
}
