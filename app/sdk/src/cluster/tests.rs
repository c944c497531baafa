use super::*;
use crate::accounts::{decode_clock, CLOCK_SYSVAR};
use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use base64::Engine as _;
use lever::error::LeverError;
use lever::oracle::Now;
use lever::state::Market;
use solana_instruction::error::InstructionError;
use solana_rpc_client::api::filter::Memcmp;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_transaction::{Hash, Signature, Transaction};
use solana_transaction_error::TransactionError;

#[test]
fn monikers_resolve_to_the_standard_urls() {
    assert_eq!(resolve_url("mainnet-beta"), "https://api.mainnet-beta.solana.com");
    assert_eq!(resolve_url("devnet"), "https://api.devnet.solana.com");
    assert_eq!(resolve_url("testnet"), "https://api.testnet.solana.com");
    assert_eq!(resolve_url("localhost"), "http://localhost:8899");
    assert_eq!(
        resolve_url("https://rpc.example:8899"),
        "https://rpc.example:8899"
    );
    assert_eq!(RpcCluster::new("devnet").url(), "https://api.devnet.solana.com");
}

#[test]
fn clock_sysvar_layout() {
    let mut data = Vec::new();
    for v in [77u64, 1, 2, 3] {
        data.extend_from_slice(&v.to_le_bytes());
    }
    data.extend_from_slice(&1_735_689_600i64.to_le_bytes());
    assert_eq!(
        decode_clock(&data),
        Some(Now {
            slot: 77,
            unix_timestamp: 1_735_689_600
        })
    );
    assert_eq!(decode_clock(&data[..39]), None);
}

#[test]
fn custom_codes_and_expiry() {
    let e = ClusterError::Transaction {
        error: TransactionError::InstructionError(2, InstructionError::Custom(6038)),
        logs: vec![],
        signature: None,
    };
    assert_eq!(e.custom_code(), Some(6038));
    assert!(e.is(LeverError::WithinBand));
    assert!(!e.is_blockhash_expired());
    assert!(ClusterError::Expired {
        signature: Signature::default()
    }
    .is_blockhash_expired());
}

// RpcCluster against solana-rpc-client's mock sender: canned JSON answers, so these check the
// decoding of each answer, not the requests a real node would see.

fn account_json(owner: &Pubkey, data: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "lamports": 1_000_000,
        "data": [base64::engine::general_purpose::STANDARD.encode(data), "base64"],
        "owner": owner.to_string(),
        "executable": false,
        "rentEpoch": 0,
        "space": data.len(),
    })
}

fn signed_tx() -> Transaction {
    use solana_signer::Signer as _;
    let payer = solana_keypair::Keypair::new();
    let ix = crate::ix::rebalance(payer.pubkey(), Pubkey::new_unique(), Pubkey::new_unique());
    Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[&payer], Hash::default())
}

#[tokio::test]
async fn rpc_answers_decode() {
    use solana_rpc_client::api::request::RpcRequest;
    use solana_rpc_client::api::response::RpcSimulateTransactionResult;

    let mut market: Market = bytemuck::Zeroable::zeroed();
    market.version = lever::constants::MARKET_VERSION;
    market.params.target_leverage_ppm = 3_000_000;
    let mut data = Market::DISCRIMINATOR.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(&market));
    let key = Pubkey::new_unique();
    let mut clock = Vec::new();
    for v in [42u64, 0, 0, 0, 1_735_689_600] {
        clock.extend_from_slice(&v.to_le_bytes());
    }
    let simulation = RpcSimulateTransactionResult {
        err: Some(TransactionError::InstructionError(2, InstructionError::Custom(6038)).into()),
        logs: Some(vec!["Program log: WithinBand".into()]),
        accounts: None,
        units_consumed: Some(1234),
        loaded_accounts_data_size: None,
        return_data: None,
        inner_instructions: None,
        replacement_blockhash: None,
        fee: None,
        pre_balances: None,
        post_balances: None,
        pre_token_balances: None,
        post_token_balances: None,
        loaded_addresses: None,
    };
    let mocks = [
        (
            RpcRequest::GetProgramAccounts,
            serde_json::json!([
                {"pubkey": key.to_string(), "account": account_json(&lever::ID, &data)},
                // Same size, another owner: not a market.
                {"pubkey": Pubkey::new_unique().to_string(), "account": account_json(&Pubkey::new_unique(), &data)},
            ]),
        ),
        (
            RpcRequest::GetAccountInfo,
            serde_json::json!({"context": {"slot": 42}, "value": account_json(&CLOCK_SYSVAR, &clock)}),
        ),
        (
            RpcRequest::SimulateTransaction,
            serde_json::json!({"context": {"slot": 42}, "value": simulation}),
        ),
    ]
    .into_iter()
    .collect();
    let rpc = RpcCluster::from_client(RpcClient::new_mock_with_mocks("succeeds".into(), mocks));
    let markets = rpc.markets().await.expect("markets");
    assert_eq!(markets.len(), 1);
    assert_eq!(markets[0].0, key);
    assert_eq!(markets[0].1.params.target_leverage_ppm, 3_000_000);
    assert_eq!(
        rpc.clock().await.expect("clock"),
        Now {
            slot: 42,
            unix_timestamp: 1_735_689_600
        }
    );
    let sim = rpc.simulate(&signed_tx()).await.expect("simulate");
    assert_eq!(sim.custom_code(), Some(6038));
    assert_eq!(sim.units_consumed, Some(1234));
    assert_eq!(sim.logs, ["Program log: WithinBand"]);
}

#[tokio::test]
async fn rpc_events_decode_from_inner_instructions() {
    use anchor_lang::Event as _;
    use solana_rpc_client::api::request::RpcRequest;

    let tx = signed_tx();
    let keys = &tx.message.account_keys;
    let lever_index = keys.iter().position(|k| *k == lever::ID).expect("lever in keys");
    let event = lever::events::LtMinted {
        market: Pubkey::new_unique(),
        user: keys[0],
        units_in: 1_000_000_000,
        fee_units: 3_000,
        shares_out: 999_997_000,
        from_idle: 2_000_000_000,
        debt_added: 200_000_000_000_000_000_000,
        price: 100_000_000_000_000_000_000,
        pool: lever::events::PoolSnapshot {
            exposure: 3_000_000_000,
            debt: 200_000_000_000_000_000_000,
            idle: 8_000_000_000,
            fee_units: 3_000,
            lt_supply: 999_997_000,
            ft_supply: 10_000_000_000,
        },
    };
    let mut data = anchor_lang::event::EVENT_IX_TAG_LE.to_vec();
    data.extend(event.data());
    let mut unknown = data.clone();
    unknown[8] ^= 0xff;
    let base58 = |bytes: &[u8]| {
        serde_json::to_value(Memcmp::new_base58_encoded(0, bytes)).expect("memcmp")["bytes"]
            .as_str()
            .expect("base58")
            .to_owned()
    };
    let inner = |index: usize, data: &[u8]| {
        serde_json::json!({
            "programIdIndex": index,
            "accounts": [],
            "data": base58(data),
            "stackHeight": 2,
        })
    };
    // The event, then the same bytes from another program, an unknown Lever event and an
    // index past the keys: only the first is Lever's.
    let inner_instructions = serde_json::json!([{"index": 0, "instructions": [
        inner(lever_index, &data),
        inner(0, &data),
        inner(lever_index, &unknown),
        inner(keys.len(), &data),
    ]}]);
    // The legacy wire format: signature count (one byte below 128), signatures, message.
    let mut wire = vec![u8::try_from(tx.signatures.len()).expect("few signatures")];
    for signature in &tx.signatures {
        wire.extend_from_slice(signature.as_ref());
    }
    wire.extend(tx.message_data());
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let get_transaction = serde_json::json!({
        "slot": 5,
        "blockTime": null,
        "version": "legacy",
        "transaction": [b64(&wire), "base64"],
        "meta": {
            "err": null,
            "status": {"Ok": null},
            "fee": 5000,
            "preBalances": [],
            "postBalances": [],
            "innerInstructions": inner_instructions,
            "logMessages": ["Program log: minted"],
            "loadedAddresses": {"writable": [], "readonly": []},
            "returnData": {"programId": lever::ID.to_string(), "data": [b64(&[7, 8]), "base64"]},
        },
    });
    let simulation = serde_json::json!({
        "context": {"slot": 5},
        "value": {"err": null, "logs": [], "accounts": null, "unitsConsumed": 10,
                  "returnData": null, "innerInstructions": inner_instructions},
    });
    let mocks = [
        (RpcRequest::GetTransaction, get_transaction),
        (RpcRequest::SimulateTransaction, simulation),
    ]
    .into_iter()
    .collect();
    let rpc = RpcCluster::from_client(RpcClient::new_mock_with_mocks("succeeds".into(), mocks));

    let expected = crate::events::LeverEvent::from(event);
    let landed = rpc.send_and_confirm(&tx).await.expect("landed");
    assert_eq!(landed.logs, ["Program log: minted"]);
    assert_eq!(landed.return_data, Some(vec![7, 8]));
    assert_eq!(landed.events, std::slice::from_ref(&expected));
    let got = crate::events::find::<lever::events::LtMinted>(&landed.events).expect("LtMinted");
    assert_eq!(got.units_in, 1_000_000_000);
    assert_eq!(got.shares_out, 999_997_000);
    assert_eq!(got.user, keys[0]);
    assert_eq!(got.pool.debt, 200_000_000_000_000_000_000);

    let sim = rpc.simulate(&tx).await.expect("simulate");
    assert_eq!(sim.error, None);
    assert_eq!(sim.events, [expected]);
}

#[tokio::test]
async fn rpc_send_and_confirm_maps_the_status() {
    let tx = signed_tx();
    let ok = RpcCluster::from_client(RpcClient::new_mock("succeeds".into()));
    let landed = ok.send_and_confirm(&tx).await.expect("landed");
    assert_eq!(landed.signature, tx.signatures[0]);
    // The mock answers getTransaction in JSON and with no inner instructions: no events.
    assert!(landed.events.is_empty());
    let refused = RpcCluster::from_client(RpcClient::new_mock("instruction_error".into()));
    match refused.send_and_confirm(&tx).await {
        Err(ClusterError::Transaction {
            error: TransactionError::InstructionError(0, InstructionError::UninitializedAccount),
            signature,
            ..
        }) => assert_eq!(signature, Some(tx.signatures[0])),
        other => panic!("expected the status' error, got {other:?}"),
    }
}
