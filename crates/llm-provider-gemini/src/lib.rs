//! Placeholder replaced by the gemini provider.
