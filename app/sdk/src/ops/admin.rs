//! Admin operations: pause and resume, update parameters, rename the share tokens.

use super::*;
use crate::cluster::{submit, Cluster};
use crate::ix;
use anchor_lang::prelude::Pubkey;
use lever::instructions::UpdateShareMetadataArgs;
use lever::state::{ShareKind, UpdateMarketParams};
use serde::Serialize;
use solana_keypair::Keypair;

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

/// A landed admin transaction.
#[derive(Clone, Debug, Serialize)]
pub struct AdminDone {
    pub signature: String,
    pub action: String,
}

/// Set the market's pause bits to `bits` (admin or pause authority).
pub async fn set_pause<C: Cluster>(
    cluster: &C,
    authority: &Keypair,
    market: Pubkey,
    bits: u8,
) -> OpsResult<AdminDone> {
    load_market(cluster, &market).await?;
    let landed = submit(
        cluster,
        &[ix::set_pause(authority.pubkey(), market, bits)],
        authority,
        &[],
    )
    .await?;
    Ok(AdminDone {
        signature: landed.signature.to_string(),
        action: match paused_names(bits) {
            names if names.is_empty() => "unpaused".into(),
            names => format!("paused: {}", names.join(", ")),
        },
    })
}

/// Change the parameters set in `update` (admin); the program validates them against the
/// config's bounds, and the preview refuses an update that changes nothing.
pub async fn update_market<C: Cluster>(
    cluster: &C,
    admin: &Keypair,
    market: Pubkey,
    update: UpdateMarketParams,
) -> OpsResult<AdminDone> {
    let current = load_market(cluster, &market).await?;
    let before = current.params();
    if before.apply(&update) == before {
        return Err(OpsError::Invalid("the update changes nothing".into()));
    }
    let landed = submit(
        cluster,
        &[ix::update_market(admin.pubkey(), market, update)],
        admin,
        &[],
    )
    .await?;
    Ok(AdminDone {
        signature: landed.signature.to_string(),
        action: "parameters updated".into(),
    })
}

/// A share mint's token metadata: name, symbol, uri.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShareMetadata {
    pub name: String,
    pub symbol: String,
    pub uri: String,
}

impl ShareMetadata {
    /// The fields `args` would change, as (field, now, after), in name, symbol, uri order: a field
    /// given with the value it already has is no change.
    pub fn changes(&self, args: &UpdateShareMetadataArgs) -> Vec<(&'static str, String, String)> {
        [
            ("name", &args.name, &self.name),
            ("symbol", &args.symbol, &self.symbol),
            ("uri", &args.uri, &self.uri),
        ]
        .into_iter()
        .filter_map(|(field, new, old)| {
            new.as_ref()
                .filter(|n| *n != old)
                .map(|n| (field, old.clone(), n.clone()))
        })
        .collect()
    }
}

/// The metadata of `market`'s LT (its current mint) or FT mint, as the mint holds it.
pub async fn share_metadata<C: Cluster>(
    cluster: &C,
    market: &Pubkey,
    share: ShareKind,
) -> OpsResult<ShareMetadata> {
    let m = load_market(cluster, market).await?;
    mint_metadata(cluster, crate::pda::MarketKeys::of(&m).share_mint(share)).await
}

async fn mint_metadata<C: Cluster>(cluster: &C, mint: Pubkey) -> OpsResult<ShareMetadata> {
    let account = cluster
        .account(&mint)
        .await?
        .ok_or_else(|| OpsError::Invalid(format!("no share mint at {mint}")))?;
    let (name, symbol, uri) = crate::accounts::token_metadata(&account.data)
        .ok_or_else(|| OpsError::Invalid(format!("{mint} has no token metadata")))?;
    Ok(ShareMetadata { name, symbol, uri })
}

/// `update_share_metadata` (admin) with `args`; refused before sending when it would change
/// nothing ([`ShareMetadata::changes`]).
pub async fn update_share_metadata<C: Cluster>(
    cluster: &C,
    admin: &Keypair,
    market: Pubkey,
    args: UpdateShareMetadataArgs,
) -> OpsResult<AdminDone> {
    let m = load_market(cluster, &market).await?;
    let keys = crate::pda::MarketKeys::of(&m);
    let current = mint_metadata(cluster, keys.share_mint(args.share)).await?;
    if current.changes(&args).is_empty() {
        return Err(OpsError::Invalid("the update changes nothing".into()));
    }
    let landed = submit(
        cluster,
        &[ix::update_share_metadata(admin.pubkey(), &keys, args)],
        admin,
        &[],
    )
    .await?;
    Ok(AdminDone {
        signature: landed.signature.to_string(),
        action: "metadata updated".into(),
    })
}
