//! Hot path of the mock provider: building an answer and draining a stream.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use llm_core::{ChatRequest, Provider};
use llm_provider_mock::{MockProvider, MockSettings};

fn bench_mock(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot build runtime: {error}");
            return;
        }
    };
    let provider = MockProvider::new(MockSettings::new("mock"));
    let request = ChatRequest::from_prompt("echo", "the quick brown fox jumps over the lazy dog ".repeat(8));
    c.bench_function("mock_complete", |b| {
        b.iter(|| runtime.block_on(provider.complete("echo", black_box(&request))))
    });
    c.bench_function("mock_stream_drain", |b| {
        b.iter(|| {
            runtime.block_on(async {
                match provider.stream("echo", black_box(&request)).await {
                    Ok(stream) => stream.count().await,
                    Err(_) => 0,
                }
            })
        })
    });
}

criterion_group!(benches, bench_mock);
criterion_main!(benches);
