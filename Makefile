# The project's commands. `make run` and `make test` are the two the README promises.
CARGO ?= cargo

.PHONY: run run-release test lint fmt bench deny check-config load load-build load-streams soak load-floor

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

## The load benchmark's binaries (release): where cargo puts them.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
LOAD_BIN = $(TARGET_DIR)/release/llm-load

# Two builds, so llm-server is the same binary `cargo build --release -p llm-server` makes (one build
# of both would unify hyper's features across them).
load-build:
	$(CARGO) build --release -p llm-server
	$(CARGO) build --release -p llm-load

## End-to-end load benchmark on loopback, direct to a mock upstream vs through the gateway; prints a
## table and writes $(TARGET_DIR)/llm-load-report.md (about 2 minutes; Redis configurations need
## Redis on 127.0.0.1:6379). Options: make load LOAD_ARGS="--quick" (see llm-load run --help).
load: load-build
	$(LOAD_BIN) run $(LOAD_ARGS)

## 1,000 concurrent streams through the gateway: its peak RSS. Options: LOAD_ARGS="--count 2000".
load-streams: load-build
	ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null || true; $(LOAD_BIN) streams $(LOAD_ARGS)

## 1M requests through the gateway: is its RSS flat after warm-up? Options: LOAD_ARGS="--requests 200000".
soak: load-build
	$(LOAD_BIN) soak $(LOAD_ARGS)

## The floor: direct vs through nginx as a plain reverse proxy vs through the gateway, interleaved;
## writes $(TARGET_DIR)/llm-load-floor-report.md. Needs nginx (apt-get install -y nginx).
## Options: LOAD_ARGS="--quick" (see llm-load floor --help).
load-floor: load-build
	$(LOAD_BIN) floor $(LOAD_ARGS)
