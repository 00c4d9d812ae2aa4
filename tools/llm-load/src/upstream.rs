//! `llm-load upstream`: the mock OpenAI-compatible server (hyper 1, HTTP/1.1 keep-alive).
//!
//! `GET /v1/models` lists `bench-model`; `POST /v1/chat/completions` reads the JSON body, then
//! answers a pre-rendered `chat.completion` or an SSE stream of `chat.completion.chunk` events
//! (with a usage chunk when `stream_options.include_usage` is asked), after the configured latency.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::cli::UpstreamArgs;
use crate::upstream_body::{MockBody, RenderedAnswers};

/// What the mock reads from a request body: only the streaming switches.
#[derive(Deserialize)]
struct StreamSwitches {
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// The mock's fixed behaviour, shared by every connection.
struct Mock {
    answers: RenderedAnswers,
    latency: Duration,
    chunk_delay: Duration,
}

/// Serves until killed. Prints `listening on ADDR` as its first line of standard output.
pub fn serve(args: &UpstreamArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .thread_name("mock-upstream")
        .enable_all()
        .build()
        .context("building the mock's runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("binding {}", args.bind))?;
        let address = listener.local_addr().context("local address")?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {address}").context("writing the address")?;
        stdout.flush().context("flushing the address")?;
        drop(stdout);
        let mock = Arc::new(Mock {
            answers: RenderedAnswers::render(args.chunks),
            latency: Duration::from_millis(args.latency_ms),
            chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        });
        accept_forever(listener, mock).await
    })
}

async fn accept_forever(listener: TcpListener, mock: Arc<Mock>) -> anyhow::Result<ExitCode> {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // EMFILE and friends: wait a little instead of spinning.
                eprintln!("mock upstream: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let mock = Arc::clone(&mock);
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(Arc::clone(&mock), request));
            // A client going away mid-answer is normal under load; nothing to report.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(mock: Arc<Mock>, request: Request<Incoming>) -> Result<Response<MockBody>, hyper::Error> {
    let models_path = request.uri().path() == "/v1/models";
    let chat_path = request.uri().path() == "/v1/chat/completions";
    match *request.method() {
        Method::GET if models_path => Ok(json_response(
            StatusCode::OK,
            mock.answers.models.clone(),
        )),
        Method::POST if chat_path => {
            let body = request.into_body().collect().await?.to_bytes();
            let Ok(switches) = serde_json::from_slice::<StreamSwitches>(&body) else {
                return Ok(json_response(
                    StatusCode::BAD_REQUEST,
                    Bytes::from_static(
                        br#"{"error":{"message":"the body is not a JSON chat request","type":"invalid_request_error","code":null,"param":null}}"#,
                    ),
                ));
            };
            if !mock.latency.is_zero() {
                tokio::time::sleep(mock.latency).await;
            }
            if !switches.stream {
                return Ok(json_response(StatusCode::OK, mock.answers.completion.clone()));
            }
            let include_usage = switches
                .stream_options
                .is_some_and(|options| options.include_usage);
            let (frames, whole) = mock.answers.stream(include_usage);
            let body = if mock.chunk_delay.is_zero() {
                MockBody::Whole(Some(whole.clone()))
            } else {
                MockBody::paced(Arc::clone(frames), mock.chunk_delay)
            };
            let mut response = Response::new(body);
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            Ok(response)
        }
        _ => Ok(json_response(
            StatusCode::NOT_FOUND,
            Bytes::from_static(
                br#"{"error":{"message":"not found","type":"invalid_request_error","code":null,"param":null}}"#,
            ),
        )),
    }
}

fn json_response(status: StatusCode, body: Bytes) -> Response<MockBody> {
    let mut response = Response::new(MockBody::Whole(Some(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
