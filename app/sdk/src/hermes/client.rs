//! A Hermes REST client for the one request a settler needs: the updates of some feeds at or after
//! a time (`GET /v2/updates/price/{publish_time}`, "price updates with a publish time greater than
//! or equal to this timestamp"), decoded and Merkle-verified by [`parse_hermes_response`].

use super::*;
use std::time::Duration;

/// Pyth's public Hermes endpoint (rate-limited; providers such as Triton serve the same API).
pub const DEFAULT_HERMES_URL: &str = "https://hermes.pyth.network";

/// The HTTP request path of the updates of `feed_ids` at or after `publish_time` (binary data in
/// base64, with the parsed section so that [`parse_hermes_response`] cross-checks it).
pub fn updates_at_path(publish_time: i64, feed_ids: &[[u8; 32]]) -> String {
    let ids: Vec<String> = feed_ids.iter().map(|id| format!("ids[]=0x{}", hex(id))).collect();
    format!(
        "/v2/updates/price/{publish_time}?{}&encoding=base64&parsed=true",
        ids.join("&")
    )
}

/// A Hermes endpoint with the headers it wants (an API key, for instance).
#[derive(Clone, Debug)]
pub struct HermesClient {
    base_url: String,
    headers: Vec<(String, String)>,
    http: reqwest::Client,
}

impl HermesClient {
    /// `base_url` without a trailing slash is fine either way; `headers` go on every request.
    pub fn new(
        base_url: &str,
        headers: Vec<(String, String)>,
        timeout: Duration,
    ) -> Result<Self, HermesError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| HermesError::Http(e.to_string()))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            headers,
            http,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The first update of each of `feed_ids` with a publish time at or after `publish_time`.
    pub async fn updates_at(
        &self,
        publish_time: i64,
        feed_ids: &[[u8; 32]],
    ) -> Result<HermesUpdate, HermesError> {
        let url = format!("{}{}", self.base_url, updates_at_path(publish_time, feed_ids));
        let mut request = self.http.get(&url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| HermesError::Http(format!("GET {url}: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| HermesError::Http(format!("GET {url}: read the body: {e}")))?;
        if !(200..300).contains(&status) {
            return Err(HermesError::Status {
                status,
                body: body.chars().take(300).collect(),
            });
        }
        parse_hermes_response(&body)
    }
}
