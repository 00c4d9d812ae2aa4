//! Configuration loading and validation through the public API.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use llm_gateway::config::{ConfigSource, from_toml, load};
use llm_gateway::{ConfigError, ProviderSpec};
use llm_provider_openai::AuthStyle;
use secrecy::ExposeSecret;

fn no_env(_: &str) -> Option<String> {
    None
}

fn error_of(document: &str) -> String {
    from_toml(document, &no_env).unwrap_err().to_string()
}

#[test]
fn embedded_default_is_the_mock_on_loopback() {
    let config = from_toml("", &no_env).unwrap();
    assert_eq!(config.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(config.providers.len(), 1);
    assert_eq!(config.providers[0].id.as_str(), "mock");
    assert!(matches!(config.providers[0].spec, ProviderSpec::Mock(_)));
}

#[test]
fn openai_joins_the_default_when_its_key_is_in_the_environment() {
    let env = |name: &str| match name {
        "OPENAI_API_KEY" => Some("sk-test".to_owned()),
        "OPENAI_BASE_URL" => Some("http://127.0.0.1:9/v1/".to_owned()),
        _ => None,
    };
    let config = from_toml("", &env).unwrap();
    assert_eq!(config.providers.len(), 2);
    let ProviderSpec::OpenAi {
        settings,
        preset: None,
    } = &config.providers[1].spec
    else {
        panic!("expected openai");
    };
    assert_eq!(settings.base_url, "http://127.0.0.1:9/v1");
    assert_eq!(
        config.providers[1].api_key.as_ref().unwrap().expose_secret(),
        "sk-test"
    );
    assert!(
        !format!("{config:?}").contains("sk-test"),
        "secrets must not appear in Debug"
    );
}

#[test]
fn full_config_validates() {
    let env = |name: &str| (name == "KEY").then(|| "sk-x".to_owned());
    let config = from_toml(
        r#"
        [server]
        bind = "0.0.0.0:9000"
        max_body_bytes = 1024
        shutdown_grace_secs = 5

        [health]
        probe_interval_secs = 10

        [[providers]]
        id = "openai"
        type = "openai"
        api_key = "env:KEY"
        organization = "org-1"
        headers = { x-team = "a" }
        first_byte_timeout_ms = 1000

        [[providers]]
        id = "local"
        type = "openai_compatible"
        base_url = "http://127.0.0.1:11434/v1"

        [[providers]]
        id = "slow"
        type = "mock"
        latency_ms = 20
        chunks = 2
        failure = { kind = "provider_unavailable", after_chunks = 1 }

        [models.fast]
        deployments = [{ provider = "openai", model = "gpt-4o-mini" }, { provider = "local", model = "llama3" }]
        "#,
        &env,
    )
    .unwrap();
    assert_eq!(config.server.max_body_bytes, 1024);
    assert_eq!(
        config.providers.len(),
        3,
        "a file's providers replace the default list"
    );
    assert_eq!(config.models["fast"].deployments.len(), 2);
}

#[test]
fn errors_name_the_key() {
    assert!(error_of("[server]\nbind = \"nowhere\"").starts_with("server.bind:"));
    let unknown = error_of("[server]\nbindd = \"127.0.0.1:1\"");
    assert!(unknown.contains("bindd"), "{unknown}");
    let unknown_provider_key = error_of("[[providers]]\nid = \"m\"\ntype = \"mock\"\nlatncy_ms = 3");
    assert!(
        unknown_provider_key.contains("latncy_ms"),
        "{unknown_provider_key}"
    );
    assert_eq!(
        error_of("[[providers]]\nid = \"o\"\ntype = \"openai\"\napi_key = \"env:NOPE\""),
        "providers[0].api_key: environment variable NOPE is not set"
    );
    assert_eq!(
        error_of("[[providers]]\nid = \"o\"\ntype = \"openai_compatible\""),
        "providers[0].base_url: is required here (no default for preset generic)"
    );
    assert!(error_of("[[providers]]\nid = \"a/b\"\ntype = \"mock\"").starts_with("providers[0].id:"));
    assert!(
        error_of("[[providers]]\nid = \"m\"\ntype = \"mock\"\n[[providers]]\nid = \"m\"\ntype = \"mock\"")
            .contains("duplicate provider id")
    );
    assert!(
        error_of("[models.fast]\ndeployments = [{ provider = \"ghost\", model = \"x\" }]")
            .starts_with("models.fast.deployments[0].provider:")
    );
    assert!(
        error_of("[[providers]]\nid = \"m\"\ntype = \"mock\"\nfailure = { kind = \"oops\" }")
            .starts_with("providers[0].failure.kind:")
    );
    assert!(error_of("[[providers]]\nid = \"m\"\ntype = \"nonsense\"").contains("nonsense"));
}

#[test]
fn a_missing_config_file_is_an_error() {
    let source = ConfigSource {
        file: Some("/definitely/not/here.toml".into()),
    };
    let error = load(&source).unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { ref key, .. } if key == "--config"));
}

#[test]
fn anthropic_and_gemini_join_the_default_with_their_sdk_variables() {
    let env = |name: &str| match name {
        "ANTHROPIC_API_KEY" => Some("sk-ant".to_owned()),
        "ANTHROPIC_BASE_URL" => Some("http://127.0.0.1:9".to_owned()),
        "GEMINI_API_KEY" => Some("g-key".to_owned()),
        _ => None,
    };
    let config = from_toml("", &env).unwrap();
    let ids: Vec<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["mock", "anthropic", "gemini"]);
    let ProviderSpec::Anthropic(anthropic) = &config.providers[1].spec else {
        panic!("anthropic")
    };
    assert_eq!(anthropic.base_url, "http://127.0.0.1:9");
    let ProviderSpec::Gemini(gemini) = &config.providers[2].spec else {
        panic!("gemini")
    };
    assert_eq!(gemini.base_url, "https://generativelanguage.googleapis.com");
    assert_eq!(
        config.providers[2].api_key.as_ref().unwrap().expose_secret(),
        "g-key"
    );
}

#[test]
fn presets_fill_defaults_the_user_may_override() {
    let env = |name: &str| Some(format!("value-of-{name}"));
    let config = from_toml(
        r#"
        [[providers]]
        id = "groq"
        type = "openai_compatible"
        preset = "groq"
        api_key = "env:GROQ_API_KEY"

        [[providers]]
        id = "az"
        type = "openai_compatible"
        preset = "azure"
        base_url = "https://res.openai.azure.com/openai"
        api_key = "env:AZURE_OPENAI_API_KEY"

        [[providers]]
        id = "local"
        type = "openai_compatible"
        preset = "ollama"
        base_url = "http://127.0.0.1:9999/v1"

        [[providers]]
        id = "mistral"
        type = "openai_compatible"
        preset = "mistral"
        api_key = "env:MISTRAL_API_KEY"
        "#,
        &env,
    )
    .unwrap();
    let settings = |index: usize| match &config.providers[index].spec {
        ProviderSpec::OpenAi { settings, preset } => (settings.clone(), *preset),
        other => panic!("expected openai_compatible, got {other:?}"),
    };
    let (groq, preset) = settings(0);
    assert_eq!(
        (groq.base_url.as_str(), preset),
        ("https://api.groq.com/openai/v1", Some("groq"))
    );
    assert_eq!(groq.auth, AuthStyle::Bearer);
    let (azure, _) = settings(1);
    assert_eq!(azure.auth, AuthStyle::Header("api-key".into()));
    assert_eq!(azure.chat_path, "/deployments/{model}/chat/completions");
    assert_eq!(azure.query, [("api-version".to_owned(), "2024-10-21".to_owned())]);
    let (ollama, _) = settings(2);
    assert_eq!(
        ollama.base_url, "http://127.0.0.1:9999/v1",
        "the user's base_url wins"
    );
    assert!(config.providers[2].api_key.is_none(), "ollama needs no key");
    let (mistral, _) = settings(3);
    assert!(mistral.quirks.no_stream_options && mistral.quirks.max_tokens_only);
}

#[test]
fn preset_errors_name_the_key() {
    assert!(
        error_of("[[providers]]\nid = \"x\"\ntype = \"openai_compatible\"\npreset = \"nope\"")
            .starts_with("providers[0].preset: `nope` is not one of azure, groq")
    );
    assert_eq!(
        error_of("[[providers]]\nid = \"x\"\ntype = \"openai_compatible\"\npreset = \"groq\""),
        "providers[0].api_key: is required (write `api_key = \"env:GROQ_API_KEY\"`)"
    );
    assert_eq!(
        error_of(
            "[[providers]]\nid = \"x\"\ntype = \"openai_compatible\"\npreset = \"azure\"\napi_key = \"k\""
        ),
        "providers[0].base_url: is required here (no default for preset azure)"
    );
    assert_eq!(
        error_of("[[providers]]\nid = \"x\"\ntype = \"openai\"\napi_key = \"k\"\npreset = \"groq\""),
        "providers[0].preset: is not a setting of type openai here"
    );
    assert_eq!(
        error_of(
            "[[providers]]\nid = \"x\"\ntype = \"openai_compatible\"\npreset = \"groq\"\napi_key = \"k\"\napi_version = \"1\""
        ),
        "providers[0].api_version: is not a setting of type openai_compatible here"
    );
    assert_eq!(
        error_of("[[providers]]\nid = \"x\"\ntype = \"anthropic\"\napi_key = \"k\"\ndefault_max_tokens = 0"),
        "providers[0].default_max_tokens: must be above 0"
    );
    assert!(
        error_of(
            "[[providers]]\nid = \"x\"\ntype = \"gemini\"\napi_key = \"k\"\nbase_url = \"https://h/?key=1\""
        )
        .starts_with("providers[0].base_url:")
    );
}

#[test]
fn validation_auth_and_filter_errors_name_the_key() {
    let bad_regex =
        error_of("[[content_filters]]\nname = \"broken\"\npatterns = [\"(unclosed\"]\naction = \"block\"");
    assert!(
        bad_regex.starts_with("content_filters:") && bad_regex.contains("broken"),
        "{bad_regex}"
    );
    let typo = error_of(
        "[[content_filters]]\nname = \"x\"\nterms = [\"a\"]\naction = \"block\"\nreplacment = \"*\"",
    );
    assert!(typo.contains("replacment"), "{typo}");
    assert_eq!(
        error_of("[validation]\nmax_n = 0"),
        "validation.max_n: must be above 0"
    );
    assert_eq!(
        error_of("[[auth.keys]]\nname = \"a\"\nkey = \"k\"\nkey_sha256 = \"00\""),
        "auth.keys[0]: give exactly one of `key` or `key_sha256`"
    );
    assert_eq!(
        error_of("[[auth.keys]]\nname = \"a\"\nkey_sha256 = \"xyz\""),
        "auth.keys[0].key_sha256: must be 64 hexadecimal characters"
    );
    assert_eq!(
        error_of("[auth]\nadmin_key = \"same\"\n[[auth.keys]]\nname = \"a\"\nkey = \"same\""),
        "auth.keys[0].key: must differ from auth.admin_key"
    );
    assert!(
        error_of("[[rate_limits]]\nscope = \"user+team\"\nlimit = 1\nwindow = \"1m\"")
            .starts_with("rate_limits[0].scope:")
    );
    assert!(
        error_of("[[rate_limits]]\nscope = \"user\"\nlimit = 1\nwindow = \"fortnight\"")
            .starts_with("rate_limits[0].window:")
    );
    assert_eq!(
        error_of("[cache]\nmode = \"sometimes\""),
        "cache.mode: `sometimes` is not one of deterministic, always, off"
    );
    assert_eq!(
        error_of("[cache]\nbackend = \"redis\""),
        "cache.backend: `redis` needs redis.url"
    );
    assert!(error_of("[redis]\nurl = \"http://x\"").starts_with("redis.url:"));
}
