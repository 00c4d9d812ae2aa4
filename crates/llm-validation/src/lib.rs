//! Request validation of the LLM gateway (being written; nothing uses it yet).
