//! The JSON-RPC pubsub websocket (a validator's port 8900: the RPC port + 1): `signatureSubscribe`,
//! `accountSubscribe`, `slotSubscribe` and `logsSubscribe`, their unsubscribes, and the
//! notifications in the validator's format.

use super::methods::error_response;
use super::*;
use futures_util::{SinkExt as _, StreamExt as _};
use lever_sdk::cluster::Cluster;
use serde_json::{json, Value};
use solana_rpc_client::api::config::RpcAccountInfoConfig;
use solana_transaction::Signature;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::Message;

enum Subscription {
    Signature {
        signature: Signature,
    },
    Account {
        key: Pubkey,
        config: RpcAccountInfoConfig,
    },
    Slot,
    /// `None`: every transaction; else those naming one of the keys.
    Logs {
        mentions: Option<Vec<Pubkey>>,
    },
}

pub(super) async fn ws_connection(node: Arc<Node>, stream: TcpStream) -> anyhow::Result<()> {
    let _ = stream.set_nodelay(true);
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (mut sink, mut source) = ws.split();
    let mut events = node.events.subscribe();
    let mut subscriptions: HashMap<u64, Subscription> = HashMap::new();
    loop {
        let mut out: Vec<Value> = Vec::new();
        tokio::select! {
            message = source.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let requests = match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Array(batch)) => batch,
                        Ok(one) => vec![one],
                        Err(e) => {
                            out.push(error_response(Value::Null, &RpcErr::new(-32700, format!("Parse error: {e}"))));
                            Vec::new()
                        }
                    };
                    for request in requests {
                        node.ws_request(request, &mut subscriptions, &mut out).await;
                    }
                }
                Some(Ok(Message::Ping(payload))) => sink.send(Message::Pong(payload)).await?,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => {}
            },
            event = events.recv() => match event {
                Ok(event) => node.notifications(&event, &mut subscriptions, &mut out).await,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
        }
        for value in out {
            sink.send(Message::Text(value.to_string().into())).await?;
        }
    }
}

fn notification(method: &str, subscription: u64, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": {"result": result, "subscription": subscription}})
}

impl Node {
    async fn ws_request(
        &self,
        request: Value,
        subscriptions: &mut HashMap<u64, Subscription>,
        out: &mut Vec<Value>,
    ) {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = request.get("method").and_then(Value::as_str) else {
            out.push(error_response(id, &RpcErr::new(-32600, "Invalid request")));
            return;
        };
        let params = request.get("params").cloned().unwrap_or(Value::Null);
        let next = || self.next_subscription.fetch_add(1, Ordering::SeqCst);
        let result: Result<Value, RpcErr> = async {
            match method {
                "signatureSubscribe" => {
                    let text: String = required(&params, 0, "signature")?;
                    let signature = Signature::from_str(&text)
                        .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
                    let options: Value = param(&params, 1)?.unwrap_or(json!({}));
                    let id = next();
                    out.push(json!({"jsonrpc": "2.0", "result": id, "id": request.get("id")}));
                    let landed = self.records().get(&signature).map(|r| (r.slot, r.err.clone()));
                    match landed {
                        // Already final here: notify at once, and the subscription ends.
                        Some((slot, err)) => out.push(notification(
                            "signatureNotification",
                            id,
                            json!({"context": {"slot": slot}, "value": {"err": err}}),
                        )),
                        None => {
                            if options.get("enableReceivedNotification").and_then(Value::as_bool)
                                == Some(true)
                            {
                                // Nothing is received before it is processed here.
                            }
                            subscriptions.insert(id, Subscription::Signature { signature });
                        }
                    }
                    Ok(Value::Null)
                }
                "accountSubscribe" => {
                    let key = pubkey(&required::<String>(&params, 0, "pubkey")?)?;
                    let config: RpcAccountInfoConfig = param(&params, 1)?.unwrap_or_default();
                    let id = next();
                    subscriptions.insert(id, Subscription::Account { key, config });
                    Ok(json!(id))
                }
                "slotSubscribe" => {
                    let id = next();
                    subscriptions.insert(id, Subscription::Slot);
                    Ok(json!(id))
                }
                "logsSubscribe" => {
                    let filter: Value = required(&params, 0, "filter")?;
                    let mentions = match &filter {
                        Value::String(s) if s == "all" || s == "allWithVotes" => None,
                        Value::Object(o) => match o.get("mentions") {
                            Some(Value::Array(keys)) if keys.len() == 1 => Some(
                                keys.iter()
                                    .map(|k| pubkey(k.as_str().unwrap_or_default()))
                                    .collect::<Result<Vec<_>, _>>()?,
                            ),
                            _ => {
                                return Err(RpcErr::invalid_params(
                                    "Invalid Request: Only 1 address supported",
                                ))
                            }
                        },
                        _ => return Err(RpcErr::invalid_params("Invalid param: unknown filter")),
                    };
                    let id = next();
                    subscriptions.insert(id, Subscription::Logs { mentions });
                    Ok(json!(id))
                }
                "signatureUnsubscribe" | "accountUnsubscribe" | "slotUnsubscribe" | "logsUnsubscribe" => {
                    let id: u64 = required(&params, 0, "subscription id")?;
                    match subscriptions.remove(&id) {
                        Some(_) => Ok(json!(true)),
                        // A signature subscription ends by itself once notified.
                        None if method == "signatureUnsubscribe" => Ok(json!(true)),
                        None => Err(RpcErr::invalid_params("Invalid subscription id.")),
                    }
                }
                _ => Err(RpcErr::new(-32601, "Method not found")),
            }
        }
        .await;
        match result {
            // `signatureSubscribe` answered (and maybe notified) already.
            Ok(Value::Null) => {}
            Ok(result) => out.push(json!({"jsonrpc": "2.0", "result": result, "id": id})),
            Err(e) => out.push(error_response(id, &e)),
        }
    }

    async fn notifications(
        &self,
        event: &Event,
        subscriptions: &mut HashMap<u64, Subscription>,
        out: &mut Vec<Value>,
    ) {
        let (slot, written): (u64, Option<&[Pubkey]>) = match event {
            Event::Slot { slot, parent } => {
                for (id, s) in subscriptions.iter() {
                    if matches!(s, Subscription::Slot) {
                        out.push(notification(
                            "slotNotification",
                            *id,
                            json!({"parent": parent, "root": parent, "slot": slot}),
                        ));
                    }
                }
                return;
            }
            Event::Landed {
                signature,
                slot,
                err,
                keys,
                logs,
            } => {
                let mut done = Vec::new();
                for (id, s) in subscriptions.iter() {
                    match s {
                        Subscription::Signature { signature: wanted } if wanted == signature => {
                            out.push(notification(
                                "signatureNotification",
                                *id,
                                json!({"context": {"slot": slot}, "value": {"err": err}}),
                            ));
                            done.push(*id);
                        }
                        Subscription::Logs { mentions }
                            if mentions
                                .as_ref()
                                .is_none_or(|m| m.iter().any(|k| keys.contains(k))) =>
                        {
                            out.push(notification(
                                "logsNotification",
                                *id,
                                json!({"context": {"slot": slot}, "value": {
                                    "signature": signature.to_string(), "err": err, "logs": logs.as_slice(),
                                }}),
                            ));
                        }
                        _ => {}
                    }
                }
                for id in done {
                    subscriptions.remove(&id);
                }
                (*slot, Some(keys.as_slice()))
            }
            Event::Accounts { slot, keys } => (*slot, Some(keys.as_slice())),
        };
        let Some(written) = written else { return };
        for (id, s) in subscriptions.iter() {
            let Subscription::Account { key, config } = s else {
                continue;
            };
            if !written.contains(key) {
                continue;
            }
            let account = self.cluster.account(key).await.ok().flatten();
            let value = match account {
                Some(a) => json!(self.ui(key, &a, config).await),
                // Closed: a validator shows it empty, owned by the System program.
                None => json!({
                    "lamports": 0, "data": ["", "base64"], "owner": solana_system_interface::program::ID.to_string(),
                    "executable": false, "rentEpoch": 0, "space": 0,
                }),
            };
            out.push(notification(
                "accountNotification",
                *id,
                json!({"context": {"slot": slot}, "value": value}),
            ));
        }
    }
}
