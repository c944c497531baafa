//! Lever composed by CPI: the example vault (`programs/lever-vault`) runs natively beside Lever and
//! the real token programs on the embedded chain, minting and redeeming LT for its depositors.
//!
//! Return data across the CPI, natively: Lever publishes its outcome through the syscall stubs
//! (`publish_return_data`), which program-test routes to the transaction context; the vault reads
//! it back through the same stubs (`sol_get_return_data`; `solana_cpi::get_return_data` is `None`
//! off chain) and program-runtime resets the buffer at the start of every instruction it processes,
//! CPIs included, as the SBF CPI syscall does. `cpi_deposit_mints_through_lever` shows both ends:
//! the vault books exactly the LT the outcome reports (it refuses any other amount), and the
//! transaction's return data is Lever's, program id included.

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::{AccountDeserialize, AnchorDeserialize, InstructionData, ToAccountMetas};
use anchor_spl::token::ID as TOKEN;
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::constants::pause;
use lever::error::LeverError;
use lever::instructions::{MintLtOutcome, RedeemLtOutcome};
use lever_sdk::cluster::{ClusterError, Landed};
use lever_sdk::ix;
use lever_sdk::pda::{self, MarketKeys};
use lever_sdk::pyth::PriceInput;
use lever_sdk::quote;
use lever_testkit::chain::Chain;
use lever_tests::*;
use lever_vault::{Position, VaultError, VaultState};
use solana_instruction::{AccountMeta, Instruction};
use solana_program_test::processor;
use solana_signer::Signer;

// ----------------------------------------------------------------------------------------------
// the chain with both programs

/// The vault's entrypoint, adapted to `processor!` as the SDK adapts Lever's.
fn process_vault(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // SAFETY: program-test keeps the account slice alive for the whole call; Anchor's entry only
    // asks for a longer lifetime than `processor!` names.
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    lever_vault::entry(program_id, accounts, data)
}

/// The SDK's chain (Lever natively, the real token programs) plus the vault, natively too.
async fn chain() -> Chain {
    let mut pt = lever_testkit::chain::program_test();
    pt.add_program("lever_vault", lever_vault::ID, processor!(process_vault));
    Chain::start_with(pt).await.expect("chain")
}

/// The vault's addresses for one Lever market.
#[derive(Clone, Copy, Debug)]
struct Vault {
    market: Pubkey,
    state: Pubkey,
    underlying: Pubkey,
    lt: Pubkey,
}

impl Vault {
    fn of(market: Pubkey) -> Self {
        let pda = |seeds: &[&[u8]]| Pubkey::find_program_address(seeds, &lever_vault::ID).0;
        let state = pda(&[lever_vault::VAULT_SEED, market.as_ref()]);
        Self {
            market,
            state,
            underlying: pda(&[lever_vault::VAULT_UNDERLYING_SEED, state.as_ref()]),
            lt: pda(&[lever_vault::VAULT_LT_SEED, state.as_ref()]),
        }
    }

    fn position(&self, owner: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(
            &[lever_vault::POSITION_SEED, self.state.as_ref(), owner.as_ref()],
            &lever_vault::ID,
        )
        .0
    }
}

fn vault_ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: lever_vault::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn initialize_vault_ix(payer: Pubkey, keys: &MarketKeys, v: &Vault) -> Instruction {
    vault_ix(
        lever_vault::accounts::InitializeVault {
            payer,
            lever_market: keys.market,
            underlying_mint: keys.underlying_mint,
            lt_mint: keys.lt_mint,
            vault_state: v.state,
            vault_underlying: v.underlying,
            vault_lt: v.lt,
            underlying_token_program: keys.underlying_token_program,
            share_token_program: TOKEN_2022,
            system_program: anchor_lang::system_program::ID,
        },
        lever_vault::instruction::InitializeVault {},
    )
}

fn open_position_ix(owner: Pubkey, v: &Vault) -> Instruction {
    vault_ix(
        lever_vault::accounts::OpenPosition {
            owner,
            vault_state: v.state,
            position: v.position(&owner),
            system_program: anchor_lang::system_program::ID,
        },
        lever_vault::instruction::OpenPosition {},
    )
}

/// The accounts of `deposit`/`withdraw`: the vault `v`, and Lever's accounts of `keys` (usually
/// the vault's own market; the refusal tests mix them).
fn use_position(v: &Vault, keys: &MarketKeys, depositor: &User, price_update: Pubkey) -> Vec<AccountMeta> {
    lever_vault::accounts::UsePosition {
        depositor: depositor.pubkey(),
        vault_state: v.state,
        position: v.position(&depositor.pubkey()),
        depositor_underlying: depositor.underlying,
        vault_underlying: v.underlying,
        vault_lt: v.lt,
        lever_market: keys.market,
        underlying_mint: keys.underlying_mint,
        lever_vault: keys.vault,
        lt_mint: keys.lt_mint,
        price_update,
        underlying_token_program: keys.underlying_token_program,
        share_token_program: TOKEN_2022,
        lever_event_authority: pda::event_authority(),
        lever_program: lever::ID,
    }
    .to_account_metas(None)
}

fn deposit_ix(accounts: Vec<AccountMeta>, amount: u64, min_lt_out: u64) -> Instruction {
    Instruction {
        program_id: lever_vault::ID,
        accounts,
        data: lever_vault::instruction::Deposit { amount, min_lt_out }.data(),
    }
}

fn withdraw_ix(accounts: Vec<AccountMeta>, lt_amount: u64, min_units_out: u64) -> Instruction {
    Instruction {
        program_id: lever_vault::ID,
        accounts,
        data: lever_vault::instruction::Withdraw {
            lt_amount,
            min_units_out,
        }
        .data(),
    }
}

// ----------------------------------------------------------------------------------------------
// the fixture

/// A 3x market with 100 SOL of funding and a 10 SOL LT mint by alice (so the vault's mints are
/// ordinary ones, priced by the pool), a price with a 0.1% confidence (the user's end of the
/// interval differs from the mid), the vault and bob's open position; bob holds 20 SOL.
struct Fixture {
    h: Harness,
    vault: Vault,
    bob: User,
    price: PriceInput,
}

impl Fixture {
    async fn new() -> Self {
        Self::with_donation(0).await
    }

    /// [`Fixture::new`] with `donation` lamports sent first to every address the vault then
    /// creates (its state and token accounts, bob's position): anyone can, and it must not matter.
    async fn with_donation(donation: u64) -> Self {
        let mut h = Harness::on_chain(chain().await, MarketOpts::default()).await;
        let lp = h.user(sol(110.0)).await;
        h.deposit(&lp, sol(100.0)).await.expect("funding");
        let alice = h.user(sol(20.0)).await;
        h.mint_lt(&alice, sol(10.0)).await.expect("alice's mint");
        let price = PriceInput::usd(h.feed_id, 100.0, 0.001, h.chain.now());
        h.write_price(&price);

        let vault = Vault::of(h.keys.market);
        let bob = h.user(sol(20.0)).await;
        if donation > 0 {
            let position = vault.position(&bob.pubkey());
            for address in [vault.state, vault.underlying, vault.lt, position] {
                h.chain.airdrop(&address, donation).await.expect("donation");
            }
        }
        let payer = h.chain.payer_pubkey();
        h.send(&[initialize_vault_ix(payer, &h.keys, &vault)], &[])
            .await
            .expect("initialize_vault");
        h.tracked.extend([vault.underlying, vault.lt]);
        h.chain
            .airdrop(&bob.pubkey(), 1_000_000_000)
            .await
            .expect("airdrop");
        h.send(&[open_position_ix(bob.pubkey(), &vault)], &[&bob.kp])
            .await
            .expect("open_position");
        Self { h, vault, bob, price }
    }

    fn deposit(&self, amount: u64, min_lt_out: u64) -> Instruction {
        let accounts = use_position(&self.vault, &self.h.keys, &self.bob, self.h.price_account);
        deposit_ix(accounts, amount, min_lt_out)
    }

    fn withdraw(&self, lt_amount: u64, min_units_out: u64) -> Instruction {
        let accounts = use_position(&self.vault, &self.h.keys, &self.bob, self.h.price_account);
        withdraw_ix(accounts, lt_amount, min_units_out)
    }

    async fn state(&mut self) -> VaultState {
        let data = self.raw(&self.vault.state.clone()).await;
        VaultState::try_deserialize(&mut &data[..]).expect("vault state")
    }

    async fn position(&mut self) -> Position {
        let address = self.vault.position(&self.bob.pubkey());
        let data = self.raw(&address).await;
        Position::try_deserialize(&mut &data[..]).expect("position")
    }

    async fn raw(&mut self, address: &Pubkey) -> Vec<u8> {
        self.h
            .chain
            .account(address)
            .await
            .expect("account")
            .expect("exists")
            .data
    }

    /// What Lever would do with a mint of `amount` now.
    async fn quote_mint(&mut self, amount: u64, min: u64) -> quote::QuoteResult<lever::math::MintLtQuote> {
        let market = self.h.market().await;
        let vault_units = self.h.balance(&self.h.keys.vault.clone()).await;
        quote::mint_lt(
            &market,
            &self.price,
            vault_units,
            self.h.chain.clock(),
            amount,
            min,
        )
    }

    async fn quote_redeem(
        &mut self,
        shares: u64,
        min: u64,
    ) -> quote::QuoteResult<lever::math::RedeemLtQuote> {
        let market = self.h.market().await;
        let vault_units = self.h.balance(&self.h.keys.vault.clone()).await;
        quote::redeem_lt(
            &market,
            &self.price,
            vault_units,
            self.h.chain.clock(),
            shares,
            min,
        )
    }

    /// The harness's snapshot plus the vault program's own accounts.
    async fn snapshot(&mut self) -> (Snapshot, Vec<u8>, Vec<u8>) {
        let snapshot = self.h.snapshot().await;
        let state = self.raw(&self.vault.state.clone()).await;
        let position = self.raw(&self.vault.position(&self.bob.pubkey())).await;
        (snapshot, state, position)
    }

    /// Send as bob; require the custom error `code` raised by `program` and nothing changed.
    async fn expect_refused(&mut self, ix: Instruction, code: u32, program: Pubkey) -> ClusterError {
        let before = self.snapshot().await;
        let bob = self.bob.kp.insecure_clone();
        let fail = self.h.send(&[ix], &[&bob]).await.expect_err("should be refused");
        assert_eq!(
            fail.custom_code(),
            Some(code),
            "got {fail}; logs: {:#?}",
            fail.logs()
        );
        let failed = format!("Program {program} failed: custom program error: {code:#x}");
        assert!(
            fail.logs().iter().any(|l| l.contains(&failed)),
            "expected `{failed}` in the logs: {:#?}",
            fail.logs()
        );
        assert_eq!(
            before,
            self.snapshot().await,
            "a refused transaction changed state"
        );
        fail
    }

    async fn send_as_bob(&mut self, ix: Instruction) -> Landed {
        let bob = self.bob.kp.insecure_clone();
        self.h.send(&[ix], &[&bob]).await.expect("vault instruction")
    }
}

/// A market account's books, byte for byte (zero-copy, so its bytes are the account's).
fn bytes_of(market: &lever::state::Market) -> Vec<u8> {
    bytemuck::bytes_of(market).to_vec()
}

/// Anyone may send lamports to an address before it exists, and every address the vault creates
/// is known in advance. Pre-funded (below and above their rent): the vault's state and token
/// accounts, bob's position, and the pending deposit of the vault's next nonce with its LT account.
/// Each is created anyway, owned by its program, rent-exempt and keeping the donation, and the
/// vault works: an instant deposit, then a two-step one settled and claimed. (Anchor 1.2's `init`
/// would take a system instruction this runtime refuses: the vault could never open, bob never
/// hold a position, and nonce 0 would block every later two-step deposit.)
#[tokio::test]
async fn cpi_prefunded_vault_addresses_do_not_block_the_vault() {
    for donation in [1_000_000u64, 100_000_000] {
        let mut f = Fixture::with_donation(donation).await;
        let (pending, pending_lt) = f.pending(0);
        for address in [pending, pending_lt] {
            f.h.chain.airdrop(&address, donation).await.expect("donation");
        }
        let position = f.vault.position(&f.bob.pubkey());
        for (address, owner) in [
            (f.vault.state, lever_vault::ID),
            (position, lever_vault::ID),
            (f.vault.underlying, f.h.keys.underlying_token_program),
            (f.vault.lt, TOKEN_2022),
        ] {
            let account = f.h.chain.account(&address).await.expect("rpc").expect("created");
            assert_eq!(account.owner, owner, "owner of {address}");
            let rent = f.h.chain.rent(account.data.len()).await.expect("rent");
            assert!(
                account.lamports >= rent.max(donation),
                "{address}: {} lamports",
                account.lamports
            );
        }
        assert_eq!(f.position().await.owner, f.bob.pubkey());
        assert_eq!(f.state().await.lever_market, f.h.keys.market);
        // Created once: a second initialize_vault or open_position is refused and changes nothing.
        let (state_before, position_before) = (f.raw(&f.vault.state.clone()).await, f.raw(&position).await);
        let payer = f.h.chain.payer_pubkey();
        let err =
            f.h.send(&[initialize_vault_ix(payer, &f.h.keys, &f.vault)], &[])
                .await
                .expect_err("a second initialize_vault");
        assert!(format!("{err:?}").contains("already in use"), "{err:?}");
        let bob = f.bob.kp.insecure_clone();
        let err =
            f.h.send(&[open_position_ix(bob.pubkey(), &f.vault)], &[&bob])
                .await
                .expect_err("a second open_position");
        assert!(format!("{err:?}").contains("already in use"), "{err:?}");
        assert_eq!(f.raw(&f.vault.state.clone()).await, state_before);
        assert_eq!(f.raw(&position).await, position_before);

        let ix = f.deposit(sol(2.0), 1);
        f.send_as_bob(ix).await;
        assert!(f.position().await.lt > 0, "the instant deposit booked LT");
        let (ix, request) = f.request_deposit(0, sol(1.0), 1);
        f.send_as_bob(ix).await;
        f.h.requests.push(request);
        for (address, owner) in [(pending, lever_vault::ID), (pending_lt, TOKEN_2022)] {
            let account = f.h.chain.account(&address).await.expect("rpc").expect("created");
            assert_eq!(account.owner, owner, "owner of {address}");
        }
        let out = f.settle_at(&request, 100.2).await;
        assert!(out.filled);
        let lt = f.position().await.lt;
        f.send_as_bob(f.claim(0)).await;
        assert_eq!(f.position().await.lt, lt + out.amount_out);
    }
}

// ----------------------------------------------------------------------------------------------
// the CPI path

#[tokio::test]
async fn cpi_deposit_mints_through_lever() {
    let mut f = Fixture::new().await;
    let amount = sol(5.0);
    let prediction = f.quote_mint(amount, 0).await.expect("quote");
    let expected = MintLtOutcome::of(&prediction.quote, &prediction.price);
    assert!(expected.shares_out > 0);
    let bob_before = f.h.balance(&f.bob.underlying.clone()).await;
    let supply_before = f.h.chain.mint_supply(&f.h.keys.lt_mint).await.expect("supply");

    // The transaction's return data is Lever's, program id included: the vault sets none of its own.
    let payer = f.h.chain.payer().insecure_clone();
    let tx = solana_transaction::Transaction::new_signed_with_payer(
        &[f.deposit(amount, prediction.quote.shares_out)],
        Some(&payer.pubkey()),
        &[&payer, &f.bob.kp],
        f.h.chain.ctx.last_blockhash,
    );
    let sim =
        f.h.chain
            .ctx
            .banks_client
            .simulate_transaction(tx)
            .await
            .expect("simulate");
    assert!(
        sim.result.as_ref().is_some_and(|r| r.is_ok()),
        "simulation: {:?}",
        sim.result
    );
    let return_data = sim
        .simulation_details
        .and_then(|d| d.return_data)
        .expect("return data");
    assert_eq!(return_data.program_id, lever::ID);
    assert_eq!(
        MintLtOutcome::try_from_slice(&return_data.data).unwrap(),
        expected
    );

    // Minimum out = the quote exactly: it lands.
    let ok = f
        .send_as_bob(f.deposit(amount, prediction.quote.shares_out))
        .await;
    assert_eq!(decode::<MintLtOutcome>(&ok), expected);

    // The vault booked exactly the LT Lever reported, and holds exactly that.
    let position = f.position().await;
    assert_eq!(position.lt, expected.shares_out);
    assert_eq!(position.units_deposited, amount);
    assert_eq!(position.owner, f.bob.pubkey());
    let state = f.state().await;
    assert_eq!(state.total_lt, expected.shares_out);
    assert_eq!(
        (state.lever_market, state.underlying, state.lt),
        (f.vault.market, f.vault.underlying, f.vault.lt)
    );
    assert_eq!(f.h.balance(&f.vault.lt.clone()).await, expected.shares_out);
    // The units went through the vault into Lever; none stayed behind.
    assert_eq!(f.h.balance(&f.vault.underlying.clone()).await, 0);
    assert_eq!(f.h.balance(&f.bob.underlying.clone()).await, bob_before - amount);

    // Lever's books are the quote's, byte for byte, and agree with the tokens.
    let market = f.h.market().await;
    assert_eq!(bytes_of(&market), bytes_of(&prediction.market));
    let supply = f.h.chain.mint_supply(&f.h.keys.lt_mint).await.expect("supply");
    assert_eq!(supply, supply_before + expected.shares_out);
    assert_eq!(supply, market.pool().lt_supply);
    f.h.check().await; // vault == N + I + fees, supplies == books

    // A second deposit adds to the position.
    let second = f.quote_mint(sol(2.0), 0).await.expect("quote");
    let ok = f.send_as_bob(f.deposit(sol(2.0), 0)).await;
    assert_eq!(decode::<MintLtOutcome>(&ok).shares_out, second.quote.shares_out);
    let position = f.position().await;
    assert_eq!(position.lt, expected.shares_out + second.quote.shares_out);
    assert_eq!(position.units_deposited, sol(7.0));
    assert_eq!(f.state().await.total_lt, position.lt);
    assert_eq!(f.h.balance(&f.vault.lt.clone()).await, position.lt);
}

#[tokio::test]
async fn cpi_withdraw_redeems_through_lever() {
    let mut f = Fixture::new().await;
    f.send_as_bob(f.deposit(sol(5.0), 0)).await;
    let held = f.position().await.lt;
    let bob_before = f.h.balance(&f.bob.underlying.clone()).await;

    // Half, with minimum out = the quote exactly.
    let half = held / 2;
    let prediction = f.quote_redeem(half, 0).await.expect("quote");
    let expected = RedeemLtOutcome::of(&prediction.quote, &prediction.price);
    assert!(expected.units_out > 0);
    let ok = f.send_as_bob(f.withdraw(half, expected.units_out)).await;
    assert_eq!(decode::<RedeemLtOutcome>(&ok), expected);
    assert_eq!(bytes_of(&f.h.market().await), bytes_of(&prediction.market));
    let position = f.position().await;
    assert_eq!(position.lt, held - half);
    assert_eq!(position.units_withdrawn, expected.units_out);
    assert_eq!(
        f.h.balance(&f.bob.underlying.clone()).await,
        bob_before + expected.units_out
    );
    assert_eq!(f.h.balance(&f.vault.lt.clone()).await, held - half);

    // The rest: the position, the vault's LT and its books all go to zero.
    let rest = f.quote_redeem(held - half, 0).await.expect("quote");
    let ok = f.send_as_bob(f.withdraw(held - half, 0)).await;
    assert_eq!(decode::<RedeemLtOutcome>(&ok).units_out, rest.quote.units_out);
    let position = f.position().await;
    assert_eq!(position.lt, 0);
    assert_eq!(
        position.units_withdrawn,
        expected.units_out + rest.quote.units_out
    );
    assert_eq!(f.state().await.total_lt, 0);
    assert_eq!(f.h.balance(&f.vault.lt.clone()).await, 0);
    assert_eq!(f.h.balance(&f.vault.underlying.clone()).await, 0);
    assert_eq!(
        f.h.balance(&f.bob.underlying.clone()).await,
        bob_before + expected.units_out + rest.quote.units_out
    );
    // Zero fees and one price: the round trip returns at most what went in.
    assert!(position.units_withdrawn <= position.units_deposited);

    // More than the position holds is the vault's refusal, before any CPI.
    f.expect_refused(
        f.withdraw(1, 0),
        u32::from(VaultError::InsufficientPosition),
        lever_vault::ID,
    )
    .await;
}

// ----------------------------------------------------------------------------------------------
// minimum out

#[tokio::test]
async fn cpi_min_out_above_quote_is_lever_slippage() {
    let mut f = Fixture::new().await;
    let prediction = f.quote_mint(sol(5.0), 0).await.expect("quote");
    let min = prediction.quote.shares_out + 1;
    let refusal = f.quote_mint(sol(5.0), min).await.err().expect("quote refuses");
    assert!(refusal.is(LeverError::SlippageExceeded));
    f.expect_refused(
        f.deposit(sol(5.0), min),
        u32::from(LeverError::SlippageExceeded),
        lever::ID,
    )
    .await;
    // Bob's units are back (the transfer into the vault reverted with the rest).
    assert_eq!(f.h.balance(&f.bob.underlying.clone()).await, sol(20.0));
    assert_eq!(f.position().await.lt, 0);

    // The same on the way out.
    f.send_as_bob(f.deposit(sol(5.0), 0)).await;
    let held = f.position().await.lt;
    let prediction = f.quote_redeem(held, 0).await.expect("quote");
    f.expect_refused(
        f.withdraw(held, prediction.quote.units_out + 1),
        u32::from(LeverError::SlippageExceeded),
        lever::ID,
    )
    .await;
    assert_eq!(f.position().await.lt, held);
}

// ----------------------------------------------------------------------------------------------
// clean failures

#[tokio::test]
async fn cpi_paused_lever_surfaces_operation_paused() {
    let mut f = Fixture::new().await;
    f.send_as_bob(f.deposit(sol(5.0), 0)).await;
    let held = f.position().await.lt;

    let pause_mints = ix::set_pause(f.h.admin.pubkey(), f.h.keys.market, pause::MINT_LT);
    f.h.admin_send(&[pause_mints]).await.expect("pause mints");
    f.expect_refused(
        f.deposit(sol(1.0), 0),
        u32::from(LeverError::OperationPaused),
        lever::ID,
    )
    .await;
    // Redeeming is another bit: still open.
    f.send_as_bob(f.withdraw(held / 2, 0)).await;

    let pause_redeems = ix::set_pause(
        f.h.admin.pubkey(),
        f.h.keys.market,
        pause::MINT_LT | pause::REDEEM_LT,
    );
    f.h.admin_send(&[pause_redeems]).await.expect("pause redeems");
    f.expect_refused(
        f.withdraw(held - held / 2, 0),
        u32::from(LeverError::OperationPaused),
        lever::ID,
    )
    .await;
    assert_eq!(f.position().await.lt, held - held / 2);
}

#[tokio::test]
async fn cpi_wrong_market_is_refused() {
    let mut f = Fixture::new().await;
    // A second, real Lever market on the same underlying.
    let mint = f.h.keys.underlying_mint;
    let other = MarketKeys::derive(mint, 1, TOKEN);
    let admin = f.h.admin.pubkey();
    let admin_underlying =
        f.h.chain
            .create_token_account(&mint, &admin, &TOKEN)
            .await
            .expect("token account");
    f.h.fund(&admin_underlying, 100_000).await;
    let args = f.h.create_args(&MarketOpts {
        id: 1,
        ..MarketOpts::default()
    });
    let create = ix::create_market(admin, &other, admin_underlying, args);
    f.h.admin_send(&[create]).await.expect("second market");

    // The other market with all its own Lever accounts: the vault refuses, it is not its market.
    let accounts = use_position(&f.vault, &other, &f.bob, f.h.price_account);
    f.expect_refused(
        deposit_ix(accounts, sol(1.0), 0),
        u32::from(VaultError::MarketMismatch),
        lever_vault::ID,
    )
    .await;

    // The vault's market but the other market's Lever vault: Lever refuses through the CPI.
    let mixed = MarketKeys {
        vault: other.vault,
        ..f.h.keys
    };
    let accounts = use_position(&f.vault, &mixed, &f.bob, f.h.price_account);
    f.expect_refused(
        deposit_ix(accounts, sol(1.0), 0),
        u32::from(LeverError::VaultMismatch),
        lever::ID,
    )
    .await;
    let mixed = MarketKeys {
        lt_mint: other.lt_mint,
        ..f.h.keys
    };
    let accounts = use_position(&f.vault, &mixed, &f.bob, f.h.price_account);
    f.expect_refused(
        deposit_ix(accounts, sol(1.0), 0),
        u32::from(LeverError::LtMintMismatch),
        lever::ID,
    )
    .await;

    // And the right accounts still work.
    f.send_as_bob(f.deposit(sol(1.0), 0)).await;
    assert!(f.position().await.lt > 0);
}

// ----------------------------------------------------------------------------------------------
// the two-step path by CPI

impl Fixture {
    fn pending(&self, nonce: u64) -> (Pubkey, Pubkey) {
        let pending = Pubkey::find_program_address(
            &[
                lever_vault::PENDING_SEED,
                self.vault.state.as_ref(),
                &nonce.to_le_bytes(),
            ],
            &lever_vault::ID,
        )
        .0;
        let pending_lt = Pubkey::find_program_address(
            &[lever_vault::PENDING_LT_SEED, pending.as_ref()],
            &lever_vault::ID,
        )
        .0;
        (pending, pending_lt)
    }

    fn request_deposit(&self, nonce: u64, amount: u64, min_lt_out: u64) -> (Instruction, Pubkey) {
        let (pending, pending_lt) = self.pending(nonce);
        let request = pda::request(&self.h.keys.market, &self.vault.state, nonce);
        let ix = vault_ix(
            lever_vault::accounts::RequestDeposit {
                depositor: self.bob.pubkey(),
                vault_state: self.vault.state,
                position: self.vault.position(&self.bob.pubkey()),
                pending,
                pending_lt,
                depositor_underlying: self.bob.underlying,
                vault_underlying: self.vault.underlying,
                lever_market: self.h.keys.market,
                underlying_mint: self.h.keys.underlying_mint,
                lt_mint: self.h.keys.lt_mint,
                lever_request: request,
                lever_escrow: pda::escrow(&request),
                underlying_token_program: self.h.keys.underlying_token_program,
                share_token_program: TOKEN_2022,
                system_program: anchor_lang::system_program::ID,
                lever_event_authority: pda::event_authority(),
                lever_program: lever::ID,
            },
            lever_vault::instruction::RequestDeposit {
                nonce,
                amount,
                min_lt_out,
                tip_lamports: 5_000,
            },
        );
        (ix, request)
    }

    fn claim(&self, nonce: u64) -> Instruction {
        let (pending, pending_lt) = self.pending(nonce);
        vault_ix(
            lever_vault::accounts::ClaimDeposit {
                depositor: self.bob.pubkey(),
                vault_state: self.vault.state,
                position: self.vault.position(&self.bob.pubkey()),
                pending,
                pending_lt,
                lever_request: pda::request(&self.h.keys.market, &self.vault.state, nonce),
                depositor_underlying: self.bob.underlying,
                vault_underlying: self.vault.underlying,
                vault_lt: self.vault.lt,
                underlying_mint: self.h.keys.underlying_mint,
                lt_mint: self.h.keys.lt_mint,
                underlying_token_program: self.h.keys.underlying_token_program,
                share_token_program: TOKEN_2022,
            },
            lever_vault::instruction::ClaimDeposit {},
        )
    }

    /// A keeper's settlement of `request` at an update covering its target, at `usd`.
    async fn settle_at(&mut self, request: &Pubkey, usd: f64) -> lever::instructions::SettleOutcome {
        let r = self.h.request_state(request).await;
        let now = self.h.chain.now();
        self.h.advance(r.tau - now);
        let input = PriceInput {
            publish_time: r.tau,
            ..self.h.price_input(usd)
        }
        .after(r.tau - 1);
        self.h.write_price(&input);
        self.h.settle(request).await.expect("settle")
    }
}

#[tokio::test]
async fn cpi_two_step_deposit_is_owned_by_the_vault_settled_by_a_keeper_and_claimed() {
    let mut f = Fixture::new().await;
    let bob_before = f.h.balance(&f.bob.underlying.clone()).await;
    let (ix, request) = f.request_deposit(0, sol(2.0), 1);
    f.send_as_bob(ix).await;
    f.h.requests.push(request);
    let r = f.h.request_state(&request).await;
    assert_eq!(
        (r.owner, r.payer),
        (f.vault.state, f.bob.pubkey()),
        "the vault owns, bob pays"
    );
    assert_eq!(f.state().await.next_nonce, 1);
    assert_eq!(
        f.h.balance(&f.bob.underlying.clone()).await,
        bob_before - sol(2.0)
    );
    // Claiming before the settlement is refused.
    let code = VaultError::RequestStillOpen as u32 + 7000;
    f.expect_refused(f.claim(0), code, lever_vault::ID).await;
    // A nonce other than the vault's next one is refused by the vault (a replayed one finds its
    // pending account in use).
    let (again, _) = f.request_deposit(5, sol(1.0), 0);
    f.expect_refused(again, VaultError::WrongNonce as u32 + 7000, lever_vault::ID)
        .await;

    let out = f.settle_at(&request, 100.2).await;
    assert!(out.filled);
    let (_, pending_lt) = f.pending(0);
    assert_eq!(
        f.h.balance(&pending_lt).await,
        out.amount_out,
        "the LT waits in the deposit's account"
    );
    let lt_before = f.h.balance(&f.vault.lt.clone()).await;
    f.send_as_bob(f.claim(0)).await;
    assert_eq!(f.h.balance(&f.vault.lt.clone()).await, lt_before + out.amount_out);
    let position = f.position().await;
    assert_eq!(
        (position.lt, position.units_deposited),
        (out.amount_out, sol(2.0))
    );
    assert_eq!(f.state().await.total_lt, out.amount_out);
    assert!(
        f.h.chain.account(&f.pending(0).0).await.unwrap().is_none(),
        "pending closed"
    );
    // Claimed once: a second claim finds no pending deposit.
    let bob = f.bob.kp.insecure_clone();
    f.h.send(&[f.claim(0)], &[&bob])
        .await
        .expect_err("claimed already");
}

#[tokio::test]
async fn cpi_two_step_deposit_refunded_by_lever_returns_the_units_at_claim() {
    let mut f = Fixture::new().await;
    let bob_before = f.h.balance(&f.bob.underlying.clone()).await;
    // A minimum no settlement can meet: Lever refunds the units to the vault.
    let (ix, request) = f.request_deposit(0, sol(2.0), u64::MAX);
    f.send_as_bob(ix).await;
    f.h.requests.push(request);
    let out = f.settle_at(&request, 100.0).await;
    assert!(!out.filled);
    assert_eq!(out.refund_code, u32::from(LeverError::SlippageExceeded));
    f.send_as_bob(f.claim(0)).await;
    assert_eq!(
        f.h.balance(&f.bob.underlying.clone()).await,
        bob_before,
        "every unit came back"
    );
    assert_eq!(f.position().await.lt, 0);
    assert_eq!(
        f.h.balance(&f.vault.underlying.clone()).await,
        0,
        "the vault keeps nothing"
    );
}
