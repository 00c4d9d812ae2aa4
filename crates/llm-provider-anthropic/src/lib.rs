//! Placeholder replaced by the anthropic provider.
