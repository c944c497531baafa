//! The committed IDL must be what `anchor idl build` makes of the program today, and Anchor's
//! `declare_program!` must make a client of it that agrees with the program.

use anchor_lang::prelude::*;

// A client generated from the committed `idls/lever.json` (the module shadows the `lever` crate,
// reached as `::lever`).
declare_program!(lever);

/// Builds the IDL (`cargo test __anchor_private_print_idl --features idl-build` in programs/lever,
/// a nested cargo in this target directory) and compares it with `idls/<name>.json` as JSON values.
/// Nothing is ignored: the IDL has no volatile field (no paths, times or build ids).
#[test]
fn committed_idl_is_up_to_date() {
    for (name, dir) in lever_idl::PROGRAMS {
        let idl = lever_idl::build(dir).unwrap_or_else(|e| panic!("building the IDL of {dir}: {e:#}"));
        let fresh = lever_idl::to_json(&idl).expect("serialize");
        let committed_path = lever_idl::committed_path(name);
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; generate it with `cargo run -p lever-idl`",
                committed_path.display()
            )
        });
        let committed: serde_json::Value = serde_json::from_str(&committed)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", committed_path.display()));
        let fresh_value: serde_json::Value = serde_json::from_str(&fresh).expect("fresh IDL is JSON");
        if let Some((at, was, now)) = lever_idl::first_difference(&committed, &fresh_value, "") {
            let fresh_path = lever_idl::fresh_path(name);
            let written = fresh_path
                .parent()
                .and_then(|dir| std::fs::create_dir_all(dir).ok())
                .and_then(|()| std::fs::write(&fresh_path, &fresh).ok())
                .is_some();
            panic!(
                "idls/{name}.json is out of date with {dir}: regenerate it with `cargo run -p lever-idl`.\n\
                 first difference at {at}:\n  committed: {was}\n  built:     {now}\n{}",
                if written {
                    format!("the built IDL is in {}", fresh_path.display())
                } else {
                    String::new()
                }
            );
        }
    }
}

#[test]
fn declare_program_client_agrees_with_the_program() {
    use anchor_lang::Discriminator;
    assert_eq!(lever::ID, ::lever::ID);
    assert_eq!(
        lever::client::args::MintLt::DISCRIMINATOR,
        ::lever::instruction::MintLt::DISCRIMINATOR
    );
    assert_eq!(
        lever::client::args::RedeemLt::DISCRIMINATOR,
        ::lever::instruction::RedeemLt::DISCRIMINATOR
    );
    // A client decodes Lever's return data with the IDL's type.
    let outcome = ::lever::instructions::MintLtOutcome {
        shares_out: 1,
        units_in: 2,
        fee_units: 3,
        price: u128::MAX - 4,
    };
    let mut bytes = Vec::new();
    outcome.serialize(&mut bytes).expect("serialize");
    let decoded = lever::types::MintLtOutcome::try_from_slice(&bytes).expect("decode");
    assert_eq!(
        (
            decoded.shares_out,
            decoded.units_in,
            decoded.fee_units,
            decoded.price
        ),
        (1, 2, 3, u128::MAX - 4)
    );
}
