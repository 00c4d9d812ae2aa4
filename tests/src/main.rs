//! The server under test: the same code as `llm-server`, built into this package so its tests can
//! find it through `CARGO_BIN_EXE_llm-server-under-test`.

fn main() -> std::process::ExitCode {
    llm_server::run()
}
