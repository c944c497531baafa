//! Error names for the summary: Lever's own codes are read from the program's `error.rs` at compile
//! time (variant `i` is code 6000 + i), so the table follows the program as it grows.

use std::sync::OnceLock;

use lever_sdk::cluster::ClusterError;

const ERROR_RS: &str = include_str!("../../programs/lever/src/error.rs");
const LEVER_OFFSET: u32 = 6000;

fn lever_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let body = ERROR_RS
            .split_once("pub enum LeverError")
            .and_then(|(_, rest)| rest.split_once('{'))
            .map(|(_, rest)| rest.split_once("\n}").map_or(rest, |(b, _)| b))
            .unwrap_or("");
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#["))
            .filter_map(|l| {
                let ident: String = l
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                (!ident.is_empty()).then_some(ident)
            })
            .collect()
    })
}

/// The name of a custom error code: Lever's by name, token programs' and Anchor's by number.
pub fn code_name(code: u32) -> String {
    if code >= LEVER_OFFSET {
        if let Some(name) = lever_names().get((code - LEVER_OFFSET) as usize) {
            return name.clone();
        }
    }
    match code {
        1 => "Token:InsufficientFunds".to_string(),
        c if c < 100 => format!("Token({c})"),
        c => format!("Anchor({c})"),
    }
}

/// A failed transaction's error, named.
pub fn fail_name(fail: &ClusterError) -> String {
    match fail.custom_code() {
        Some(code) => code_name(code),
        None => match fail {
            ClusterError::Transaction { error, .. } => format!("{error:?}"),
            other => other.to_string(),
        },
    }
}

#[test]
fn lever_error_names_follow_the_program() {
    use lever::error::LeverError;
    for e in [
        LeverError::Unauthorized,
        LeverError::WithinBand,
        LeverError::InvalidPauseBits,
        LeverError::SlippageExceeded,
    ] {
        assert_eq!(code_name(u32::from(e)), format!("{e:?}"));
    }
}
