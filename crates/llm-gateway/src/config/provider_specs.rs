//! Validating one `[[providers]]` block into the settings its provider crate takes.

use std::time::Duration;

use llm_core::{ErrorKind, ProviderId};
use llm_provider_anthropic::AnthropicSettings;
use llm_provider_gemini::GeminiSettings;
use llm_provider_http::HttpTimeouts;
use llm_provider_mock::{MockSettings, ScriptedFailure};
use llm_provider_openai::{AuthStyle, OpenAiSettings};
use secrecy::SecretString;

use super::presets::{self, Preset};
use super::raw::{RawHttpProvider, RawMock, RawProvider};
use super::secret::resolve_secret;
use super::{ConfigError, ProviderConfig, ProviderSpec};

/// Validates one provider block; `key` is its position, e.g. `providers[2]`.
pub(crate) fn validate_provider(
    key: &str,
    provider: &RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderConfig, ConfigError> {
    let id = ProviderId::new(provider.id());
    let (enabled, http, spec) = match provider {
        RawProvider::Mock(raw) => return mock(key, raw, id),
        RawProvider::Openai(raw) => {
            let fields = Fields::new(key, raw, "openai");
            fields.refuse(&["preset", "api_version", "anthropic_version", "default_max_tokens"])?;
            let http = HttpCommon::validate(key, raw, &presets::OPENAI, env)?;
            let settings = openai_settings(&id, raw, &http, &presets::OPENAI, None);
            (
                raw.enabled,
                http,
                ProviderSpec::OpenAi {
                    settings,
                    preset: None,
                },
            )
        }
        RawProvider::OpenaiCompatible(raw) => {
            let fields = Fields::new(key, raw, "openai_compatible");
            fields.refuse(&["anthropic_version", "default_max_tokens"])?;
            let preset = match &raw.preset {
                Some(name) => presets::find(name).ok_or_else(|| {
                    ConfigError::invalid(
                        format!("{key}.preset"),
                        format!("`{name}` is not one of {}", presets::names()),
                    )
                })?,
                None => &presets::GENERIC,
            };
            if preset.api_version.is_none() {
                fields.refuse(&["api_version"])?;
            }
            let http = HttpCommon::validate(key, raw, preset, env)?;
            let settings = openai_settings(&id, raw, &http, preset, raw.api_version.as_deref());
            let preset = raw.preset.is_some().then_some(preset.name);
            (raw.enabled, http, ProviderSpec::OpenAi { settings, preset })
        }
        RawProvider::Anthropic(raw) => {
            Fields::new(key, raw, "anthropic").refuse(&["organization", "preset", "api_version"])?;
            let http = HttpCommon::validate(key, raw, &presets::ANTHROPIC, env)?;
            let mut settings = AnthropicSettings::new(id.clone(), http.base_url.clone());
            settings.extra_headers = http.headers.clone();
            settings.timeouts = http.timeouts.over(settings.timeouts);
            if let Some(version) = &raw.anthropic_version {
                settings.version = version.clone();
            }
            match raw.default_max_tokens {
                Some(0) => {
                    return Err(ConfigError::invalid(
                        format!("{key}.default_max_tokens"),
                        "must be above 0",
                    ));
                }
                Some(max) => settings.default_max_tokens = max,
                None => {}
            }
            (raw.enabled, http, ProviderSpec::Anthropic(settings))
        }
        RawProvider::Gemini(raw) => {
            Fields::new(key, raw, "gemini").refuse(&[
                "organization",
                "preset",
                "anthropic_version",
                "default_max_tokens",
            ])?;
            let http = HttpCommon::validate(key, raw, &presets::GEMINI, env)?;
            let mut settings = GeminiSettings::new(id.clone(), http.base_url.clone());
            settings.extra_headers = http.headers.clone();
            settings.timeouts = http.timeouts.over(settings.timeouts);
            if let Some(version) = &raw.api_version {
                settings.api_version = version.clone();
            }
            (raw.enabled, http, ProviderSpec::Gemini(settings))
        }
    };
    Ok(ProviderConfig {
        id,
        enabled,
        api_key: http.api_key,
        spec,
    })
}

fn openai_settings(
    id: &ProviderId,
    raw: &RawHttpProvider,
    http: &HttpCommon,
    preset: &Preset,
    api_version: Option<&str>,
) -> OpenAiSettings {
    let mut settings = OpenAiSettings::new(id.clone(), http.base_url.clone());
    settings.organization = raw.organization.clone();
    settings.extra_headers = http.headers.clone();
    settings.auth = preset
        .auth_header
        .map_or(AuthStyle::Bearer, |header| AuthStyle::Header(header.to_owned()));
    settings.chat_path = preset.chat_path.to_owned();
    if let Some(version) = api_version.or(preset.api_version) {
        settings.query = vec![("api-version".to_owned(), version.to_owned())];
    }
    settings.quirks = preset.quirks;
    settings.timeouts = http.timeouts.over(settings.timeouts);
    settings
}

/// The optional keys a block set, to refuse those meaningless for its type.
struct Fields<'a> {
    key: &'a str,
    type_name: &'a str,
    set: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn new(key: &'a str, raw: &RawHttpProvider, type_name: &'a str) -> Self {
        let candidates = [
            ("organization", raw.organization.is_some()),
            ("preset", raw.preset.is_some()),
            ("api_version", raw.api_version.is_some()),
            ("anthropic_version", raw.anthropic_version.is_some()),
            ("default_max_tokens", raw.default_max_tokens.is_some()),
        ];
        Self {
            key,
            type_name,
            set: candidates
                .into_iter()
                .filter(|(_, set)| *set)
                .map(|(name, _)| name)
                .collect(),
        }
    }

    fn refuse(&self, names: &[&str]) -> Result<(), ConfigError> {
        match self.set.iter().find(|name| names.contains(name)) {
            Some(name) => Err(ConfigError::invalid(
                format!("{}.{name}", self.key),
                format!("is not a setting of type {} here", self.type_name),
            )),
            None => Ok(()),
        }
    }
}

/// Optional timeout overrides; unset ones keep the provider's defaults.
#[derive(Clone, Copy, Debug, Default)]
struct Timeouts {
    connect: Option<Duration>,
    first_byte: Option<Duration>,
    idle: Option<Duration>,
    request: Option<Duration>,
}

impl Timeouts {
    /// `defaults` with every timeout the user set replaced.
    fn over(&self, defaults: HttpTimeouts) -> HttpTimeouts {
        HttpTimeouts {
            connect: self.connect.unwrap_or(defaults.connect),
            first_byte: self.first_byte.unwrap_or(defaults.first_byte),
            idle: self.idle.unwrap_or(defaults.idle),
            request: self.request.unwrap_or(defaults.request),
        }
    }
}

/// What every HTTP provider has: where it is, its key, extra headers and timeouts.
struct HttpCommon {
    base_url: String,
    api_key: Option<SecretString>,
    headers: Vec<(String, String)>,
    timeouts: Timeouts,
}

impl HttpCommon {
    fn validate(
        key: &str,
        raw: &RawHttpProvider,
        defaults: &Preset,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let base_url = match (raw.base_url.as_deref(), defaults.base_url) {
            (Some(url), _) | (None, Some(url)) => url.trim_end_matches('/').to_owned(),
            (None, None) => {
                return Err(ConfigError::invalid(
                    format!("{key}.base_url"),
                    format!("is required here (no default for preset {})", defaults.name),
                ));
            }
        };
        let valid_scheme = base_url.starts_with("https://") || base_url.starts_with("http://");
        if !valid_scheme || base_url.contains(char::is_whitespace) || base_url.contains(['?', '#']) {
            return Err(ConfigError::invalid(
                format!("{key}.base_url"),
                format!("`{base_url}` is not an http(s) URL without query or fragment"),
            ));
        }
        let api_key = match (&raw.api_key, defaults.key_variable) {
            (Some(reference), _) => Some(resolve_secret(&format!("{key}.api_key"), reference, env)?),
            (None, None) => None,
            (None, Some(variable)) => {
                return Err(ConfigError::invalid(
                    format!("{key}.api_key"),
                    format!("is required (write `api_key = \"env:{variable}\"`)"),
                ));
            }
        };
        for name in raw.headers.keys() {
            let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !valid {
                return Err(ConfigError::invalid(
                    format!("{key}.headers"),
                    format!("`{name}` is not a header name"),
                ));
            }
        }
        let millis = |value: Option<u64>, field: &str| match value {
            Some(0) => Err(ConfigError::invalid(format!("{key}.{field}"), "must be above 0")),
            other => Ok(other.map(Duration::from_millis)),
        };
        Ok(Self {
            base_url,
            api_key,
            headers: raw
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            timeouts: Timeouts {
                connect: millis(raw.connect_timeout_ms, "connect_timeout_ms")?,
                first_byte: millis(raw.first_byte_timeout_ms, "first_byte_timeout_ms")?,
                idle: millis(raw.idle_timeout_ms, "idle_timeout_ms")?,
                request: millis(raw.request_timeout_ms, "request_timeout_ms")?,
            },
        })
    }
}

fn mock(key: &str, raw: &RawMock, id: ProviderId) -> Result<ProviderConfig, ConfigError> {
    let mut settings = MockSettings::new(id.clone());
    if let Some(models) = &raw.models {
        if models.is_empty() || models.iter().any(String::is_empty) {
            return Err(ConfigError::invalid(
                format!("{key}.models"),
                "needs non-empty model names",
            ));
        }
        settings.models = models.clone();
    }
    if raw.chunks == 0 {
        return Err(ConfigError::invalid(format!("{key}.chunks"), "must be above 0"));
    }
    settings.chunk_count = raw.chunks;
    settings.latency = Duration::from_millis(raw.latency_ms);
    settings.chunk_delay = Duration::from_millis(raw.chunk_delay_ms);
    settings.healthy = raw.healthy;
    if let Some(failure) = &raw.failure {
        let kind = ErrorKind::from_code(&failure.kind).ok_or_else(|| {
            let known: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.code()).collect();
            ConfigError::invalid(
                format!("{key}.failure.kind"),
                format!("`{}` is not one of {}", failure.kind, known.join(", ")),
            )
        })?;
        if failure.times == Some(0) {
            return Err(ConfigError::invalid(
                format!("{key}.failure.times"),
                "must be above 0 (leave it out to fail every call)",
            ));
        }
        settings.failure = Some(ScriptedFailure {
            kind,
            after_chunks: failure.after_chunks,
            times: failure.times,
            retry_after: failure.retry_after_ms.map(Duration::from_millis),
        });
    }
    Ok(ProviderConfig {
        id,
        enabled: raw.enabled,
        api_key: None,
        spec: ProviderSpec::Mock(settings),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use llm_core::ErrorKind;
    use llm_provider_mock::ScriptedFailure;

    use super::super::{ConfigError, ProviderSpec, from_toml};

    fn mock_failure(failure: &str) -> Result<Option<ScriptedFailure>, ConfigError> {
        let config = from_toml(
            &format!("[[providers]]\nid = \"m\"\ntype = \"mock\"\nfailure = {failure}"),
            &|_| None,
        )?;
        match &config.providers[0].spec {
            ProviderSpec::Mock(settings) => Ok(settings.failure),
            _ => Ok(None),
        }
    }

    #[test]
    fn mock_failures_map_times_and_retry_after() {
        let failure = mock_failure(
            "{ kind = \"rate_limit_exceeded\", after_chunks = 2, times = 3, retry_after_ms = 20 }",
        );
        assert_eq!(
            failure.map_err(|error| error.to_string()),
            Ok(Some(ScriptedFailure {
                kind: ErrorKind::RateLimited,
                after_chunks: Some(2),
                times: Some(3),
                retry_after: Some(Duration::from_millis(20)),
            }))
        );
        let every_call = mock_failure("{ kind = \"timeout\" }");
        assert_eq!(
            every_call.map_err(|error| error.to_string()),
            Ok(Some(ScriptedFailure::new(ErrorKind::Timeout)))
        );
    }

    #[test]
    fn zero_times_is_refused() {
        match mock_failure("{ kind = \"timeout\", times = 0 }") {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "providers[0].failure.times"),
            other => panic!("not an invalid value: {other:?}"),
        }
    }
}
