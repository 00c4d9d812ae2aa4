//! The load generator's HTTP/1.1 client: one keep-alive hyper connection per worker.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The largest part of an error body kept for the report.
const ERROR_BODY_BYTES: usize = 300;

/// A keep-alive connection to one server.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

/// The connect failure that only a higher file-descriptor limit cures.
pub fn is_too_many_open_files(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(24)
}

impl Connection {
    /// Connects with TCP_NODELAY and drives the connection on a spawned task.
    pub async fn open(address: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            // Ends when the worker drops its sender or the server closes.
            let _ = connection.await;
        });
        let host = HeaderValue::from_str(&address.to_string()).map_err(std::io::Error::other)?;
        Ok(Self { sender, host })
    }

    /// Sends `POST path` with a JSON body and reads the answer to its last byte.
    pub async fn post_json(&mut self, path: &'static str, body: Bytes) -> Result<Exchange, hyper::Error> {
        self.sender.ready().await?;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = hyper::Uri::from_static(path);
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let started = Instant::now();
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let cache = response
            .headers()
            .get("x-llm-cache")
            .and_then(|value| value.to_str().ok())
            .map(CacheOutcome::from_header)
            .unwrap_or(CacheOutcome::Absent);
        let mut body = response.into_body();
        let mut first_byte = None;
        let mut tail = Vec::new();
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            first_byte.get_or_insert_with(|| started.elapsed());
            if status != StatusCode::OK && kept.len() < ERROR_BODY_BYTES {
                let room = ERROR_BODY_BYTES - kept.len();
                kept.extend_from_slice(&data[..data.len().min(room)]);
            }
            keep_tail(&mut tail, data);
        }
        let total = started.elapsed();
        Ok(Exchange {
            status,
            total,
            first_byte: first_byte.unwrap_or(total),
            cache,
            ends_with_done: tail.ends_with(b"data: [DONE]\n\n"),
            error_body: String::from_utf8_lossy(&kept).into_owned(),
        })
    }
}

/// The last 16 bytes of the body so far: enough to see `data: [DONE]\n\n`.
fn keep_tail(tail: &mut Vec<u8>, data: &[u8]) {
    const TAIL: usize = 16;
    tail.extend_from_slice(&data[data.len().saturating_sub(TAIL)..]);
    if tail.len() > TAIL {
        tail.drain(..tail.len() - TAIL);
    }
}

/// What the gateway's `x-llm-cache` header said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
    Bypass,
    Absent,
}

impl CacheOutcome {
    fn from_header(value: &str) -> Self {
        match value {
            "hit" => Self::Hit,
            "miss" => Self::Miss,
            "bypass" => Self::Bypass,
            _ => Self::Absent,
        }
    }
}

/// One request's answer, read to the end.
pub struct Exchange {
    pub status: StatusCode,
    /// From sending the request to the body's last byte.
    pub total: Duration,
    /// From sending the request to the body's first byte (a stream's first event).
    pub first_byte: Duration,
    pub cache: CacheOutcome,
    /// The body ended with `data: [DONE]` (what a complete stream ends with).
    pub ends_with_done: bool,
    /// The start of a non-200 body.
    pub error_body: String,
}

/// `GET path` on a fresh connection: the status, or an error when nothing answers.
pub async fn get_status(address: SocketAddr, path: &str) -> anyhow::Result<StatusCode> {
    let stream = TcpStream::connect(address).await.context("connecting")?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .context("handshake")?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = Request::get(path)
        .header(HOST, address.to_string())
        .body(Empty::<Bytes>::new())
        .context("building the request")?;
    let response = sender.send_request(request).await.context("sending")?;
    let status = response.status();
    let _ = response.into_body().collect().await;
    Ok(status)
}

/// Waits until `GET path` answers 200, up to `patience`.
pub async fn wait_until_ok(
    address: SocketAddr,
    path: &str,
    patience: Duration,
    mut alive: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        alive()?;
        let last = match get_status(address, path).await {
            Ok(StatusCode::OK) => return Ok(()),
            Ok(status) => format!("status {status}"),
            Err(error) => format!("{error:#}"),
        };
        if Instant::now() > deadline {
            anyhow::bail!("{address}{path} did not answer 200 within {patience:?} (last: {last})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
