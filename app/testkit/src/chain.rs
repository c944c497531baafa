//! An embedded in-process chain: a solana-program-test bank running the Lever program natively
//! beside the real SPL Token and Token-2022 programs (SBF builds, metered). The simulator, the
//! test suites and the keeper's end-to-end tests all run on it.

use anchor_lang::prelude::{AccountInfo, Clock, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token_2022::spl_token_2022;
use anyhow::{anyhow, Context as _, Result};
use lever::oracle::Now;
use lever::state::{Config, Market};
use solana_account::{Account, AccountSharedData};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_test::{ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Hash;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use spl_token_2022::extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions};
use std::collections::{HashMap, VecDeque};

use lever_sdk::accounts::decode_zero_copy;
use lever_sdk::cluster::{ClusterError, ClusterResult, Landed};
use lever_sdk::pyth::{price_update_data, PriceInput};

/// Take a fresh blockhash after this many transactions (one expires after ~780 here).
const BLOCKHASH_REFRESH_EVERY: u32 = 300;
/// Fresh blockhashes tried for one transaction refused with `BlockhashNotFound`.
const BLOCKHASH_RETRIES: u32 = 3;

/// A transaction's blockhash is accepted while the chain's block height is at most this many blocks
/// past the block that registered it (the bank's `MAX_PROCESSING_AGE`), as on a validator.
pub const MAX_PROCESSING_AGE: u64 = 150;

impl Blocks {
    fn record(&mut self, hash: Hash) {
        self.latest = hash;
        self.heights.insert(hash, self.height);
        self.order.push_back(hash);
        while self.order.len() > BLOCKHASHES_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.heights.remove(&old);
            }
        }
    }
}

/// The program's entrypoint, adapted to `processor!`'s signature.
fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // SAFETY: program-test keeps the account slice alive for the whole call; Anchor's entry only
    // asks for a longer lifetime than `processor!` names.
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    lever::entry(program_id, accounts, data)
}

/// A `ProgramTest` with Lever loaded natively.
pub fn program_test() -> ProgramTest {
    // program-test logs every instruction at debug level straight to stderr unless RUST_LOG says
    // otherwise; keep runs readable (set RUST_LOG to see the logs).
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "error");
        }
    });
    let mut pt = ProgramTest::new("lever", lever::ID, crate::native_processor!(process));
    pt.prefer_bpf(false);
    crate::pyth_stand_in::add_pyth_stand_ins(&mut pt);
    pt.add_program(
        "lever_localnet_inspector",
        crate::native::INSPECTOR_ID,
        crate::native_processor!(crate::native::inspect),
    );
    pt
}

pub struct Chain {
    pub ctx: ProgramTestContext,
    now: i64,
    slot: u64,
    since_refresh: u32,
    nonce: u32,
    /// Transactions sent (landed or failed).
    pub transactions: u64,
    /// The block clock of a paced chain ([`Chain::start_paced`]).
    blocks: Option<Blocks>,
    /// Every account a transaction sent to this chain named, or written directly (the bank
    /// cannot list accounts by owner; this is what the local node lists).
    known: std::collections::BTreeSet<Pubkey>,
}

/// A paced chain's bank runs on its own thread, on a paused Tokio clock that only
/// [`Chain::next_block`] moves: program-test's clock task (a new blockhash every 64 ticks of
/// 100 us, so a hash expired after about one second of wall time) then registers exactly one
/// blockhash per block, and the blocks come as often as the caller makes them (a validator's
/// 400 ms for `lever localnet`).
struct Blocks {
    handle: tokio::runtime::Handle,
    /// Dropped with the chain: ends the bank's thread.
    _stop: std::sync::mpsc::Sender<()>,
    /// Paused time per registration (program-test's slot duration).
    slot_duration: std::time::Duration,
    height: u64,
    latest: Hash,
    /// The block that registered each blockhash still in the bank's queue.
    heights: HashMap<Hash, u64>,
    order: VecDeque<Hash>,
}

/// Blockhashes remembered (the bank's queue holds 300).
const BLOCKHASHES_KEPT: usize = 300;

impl Chain {
    pub async fn start() -> Result<Self> {
        Self::start_with(program_test()).await
    }

    /// Start from a `ProgramTest` the caller has added accounts or programs to.
    pub async fn start_with(pt: ProgramTest) -> Result<Self> {
        let ctx = pt.start_with_context().await;
        Self::from_context(ctx, None).await
    }

    /// [`Chain::start_with`], paced: blockhashes are registered only by [`Chain::next_block`], one
    /// per block, and a transaction may use one for [`MAX_PROCESSING_AGE`] blocks, as on a
    /// validator. The bank and program-test's server run on a thread of their own.
    pub async fn start_paced(pt: ProgramTest) -> Result<Self> {
        let (give, take) = tokio::sync::oneshot::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("lever-bank".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = give.send(Err(anyhow!("bank runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    // A blocking task keeps a paused current-thread clock from advancing by
                    // itself when the runtime idles; this one lasts as long as the chain.
                    let (done, finished) = tokio::sync::oneshot::channel::<()>();
                    tokio::task::spawn_blocking(move || {
                        let _ = stopped.recv();
                        let _ = done.send(());
                    });
                    let ctx = pt.start_with_context().await;
                    let _ = give.send(Ok((ctx, tokio::runtime::Handle::current())));
                    let _ = finished.await;
                });
            })
            .context("spawn the bank's thread")?;
        let (ctx, handle) = take.await.context("the bank's thread ended")??;
        let poh = &ctx.genesis_config().poh_config;
        let slot_duration = poh.target_tick_duration * ctx.genesis_config().ticks_per_slot as u32;
        let height = ctx
            .banks_client
            .get_root_block_height()
            .await
            .context("block height")?;
        let blocks = Blocks {
            handle,
            _stop: stop,
            slot_duration,
            height,
            latest: Hash::default(),
            heights: HashMap::new(),
            order: VecDeque::new(),
        };
        Self::from_context(ctx, Some(blocks)).await
    }

    async fn from_context(mut ctx: ProgramTestContext, mut blocks: Option<Blocks>) -> Result<Self> {
        crate::native::install();
        let clock: Clock = ctx.banks_client.get_sysvar().await.context("clock")?;
        let slot = clock.slot;
        let now = clock.unix_timestamp;
        ctx.last_blockhash = ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .context("blockhash")?;
        if let Some(b) = &mut blocks {
            b.record(ctx.last_blockhash);
        }
        Ok(Self {
            ctx,
            now,
            slot,
            since_refresh: 0,
            nonce: 0,
            transactions: 0,
            blocks,
            known: Default::default(),
        })
    }

    /// Remember accounts (a transaction's keys) for [`Chain::known_accounts`].
    pub fn note_accounts(&mut self, keys: impl IntoIterator<Item = Pubkey>) {
        self.known.extend(keys);
    }

    /// Every account a transaction sent to this chain named, or written with
    /// [`Chain::set_account`], in address order (some may since have been closed).
    pub fn known_accounts(&self) -> Vec<Pubkey> {
        self.known.iter().copied().collect()
    }

    /// Whether blocks come only from [`Chain::next_block`] ([`Chain::start_paced`]).
    pub fn is_paced(&self) -> bool {
        self.blocks.is_some()
    }

    /// Make a block: the bank registers one new blockhash and the block height moves by one. On
    /// a chain that is not paced, program-test registers blockhashes by itself (every 6.4 ms) and
    /// this does nothing.
    pub async fn next_block(&mut self) -> Result<Hash> {
        let Some(blocks) = &mut self.blocks else {
            return self
                .ctx
                .banks_client
                .get_latest_blockhash()
                .await
                .context("blockhash");
        };
        let before = blocks.latest;
        // Paused time moves in steps of 1 ms (the timer's resolution) until the clock task has
        // registered the next hash: one registration per 6.4 ms, so never two.
        for _ in 0..1_000 {
            let step = std::time::Duration::from_millis(1).min(blocks.slot_duration);
            blocks
                .handle
                .spawn(async move { tokio::time::advance(step).await })
                .await
                .context("advance the bank's clock")?;
            for _ in 0..4 {
                let latest = self
                    .ctx
                    .banks_client
                    .get_latest_blockhash()
                    .await
                    .context("blockhash")?;
                if latest != before {
                    blocks.height += 1;
                    blocks.record(latest);
                    return Ok(latest);
                }
                tokio::task::yield_now().await;
            }
        }
        Err(anyhow!("the bank registered no blockhash"))
    }

    /// The block height: blocks made on a paced chain, else the bank's.
    pub async fn block_height(&mut self) -> Result<u64> {
        match &self.blocks {
            Some(b) => Ok(b.height),
            None => self
                .ctx
                .banks_client
                .get_root_block_height()
                .await
                .context("block height"),
        }
    }

    /// The latest blockhash and the last block height at which a transaction using it is
    /// accepted.
    pub async fn latest_blockhash_info(&mut self) -> Result<(Hash, u64)> {
        match &self.blocks {
            Some(b) => Ok((b.latest, b.height + MAX_PROCESSING_AGE)),
            None => self
                .ctx
                .banks_client
                .get_latest_blockhash_with_commitment(Default::default())
                .await
                .context("blockhash")?
                .ok_or_else(|| anyhow!("no blockhash")),
        }
    }

    /// Whether a transaction using `hash` would be accepted now: on a paced chain, exactly the
    /// bank's rule (registered at most [`MAX_PROCESSING_AGE`] blocks ago); otherwise whether the
    /// bank still knows it.
    pub async fn is_blockhash_valid(&mut self, hash: &Hash) -> Result<bool> {
        let known = {
            let payer = self.payer_pubkey();
            let message = solana_transaction::Message::new_with_blockhash(&[], Some(&payer), hash);
            self.ctx
                .banks_client
                .get_fee_for_message(message)
                .await
                .context("fee for message")?
                .is_some()
        };
        Ok(known
            && match &self.blocks {
                Some(b) => b
                    .heights
                    .get(hash)
                    .is_some_and(|h| b.height.saturating_sub(*h) <= MAX_PROCESSING_AGE),
                None => true,
            })
    }

    pub fn payer(&self) -> &Keypair {
        &self.ctx.payer
    }

    pub fn payer_pubkey(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    /// The chain's unix time (what `Clock::get` returns to programs).
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The clock programs see: unix time and slot.
    pub fn clock(&self) -> Now {
        Now {
            unix_timestamp: self.now,
            slot: self.slot,
        }
    }

    /// Move the clock to `unix` seconds, in a new slot (cheap: rewrites the Clock sysvar).
    pub fn set_time(&mut self, unix: i64) {
        self.now = unix;
        self.next_slot();
    }

    /// Start a new slot at the same unix time. The program accepts one price per slot, so every
    /// price written goes with a new slot, as on a real cluster.
    pub fn next_slot(&mut self) {
        self.slot += 1;
        self.write_clock();
    }

    fn write_clock(&mut self) {
        let clock = Clock {
            slot: self.slot,
            epoch_start_timestamp: self.now,
            epoch: 0,
            leader_schedule_epoch: 0,
            unix_timestamp: self.now,
        };
        self.ctx.set_sysvar(&clock);
    }

    /// Write an account as is.
    pub fn set_account(&mut self, address: &Pubkey, account: Account) {
        self.known.insert(*address);
        self.ctx.set_account(address, &AccountSharedData::from(account));
    }

    /// Write Wormhole guardian set `index` with `keys` at its address (the account the
    /// stand-in's `verify_encoded_vaa_v1` checks signatures against).
    pub fn write_guardian_set(&mut self, index: u32, keys: &[[u8; 20]]) {
        use anchor_lang::AnchorSerialize as _;
        let set = crate::pyth_stand_in::GuardianSetAccount {
            index,
            keys: keys.to_vec(),
            creation_time: 0,
            expiration_time: 0,
        };
        let mut data = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = set.serialize(&mut data);
        let wormhole = lever_sdk::hermes::WORMHOLE_PROGRAM_ID;
        self.set_account(
            &lever_sdk::hermes::guardian_set_address(&wormhole, index),
            Account {
                lamports: 10_000_000,
                data,
                owner: wormhole,
                executable: false,
                rent_epoch: 0,
            },
        );
    }

    /// Write a real-layout `PriceUpdateV2` owned by the Pyth receiver at `address`.
    pub fn write_price(&mut self, address: &Pubkey, input: &PriceInput) {
        self.next_slot();
        self.set_account(
            address,
            Account {
                lamports: 10_000_000,
                data: price_update_data(input),
                owner: pyth_solana_receiver_sdk::ID,
                executable: false,
                rent_epoch: 0,
            },
        );
    }

    /// Take the bank's latest blockhash. program-test registers a new one every 6.4 ms of wall
    /// time (a paced chain: one per [`Chain::next_block`]) and accepts one for 150 registrations,
    /// so a hash taken every few hundred transactions is retried at most once; no warp (about
    /// 190 ms each) is needed.
    async fn refresh_blockhash(&mut self) -> Result<()> {
        self.ctx.last_blockhash = self
            .ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .context("latest blockhash")?;
        self.since_refresh = 0;
        Ok(())
    }

    /// Sign (payer first) and process. A compute-budget instruction with a changing limit keeps
    /// identical transactions from colliding on one blockhash. A transaction refused with
    /// `BlockhashNotFound` was not processed: it is signed again on a fresh blockhash and resent
    /// (program-test's clock task and a warp can race on the blockhash queue).
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> ClusterResult<Landed> {
        if self.since_refresh >= BLOCKHASH_REFRESH_EVERY {
            self.refresh_blockhash()
                .await
                .map_err(|e| ClusterError::Client(format!("refresh blockhash: {e:#}")))?;
        }
        let mut attempts = 0;
        loop {
            let outcome = self.send_once(ixs, signers).await;
            match &outcome {
                Err(ClusterError::Transaction {
                    error: TransactionError::BlockhashNotFound,
                    ..
                }) if attempts < BLOCKHASH_RETRIES => {
                    attempts += 1;
                    self.refresh_blockhash()
                        .await
                        .map_err(|e| ClusterError::Client(format!("refresh blockhash: {e:#}")))?;
                }
                _ => return outcome,
            }
        }
    }

    async fn send_once(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> ClusterResult<Landed> {
        self.since_refresh += 1;
        self.nonce = self.nonce.wrapping_add(1);
        self.transactions += 1;
        let mut all = Vec::with_capacity(ixs.len() + 1);
        all.push(ComputeBudgetInstruction::set_compute_unit_limit(
            1_400_000 - (self.nonce % 200_000),
        ));
        all.extend_from_slice(ixs);
        let payer = &self.ctx.payer;
        let mut keys: Vec<&Keypair> = vec![payer];
        for s in signers {
            if !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
                keys.push(s);
            }
        }
        let tx =
            Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &keys, self.ctx.last_blockhash);
        let signature = tx.signatures.first().copied().unwrap_or_default();
        self.known.extend(tx.message.account_keys.iter().copied());
        let outcome = self.ctx.banks_client.process_transaction_with_metadata(tx).await;
        let outcome = outcome.map_err(|e| ClusterError::Client(format!("banks client: {e}")))?;
        let (compute_units, return_data, logs) = match outcome.metadata {
            Some(m) => (
                m.compute_units_consumed,
                m.return_data.map(|r| r.data),
                m.log_messages,
            ),
            None => (0, None, Vec::new()),
        };
        match outcome.result {
            // `send` does not simulate, so it reads no events (the bank drops inner instructions
            // when processing); `Embedded` simulates first for callers that need them.
            Ok(()) => Ok(Landed {
                signature,
                logs,
                return_data,
                events: Vec::new(),
                compute_units: Some(compute_units),
            }),
            Err(error) => Err(ClusterError::Transaction {
                error,
                logs,
                signature: Some(signature),
            }),
        }
    }

    pub async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>> {
        self.ctx
            .banks_client
            .get_account(*address)
            .await
            .context("get_account")
    }

    async fn data(&mut self, address: &Pubkey) -> Result<Vec<u8>> {
        Ok(self
            .account(address)
            .await?
            .ok_or_else(|| anyhow!("account {address} not found"))?
            .data)
    }

    pub async fn lamports(&mut self, address: &Pubkey) -> Result<u64> {
        Ok(self.account(address).await?.map(|a| a.lamports).unwrap_or(0))
    }

    pub async fn market(&mut self, address: &Pubkey) -> Result<Market> {
        decode_zero_copy::<Market>(&self.data(address).await?)
    }

    pub async fn config(&mut self) -> Result<Config> {
        decode_zero_copy::<Config>(&self.data(&lever_sdk::pda::config()).await?)
    }

    pub async fn token_amount(&mut self, address: &Pubkey) -> Result<u64> {
        let data = self.data(address).await?;
        lever_sdk::accounts::token_account_amount(&data)
            .ok_or_else(|| anyhow!("{address} is not a token account"))
    }

    pub async fn mint_supply(&mut self, address: &Pubkey) -> Result<u64> {
        let data = self.data(address).await?;
        Ok(StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data)
            .map_err(|e| anyhow!("mint {address}: {e}"))?
            .base
            .supply)
    }

    /// Create a mint of `token_program` (SPL Token or Token-2022) with no extensions.
    pub async fn create_mint(
        &mut self,
        token_program: &Pubkey,
        decimals: u8,
        authority: &Pubkey,
    ) -> Result<Pubkey> {
        self.create_mint_with(token_program, decimals, authority, &[], |_| Vec::new())
            .await
    }

    /// Create a Token-2022 mint with `extensions`, initialised by the instructions `init(mint)`
    /// returns (run between the account's creation and `InitializeMint2`).
    pub async fn create_mint_with(
        &mut self,
        token_program: &Pubkey,
        decimals: u8,
        authority: &Pubkey,
        extensions: &[ExtensionType],
        init: impl FnOnce(&Pubkey) -> Vec<Instruction>,
    ) -> Result<Pubkey> {
        let mint = Keypair::new();
        let space = if extensions.is_empty() {
            spl_token_2022::state::Mint::LEN
        } else {
            ExtensionType::try_calculate_account_len::<spl_token_2022::state::Mint>(extensions)?
        };
        let lamports = self.rent(space).await?;
        let mut ixs = vec![solana_system_interface::instruction::create_account(
            &self.payer_pubkey(),
            &mint.pubkey(),
            lamports,
            space as u64,
            token_program,
        )];
        ixs.extend(init(&mint.pubkey()));
        ixs.push(spl_token_2022::instruction::initialize_mint2(
            token_program,
            &mint.pubkey(),
            authority,
            None,
            decimals,
        )?);
        self.send(&ixs, &[&mint])
            .await
            .map_err(|e| anyhow!("create mint: {e}"))?;
        Ok(mint.pubkey())
    }

    /// Create a token account for `owner` (a fresh keypair address, not an ATA).
    pub async fn create_token_account(
        &mut self,
        mint: &Pubkey,
        owner: &Pubkey,
        token_program: &Pubkey,
    ) -> Result<Pubkey> {
        let account = Keypair::new();
        let mint_data = self.data(mint).await?;
        let space = if *token_program == spl_token_2022::ID {
            let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&mint_data)?;
            let required = ExtensionType::get_required_init_account_extensions(&state.get_extension_types()?);
            ExtensionType::try_calculate_account_len::<spl_token_2022::state::Account>(&required)?
        } else {
            spl_token_2022::state::Account::LEN
        };
        let lamports = self.rent(space).await?;
        let ixs = vec![
            solana_system_interface::instruction::create_account(
                &self.payer_pubkey(),
                &account.pubkey(),
                lamports,
                space as u64,
                token_program,
            ),
            spl_token_2022::instruction::initialize_account3(token_program, &account.pubkey(), mint, owner)?,
        ];
        self.send(&ixs, &[&account])
            .await
            .map_err(|e| anyhow!("create token account: {e}"))?;
        Ok(account.pubkey())
    }

    /// Mint `amount` raw units of `mint` (authority must sign) to `to`.
    pub async fn mint_tokens(
        &mut self,
        token_program: &Pubkey,
        mint: &Pubkey,
        to: &Pubkey,
        authority: &Keypair,
        amount: u64,
    ) -> Result<()> {
        let ix =
            spl_token_2022::instruction::mint_to(token_program, mint, to, &authority.pubkey(), &[], amount)?;
        self.send(&[ix], &[authority])
            .await
            .map_err(|e| anyhow!("mint_to: {e}"))?;
        Ok(())
    }

    /// Move lamports from the payer.
    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) -> Result<()> {
        let ix = solana_system_interface::instruction::transfer(&self.payer_pubkey(), to, lamports);
        self.send(&[ix], &[]).await.map_err(|e| anyhow!("airdrop: {e}"))?;
        Ok(())
    }

    pub async fn rent(&mut self, space: usize) -> Result<u64> {
        let rent = self.ctx.banks_client.get_rent().await.context("rent")?;
        Ok(rent.minimum_balance(space))
    }
}
