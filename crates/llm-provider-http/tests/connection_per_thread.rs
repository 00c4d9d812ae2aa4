//! Each thread sends over its own connections: a request on one actix worker must not be handed to a
//! connection whose task another worker's runtime drives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use llm_core::{LlmError, ProviderId};
use llm_provider_http::reqwest::Url;
use llm_provider_http::reqwest::header::HeaderMap;
use llm_provider_http::{HttpTimeouts, UpstreamClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";

/// A keep-alive HTTP/1.1 upstream answering `{}` to every request; counts the connections it accepts.
async fn counting_upstream() -> (Url, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/models", listener.local_addr().unwrap())).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                loop {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    // GETs have no body: each head ends a request.
                    while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        request.drain(..end + 4);
                        if socket.write_all(ANSWER).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, accepted)
}

fn client() -> Arc<UpstreamClient> {
    let map = |id: &ProviderId, status: u16, _: &HeaderMap, _: &[u8]| {
        LlmError::internal(format!("{id}: status {status}"))
    };
    Arc::new(UpstreamClient::new("p".into(), HttpTimeouts::DEFAULT, HeaderMap::new(), map).unwrap())
}

async fn get(client: &UpstreamClient, url: &Url) {
    let response = client.send(client.get_json(url.clone())).await.unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"{}");
}

/// Runs `work` on a new thread with its own single-thread runtime (like an actix worker).
fn on_worker_thread<F>(work: impl FnOnce() -> F + Send + 'static) -> std::thread::JoinHandle<()>
where
    F: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work());
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn each_thread_reuses_its_own_connection_and_never_another_threads() {
    let (url, accepted) = counting_upstream().await;
    let client = client();
    let (first_done, first_done_rx) = oneshot::channel();
    let (second_done, second_done_rx) = oneshot::channel::<()>();

    // The first worker sends twice (one connection, reused), then keeps its runtime, and with it
    // its idle pooled connection, alive while the second worker sends.
    let first = on_worker_thread({
        let (client, url) = (client.clone(), url.clone());
        move || async move {
            get(&client, &url).await;
            get(&client, &url).await;
            first_done.send(()).unwrap();
            second_done_rx.await.unwrap();
        }
    });
    let second = on_worker_thread({
        let (client, url) = (client.clone(), url.clone());
        move || async move {
            first_done_rx.await.unwrap();
            get(&client, &url).await;
            get(&client, &url).await;
            second_done.send(()).unwrap();
        }
    });
    tokio::task::spawn_blocking(move || {
        first.join().unwrap();
        second.join().unwrap();
    })
    .await
    .unwrap();

    // Every connection was counted when accepted, before it answered. A shared pool would have
    // handed the second worker the first worker's idle connection: 1.
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}
