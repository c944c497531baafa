//! The demo chain behind `lever localnet`: a funded SOL 3x market, a holder and a user with keypair files.

use std::io;

use crate::chain::Chain;
use crate::local::{LocalMarket, MarketSpec};
use anchor_lang::prelude::Pubkey;
use anyhow::anyhow;
use lever::constants::PPM;
use lever::state::MarketParams;
use lever_sdk::pda::MarketKeys;
use lever_sdk::pyth::sponsored_feed_address;
use lever_sdk::pyth::{PriceInput, SOL_USD_FEED_ID};
use solana_keypair::Keypair;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The demo chain
// ---------------------------------------------------------------------------------------------

/// Confidence of the demo's prices, as a fraction of the price (0.05%).
pub const DEMO_CONF_RATIO: f64 = 0.0005;
/// The demo's SOL price.
pub const DEMO_PRICE_USD: f64 = 150.0;
pub(super) const SOL: u64 = 1_000_000_000;
/// Underlying the funding provider deposits, the LT holder mints with, and the user holds.
pub const DEMO_FUNDING_UNITS: u64 = 1_000 * SOL;
pub const DEMO_HOLDER_UNITS: u64 = 10 * SOL;
pub const DEMO_USER_UNITS: u64 = 100 * SOL;
/// Lamports the user starts with (fees and rent).
pub const DEMO_USER_LAMPORTS: u64 = 10 * SOL;

/// The demo market's parameters: 3x, band ±5%, fees 0.3% / 0.2% / 0.1% / 0.1%, prices up to 60 s
/// old with confidence up to 2%, no exposure cap, utilization up to 90%, funding 2% a year plus 8%
/// up to the 80% kink and 100% beyond; requests settle 10 s after they land (tip at least 5000
/// lamports, within 10 minutes); the instant path takes updates up to 5 s old at a 0.3% fee with
/// confidence up to 1%.
pub fn demo_params() -> MarketParams {
    MarketParams {
        target_leverage_ppm: 3 * PPM,
        band_ppm: 50_000,
        mint_fee_ppm: 3_000,
        redeem_fee_ppm: 2_000,
        deposit_fee_ppm: 1_000,
        withdraw_fee_ppm: 1_000,
        max_price_age_secs: 60,
        max_conf_ppm: 20_000,
        conf_multiplier_ppm: PPM,
        exposure_cap: u64::MAX,
        max_utilization_ppm: 900_000,
        base_rate_ppm: 20_000,
        kink_ppm: 800_000,
        slope1_ppm: 80_000,
        slope2_ppm: 1_000_000,
        settle_delay_secs: 10,
        settle_window_secs: 600,
        min_settle_tip_lamports: 5_000,
        instant_max_age_secs: 5,
        instant_fee_ppm: 3_000,
        instant_max_conf_ppm: 10_000,
        instant_slot_cap: u64::MAX,
    }
}

/// What [`demo`] made.
pub struct Demo {
    pub market: Pubkey,
    pub keys: MarketKeys,
    /// The underlying's decimals (9).
    pub decimals: u8,
    /// Config admin (update, unpause).
    pub admin: Keypair,
    /// May pause.
    pub pause_authority: Keypair,
    pub fee_receiver: Keypair,
    /// Mint authority of the underlying (fund more wallets with [`crate::local::fund`]).
    pub mint_authority: Keypair,
    /// A wallet with [`DEMO_USER_LAMPORTS`] and [`DEMO_USER_UNITS`] of underlying in its associated
    /// token account, and nothing else.
    pub user: Keypair,
    /// The user's associated token account of the underlying.
    pub user_underlying: Pubkey,
    /// Pyth's sponsored SOL/USD push-feed account (shard 0), where the price is written: what
    /// `lever` reads by default.
    pub price_account: Pubkey,
    pub feed_id: [u8; 32],
    /// The price written, published at the chain's time then.
    pub price: PriceInput,
}

/// Where [`Demo::write_keypairs`] put the keypair files.
#[derive(Clone, Debug)]
pub struct DemoKeypairFiles {
    pub admin: PathBuf,
    pub pause_authority: PathBuf,
    pub user: PathBuf,
}

impl Demo {
    /// Write the admin, pause-authority and user keypairs into `dir` (created if needed) as the
    /// Solana CLI writes keypair files: a JSON array of the 64 bytes (owner-only on Unix).
    pub fn write_keypairs(&self, dir: &Path) -> io::Result<DemoKeypairFiles> {
        std::fs::create_dir_all(dir)?;
        let files = DemoKeypairFiles {
            admin: dir.join("admin.json"),
            pause_authority: dir.join("pause-authority.json"),
            user: dir.join("user.json"),
        };
        for (path, kp) in [
            (&files.admin, &self.admin),
            (&files.pause_authority, &self.pause_authority),
            (&files.user, &self.user),
        ] {
            write_keypair_file(kp, path)?;
        }
        Ok(files)
    }
}

impl Demo {
    /// The demo's addresses as JSON (what `lever localnet` writes to `localnet.json` beside the
    /// keypairs, for scripts and dapps): the node's URLs, the program, the market and its mints,
    /// vault and locked FT account, the price account and feed, and the wallets' addresses.
    pub fn info(&self, rpc_url: &str, ws_url: Option<&str>) -> serde_json::Value {
        let hex: String = self.feed_id.iter().map(|b| format!("{b:02x}")).collect();
        serde_json::json!({
            "rpcUrl": rpc_url,
            "wsUrl": ws_url,
            "programId": lever::ID.to_string(),
            "config": lever_sdk::pda::config().to_string(),
            "market": self.market.to_string(),
            "marketId": self.keys.id,
            "underlyingMint": self.keys.underlying_mint.to_string(),
            "underlyingTokenProgram": self.keys.underlying_token_program.to_string(),
            "underlyingDecimals": self.decimals,
            "vault": self.keys.vault.to_string(),
            "ltMint": self.keys.lt_mint.to_string(),
            "ftMint": self.keys.ft_mint.to_string(),
            "lockedFt": self.keys.locked_ft.to_string(),
            "shareTokenProgram": anchor_spl::token_2022::ID.to_string(),
            "priceAccount": self.price_account.to_string(),
            "feedId": format!("0x{hex}"),
            "admin": solana_signer::Signer::pubkey(&self.admin).to_string(),
            "pauseAuthority": solana_signer::Signer::pubkey(&self.pause_authority).to_string(),
            "user": solana_signer::Signer::pubkey(&self.user).to_string(),
            "userUnderlying": self.user_underlying.to_string(),
        })
    }
}

/// A keypair file as the Solana CLI writes it: a JSON array of the 64 bytes.
pub fn write_keypair_file(kp: &Keypair, path: &Path) -> io::Result<()> {
    let text = serde_json::to_string(&kp.to_bytes().to_vec()).map_err(io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    use std::io::Write as _;
    options.open(path)?.write_all(text.as_bytes())
}

/// A chain for a demo session: the config, one SOL 3x market ([`demo_params`], an SPL Token
/// underlying with 9 decimals) priced at [`DEMO_PRICE_USD`] in Pyth's sponsored SOL/USD account,
/// [`DEMO_FUNDING_UNITS`] of funding deposited, an LT holder who minted with
/// [`DEMO_HOLDER_UNITS`] (so the market has a position and a leverage), and a user wallet. The
/// chain's clock is set to the wall clock, and stays there until moved.
pub async fn demo() -> anyhow::Result<(Chain, Demo)> {
    // Paced: blockhashes live 150 blocks, one block per `next_block` (the node makes one every
    // 400 ms), as on a validator.
    let mut chain = Chain::start_paced(crate::chain::program_test()).await?;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    if wall > chain.now() {
        chain.set_time(wall);
    }
    let token_program = anchor_spl::token::ID;
    let spec = MarketSpec::named("SOL", SOL_USD_FEED_ID, token_program, 9, demo_params());
    let mut m = LocalMarket::create(chain, &spec).await?;
    m.price_account = sponsored_feed_address(0, &SOL_USD_FEED_ID);
    let price = PriceInput::usd(SOL_USD_FEED_ID, DEMO_PRICE_USD, DEMO_CONF_RATIO, m.chain.now());
    m.write_price(&price);

    let provider = m.wallet(DEMO_FUNDING_UNITS).await?;
    let deposit = lever_sdk::ix::deposit_funding(
        &m.keys,
        &provider.ft_accounts(m.price_account),
        DEMO_FUNDING_UNITS,
        0,
    );
    m.chain
        .send(&[deposit], &[&provider.kp])
        .await
        .map_err(|e| anyhow!("deposit_funding: {e}"))?;
    let holder = m.wallet(DEMO_HOLDER_UNITS).await?;
    let mint = lever_sdk::ix::mint_lt(
        &m.keys,
        &holder.lt_accounts(m.price_account),
        DEMO_HOLDER_UNITS,
        0,
    );
    m.chain
        .send(&[mint], &[&holder.kp])
        .await
        .map_err(|e| anyhow!("mint_lt: {e}"))?;

    let (user, user_underlying) = crate::local::ata_wallet(
        &mut m.chain,
        &m.keys,
        &m.mint_authority,
        DEMO_USER_LAMPORTS,
        DEMO_USER_UNITS,
    )
    .await?;

    let LocalMarket {
        chain,
        admin,
        pause_authority,
        fee_receiver,
        mint_authority,
        keys,
        price_account,
        feed_id,
        decimals,
    } = m;
    Ok((
        chain,
        Demo {
            market: keys.market,
            keys,
            decimals,
            admin,
            pause_authority,
            fee_receiver,
            mint_authority,
            user,
            user_underlying,
            price_account,
            feed_id,
            price,
        },
    ))
}
