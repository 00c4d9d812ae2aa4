//! Drives `GeminiProvider` through its public API against local mock upstreams on 127.0.0.1.
//!
//! Helper functions outside `#[test]` functions count as test code for clippy's
//! `allow-unwrap-in-tests` only under `cfg(test)`, hence the attribute on the modules.

#[cfg(test)]
mod common;
#[cfg(test)]
mod complete;
#[cfg(test)]
mod errors;
#[cfg(test)]
mod request_body;
#[cfg(test)]
mod streaming;
#[cfg(test)]
mod timeouts;
