//! Program logging: `msg!` and `sol_log`, the API of solana-msg 3.1.0, written for Lever.
//!
//! On chain (`target_os = "solana"`) a log line is the `sol_log_` syscall, as upstream. Natively,
//! upstream prints the line to stdout, so a program that solana-program-test runs as a native
//! builtin loses every `msg!` line (Anchor's `Instruction: ...`, `AnchorError occurred ...`) from
//! its transaction's logs. Here a native line is first offered to a hook ([`native::set_log_hook`]),
//! which `lever-testkit` points at the running transaction's log collector; without a hook, or
//! when the hook declines, the line is printed as before.
#![no_std]
#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// `msg!` formats with `alloc::format!`; reachable as `$crate::format`.
#[cfg(feature = "alloc")]
#[doc(hidden)]
pub use alloc::format;

/// Log a message: one `&str` expression as is, anything else through `format!` first.
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! msg {
    ($msg:expr) => {
        $crate::sol_log($msg)
    };
    ($($arg:tt)*) => {
        $crate::sol_log(&$crate::format!($($arg)*))
    };
}

/// The log syscalls a program may call on chain.
#[cfg(target_os = "solana")]
pub mod syscalls {
    pub use solana_define_syscall::definitions::{sol_log_, sol_log_64_, sol_log_compute_units_, sol_log_data};
}

/// Write `message` to the program log.
#[inline]
pub fn sol_log(message: &str) {
    #[cfg(target_os = "solana")]
    // SAFETY: the pointer and length describe `message`, alive for the whole call.
    unsafe {
        syscalls::sol_log_(message.as_ptr(), message.len() as u64);
    }
    #[cfg(all(not(target_os = "solana"), feature = "std"))]
    if !native::log(message) {
        std::println!("{message}");
    }
    #[cfg(all(not(target_os = "solana"), not(feature = "std")))]
    let _ = message;
}

/// The native log hook.
#[cfg(all(not(target_os = "solana"), feature = "std"))]
pub mod native {
    use std::sync::OnceLock;

    /// Takes a log line; returns `true` when it kept it (`false`: print it instead).
    pub type LogHook = fn(&str) -> bool;

    static HOOK: OnceLock<LogHook> = OnceLock::new();

    /// Install `hook` for the rest of the process; `false` if one was installed already.
    pub fn set_log_hook(hook: LogHook) -> bool {
        HOOK.set(hook).is_ok()
    }

    pub(crate) fn log(message: &str) -> bool {
        HOOK.get().is_some_and(|hook| hook(message))
    }
}
