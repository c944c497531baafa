//! A natively run program logs as on chain (`lever_testkit::native`), and a paced chain's
//! blockhashes live for 150 blocks (`Chain::start_paced`).

use lever_sdk::pyth::{PriceInput, SOL_USD_FEED_ID};
use lever_testkit::chain::{Chain, MAX_PROCESSING_AGE};
use lever_testkit::local::{LocalMarket, MarketSpec};
use solana_signer::Signer;

const SOL: u64 = 1_000_000_000;

#[tokio::test]
async fn native_instructions_log_like_the_bpf_loader() {
    let chain = Chain::start_paced(lever_testkit::chain::program_test())
        .await
        .expect("chain");
    let spec = MarketSpec::named(
        "SOL",
        SOL_USD_FEED_ID,
        anchor_spl::token::ID,
        9,
        lever_testkit::localnet::demo_params(),
    );
    let mut m = LocalMarket::create(chain, &spec).await.expect("market");
    let now = m.chain.now();
    m.write_price(&PriceInput::usd(SOL_USD_FEED_ID, 150.0, 0.0005, now));
    let provider = m.wallet(1_000 * SOL).await.expect("provider");
    let deposit =
        lever_sdk::ix::deposit_funding(&m.keys, &provider.ft_accounts(m.price_account), 1_000 * SOL, 0);
    m.chain.send(&[deposit], &[&provider.kp]).await.expect("deposit");
    let holder = m.wallet(10 * SOL).await.expect("holder");
    let mint = lever_sdk::ix::mint_lt(&m.keys, &holder.lt_accounts(m.price_account), SOL, 0);
    let landed = m.chain.send(&[mint], &[&holder.kp]).await.expect("mint");
    let logs = landed.logs.join("\n");
    println!("{logs}");
    let lever = lever::ID.to_string();
    assert_eq!(
        landed
            .logs
            .iter()
            .filter(|l| **l == format!("Program {lever} invoke [1]"))
            .count(),
        1,
        "{logs}"
    );
    assert!(logs.contains("Program log: Instruction: MintLt"), "{logs}");
    assert!(logs.contains(&format!("Program return: {lever} ")), "{logs}");
    assert!(logs.contains(&format!("Program {lever} consumed ")), "{logs}");
    assert!(
        !logs.contains(&format!("Program {} invoke [1]", anchor_spl::token::ID)),
        "{logs}"
    );
    // Every invoke is closed once, at its own height.
    let mut stack = Vec::new();
    for line in &landed.logs {
        let words: Vec<&str> = line.split(' ').collect();
        if words.len() == 4 && words[0] == "Program" && words[2] == "invoke" {
            stack.push(words[1].to_string());
            assert_eq!(words[3], format!("[{}]", stack.len()), "{logs}");
        } else if words.len() == 3 && words[0] == "Program" && words[2] == "success" {
            assert_eq!(stack.pop().as_deref(), Some(words[1]), "{logs}");
        }
    }
    assert!(stack.is_empty(), "{logs}");

    // A refused instruction names its error.
    let too_much = lever_sdk::ix::mint_lt(&m.keys, &holder.lt_accounts(m.price_account), SOL, u64::MAX);
    let err = m
        .chain
        .send(&[too_much], &[&holder.kp])
        .await
        .expect_err("refused");
    let logs = match err {
        lever_sdk::cluster::ClusterError::Transaction { logs, .. } => logs.join("\n"),
        other => panic!("{other}"),
    };
    println!("{logs}");
    assert!(
        logs.contains("Program log: AnchorError thrown in ")
            && logs.contains("Error Code: SlippageExceeded. Error Number: 6047."),
        "{logs}"
    );
    let _ = holder.kp.pubkey();
}

#[tokio::test]
async fn paced_blockhashes_live_150_blocks() {
    let mut chain = Chain::start_paced(lever_testkit::chain::program_test())
        .await
        .expect("chain");
    let (hash, last_valid) = chain.latest_blockhash_info().await.expect("latest");
    let start = chain.block_height().await.expect("height");
    assert_eq!(last_valid, start + MAX_PROCESSING_AGE);
    // Wall time alone registers nothing.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(chain.latest_blockhash_info().await.expect("latest").0, hash);
    for _ in 0..MAX_PROCESSING_AGE {
        chain.next_block().await.expect("block");
    }
    assert_eq!(chain.block_height().await.expect("height"), last_valid);
    assert!(chain.is_blockhash_valid(&hash).await.expect("valid"));
    let to = solana_keypair::Keypair::new().pubkey();
    let transfer = |lamports: u64| {
        let payer = chain.payer();
        let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, lamports);
        solana_transaction::Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[payer], hash)
    };
    let (first, second) = (transfer(1_000_000), transfer(1_000_001));
    let out = chain
        .ctx
        .banks_client
        .process_transaction_with_metadata(first)
        .await
        .expect("banks");
    assert_eq!(out.result, Ok(()), "accepted at its last valid height");
    chain.next_block().await.expect("block");
    let out = chain
        .ctx
        .banks_client
        .process_transaction_with_metadata(second)
        .await
        .expect("banks");
    assert_eq!(
        out.result,
        Err(solana_transaction_error::TransactionError::BlockhashNotFound)
    );
    assert!(!chain.is_blockhash_valid(&hash).await.expect("valid"));
}
