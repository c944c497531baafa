//! Hermes' JSON response (`/v2/updates/price/latest`): binary data and the parsed section, checked against each other.

use super::*;
use crate::pyth::feed_id_from_hex;
use serde::Deserialize;

/// One price of Hermes' `parsed` section (strings hold the integers, as Hermes writes them).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ParsedPrice {
    pub price: String,
    pub conf: String,
    pub expo: i32,
    pub publish_time: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ParsedMetadata {
    #[serde(default)]
    pub slot: Option<u64>,
    #[serde(default)]
    pub proof_available_time: Option<i64>,
    #[serde(default)]
    pub prev_publish_time: Option<i64>,
}

/// One entry of Hermes' `parsed` section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ParsedPriceFeed {
    pub id: String,
    pub price: ParsedPrice,
    pub ema_price: ParsedPrice,
    #[serde(default)]
    pub metadata: Option<ParsedMetadata>,
}

#[derive(Deserialize)]
pub(super) struct Binary {
    pub(super) encoding: String,
    pub(super) data: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct Response {
    pub(super) binary: Binary,
    #[serde(default)]
    pub(super) parsed: Option<Vec<ParsedPriceFeed>>,
}

/// A Hermes `/v2/updates/price/latest` response: every binary update decoded and verified, and the
/// `parsed` section (if any), checked against them.
#[derive(Clone, Debug, PartialEq)]
pub struct HermesUpdate {
    pub updates: Vec<AccumulatorUpdate>,
    pub parsed: Vec<ParsedPriceFeed>,
}

impl HermesUpdate {
    /// The update and message carrying `feed_id`.
    pub fn find(&self, feed_id: &[u8; 32]) -> Option<(&AccumulatorUpdate, &MerkleUpdate)> {
        self.updates
            .iter()
            .find_map(|update| update.get(feed_id).map(|message| (update, message)))
    }
}

/// Decode one `binary.data` string (`index` only names it in errors).
pub fn decode_binary(encoding: &str, data: &str, index: usize) -> Result<Vec<u8>, HermesError> {
    match encoding {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| HermesError::BadBase64 {
                index,
                reason: e.to_string(),
            }),
        "hex" => decode_hex(data.trim()).map_err(|reason| HermesError::BadHex { index, reason }),
        other => Err(HermesError::UnsupportedEncoding(other.to_string())),
    }
}

pub(super) fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd number of digits ({})", text.len()));
    }
    (0..text.len() / 2)
        .map(|i| {
            let pair = text
                .get(2 * i..2 * i + 2)
                .ok_or_else(|| format!("non-ASCII character near offset {}", 2 * i))?;
            u8::from_str_radix(pair, 16).map_err(|_| format!("invalid digits {pair:?} at offset {}", 2 * i))
        })
        .collect()
}

/// Parse a Hermes `/v2/updates/price/latest` response: decode and verify every binary update, then
/// check each `parsed` entry (when present) against the verified message of its feed.
pub fn parse_hermes_response(json: &str) -> Result<HermesUpdate, HermesError> {
    let response: Response = serde_json::from_str(json).map_err(|e| HermesError::Json(e.to_string()))?;
    if response.binary.data.is_empty() {
        return Err(HermesError::NoUpdates);
    }
    let updates = response
        .binary
        .data
        .iter()
        .enumerate()
        .map(|(index, data)| {
            let bytes = decode_binary(&response.binary.encoding, data, index)?;
            AccumulatorUpdate::parse(&bytes)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let update = HermesUpdate {
        updates,
        parsed: response.parsed.unwrap_or_default(),
    };
    for (index, entry) in update.parsed.iter().enumerate() {
        check_parsed(&update, index, entry)?;
    }
    Ok(update)
}

pub(super) fn check_parsed(
    update: &HermesUpdate,
    index: usize,
    entry: &ParsedPriceFeed,
) -> Result<(), HermesError> {
    let bad = |reason: String| HermesError::BadParsedEntry { index, reason };
    let feed_id =
        feed_id_from_hex(&entry.id).ok_or_else(|| bad(format!("invalid feed id {:?}", entry.id)))?;
    let (_, message) = update
        .find(&feed_id)
        .ok_or(HermesError::ParsedFeedMissing { feed_id })?;
    let m = &message.price;
    let int = |field: &str, text: &str| -> Result<i128, HermesError> {
        text.parse::<i128>()
            .map_err(|_| bad(format!("{field} {text:?} is not an integer")))
    };
    let checks = [
        (
            "price.price",
            int("price.price", &entry.price.price)? == i128::from(m.price),
        ),
        (
            "price.conf",
            int("price.conf", &entry.price.conf)? == i128::from(m.conf),
        ),
        ("price.expo", entry.price.expo == m.exponent),
        ("price.publish_time", entry.price.publish_time == m.publish_time),
        (
            "ema_price.price",
            int("ema_price.price", &entry.ema_price.price)? == i128::from(m.ema_price),
        ),
        (
            "ema_price.conf",
            int("ema_price.conf", &entry.ema_price.conf)? == i128::from(m.ema_conf),
        ),
        ("ema_price.expo", entry.ema_price.expo == m.exponent),
        (
            "ema_price.publish_time",
            entry.ema_price.publish_time == m.publish_time,
        ),
        (
            "metadata.prev_publish_time",
            entry
                .metadata
                .as_ref()
                .and_then(|md| md.prev_publish_time)
                .is_none_or(|t| t == m.prev_publish_time),
        ),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((field, _)) => Err(HermesError::ParsedMismatch { feed_id, field }),
        None => Ok(()),
    }
}
