//! `lever localnet` behaves like `solana-test-validator` for the clients wallets use, checked at
//! the JSON-RPC level on the node serving the demo chain: blockhashes live 150 blocks of 400 ms
//! and `isBlockhashValid` says what `sendTransaction` accepts, the block height advances, the
//! pubsub websocket (RPC port + 1) notifies, the program's logs are the validator's, the token
//! and history methods answer in the validator's shapes, `jsonParsed` decodes mints (Token-2022
//! metadata included), token accounts and transactions, v0 transactions land, a browser's CORS
//! preflight is answered, and the price and clock move on request.

use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use futures_util::{SinkExt as _, StreamExt as _};
use lever_sdk::cluster::RpcCluster;
use lever_sdk::ops::{self, Flow, SendOptions};
use lever_testkit::localnet::{Demo, Localnet, DEMO_USER_UNITS};
use serde_json::{json, Value};
use solana_rpc_client::api::request::RpcRequest;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::{Hash, Transaction};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::Message;

const SOL: u64 = 1_000_000_000;

async fn node() -> (Localnet, Demo, RpcClient) {
    let (net, demo) = Localnet::demo("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("demo node");
    let client = RpcClient::new(net.url());
    (net, demo, client)
}

/// One JSON-RPC call: the result, or the error object.
async fn call(client: &RpcClient, method: &'static str, params: Value) -> Result<Value, String> {
    client
        .send::<Value>(RpcRequest::Custom { method }, params)
        .await
        .map_err(|e| e.to_string())
}

async fn ok(client: &RpcClient, method: &'static str, params: Value) -> Value {
    call(client, method, params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn send_raw(client: &RpcClient, wire: &[u8]) -> Result<Value, String> {
    call(
        client,
        "sendTransaction",
        json!([b64(wire), {"encoding": "base64"}]),
    )
    .await
}

async fn blockhash(client: &RpcClient) -> (Hash, u64) {
    let v = ok(client, "getLatestBlockhash", json!([])).await;
    (
        v["value"]["blockhash"]
            .as_str()
            .expect("hash")
            .parse()
            .expect("hash"),
        v["value"]["lastValidBlockHeight"].as_u64().expect("height"),
    )
}

fn transfer(from: &solana_keypair::Keypair, to: &Pubkey, lamports: u64, hash: Hash) -> Transaction {
    let ix = solana_system_interface::instruction::transfer(&from.pubkey(), to, lamports);
    Transaction::new_signed_with_payer(&[ix], Some(&from.pubkey()), &[from], hash)
}

/// The demo user's instant mint of `units`, signed on the latest blockhash.
async fn mint_tx(net: &Localnet, demo: &Demo, client: &RpcClient, units: u64) -> Transaction {
    let rpc = RpcCluster::new(&net.url());
    let prepared = ops::prepare(
        &rpc,
        demo.user.pubkey(),
        demo.market,
        Flow::Mint,
        units,
        SendOptions {
            instant: true,
            ..SendOptions::default()
        },
    )
    .await
    .expect("prepare");
    let (hash, _) = blockhash(client).await;
    Transaction::new_signed_with_payer(
        &prepared.instructions,
        Some(&demo.user.pubkey()),
        &[&demo.user],
        hash,
    )
}

#[tokio::test]
async fn blockhashes_live_like_a_validators_and_block_height_advances() {
    let (net, demo, client) = node().await;
    let (hash, last_valid) = blockhash(&client).await;
    let height = ok(&client, "getBlockHeight", json!([]))
        .await
        .as_u64()
        .expect("height");
    assert_eq!(last_valid, height + 150, "valid for 150 blocks");
    // Signed now, sent after more than 5 s of wall time (a wallet's approval, web3.js's cache).
    let to = Pubkey::new_unique();
    let held = transfer(&demo.user, &to, 1_000_000, hash);
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let later = ok(&client, "getBlockHeight", json!([]))
        .await
        .as_u64()
        .expect("height");
    assert!(later >= height + 10, "one block per 400 ms: {height} -> {later}");
    assert!(later < last_valid);
    let valid = ok(&client, "isBlockhashValid", json!([hash.to_string()])).await;
    assert_eq!(valid["value"], json!(true));
    let sent = send_raw(&client, &lever_testkit::localnet::encode_transaction(&held)).await;
    assert_eq!(sent, Ok(json!(held.signatures[0].to_string())));
    assert_eq!(client.get_balance(&to).await.expect("balance"), 1_000_000);
    // getEpochInfo carries the same height (kit's confirmation reads it).
    let info = ok(&client, "getEpochInfo", json!([])).await;
    assert!(info["blockHeight"].as_u64().expect("height") >= later);
    for key in [
        "absoluteSlot",
        "epoch",
        "slotIndex",
        "slotsInEpoch",
        "transactionCount",
    ] {
        assert!(info[key].is_u64(), "{key}: {info}");
    }
    // After 150 more blocks the hash is refused, and isBlockhashValid says so first.
    while ok(&client, "getBlockHeight", json!([]))
        .await
        .as_u64()
        .expect("height")
        <= last_valid
    {
        net.next_block().await.expect("block");
    }
    let valid = ok(&client, "isBlockhashValid", json!([hash.to_string()])).await;
    assert_eq!(valid["value"], json!(false));
    let late = transfer(&demo.user, &to, 1_000_001, hash);
    let err = send_raw(&client, &lever_testkit::localnet::encode_transaction(&late))
        .await
        .expect_err("expired");
    assert!(
        err.contains("Blockhash not found") || err.contains("BlockhashNotFound"),
        "{err}"
    );
    net.stop().await.expect("stop");
}

#[tokio::test]
async fn websocket_notifies_signatures_accounts_and_slots() {
    let (net, demo, client) = node().await;
    let ws_url = net.ws_url().expect("websocket");
    assert_eq!(
        ws_url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()),
        net.addr().port().checked_add(1),
        "RPC port + 1"
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.expect("connect");
    let to = Pubkey::new_unique();
    let (hash, _) = blockhash(&client).await;
    let tx = transfer(&demo.user, &to, 2_000_000, hash);
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "slotSubscribe"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "signatureSubscribe",
               "params": [tx.signatures[0].to_string(), {"commitment": "confirmed"}]}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "accountSubscribe",
               "params": [to.to_string(), {"encoding": "base64", "commitment": "confirmed"}]}),
    ];
    for r in &requests {
        ws.send(Message::Text(r.to_string().into())).await.expect("send");
    }
    let mut ids = std::collections::HashMap::new();
    let mut seen: std::collections::HashMap<String, Value> = Default::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sent = false;
    while seen.len() < 3 {
        assert!(Instant::now() < deadline, "notifications so far: {seen:?}");
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message")
            .expect("open")
            .expect("frame");
        let Message::Text(text) = message else { continue };
        let v: Value = serde_json::from_str(&text).expect("json");
        if let Some(id) = v.get("id").and_then(Value::as_u64) {
            ids.insert(id, v["result"].as_u64().expect("subscription id"));
            if ids.len() == 3 && !sent {
                sent = true;
                send_raw(&client, &lever_testkit::localnet::encode_transaction(&tx))
                    .await
                    .expect("send");
            }
            continue;
        }
        let method = v["method"].as_str().expect("notification").to_string();
        seen.entry(method).or_insert(v);
    }
    let slot = &seen["slotNotification"]["params"];
    assert_eq!(slot["subscription"].as_u64(), ids.get(&1).copied());
    assert!(
        slot["result"]["slot"].as_u64().expect("slot") > slot["result"]["parent"].as_u64().expect("parent")
    );
    let signature = &seen["signatureNotification"]["params"];
    assert_eq!(signature["subscription"].as_u64(), ids.get(&2).copied());
    assert_eq!(signature["result"]["value"], json!({"err": null}));
    assert!(signature["result"]["context"]["slot"].is_u64());
    let account = &seen["accountNotification"]["params"];
    assert_eq!(account["subscription"].as_u64(), ids.get(&3).copied());
    assert_eq!(account["result"]["value"]["lamports"], json!(2_000_000));
    // Unsubscribing answers true.
    let unsub = json!({"jsonrpc": "2.0", "id": 9, "method": "slotUnsubscribe", "params": [ids[&1]]});
    ws.send(Message::Text(unsub.to_string().into()))
        .await
        .expect("send");
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("closed")
        };
        let v: Value = serde_json::from_str(&text).expect("json");
        if v.get("id") == Some(&json!(9)) {
            assert_eq!(v["result"], json!(true));
            break;
        }
    }
    net.stop().await.expect("stop");
}

#[tokio::test]
async fn logs_carry_instructions_return_data_and_named_errors() {
    let (net, demo, client) = node().await;
    let mint = mint_tx(&net, &demo, &client, 2 * SOL).await;
    let sig = client
        .send_and_confirm_transaction(&mint)
        .await
        .expect("mint lands");
    let tx = ok(
        &client,
        "getTransaction",
        json!([sig.to_string(), {"encoding": "json"}]),
    )
    .await;
    let logs: Vec<String> = serde_json::from_value(tx["meta"]["logMessages"].clone()).expect("logs");
    let lever = lever::ID.to_string();
    assert!(
        logs.iter().any(|l| l == "Program log: Instruction: MintLt"),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.starts_with(&format!("Program return: {lever} "))),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.starts_with(&format!("Program {lever} consumed "))),
        "{logs:#?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| **l == format!("Program {lever} invoke [1]"))
            .count(),
        1,
        "{logs:#?}"
    );
    // Token balances in the meta: the user's new LT.
    let post = tx["meta"]["postTokenBalances"]
        .as_array()
        .expect("postTokenBalances");
    assert!(
        post.iter()
            .any(|b| b["mint"] == json!(demo.keys.lt_mint.to_string())
                && b["owner"] == json!(demo.user.pubkey().to_string())),
        "{post:?}"
    );
    assert!(tx["meta"]["preTokenBalances"].is_array());

    // A refused instruction (a rebalance within band) names its error in the simulation logs.
    let (hash, _) = blockhash(&client).await;
    let within = Transaction::new_signed_with_payer(
        &[lever_sdk::ix::rebalance(
            demo.user.pubkey(),
            demo.market,
            demo.price_account,
        )],
        Some(&demo.user.pubkey()),
        &[&demo.user],
        hash,
    );
    let wire = lever_testkit::localnet::encode_transaction(&within);
    let sim = ok(
        &client,
        "simulateTransaction",
        json!([b64(&wire), {"encoding": "base64"}]),
    )
    .await;
    let logs: Vec<String> = serde_json::from_value(sim["value"]["logs"].clone()).expect("logs");
    assert!(
        logs.iter()
            .any(|l| l.starts_with("Program log: AnchorError") && l.contains("Error Code: WithinBand")),
        "{logs:#?}"
    );
    assert!(logs
        .iter()
        .any(|l| l.starts_with(&format!("Program {lever} failed: custom program error"))));
    net.stop().await.expect("stop");
}

#[tokio::test]
async fn token_history_and_parsed_methods_answer_in_the_validators_shapes() {
    let (net, demo, client) = node().await;
    let user = demo.user.pubkey().to_string();
    assert!(ok(&client, "getVersion", json!([])).await["feature-set"].is_u64());

    // The user's token accounts, parsed.
    let accounts = ok(
        &client,
        "getTokenAccountsByOwner",
        json!([user, {"mint": demo.keys.underlying_mint.to_string()}, {"encoding": "jsonParsed"}]),
    )
    .await;
    let list = accounts["value"].as_array().expect("list");
    assert_eq!(list.len(), 1, "{accounts}");
    assert_eq!(list[0]["pubkey"], json!(demo.user_underlying.to_string()));
    let info = &list[0]["account"]["data"]["parsed"]["info"];
    assert_eq!(info["tokenAmount"]["amount"], json!(DEMO_USER_UNITS.to_string()));
    assert_eq!(info["tokenAmount"]["decimals"], json!(9));
    assert_eq!(list[0]["account"]["data"]["program"], json!("spl-token"));
    let by_program = ok(
        &client,
        "getTokenAccountsByOwner",
        json!([user, {"programId": anchor_spl::token::ID.to_string()}, {"encoding": "base64"}]),
    )
    .await;
    assert_eq!(by_program["value"].as_array().expect("list").len(), 1);
    assert!(call(
        &client,
        "getTokenAccountsByOwner",
        json!([user, {"programId": lever::ID.to_string()}])
    )
    .await
    .is_err());

    let balance = ok(
        &client,
        "getTokenAccountBalance",
        json!([demo.user_underlying.to_string()]),
    )
    .await;
    assert_eq!(balance["value"]["amount"], json!(DEMO_USER_UNITS.to_string()));
    assert_eq!(balance["value"]["uiAmount"], json!(100.0));
    assert_eq!(balance["value"]["uiAmountString"], json!("100"));
    let supply = ok(&client, "getTokenSupply", json!([demo.keys.lt_mint.to_string()])).await;
    assert!(
        supply["value"]["amount"]
            .as_str()
            .expect("amount")
            .parse::<u64>()
            .expect("u64")
            > 0
    );

    // The LT mint, parsed: Token-2022 with its metadata.
    let lt = ok(
        &client,
        "getAccountInfo",
        json!([demo.keys.lt_mint.to_string(), {"encoding": "jsonParsed"}]),
    )
    .await;
    let data = &lt["value"]["data"];
    assert_eq!(data["program"], json!("spl-token-2022"), "{lt}");
    assert_eq!(data["parsed"]["type"], json!("mint"));
    let extensions = data["parsed"]["info"]["extensions"]
        .as_array()
        .expect("extensions");
    let metadata = extensions
        .iter()
        .find(|e| e["extension"] == json!("tokenMetadata"))
        .unwrap_or_else(|| panic!("{extensions:?}"));
    assert_eq!(metadata["state"]["name"], json!("SOL 3x Long"));
    assert_eq!(metadata["state"]["symbol"], json!("SOL3X"));

    // History: a mint, then its signature, block and fees.
    let mint = mint_tx(&net, &demo, &client, SOL).await;
    let sig = client
        .send_and_confirm_transaction(&mint)
        .await
        .expect("mint lands");
    let signatures = ok(&client, "getSignaturesForAddress", json!([user, {"limit": 10}])).await;
    let first = &signatures.as_array().expect("list")[0];
    assert_eq!(first["signature"], json!(sig.to_string()));
    assert_eq!(first["err"], Value::Null);
    assert_eq!(first["confirmationStatus"], json!("finalized"));
    let slot = first["slot"].as_u64().expect("slot");
    let block = ok(
        &client,
        "getBlock",
        json!([slot, {"encoding": "json", "maxSupportedTransactionVersion": 0, "transactionDetails": "signatures"}]),
    )
    .await;
    assert_eq!(block["signatures"], json!([sig.to_string()]));
    for key in [
        "blockhash",
        "previousBlockhash",
        "parentSlot",
        "blockHeight",
        "blockTime",
    ] {
        assert!(!block[key].is_null(), "{key}: {block}");
    }
    let full = ok(
        &client,
        "getBlock",
        json!([slot, {"maxSupportedTransactionVersion": 0}]),
    )
    .await;
    assert_eq!(
        full["transactions"][0]["transaction"]["signatures"][0],
        json!(sig.to_string())
    );
    let fees = ok(&client, "getRecentPrioritizationFees", json!([[user]])).await;
    let fees = fees.as_array().expect("list");
    assert!(
        !fees.is_empty()
            && fees
                .iter()
                .all(|f| f["slot"].is_u64() && f["prioritizationFee"].is_u64())
    );

    // The same transaction, jsonParsed (what getParsedTransaction asks for).
    let parsed = ok(
        &client,
        "getTransaction",
        json!([sig.to_string(), {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}]),
    )
    .await;
    let keys = parsed["transaction"]["message"]["accountKeys"]
        .as_array()
        .expect("keys");
    assert_eq!(
        keys[0],
        json!({"pubkey": user, "signer": true, "writable": true, "source": "transaction"})
    );
    let ixs = parsed["transaction"]["message"]["instructions"]
        .as_array()
        .expect("instructions");
    assert!(ixs
        .iter()
        .any(|i| i["programId"] == json!(lever::ID.to_string()) && i["data"].is_string()));
    assert_eq!(parsed["version"], json!("legacy"));

    // Simulation with `accounts`: the state the transaction would leave.
    let to = Pubkey::new_unique();
    let (hash, _) = blockhash(&client).await;
    let pay = transfer(&demo.user, &to, 3_000_000, hash);
    let wire = lever_testkit::localnet::encode_transaction(&pay);
    let sim = ok(
        &client,
        "simulateTransaction",
        json!([b64(&wire), {"encoding": "base64",
            "accounts": {"encoding": "base64", "addresses": [to.to_string(), user]}}]),
    )
    .await;
    let after = sim["value"]["accounts"].as_array().expect("accounts");
    assert_eq!(after[0]["lamports"], json!(3_000_000));
    let before = client.get_balance(&demo.user.pubkey()).await.expect("balance");
    assert_eq!(after[1]["lamports"], json!(before - 3_000_000 - 5_000));
    assert_eq!(client.get_balance(&to).await.expect("balance"), 0, "nothing sent");
    // The Config account is listed beside the market.
    let program_accounts = ok(&client, "getProgramAccounts", json!([lever::ID.to_string()])).await;
    let listed: Vec<&str> = program_accounts
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["pubkey"].as_str())
        .collect();
    assert!(
        listed.contains(&lever_sdk::pda::config().to_string().as_str()),
        "{listed:?}"
    );
    net.stop().await.expect("stop");
}

#[tokio::test]
async fn v0_transactions_land() {
    let (net, demo, client) = node().await;
    let to = Pubkey::new_unique();
    let (hash, _) = blockhash(&client).await;
    let ix = solana_system_interface::instruction::transfer(&demo.user.pubkey(), &to, 4_000_000);
    let message =
        solana_message::v0::Message::try_compile(&demo.user.pubkey(), &[ix], &[], hash).expect("compile");
    let tx = solana_transaction::versioned::VersionedTransaction::try_new(
        solana_message::VersionedMessage::V0(message),
        &[&demo.user],
    )
    .expect("sign");
    let wire = lever_testkit::localnet::encode_versioned(&tx);
    assert_eq!(wire[1 + 64], 0x80, "a v0 message");
    let sig = send_raw(&client, &wire).await.expect("accepted");
    assert_eq!(sig, json!(tx.signatures[0].to_string()));
    assert_eq!(client.get_balance(&to).await.expect("balance"), 4_000_000);
    let got = ok(
        &client,
        "getTransaction",
        json!([tx.signatures[0].to_string(), {"encoding": "base64", "maxSupportedTransactionVersion": 0}]),
    )
    .await;
    assert_eq!(got["version"], json!(0));
    assert!(call(
        &client,
        "getTransaction",
        json!([tx.signatures[0].to_string(), {"encoding": "json"}])
    )
    .await
    .expect_err("no maxSupportedTransactionVersion")
    .contains("maxSupportedTransactionVersion"));
    net.stop().await.expect("stop");
}

#[tokio::test]
async fn cors_preflight_is_answered() {
    let (net, _demo, _client) = node().await;
    let mut stream = tokio::net::TcpStream::connect(net.addr()).await.expect("connect");
    stream
        .write_all(
            b"OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:3000\r\n\
              Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, solana-client\r\n\
              Connection: close\r\n\r\n",
        )
        .await
        .expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    let lower = out.to_ascii_lowercase();
    assert!(out.starts_with("HTTP/1.1 204"), "{out}");
    assert!(lower.contains("access-control-allow-origin: *"), "{out}");
    assert!(lower.contains("access-control-allow-methods: post"), "{out}");
    assert!(
        lower.contains("access-control-allow-headers: content-type, solana-client"),
        "{out}"
    );
    net.stop().await.expect("stop");
}

#[tokio::test]
async fn price_and_clock_move_on_request() {
    let (net, demo, client) = node().await;
    let before = net.clock().await;
    let moved = ok(&client, "lever_advanceClock", json!([30])).await;
    assert_eq!(moved["unixTimestamp"], json!(before.unix_timestamp + 30));
    assert_eq!(net.clock().await.unix_timestamp, before.unix_timestamp + 30);
    let set = ok(&client, "lever_setPrice", json!([140.5])).await;
    assert_eq!(set["account"], json!(demo.price_account.to_string()));
    assert_eq!(set["publishTime"], json!(before.unix_timestamp + 30));
    let account = net
        .cluster()
        .chain()
        .await
        .account(&demo.price_account)
        .await
        .expect("read")
        .expect("price");
    let decoded = lever_sdk::pyth::decode_price_update(&account.data).expect("a price update");
    assert_eq!(decoded.price_message.publish_time, before.unix_timestamp + 30);
    assert_eq!(decoded.price_message.price, set["price"].as_i64().expect("price"));
    assert!(call(&client, "lever_advanceClock", json!([-1])).await.is_err());
    net.stop().await.expect("stop");
}
