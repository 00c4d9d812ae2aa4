//! `llm-server`: the LLM gateway. See the README for configuration.

/// The allocator: mimalloc unless built without the `mimalloc` feature.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    llm_server::run()
}
