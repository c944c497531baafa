//! Lever's IDL, built exactly as `anchor idl build -p lever` (anchor-cli 1.2.2) builds it, and the
//! committed copy in `idls/` that `declare_program!(lever)` reads.
//!
//! anchor-cli's `idl build` is `anchor_lang_idl::build::IdlBuilder` run in the program's directory
//! with Anchor.toml's `[features]` (`resolution`, `skip-lint`), then `serde_json::to_string_pretty`.
//! The builder runs `cargo test __anchor_private_print_idl --features idl-build` (with
//! `RUSTFLAGS=-A warnings` and the `ANCHOR_IDL_BUILD_*` variables), collects what Anchor's generated
//! tests print (address, program, errors, events, constants), converts module paths to names,
//! sorts and verifies. This crate calls the same builder, in the same target directory.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anchor_lang_idl::build::IdlBuilder;
use anchor_lang_idl::types::Idl;
use anyhow::{bail, Context, Result};

/// The programs whose IDLs are committed: (IDL file name, program directory in the workspace).
pub const PROGRAMS: &[(&str, &str)] = &[("lever", "programs/lever")];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `idls/<name>.json`.
pub fn committed_path(name: &str) -> PathBuf {
    workspace_root().join("idls").join(format!("{name}.json"))
}

/// Where a freshly built IDL is left for comparison (where `anchor build` writes it).
pub fn fresh_path(name: &str) -> PathBuf {
    workspace_root()
        .join("target")
        .join("idl")
        .join(format!("{name}.json"))
}

/// Anchor.toml's `[features]` that change the IDL (anchor-cli's defaults when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchorFeatures {
    pub resolution: bool,
    pub skip_lint: bool,
}

pub fn anchor_features(anchor_toml: &Path) -> Result<AnchorFeatures> {
    let text = fs::read_to_string(anchor_toml).with_context(|| format!("read {}", anchor_toml.display()))?;
    let mut features = AnchorFeatures {
        resolution: true,
        skip_lint: false,
    };
    let mut in_features = false;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            in_features = line == "[features]";
            continue;
        }
        let Some((key, value)) = line.split_once('=').filter(|_| in_features) else {
            continue;
        };
        let value = match value.trim() {
            "true" => true,
            "false" => false,
            other => bail!(
                "Anchor.toml [features] {}: expected a boolean, got {other}",
                key.trim()
            ),
        };
        match key.trim() {
            "resolution" => features.resolution = value,
            "skip-lint" => features.skip_lint = value,
            _ => {}
        }
    }
    Ok(features)
}

/// Build the IDL of the program in `program_dir` (relative to the workspace root) as anchor-cli
/// does. Takes a few seconds once the `idl-build` artifacts exist, about 1.5 minutes on 2 cores
/// from a cold target directory. Not for concurrent use: it may adjust this process's environment
/// (see [`run_cargo_as_anchor_would`]).
pub fn build(program_dir: &str) -> Result<Idl> {
    let root = workspace_root();
    let features = anchor_features(&root.join("Anchor.toml"))?;
    run_cargo_as_anchor_would()?;
    IdlBuilder::new()
        .program_path(root.join(program_dir))
        .resolution(features.resolution)
        .skip_lint(features.skip_lint)
        .no_docs(false)
        // Only the library's test binary holds Anchor's print tests; anchor-cli builds every test
        // target, whose output adds nothing (the IDL is the same), so skip compiling them.
        .cargo_args(vec!["--lib".into()])
        .build()
}

/// The file anchor-cli writes (`anchor idl build -o`, `anchor build`): pretty JSON, no newline.
pub fn to_json(idl: &Idl) -> Result<String> {
    Ok(serde_json::to_string_pretty(idl)?)
}

/// anchor-lang-idl 0.1.4 runs `cargo` with the literal argument `+{toolchain}` (a missing
/// `format!`) whenever `RUSTUP_TOOLCHAIN` is set, after trying to install that toolchain; rustup
/// sets it for every process it starts, so it is set under `cargo test`/`cargo run`. Unset it and
/// keep the same toolchain by putting the running cargo's directory (`$CARGO`, set by cargo) first
/// on `PATH`: the nested `cargo`, and the `rustc` it finds, are then the ones running now.
fn run_cargo_as_anchor_would() -> Result<()> {
    if std::env::var_os("RUSTUP_TOOLCHAIN").is_none() {
        return Ok(());
    }
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let Some(cargo_dir) = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| cargo.parent().map(Path::to_path_buf))
    else {
        return Ok(());
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    let joined: OsString =
        std::env::join_paths(std::iter::once(cargo_dir).chain(std::env::split_paths(&path)))?;
    std::env::set_var("PATH", joined);
    Ok(())
}

/// Where two JSON values first differ (a JSON pointer and both sides), if they do.
pub fn first_difference(
    committed: &serde_json::Value,
    fresh: &serde_json::Value,
    at: &str,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    let brief = |v: Option<&Value>| {
        let s = v.map_or_else(|| "(absent)".to_string(), Value::to_string);
        if s.chars().count() > 200 {
            format!("{}...", s.chars().take(200).collect::<String>())
        } else {
            s
        }
    };
    match (committed, fresh) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => first_difference(x, y, &format!("{at}/{k}")),
                (x, y) => Some((format!("{at}/{k}"), brief(x), brief(y))),
            })
        }
        (Value::Array(a), Value::Array(b)) => {
            (0..a.len().max(b.len())).find_map(|i| match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) => first_difference(x, y, &format!("{at}/{i}")),
                (x, y) => Some((format!("{at}/{i}"), brief(x), brief(y))),
            })
        }
        (a, b) if a == b => None,
        (a, b) => Some((at.to_string(), brief(Some(a)), brief(Some(b)))),
    }
}
