//! A hand-written OpenAI-compatible upstream on 127.0.0.1 that tells the test when a chat request
//! arrives and when the gateway closes its connection: for cancellation tests, which must see the
//! upstream side of a hang-up.

// A test harness: failing loudly is its job.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

/// What the upstream does with a chat request (model listings and probes are always answered).
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Reads the request and never answers.
    Silence,
    /// Answers SSE headers and one chunk, then keeps the stream open without another byte.
    OneChunkThenSilence,
    /// Streams a chunk every 100 ms without end.
    EndlessChunks,
}

/// The running upstream.
pub struct RawUpstream {
    /// `http://127.0.0.1:PORT`; the provider's `base_url` is this plus `/v1`.
    pub base: String,
    /// One `()` per chat request the gateway hung up on.
    pub closed: mpsc::Receiver<()>,
    /// One `()` per chat request as it arrives.
    pub arrived: mpsc::Receiver<()>,
}

/// The chunk every streamed answer sends.
const CHUNK: &str = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\
                     \"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"more \"},\
                     \"finish_reason\":null}]}\n\n";

/// Starts the upstream; it serves until the test ends.
pub async fn start(behaviour: Behaviour) -> RawUpstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (closed_tx, closed) = mpsc::channel(8);
    let (arrived_tx, arrived) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (closed_tx, arrived_tx) = (closed_tx.clone(), arrived_tx.clone());
            tokio::spawn(async move {
                let (mut reader, mut writer) = socket.into_split();
                let Some(head) = read_head(&mut reader).await else {
                    return;
                };
                if head.starts_with(b"GET") {
                    let body = r#"{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"t"}]}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = writer.write_all(answer.as_bytes()).await;
                    return;
                }
                let _ = arrived_tx.send(()).await;
                serve_chat(behaviour, reader, writer).await;
                let _ = closed_tx.send(()).await;
            });
        }
    });
    RawUpstream {
        base,
        closed,
        arrived,
    }
}

/// Reads up to the end of the request head; `None` when the connection closes first.
async fn read_head(reader: &mut OwnedReadHalf) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    Some(head)
}

/// Answers a chat request as `behaviour` says until the gateway hangs up (a read ends or a write
/// fails).
async fn serve_chat(behaviour: Behaviour, mut reader: OwnedReadHalf, mut writer: OwnedWriteHalf) {
    let frame = format!("{:x}\r\n{CHUNK}\r\n", CHUNK.len());
    if !matches!(behaviour, Behaviour::Silence) {
        let headers =
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let opening = format!("{headers}{frame}");
        if writer.write_all(opening.as_bytes()).await.is_err() {
            return;
        }
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut buffer = [0u8; 4096];
    loop {
        tokio::select! {
            _ = ticker.tick(), if matches!(behaviour, Behaviour::EndlessChunks) => {
                if writer.write_all(frame.as_bytes()).await.is_err() {
                    return;
                }
            }
            read = reader.read(&mut buffer) => {
                if matches!(read, Ok(0) | Err(_)) {
                    return;
                }
            }
        }
    }
}
