use super::*;
use crate::pyth::to_hex as hex;
use crate::pyth::{feed_id_from_hex, PriceInput, Verification};
use anchor_lang::prelude::AccountInfo;
use anchor_lang::prelude::{borsh, Pubkey};
use anchor_lang::{AccountSerialize, AnchorDeserialize, ToAccountMetas};
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};
use pyth_solana_receiver_sdk::{PostUpdateAtomicParams, PostUpdateParams};
use pythnet_sdk::accumulators::merkle::MerklePath;
use pythnet_sdk::accumulators::merkle::MerkleRoot;
use pythnet_sdk::hashers::keccak256_160::Keccak160;
use pythnet_sdk::wire::v1::{AccumulatorUpdateData, Proof, WormholeMessage, WormholePayload};
use serde_json::Value;
use solana_instruction::Instruction;

/// The real Hermes update, read from the shared data set (`crate::data`).
static FILE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::data::read_data_file(None, crate::data::files::HERMES_UPDATE).unwrap_or_else(|e| panic!("{e:#}"))
});

pub(super) fn file() -> Value {
    serde_json::from_str(&FILE).unwrap()
}

pub(super) fn raw() -> Vec<u8> {
    let v = file();
    decode_binary("base64", v["binary"]["data"][0].as_str().unwrap(), 0).unwrap()
}

pub(super) fn parsed() -> AccumulatorUpdate {
    AccumulatorUpdate::parse(&raw()).unwrap()
}

fn bytes32(hex: &str) -> [u8; 32] {
    feed_id_from_hex(hex).unwrap()
}

fn guardian_set_4() -> Vec<[u8; 20]> {
    MAINNET_GUARDIAN_SET_4.to_vec()
}

/// Offset of update `i`'s message bytes in the raw update.
fn message_offset(raw: &[u8], update: &AccumulatorUpdate, i: usize) -> usize {
    let message = &update.updates[i].message;
    raw.windows(message.len())
        .position(|w| w == &message[..])
        .unwrap()
}

fn flip(raw: &[u8], offset: usize) -> Vec<u8> {
    let mut out = raw.to_vec();
    out[offset] ^= 0x01;
    out
}

fn accounts() -> PostAccounts {
    PostAccounts {
        payer: Pubkey::new_unique(),
        write_authority: Pubkey::new_unique(),
        price_update_account: Pubkey::new_unique(),
    }
}

/// SHA-256 (FIPS 180-4), only to recompute Anchor discriminators here; checked below against a
/// standard vector and against a discriminator Anchor computed for the Lever program.
pub(super) fn sha256(input: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut padded = input.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&((input.len() as u64) * 8).to_be_bytes());
    for block in padded.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[test]
fn hermes_test_sha256_matches_anchor() {
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    use anchor_lang::Discriminator;
    assert_eq!(
        &sha256(b"global:accept_admin")[..8],
        lever::instruction::AcceptAdmin::DISCRIMINATOR
    );
    assert_eq!(
        &sha256(b"account:PriceUpdateV2")[..8],
        PriceUpdateV2::DISCRIMINATOR
    );
}

#[test]
fn hermes_parses_the_bundled_response() {
    let response = parse_hermes_response(&FILE).unwrap();
    assert_eq!(response.updates.len(), 1);
    assert!(response.parsed.is_empty());
    let update = &response.updates[0];
    assert_eq!(update, &parsed());
    let d = &file()["decoded"];
    assert_eq!(u64::from(update.major_version), d["major"].as_u64().unwrap());
    assert_eq!(u64::from(update.minor_version), d["minor"].as_u64().unwrap());
    assert!(update.trailing_header.is_empty());
    let vaa = &update.vaa;
    assert_eq!(vaa.bytes.len(), 952);
    assert_eq!(vaa.version, 1);
    assert_eq!(
        u64::from(vaa.guardian_set_index),
        d["guardian_set_index"].as_u64().unwrap()
    );
    assert_eq!(vaa.signatures.len() as u64, d["num_signatures"].as_u64().unwrap());
    assert_eq!(u64::from(vaa.timestamp), d["vaa_timestamp"].as_u64().unwrap());
    assert_eq!(u64::from(vaa.emitter_chain), d["emitter_chain"].as_u64().unwrap());
    assert_eq!(vaa.emitter_address, bytes32(d["emitter"].as_str().unwrap()));
    assert_eq!(vaa.sequence, d["sequence"].as_u64().unwrap());
    assert_eq!(vaa.body().len(), 51 + 37);
    assert_eq!(update.root.slot, d["merkle_slot"].as_u64().unwrap());
    assert_eq!(update.root.ring_size, 10_000);
}

#[test]
fn hermes_feeds_and_values_match_the_decoded_section() {
    let update = parsed();
    let expected = file()["decoded"]["messages"].as_array().unwrap().clone();
    assert_eq!(update.updates.len(), expected.len());
    assert_eq!(update.updates.len(), 3);
    for (got, want) in update.updates.iter().zip(&expected) {
        let m = &got.price;
        assert_eq!(want["type"], "price_feed");
        assert_eq!(m.feed_id, bytes32(want["feed_id"].as_str().unwrap()));
        assert_eq!(m.price, want["price"].as_i64().unwrap());
        assert_eq!(m.conf, want["conf"].as_u64().unwrap());
        assert_eq!(i64::from(m.exponent), want["exponent"].as_i64().unwrap());
        assert_eq!(m.publish_time, want["publish_time"].as_i64().unwrap());
        assert_eq!(m.prev_publish_time, want["prev_publish_time"].as_i64().unwrap());
        assert_eq!(m.ema_price, want["ema_price"].as_i64().unwrap());
        assert_eq!(m.ema_conf, want["ema_conf"].as_u64().unwrap());
        assert_eq!(got.message.len(), PRICE_FEED_MESSAGE_LEN);
        assert_eq!(got.proof.len(), 10);
    }
    assert_eq!(update.feed_ids()[2], crate::pyth::SOL_USD_FEED_ID);
}

#[test]
fn hermes_every_proof_verifies_against_the_root() {
    let update = parsed();
    for u in &update.updates {
        assert_eq!(merkle_root_of(&u.message, &u.proof), update.root.root);
        // pythnet-sdk's own check, the one the receiver runs.
        let root = MerkleRoot::<Keccak160>::new(update.root.root);
        assert!(root.check(MerklePath::new(u.proof.clone()), &u.message));
    }
}

#[test]
fn hermes_decoder_agrees_with_pythnet_sdk() {
    let raw = raw();
    let update = parsed();
    let theirs = AccumulatorUpdateData::try_from_slice(&raw).unwrap();
    let Proof::WormholeMerkle { vaa, updates } = theirs.proof;
    assert_eq!(vaa.as_ref(), &update.vaa.bytes[..]);
    assert_eq!(updates.len(), update.updates.len());
    for (theirs, ours) in updates.iter().zip(&update.updates) {
        assert_eq!(theirs, &ours.merkle_price_update());
    }
    let WormholePayload::Merkle(root) = WormholeMessage::try_from_bytes(&update.vaa.payload)
        .unwrap()
        .payload;
    assert_eq!(
        (root.slot, root.ring_size, root.root),
        (update.root.slot, update.root.ring_size, update.root.root)
    );
}

#[test]
fn hermes_flipped_proof_or_message_byte_is_rejected() {
    let raw = raw();
    let update = parsed();
    for i in 0..update.updates.len() {
        let at = message_offset(&raw, &update, i);
        // A byte of the price inside the message, then its first proof node, then its last.
        let proof_start = at + PRICE_FEED_MESSAGE_LEN + 1;
        for offset in [at + 1 + 32 + 3, proof_start, proof_start + 10 * 20 - 1] {
            match AccumulatorUpdate::parse(&flip(&raw, offset)) {
                Err(HermesError::ProofMismatch {
                    update: u,
                    computed,
                    root,
                }) => {
                    assert_eq!(u, i);
                    assert_eq!(root, update.root.root);
                    assert_ne!(computed, root);
                }
                other => panic!("offset {offset}: expected ProofMismatch, got {other:?}"),
            }
        }
    }
    // A flipped byte of the signed root fails the first proof.
    let root_at = raw.windows(20).position(|w| w == update.root.root).unwrap();
    assert!(matches!(
        AccumulatorUpdate::parse(&flip(&raw, root_at)),
        Err(HermesError::ProofMismatch { update: 0, .. })
    ));
    let err = AccumulatorUpdate::parse(&flip(&raw, proof_start_of(&raw, &update))).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
}

fn proof_start_of(raw: &[u8], update: &AccumulatorUpdate) -> usize {
    message_offset(raw, update, 0) + PRICE_FEED_MESSAGE_LEN + 1
}

#[test]
fn hermes_truncated_input_is_rejected_at_every_length() {
    let raw = raw();
    for len in 0..raw.len() {
        match AccumulatorUpdate::parse(&raw[..len]) {
            Err(HermesError::Truncated {
                needed, available, ..
            }) => assert!(needed > available),
            other => panic!("prefix of {len} bytes: expected Truncated, got {other:?}"),
        }
    }
    let err = AccumulatorUpdate::parse(&raw[..100]).unwrap_err();
    assert_eq!(
        err,
        HermesError::Truncated {
            field: "vaa",
            offset: 10,
            needed: 952,
            available: 90
        }
    );
}

#[test]
fn hermes_malformed_headers_get_named_errors() {
    let raw = raw();
    let with = |offset: usize, value: u8| {
        let mut out = raw.clone();
        out[offset] = value;
        AccumulatorUpdate::parse(&out)
    };
    assert_eq!(with(0, b'X'), Err(HermesError::BadMagic { found: *b"XNAU" }));
    assert_eq!(
        with(4, 2),
        Err(HermesError::UnsupportedVersion { major: 2, minor: 0 })
    );
    // A newer minor version is accepted, as pythnet-sdk does.
    assert_eq!(with(5, 1).unwrap().minor_version, 1);
    assert_eq!(with(7, 1), Err(HermesError::UnsupportedProofType(1)));
    assert_eq!(with(10, 2), Err(HermesError::UnsupportedVaaVersion(2)));
    let update = parsed();
    let payload_at = 10 + update.vaa.bytes.len() - update.vaa.payload.len();
    assert_eq!(
        with(payload_at, b'B'),
        Err(HermesError::BadRootMagic { found: *b"BUWV" })
    );
    assert_eq!(with(payload_at + 4, 1), Err(HermesError::UnsupportedRootType(1)));
    // A message of another type, its proof still valid: only a forged tree could do this, so
    // check the decoder directly.
    let mut twap = update.updates[0].message.clone();
    twap[0] = 1;
    assert_eq!(
        decode_price_feed_message(&twap),
        Err(HermesError::UnsupportedMessageType(1))
    );
    assert!(matches!(
        decode_price_feed_message(&update.updates[0].message[..40]),
        Err(HermesError::Truncated {
            field: "message.price",
            ..
        })
    ));
    let mut longer = raw.clone();
    longer.push(0);
    assert_eq!(
        AccumulatorUpdate::parse(&longer),
        Err(HermesError::TrailingBytes {
            after: "the last update",
            count: 1
        })
    );
}

#[test]
fn hermes_json_encodings_and_parsed_section() {
    let update = parsed();
    let hex_data = hex(&raw());
    let decoded = file()["decoded"]["messages"].clone();
    let parsed_section: Vec<Value> = decoded
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let price = |p: &str, c: &str| {
                serde_json::json!({
                    "price": m[p].as_i64().unwrap().to_string(),
                    "conf": m[c].as_u64().unwrap().to_string(),
                    "expo": m["exponent"],
                    "publish_time": m["publish_time"],
                })
            };
            serde_json::json!({
                "id": m["feed_id"],
                "price": price("price", "conf"),
                "ema_price": price("ema_price", "ema_conf"),
                "metadata": {"slot": 140903343, "prev_publish_time": m["prev_publish_time"]},
            })
        })
        .collect();
    let response = |encoding: &str, data: Vec<String>, parsed: &Vec<Value>| {
        serde_json::json!({"binary": {"encoding": encoding, "data": data}, "parsed": parsed}).to_string()
    };

    let ok = parse_hermes_response(&response("hex", vec![hex_data.clone()], &parsed_section)).unwrap();
    assert_eq!(ok.updates, vec![update.clone()]);
    assert_eq!(ok.parsed.len(), 3);
    let sol = crate::pyth::SOL_USD_FEED_ID;
    assert_eq!(ok.find(&sol).unwrap().1.price.price, 14_802_549_538);

    let mut tampered = parsed_section.clone();
    tampered[1]["price"]["price"] = Value::from("294943041423");
    assert_eq!(
        parse_hermes_response(&response("hex", vec![hex_data.clone()], &tampered)),
        Err(HermesError::ParsedMismatch {
            feed_id: update.updates[1].feed_id(),
            field: "price.price"
        })
    );
    let mut missing = parsed_section.clone();
    missing[0]["id"] = Value::from(hex(&[0x11; 32]));
    assert_eq!(
        parse_hermes_response(&response("hex", vec![hex_data.clone()], &missing)),
        Err(HermesError::ParsedFeedMissing { feed_id: [0x11; 32] })
    );
    let mut not_int = parsed_section.clone();
    not_int[0]["price"]["conf"] = Value::from("12.5");
    assert!(matches!(
        parse_hermes_response(&response("hex", vec![hex_data.clone()], &not_int)),
        Err(HermesError::BadParsedEntry { index: 0, .. })
    ));

    assert_eq!(
        parse_hermes_response(&response("base58", vec![hex_data.clone()], &vec![])),
        Err(HermesError::UnsupportedEncoding("base58".into()))
    );
    assert!(matches!(
        parse_hermes_response(&response("hex", vec![hex_data[1..].to_string()], &vec![])),
        Err(HermesError::BadHex { index: 0, .. })
    ));
    assert!(matches!(
        parse_hermes_response(&response("base64", vec!["not base64!".into()], &vec![])),
        Err(HermesError::BadBase64 { index: 0, .. })
    ));
    assert_eq!(
        parse_hermes_response(&response("hex", vec![], &vec![])),
        Err(HermesError::NoUpdates)
    );
    assert!(matches!(
        parse_hermes_response("{\"binary\": 3}"),
        Err(HermesError::Json(_))
    ));
    assert!(matches!(
        parse_hermes_response("not json"),
        Err(HermesError::Json(_))
    ));
}

#[test]
fn hermes_guardian_signatures_are_guardian_set_4() {
    let update = parsed();
    let keys = guardian_set_4();
    assert_eq!(update.vaa.verify_signatures(&keys), Ok(13));
    let signers = update.vaa.recover_signers().unwrap();
    for (index, address) in &signers {
        assert_eq!(address, &keys[usize::from(*index)]);
    }
    // 13 signatures of 19 guardians is exactly the quorum.
    assert_eq!(receiver_verification(13, keys.len()), Verification::Full);
    assert_eq!(receiver_verification(12, keys.len()), Verification::Partial(12));

    // A changed body (the sequence) no longer recovers the guardians' keys.
    let mut forged = update.vaa.bytes.clone();
    let sequence_at = forged.len() - update.vaa.payload.len() - 9;
    forged[sequence_at] ^= 1;
    let forged = Vaa::parse(&forged).unwrap();
    assert!(matches!(
        forged.verify_signatures(&keys),
        Err(HermesError::GuardianKeyMismatch { .. } | HermesError::SignatureRecovery { .. })
    ));
    assert!(matches!(
        update.vaa.verify_signatures(&keys[..3]),
        Err(HermesError::UnknownGuardian { guardians: 3, .. })
    ));
}

#[test]
fn hermes_trimmed_vaa_keeps_the_body_and_valid_signatures() {
    let update = parsed();
    let trimmed = Vaa::parse(&update.vaa.with_signatures(5).unwrap()).unwrap();
    assert_eq!(trimmed.signatures, update.vaa.signatures[..5]);
    assert_eq!(trimmed.body(), update.vaa.body());
    assert_eq!(trimmed.bytes.len(), 6 + 5 * 66 + 88);
    assert_eq!(trimmed.verify_signatures(&guardian_set_4()), Ok(5));
    assert_eq!(
        update.vaa.with_signatures(14),
        Err(HermesError::SignatureCount {
            requested: 14,
            available: 13
        })
    );
    assert!(update.vaa.with_signatures(0).is_err());
}

#[test]
fn hermes_atomic_instruction_matches_the_receiver() {
    let update = parsed();
    let accounts = accounts();
    let sol = crate::pyth::SOL_USD_FEED_ID;
    let ix = post_update_atomic_ix(&update, &sol, &accounts, 5, &WORMHOLE_PROGRAM_ID, 3).unwrap();
    assert_eq!(ix.program_id, pyth_solana_receiver_sdk::ID);
    assert_eq!(
        ix.program_id.to_string(),
        "rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ"
    );

    // The account list the receiver SDK's own CPI struct produces, key for key.
    let guardian_set =
        Pubkey::find_program_address(&[b"GuardianSet", &4u32.to_be_bytes()], &WORMHOLE_PROGRAM_ID).0;
    assert_eq!(guardian_set, guardian_set_address(&WORMHOLE_PROGRAM_ID, 4));
    let treasury = Pubkey::find_program_address(&[b"treasury", &[3]], &pyth_solana_receiver_sdk::ID).0;
    let config = Pubkey::find_program_address(&[b"config"], &pyth_solana_receiver_sdk::ID).0;
    assert_eq!(
        (receiver_treasury_address(3), receiver_config_address()),
        (treasury, config)
    );
    let keys = [
        accounts.payer,
        guardian_set,
        config,
        treasury,
        accounts.price_update_account,
        anchor_lang::system_program::ID,
        accounts.write_authority,
    ];
    let metas = with_infos(&keys, |infos| {
        pyth_solana_receiver_sdk::cpi::accounts::PostUpdateAtomic {
            payer: infos[0].clone(),
            guardian_set: infos[1].clone(),
            config: infos[2].clone(),
            treasury: infos[3].clone(),
            price_update_account: infos[4].clone(),
            system_program: infos[5].clone(),
            write_authority: infos[6].clone(),
        }
        .to_account_metas(None)
    });
    assert_eq!(ix.accounts, metas);

    // Anchor data: the discriminator, then the borsh params, which round-trip.
    let sighash = sha256(b"global:post_update_atomic");
    assert_eq!(ix.data[..8], sighash[..8]);
    let params = PostUpdateAtomicParams::try_from_slice(&ix.data[8..]).unwrap();
    assert_eq!(params.vaa, update.vaa.with_signatures(5).unwrap());
    assert_eq!(params.treasury_id, 3);
    let message = update.get(&sol).unwrap();
    assert_eq!(params.merkle_price_update, message.merkle_price_update());
    assert_eq!(params.merkle_price_update.message.as_ref(), &message.message[..]);
    assert_eq!(params.merkle_price_update.proof.to_vec(), message.proof);
    let mut again = POST_UPDATE_ATOMIC_DISCRIMINATOR.to_vec();
    again.extend(borsh::to_vec(&params).unwrap());
    assert_eq!(again, ix.data);
    // 8 + (4 + 424) + (4 + 85) + (4 + 200) + 1
    assert_eq!(ix.data.len(), 730);

    assert_eq!(
        post_update_atomic_ix(&update, &[9; 32], &accounts, 5, &WORMHOLE_PROGRAM_ID, 0),
        Err(HermesError::FeedNotInUpdate { feed_id: [9; 32] })
    );
}

#[test]
fn hermes_post_update_instruction_matches_the_receiver() {
    let update = parsed();
    let accounts = accounts();
    let encoded_vaa = Pubkey::new_unique();
    let eth = update.updates[1].feed_id();
    let ix = post_update_ix(&update, &eth, &accounts, &encoded_vaa, 0).unwrap();
    assert_eq!(ix.program_id, pyth_solana_receiver_sdk::ID);
    let keys = [
        accounts.payer,
        encoded_vaa,
        receiver_config_address(),
        receiver_treasury_address(0),
        accounts.price_update_account,
        anchor_lang::system_program::ID,
        accounts.write_authority,
    ];
    let metas = with_infos(&keys, |infos| {
        pyth_solana_receiver_sdk::cpi::accounts::PostUpdate {
            payer: infos[0].clone(),
            encoded_vaa: infos[1].clone(),
            config: infos[2].clone(),
            treasury: infos[3].clone(),
            price_update_account: infos[4].clone(),
            system_program: infos[5].clone(),
            write_authority: infos[6].clone(),
        }
        .to_account_metas(None)
    });
    assert_eq!(ix.accounts, metas);
    let sighash = sha256(b"global:post_update");
    assert_eq!(ix.data[..8], sighash[..8]);
    let params = PostUpdateParams::try_from_slice(&ix.data[8..]).unwrap();
    assert_eq!(
        params.merkle_price_update,
        update.updates[1].merkle_price_update()
    );
    assert_eq!(params.treasury_id, 0);
    assert_eq!(ix.data.len(), 8 + 4 + 85 + 4 + 200 + 1);

    // One per wanted feed, in order, against the same VAA account.
    let targets: Vec<_> = update
        .feed_ids()
        .into_iter()
        .map(|f| (f, Pubkey::new_unique()))
        .collect();
    let path = PostPath::EncodedVaa { encoded_vaa };
    let all = post_price_update_instructions(
        &update,
        accounts.payer,
        accounts.write_authority,
        &targets,
        path,
        0,
    )
    .unwrap();
    assert_eq!(all.len(), 3);
    for (ix, (feed, account)) in all.iter().zip(&targets) {
        assert_eq!(ix.accounts[4].pubkey, *account);
        let params = PostUpdateParams::try_from_slice(&ix.data[8..]).unwrap();
        assert_eq!(
            decode_price_feed_message(params.merkle_price_update.message.as_ref())
                .unwrap()
                .feed_id,
            *feed
        );
    }
    // Two posts fit in one transaction with the payer as write authority, three do not.
    let payer_is_authority: Vec<Instruction> =
        post_price_update_instructions(&update, accounts.payer, accounts.payer, &targets, path, 0).unwrap();
    let two = legacy_transaction_size(&payer_is_authority[..2], &accounts.payer);
    let three = legacy_transaction_size(&payer_is_authority, &accounts.payer);
    assert_eq!((two, three), (1112, 1521));
    let tx = solana_transaction::Transaction::new_with_payer(&payer_is_authority, Some(&accounts.payer));
    assert_eq!(three, 1 + 64 * 4 + tx.message.serialize().len());
}

/// Call `f` with one `AccountInfo` per key (no data, no lamports).
fn with_infos<T>(keys: &[Pubkey; 7], f: impl FnOnce(&[AccountInfo<'_>]) -> T) -> T {
    let owner = Pubkey::default();
    let mut lamports = [0u64; 7];
    let mut data: [[u8; 0]; 7] = [[]; 7];
    let infos: Vec<AccountInfo<'_>> = keys
        .iter()
        .zip(lamports.iter_mut())
        .zip(data.iter_mut())
        .map(|((key, lamports), data)| AccountInfo::new(key, false, false, lamports, data, &owner, false))
        .collect();
    f(&infos)
}

#[test]
fn hermes_atomic_transaction_size_limits() {
    let update = parsed();
    let payer = Pubkey::new_unique();
    let accounts = PostAccounts {
        payer,
        write_authority: payer,
        price_update_account: Pubkey::new_unique(),
    };
    let sol = crate::pyth::SOL_USD_FEED_ID;
    let size_with = |signatures: u8| {
        let ix =
            post_update_atomic_ix(&update, &sol, &accounts, signatures, &WORMHOLE_PROGRAM_ID, 0).unwrap();
        let size = legacy_transaction_size(std::slice::from_ref(&ix), &payer);
        // The same size as the Solana SDK's own serialization.
        let tx = solana_transaction::Transaction::new_with_payer(&[ix], Some(&payer));
        let signers = usize::from(tx.message.header.num_required_signatures);
        assert_eq!(signers, 2);
        assert_eq!(size, 1 + 64 * signers + tx.message.serialize().len());
        size
    };
    assert_eq!(size_with(DEFAULT_ATOMIC_SIGNATURES), 1131);
    assert_eq!(size_with(6), 1197);
    assert!(size_with(6) <= PACKET_DATA_SIZE);
    assert!(size_with(7) > PACKET_DATA_SIZE);
    assert_eq!(size_with(13), 1659);
    // A separate write authority adds a signature and a key: 5 signatures still fit.
    let three = PostAccounts {
        write_authority: Pubkey::new_unique(),
        ..accounts
    };
    let ix = post_update_atomic_ix(&update, &sol, &three, 5, &WORMHOLE_PROGRAM_ID, 0).unwrap();
    assert_eq!(legacy_transaction_size(&[ix], &payer), 1131 + 64 + 32);

    let all = post_price_update_instructions(
        &update,
        payer,
        payer,
        &[(sol, Pubkey::new_unique())],
        PostPath::atomic(),
        0,
    )
    .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        PostUpdateAtomicParams::try_from_slice(&all[0].data[8..])
            .unwrap()
            .vaa
            .len(),
        6 + 5 * 66 + 88
    );
}

#[test]
fn hermes_price_input_equals_the_decoded_values() {
    let update = parsed();
    let expected = file()["decoded"]["messages"].as_array().unwrap().clone();
    for (u, want) in update.updates.iter().zip(&expected) {
        let input = u.price_input(Verification::Full);
        assert_eq!(
            input,
            PriceInput {
                feed_id: bytes32(want["feed_id"].as_str().unwrap()),
                price: want["price"].as_i64().unwrap(),
                conf: want["conf"].as_u64().unwrap(),
                exponent: want["exponent"].as_i64().unwrap() as i32,
                publish_time: want["publish_time"].as_i64().unwrap(),
                prev_publish_time: want["prev_publish_time"].as_i64().unwrap(),
                verification: Verification::Full,
            }
        );
        // The SDK's PriceUpdateV2 builder carries the same price, conf, exponent and time.
        let sdk = crate::pyth::price_update(&input);
        assert_eq!(
            (
                sdk.price_message.feed_id,
                sdk.price_message.price,
                sdk.price_message.conf
            ),
            (u.price.feed_id, u.price.price, u.price.conf)
        );
        assert_eq!(
            (
                sdk.price_message.exponent,
                sdk.price_message.publish_time,
                sdk.price_message.prev_publish_time
            ),
            (u.price.exponent, u.price.publish_time, u.price.prev_publish_time)
        );
        // The account the receiver would write, through the SDK's decoder.
        let authority = Pubkey::new_unique();
        let account = u.price_update_account(Verification::Partial(5), authority, 77);
        let mut data = Vec::new();
        account.try_serialize(&mut data).unwrap();
        data.resize(PriceUpdateV2::LEN, 0);
        let back = crate::pyth::decode_price_update(&data).unwrap();
        assert_eq!(back.price_message, u.price);
        assert_eq!(back.write_authority, authority);
        assert_eq!(back.posted_slot, 77);
        assert_eq!(
            back.verification_level,
            VerificationLevel::Partial { num_signatures: 5 }
        );
    }
    let sol = update
        .get(&crate::pyth::SOL_USD_FEED_ID)
        .unwrap()
        .price_input(Verification::Full);
    assert_eq!(
        (sol.price, sol.conf, sol.exponent),
        (14_802_549_538, 9_930_888, -8)
    );
}
