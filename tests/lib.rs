//! Test harness for the Lever suites: a market on the embedded chain, one call per instruction,
//! price and clock control, and the books checked against the real token balances after every
//! step (landed or refused).

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use anchor_spl::token::ID as TOKEN;
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::constants::PPM;
use lever::error::LeverError;
use lever::instructions::*;
use lever::math::PoolState;
use lever::state::{Market, MarketParams, Request, RequestArgs, RequestKind, UpdateMarketParams};
use lever_sdk::cluster::{ClusterError, Landed};
use lever_sdk::ix::{self, UserAccounts};
use lever_sdk::pda::{self, MarketKeys};
use lever_sdk::pyth::{PriceInput, Verification};
use lever_testkit::chain::Chain;
use lever_testkit::local::{self, LocalMarket, MarketSpec, Wallet};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub use lever_sdk;

/// Pyth SOL/USD feed id.
pub const SOL_FEED: [u8; 32] = lever_sdk::pyth::SOL_USD_FEED_ID;

/// Start time of every test chain: 2025-01-01T00:00:00Z.
pub const T0: i64 = 1_735_689_600;

/// How a test market is set up.
#[derive(Clone, Debug)]
pub struct MarketOpts {
    pub token_program: Pubkey,
    pub decimals: u8,
    pub params: MarketParams,
    pub seed_units: u64,
    pub id: u32,
}

/// 3x, band 5%, no fees, 60 s price age, 2% confidence limit, a 2%/8%/100% curve kinked at 80%;
/// requests settle 10 s after they land, within 120 s, for a 5000-lamport tip; the instant path takes updates up to 5 s old
/// at a 0.5% fee.
pub fn default_params() -> MarketParams {
    MarketParams {
        target_leverage_ppm: 3 * PPM,
        band_ppm: 50_000,
        mint_fee_ppm: 0,
        redeem_fee_ppm: 0,
        deposit_fee_ppm: 0,
        withdraw_fee_ppm: 0,
        max_price_age_secs: 60,
        max_conf_ppm: 20_000,
        conf_multiplier_ppm: PPM,
        exposure_cap: u64::MAX,
        max_utilization_ppm: PPM,
        base_rate_ppm: 20_000,
        kink_ppm: 800_000,
        slope1_ppm: 80_000,
        slope2_ppm: 1_000_000,
        settle_delay_secs: 10,
        settle_window_secs: 120,
        min_settle_tip_lamports: 5_000,
        // The instant path on, at the floor fee of 10x and 5 s (0.5%), so any leverage may be set.
        instant_max_age_secs: 5,
        instant_fee_ppm: 5_000,
        instant_max_conf_ppm: 20_000,
        instant_slot_cap: u64::MAX,
    }
}

impl Default for MarketOpts {
    fn default() -> Self {
        Self {
            token_program: TOKEN,
            decimals: 9,
            params: default_params(),
            seed_units: 1_000,
            id: 0,
        }
    }
}

/// A wallet with an underlying account and LT/FT accounts.
pub type User = Wallet;

/// Everything a refused instruction must leave unchanged.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub market: Option<Vec<u8>>,
    pub config: Option<Vec<u8>>,
    pub balances: Vec<(Pubkey, u64)>,
    pub supplies: (u64, u64),
}

pub struct Harness {
    pub chain: Chain,
    pub admin: Keypair,
    pub pause_authority: Keypair,
    pub fee_receiver: Keypair,
    pub mint_authority: Keypair,
    pub keys: MarketKeys,
    pub price_account: Pubkey,
    pub feed_id: [u8; 32],
    pub decimals: u8,
    /// Token accounts whose balances snapshots compare.
    pub tracked: Vec<Pubkey>,
    /// Steps whose conservation was checked.
    pub checks: u64,
    /// Set by tests that burn LT/FT with the token program directly: until the next instruction
    /// on that mint syncs the books, the mint's supply may sit below the recorded one.
    pub external_burns: bool,
    /// Nonce of the last request opened.
    pub next_nonce: u64,
    /// Requests opened; `check` holds each open one's escrow to its amount.
    pub requests: Vec<Pubkey>,
}

/// Why a harness user operation did not fill: the chain refused a transaction, or the settlement
/// refunded the request with the books' refusal.
#[derive(Debug)]
pub enum OpError {
    Chain(ClusterError),
    Refunded(u32),
}

impl OpError {
    pub fn custom_code(&self) -> Option<u32> {
        match self {
            Self::Chain(e) => e.custom_code(),
            Self::Refunded(code) => Some(*code),
        }
    }

    pub fn is(&self, e: LeverError) -> bool {
        self.custom_code() == Some(u32::from(e))
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Chain(e) => write!(f, "{e}"),
            Self::Refunded(code) => write!(f, "refunded with error {code}"),
        }
    }
}

/// A harness with 100 SOL of funding from `lp` and a 10 SOL LT mint by `alice` (3x: 30 SOL exposure,
/// 20 SOL lent).
pub async fn levered() -> (Harness, User, User) {
    levered_with(MarketOpts::default()).await
}

/// [`levered`] on a market set up by `opts` (amounts in 1e9 raw units whatever the decimals).
pub async fn levered_with(opts: MarketOpts) -> (Harness, User, User) {
    let mut h = Harness::new(opts).await;
    let lp = h.user(sol(110.0)).await;
    h.deposit(&lp, sol(100.0)).await.expect("deposit");
    let alice = h.user(sol(20.0)).await;
    h.mint_lt(&alice, sol(10.0)).await.expect("mint");
    (h, lp, alice)
}

pub fn sol(units: f64) -> u64 {
    (units * 1e9).round() as u64
}

impl Harness {
    /// A chain, a config and one market with its seed deposit; price $100 with zero confidence.
    pub async fn new(opts: MarketOpts) -> Self {
        let chain = Chain::start().await.expect("chain");
        Self::on_chain(chain, opts).await
    }

    pub async fn on_chain(chain: Chain, opts: MarketOpts) -> Self {
        Self::on_chain_at(chain, opts, T0).await
    }

    /// [`Harness::on_chain`] with the market created at `start` (unix seconds) instead of [`T0`]:
    /// for tests replaying a real update from an earlier date.
    pub async fn on_chain_at(mut chain: Chain, opts: MarketOpts, start: i64) -> Self {
        chain.set_time(start);
        let spec = Self::spec(&opts);
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
        } = LocalMarket::create(chain, &spec).await.expect("market");
        let mut h = Self {
            chain,
            admin,
            pause_authority,
            fee_receiver,
            mint_authority,
            keys,
            price_account,
            feed_id,
            decimals,
            tracked: vec![keys.vault],
            checks: 0,
            external_burns: false,
            next_nonce: 0,
            requests: Vec::new(),
        };
        h.set_price(100.0);
        h.check().await;
        h
    }

    /// The SDK's market spec for these options (named after the leverage: "SOL 3x Long" ...).
    pub fn spec(opts: &MarketOpts) -> MarketSpec {
        MarketSpec {
            seed_units: opts.seed_units,
            id: opts.id,
            ..MarketSpec::named("SOL", SOL_FEED, opts.token_program, opts.decimals, opts.params)
        }
    }

    pub fn create_args(&self, opts: &MarketOpts) -> CreateMarketArgs {
        Self::spec(opts).create_args()
    }

    pub async fn token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let program = if *mint == self.keys.lt_mint || *mint == self.keys.ft_mint {
            TOKEN_2022
        } else {
            self.keys.underlying_token_program
        };
        let account = self
            .chain
            .create_token_account(mint, owner, &program)
            .await
            .expect("token account");
        self.tracked.push(account);
        account
    }

    /// Mint underlying units to `to`.
    pub async fn fund(&mut self, to: &Pubkey, units: u64) {
        local::fund(&mut self.chain, &self.keys, &self.mint_authority, to, units)
            .await
            .expect("fund");
    }

    /// A new wallet holding `units` underlying units; its accounts join the snapshots.
    pub async fn user(&mut self, units: u64) -> User {
        let w = local::new_wallet(&mut self.chain, &self.keys, &self.mint_authority, units)
            .await
            .expect("wallet");
        self.tracked.extend([w.underlying, w.lt, w.ft]);
        w
    }

    /// Publish `usd` (exponent -8, zero confidence) at the chain's current time.
    pub fn set_price(&mut self, usd: f64) {
        self.set_price_conf(usd, 0.0);
    }

    pub fn set_price_conf(&mut self, usd: f64, conf_ratio: f64) {
        let input = PriceInput::usd(self.feed_id, usd, conf_ratio, self.chain.now());
        self.write_price(&input);
    }

    pub fn write_price(&mut self, input: &PriceInput) {
        let account = self.price_account;
        self.chain.write_price(&account, input);
    }

    /// A new price account holding `input` (beside the harness's own, which keeps its update).
    pub fn price_account_with(&mut self, input: &PriceInput) -> Pubkey {
        let account = Pubkey::new_unique();
        self.chain.write_price(&account, input);
        account
    }

    /// The update in the price account now.
    pub async fn price_update(&mut self) -> PriceUpdateV2 {
        let account = self
            .chain
            .account(&self.price_account)
            .await
            .expect("rpc")
            .expect("price account");
        lever_sdk::pyth::decode_price_update(&account.data).expect("a price update")
    }

    pub fn price_input(&self, usd: f64) -> PriceInput {
        PriceInput {
            feed_id: self.feed_id,
            price: (usd * 1e8).round() as i64,
            conf: 0,
            exponent: -8,
            publish_time: self.chain.now(),
            prev_publish_time: self.chain.now() - 1,
            verification: Verification::Full,
        }
    }

    /// Move the clock forward (prices keep their publish time, so they age).
    pub fn advance(&mut self, secs: i64) {
        let now = self.chain.now() + secs;
        self.chain.set_time(now);
    }

    pub async fn market(&mut self) -> Market {
        let key = self.keys.market;
        self.chain.market(&key).await.expect("market")
    }

    pub async fn pool(&mut self) -> PoolState {
        self.market().await.pool()
    }

    pub async fn balance(&mut self, account: &Pubkey) -> u64 {
        self.chain.token_amount(account).await.expect("balance")
    }

    /// The conservation law, exactly, plus recorded supplies against the mints.
    pub async fn check(&mut self) {
        let market = self.market().await;
        let vault = self.balance(&self.keys.vault.clone()).await;
        let pool = market.pool();
        assert_eq!(
            vault,
            pool.exposure + pool.idle + pool.fee_units,
            "conservation: vault {vault} != N {} + I {} + fees {}",
            pool.exposure,
            pool.idle,
            pool.fee_units
        );
        let lt = self
            .chain
            .mint_supply(&self.keys.lt_mint)
            .await
            .expect("lt supply");
        let ft = self
            .chain
            .mint_supply(&self.keys.ft_mint)
            .await
            .expect("ft supply");
        // The books' LT also counts what retired LT (of a re-base) not converted yet claims.
        let lt = lt + market.retired_lt_claim().expect("retired claim");
        if self.external_burns {
            assert!(
                lt <= pool.lt_supply && ft <= pool.ft_supply,
                "supplies above the books"
            );
        } else {
            assert_eq!(lt, pool.lt_supply, "LT supply");
            assert_eq!(ft, pool.ft_supply, "FT supply");
        }
        self.check_escrows().await;
        self.checks += 1;
    }

    /// Every open request's escrow holds exactly what the request records.
    pub async fn check_escrows(&mut self) {
        let mut open = Vec::new();
        for request in std::mem::take(&mut self.requests) {
            let Some(account) = self.chain.account(&request).await.expect("rpc") else {
                continue; // settled or cancelled: closed, with its escrow
            };
            let r = lever_sdk::accounts::decode_request(&account).expect("a request");
            let held = self.balance(&r.escrow).await;
            assert_eq!(held, r.amount, "escrow of {request}");
            open.push(request);
        }
        self.requests = open;
    }

    pub async fn snapshot(&mut self) -> Snapshot {
        let market = self
            .chain
            .account(&self.keys.market)
            .await
            .expect("market")
            .map(|a| a.data);
        let config = self
            .chain
            .account(&pda::config())
            .await
            .expect("config")
            .map(|a| a.data);
        let mut balances = Vec::new();
        for account in self.tracked.clone() {
            if let Ok(amount) = self.chain.token_amount(&account).await {
                balances.push((account, amount));
            }
        }
        let lt = self.chain.mint_supply(&self.keys.lt_mint).await.unwrap_or(0);
        let ft = self.chain.mint_supply(&self.keys.ft_mint).await.unwrap_or(0);
        Snapshot {
            market,
            config,
            balances,
            supplies: (lt, ft),
        }
    }

    /// Send, then check the books whatever happened.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Landed, ClusterError> {
        let out = self.chain.send(ixs, signers).await;
        self.check().await;
        out
    }

    /// Send and require the exact program error, with nothing changed.
    pub async fn expect_error(&mut self, ixs: &[Instruction], signers: &[&Keypair], expected: LeverError) {
        let before = self.snapshot().await;
        let fail = self
            .send(ixs, signers)
            .await
            .expect_err("instruction should have failed");
        assert_eq!(
            fail.custom_code(),
            Some(u32::from(expected)),
            "expected {expected:?}, got {fail}"
        );
        let after = self.snapshot().await;
        assert_eq!(before, after, "a refused instruction changed state");
    }

    /// Send and require the exact Anchor framework error (an account check), with nothing changed.
    pub async fn expect_anchor_error(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        expected: anchor_lang::error::ErrorCode,
    ) {
        let fail = self.expect_failure(ixs, signers).await;
        assert_eq!(
            fail.custom_code(),
            Some(expected as u32),
            "expected {expected:?}, got {fail}"
        );
    }

    /// Send and require any failure (Anchor or runtime), with nothing changed. Returns it.
    pub async fn expect_failure(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> ClusterError {
        let before = self.snapshot().await;
        let fail = self
            .send(ixs, signers)
            .await
            .expect_err("instruction should have failed");
        let after = self.snapshot().await;
        assert_eq!(before, after, "a refused instruction changed state");
        fail
    }

    /// The four user instructions (mint, redeem, deposit, withdraw) with `min_out`, each with its
    /// signer.
    pub fn user_ixs(
        &self,
        lp: &User,
        alice: &User,
        amount: u64,
        min_out: u64,
    ) -> Vec<(Instruction, Keypair)> {
        vec![
            (self.mint_ix(alice, amount, min_out), alice.kp.insecure_clone()),
            (self.redeem_ix(alice, amount, min_out), alice.kp.insecure_clone()),
            (self.deposit_ix(lp, amount, min_out), lp.kp.insecure_clone()),
            (self.withdraw_ix(lp, amount, min_out), lp.kp.insecure_clone()),
        ]
    }

    pub fn lt_accounts(&self, u: &User) -> UserAccounts {
        u.lt_accounts(self.price_account)
    }

    pub fn ft_accounts(&self, u: &User) -> UserAccounts {
        u.ft_accounts(self.price_account)
    }

    pub fn mint_ix(&self, u: &User, amount: u64, min: u64) -> Instruction {
        ix::mint_lt(&self.keys, &self.lt_accounts(u), amount, min)
    }

    pub fn redeem_ix(&self, u: &User, shares: u64, min: u64) -> Instruction {
        ix::redeem_lt(&self.keys, &self.lt_accounts(u), shares, min)
    }

    pub fn deposit_ix(&self, u: &User, amount: u64, min: u64) -> Instruction {
        ix::deposit_funding(&self.keys, &self.ft_accounts(u), amount, min)
    }

    pub fn withdraw_ix(&self, u: &User, shares: u64, min: u64) -> Instruction {
        ix::withdraw_funding(&self.keys, &self.ft_accounts(u), shares, min)
    }

    pub fn rebalance_ix(&self, caller: &Pubkey) -> Instruction {
        ix::rebalance(*caller, self.keys.market, self.price_account)
    }

    pub fn update_ix(&self, update: UpdateMarketParams) -> Instruction {
        ix::update_market(self.admin.pubkey(), self.keys.market, update)
    }

    /// An instant `mint_lt` (one transaction, the current update, the instant fee).
    pub async fn instant_mint_lt(&mut self, u: &User, amount: u64) -> Result<MintLtOutcome, ClusterError> {
        let ix = self.mint_ix(u, amount, 0);
        let ok = self.send(&[ix], &[&u.kp]).await?;
        Ok(decode(&ok))
    }

    pub async fn instant_redeem_lt(
        &mut self,
        u: &User,
        shares: u64,
    ) -> Result<RedeemLtOutcome, ClusterError> {
        let ix = self.redeem_ix(u, shares, 0);
        let ok = self.send(&[ix], &[&u.kp]).await?;
        Ok(decode(&ok))
    }

    pub async fn instant_deposit(
        &mut self,
        u: &User,
        amount: u64,
    ) -> Result<DepositFundingOutcome, ClusterError> {
        let ix = self.deposit_ix(u, amount, 0);
        let ok = self.send(&[ix], &[&u.kp]).await?;
        Ok(decode(&ok))
    }

    pub async fn instant_withdraw(
        &mut self,
        u: &User,
        shares: u64,
    ) -> Result<WithdrawFundingOutcome, ClusterError> {
        let ix = self.withdraw_ix(u, shares, 0);
        let ok = self.send(&[ix], &[&u.kp]).await?;
        Ok(decode(&ok))
    }

    /// A two-step LT mint settled at the current update (see [`Harness::two_step`]).
    pub async fn mint_lt(&mut self, u: &User, amount: u64) -> Result<MintLtOutcome, OpError> {
        let s = self.two_step(u, RequestKind::MintLt, amount, 0).await?;
        Ok(MintLtOutcome {
            shares_out: s.amount_out,
            units_in: s.amount_in,
            fee_units: s.fee_units,
            price: s.price,
        })
    }

    pub async fn redeem_lt(&mut self, u: &User, shares: u64) -> Result<RedeemLtOutcome, OpError> {
        let s = self.two_step(u, RequestKind::RedeemLt, shares, 0).await?;
        Ok(RedeemLtOutcome {
            units_out: s.amount_out,
            shares_in: s.amount_in,
            fee_units: s.fee_units,
            price: s.price,
        })
    }

    pub async fn deposit(&mut self, u: &User, amount: u64) -> Result<DepositFundingOutcome, OpError> {
        let s = self.two_step(u, RequestKind::DepositFunding, amount, 0).await?;
        Ok(DepositFundingOutcome {
            shares_out: s.amount_out,
            units_in: s.amount_in,
            fee_units: s.fee_units,
            price: s.price,
        })
    }

    pub async fn withdraw(&mut self, u: &User, shares: u64) -> Result<WithdrawFundingOutcome, OpError> {
        let s = self.two_step(u, RequestKind::WithdrawFunding, shares, 0).await?;
        Ok(WithdrawFundingOutcome {
            units_out: s.amount_out,
            shares_in: s.amount_in,
            fee_units: s.fee_units,
            price: s.price,
        })
    }

    /// The accounts a request of `kind` by `u` names: the input account and the output account.
    pub fn request_accounts(&self, u: &User, kind: RequestKind) -> ix::RequestAccounts {
        let (source, destination) = match kind {
            RequestKind::MintLt => (u.underlying, u.lt),
            RequestKind::RedeemLt => (u.lt, u.underlying),
            RequestKind::DepositFunding => (u.underlying, u.ft),
            RequestKind::WithdrawFunding => (u.ft, u.underlying),
        };
        ix::RequestAccounts {
            payer: u.pubkey(),
            owner: u.pubkey(),
            source,
            destination,
        }
    }

    /// Open a request of `kind` by `u` now (the next nonce); returns its address and receipt.
    pub async fn request(
        &mut self,
        u: &User,
        kind: RequestKind,
        amount: u64,
        min_out: u64,
    ) -> Result<(Pubkey, RequestReceipt), ClusterError> {
        self.next_nonce += 1;
        let args = RequestArgs {
            nonce: self.next_nonce,
            amount,
            min_out,
            tip_lamports: self.market().await.params.min_settle_tip_lamports,
        };
        let ix = ix::open_request(&self.keys, kind, &self.request_accounts(u, kind), args);
        // A request touches neither the books nor the vault (a donation waiting in the vault stays
        // there for the next priced instruction to absorb): both are compared, not re-derived.
        let (market, vault) = (
            self.chain.account(&self.keys.market).await.expect("rpc"),
            self.balance(&self.keys.vault.clone()).await,
        );
        let sent = self.chain.send(&[ix], &[&u.kp]).await;
        assert_eq!(
            self.chain.account(&self.keys.market).await.expect("rpc"),
            market,
            "a request changed the market"
        );
        assert_eq!(
            self.balance(&self.keys.vault.clone()).await,
            vault,
            "a request changed the vault"
        );
        self.check_escrows().await;
        let receipt: RequestReceipt = decode(&sent?);
        self.requests.push(receipt.request);
        Ok((receipt.request, receipt))
    }

    /// The request at `address` (panics if it is closed).
    pub async fn request_state(&mut self, address: &Pubkey) -> Request {
        let account = self
            .chain
            .account(address)
            .await
            .expect("rpc")
            .expect("request open");
        lever_sdk::accounts::decode_request(&account).expect("a request")
    }

    /// `settle_request` of `request` by the chain's payer at the harness's price account.
    pub async fn settle(&mut self, request: &Pubkey) -> Result<SettleOutcome, ClusterError> {
        let ix = self
            .settle_ix(&self.chain.payer_pubkey(), request, &self.price_account.clone())
            .await;
        let ok = self.send(&[ix], &[]).await?;
        Ok(decode(&ok))
    }

    /// The `settle_request` instruction of the open `request` by `settler` at `price_update`.
    pub async fn settle_ix(
        &mut self,
        settler: &Pubkey,
        request: &Pubkey,
        price_update: &Pubkey,
    ) -> Instruction {
        let r = self.request_state(request).await;
        ix::settle_request(*settler, &self.keys, *request, &r, *price_update)
    }

    /// A two-step operation settled at the update now in the price account: the request lands
    /// `settle_delay_secs` before that update's publish time (so its target `tau` is exactly that
    /// publish time, which the update covers) and a keeper settles it now. The clock is moved back
    /// for the request and forward again: the request does not touch the books, so they see exactly
    /// what an operation at this time sees, and the update nobody chose is the one in the account.
    /// A refund (the books refused at that price) is [`OpError::Refunded`].
    pub async fn two_step(
        &mut self,
        u: &User,
        kind: RequestKind,
        amount: u64,
        min_out: u64,
    ) -> Result<SettleOutcome, OpError> {
        let now = self.chain.now();
        let publish = self.price_update().await.price_message.publish_time;
        let delay = i64::try_from(self.market().await.params.settle_delay_secs).expect("delay");
        self.chain.set_time(publish - delay);
        let opened = self.request(u, kind, amount, min_out).await;
        self.chain.set_time(now);
        let (request, receipt) = opened.map_err(OpError::Chain)?;
        assert_eq!(receipt.tau, publish);
        let outcome = self.settle(&request).await.map_err(OpError::Chain)?;
        assert!(
            self.chain.account(&request).await.expect("rpc").is_none(),
            "a settled request is closed"
        );
        if outcome.filled {
            Ok(outcome)
        } else {
            Err(OpError::Refunded(outcome.refund_code))
        }
    }

    pub async fn rebalance(&mut self) -> Result<RebalanceOutcome, ClusterError> {
        let payer = self.chain.payer_pubkey();
        let ix = ix::rebalance(payer, self.keys.market, self.price_account);
        let ok = self.send(&[ix], &[]).await?;
        Ok(decode(&ok))
    }

    /// Send as the admin.
    /// `start_lt_epoch` to `args.epoch` by the admin; on success the harness follows the market to
    /// its new LT mint before checking the books.
    pub async fn start_lt_epoch(
        &mut self,
        args: lever::instructions::StartLtEpochArgs,
    ) -> Result<Landed, ClusterError> {
        let admin = self.admin.insecure_clone();
        let ix = ix::start_lt_epoch(admin.pubkey(), &self.keys, args);
        let out = self.chain.send(&[ix], &[&admin]).await;
        if out.is_ok() {
            self.keys.lt_mint = self.market().await.lt_mint;
        }
        self.check().await;
        out
    }

    /// `rebase_lt` by the admin; on success the harness follows the market to its new LT mint
    /// before checking the books.
    pub async fn rebase_lt(
        &mut self,
        args: lever::instructions::RebaseLtArgs,
    ) -> Result<Landed, ClusterError> {
        let admin = self.admin.insecure_clone();
        let ix = ix::rebase_lt(admin.pubkey(), &self.keys, args);
        let out = self.chain.send(&[ix], &[&admin]).await;
        if out.is_ok() {
            self.keys.lt_mint = self.market().await.lt_mint;
        }
        self.check().await;
        out
    }

    pub async fn admin_send(&mut self, ixs: &[Instruction]) -> Result<Landed, ClusterError> {
        let admin = self.admin.insecure_clone();
        self.send(ixs, &[&admin]).await
    }

    /// Current mid price as the program stores it, for closed-form checks.
    pub fn price_q(&self, usd: f64) -> u128 {
        lever::math::price_band((usd * 1e8).round() as i64, 0, -8, self.decimals, 20_000, PPM)
            .expect("price")
            .mid
    }
}

/// Decode an instruction's return data.
pub fn decode<T: AnchorDeserialize>(ok: &Landed) -> T {
    let data = ok
        .return_data
        .as_ref()
        .unwrap_or_else(|| panic!("no return data; logs: {:#?}", ok.logs));
    T::deserialize(&mut &data[..]).expect("decode return data")
}

impl Harness {
    /// The events (`emit_cpi` self-CPIs) these instructions emit, read from a simulation at the
    /// current state; the simulation changes nothing.
    pub async fn events(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Vec<Vec<u8>> {
        let payer = self.chain.payer().insecure_clone();
        let mut keys: Vec<&Keypair> = vec![&payer];
        keys.extend_from_slice(signers);
        let tx = solana_transaction::Transaction::new_signed_with_payer(
            ixs,
            Some(&payer.pubkey()),
            &keys,
            self.chain.ctx.last_blockhash,
        );
        let sim = self
            .chain
            .ctx
            .banks_client
            .simulate_transaction(tx)
            .await
            .expect("simulate");
        let details = sim.simulation_details.expect("simulation details");
        let tag = anchor_lang::event::EVENT_IX_TAG_LE;
        details
            .inner_instructions
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter_map(|inner| {
                let data = inner.instruction.data;
                data.starts_with(tag).then(|| data[tag.len()..].to_vec())
            })
            .collect()
    }
}

/// Find and decode the first event of type `E` in `events`.
pub fn find_event<E: anchor_lang::Event + AnchorDeserialize>(events: &[Vec<u8>]) -> Option<E> {
    events.iter().find_map(|data| {
        let disc = E::DISCRIMINATOR;
        data.starts_with(disc)
            .then(|| E::deserialize(&mut &data[disc.len()..]).ok())
            .flatten()
    })
}

/// The real mainnet SOL/USD `PriceUpdateV2` account (read from the shared data set,
/// `lever_sdk::data::files::SOL_USD_PRICE_UPDATE_V2`; provenance in the README): its address (Pyth's
/// sponsored shard-0 push feed) and the account as `solana account` printed it.
pub fn mainnet_sol_usd_account() -> (Pubkey, solana_account::Account) {
    use base64::Engine as _;
    use std::str::FromStr as _;
    let fixture = lever_sdk::data::read_data_file(None, lever_sdk::data::files::SOL_USD_PRICE_UPDATE_V2)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let json: serde_json::Value = serde_json::from_str(&fixture).expect("fixture json");
    let address = Pubkey::from_str(json["pubkey"].as_str().expect("pubkey")).expect("address");
    let account = &json["account"];
    let data = base64::engine::general_purpose::STANDARD
        .decode(account["data"][0].as_str().expect("data"))
        .expect("base64");
    let owner = Pubkey::from_str(account["owner"].as_str().expect("owner")).expect("owner");
    (
        address,
        solana_account::Account {
            lamports: account["lamports"].as_u64().expect("lamports"),
            data,
            owner,
            executable: false,
            rent_epoch: 0,
        },
    )
}
