//! The response cache of the LLM gateway (being written; nothing uses it yet).
