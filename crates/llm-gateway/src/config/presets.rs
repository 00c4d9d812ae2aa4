//! OpenAI-compatible presets: the base URL, authentication and quirks of well-known servers.
//!
//! A preset is a default: `base_url`, `api_key`, `headers`, `api_version` and the timeouts written in
//! the provider's block override it.

use llm_provider_openai::Quirks;

/// What a preset fills in.
#[derive(Debug)]
pub(crate) struct Preset {
    /// The `preset = "..."` name.
    pub name: &'static str,
    /// The API root; `None` when only the user can know it (Azure's resource).
    pub base_url: Option<&'static str>,
    /// `Some(variable)`: a key is required, conventionally held in `variable`.
    pub key_variable: Option<&'static str>,
    /// The header carrying the bare key; `None` means `Authorization: Bearer`.
    pub auth_header: Option<&'static str>,
    /// The chat endpoint below the base URL; `{model}` is the deployment.
    pub chat_path: &'static str,
    /// The default `api-version` query parameter.
    pub api_version: Option<&'static str>,
    /// Body adaptations.
    pub quirks: Quirks,
}

const OPENAI_LIKE: Quirks = Quirks {
    no_stream_options: false,
    max_tokens_only: false,
};

const MAX_TOKENS_ONLY: Quirks = Quirks {
    no_stream_options: false,
    max_tokens_only: true,
};

const fn bearer(
    name: &'static str,
    base_url: &'static str,
    key_variable: Option<&'static str>,
    quirks: Quirks,
) -> Preset {
    Preset {
        name,
        base_url: Some(base_url),
        key_variable,
        auth_header: None,
        chat_path: "/chat/completions",
        api_version: None,
        quirks,
    }
}

/// `type = "openai"`.
pub(crate) const OPENAI: Preset = bearer(
    "openai",
    "https://api.openai.com/v1",
    Some("OPENAI_API_KEY"),
    OPENAI_LIKE,
);

/// `type = "anthropic"`: where it is and which key it needs (its wire is not OpenAI's).
pub(crate) const ANTHROPIC: Preset = Preset {
    name: "anthropic",
    base_url: Some("https://api.anthropic.com"),
    key_variable: Some("ANTHROPIC_API_KEY"),
    ..GENERIC
};

/// `type = "gemini"`: where it is and which key it needs (its wire is not OpenAI's).
pub(crate) const GEMINI: Preset = Preset {
    name: "gemini",
    base_url: Some("https://generativelanguage.googleapis.com"),
    key_variable: Some("GEMINI_API_KEY"),
    ..GENERIC
};

/// `type = "openai_compatible"` without a preset: the user gives the base URL; a key is optional.
pub(crate) const GENERIC: Preset = Preset {
    name: "generic",
    base_url: None,
    key_variable: None,
    auth_header: None,
    chat_path: "/chat/completions",
    api_version: None,
    quirks: OPENAI_LIKE,
};

/// Every `preset = "..."`.
pub(crate) const PRESETS: [Preset; 8] = [
    Preset {
        name: "azure",
        base_url: None,
        key_variable: Some("AZURE_OPENAI_API_KEY"),
        auth_header: Some("api-key"),
        chat_path: "/deployments/{model}/chat/completions",
        api_version: Some("2024-10-21"),
        quirks: OPENAI_LIKE,
    },
    bearer(
        "groq",
        "https://api.groq.com/openai/v1",
        Some("GROQ_API_KEY"),
        OPENAI_LIKE,
    ),
    bearer(
        "mistral",
        "https://api.mistral.ai/v1",
        Some("MISTRAL_API_KEY"),
        Quirks {
            no_stream_options: true,
            max_tokens_only: true,
        },
    ),
    bearer(
        "together",
        "https://api.together.xyz/v1",
        Some("TOGETHER_API_KEY"),
        MAX_TOKENS_ONLY,
    ),
    bearer(
        "deepseek",
        "https://api.deepseek.com/v1",
        Some("DEEPSEEK_API_KEY"),
        MAX_TOKENS_ONLY,
    ),
    bearer(
        "openrouter",
        "https://openrouter.ai/api/v1",
        Some("OPENROUTER_API_KEY"),
        OPENAI_LIKE,
    ),
    bearer("vllm", "http://127.0.0.1:8000/v1", None, OPENAI_LIKE),
    bearer("ollama", "http://127.0.0.1:11434/v1", None, MAX_TOKENS_ONLY),
];

/// The preset with this name.
pub(crate) fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|preset| preset.name == name)
}

/// The preset names, for error messages.
pub(crate) fn names() -> String {
    PRESETS
        .iter()
        .map(|preset| preset.name)
        .collect::<Vec<_>>()
        .join(", ")
}
