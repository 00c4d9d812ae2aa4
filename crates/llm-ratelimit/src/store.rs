//! What a decision asks of a store, and what the store answers; shared by the local and Redis stores.

/// One rule's part of a decision: its bucket key and the debt the request would add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Charge {
    /// The key within the store (the Redis store prefixes its namespace's hash tag).
    pub key: String,
    /// `cost * T`, in µs.
    pub increment_us: u64,
    /// `B`, in µs: the most debt the bucket admits.
    pub burst_us: u64,
}

/// A correction after the fact: positive charges, negative refunds (µs of debt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Adjustment {
    pub key: String,
    pub delta_us: i64,
}

/// A store's answer to a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Whether every charge was admitted (and written); otherwise nothing was written.
    pub admitted: bool,
    /// Per charge, in order: the debt after the charge when admitted, the debt before it when not.
    pub debts: Vec<u64>,
}

/// Which store decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreKind {
    Local,
    Redis,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Redis => "redis",
        }
    }
}
