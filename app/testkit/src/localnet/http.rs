//! A minimal HTTP/1.1 server for JSON-RPC: bounded request heads and bodies, keep-alive, one response per request.

use super::*;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------------
// HTTP/1.1
// ---------------------------------------------------------------------------------------------

pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) body: Vec<u8>,
    pub(super) close: bool,
    /// `Access-Control-Request-Headers` of a CORS preflight.
    pub(super) cors_headers: Option<String>,
}

/// Requests on one connection, one at a time, until the client closes it or asks to.
pub(super) async fn connection(node: Arc<Node>, stream: TcpStream) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let request = match read_request(&mut reader, &mut write).await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(HttpError { status, message }) => {
                let _ = respond(&mut write, status, "text/plain", message.as_bytes(), true).await;
                return Ok(());
            }
        };
        let (status, content_type, body) = match (request.method.as_str(), request.path.as_str()) {
            ("POST", _) => (200, "application/json", node.handle_body(&request.body).await),
            ("GET", "/health") => (200, "text/plain", b"ok".to_vec()),
            ("GET", path) => match &node.web_root {
                Some(root) => static_file(root, path).await,
                None => (404, "text/plain", b"not found".to_vec()),
            },
            // A browser's CORS preflight: any origin may call this node, as a validator allows.
            ("OPTIONS", _) => (204, "text/plain", Vec::new()),
            _ => (405, "text/plain", b"method not allowed".to_vec()),
        };
        let cors = request.cors_headers.as_deref().unwrap_or("*");
        respond_with(&mut write, status, content_type, &body, request.close, cors).await?;
        if request.close {
            return Ok(());
        }
    }
}

/// `GET path` under `root`: the file, or `index.html` for a path without a file name extension
/// (the app's own routes). A path that climbs out of `root` (`..`), or names no file, is 404.
async fn static_file(root: &std::path::Path, path: &str) -> (u16, &'static str, Vec<u8>) {
    let not_found = (404, "text/plain", b"not found".to_vec());
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let mut file = root.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." || part.contains('\\') {
            return not_found;
        }
        file.push(part);
    }
    let named = std::path::Path::new(path).extension().is_some();
    if !named {
        file = root.join("index.html");
    }
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(&file).await {
        Ok(body) => (200, content_type, body),
        Err(_) => not_found,
    }
}

pub(super) struct HttpError {
    pub(super) status: u16,
    pub(super) message: String,
}

impl HttpError {
    pub(super) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// The next request, `None` at a clean end of the stream.
pub(super) async fn read_request(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
) -> Result<Option<Request>, HttpError> {
    let mut head = 0usize;
    let mut line = String::new();
    // Blank lines before a request are allowed (RFC 9112 §2.2).
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .await
            .map_err(|e| HttpError::new(400, e.to_string()))?;
        if n == 0 {
            return Ok(None);
        }
        head += n;
        if head > MAX_HEAD {
            return Err(HttpError::new(431, "request head too large"));
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(HttpError::new(400, "malformed request line"));
    };
    let (method, path) = (method.to_string(), path.to_string());
    let http10 = version.eq_ignore_ascii_case("HTTP/1.0");
    let mut content_length = None;
    let mut chunked = false;
    let mut connection = String::new();
    let mut expect_continue = false;
    let mut cors_headers = None;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .await
            .map_err(|e| HttpError::new(400, e.to_string()))?;
        if n == 0 {
            return Err(HttpError::new(400, "connection closed in the headers"));
        }
        head += n;
        if head > MAX_HEAD {
            return Err(HttpError::new(431, "request head too large"));
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(HttpError::new(400, "malformed header"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                content_length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| HttpError::new(400, "bad content-length"))?,
                )
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => connection = value.to_ascii_lowercase(),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            "access-control-request-headers" => cors_headers = Some(value.to_string()),
            _ => {}
        }
    }
    if chunked {
        return Err(HttpError::new(501, "chunked request bodies are not supported"));
    }
    let length = match (content_length, method.as_str()) {
        (Some(n), _) => n,
        (None, "POST") => return Err(HttpError::new(411, "content-length required")),
        (None, _) => 0,
    };
    if length > MAX_BODY {
        return Err(HttpError::new(413, "request body too large"));
    }
    if expect_continue {
        write
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|e| HttpError::new(400, e.to_string()))?;
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .await
        .map_err(|e| HttpError::new(400, e.to_string()))?;
    let close = connection.contains("close") || (http10 && !connection.contains("keep-alive"));
    Ok(Some(Request {
        method,
        path,
        body,
        close,
        cors_headers,
    }))
}

pub(super) async fn respond(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    status: u16,
    content_type: &str,
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    respond_with(write, status, content_type, body, close, "*").await
}

/// A response with the CORS headers (`allow_headers`: what the preflight asked for, or `*`).
pub(super) async fn respond_with(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    status: u16,
    content_type: &str,
    body: &[u8],
    close: bool,
    allow_headers: &str,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Error",
    };
    // Header values come from the request only through `allow_headers`: no line breaks in it.
    let allow_headers: String = allow_headers.chars().filter(|c| !c.is_control()).collect();
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: {}\r\n\
         access-control-allow-origin: *\r\naccess-control-allow-methods: POST, GET, OPTIONS\r\n\
         access-control-allow-headers: {allow_headers}\r\naccess-control-max-age: 86400\r\n\r\n",
        body.len(),
        if close { "close" } else { "keep-alive" }
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    write.write_all(&out).await?;
    write.flush().await
}
