//! One fuzz sequence: a random market, users, keepers and admin roles on a fresh embedded chain,
//! `steps` random actions, each followed by the invariant checks, then the unwind and the
//! end-of-sequence rule (`rule.rs`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use anchor_spl::token_2022::spl_token_2022;
use lever::constants::{pause, MAX_BAND_PPM, MAX_FEE_PPM, MIN_BAND_PPM, PPM};
use lever::error::LeverError;
use lever::instructions::{
    DepositFundingOutcome, Filled, MintLtOutcome, RebalanceOutcome, RedeemLtOutcome, RequestReceipt,
    SettleOutcome, Settled, UpdateShareMetadataArgs, WithdrawFundingOutcome,
};
use lever::math::{band_status, scale_mantissa, units_for_value, utilization_ppm, BandStatus, Rounding};
use lever::oracle::{Now, ValidPrice};
use lever::state::{Market, MarketParams, Request, RequestArgs, RequestKind, ShareKind, UpdateMarketParams};
use lever_sdk::cluster::Landed;
use lever_sdk::ix;
use lever_sdk::pyth::{PriceInput, Verification};
use lever_sdk::quote::{self, QuoteResult, Refusal};
use lever_tests::{default_params, Harness, MarketOpts, User};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::names::{code_name, fail_name};
use crate::rng::Rng;
use crate::rule::{self, Ledger, Role, RuleParams};

/// Figures of one sequence (or of the run, merged).
#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub sequences: u64,
    /// Generated actions (transactions and price/clock steps).
    pub actions: u64,
    /// Transactions sent (program instructions, plus donations by token transfer).
    pub sent: u64,
    pub landed: u64,
    pub refused: BTreeMap<String, u64>,
    /// Per kind: (sent, landed).
    pub by_kind: BTreeMap<&'static str, (u64, u64)>,
    /// Price and clock steps by kind.
    pub steps: BTreeMap<&'static str, u64>,
    /// Notable landed outcomes (stale exits, first mints, bounded rebalances...).
    pub outcomes: BTreeMap<&'static str, u64>,
    pub checks: u64,
    pub violations: u64,
    pub wipeouts: u64,
    pub quiet_sequences: u64,
}

impl Stats {
    pub fn merge(&mut self, o: &Stats) {
        self.sequences += o.sequences;
        self.actions += o.actions;
        self.sent += o.sent;
        self.landed += o.landed;
        for (k, v) in &o.refused {
            *self.refused.entry(k.clone()).or_default() += v;
        }
        for (k, (s, l)) in &o.by_kind {
            let e = self.by_kind.entry(k).or_default();
            e.0 += s;
            e.1 += l;
        }
        for (k, v) in &o.steps {
            *self.steps.entry(k).or_default() += v;
        }
        for (k, v) in &o.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
        self.checks += o.checks;
        self.violations += o.violations;
        self.wipeouts += o.wipeouts;
        self.quiet_sequences += o.quiet_sequences;
    }

    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// An invariant that did not hold, at a step of the sequence.
#[derive(Debug, Clone)]
pub struct Violation {
    pub step: usize,
    pub msg: String,
}

type Res<T = ()> = Result<T, Violation>;

/// The action log shared with the runner, so it survives a panic.
pub type Log = Arc<Mutex<Vec<String>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    MintLt,
    RedeemLt,
    Deposit,
    Withdraw,
    Rebalance,
    SetPause,
    UpdateMarket,
    WithdrawFees,
    Reopen,
    TransferAdmin,
    AcceptAdmin,
    Donate,
    Request,
    Settle,
    Cancel,
    ShareMetadata,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::MintLt => "mint_lt",
            Kind::RedeemLt => "redeem_lt",
            Kind::Deposit => "deposit_funding",
            Kind::Withdraw => "withdraw_funding",
            Kind::Rebalance => "rebalance",
            Kind::SetPause => "set_pause",
            Kind::UpdateMarket => "update_market",
            Kind::WithdrawFees => "withdraw_fees",
            Kind::Reopen => "reopen_market",
            Kind::TransferAdmin => "transfer_admin",
            Kind::AcceptAdmin => "accept_admin",
            Kind::Donate => "donate (token transfer)",
            Kind::Request => "request_*",
            Kind::Settle => "settle_request",
            Kind::Cancel => "cancel_request",
            Kind::ShareMetadata => "update_share_metadata",
        }
    }

    /// Instructions that credit a donation to the fee units when they land.
    fn absorbs_donations(self) -> bool {
        matches!(
            self,
            Kind::MintLt
                | Kind::RedeemLt
                | Kind::Deposit
                | Kind::Withdraw
                | Kind::WithdrawFees
                | Kind::Settle
        )
    }
}

/// What the model (the SDK's quotes, which run the program's own `*_books` functions, or the
/// admin rules) says the chain must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Land,
    Refuse(u32),
    /// The books accept it, the token program refuses the transfer or burn (InsufficientFunds).
    TokenFail,
}

fn expect_of<Q>(pred: &QuoteResult<Q>, token_short: bool) -> Expect {
    match pred {
        Err(r) => Expect::Refuse(r.code),
        Ok(_) if token_short => Expect::TokenFail,
        Ok(_) => Expect::Land,
    }
}

fn describe(e: Expect) -> String {
    match e {
        Expect::Land => "land".into(),
        Expect::Refuse(c) => format!("refuse {}", code_name(c)),
        Expect::TokenFail => "refuse Token:InsufficientFunds".into(),
    }
}

/// How a user instruction's inputs are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Normal,
    /// Amount 0.
    Zero,
    /// More than the user holds.
    TooMuch,
    /// 1..1000 raw units.
    Tiny,
    /// Minimum out equal to the quote (must land).
    Exact,
    /// Minimum out one above the quote (must be refused with SlippageExceeded).
    Plus1,
    /// Minimum out u64::MAX.
    Huge,
    /// One account more than the instruction takes (must be refused UnexpectedAccounts).
    ExtraAccount,
    /// The end-of-sequence unwind: everything, no minimum.
    Unwind,
}

enum Sent {
    Landed,
    Refused(String),
}

struct Actor {
    w: User,
    name: String,
    ledger: Ledger,
    /// Balances as the model knows them (checked against the chain after every landed step).
    und: u64,
    lt: u64,
    ft: u64,
    /// Shares waiting in the escrow of this actor's open requests: still exposed to the price.
    esc: u64,
}

impl Actor {
    /// Holds shares (in the wallet or in a request's escrow).
    fn holds(&self, role: Role) -> bool {
        self.esc > 0
            || match role {
                Role::Lt => self.lt > 0,
                Role::Ft => self.ft > 0,
            }
    }
}

/// An open two-step request of the sequence, as the model knows it.
struct Open {
    address: Pubkey,
    role: Role,
    actor: usize,
    request: Request,
}

struct Feed {
    usd: f64,
    conf: f64,
    /// What the price account holds now.
    input: PriceInput,
    /// Mid of the last valid price published (NAVs are read at it).
    mid: u128,
}

/// A sequence on its own chain.
pub struct Seq {
    h: Harness,
    rng: Rng,
    quiet: bool,
    conf_regime: bool,
    lts: Vec<Actor>,
    fts: Vec<Actor>,
    keepers: Vec<Keypair>,
    fee_dest: Pubkey,
    fees_withdrawn: u64,
    seed_units: u64,
    feed: Feed,
    pending_donation: u64,
    /// Units a donation transfer about to be sent moves (credited to `pending_donation` if it lands).
    donation_in_flight: u64,
    pending_admin: Option<Keypair>,
    /// Two-step requests opened and not yet settled or cancelled.
    open: Vec<Open>,
    step: usize,
    log: Log,
    opts: Options,
    pub stats: Stats,
    // --- the end-of-sequence rule's inputs
    lambda_max: f64,
    rate_max_ppm: u64,
    landed_ops: u64,
    max_share_units: u64,
    spread: f64,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Print every action as it runs.
    pub verbose: bool,
}

/// Run one sequence: `Ok` or the first violation. Stats are returned either way.
pub async fn run(seed: u64, steps: usize, log: Log, opts: Options) -> (Stats, Result<(), Violation>) {
    let mut seq = Seq::start(seed, log, opts).await;
    let outcome = seq.run(steps).await;
    if outcome.is_err() {
        seq.stats.violations += 1;
    }
    (seq.stats.clone(), outcome)
}

fn random_params(rng: &mut Rng) -> MarketParams {
    let mut p = default_params();
    p.target_leverage_ppm = if rng.chance(0.6) {
        rng.pick(&[2, 3, 3, 5, 10]) * PPM
    } else {
        rng.range(16, 80) * (PPM / 8) // the share symbols ("fSOL9.875X") must fit 10 chars
    };
    p.band_ppm = if rng.chance(0.6) {
        rng.pick(&[10_000, 20_000, 50_000, 100_000, 200_000])
    } else {
        rng.range(MIN_BAND_PPM, MAX_BAND_PPM)
    };
    if rng.chance(0.5) {
        p.mint_fee_ppm = rng.range(0, 10_000);
        p.redeem_fee_ppm = rng.range(0, 10_000);
        p.deposit_fee_ppm = rng.range(0, 5_000);
        p.withdraw_fee_ppm = rng.range(0, 5_000);
    }
    p.max_price_age_secs = rng.pick(&[60, 60, 300, 3_600]);
    p.settle_delay_secs = rng.pick(&[2, 5, 10, 60]);
    p.settle_window_secs = rng.pick(&[30, 120, 3_600]);
    p.min_settle_tip_lamports = rng.pick(&[0, 0, 5_000]);
    p.instant_max_age_secs = rng.pick(&[0, 1, 2, 5]);
    p.instant_fee_ppm = p.instant_fee_floor_ppm().unwrap() + rng.range(0, 2_000);
    p.max_conf_ppm = rng.pick(&[20_000, 20_000, 50_000, 100_000]);
    p.conf_multiplier_ppm = if rng.chance(0.7) {
        PPM
    } else {
        rng.range(PPM, 3 * PPM)
    };
    if rng.chance(0.5) {
        p.base_rate_ppm = rng.range(0, 200_000);
        p.kink_ppm = rng.range(500_000, 950_000);
        p.slope1_ppm = rng.range(0, 500_000);
        p.slope2_ppm = rng.range(0, 5_000_000);
    }
    p
}

fn tokens(decimals: u8, whole: f64) -> u64 {
    (whole * 10f64.powi(i32::from(decimals))).round() as u64
}

fn max_rate(p: &MarketParams) -> u64 {
    p.base_rate_ppm + p.slope1_ppm + p.slope2_ppm
}

fn restart_leverage(p: &MarketParams) -> f64 {
    p.target_leverage_ppm as f64 / 1e6 * (1.0 + p.band_ppm as f64 / 1e6) + 0.5
}

fn decode<T: AnchorDeserialize>(ok: &Landed) -> Option<T> {
    ok.return_data
        .as_ref()
        .and_then(|d| T::deserialize(&mut &d[..]).ok())
}

/// Named book fields whose values differ (for messages).
fn market_diff(a: &Market, b: &Market) -> String {
    let (pa, pb) = (a.pool(), b.pool());
    let mut out = Vec::new();
    if pa != pb {
        out.push(format!("pool {pa:?} vs {pb:?}"));
    }
    for (name, x, y) in [
        ("status", u128::from(a.status), u128::from(b.status)),
        ("paused", u128::from(a.paused), u128::from(b.paused)),
        ("last_price", a.last_price.get(), b.last_price.get()),
        (
            "last_publish_time",
            a.last_publish_time as u128,
            b.last_publish_time as u128,
        ),
        (
            "last_accrual_ts",
            a.last_accrual_ts as u128,
            b.last_accrual_ts as u128,
        ),
        (
            "rebalance_count",
            u128::from(a.rebalance_count),
            u128::from(b.rebalance_count),
        ),
        ("total_fees", u128::from(a.total_fees), u128::from(b.total_fees)),
        ("total_funding", a.total_funding.get(), b.total_funding.get()),
        ("total_bad_debt", a.total_bad_debt.get(), b.total_bad_debt.get()),
    ] {
        if x != y {
            out.push(format!("{name} {x} vs {y}"));
        }
    }
    if out.is_empty() {
        out.push("other fields differ".into());
    }
    out.join("; ")
}

impl Seq {
    async fn start(seed: u64, log: Log, opts: Options) -> Self {
        let mut rng = Rng::new(seed);
        let decimals = if rng.chance(0.7) { 9 } else { 6 };
        let token_program = if rng.chance(0.6) {
            anchor_spl::token::ID
        } else {
            anchor_spl::token_2022::ID
        };
        let params = random_params(&mut rng);
        let seed_units = if rng.chance(0.7) {
            1_000
        } else {
            rng.range(1_000, 1_000_000)
        };
        let quiet = rng.chance(0.2);
        let conf_regime = !quiet && rng.chance(0.5);
        let market_opts = MarketOpts {
            token_program,
            decimals,
            params,
            seed_units,
            id: rng.below(4) as u32,
        };
        let mut h = Harness::new(market_opts).await;
        let locked = h.keys.locked_ft;
        h.tracked.push(locked);
        let fee_receiver = h.fee_receiver.pubkey();
        let mint = h.keys.underlying_mint;
        let fee_dest = h.token_account(&mint, &fee_receiver).await;
        let n_lt = rng.range(2, 4) as usize;
        let n_ft = rng.range(1, 3) as usize;
        let mut lts = Vec::new();
        for i in 0..n_lt {
            let units = tokens(decimals, rng.log_uniform(1.0, 300.0));
            let w = h.user(units).await;
            lts.push(Actor {
                w,
                name: format!("lt{i}"),
                ledger: Ledger::new(Role::Lt, units),
                und: units,
                lt: 0,
                ft: 0,
                esc: 0,
            });
        }
        let mut fts = Vec::new();
        for i in 0..n_ft {
            let units = tokens(decimals, rng.log_uniform(50.0, 5_000.0));
            let w = h.user(units).await;
            fts.push(Actor {
                w,
                name: format!("ft{i}"),
                ledger: Ledger::new(Role::Ft, units),
                und: units,
                lt: 0,
                ft: 0,
                esc: 0,
            });
        }
        // Keepers hold lamports of their own, as real ones do (they pay their fees): a tip into an
        // empty account would leave it below rent exemption, which the runtime refuses.
        let keepers: Vec<Keypair> = (0..rng.range(2, 3)).map(|_| Keypair::new()).collect();
        for k in &keepers {
            h.chain.airdrop(&k.pubkey(), 100_000_000).await.expect("airdrop");
        }
        let input = h.price_input(100.0);
        let mid = scale_mantissa(input.price as u128, input.exponent, decimals, Rounding::Down).expect("mid");
        let seq = Self {
            h,
            rng,
            quiet,
            conf_regime,
            lts,
            fts,
            keepers,
            fee_dest,
            fees_withdrawn: 0,
            seed_units,
            feed: Feed {
                usd: 100.0,
                conf: 0.0,
                input,
                mid,
            },
            pending_donation: 0,
            donation_in_flight: 0,
            pending_admin: None,
            open: Vec::new(),
            step: 0,
            log,
            opts,
            stats: Stats {
                sequences: 1,
                quiet_sequences: u64::from(quiet),
                ..Stats::default()
            },
            lambda_max: restart_leverage(&params),
            rate_max_ppm: max_rate(&params),
            landed_ops: 0,
            max_share_units: 1,
            spread: 0.0,
        };
        let tp = if token_program == anchor_spl::token::ID {
            "spl-token"
        } else {
            "token-2022"
        };
        seq.note(format!(
            "seed {seed:#x}: {} dp {tp}, L {} band {} fees {}/{}/{}/{} ppm, age {} s, conf max {} x{}, \
             curve {}/{}/{}/{}, seed {} units, {} LT users, {} FT users, {} keepers{}{}",
            decimals,
            params.target_leverage_ppm,
            params.band_ppm,
            params.mint_fee_ppm,
            params.redeem_fee_ppm,
            params.deposit_fee_ppm,
            params.withdraw_fee_ppm,
            params.max_price_age_secs,
            params.max_conf_ppm,
            params.conf_multiplier_ppm,
            params.base_rate_ppm,
            params.kink_ppm,
            params.slope1_ppm,
            params.slope2_ppm,
            seed_units,
            seq.lts.len(),
            seq.fts.len(),
            seq.keepers.len(),
            if quiet { ", QUIET" } else { "" },
            if conf_regime { ", with confidence" } else { "" },
        ));
        seq
    }

    async fn run(&mut self, steps: usize) -> Res {
        self.publish(self.feed.usd, 0.0, "start");
        self.common_checks(None).await?;
        for step in 1..=steps {
            self.step = step;
            self.stats.actions += 1;
            self.action().await?;
        }
        self.step = steps + 1;
        self.unwind().await
    }

    fn note(&self, line: String) {
        if self.opts.verbose {
            println!("fuzz:   {line}");
        }
        self.log.lock().expect("log").push(line);
    }

    fn violation(&self, msg: String) -> Violation {
        Violation { step: self.step, msg }
    }

    fn ensure(&mut self, ok: bool, msg: impl FnOnce() -> String) -> Res {
        self.stats.checks += 1;
        if ok {
            Ok(())
        } else {
            Err(self.violation(msg()))
        }
    }

    fn now(&self) -> Now {
        self.h.chain.clock()
    }

    async fn view(&mut self) -> (Market, u64, Now) {
        let market = self.h.market().await;
        let vault = self.h.keys.vault;
        let vault = self.h.balance(&vault).await;
        (market, vault, self.now())
    }

    fn actor(&self, role: Role, i: usize) -> &Actor {
        match role {
            Role::Lt => &self.lts[i],
            Role::Ft => &self.fts[i],
        }
    }

    fn actor_mut(&mut self, role: Role, i: usize) -> &mut Actor {
        match role {
            Role::Lt => &mut self.lts[i],
            Role::Ft => &mut self.fts[i],
        }
    }

    // ------------------------------------------------------------------------------------------
    // the action mix

    async fn action(&mut self) -> Res {
        let m = self.h.market().await;
        let paused = m.paused != 0;
        let wiped = m.is_wiped();
        let any_lt = self.lts.iter().any(|a| a.lt > 0);
        let any_ft = self.fts.iter().any(|a| a.ft > 0);
        let short_idle = m.idle < m.exposure / 4 || m.idle < m.ft_supply / 10;
        let stale = self.is_stale(&m) || self.feed.input != self.valid_input();
        let lt_out = m.lt_supply > 0;
        // The price moved since the market last used one: a keeper's moment.
        let moved = m.last_price.get() != self.feed.mid && m.exposure > 0;
        let open = self.open.len() as u32;
        let weights: [u32; 19] = [
            16, // 0 mint
            match (any_lt, wiped) {
                (false, _) => 0,
                (true, false) => 12,
                (true, true) => 40,
            }, // 1 redeem
            11 + if short_idle { 10 } else { 0 }, // 2 deposit
            if any_ft { 9 } else { 0 }, // 3 withdraw
            if m.exposure == 0 { 3 } else { 10 } + if moved { 35 } else { 0 }, // 4 rebalance
            if self.quiet { 0 } else { 13 }, // 5 price move
            3 + if stale { 12 } else { 0 }, // 6 republish
            if self.quiet { 0 } else { 6 }, // 7 time jump
            3 + if paused { 25 } else { 0 }, // 8 pause
            3,  // 9 update_market
            2,  // 10 withdraw_fees
            1 + if wiped && !lt_out { 30 } else { 0 }, // 11 reopen
            2,  // 12 bad oracle
            1,  // 13 donation
            1,  // 14 admin transfer
            14, // 15 two-step request
            if open > 0 { 10 + 4 * open } else { 0 }, // 16 settle
            if open > 0 { 3 } else { 0 }, // 17 cancel
            1,  // 18 share metadata
        ];
        match self.rng.weighted(&weights) {
            0 => self.random_mint().await,
            1 => self.random_redeem().await,
            2 => self.random_deposit().await,
            3 => self.random_withdraw().await,
            4 => self.random_rebalance().await,
            5 => self.price_move().await,
            6 => {
                let (usd, conf) = (self.feed.usd, self.feed.conf);
                self.publish(usd, conf, "republish");
                self.common_checks(None).await
            }
            7 => self.time_jump().await,
            8 => self.random_pause().await,
            9 => self.random_update().await,
            10 => self.random_withdraw_fees().await,
            11 => self.random_reopen().await,
            12 => self.bad_oracle().await,
            13 => self.donate().await,
            14 => self.admin_transfer().await,
            15 => self.random_request().await,
            16 => self.random_settle().await,
            17 => self.random_cancel().await,
            _ => self.random_share_metadata().await,
        }
    }

    fn mode(&mut self) -> Mode {
        const MODES: [(Mode, u32); 8] = [
            (Mode::Normal, 66),
            (Mode::Zero, 4),
            (Mode::TooMuch, 5),
            (Mode::Tiny, 6),
            (Mode::Exact, 7),
            (Mode::Plus1, 9),
            (Mode::Huge, 3),
            (Mode::ExtraAccount, 2),
        ];
        let w: Vec<u32> = MODES.iter().map(|m| m.1).collect();
        MODES[self.rng.weighted(&w)].0
    }

    /// Units to put in: a log-uniform fraction of the balance, or a bad input.
    fn amount_in(&mut self, mode: Mode, bal: u64, smallest: f64) -> u64 {
        match mode {
            Mode::Zero => 0,
            Mode::TooMuch => bal.saturating_add(1 + self.rng.below(bal / 2 + 1)),
            Mode::Tiny => self.rng.log_uniform(1.0, 1_000.0) as u64,
            _ if bal == 0 => self.rng.range(1, 1_000),
            _ => ((bal as f64 * self.rng.log_uniform(smallest, 1.0)) as u64).clamp(1, bal),
        }
    }

    /// Shares to give back: all, a fraction, or a bad input.
    fn shares_out(&mut self, mode: Mode, held: u64) -> u64 {
        match mode {
            Mode::Zero => 0,
            Mode::TooMuch => held.saturating_add(1 + self.rng.below(held + 1)),
            Mode::Tiny => self.rng.log_uniform(1.0, 1_000.0) as u64,
            _ if self.rng.chance(0.3) => held,
            _ => ((held as f64 * self.rng.uniform(0.02, 1.0)) as u64).clamp(1, held.max(1)),
        }
    }

    /// `Mode::ExtraAccount`: append an account nobody asked for.
    fn extra_account(&self, mode: Mode, ix: &mut Instruction, expect: &mut Expect) {
        if mode == Mode::ExtraAccount {
            ix.accounts.push(solana_instruction::AccountMeta::new_readonly(
                Pubkey::new_unique(),
                false,
            ));
            *expect = Expect::Refuse(u32::from(LeverError::UnexpectedAccounts));
        }
    }

    fn min_out(mode: Mode, predicted: Option<u64>) -> u64 {
        match (mode, predicted) {
            (Mode::Exact, Some(q)) => q,
            (Mode::Plus1, Some(q)) => q.saturating_add(1),
            (Mode::Huge, _) => u64::MAX,
            _ => 0,
        }
    }

    fn pick_holder(&mut self, role: Role) -> Option<usize> {
        let holders: Vec<usize> = match role {
            Role::Lt => (0..self.lts.len()).filter(|&i| self.lts[i].lt > 0).collect(),
            Role::Ft => (0..self.fts.len()).filter(|&i| self.fts[i].ft > 0).collect(),
        };
        (!holders.is_empty()).then(|| holders[self.rng.index(holders.len())])
    }

    async fn random_mint(&mut self) -> Res {
        let i = self.rng.index(self.lts.len());
        let mode = self.mode();
        let amount = self.amount_in(mode, self.lts[i].und, 1e-4);
        self.mint(i, amount, mode).await.map(|_| ())
    }

    async fn random_redeem(&mut self) -> Res {
        let Some(i) = self.pick_holder(Role::Lt) else {
            return self.random_mint().await;
        };
        let mode = self.mode();
        let shares = self.shares_out(mode, self.lts[i].lt);
        self.redeem(i, shares, mode).await.map(|_| ())
    }

    async fn random_deposit(&mut self) -> Res {
        let i = self.rng.index(self.fts.len());
        let mode = self.mode();
        let amount = self.amount_in(mode, self.fts[i].und, 1e-3);
        self.deposit(i, amount, mode).await.map(|_| ())
    }

    async fn random_withdraw(&mut self) -> Res {
        let Some(i) = self.pick_holder(Role::Ft) else {
            return self.random_deposit().await;
        };
        let mode = self.mode();
        let shares = self.shares_out(mode, self.fts[i].ft);
        self.withdraw(i, shares, mode).await.map(|_| ())
    }

    // ------------------------------------------------------------------------------------------
    // sending and the per-instruction checks

    /// Send `ixs`, compare with `expect`, and run the checks every step gets. `Some` when landed.
    async fn exec(
        &mut self,
        kind: Kind,
        desc: String,
        ixs: &[Instruction],
        signers: Vec<Keypair>,
        expect: Expect,
    ) -> Res<Option<Landed>> {
        let before = self.h.snapshot().await;
        let market_before = self.h.market().await;
        let refs: Vec<&Keypair> = signers.iter().collect();
        let out = self.h.chain.send(ixs, &refs).await;
        self.stats.sent += 1;
        let entry = self.stats.by_kind.entry(kind.name()).or_default();
        entry.0 += 1;
        let result = match &out {
            Ok(_) => {
                entry.1 += 1;
                self.stats.landed += 1;
                self.landed_ops += 1;
                "landed".to_string()
            }
            Err(f) => {
                let name = fail_name(f);
                *self.stats.refused.entry(name.clone()).or_default() += 1;
                format!("refused {name}")
            }
        };
        self.note(format!("#{} {desc} -> {result}", self.step));
        if out.is_ok() && kind.absorbs_donations() {
            self.pending_donation = 0;
        }
        if out.is_ok() && kind == Kind::Donate {
            self.pending_donation += self.donation_in_flight;
        }
        self.donation_in_flight = 0;
        // The model's prediction.
        let matches = match (&out, expect) {
            (Ok(_), Expect::Land) => true,
            (Err(f), Expect::Refuse(code)) => f.custom_code() == Some(code),
            (Err(f), Expect::TokenFail) => f.custom_code() == Some(1),
            _ => false,
        };
        self.ensure(matches, || {
            let got = match &out {
                Ok(_) => "landed".to_string(),
                Err(f) => format!("refused {} ({f})", fail_name(f)),
            };
            format!("{} expected to {}, but {got}", kind.name(), describe(expect))
        })?;
        let after = self.h.snapshot().await;
        if out.is_err() {
            // A refused instruction changes nothing.
            self.ensure(before == after, || {
                format!("refused {} changed state: {before:?} -> {after:?}", kind.name())
            })?;
        } else {
            // A landed one changes only accounts it was given writable.
            let writable: Vec<Pubkey> = ixs
                .iter()
                .flat_map(|ix| ix.accounts.iter().filter(|m| m.is_writable).map(|m| m.pubkey))
                .collect();
            let moved: Vec<Pubkey> = before
                .balances
                .iter()
                .zip(&after.balances)
                .filter(|(b, a)| b != a)
                .map(|(b, _)| b.0)
                .filter(|k| !writable.contains(k))
                .collect();
            self.ensure(moved.is_empty(), || {
                format!(
                    "{} moved balances of accounts it was not given writable: {moved:?}",
                    kind.name()
                )
            })?;
            let config_ok = before.config == after.config || writable.contains(&lever_sdk::pda::config());
            let market_ok = before.market == after.market || writable.contains(&self.h.keys.market);
            self.ensure(config_ok && market_ok, || {
                format!(
                    "{} changed the config or market without it being writable",
                    kind.name()
                )
            })?;
        }
        self.common_checks(Some((kind, &market_before, out.is_ok())))
            .await?;
        Ok(out.ok())
    }

    /// Checks after every step, landed, refused or not a transaction at all.
    async fn common_checks(&mut self, last: Option<(Kind, &Market, bool)>) -> Res {
        let m = self.h.market().await;
        let pool = m.pool();
        let keys = self.h.keys;
        let vault = self.h.balance(&keys.vault).await;
        let lt_mint = self.h.chain.mint_supply(&keys.lt_mint).await.expect("lt supply");
        let ft_mint = self.h.chain.mint_supply(&keys.ft_mint).await.expect("ft supply");
        let locked = self.h.balance(&keys.locked_ft).await;
        // Conservation, exactly, against the real vault (donations not yet credited aside).
        let owed = u128::from(pool.exposure) + u128::from(pool.idle) + u128::from(pool.fee_units);
        let pending = self.pending_donation;
        self.ensure(u128::from(vault) == owed + u128::from(pending), || {
            format!(
                "conservation: vault {vault} != N {} + I {} + fees {} + pending donations {pending}",
                pool.exposure, pool.idle, pool.fee_units
            )
        })?;
        // Every open request's escrow holds exactly what the request records.
        for j in 0..self.open.len() {
            let (escrow, amount) = (self.open[j].request.escrow, self.open[j].request.amount);
            if self
                .h
                .chain
                .account(&self.open[j].address)
                .await
                .expect("rpc")
                .is_none()
            {
                // Closed by the instruction just sent (settled or cancelled): the escrow with it.
                let gone = self.h.chain.account(&escrow).await.expect("rpc").is_none();
                self.ensure(gone, || format!("request closed, escrow {escrow} left open"))?;
                continue;
            }
            let held = self.h.balance(&escrow).await;
            self.ensure(held == amount, || {
                format!("escrow {escrow} holds {held}, its request records {amount}")
            })?;
        }
        // Recorded supplies against the mints.
        self.ensure(lt_mint == pool.lt_supply, || {
            format!("LT supply: mint {lt_mint} != books {}", pool.lt_supply)
        })?;
        self.ensure(ft_mint == pool.ft_supply, || {
            format!("FT supply: mint {ft_mint} != books {}", pool.ft_supply)
        })?;
        // The seed's FT never move; FT supply never falls below them.
        let seed = self.seed_units;
        self.ensure(locked == seed && pool.ft_supply >= seed, || {
            format!(
                "locked seed FT {locked} (seed {seed}), FT supply {}",
                pool.ft_supply
            )
        })?;
        // Book structure: a wiped or LT-less pool has no exposure or debt; no debt without exposure.
        self.ensure(!m.is_wiped() || (pool.exposure == 0 && pool.debt == 0), || {
            format!("wiped market with N {} D {}", pool.exposure, pool.debt)
        })?;
        self.ensure(
            pool.lt_supply != 0 || (pool.exposure == 0 && pool.debt == 0),
            || format!("no LT but N {} D {}", pool.exposure, pool.debt),
        )?;
        self.ensure(pool.exposure != 0 || pool.debt == 0, || {
            format!("debt {} without exposure", pool.debt)
        })?;
        // LT outstanding in a market that is not wiped must have a pool behind it: otherwise every
        // mint is refused MarketWiped (equity 0) on a market that is not wiped, and no re-open helps.
        self.ensure(m.is_wiped() || pool.lt_supply == 0 || pool.exposure > 0, || {
            format!(
                "{} LT outstanding on an empty pool (N 0, D {}) of a market that is not wiped",
                pool.lt_supply, pool.debt
            )
        })?;
        // NAVs at the current price: computable, FT worth something.
        let mid = self.feed.mid;
        let navs = (|| {
            let equity = pool.equity(mid)?;
            let lt_nav = pool.lt_nav(mid)?;
            let ft_value = pool.funding_value(mid)?;
            pool.ft_nav(mid)?;
            pool.leverage_ppm(mid)?;
            utilization_ppm(&pool, mid)?;
            band_status(&pool, &m.risk_params(), mid)?;
            Ok::<_, LeverError>((equity, lt_nav, ft_value))
        })();
        let (equity, _lt_nav, ft_value) = match navs {
            Ok(v) => v,
            Err(e) => return Err(self.violation(format!("NAV computation failed at mid {mid}: {e:?}"))),
        };
        self.ensure(ft_value > 0, || {
            format!("funding pool worth {ft_value} at mid {mid}")
        })?;
        let now = self.now();
        let accrued = quote::accrued(&m, mid, now.unix_timestamp).and_then(|a| quote::marks(&a, mid));
        self.ensure(accrued.is_ok(), || {
            format!("NAVs after accrual to now failed: {:?}", accrued.err())
        })?;
        // The most a raw share is worth, in raw units (the rule's rounding allowance).
        let per_share = |value: u128, supply: u64| -> u64 {
            if supply == 0 || value == 0 {
                return 0;
            }
            let units = units_for_value(value, mid, Rounding::Up).unwrap_or(u64::MAX);
            units.div_ceil(supply)
        };
        let lt_share = if equity > 0 {
            per_share(equity.unsigned_abs(), pool.lt_supply)
        } else {
            0
        };
        let ft_share = per_share(ft_value, pool.ft_supply);
        self.max_share_units = self.max_share_units.max(lt_share).max(ft_share);
        // Fee units only grow, except by a fee withdrawal.
        if let Some((kind, before, landed)) = last {
            if !(kind == Kind::WithdrawFees && landed) {
                let (a, b) = (before.fee_units, m.fee_units);
                self.ensure(b >= a, || format!("fee units fell from {a} to {b}"))?;
            }
        }
        Ok(())
    }

    /// The market on chain must equal the one the quote predicted.
    async fn check_market(&mut self, predicted: &Market) -> Res {
        let chain = self.h.market().await;
        let same = format!("{chain:?}") == format!("{predicted:?}");
        self.ensure(same, || {
            format!(
                "market differs from the prediction: {}",
                market_diff(&chain, predicted)
            )
        })
    }

    /// The chain's balances of an actor equal the model's.
    async fn check_balances(&mut self, role: Role, i: usize) -> Res {
        let (w_und, w_lt, w_ft) = {
            let a = self.actor(role, i);
            (a.w.underlying, a.w.lt, a.w.ft)
        };
        let und = self.h.balance(&w_und).await;
        let lt = self.h.balance(&w_lt).await;
        let ft = self.h.balance(&w_ft).await;
        let a = self.actor(role, i);
        let expected = (a.und, a.lt, a.ft);
        let name = a.name.clone();
        self.ensure((und, lt, ft) == expected, || {
            format!(
                "{name} balances (underlying, LT, FT) {:?} != expected {expected:?}",
                (und, lt, ft)
            )
        })
    }

    /// After a landed instruction that could rebalance (a fresh price): never insolvent, and never
    /// left above the band ("a market that users touch is never left out of band"; below it is
    /// allowed: a lever-up bounded by the idle units). Rounding slack: the leverage is read with
    /// two more exposure units than booked.
    async fn check_solvent(&mut self, first_mint: bool) -> Res {
        let m = self.h.market().await;
        let pool = m.pool();
        if m.is_wiped() || (pool.exposure == 0 && pool.debt == 0) {
            return Ok(());
        }
        let price = m.last_price.get();
        let equity = pool.equity(price);
        let slack = lever::math::PoolState {
            exposure: pool.exposure + 2,
            debt: pool.debt.saturating_sub(2),
            ..pool
        };
        let lev = slack.leverage_ppm(price).ok().flatten().unwrap_or(u128::MAX);
        let target = u128::from(m.params.target_leverage_ppm);
        let ceiling = target + target * u128::from(m.params.band_ppm) / u128::from(PPM);
        let solvent = matches!(equity, Ok(e) if e > 0);
        let first = if first_mint {
            " (the first LT mint into an empty pool)"
        } else {
            ""
        };
        self.ensure(solvent, || {
            format!("left insolvent after a fresh-priced instruction{first}: equity {equity:?} at {price}")
        })?;
        self.ensure(lev <= ceiling, || {
            let exact = pool.leverage_ppm(price).ok().flatten();
            format!(
                "left above the band after a fresh-priced instruction{first}: leverage {exact:?} ppm > {ceiling}"
            )
        })
    }

    /// The update a plain republish of the current price would write (to tell a bad one).
    fn valid_input(&self) -> PriceInput {
        PriceInput::usd(
            self.h.feed_id,
            self.feed.usd,
            self.feed.conf,
            self.feed.input.publish_time,
        )
    }

    fn is_stale(&self, m: &Market) -> bool {
        let age = self.now().unix_timestamp - self.feed.input.publish_time;
        age > 0 && age as u64 > m.params.max_price_age_secs
    }

    /// One landed user instruction for the rule's allowance: the most the confidence interval can
    /// shift from the caller to the other holders.
    fn outcome(&mut self, what: &'static str) {
        *self.stats.outcomes.entry(what).or_default() += 1;
    }

    fn count_spread(&mut self, price: &ValidPrice, moved: u64) {
        let band = price.band;
        let delta = (band.upper - band.lower) as f64 / band.lower.max(1) as f64;
        let shift = (moved as f64 * delta).ceil().min(3.0 * moved as f64);
        self.spread += shift + 1.0;
    }

    // ------------------------------------------------------------------------------------------
    // user instructions

    async fn mint(&mut self, i: usize, amount: u64, mode: Mode) -> Res<Sent> {
        let (market, vault, now) = self.view().await;
        let input = self.feed.input;
        let first = quote::mint_lt(&market, &input, vault, now, amount, 0);
        let min = Self::min_out(mode, first.as_ref().ok().map(|p| p.quote.shares_out));
        let pred = quote::mint_lt(&market, &input, vault, now, amount, min);
        let mut expect = expect_of(&pred, amount > self.lts[i].und);
        let mut ix = self.h.mint_ix(&self.lts[i].w, amount, min);
        self.extra_account(mode, &mut ix, &mut expect);
        let desc = format!("{} mint_lt {amount} min {min} [{mode:?}]", self.lts[i].name);
        let kp = self.lts[i].w.kp.insecure_clone();
        let sent = self.exec(Kind::MintLt, desc, &[ix], vec![kp], expect).await?;
        let (Some(ok), Ok(p)) = (sent, pred) else {
            return Ok(Sent::Refused(String::new()));
        };
        let got: Option<MintLtOutcome> = decode(&ok);
        let want = MintLtOutcome::of(&p.quote, &p.price);
        self.ensure(got == Some(want), || {
            format!("mint_lt returned {got:?}, quote {want:?}")
        })?;
        self.ensure(want.shares_out >= min, || {
            format!("shares {} below min {min}", want.shares_out)
        })?;
        self.check_market(&p.market).await?;
        let a = &mut self.lts[i];
        a.und -= amount;
        a.lt += want.shares_out;
        a.ledger.paid_in += amount;
        self.check_balances(Role::Lt, i).await?;
        self.check_solvent(market.lt_supply == 0 && market.exposure == 0)
            .await?;
        if market.lt_supply == 0 {
            self.outcome("first mint into an empty pool");
        }
        self.count_spread(&p.price, amount + p.quote.from_idle);
        Ok(Sent::Landed)
    }

    async fn redeem(&mut self, i: usize, shares: u64, mode: Mode) -> Res<Sent> {
        let (market, vault, now) = self.view().await;
        let stale = self.is_stale(&market);
        let input = self.feed.input;
        let first = quote::redeem_lt(&market, &input, vault, now, shares, 0);
        let min = Self::min_out(mode, first.as_ref().ok().map(|p| p.quote.units_out));
        let pred = quote::redeem_lt(&market, &input, vault, now, shares, min);
        let mut expect = expect_of(&pred, shares > self.lts[i].lt);
        let refusal = pred.as_ref().err().map(|r: &Refusal| r.name.clone());
        let mut ix = self.h.redeem_ix(&self.lts[i].w, shares, min);
        self.extra_account(mode, &mut ix, &mut expect);
        let desc = format!(
            "{} redeem_lt {shares} of {} min {min} [{mode:?}]",
            self.lts[i].name, self.lts[i].lt
        );
        let kp = self.lts[i].w.kp.insecure_clone();
        let sent = self.exec(Kind::RedeemLt, desc, &[ix], vec![kp], expect).await?;
        let (Some(ok), Ok(p)) = (sent, pred) else {
            return Ok(Sent::Refused(refusal.unwrap_or_default()));
        };
        let got: Option<RedeemLtOutcome> = decode(&ok);
        let want = RedeemLtOutcome::of(&p.quote, &p.price);
        self.ensure(got == Some(want), || {
            format!("redeem_lt returned {got:?}, quote {want:?}")
        })?;
        self.ensure(want.units_out >= min, || {
            format!("units {} below min {min}", want.units_out)
        })?;
        self.check_market(&p.market).await?;
        if p.market.is_wiped() && !market.is_wiped() {
            self.stats.wipeouts += 1;
        }
        let a = &mut self.lts[i];
        a.lt -= shares;
        a.und += want.units_out;
        a.ledger.got_out += want.units_out;
        self.check_balances(Role::Lt, i).await?;
        if !stale {
            self.check_solvent(false).await?;
        }
        if stale {
            self.outcome("stale exit (redeem_lt)");
        }
        if want.units_out == 0 {
            self.outcome("wiped LT redeemed for nothing");
        }
        self.count_spread(&p.price, p.quote.exposure_removed);
        Ok(Sent::Landed)
    }

    async fn deposit(&mut self, i: usize, amount: u64, mode: Mode) -> Res<Sent> {
        let (market, vault, now) = self.view().await;
        let input = self.feed.input;
        let first = quote::deposit_funding(&market, &input, vault, now, amount, 0);
        let min = Self::min_out(mode, first.as_ref().ok().map(|p| p.quote.shares_out));
        let pred = quote::deposit_funding(&market, &input, vault, now, amount, min);
        let mut expect = expect_of(&pred, amount > self.fts[i].und);
        let mut ix = self.h.deposit_ix(&self.fts[i].w, amount, min);
        self.extra_account(mode, &mut ix, &mut expect);
        let desc = format!(
            "{} deposit_funding {amount} min {min} [{mode:?}]",
            self.fts[i].name
        );
        let kp = self.fts[i].w.kp.insecure_clone();
        let sent = self.exec(Kind::Deposit, desc, &[ix], vec![kp], expect).await?;
        let (Some(ok), Ok(p)) = (sent, pred) else {
            return Ok(Sent::Refused(String::new()));
        };
        let got: Option<DepositFundingOutcome> = decode(&ok);
        let want = DepositFundingOutcome::of(&p.quote, &p.price);
        self.ensure(got == Some(want), || {
            format!("deposit_funding returned {got:?}, quote {want:?}")
        })?;
        self.ensure(want.shares_out >= min, || {
            format!("shares {} below min {min}", want.shares_out)
        })?;
        self.check_market(&p.market).await?;
        if p.market.is_wiped() && !market.is_wiped() {
            self.stats.wipeouts += 1;
        }
        let a = &mut self.fts[i];
        a.und -= amount;
        a.ft += want.shares_out;
        a.ledger.paid_in += amount;
        self.check_balances(Role::Ft, i).await?;
        self.check_solvent(false).await?;
        self.count_spread(&p.price, amount);
        Ok(Sent::Landed)
    }

    async fn withdraw(&mut self, i: usize, shares: u64, mode: Mode) -> Res<Sent> {
        let (market, vault, now) = self.view().await;
        let stale = self.is_stale(&market);
        let input = self.feed.input;
        let first = quote::withdraw_funding(&market, &input, vault, now, shares, 0);
        let min = Self::min_out(mode, first.as_ref().ok().map(|p| p.quote.units_out));
        let pred = quote::withdraw_funding(&market, &input, vault, now, shares, min);
        let mut expect = expect_of(&pred, shares > self.fts[i].ft);
        let refusal = pred.as_ref().err().map(|r: &Refusal| r.name.clone());
        let mut ix = self.h.withdraw_ix(&self.fts[i].w, shares, min);
        self.extra_account(mode, &mut ix, &mut expect);
        let desc = format!(
            "{} withdraw_funding {shares} of {} min {min} [{mode:?}]",
            self.fts[i].name, self.fts[i].ft
        );
        let kp = self.fts[i].w.kp.insecure_clone();
        let sent = self.exec(Kind::Withdraw, desc, &[ix], vec![kp], expect).await?;
        let (Some(ok), Ok(p)) = (sent, pred) else {
            return Ok(Sent::Refused(refusal.unwrap_or_default()));
        };
        let got: Option<WithdrawFundingOutcome> = decode(&ok);
        let want = WithdrawFundingOutcome::of(&p.quote, &p.price);
        self.ensure(got == Some(want), || {
            format!("withdraw_funding returned {got:?}, quote {want:?}")
        })?;
        self.ensure(want.units_out >= min, || {
            format!("units {} below min {min}", want.units_out)
        })?;
        self.check_market(&p.market).await?;
        if p.market.is_wiped() && !market.is_wiped() {
            self.stats.wipeouts += 1;
        }
        let a = &mut self.fts[i];
        a.ft -= shares;
        a.und += want.units_out;
        a.ledger.got_out += want.units_out;
        self.check_balances(Role::Ft, i).await?;
        if !stale {
            self.check_solvent(false).await?;
        }
        if stale {
            self.outcome("stale exit (withdraw_funding)");
        }
        self.count_spread(&p.price, p.quote.units_out + p.quote.fee_units);
        Ok(Sent::Landed)
    }

    // ------------------------------------------------------------------------------------------
    // two-step requests

    async fn random_request(&mut self) -> Res {
        let role = if self.rng.chance(0.5) { Role::Lt } else { Role::Ft };
        let n = match role {
            Role::Lt => self.lts.len(),
            Role::Ft => self.fts.len(),
        };
        let i = self.rng.index(n);
        let a = self.actor(role, i);
        let held = match role {
            Role::Lt => a.lt,
            Role::Ft => a.ft,
        };
        let (kp, name, und) = (a.w.kp.insecure_clone(), a.name.clone(), a.und);
        let (w_und, w_lt, w_ft) = (a.w.underlying, a.w.lt, a.w.ft);
        let exit = held > 0 && self.rng.chance(0.45);
        let kind = match (role, exit) {
            (Role::Lt, false) => RequestKind::MintLt,
            (Role::Lt, true) => RequestKind::RedeemLt,
            (Role::Ft, false) => RequestKind::DepositFunding,
            (Role::Ft, true) => RequestKind::WithdrawFunding,
        };
        let mode = self.mode();
        let (amount, balance) = if exit {
            (self.shares_out(mode, held), held)
        } else {
            (self.amount_in(mode, und, 1e-4), und)
        };
        let min_out = match mode {
            Mode::Huge => u64::MAX,
            Mode::Exact | Mode::Plus1 => self.rng.range(amount / 2, amount.saturating_mul(2).max(1)),
            _ => 0,
        };
        let (market, _, now) = self.view().await;
        let min_tip = market.params.min_settle_tip_lamports;
        let tip = if min_tip > 0 && self.rng.chance(0.05) {
            min_tip - 1
        } else {
            min_tip + self.rng.below(3) * 1_000
        };
        self.h.next_nonce += 1;
        let args = RequestArgs {
            nonce: self.h.next_nonce,
            amount,
            min_out,
            tip_lamports: tip,
        };
        let mut expect = match lever::instructions::check_open_request(&market, kind, &args, now) {
            Err(e) => Expect::Refuse(Refusal::from(e).code),
            Ok(_) if amount > balance => Expect::TokenFail,
            Ok(_) => Expect::Land,
        };
        let (source, destination) = match kind {
            RequestKind::MintLt => (w_und, w_lt),
            RequestKind::RedeemLt => (w_lt, w_und),
            RequestKind::DepositFunding => (w_und, w_ft),
            RequestKind::WithdrawFunding => (w_ft, w_und),
        };
        let accounts = ix::RequestAccounts {
            payer: kp.pubkey(),
            owner: kp.pubkey(),
            source,
            destination,
        };
        let mut request_ix = ix::open_request(&self.h.keys, kind, &accounts, args);
        self.extra_account(mode, &mut request_ix, &mut expect);
        let desc = format!("{name} request {kind:?} {amount} min {min_out} tip {tip} [{mode:?}]");
        let sent = self
            .exec(Kind::Request, desc, &[request_ix], vec![kp], expect)
            .await?;
        let Some(ok) = sent else {
            return Ok(());
        };
        let receipt: Option<RequestReceipt> = decode(&ok);
        let Some(receipt) = receipt else {
            return Err(self.violation("request_* returned no receipt".into()));
        };
        let account = self.h.chain.account(&receipt.request).await.expect("rpc");
        let Some(request) = account.as_ref().and_then(lever_sdk::accounts::decode_request) else {
            return Err(self.violation("the request account is missing after request_*".into()));
        };
        let delay = i64::try_from(market.params.settle_delay_secs).unwrap_or(i64::MAX);
        self.ensure(
            request.tau == now.unix_timestamp + delay && request.amount == amount,
            || format!("request recorded {request:?} at {now:?}"),
        )?;
        let a = self.actor_mut(role, i);
        if exit {
            match role {
                Role::Lt => a.lt -= amount,
                Role::Ft => a.ft -= amount,
            }
            a.esc += amount;
        } else {
            a.und -= amount;
        }
        self.open.push(Open {
            address: receipt.request,
            role,
            actor: i,
            request,
        });
        self.outcome("request opened");
        self.check_balances(role, i).await
    }

    async fn random_settle(&mut self) -> Res {
        if self.open.is_empty() {
            return self.random_request().await;
        }
        let j = self.rng.index(self.open.len());
        let r = self.open[j].request;
        let now = self.now().unix_timestamp;
        if now < r.tau {
            let extra = self.rng.below(4);
            self.advance((r.tau - now) as u64 + extra);
        }
        let now = self.now().unix_timestamp;
        let late = u64::try_from(now - r.tau).unwrap_or(0).min(5);
        // Mostly the update covering tau (published at or after it, never after now); sometimes
        // one the rule refuses.
        let (prev, publish, what) = match self.rng.weighted(&[85, 5, 5, 5]) {
            0 => (
                r.tau - 1 - self.rng.below(3) as i64,
                r.tau + self.rng.below(late + 1) as i64,
                "covering",
            ),
            1 => (r.tau - 3, r.tau - 1, "older"),
            2 => (r.tau, r.tau + 2, "newer"),
            _ => (r.tau, r.tau, "prev == publish"),
        };
        let input = PriceInput::usd(self.h.feed_id, self.feed.usd, self.feed.conf, publish).after(prev);
        let account = Pubkey::new_unique();
        self.h.chain.write_price(&account, &input);
        let (market, vault, now) = self.view().await;
        let pred = quote::settle(&market, &r, &input, vault, now);
        let mut expect = match &pred {
            Ok(_) => Expect::Land,
            Err(e) => Expect::Refuse(e.code),
        };
        let k = self.rng.index(self.keepers.len());
        let keeper = self.keepers[k].insecure_clone();
        let mode = if self.rng.chance(0.03) {
            Mode::ExtraAccount
        } else {
            Mode::Normal
        };
        let address = self.open[j].address;
        let mut settle_ix = ix::settle_request(keeper.pubkey(), &self.h.keys, address, &r, account);
        self.extra_account(mode, &mut settle_ix, &mut expect);
        let desc = format!(
            "settle {:?} {} (tau {}) with the {what} update ({prev}, {publish}] at ${:.6}",
            r.kind, r.amount, r.tau, self.feed.usd
        );
        let sent = self
            .exec(Kind::Settle, desc, &[settle_ix], vec![keeper], expect)
            .await?;
        let (Some(ok), Ok(p)) = (sent, pred) else {
            return Ok(());
        };
        let got: Option<SettleOutcome> = decode(&ok);
        let Some(got) = got else {
            return Err(self.violation("settle_request returned no outcome".into()));
        };
        self.check_market(&p.market).await?;
        let Open { role, actor: i, .. } = self.open.remove(j);
        let exit = matches!(r.kind, RequestKind::RedeemLt | RequestKind::WithdrawFunding);
        match p.settled {
            Settled::Filled(fill) => {
                let (amount_in, amount_out, fee_units, price) = fill.amounts();
                self.ensure(
                    got.filled
                        && (got.amount_in, got.amount_out, got.fee_units, got.price)
                            == (amount_in, amount_out, fee_units, price),
                    || format!("settle_request returned {got:?}, quote {:?}", fill.amounts()),
                )?;
                self.ensure(amount_out >= r.min_out, || {
                    format!("settled {amount_out} below min {}", r.min_out)
                })?;
                let left = r.amount - amount_in;
                let a = self.actor_mut(role, i);
                if exit {
                    a.esc -= r.amount;
                    a.und += amount_out;
                    a.ledger.got_out += amount_out;
                    match role {
                        Role::Lt => a.lt += left,
                        Role::Ft => a.ft += left,
                    }
                } else {
                    a.und += left;
                    a.ledger.paid_in += amount_in;
                    match role {
                        Role::Lt => a.lt += amount_out,
                        Role::Ft => a.ft += amount_out,
                    }
                }
                let moved = match fill.filled {
                    Filled::MintLt(q) => q.units_in + q.from_idle,
                    Filled::RedeemLt(q) => q.exposure_removed,
                    Filled::DepositFunding(q) => q.units_in,
                    Filled::WithdrawFunding(q) => q.units_out + q.fee_units,
                };
                self.count_spread(&fill.price, moved);
                if p.market.is_wiped() && !market.is_wiped() {
                    self.stats.wipeouts += 1;
                }
                let fresh = !fill.price.stale && input.publish_time >= market.last_publish_time;
                self.check_balances(role, i).await?;
                if fresh && !exit {
                    self.check_solvent(false).await?;
                }
                self.outcome(if fresh {
                    "request settled"
                } else {
                    "request settled late or stale"
                });
            }
            Settled::Refunded { code, .. } => {
                self.ensure(!got.filled && got.refund_code == code, || {
                    format!("settle_request returned {got:?}, the quote refunds with {code}")
                })?;
                let a = self.actor_mut(role, i);
                if exit {
                    a.esc -= r.amount;
                    match role {
                        Role::Lt => a.lt += r.amount,
                        Role::Ft => a.ft += r.amount,
                    }
                } else {
                    a.und += r.amount;
                }
                self.check_balances(role, i).await?;
                self.outcome("request refunded");
            }
        }
        Ok(())
    }

    async fn random_cancel(&mut self) -> Res {
        if self.open.is_empty() {
            return self.random_request().await;
        }
        let j = self.rng.index(self.open.len());
        let expires = self.open[j].request.expires_at;
        let now = self.now().unix_timestamp;
        if now <= expires && self.rng.chance(0.6) {
            self.advance((expires - now + 1) as u64);
        }
        self.cancel(j).await
    }

    /// `cancel_request` of open request `j` by a keeper: refused before expiry, after it the
    /// escrow goes back to the owner.
    async fn cancel(&mut self, j: usize) -> Res {
        let Open {
            address,
            role,
            actor: i,
            request: r,
        } = self.open[j];
        let expired = self.now().unix_timestamp > r.expires_at;
        let expect = if expired {
            Expect::Land
        } else {
            Expect::Refuse(u32::from(LeverError::RequestNotExpired))
        };
        let k = self.rng.index(self.keepers.len());
        let keeper = self.keepers[k].insecure_clone();
        let cancel_ix = ix::cancel_request(keeper.pubkey(), &self.h.keys, address, &r);
        let desc = format!("cancel {:?} {} (expires {})", r.kind, r.amount, r.expires_at);
        let sent = self
            .exec(Kind::Cancel, desc, &[cancel_ix], vec![keeper], expect)
            .await?;
        if sent.is_none() {
            return Ok(());
        }
        self.open.remove(j);
        let a = self.actor_mut(role, i);
        match r.kind {
            RequestKind::MintLt | RequestKind::DepositFunding => a.und += r.amount,
            RequestKind::RedeemLt => {
                a.esc -= r.amount;
                a.lt += r.amount;
            }
            RequestKind::WithdrawFunding => {
                a.esc -= r.amount;
                a.ft += r.amount;
            }
        }
        self.outcome("request cancelled after expiry");
        self.check_balances(role, i).await
    }

    // ------------------------------------------------------------------------------------------
    // keepers

    async fn random_rebalance(&mut self) -> Res {
        let k = self.rng.index(self.keepers.len());
        let keeper = self.keepers[k].insecure_clone();
        let (market, _, now) = self.view().await;
        let input = self.feed.input;
        let pred = quote::rebalance(&market, &input, now);
        // Independently of the quote: where the accrued pool stands against the band at the mid.
        let mid = self.feed.mid;
        let status = quote::accrued(&market, mid, now.unix_timestamp)
            .ok()
            .and_then(|a| band_status(&a.pool(), &a.risk_params(), mid).ok());
        let within = u32::from(LeverError::WithinBand);
        let empty = u32::from(LeverError::NothingToRebalance);
        let band_ok = match (&pred, status) {
            (Ok(_), Some(BandStatus::Out { .. } | BandStatus::Insolvent)) => true,
            (Err(r), Some(BandStatus::Within { .. })) if r.code == within => true,
            (Err(r), Some(BandStatus::Empty)) if r.code == empty => true,
            (Ok(_), _) => false,
            (Err(r), _) => r.code != within && r.code != empty,
        };
        self.ensure(band_ok, || {
            format!(
                "rebalance quote {:?} disagrees with the band status {status:?}",
                pred.as_ref().err()
            )
        })?;
        let expect = expect_of(&pred, false);
        let ix = self.h.rebalance_ix(&keeper.pubkey());
        let desc = format!("keeper{k} rebalance (band: {status:?})");
        let sent = self
            .exec(Kind::Rebalance, desc, &[ix], vec![keeper], expect)
            .await?;
        let (Some(ok), Ok(p)) = (sent, pred) else {
            return Ok(());
        };
        let got: Option<RebalanceOutcome> = decode(&ok);
        let want = RebalanceOutcome::of(&p.quote, p.price.band.mid);
        self.ensure(got == Some(want), || {
            format!("rebalance returned {got:?}, quote {want:?}")
        })?;
        self.check_market(&p.market).await?;
        if want.wiped {
            self.stats.wipeouts += 1;
            self.outcome("keeper rebalance wiped the pool");
        } else {
            self.outcome(if want.bounded {
                "keeper rebalance (bounded by idle)"
            } else if want.units_to_pool > 0 {
                "keeper rebalance up"
            } else {
                "keeper rebalance down"
            });
            // Never above the target; bounded moves stay below it.
            let target = u128::from(p.market.params.target_leverage_ppm);
            let lev = p.market.pool().leverage_ppm(p.price.band.mid).ok().flatten();
            self.ensure(
                want.leverage_after_ppm <= target && lev.is_some_and(|l| l <= target),
                || {
                    format!(
                        "leverage after rebalance {} / {lev:?} above target {target}",
                        want.leverage_after_ppm
                    )
                },
            )?;
        }
        self.check_solvent(false).await
    }

    // ------------------------------------------------------------------------------------------
    // price and clock

    /// Write a valid price at the chain's time; the rule's up/down products follow the mid.
    fn publish(&mut self, usd: f64, conf: f64, why: &str) {
        self.publish_in(usd, conf, why, false);
    }

    /// `same_slot`: write the account directly, without the new slot the harness starts with every
    /// price write (a second price in a slot where the market may already have used one).
    fn publish_in(&mut self, usd: f64, conf: f64, why: &str, same_slot: bool) {
        let input = PriceInput::usd(self.h.feed_id, usd, conf, self.h.chain.now());
        if same_slot {
            let account = solana_account::Account {
                lamports: 10_000_000,
                data: lever_sdk::pyth::price_update_data(&input),
                owner: pyth_solana_receiver_sdk::ID,
                executable: false,
                rent_epoch: 0,
            };
            let address = self.h.price_account;
            self.h.chain.set_account(&address, account);
        } else {
            self.h.write_price(&input);
        }
        let mid = scale_mantissa(
            input.price as u128,
            input.exponent,
            self.h.decimals,
            Rounding::Down,
        )
        .expect("mid price");
        let old = self.feed.mid;
        if mid != old {
            let ratio = (mid as f64 / old as f64).ln();
            for a in &mut self.lts {
                if a.holds(Role::Lt) && ratio > 0.0 {
                    a.ledger.up_log += ratio;
                }
            }
            for a in &mut self.fts {
                if a.holds(Role::Ft) && ratio < 0.0 {
                    a.ledger.down_log -= ratio;
                }
            }
        }
        self.note(format!(
            "#{} {why}: price ${usd:.6} conf {:.4}% (mid {} -> {mid})",
            self.step,
            conf * 100.0,
            old
        ));
        self.feed = Feed {
            usd,
            conf,
            input,
            mid,
        };
    }

    async fn price_move(&mut self) -> Res {
        let usd = self.feed.usd;
        let (kind, next) = match self.rng.weighted(&[48, 30, 6, 7, 9]) {
            0 => ("small move", usd * (1.0 + self.rng.uniform(-0.01, 0.01))),
            1 => {
                let r = self.rng.uniform(0.02, 0.3);
                let up = self.rng.chance(0.5);
                ("band-crossing move", usd * if up { 1.0 + r } else { 1.0 - r })
            }
            2 => ("gap down", usd * (1.0 - self.rng.uniform(0.5, 0.99))),
            3 => ("gap up", usd * (1.0 + self.rng.uniform(0.5, 3.0))),
            _ => ("confidence change", usd),
        };
        let next = if (0.01..=1e6).contains(&next) { next } else { usd };
        let m = self.h.market().await;
        let conf = if self.conf_regime && !self.rng.chance(0.3) {
            // Up to a little above the market's limit: sometimes refused as too wide.
            self.rng.uniform(0.0, m.params.max_conf_ppm as f64 / 1e6 * 1.15)
        } else {
            0.0
        };
        *self.stats.steps.entry("price move").or_default() += 1;
        self.publish(next, conf, kind);
        self.common_checks(None).await
    }

    /// Move the clock; FT holders (escrowed FT included) earn funding meanwhile.
    fn advance(&mut self, secs: u64) {
        self.h.advance(secs as i64);
        for a in &mut self.fts {
            if a.holds(Role::Ft) {
                a.ledger.held_secs += secs;
            }
        }
    }

    async fn time_jump(&mut self) -> Res {
        let age = self.h.market().await.params.max_price_age_secs;
        let secs = match self.rng.weighted(&[30, 25, 15, 12, 18]) {
            0 => self.rng.range(1, 59),
            1 => self.rng.range(60, 3_600),
            2 => self.rng.range(3_600, 86_400),
            3 => self.rng.range(86_400, 3 * 86_400),
            // Past the price's maximum age but within the stale-exit window (10x).
            _ => self.rng.range(age + 1, age * 10),
        };
        self.advance(secs);
        *self.stats.steps.entry("time jump").or_default() += 1;
        self.note(format!("#{} time +{secs} s", self.step));
        self.common_checks(None).await
    }

    /// Publish an update the market must refuse (the mid of record does not move).
    async fn bad_oracle(&mut self) -> Res {
        let m = self.h.market().await;
        if !self.quiet && self.rng.chance(0.15) {
            // Not bad in itself: a new price in the slot the last one was written in. Refused
            // (PriceChangedInSlot) if the market already used the other one in this slot.
            let usd = self.feed.usd * (1.0 + self.rng.uniform(-0.02, 0.02));
            let conf = self.feed.conf;
            *self.stats.steps.entry("price move in the same slot").or_default() += 1;
            self.publish_in(usd, conf, "price move in the same slot", true);
            return self.common_checks(None).await;
        }
        let mut input = PriceInput::usd(self.h.feed_id, self.feed.usd, self.feed.conf, self.h.chain.now());
        let what = match self.rng.below(6) {
            0 => {
                input.price = 0;
                input.conf = 0;
                "zero price"
            }
            1 => {
                input.price = -input.price;
                input.conf = 0;
                "negative price"
            }
            2 => {
                input.publish_time = m.last_publish_time - 1 - self.rng.below(5) as i64;
                "publish time older than the last used"
            }
            3 => {
                input.feed_id[0] ^= 1;
                "another feed"
            }
            4 => {
                input.verification = Verification::Partial(3);
                "partially verified"
            }
            _ => {
                let limit =
                    input.price.unsigned_abs() as u128 * u128::from(m.params.max_conf_ppm) / u128::from(PPM);
                input.conf = u64::try_from(limit + 1 + limit / 2).unwrap_or(u64::MAX);
                "confidence too wide"
            }
        };
        self.h.write_price(&input);
        self.feed.input = input;
        *self.stats.steps.entry("bad oracle update").or_default() += 1;
        self.note(format!("#{} bad oracle: {what}", self.step));
        self.common_checks(None).await
    }

    // ------------------------------------------------------------------------------------------
    // roles

    async fn random_pause(&mut self) -> Res {
        let m = self.h.market().await;
        let cur = m.paused;
        let admin = self.h.admin.insecure_clone();
        let pauser = self.h.pause_authority.insecure_clone();
        let add = |rng: &mut Rng| (rng.range(1, u64::from(pause::ALL)) as u8) & pause::ALL;
        let (who, signer, bits) = match self.rng.below(10) {
            0..=5 if cur != 0 => ("admin", admin, 0u8),
            0..=5 => ("pause authority", pauser, cur | add(&mut self.rng)),
            6 => ("admin", admin, self.rng.range(0, u64::from(pause::ALL)) as u8),
            7 => ("admin", admin, cur | 1u8 << self.rng.range(5, 7)),
            8 if cur != 0 => ("pause authority", pauser, cur & (cur - 1)),
            _ => ("stranger", Keypair::new(), add(&mut self.rng)),
        };
        let signer_key = signer.pubkey();
        let expect = if bits & !pause::ALL != 0 {
            Expect::Refuse(u32::from(LeverError::InvalidPauseBits))
        } else if signer_key == self.h.admin.pubkey() {
            Expect::Land
        } else if signer_key != self.h.pause_authority.pubkey() {
            Expect::Refuse(u32::from(LeverError::Unauthorized))
        } else if bits & cur == cur {
            Expect::Land
        } else {
            Expect::Refuse(u32::from(LeverError::PauseAuthorityCannotUnpause))
        };
        let ix = ix::set_pause(signer_key, self.h.keys.market, bits);
        let desc = format!("{who} set_pause {cur:#07b} -> {bits:#07b}");
        if self
            .exec(Kind::SetPause, desc, &[ix], vec![signer], expect)
            .await?
            .is_some()
        {
            let after = self.h.market().await.paused;
            self.ensure(after == bits, || format!("pause bits {after:#b}, set {bits:#b}"))?;
        }
        Ok(())
    }

    fn random_update_params(&mut self, m: &Market) -> (UpdateMarketParams, bool) {
        let mut u = UpdateMarketParams::default();
        let bad = self.rng.chance(0.12);
        // Half the time a leverage, band or price age one loosening step or less from the current
        // one (the program refuses larger loosening steps, and more than one a day).
        let near = self.rng.chance(0.5);
        for _ in 0..self.rng.range(1, 3) {
            match self.rng.below(9) {
                0 if near => {
                    let l = m.params.target_leverage_ppm;
                    u.target_leverage_ppm = Some(self.rng.range((l / 2).max(2 * PPM), (2 * l).min(10 * PPM)))
                }
                1 if near => {
                    let b = m.params.band_ppm;
                    u.band_ppm = Some(self.rng.range((b / 2).max(MIN_BAND_PPM), (2 * b).min(200_000)))
                }
                3 if near => {
                    let a = m.params.max_price_age_secs;
                    u.max_price_age_secs = Some(self.rng.range((a / 2).max(1), (2 * a).clamp(60, 86_400)))
                }
                0 => u.target_leverage_ppm = Some(self.rng.range(2 * PPM, 10 * PPM)),
                1 => u.band_ppm = Some(self.rng.range(MIN_BAND_PPM, 200_000)),
                2 => {
                    let fee = Some(self.rng.range(0, MAX_FEE_PPM / 5));
                    match self.rng.below(4) {
                        0 => u.mint_fee_ppm = fee,
                        1 => u.redeem_fee_ppm = fee,
                        2 => u.deposit_fee_ppm = fee,
                        _ => u.withdraw_fee_ppm = fee,
                    }
                }
                3 => u.max_price_age_secs = Some(self.rng.pick(&[30, 60, 300, 3_600, 86_400])),
                4 => u.max_conf_ppm = Some(self.rng.pick(&[5_000, 20_000, 50_000, 100_000])),
                5 => u.conf_multiplier_ppm = Some(self.rng.pick(&[PPM, 2 * PPM, 5 * PPM])),
                6 => {
                    u.exposure_cap = Some(if self.rng.chance(0.6) || m.exposure == 0 {
                        u64::MAX
                    } else {
                        (m.exposure as f64 * self.rng.uniform(0.5, 3.0)) as u64 + 1
                    })
                }
                7 => {
                    u.max_utilization_ppm = Some(if self.rng.chance(0.5) {
                        PPM
                    } else {
                        self.rng.range(100_000, PPM)
                    })
                }
                _ => {
                    u.base_rate_ppm = Some(self.rng.range(0, 300_000));
                    u.kink_ppm = Some(self.rng.range(100_000, 950_000));
                    u.slope1_ppm = Some(self.rng.range(0, 1_000_000));
                    u.slope2_ppm = Some(self.rng.range(0, 10_000_000));
                }
            }
        }
        if bad {
            match self.rng.below(8) {
                0 => u.target_leverage_ppm = Some(self.rng.pick(&[PPM, 11 * PPM, 0])),
                1 => u.band_ppm = Some(self.rng.pick(&[0, 1_000, 600_000])),
                2 => u.redeem_fee_ppm = Some(MAX_FEE_PPM + 1),
                3 => u.max_price_age_secs = Some(self.rng.pick(&[0, 86_401])),
                4 => u.max_conf_ppm = Some(self.rng.pick(&[0, 100_001])),
                5 => u.conf_multiplier_ppm = Some(self.rng.pick(&[PPM - 1, 10 * PPM + 1])),
                6 => u.max_utilization_ppm = Some(self.rng.pick(&[99_999, PPM + 1])),
                _ => u.kink_ppm = Some(self.rng.pick(&[0, 995_000])),
            }
        }
        (u, bad)
    }

    async fn random_update(&mut self) -> Res {
        let m = self.h.market().await;
        let (u, bad) = self.random_update_params(&m);
        let stranger = self.rng.chance(0.05);
        let signer = if stranger {
            Keypair::new()
        } else {
            self.h.admin.insecure_clone()
        };
        let config = self.h.chain.config().await.expect("config");
        let after = m.params().apply(&u);
        let expect = if stranger {
            Expect::Refuse(u32::from(LeverError::Unauthorized))
        } else {
            let mut acc = m;
            let now = self.now().unix_timestamp;
            // The bounds, then the loosening limits (one step, once a day), as the program does.
            match acc
                .accrue(acc.last_price.get(), now)
                .and_then(|_| acc.apply_update(&u, &config, now).map(|_| ()))
            {
                Ok(()) => Expect::Land,
                Err(e) => Expect::Refuse(Refusal::from(e).code),
            }
        };
        let ix = ix::update_market(signer.pubkey(), self.h.keys.market, u);
        let desc = format!(
            "{} update_market{} {u:?} (last loosened {}, now {})",
            if stranger { "stranger" } else { "admin" },
            if bad { " (out of bounds)" } else { "" },
            m.last_loosened_at,
            self.now().unix_timestamp
        );
        if self
            .exec(Kind::UpdateMarket, desc, &[ix], vec![signer], expect)
            .await?
            .is_some()
        {
            let now_params = self.h.market().await.params();
            self.ensure(now_params == after, || {
                format!("params {now_params:?}, asked {after:?}")
            })?;
            self.lambda_max = self.lambda_max.max(restart_leverage(&after));
            self.rate_max_ppm = self.rate_max_ppm.max(max_rate(&after));
        }
        Ok(())
    }

    async fn random_withdraw_fees(&mut self) -> Res {
        let m = self.h.market().await;
        let avail = m.fee_units + self.pending_donation;
        let mut dest = self.fee_dest;
        let mut signer = self.h.admin.insecure_clone();
        let mut who = "admin";
        let amount = match self.rng.below(10) {
            0 => 0,
            1 => avail + 1 + self.rng.below(1_000),
            2 => {
                dest = self.lts[0].w.underlying;
                avail.max(1)
            }
            3 => {
                signer = Keypair::new();
                who = "stranger";
                avail.max(1)
            }
            _ if avail == 0 => 0,
            4..=6 => avail,
            _ => self.rng.range(1, avail),
        };
        let expect = if who == "stranger" {
            Expect::Refuse(u32::from(LeverError::Unauthorized))
        } else if dest != self.fee_dest {
            Expect::Refuse(u32::from(LeverError::FeeDestinationMismatch))
        } else if amount == 0 {
            Expect::Refuse(u32::from(LeverError::ZeroAmount))
        } else if amount > avail {
            Expect::Refuse(u32::from(LeverError::InsufficientFees))
        } else {
            Expect::Land
        };
        self.withdraw_fees(signer, who, dest, amount, avail, expect).await
    }

    async fn withdraw_fees(
        &mut self,
        signer: Keypair,
        who: &str,
        dest: Pubkey,
        amount: u64,
        avail: u64,
        expect: Expect,
    ) -> Res {
        let keys = self.h.keys;
        let ix = ix::withdraw_fees(signer.pubkey(), &keys, dest, amount);
        let desc = format!("{who} withdraw_fees {amount} of {avail}");
        if self
            .exec(Kind::WithdrawFees, desc, &[ix], vec![signer], expect)
            .await?
            .is_some()
        {
            self.fees_withdrawn += amount;
            let fees = self.h.market().await.fee_units;
            let received = self.h.balance(&self.fee_dest.clone()).await;
            let total = self.fees_withdrawn;
            self.ensure(fees == avail - amount && received == total, || {
                format!(
                    "fee units {fees} (expected {}), fee receiver holds {received} (withdrawn {total})",
                    avail - amount
                )
            })?;
        }
        Ok(())
    }

    /// `update_share_metadata` of the LT or FT: fields kept, changed, emptied or past their
    /// limits, by the admin or a stranger. The refusal is predicted in the handler's order
    /// (signer, then an empty update, then the limits); a landed one writes exactly the fields
    /// given, keeps the mint rent-exempt and moves nothing else.
    async fn random_share_metadata(&mut self) -> Res {
        use lever::constants::{MAX_NAME_LEN, MAX_SYMBOL_LEN, MAX_URI_LEN};
        let share = if self.rng.chance(0.5) {
            ShareKind::Lt
        } else {
            ShareKind::Ft
        };
        let mint = self.h.keys.share_mint(share);
        let current = self.metadata(&mint).await;
        let stranger = self.rng.chance(0.1);
        let mut field = |max: usize| -> Option<String> {
            match self.rng.below(6) {
                0 | 1 => None,
                2 => Some(String::new()),
                3 => Some("x".repeat(max + 1 + self.rng.below(4) as usize)),
                4 => Some("y".repeat(max)),
                _ => Some("z".repeat(self.rng.range(1, max as u64) as usize)),
            }
        };
        let args = UpdateShareMetadataArgs {
            share,
            name: field(MAX_NAME_LEN),
            symbol: field(MAX_SYMBOL_LEN),
            uri: field(MAX_URI_LEN),
        };
        let after = (
            args.name.clone().unwrap_or_else(|| current.0.clone()),
            args.symbol.clone().unwrap_or_else(|| current.1.clone()),
            args.uri.clone().unwrap_or_else(|| current.2.clone()),
        );
        let within =
            |text: &str, max: usize, empty_ok: bool| (empty_ok || !text.is_empty()) && text.len() <= max;
        let expect = if stranger {
            Expect::Refuse(u32::from(LeverError::Unauthorized))
        } else if args.name.is_none() && args.symbol.is_none() && args.uri.is_none() {
            Expect::Refuse(u32::from(LeverError::NothingToUpdate))
        } else if !(within(&after.0, MAX_NAME_LEN, false)
            && within(&after.1, MAX_SYMBOL_LEN, false)
            && within(&after.2, MAX_URI_LEN, true))
        {
            Expect::Refuse(u32::from(LeverError::InvalidMetadata))
        } else {
            Expect::Land
        };
        let signer = if stranger {
            Keypair::new()
        } else {
            self.h.admin.insecure_clone()
        };
        let desc = format!(
            "{} update_share_metadata {share:?} (name {:?}, symbol {:?}, uri {} bytes)",
            if stranger { "stranger" } else { "admin" },
            args.name.as_ref().map(String::len),
            args.symbol.as_ref().map(String::len),
            args.uri.as_ref().map_or("kept".into(), |u| u.len().to_string()),
        );
        let market_before = self.h.market().await;
        let ix = ix::update_share_metadata(signer.pubkey(), &self.h.keys, args);
        if self
            .exec(Kind::ShareMetadata, desc, &[ix], vec![signer], expect)
            .await?
            .is_some()
        {
            let written = self.metadata(&mint).await;
            let account = self.h.chain.account(&mint).await.expect("rpc").expect("mint");
            let rent = self.h.chain.rent(account.data.len()).await.expect("rent");
            self.ensure(written == after, || {
                format!("metadata {written:?}, expected {after:?}")
            })?;
            self.ensure(account.lamports >= rent, || {
                format!("mint {mint} not rent-exempt")
            })?;
            self.check_market(&market_before).await?;
        }
        Ok(())
    }

    /// (name, symbol, uri) of a share mint.
    async fn metadata(&mut self, mint: &Pubkey) -> (String, String, String) {
        let account = self.h.chain.account(mint).await.expect("rpc").expect("mint");
        lever_sdk::accounts::token_metadata(&account.data).expect("token metadata")
    }

    async fn random_reopen(&mut self) -> Res {
        let m = self.h.market().await;
        let stranger = self.rng.chance(0.1);
        let signer = if stranger {
            Keypair::new()
        } else {
            self.h.admin.insecure_clone()
        };
        self.reopen(m, signer, stranger).await
    }

    async fn reopen(&mut self, m: Market, signer: Keypair, stranger: bool) -> Res {
        let pred = quote::reopen_market(&m);
        let expect = if stranger {
            Expect::Refuse(u32::from(LeverError::Unauthorized))
        } else {
            match &pred {
                Ok(_) => Expect::Land,
                Err(r) => Expect::Refuse(r.code),
            }
        };
        let ix = ix::reopen_market(signer.pubkey(), &self.h.keys);
        let desc = format!(
            "{} reopen_market (wiped {}, LT supply {})",
            if stranger { "stranger" } else { "admin" },
            m.is_wiped(),
            m.lt_supply
        );
        if self
            .exec(Kind::Reopen, desc, &[ix], vec![signer], expect)
            .await?
            .is_some()
        {
            if let Ok(p) = pred {
                self.check_market(&p).await?;
            }
        }
        Ok(())
    }

    async fn admin_transfer(&mut self) -> Res {
        let admin = self.h.admin.insecure_clone();
        match (
            self.pending_admin.as_ref().map(|k| k.insecure_clone()),
            self.rng.below(4),
        ) {
            (Some(pending), 0..=1) => {
                let ix = ix::accept_admin(pending.pubkey());
                let desc = "pending admin accept_admin".to_string();
                let landed = self
                    .exec(
                        Kind::AcceptAdmin,
                        desc,
                        &[ix],
                        vec![pending.insecure_clone()],
                        Expect::Land,
                    )
                    .await?;
                if landed.is_some() {
                    self.h.admin = pending;
                    self.pending_admin = None;
                }
            }
            (_, 2) => {
                let stranger = Keypair::new();
                let ix = ix::accept_admin(stranger.pubkey());
                let expect = Expect::Refuse(u32::from(LeverError::NotPendingAdmin));
                self.exec(
                    Kind::AcceptAdmin,
                    "stranger accept_admin".into(),
                    &[ix],
                    vec![stranger],
                    expect,
                )
                .await?;
            }
            (_, 3) => {
                let stranger = Keypair::new();
                let ix = ix::transfer_admin(stranger.pubkey(), Pubkey::new_unique());
                let expect = Expect::Refuse(u32::from(LeverError::Unauthorized));
                self.exec(
                    Kind::TransferAdmin,
                    "stranger transfer_admin".into(),
                    &[ix],
                    vec![stranger],
                    expect,
                )
                .await?;
            }
            _ => {
                let next = Keypair::new();
                let ix = ix::transfer_admin(admin.pubkey(), next.pubkey());
                let desc = "admin transfer_admin to a new key".to_string();
                if self
                    .exec(Kind::TransferAdmin, desc, &[ix], vec![admin], Expect::Land)
                    .await?
                    .is_some()
                {
                    // A real admin key holds SOL: it pays the rent a longer share metadata needs.
                    self.h
                        .chain
                        .airdrop(&next.pubkey(), 10_000_000_000)
                        .await
                        .expect("airdrop");
                    self.pending_admin = Some(next);
                }
            }
        }
        let config = self.h.chain.config().await.expect("config");
        let pending = self
            .pending_admin
            .as_ref()
            .map_or(Pubkey::default(), |k| k.pubkey());
        let admin = self.h.admin.pubkey();
        self.ensure(config.admin == admin && config.pending_admin == pending, || {
            format!(
                "config admin {} pending {}, expected {admin} / {pending}",
                config.admin, config.pending_admin
            )
        })
    }

    /// A holder sends underlying units straight to the vault: no NAV may move; the next
    /// instruction that reads the vault credits them to the fee units.
    async fn donate(&mut self) -> Res {
        let role = if self.rng.chance(0.5) { Role::Lt } else { Role::Ft };
        let n = match role {
            Role::Lt => self.lts.len(),
            Role::Ft => self.fts.len(),
        };
        let i = self.rng.index(n);
        let bal = self.actor(role, i).und;
        if bal == 0 {
            return self.common_checks(None).await;
        }
        let amount = self.rng.range(1, (bal / 100).max(1));
        let keys = self.h.keys;
        let (source, owner) = {
            let a = self.actor(role, i);
            (a.w.underlying, a.w.kp.insecure_clone())
        };
        let ix = spl_token_2022::instruction::transfer_checked(
            &keys.underlying_token_program,
            &source,
            &keys.underlying_mint,
            &keys.vault,
            &owner.pubkey(),
            &[],
            amount,
            self.h.decimals,
        )
        .expect("transfer ix");
        let market_before = self.h.market().await;
        let name = self.actor(role, i).name.clone();
        self.donation_in_flight = amount;
        let desc = format!("{name} donates {amount} to the vault");
        if self
            .exec(Kind::Donate, desc, &[ix], vec![owner], Expect::Land)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let a = self.actor_mut(role, i);
        a.und -= amount;
        a.ledger.donated += amount;
        self.check_balances(role, i).await?;
        let after = self.h.market().await;
        self.ensure(format!("{after:?}") == format!("{market_before:?}"), || {
            "a donation changed the market account".into()
        })
    }

    // ------------------------------------------------------------------------------------------
    // the end of a sequence

    async fn unwind(&mut self) -> Res {
        self.note("-- unwind".into());
        // Open requests expire and are cancelled: their escrows go back to their owners.
        if let Some(last) = self.open.iter().map(|o| o.request.expires_at).max() {
            let now = self.now().unix_timestamp;
            if now <= last {
                self.advance((last - now + 1) as u64);
            }
            while !self.open.is_empty() {
                self.cancel(0).await?;
            }
        }
        let m = self.h.market().await;
        if m.paused != 0 {
            let admin = self.h.admin.insecure_clone();
            let ix = ix::set_pause(admin.pubkey(), self.h.keys.market, 0);
            self.exec(
                Kind::SetPause,
                "admin unpause".into(),
                &[ix],
                vec![admin],
                Expect::Land,
            )
            .await?;
        }
        let m = self.h.market().await;
        if m.params.instant_max_age_secs == 0 {
            // Switching it on is a loosening: a day after the last one at the earliest.
            let next = m.last_loosened_at + lever::constants::LOOSEN_INTERVAL_SECS;
            let now = self.now().unix_timestamp;
            if m.last_loosened_at != 0 && next > now {
                self.advance((next - now) as u64);
                self.note(format!("unwind: time +{} s (to the next loosening)", next - now));
            }
            // Everyone leaves in one transaction each: the admin turns the instant path on.
            let floor = lever::state::instant_fee_floor_ppm(m.params.target_leverage_ppm, 1).expect("floor");
            let update = UpdateMarketParams {
                instant_max_age_secs: Some(1),
                instant_fee_ppm: Some(floor),
                instant_max_conf_ppm: Some(m.params.max_conf_ppm),
                instant_slot_cap: Some(u64::MAX),
                ..UpdateMarketParams::default()
            };
            let admin = self.h.admin.insecure_clone();
            let ix = self.h.update_ix(update);
            self.exec(
                Kind::UpdateMarket,
                "admin turns the instant path on".into(),
                &[ix],
                vec![admin],
                Expect::Land,
            )
            .await?;
        }
        let usd = self.feed.usd;
        self.publish(usd, 0.0, "unwind: fresh price, no confidence");
        for i in 0..self.lts.len() {
            let held = self.lts[i].lt;
            if held == 0 {
                continue;
            }
            if let Sent::Refused(name) = self.redeem(i, held, Mode::Unwind).await? {
                let who = self.lts[i].name.clone();
                self.ensure(name == "ZeroPayout", || {
                    format!("unwind: {who} could not redeem {held} LT: {name}")
                })?;
            }
        }
        let m = self.h.market().await;
        if m.is_wiped() && m.lt_supply == 0 {
            let admin = self.h.admin.insecure_clone();
            self.reopen(m, admin, false).await?;
        }
        for i in 0..self.fts.len() {
            let held = self.fts[i].ft;
            if held == 0 {
                continue;
            }
            if let Sent::Refused(name) = self.withdraw(i, held, Mode::Unwind).await? {
                let lt_left = self.h.market().await.lt_supply;
                let ok = name == "ZeroPayout" || (lt_left > 0 && name == "IdleInsufficientForWithdrawal");
                let who = self.fts[i].name.clone();
                self.ensure(ok, || {
                    format!("unwind: {who} could not withdraw {held} FT: {name}")
                })?;
            }
        }
        let m = self.h.market().await;
        let avail = m.fee_units + self.pending_donation;
        if avail > 0 {
            let admin = self.h.admin.insecure_clone();
            let dest = self.fee_dest;
            self.withdraw_fees(admin, "admin", dest, avail, avail, Expect::Land)
                .await?;
        }
        self.final_checks().await
    }

    async fn final_checks(&mut self) -> Res {
        let m = self.h.market().await;
        let pool = m.pool();
        let vault = self.h.balance(&self.h.keys.vault.clone()).await;
        let lt_dust: u64 = self.lts.iter().map(|a| a.lt).sum();
        let ft_dust: u64 = self.fts.iter().map(|a| a.ft).sum();
        self.ensure(pool.lt_supply == lt_dust, || {
            format!(
                "LT supply {} after the unwind, users hold {lt_dust}",
                pool.lt_supply
            )
        })?;
        let seed = self.seed_units;
        self.ensure(pool.ft_supply == seed + ft_dust, || {
            format!(
                "FT supply {} after the unwind, seed {seed} + users {ft_dust}",
                pool.ft_supply
            )
        })?;
        self.ensure(pool.fee_units == 0 && vault == pool.exposure + pool.idle, || {
            format!(
                "after the fee withdrawal: fees {} vault {vault} N {} I {}",
                pool.fee_units, pool.exposure, pool.idle
            )
        })?;
        if self.quiet {
            let seed = self.seed_units;
            self.ensure(lt_dust > 0 || ft_dust > 0 || pool.idle >= seed, || {
                format!(
                    "quiet sequence: the seed's claim shrank: idle {} < seed {seed}",
                    pool.idle
                )
            })?;
        }
        let params = RuleParams {
            dust: self.landed_ops as f64 * (self.max_share_units as f64 + 3.0),
            spread: self.spread,
            lambda_max: self.lambda_max,
            rate_max_ppm: self.rate_max_ppm,
        };
        self.note(format!(
            "-- rule: dust {:.0} units ({} landed, max share {} units), spread {:.0}, lambda_max {:.3}, \
             r_max {} ppm",
            params.dust,
            self.landed_ops,
            self.max_share_units,
            params.spread,
            params.lambda_max,
            params.rate_max_ppm
        ));
        for role in [Role::Lt, Role::Ft] {
            let n = match role {
                Role::Lt => self.lts.len(),
                Role::Ft => self.fts.len(),
            };
            for i in 0..n {
                let a = self.actor(role, i);
                let w_und = a.w.underlying;
                let l = a.ledger.clone();
                let name = a.name.clone();
                let und = self.h.balance(&w_und).await;
                let expected = i128::from(l.start) - i128::from(l.paid_in) + i128::from(l.got_out)
                    - i128::from(l.donated);
                self.ensure(i128::from(und) == expected, || {
                    format!("{name}: holds {und}, ledger says {expected} ({l:?})")
                })?;
                self.note(format!(
                    "   {name}: in {} out {} (gain {}), up_log {:.4} down_log {:.4} held {} s, bound {:.0}",
                    l.paid_in,
                    l.got_out,
                    l.got_out as i128 - l.paid_in as i128,
                    l.up_log,
                    l.down_log,
                    l.held_secs,
                    rule::bound(&l, &params)
                ));
                let verdict = rule::check(&l, &params);
                self.ensure(verdict.is_ok(), || {
                    format!("{name}: {}", verdict.clone().unwrap_err())
                })?;
            }
        }
        Ok(())
    }
}
