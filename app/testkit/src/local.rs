//! A market on the embedded chain with every role it needs: what the simulator, the test suites and
//! the keeper's end-to-end tests set up. One place creates the config, the underlying mint, the
//! market with its seed deposit, and funded wallets, so each caller only says what differs.

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, Result};
use lever::instructions::{CreateMarketArgs, InitializeConfigArgs};
use lever::state::{ConfigBounds, Market, MarketParams};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::chain::Chain;
use lever_sdk::ix::{self, UserAccounts};
use lever_sdk::pda::MarketKeys;
use lever_sdk::pyth::PriceInput;
use lever_sdk::units::leverage_label;

/// Lamports each role and wallet starts with (fees and rent).
const ROLE_LAMPORTS: u64 = 10_000_000_000;
const WALLET_LAMPORTS: u64 = 1_000_000_000;

/// What a market is created with.
#[derive(Clone, Debug)]
pub struct MarketSpec {
    /// The underlying's token program (SPL Token or Token-2022).
    pub token_program: Pubkey,
    pub decimals: u8,
    pub params: MarketParams,
    /// Seed deposit (raw units) whose FT stay locked in the market.
    pub seed_units: u64,
    pub id: u32,
    pub feed_id: [u8; 32],
    pub lt_name: String,
    pub lt_symbol: String,
    pub ft_name: String,
    pub ft_symbol: String,
    pub uri: String,
    /// Accept an underlying mint with a freeze authority (refused by default).
    pub allow_freeze_authority: bool,
}

impl MarketSpec {
    /// A spec named after the asset and the target leverage: "SOL 3x Long" / "SOL3X" and
    /// "SOL 3x Funding" / "fSOL3X".
    pub fn named(
        asset: &str,
        feed_id: [u8; 32],
        token_program: Pubkey,
        decimals: u8,
        params: MarketParams,
    ) -> Self {
        let lev = leverage_label(params.target_leverage_ppm);
        Self {
            token_program,
            decimals,
            params,
            seed_units: lever::constants::MIN_SEED_UNITS,
            id: 0,
            feed_id,
            lt_name: format!("{asset} {lev}x Long"),
            lt_symbol: format!("{asset}{lev}X"),
            ft_name: format!("{asset} {lev}x Funding"),
            ft_symbol: format!("f{asset}{lev}X"),
            uri: format!("https://lever.example/{}{lev}x.json", asset.to_lowercase()),
            allow_freeze_authority: false,
        }
    }

    pub fn create_args(&self) -> CreateMarketArgs {
        CreateMarketArgs {
            id: self.id,
            feed_id: self.feed_id,
            params: self.params,
            seed_units: self.seed_units,
            lt_name: self.lt_name.clone(),
            lt_symbol: self.lt_symbol.clone(),
            ft_name: self.ft_name.clone(),
            ft_symbol: self.ft_symbol.clone(),
            uri: self.uri.clone(),
            allow_freeze_authority: self.allow_freeze_authority,
        }
    }
}

/// A wallet with an underlying account and LT/FT accounts.
pub struct Wallet {
    pub kp: Keypair,
    pub underlying: Pubkey,
    pub lt: Pubkey,
    pub ft: Pubkey,
}

impl Wallet {
    pub fn pubkey(&self) -> Pubkey {
        self.kp.pubkey()
    }

    /// The accounts an LT mint or redeem by this wallet names, priced by `price_update`.
    pub fn lt_accounts(&self, price_update: Pubkey) -> UserAccounts {
        UserAccounts {
            user: self.pubkey(),
            user_underlying: self.underlying,
            user_shares: self.lt,
            price_update,
        }
    }

    /// The accounts a funding deposit or withdrawal by this wallet names.
    pub fn ft_accounts(&self, price_update: Pubkey) -> UserAccounts {
        UserAccounts {
            user_shares: self.ft,
            ..self.lt_accounts(price_update)
        }
    }
}

/// A market on the embedded chain, its roles and its price account.
pub struct LocalMarket {
    pub chain: Chain,
    pub admin: Keypair,
    pub pause_authority: Keypair,
    pub fee_receiver: Keypair,
    /// Mint authority of the underlying (a test token): funds wallets.
    pub mint_authority: Keypair,
    pub keys: MarketKeys,
    /// Where `write_price` puts the PriceUpdateV2 every price-reading instruction is given.
    pub price_account: Pubkey,
    pub feed_id: [u8; 32],
    pub decimals: u8,
}

impl LocalMarket {
    /// Initialise the config (admin, pause authority and fee receiver are fresh keys), create the
    /// underlying mint and the market with its seed deposit, at the chain's current time.
    pub async fn create(mut chain: Chain, spec: &MarketSpec) -> Result<Self> {
        let admin = Keypair::new();
        let pause_authority = Keypair::new();
        let fee_receiver = Keypair::new();
        let mint_authority = Keypair::new();
        for k in [&admin, &pause_authority, &fee_receiver] {
            chain.airdrop(&k.pubkey(), ROLE_LAMPORTS).await?;
        }
        let init = ix::initialize_config(
            admin.pubkey(),
            InitializeConfigArgs {
                pause_authority: pause_authority.pubkey(),
                fee_receiver: fee_receiver.pubkey(),
                bounds: ConfigBounds::default(),
            },
        );
        chain
            .send(&[init], &[&admin])
            .await
            .map_err(|e| anyhow!("initialize_config: {e}"))?;
        let mint = chain
            .create_mint(&spec.token_program, spec.decimals, &mint_authority.pubkey())
            .await?;
        let keys = MarketKeys::derive(mint, spec.id, spec.token_program);
        let mut m = Self {
            chain,
            admin,
            pause_authority,
            fee_receiver,
            mint_authority,
            keys,
            price_account: Pubkey::new_unique(),
            feed_id: spec.feed_id,
            decimals: spec.decimals,
        };
        let admin_underlying = m
            .chain
            .create_token_account(&mint, &m.admin.pubkey(), &spec.token_program)
            .await?;
        m.fund(&admin_underlying, spec.seed_units.max(1).saturating_mul(10))
            .await?;
        let create = ix::create_market(m.admin.pubkey(), &keys, admin_underlying, spec.create_args());
        m.chain
            .send(&[create], &[&m.admin])
            .await
            .map_err(|e| anyhow!("create_market: {e}"))?;
        Ok(m)
    }

    /// Mint `units` raw underlying units to the token account `to`.
    pub async fn fund(&mut self, to: &Pubkey, units: u64) -> Result<()> {
        fund(&mut self.chain, &self.keys, &self.mint_authority, to, units).await
    }

    /// A new wallet holding `units` underlying units, with empty LT and FT accounts.
    pub async fn wallet(&mut self, units: u64) -> Result<Wallet> {
        new_wallet(&mut self.chain, &self.keys, &self.mint_authority, units).await
    }

    /// Publish a price into the market's price account.
    pub fn write_price(&mut self, input: &PriceInput) {
        let account = self.price_account;
        self.chain.write_price(&account, input);
    }

    pub async fn market(&mut self) -> Result<Market> {
        let key = self.keys.market;
        self.chain.market(&key).await
    }

    /// The vault's token balance.
    pub async fn vault_units(&mut self) -> Result<u64> {
        let vault = self.keys.vault;
        self.chain.token_amount(&vault).await
    }
}

/// Mint `units` of the market's underlying to `to` (the mint authority signs).
pub async fn fund(
    chain: &mut Chain,
    keys: &MarketKeys,
    mint_authority: &Keypair,
    to: &Pubkey,
    units: u64,
) -> Result<()> {
    chain
        .mint_tokens(
            &keys.underlying_token_program,
            &keys.underlying_mint,
            to,
            mint_authority,
            units,
        )
        .await
}

/// A new wallet for `keys`' market holding `units` underlying units (free-standing so a harness
/// that keeps its own fields can use it too).
pub async fn new_wallet(
    chain: &mut Chain,
    keys: &MarketKeys,
    mint_authority: &Keypair,
    units: u64,
) -> Result<Wallet> {
    let kp = Keypair::new();
    chain.airdrop(&kp.pubkey(), WALLET_LAMPORTS).await?;
    let share_program = anchor_spl::token_2022::ID;
    let underlying = chain
        .create_token_account(
            &keys.underlying_mint,
            &kp.pubkey(),
            &keys.underlying_token_program,
        )
        .await?;
    let lt = chain
        .create_token_account(&keys.lt_mint, &kp.pubkey(), &share_program)
        .await?;
    let ft = chain
        .create_token_account(&keys.ft_mint, &kp.pubkey(), &share_program)
        .await?;
    if units > 0 {
        fund(chain, keys, mint_authority, &underlying, units).await?;
    }
    Ok(Wallet {
        kp,
        underlying,
        lt,
        ft,
    })
}

/// A new wallet as a real one holds its tokens: `lamports`, and `units` of the underlying in its
/// associated token account (created by the ATA program). Returns the keypair and that account.
pub async fn ata_wallet(
    chain: &mut Chain,
    keys: &MarketKeys,
    mint_authority: &Keypair,
    lamports: u64,
    units: u64,
) -> Result<(Keypair, Pubkey)> {
    let kp = Keypair::new();
    chain.airdrop(&kp.pubkey(), lamports).await?;
    let account = fund_associated(chain, keys, mint_authority, &kp.pubkey(), units).await?;
    Ok((kp, account))
}

/// `units` of the underlying into `owner`'s associated token account, created first if missing
/// (the ATA program's `CreateIdempotent`, paid by the chain's payer). Returns that account.
pub async fn fund_associated(
    chain: &mut Chain,
    keys: &MarketKeys,
    mint_authority: &Keypair,
    owner: &Pubkey,
    units: u64,
) -> Result<Pubkey> {
    let payer = chain.payer_pubkey();
    let create = ix::create_associated_token_account_idempotent(
        payer,
        *owner,
        keys.underlying_mint,
        keys.underlying_token_program,
    );
    chain
        .send(&[create], &[])
        .await
        .map_err(|e| anyhow!("create the associated token account: {e}"))?;
    let account = lever_sdk::pda::associated_token_account(
        owner,
        &keys.underlying_mint,
        &keys.underlying_token_program,
    );
    if units > 0 {
        fund(chain, keys, mint_authority, &account, units).await?;
    }
    Ok(account)
}
