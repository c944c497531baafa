//! A local HTTP server answering Hermes' `GET /v2/updates/price/{publish_time}` from a fixed
//! set of real responses, for tests of a settler that fetches the update at a request's target
//! time (and for demos without network). Each response is served for the times it answers on the
//! real Hermes: the first update at or after `t` is this one when `prev_publish_time < t <=
//! publish_time` of its messages; other times get 404, as Hermes answers before any update exists.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use lever_sdk::hermes::parse_hermes_response;

/// Which times a response answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Serve {
    /// The real rule: `prev_publish_time < t <= publish_time` of the response's first message.
    Covering,
    /// Every time (a misbehaving or lagging provider: what the client must check itself).
    Always,
}

struct Route {
    body: String,
    prev_publish_time: i64,
    publish_time: i64,
    serve: Serve,
}

/// The server: it answers on its own thread for the rest of the process (tests start one each).
pub struct HermesServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HermesServer {
    /// Serve `responses` (Hermes JSON bodies) on 127.0.0.1 at a free port.
    pub fn start(responses: Vec<(String, Serve)>) -> Result<Self> {
        let mut routes = Vec::new();
        for (body, serve) in responses {
            let parsed = parse_hermes_response(&body).context("a served response must parse")?;
            let first = parsed
                .updates
                .first()
                .and_then(|u| u.updates.first())
                .context("a served response must hold a message")?;
            routes.push(Route {
                prev_publish_time: first.price.prev_publish_time,
                publish_time: first.price.publish_time,
                body,
                serve,
            });
        }
        let listener = TcpListener::bind("127.0.0.1:0").context("bind")?;
        let addr = listener.local_addr().context("local address")?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let routes = Arc::new(routes);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, log) = (routes.clone(), log.clone());
                std::thread::spawn(move || {
                    let _ = answer(stream, &routes, &log);
                });
            }
        });
        Ok(Self { addr, requests })
    }

    /// The base URL to give a Hermes client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request target received so far (path and query).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn answer(stream: TcpStream, routes: &[Route], log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    log.lock().unwrap_or_else(|e| e.into_inner()).push(target.clone());
    let time = target
        .strip_prefix("/v2/updates/price/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|t| t.parse::<i64>().ok());
    let found = time.and_then(|t| {
        routes.iter().find(|r| match r.serve {
            Serve::Always => true,
            Serve::Covering => r.prev_publish_time < t && t <= r.publish_time,
        })
    });
    let (status, body) = match (time, found) {
        (None, _) => ("400 Bad Request", "{\"message\":\"unknown route\"}".to_string()),
        (Some(_), None) => (
            "404 Not Found",
            "{\"message\":\"no update at or after this time\"}".to_string(),
        ),
        (Some(_), Some(route)) => ("200 OK", route.body.clone()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
