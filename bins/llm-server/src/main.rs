//! `llm-server`: the LLM gateway. See the README for configuration.

fn main() -> std::process::ExitCode {
    llm_server::run()
}
