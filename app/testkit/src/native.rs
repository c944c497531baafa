//! Natively run programs log as they do on chain.
//!
//! solana-program-test runs a native processor through `invoke_builtin_function`, which writes its
//! own `invoke`/`success` lines on top of the runtime's (every native instruction appeared twice),
//! and its `sol_invoke_signed` stub writes a third, misnumbered `invoke` line and a second
//! `success` around every CPI. `msg!` (solana-msg 3.x) prints natively to stdout instead of the
//! transaction's logs, the stubs print `sol_log_data` to stdout, and nothing writes the
//! `consumed` and `Program return:` lines the BPF loader writes. So a transaction's logs had no
//! `Program log: Instruction: ...`, no `AnchorError occurred ...`, no events and no return line,
//! and Anchor's log parsers could not follow the invoke nesting.
//!
//! [`processor!`](crate::native_processor) replaces program-test's `processor!`: it runs the same
//! `invoke_builtin_function` with the running `InvokeContext` known to this module, then removes
//! the duplicated lines and writes `consumed` and `Program return:` as the BPF loader does. The
//! syscall stubs are wrapped ([`install`]) so that `sol_log`, `sol_log_data` and
//! `sol_log_compute_units` go to the transaction's log collector and a CPI writes only the
//! runtime's lines; the workspace's patched `solana-msg` (`vendor/solana-msg`) hands `msg!` to
//! [`log`]. The result is the validator's format:
//!
//! ```text
//! Program <lever> invoke [1]
//! Program log: Instruction: MintLt
//! Program <token> invoke [2]
//! ...
//! Program <token> success
//! Program <lever> consumed 12 of 1399850 compute units
//! Program return: <lever> <base64>
//! Program <lever> success
//! ```
//!
//! Anchor 1.x's `solana_program::log::sol_log_data` (what `emit!` calls) does nothing at all
//! natively, so an `emit!` event cannot appear; Lever emits its events by self-CPI
//! (`emit_cpi!`-style), which shows as an inner instruction exactly as on chain.
//!
//! A native program's own code is not metered (program-test charges 1 unit per native call plus
//! its syscalls), so its `consumed` numbers are small; the SPL programs' are real.

use std::cell::Cell;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Once;

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use solana_instruction::Instruction;
use solana_program_runtime::stable_log;
use solana_program_test::{
    get_runtime_environment_key, invoke_builtin_function, EbpfError, EbpfVm, InvokeContext,
};
use solana_sbpf::vm::ContextObject as _;
use solana_svm_log_collector::LogCollector;
use solana_sysvar::program_stubs::{set_syscall_stubs, SyscallStubs};

/// A native processor with the signature `processor!` takes.
pub type Process = fn(&Pubkey, &[AccountInfo], &[u8]) -> ProgramResult;

thread_local! {
    /// The `InvokeContext` of the transaction whose native instruction runs on this thread (the
    /// same one for every nested instruction of the transaction), as program-test keeps it.
    static CONTEXT: Cell<Option<usize>> = const { Cell::new(None) };
    /// Native instructions (run through [`run`]) being executed on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Program-test's `processor!`, with the logs a validator writes. Use with
/// [`solana_program_test::ProgramTest::new`] or `add_program`; call [`install`] once a bank has
/// been started (the chain does).
#[macro_export]
macro_rules! native_processor {
    ($process:expr) => {
        Some(|vm, _a0, _a1, _a2, _a3, _a4| $crate::native::run(vm, $process))
    };
}

/// The body of [`native_processor!`].
#[doc(hidden)]
pub fn run<T>(vm: *mut T, process: Process) {
    // SAFETY: as program-test's `processor!`: the VM sits at this fixed offset from the pointer
    // the runtime passes to a builtin's entrypoint.
    let vm = unsafe {
        &mut *((vm as *mut u64).offset(-(get_runtime_environment_key() as isize))
            as *mut EbpfVm<InvokeContext>)
    };
    let ic: &mut InvokeContext = vm.context_object_pointer;
    let program_id = ic
        .transaction_context
        .get_current_instruction_context()
        .ok()
        .and_then(|i| i.get_program_key().ok().copied())
        .unwrap_or_default();
    let height = ic.get_stack_height();
    let budget = ic.get_remaining();
    let collector = ic.get_log_collector();
    let start = lines(&collector);
    let outer = CONTEXT.with(|c| c.replace(Some(ic as *mut InvokeContext as usize)));
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = invoke_builtin_function(process, ic);
    DEPTH.with(|d| d.set(d.get() - 1));
    CONTEXT.with(|c| c.set(outer.or(c.get())));
    let consumed = budget.saturating_sub(ic.get_remaining());
    if let Some(collector) = &collector {
        let mut c = collector.borrow_mut();
        // `invoke_builtin_function`'s own invoke line (the runtime wrote one just before) ...
        let invoke = format!("Program {program_id} invoke [{height}]");
        if c.messages.get(start).is_some_and(|l| *l == invoke) {
            c.messages.remove(start);
        }
        // ... and its success or failure line (the runtime writes its own after this returns).
        let success = format!("Program {program_id} success");
        let failed = format!("Program {program_id} failed: ");
        if c.messages
            .last()
            .is_some_and(|l| *l == success || l.starts_with(&failed))
        {
            c.messages.pop();
        }
    }
    // What the BPF loader writes after a program ran.
    log_line(
        &collector,
        &format!("Program {program_id} consumed {consumed} of {budget} compute units"),
    );
    let (return_program, return_data) = ic.transaction_context.get_return_data();
    if !return_data.is_empty() {
        stable_log::program_return(&collector, return_program, return_data);
    }
    vm.program_result = result.map_err(EbpfError::SyscallError).into();
}

fn lines(collector: &Option<Rc<RefCell<LogCollector>>>) -> usize {
    collector.as_ref().map_or(0, |c| c.borrow().messages.len())
}

fn log_line(collector: &Option<Rc<RefCell<LogCollector>>>, line: &str) {
    if let Some(c) = collector {
        c.borrow_mut().log(line);
    }
}

/// The running native instruction's log collector, `None` outside one.
fn collector() -> Option<Option<Rc<RefCell<LogCollector>>>> {
    if DEPTH.with(Cell::get) == 0 {
        return None;
    }
    let ptr = CONTEXT.with(Cell::get)?;
    // SAFETY: set by `run` for the duration of the native call on this thread; the context
    // outlives it (program-test reads it the same way from its own thread-local).
    let ic = unsafe { &*(ptr as *const InvokeContext) };
    Some(ic.get_log_collector())
}

fn with_context<R>(f: impl FnOnce(&InvokeContext) -> R) -> Option<R> {
    if DEPTH.with(Cell::get) == 0 {
        return None;
    }
    let ptr = CONTEXT.with(Cell::get)?;
    // SAFETY: as in `collector`.
    Some(f(unsafe { &*(ptr as *const InvokeContext) }))
}

/// `msg!` from a native instruction: `Program log: ...` in the transaction's logs. `false`
/// outside one (the message is then printed, as upstream does).
pub fn log(message: &str) -> bool {
    match collector() {
        Some(c) => {
            stable_log::program_log(&c, message);
            true
        }
        None => false,
    }
}

/// Wrap the installed syscall stubs (program-test's, set when its first bank starts) and set the
/// `msg!` hook. Idempotent; the chain calls it after starting a bank.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = set_syscall_stubs(Box::new(Pending));
        set_syscall_stubs(Box::new(Stubs { previous }));
        solana_msg::native::set_log_hook(log);
    });
}

/// In place for the instant between taking program-test's stubs and installing the wrapper.
struct Pending;
impl SyscallStubs for Pending {}

/// Program-test's stubs, with the logs of a native instruction going where the syscalls put them.
struct Stubs {
    previous: Box<dyn SyscallStubs>,
}

impl SyscallStubs for Stubs {
    fn sol_log(&self, message: &str) {
        if !log(message) {
            self.previous.sol_log(message)
        }
    }

    fn sol_log_compute_units(&self) {
        let logged = with_context(|ic| {
            log_line(
                &ic.get_log_collector(),
                &format!("Program consumption: {} units remaining", ic.get_remaining()),
            )
        });
        if logged.is_none() {
            self.previous.sol_log_compute_units()
        }
    }

    fn sol_remaining_compute_units(&self) -> u64 {
        with_context(|ic| ic.get_remaining()).unwrap_or_else(|| self.previous.sol_remaining_compute_units())
    }

    fn sol_log_data(&self, fields: &[&[u8]]) {
        match collector() {
            Some(c) => stable_log::program_data(&c, fields),
            None => self.previous.sol_log_data(fields),
        }
    }

    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        let Some((collector, height)) = with_context(|ic| (ic.get_log_collector(), ic.get_stack_height()))
        else {
            return self
                .previous
                .sol_invoke_signed(instruction, account_infos, signers_seeds);
        };
        let start = lines(&collector);
        let result = self
            .previous
            .sol_invoke_signed(instruction, account_infos, signers_seeds);
        if let Some(c) = &collector {
            let mut c = c.borrow_mut();
            // The stub's invoke line, at the caller's height, before the runtime's own ...
            let invoke = format!("Program {} invoke [{height}]", instruction.program_id);
            if c.messages.get(start).is_some_and(|l| *l == invoke) {
                c.messages.remove(start);
            }
            // ... and its success line after the runtime's.
            let success = format!("Program {} success", instruction.program_id);
            if result.is_ok() && c.messages.last().is_some_and(|l| *l == success) {
                c.messages.pop();
            }
        }
        result
    }

    fn sol_get_sysvar(&self, sysvar_id_addr: *const u8, var_addr: *mut u8, offset: u64, length: u64) -> u64 {
        self.previous
            .sol_get_sysvar(sysvar_id_addr, var_addr, offset, length)
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.previous.sol_get_clock_sysvar(var_addr)
    }
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.previous.sol_get_epoch_schedule_sysvar(var_addr)
    }
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.previous.sol_get_fees_sysvar(var_addr)
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.previous.sol_get_rent_sysvar(var_addr)
    }
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        self.previous.sol_get_epoch_rewards_sysvar(var_addr)
    }
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        self.previous.sol_get_last_restart_slot(var_addr)
    }
    fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64 {
        self.previous.sol_get_epoch_stake(vote_address)
    }
    unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: forwarded as received.
        unsafe { self.previous.sol_memcpy(dst, src, n) }
    }
    unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: forwarded as received.
        unsafe { self.previous.sol_memmove(dst, src, n) }
    }
    unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
        // SAFETY: forwarded as received.
        unsafe { self.previous.sol_memcmp(s1, s2, n, result) }
    }
    unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
        // SAFETY: forwarded as received.
        unsafe { self.previous.sol_memset(s, c, n) }
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        self.previous.sol_get_return_data()
    }
    fn sol_set_return_data(&self, data: &[u8]) {
        self.previous.sol_set_return_data(data)
    }
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        self.previous.sol_get_processed_sibling_instruction(index)
    }
    fn sol_get_stack_height(&self) -> u64 {
        self.previous.sol_get_stack_height()
    }
}

/// A native program every chain carries: it logs each account it is given (key, lamports, owner,
/// executable, rent epoch, data) as one `Program data:` line and changes nothing. The local node
/// appends it to a simulated transaction to read the accounts the transaction leaves
/// (`simulateTransaction` with `accounts`).
pub const INSPECTOR_ID: Pubkey = Pubkey::new_from_array(*b"lever-localnet-account-inspector");

/// The inspector's entrypoint.
pub fn inspect(_program_id: &Pubkey, accounts: &[AccountInfo], _data: &[u8]) -> ProgramResult {
    for a in accounts {
        let lamports = a.lamports().to_le_bytes();
        // An `AccountInfo` no longer carries the rent epoch: every account is rent-exempt.
        let rent_epoch = u64::MAX.to_le_bytes();
        let data = a.try_borrow_data()?;
        // Through the stubs (Anchor 1.x's own `sol_log_data` does nothing natively).
        solana_sysvar::program_stubs::sol_log_data(&[
            a.key.as_ref(),
            &lamports,
            a.owner.as_ref(),
            &[u8::from(a.executable)],
            &rent_epoch,
            &data,
        ]);
    }
    Ok(())
}

/// One inspector line back into the account (`None` for an account that does not exist).
pub fn decode_inspected(line: &str) -> Option<solana_account::Account> {
    use base64::Engine as _;
    let fields: Vec<Vec<u8>> = line
        .split(' ')
        .map(|f| base64::engine::general_purpose::STANDARD.decode(f).ok())
        .collect::<Option<_>>()?;
    let [_key, lamports, owner, executable, rent_epoch, data] = <[Vec<u8>; 6]>::try_from(fields).ok()?;
    let lamports = u64::from_le_bytes(lamports.try_into().ok()?);
    if lamports == 0 {
        return None;
    }
    Some(solana_account::Account {
        lamports,
        data,
        owner: Pubkey::new_from_array(owner.try_into().ok()?),
        executable: executable.first() == Some(&1),
        rent_epoch: u64::from_le_bytes(rent_epoch.try_into().ok()?),
    })
}
