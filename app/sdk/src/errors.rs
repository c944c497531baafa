//! Names and messages of Lever's error codes, read from the committed IDL (which `cargo test`
//! keeps equal to the program), so a client can say `PriceTooOld (6002): ...` instead of
//! "custom program error 0x1772".

use std::collections::HashMap;
use std::sync::OnceLock;

const IDL: &str = include_str!("../../../idls/lever.json");

/// One program error as the IDL lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramError {
    pub code: u32,
    pub name: String,
    pub msg: String,
}

fn table() -> &'static HashMap<u32, ProgramError> {
    static TABLE: OnceLock<HashMap<u32, ProgramError>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let idl: serde_json::Value = serde_json::from_str(IDL).unwrap_or_default();
        idl.get("errors")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(ProgramError {
                    code: u32::try_from(e.get("code")?.as_u64()?).ok()?,
                    name: e.get("name")?.as_str()?.to_string(),
                    msg: e.get("msg").and_then(|m| m.as_str()).unwrap_or("").to_string(),
                })
            })
            .map(|e| (e.code, e))
            .collect()
    })
}

/// Lever's error with this code, if it is one.
pub fn lookup(code: u32) -> Option<&'static ProgramError> {
    table().get(&code)
}

/// `Name (code): message` for Lever's errors, `custom program error N` otherwise.
pub fn describe(code: u32) -> String {
    match lookup(code) {
        Some(e) => format!("{} ({}): {}", e.name, e.code, e.msg),
        None => format!("custom program error {code}"),
    }
}

/// Every error the IDL lists, by code.
pub fn all() -> Vec<&'static ProgramError> {
    let mut v: Vec<_> = table().values().collect();
    v.sort_by_key(|e| e.code);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use lever::error::LeverError;

    #[test]
    fn idl_errors_match_the_program() {
        let all = all();
        assert!(all.len() >= 60, "{} errors", all.len());
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.code, 6000 + i as u32, "codes are dense");
        }
        let e = lookup(u32::from(LeverError::PriceTooOld)).expect("listed");
        assert_eq!(e.name, "PriceTooOld");
        assert_eq!(e.msg, LeverError::PriceTooOld.to_string());
        assert!(describe(u32::from(LeverError::WithinBand)).starts_with("WithinBand (6"));
        assert_eq!(describe(42), "custom program error 42");
    }
}
