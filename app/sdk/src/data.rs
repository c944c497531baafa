//! Where the third-party data lives: one resolution of the data directory for the simulator, the
//! CLI and every test. The repository commits no third-party data; price series and Pyth samples
//! are read at run time from the project's shared data set (provenance in its README files).
//!
//! The directory is, in order:
//! 1. the one given explicitly (`lever sim --data DIR`),
//! 2. `$LEVER_DATA`,
//! 3. `shared/data` beside the repository root (`<root>/../shared/data`), where the root is the
//!    first ancestor holding `Anchor.toml` of the current directory, then of the running
//!    executable (so `target/*/lever` finds it from anywhere).
//!
//! Nothing is compiled in: a moved or installed binary names the places it looked.

use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable naming the data directory.
pub const DATA_ENV: &str = "LEVER_DATA";

/// Files of the shared data set, relative to the data directory.
pub mod files {
    /// Binance spot SOL/USDT, 1 hour, 2020-08 to 2026-01: `lever sim`'s default series.
    pub const SOL_USDT_1H: &str = "prices/binance_spot_SOLUSDT_1h_2020-08_2026-01.csv";
    /// Binance USDT-M perpetual WIF/USDT, 1 hour, 2024-10 to 2025-10 (a meme token).
    pub const WIF_USDT_1H: &str = "prices/perp_WIFUSDT_1h_2024-10_2025-10.csv";
    /// One real Hermes accumulator update (SOL/USD, ETH/USD, ETH/BTC), 2024-05-13.
    pub const HERMES_UPDATE: &str = "pyth/hermes_accumulator_update_2024-05-13_SOL_ETH_plus1.json";
    /// The real mainnet SOL/USD `PriceUpdateV2` account 7UVimff…jLiE (`solana account --output json`).
    pub const SOL_USD_PRICE_UPDATE_V2: &str = "pyth/marginfi_fixture_sol_usd_PriceUpdateV2_7UVimff.json";
}

/// The data directory or a file in it could not be found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// What was looked for (a file relative to the data directory, or the directory itself).
    pub wanted: String,
    /// Every place looked, with where the guess came from.
    pub looked: Vec<(PathBuf, &'static str)>,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} not found; looked in:", self.wanted)?;
        for (path, why) in &self.looked {
            write!(f, "\n  {} ({why})", path.display())?;
        }
        if self.looked.is_empty() {
            write!(
                f,
                " nowhere (no repository root above the current directory or the executable)"
            )?;
        }
        write!(
            f,
            "\nput the shared data set beside the repository (../shared/data), set {DATA_ENV}, or pass --data DIR"
        )
    }
}

impl std::error::Error for DataError {}

/// The candidate data directories, in order, each with where it came from.
fn candidates(explicit: Option<&Path>) -> Vec<(PathBuf, &'static str)> {
    if let Some(dir) = explicit {
        // An explicit choice is final: falling back would read other data than asked for.
        return vec![(dir.to_path_buf(), "given")];
    }
    if let Some(dir) = std::env::var_os(DATA_ENV).filter(|d| !d.is_empty()) {
        return vec![(PathBuf::from(dir), "$LEVER_DATA")];
    }
    let mut out = Vec::new();
    let starts = [
        (
            std::env::current_dir().ok(),
            "beside the repository of the current directory",
        ),
        (
            std::env::current_exe().ok(),
            "beside the repository of the executable",
        ),
    ];
    for (start, why) in starts {
        let Some(root) = start.as_deref().and_then(repository_root) else {
            continue;
        };
        let dir = root.join("..").join("shared").join("data");
        if !out.iter().any(|(d, _)| d == &dir) {
            out.push((dir, why));
        }
    }
    out
}

/// The first ancestor of `start` (itself included) that holds `Anchor.toml`.
fn repository_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Anchor.toml").is_file())
        .map(Path::to_path_buf)
}

/// The data directory: the first candidate that exists.
pub fn data_dir(explicit: Option<&Path>) -> Result<PathBuf, DataError> {
    let looked = candidates(explicit);
    looked
        .iter()
        .find(|(dir, _)| dir.is_dir())
        .map(|(dir, _)| dir.clone())
        .ok_or(DataError {
            wanted: "the data directory".into(),
            looked,
        })
}

/// `relative` (see [`files`]) in the data directory, which must exist as a file.
pub fn data_file(explicit: Option<&Path>, relative: &str) -> Result<PathBuf, DataError> {
    let looked: Vec<_> = candidates(explicit)
        .into_iter()
        .map(|(dir, why)| (dir.join(relative), why))
        .collect();
    looked
        .iter()
        .find(|(file, _)| file.is_file())
        .map(|(file, _)| file.clone())
        .ok_or(DataError {
            wanted: relative.into(),
            looked,
        })
}

/// The contents of `relative` in the data directory.
pub fn read_data_file(explicit: Option<&Path>, relative: &str) -> anyhow::Result<String> {
    let path = data_file(explicit, relative)?;
    std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_shared_data_beside_the_repository() {
        // cargo runs tests in the package directory, inside the repository.
        let file = data_file(None, files::SOL_USDT_1H).expect("shared data beside the repository");
        assert!(file.ends_with(files::SOL_USDT_1H));
        for f in [
            files::WIF_USDT_1H,
            files::HERMES_UPDATE,
            files::SOL_USD_PRICE_UPDATE_V2,
        ] {
            assert!(data_file(None, f).is_ok(), "{f}");
        }
    }

    #[test]
    fn an_explicit_directory_is_final_and_a_miss_names_where_it_looked() {
        let dir = std::env::temp_dir().join("lever-no-such-data-dir");
        let err = data_file(Some(&dir), files::SOL_USDT_1H).unwrap_err();
        assert_eq!(err.looked, vec![(dir.join(files::SOL_USDT_1H), "given")]);
        let text = err.to_string();
        assert!(
            text.contains(files::SOL_USDT_1H) && text.contains("lever-no-such-data-dir"),
            "{text}"
        );
        assert!(text.contains(DATA_ENV), "{text}");
        assert!(data_dir(Some(&dir)).is_err());
    }

    #[test]
    fn the_root_is_the_first_ancestor_with_anchor_toml() {
        let here = std::env::current_dir().unwrap();
        let root = repository_root(&here).expect("inside the repository");
        assert!(root.join("Anchor.toml").is_file());
        assert!(here.starts_with(&root));
        assert_eq!(repository_root(Path::new("/")), None);
    }
}
