# The project's commands. `make run` and `make test` are the two the README promises.
CARGO ?= cargo

.PHONY: run run-release test lint fmt bench deny check-config

## Start the gateway on its embedded defaults (mock provider, 127.0.0.1:8080).
run:
	$(CARGO) run -p llm-server --

## The same, optimised.
run-release:
	$(CARGO) run --release -p llm-server --

## Every test in the workspace: unit, per-crate and end-to-end.
test:
	$(CARGO) test --workspace

## Formatting and clippy, as CI runs them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Criterion benches of every crate's hot path and the end-to-end path.
bench:
	$(CARGO) bench --workspace

## Licences, bans (no OpenSSL) and sources. Advisories need the RustSec database from the network.
deny:
	@command -v cargo-deny >/dev/null || $(CARGO) install cargo-deny --locked
	$(CARGO) deny check licenses bans sources

## Validate a config file: make check-config CONFIG=gateway.toml
check-config:
	$(CARGO) run -q -p llm-server -- --check-config $(if $(CONFIG),--config $(CONFIG),)
