//! The full (encoded-VAA) post: instruction layouts and the transaction plan, on the real update.

use super::tests::{parsed, sha256};
use super::*;
use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use pyth_solana_receiver_sdk::PostUpdateParams;

fn accounts() -> FullPostAccounts {
    FullPostAccounts {
        payer: Pubkey::new_unique(),
        encoded_vaa: Pubkey::new_unique(),
        price_update_account: Pubkey::new_unique(),
        wormhole: WORMHOLE_PROGRAM_ID,
        treasury_id: 2,
    }
}

#[test]
fn full_post_discriminators_are_the_core_bridge_sighashes() {
    for (name, disc) in [
        ("init_encoded_vaa", INIT_ENCODED_VAA_DISCRIMINATOR),
        ("write_encoded_vaa", WRITE_ENCODED_VAA_DISCRIMINATOR),
        ("verify_encoded_vaa_v1", VERIFY_ENCODED_VAA_V1_DISCRIMINATOR),
        ("close_encoded_vaa", CLOSE_ENCODED_VAA_DISCRIMINATOR),
    ] {
        assert_eq!(sha256(format!("global:{name}").as_bytes())[..8], disc, "{name}");
    }
}

#[test]
fn full_post_plan_fits_reassembles_the_vaa_and_posts_every_signature() {
    let update = parsed();
    let sol = crate::pyth::SOL_USD_FEED_ID;
    let a = accounts();
    let vaa = &update.vaa.bytes;
    // All 13 signatures travel (quorum of 19), unlike the atomic path's 5.
    assert_eq!(update.vaa.signatures.len(), 13);
    assert_eq!(vaa.len(), 6 + 13 * 66 + 88);
    let plan = full_post_plan(&update, &sol, &a, 7_000_000).unwrap();
    for (i, tx) in plan.iter().enumerate() {
        let size = legacy_transaction_size(tx, &a.payer);
        assert!(size <= PACKET_DATA_SIZE, "transaction {i} is {size} bytes");
    }
    // The first transaction creates the account at exactly header + VAA, owned by the core bridge.
    let create = &plan[0][1];
    assert_eq!(create.program_id, anchor_lang::system_program::ID);
    assert_eq!(u32::from_le_bytes(create.data[..4].try_into().unwrap()), 0);
    assert_eq!(
        u64::from_le_bytes(create.data[4..12].try_into().unwrap()),
        7_000_000
    );
    assert_eq!(
        u64::from_le_bytes(create.data[12..20].try_into().unwrap()),
        (ENCODED_VAA_HEADER_LEN + vaa.len()) as u64
    );
    assert_eq!(&create.data[20..52], WORMHOLE_PROGRAM_ID.as_ref());
    assert!(create.accounts[1].is_signer && create.accounts[1].pubkey == a.encoded_vaa);
    assert_eq!(
        plan[0][2],
        init_encoded_vaa_ix(&WORMHOLE_PROGRAM_ID, &a.payer, &a.encoded_vaa)
    );

    // The writes, in order, cover the VAA exactly once.
    let mut rebuilt = vec![0u8; vaa.len()];
    let mut written = 0;
    for ix in plan.iter().flatten() {
        if ix.program_id == WORMHOLE_PROGRAM_ID
            && ix.data.get(..8) == Some(&WRITE_ENCODED_VAA_DISCRIMINATOR[..])
        {
            let args = WriteEncodedVaaArgs::try_from_slice(&ix.data[8..]).unwrap();
            let at = args.index as usize;
            assert_eq!(at, written, "chunks are contiguous");
            rebuilt[at..at + args.data.len()].copy_from_slice(&args.data);
            written += args.data.len();
            assert_eq!(ix.accounts[0].pubkey, a.payer);
            assert!(ix.accounts[0].is_signer);
            assert!(ix.accounts[1].is_writable);
        }
    }
    assert_eq!(written, vaa.len());
    assert_eq!(&rebuilt, vaa);

    // Verification against guardian set 4, after the last write.
    let verify_tx = plan
        .iter()
        .position(|tx| {
            tx.iter()
                .any(|ix| ix.data.get(..8) == Some(&VERIFY_ENCODED_VAA_V1_DISCRIMINATOR[..]))
        })
        .unwrap();
    assert_eq!(verify_tx, plan.len() - 2);
    let verify = tx_last(&plan[verify_tx]);
    assert_eq!(
        verify.accounts[2].pubkey,
        guardian_set_address(&WORMHOLE_PROGRAM_ID, 4)
    );
    // Then the receiver's post_update of the SOL message and the close.
    let last = plan.last().unwrap();
    let post = &last[1];
    let expected = post_update_ix(
        &update,
        &sol,
        &PostAccounts {
            payer: a.payer,
            write_authority: a.payer,
            price_update_account: a.price_update_account,
        },
        &a.encoded_vaa,
        2,
    )
    .unwrap();
    assert_eq!(post, &expected);
    let params = PostUpdateParams::try_from_slice(&post.data[8..]).unwrap();
    assert_eq!(
        params.merkle_price_update,
        update.get(&sol).unwrap().merkle_price_update()
    );
    assert_eq!(
        last[2],
        close_encoded_vaa_ix(&WORMHOLE_PROGRAM_ID, &a.payer, &a.encoded_vaa)
    );
    assert!(last[2].accounts[0].is_writable, "the rent goes back to the payer");
    // 952 bytes of VAA: one chunk with the creation, the rest beside the verification.
    assert_eq!(plan.len(), 3);
}

fn tx_last(tx: &[solana_instruction::Instruction]) -> &solana_instruction::Instruction {
    tx.last().unwrap()
}

#[test]
fn full_post_plan_splits_a_larger_vaa_into_more_chunks() {
    // A VAA twice as long (a hypothetical set with more signatures) still plans, every
    // transaction within the limit and the chunks contiguous.
    let mut update = parsed();
    let mut long = update.vaa.bytes.clone();
    long.extend(std::iter::repeat_n(7u8, 1500));
    update.vaa.bytes = long.clone();
    let a = accounts();
    let plan = full_post_plan(&update, &crate::pyth::SOL_USD_FEED_ID, &a, 1).unwrap();
    assert!(plan.len() >= 4, "{} transactions", plan.len());
    let mut written = 0;
    for tx in &plan {
        assert!(legacy_transaction_size(tx, &a.payer) <= PACKET_DATA_SIZE);
        for ix in tx {
            if ix.data.get(..8) == Some(&WRITE_ENCODED_VAA_DISCRIMINATOR[..]) {
                let args = WriteEncodedVaaArgs::try_from_slice(&ix.data[8..]).unwrap();
                assert_eq!(args.index as usize, written);
                assert_eq!(args.data, long[written..written + args.data.len()]);
                written += args.data.len();
            }
        }
    }
    assert_eq!(written, long.len());
}

#[test]
fn full_post_of_a_feed_not_in_the_update_is_refused() {
    assert_eq!(
        full_post_plan(&parsed(), &[9; 32], &accounts(), 1),
        Err(HermesError::FeedNotInUpdate { feed_id: [9; 32] })
    );
}

#[test]
fn updates_at_path_asks_for_every_feed_in_base64_with_the_parsed_section() {
    let sol = crate::pyth::SOL_USD_FEED_ID;
    let path = updates_at_path(1_715_627_146, &[sol, [0xab; 32]]);
    assert_eq!(
        path,
        format!(
            "/v2/updates/price/1715627146?ids[]=0x{}&ids[]=0x{}&encoding=base64&parsed=true",
            crate::pyth::to_hex(&sol),
            "ab".repeat(32)
        )
    );
}
