//! The four deadlines of an upstream exchange.

use std::time::Duration;

/// Deadlines for one upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// From sending the request until the response headers arrive.
    pub first_byte: Duration,
    /// The longest gap between two events of a stream.
    pub idle: Duration,
    /// A whole non-streaming exchange, body included.
    pub request: Duration,
}

impl HttpTimeouts {
    /// 5 s to connect, 60 s to the first byte, 60 s between stream events, 600 s for a whole answer.
    pub const DEFAULT: Self = Self {
        connect: Duration::from_secs(5),
        first_byte: Duration::from_secs(60),
        idle: Duration::from_secs(60),
        request: Duration::from_secs(600),
    };
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}
