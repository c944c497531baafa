//! Admin operations: pause and resume, update parameters.

use super::*;
use crate::cluster::{submit, Cluster};
use crate::ix;
use anchor_lang::prelude::Pubkey;
use lever::state::UpdateMarketParams;
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
