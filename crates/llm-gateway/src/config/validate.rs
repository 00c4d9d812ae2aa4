//! Turning a [`RawConfig`] into a [`Config`] that is valid by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use llm_core::ProviderId;

use super::provider_specs::validate_provider;
use secrecy::ExposeSecret;

use llm_ratelimit::{OnStoreError, Rule, RuleError, Scope, Unit, parse_window};

use llm_validation::{ContentFilter, FilterRuleConfig, PayloadLimits};

use super::raw::{
    RawAuth, RawCache, RawConfig, RawLimits, RawModelAlias, RawRateLimit, RawRedis, RawTelemetry,
    RawValidation,
};
use super::secret::resolve_secret;
use super::{
    CacheBackend, CacheConfig, CacheMode, Config, ConfigError, Deployment, HealthConfig, LimitSettings,
    ModelAlias, RedisConfig, ServerConfig, TelemetryConfig, ValidationConfig,
};
use crate::auth::{Authenticator, ClientKey, hash_key, parse_key_hash};

/// Validates every section, naming the first key at fault.
pub(crate) fn validate(raw: RawConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let bind: SocketAddr = raw.server.bind.parse().map_err(|_| {
        ConfigError::invalid(
            "server.bind",
            format!("`{}` is not an address like 127.0.0.1:8080", raw.server.bind),
        )
    })?;
    if raw.server.max_body_bytes == 0 {
        return Err(ConfigError::invalid("server.max_body_bytes", "must be above 0"));
    }
    let max_body_bytes = usize::try_from(raw.server.max_body_bytes)
        .map_err(|_| ConfigError::invalid("server.max_body_bytes", "too large"))?;
    if raw.health.probe_interval_secs == 0 {
        return Err(ConfigError::invalid(
            "health.probe_interval_secs",
            "must be above 0",
        ));
    }
    if raw.health.probe_timeout_ms == 0 {
        return Err(ConfigError::invalid("health.probe_timeout_ms", "must be above 0"));
    }

    let mut seen = BTreeSet::new();
    let mut providers = Vec::with_capacity(raw.providers.len());
    for (index, provider) in raw.providers.iter().enumerate() {
        let key = format!("providers[{index}]");
        validate_id(&format!("{key}.id"), provider.id())?;
        if !seen.insert(provider.id().to_owned()) {
            return Err(ConfigError::invalid(
                format!("{key}.id"),
                format!("duplicate provider id `{}`", provider.id()),
            ));
        }
        providers.push(validate_provider(&key, provider, env)?);
    }
    if providers.is_empty() {
        return Err(ConfigError::invalid(
            "providers",
            "at least one provider is needed",
        ));
    }

    let mut models = BTreeMap::new();
    for (name, alias) in raw.models {
        let alias = validate_alias(&name, alias, &seen)?;
        models.insert(name, alias);
    }
    validate_fallbacks(&models, &seen)?;
    let routing = super::routing::validate_routing(&raw.routing)?;

    let redis = validate_redis(&raw.redis, env)?;
    let cache = validate_cache(&raw.cache, redis.is_some())?;
    let rate_limits = raw
        .rate_limits
        .iter()
        .enumerate()
        .map(|(index, rule)| validate_rate_limit(&format!("rate_limits[{index}]"), rule))
        .collect::<Result<Vec<_>, _>>()?;
    let limits = validate_limits(&raw.limits)?;
    let auth = validate_auth(&raw.auth, env)?;
    let validation = validate_validation(&raw.validation)?;
    let content_filters = validate_filters(&raw.content_filters)?;
    let telemetry = validate_telemetry(&raw.telemetry)?;

    Ok(Config {
        server: ServerConfig {
            bind,
            max_body_bytes,
            shutdown_grace: Duration::from_secs(raw.server.shutdown_grace_secs),
        },
        health: HealthConfig {
            probe_interval: Duration::from_secs(raw.health.probe_interval_secs),
            probe_timeout: Duration::from_millis(raw.health.probe_timeout_ms),
        },
        providers,
        models,
        cache,
        redis,
        rate_limits,
        limits,
        auth,
        validation,
        content_filters,
        telemetry,
        routing,
    })
}

fn validate_id(key: &str, id: &str) -> Result<(), ConfigError> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("`{id}` must be 1-64 characters of letters, digits, `-`, `_` or `.`"),
        ))
    }
}

fn validate_alias(
    name: &str,
    alias: RawModelAlias,
    providers: &BTreeSet<String>,
) -> Result<ModelAlias, ConfigError> {
    let key = format!("models.{name}");
    if name.is_empty() {
        return Err(ConfigError::invalid("models", "a model name must not be empty"));
    }
    if alias.deployments.is_empty() {
        return Err(ConfigError::invalid(
            format!("{key}.deployments"),
            "needs at least one deployment",
        ));
    }
    let mut deployments = Vec::with_capacity(alias.deployments.len());
    for (index, deployment) in alias.deployments.into_iter().enumerate() {
        if !providers.contains(&deployment.provider) {
            return Err(ConfigError::invalid(
                format!("{key}.deployments[{index}].provider"),
                format!("`{}` is not a configured provider id", deployment.provider),
            ));
        }
        if deployment.model.is_empty() {
            return Err(ConfigError::invalid(
                format!("{key}.deployments[{index}].model"),
                "must not be empty",
            ));
        }
        if deployment.max_inflight == Some(0) || deployment.rpm == Some(0) {
            return Err(ConfigError::invalid(
                format!("{key}.deployments[{index}]"),
                "max_inflight and rpm must be at least 1 when given",
            ));
        }
        deployments.push(Deployment {
            provider: ProviderId::new(deployment.provider.as_str()),
            model: deployment.model,
            weight: deployment.weight,
            max_inflight: deployment.max_inflight,
            rpm: deployment.rpm,
        });
    }
    let strategy = super::routing::parse_strategy(&format!("{key}.strategy"), alias.strategy.as_deref())?;
    Ok(ModelAlias {
        deployments,
        strategy,
        fallbacks: alias.fallbacks,
    })
}

/// Each fallback names another `[models]` entry or `provider/model` with a configured provider.
fn validate_fallbacks(
    models: &BTreeMap<String, ModelAlias>,
    providers: &BTreeSet<String>,
) -> Result<(), ConfigError> {
    for (name, alias) in models {
        for (index, fallback) in alias.fallbacks.iter().enumerate() {
            let key = format!("models.{name}.fallbacks[{index}]");
            if fallback == name {
                return Err(ConfigError::invalid(key, "a model cannot fall back to itself"));
            }
            let known = models.contains_key(fallback)
                || fallback
                    .split_once('/')
                    .is_some_and(|(provider, model)| providers.contains(provider) && !model.is_empty());
            if !known {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "`{fallback}` is neither a [models] name nor `provider/model` with a configured provider"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn validate_redis(
    raw: &RawRedis,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<RedisConfig>, ConfigError> {
    let Some(reference) = &raw.url else {
        return Ok(None);
    };
    let url = resolve_secret("redis.url", reference, env)?;
    let scheme_ok = ["redis://", "rediss://", "redis-cluster://", "redis-sentinel://"]
        .iter()
        .any(|scheme| url.expose_secret().starts_with(scheme));
    if !scheme_ok {
        return Err(ConfigError::invalid(
            "redis.url",
            "must start with redis://, rediss://, redis-cluster:// or redis-sentinel://",
        ));
    }
    if raw.timeout_ms == 0 {
        return Err(ConfigError::invalid("redis.timeout_ms", "must be above 0"));
    }
    if raw.pool_size == 0 || raw.pool_size > 64 {
        return Err(ConfigError::invalid(
            "redis.pool_size",
            "must be between 1 and 64",
        ));
    }
    Ok(Some(RedisConfig {
        url,
        timeout: Duration::from_millis(raw.timeout_ms),
        pool_size: raw.pool_size,
    }))
}

fn validate_cache(raw: &RawCache, have_redis: bool) -> Result<CacheConfig, ConfigError> {
    let backend = match (raw.backend.as_deref(), have_redis) {
        (Some("memory"), _) | (None, false) => CacheBackend::Memory,
        (Some("redis"), true) | (None, true) => CacheBackend::Redis,
        (Some("redis"), false) => {
            return Err(ConfigError::invalid("cache.backend", "`redis` needs redis.url"));
        }
        (Some(other), _) => {
            return Err(ConfigError::invalid(
                "cache.backend",
                format!("`{other}` is not one of memory, redis"),
            ));
        }
    };
    if raw.ttl_secs == 0 {
        return Err(ConfigError::invalid("cache.ttl_secs", "must be above 0"));
    }
    if raw.max_ttl_secs < raw.ttl_secs {
        return Err(ConfigError::invalid(
            "cache.max_ttl_secs",
            "must be at least cache.ttl_secs",
        ));
    }
    if raw.memory_max_bytes == 0 {
        return Err(ConfigError::invalid("cache.memory_max_bytes", "must be above 0"));
    }
    let namespace_ok = !raw.namespace.is_empty()
        && raw.namespace.len() <= 64
        && raw
            .namespace
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !namespace_ok {
        return Err(ConfigError::invalid(
            "cache.namespace",
            "must be 1-64 characters of letters, digits, `-`, `_` or `.`",
        ));
    }
    let mut per_model = BTreeMap::new();
    for (model, mode) in &raw.per_model {
        per_model.insert(
            model.clone(),
            CacheMode::parse(&format!("cache.per_model.{model}"), mode)?,
        );
    }
    Ok(CacheConfig {
        backend,
        mode: CacheMode::parse("cache.mode", &raw.mode)?,
        ttl: Duration::from_secs(raw.ttl_secs),
        max_ttl: Duration::from_secs(raw.max_ttl_secs),
        adaptive_ttl: raw.adaptive_ttl,
        memory_max_bytes: raw.memory_max_bytes,
        namespace: raw.namespace.clone(),
        single_flight_wait: Duration::from_millis(raw.single_flight_wait_ms),
        per_model,
    })
}

fn validate_rate_limit(key: &str, raw: &RawRateLimit) -> Result<Rule, ConfigError> {
    let invalid = |field: &'static str| {
        move |error: RuleError| ConfigError::invalid(format!("{key}.{field}"), error.to_string())
    };
    let scope = Scope::parse(&raw.scope).map_err(invalid("scope"))?;
    let unit = Unit::parse(&raw.unit).map_err(invalid("unit"))?;
    let window = parse_window(&raw.window).map_err(invalid("window"))?;
    let on_store_error = OnStoreError::parse(&raw.on_redis_error).map_err(invalid("on_redis_error"))?;
    Rule::new(scope, unit, raw.limit, window, on_store_error).map_err(invalid("limit"))
}

fn validate_limits(raw: &RawLimits) -> Result<LimitSettings, ConfigError> {
    let header_ok = !raw.user_header.is_empty()
        && raw
            .user_header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !header_ok {
        return Err(ConfigError::invalid("limits.user_header", "is not a header name"));
    }
    if raw.default_output_tokens == 0 {
        return Err(ConfigError::invalid(
            "limits.default_output_tokens",
            "must be above 0",
        ));
    }
    Ok(LimitSettings {
        user_header: raw.user_header.to_ascii_lowercase(),
        default_output_tokens: raw.default_output_tokens,
    })
}

fn validate_auth(raw: &RawAuth, env: &dyn Fn(&str) -> Option<String>) -> Result<Authenticator, ConfigError> {
    let admin = match &raw.admin_key {
        Some(reference) => Some(hash_key(
            resolve_secret("auth.admin_key", reference, env)?.expose_secret(),
        )),
        None => None,
    };
    let mut names = BTreeSet::new();
    let mut keys = Vec::with_capacity(raw.keys.len());
    for (index, key) in raw.keys.iter().enumerate() {
        let at = format!("auth.keys[{index}]");
        validate_id(&format!("{at}.name"), &key.name)?;
        if !names.insert(key.name.clone()) {
            return Err(ConfigError::invalid(
                format!("{at}.name"),
                format!("duplicate key name `{}`", key.name),
            ));
        }
        let hash = match (&key.key, &key.key_sha256) {
            (Some(reference), None) => {
                hash_key(resolve_secret(&format!("{at}.key"), reference, env)?.expose_secret())
            }
            (None, Some(hex)) => parse_key_hash(hex).ok_or_else(|| {
                ConfigError::invalid(format!("{at}.key_sha256"), "must be 64 hexadecimal characters")
            })?,
            _ => {
                return Err(ConfigError::invalid(
                    &at,
                    "give exactly one of `key` or `key_sha256`",
                ));
            }
        };
        if admin == Some(hash) {
            return Err(ConfigError::invalid(
                format!("{at}.key"),
                "must differ from auth.admin_key",
            ));
        }
        if key.max_prompt_tokens == Some(0) {
            return Err(ConfigError::invalid(
                format!("{at}.max_prompt_tokens"),
                "must be above 0",
            ));
        }
        keys.push(ClientKey {
            name: key.name.clone(),
            hash,
            models: key.models.clone(),
            max_prompt_tokens: key.max_prompt_tokens,
        });
    }
    Ok(Authenticator::new(keys, admin))
}

fn validate_validation(raw: &RawValidation) -> Result<ValidationConfig, ConfigError> {
    let mut payload = PayloadLimits::default();
    let positive = |value: Option<usize>, key: &str, target: &mut usize| match value {
        Some(0) => Err(ConfigError::invalid(
            format!("validation.{key}"),
            "must be above 0",
        )),
        Some(value) => {
            *target = value;
            Ok(())
        }
        None => Ok(()),
    };
    positive(raw.max_messages, "max_messages", &mut payload.max_messages)?;
    positive(
        raw.max_message_bytes,
        "max_message_bytes",
        &mut payload.max_message_bytes,
    )?;
    positive(
        raw.max_request_text_bytes,
        "max_request_text_bytes",
        &mut payload.max_request_text_bytes,
    )?;
    positive(raw.max_stop, "max_stop", &mut payload.max_stop)?;
    positive(raw.max_tools, "max_tools", &mut payload.max_tools)?;
    match raw.max_n {
        Some(0) => return Err(ConfigError::invalid("validation.max_n", "must be above 0")),
        Some(max) => payload.max_n = max,
        None => {}
    }
    for (table, values) in [
        ("max_prompt_tokens", &raw.max_prompt_tokens),
        ("context_windows", &raw.context_windows),
    ] {
        if let Some((model, _)) = values.iter().find(|(_, value)| **value == 0) {
            return Err(ConfigError::invalid(
                format!("validation.{table}.{model}"),
                "must be above 0",
            ));
        }
    }
    Ok(ValidationConfig {
        payload,
        max_prompt_tokens: raw.max_prompt_tokens.clone(),
        context_windows: raw.context_windows.clone(),
    })
}

fn validate_filters(rules: &[FilterRuleConfig]) -> Result<Vec<FilterRuleConfig>, ConfigError> {
    ContentFilter::new(rules.to_vec())
        .map_err(|error| ConfigError::invalid("content_filters", error.to_string()))?;
    Ok(rules.to_vec())
}

fn validate_telemetry(raw: &RawTelemetry) -> Result<TelemetryConfig, ConfigError> {
    let otlp_endpoint = match raw.otlp_endpoint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(endpoint) => Some(validate_otlp_endpoint(endpoint)?),
    };
    let service_name = raw.service_name.trim();
    if service_name.is_empty() || service_name.chars().any(char::is_control) {
        return Err(ConfigError::invalid(
            "telemetry.service_name",
            "must be a non-empty name without control characters",
        ));
    }
    if !(0.0..=1.0).contains(&raw.sample_ratio) {
        return Err(ConfigError::invalid(
            "telemetry.sample_ratio",
            format!("`{}` is not between 0.0 and 1.0", raw.sample_ratio),
        ));
    }
    Ok(TelemetryConfig {
        otlp_endpoint,
        service_name: service_name.to_owned(),
        sample_ratio: raw.sample_ratio,
    })
}

/// An http(s) base URL without credentials, query or fragment, returned without its trailing `/`.
fn validate_otlp_endpoint(endpoint: &str) -> Result<String, ConfigError> {
    const KEY: &str = "telemetry.otlp_endpoint";
    let url = llm_provider_http::reqwest::Url::parse(endpoint)
        .map_err(|error| ConfigError::invalid(KEY, format!("`{endpoint}` is not a URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(ConfigError::invalid(
            KEY,
            format!("`{endpoint}` is not an http:// or https:// URL"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(
            KEY,
            "must not hold credentials; pass them as headers in OTEL_EXPORTER_OTLP_HEADERS",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(KEY, "must have no query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::{ConfigError, TelemetryConfig, from_toml};

    fn telemetry(section: &str) -> Result<TelemetryConfig, ConfigError> {
        from_toml(&format!("[telemetry]\n{section}"), &|_| None).map(|config| config.telemetry)
    }

    fn error_key(section: &str) -> String {
        match telemetry(section) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => format!("not an invalid value: {other:?}"),
        }
    }

    #[test]
    fn telemetry_defaults_export_nothing() {
        let defaults = from_toml("", &|_| None).map(|config| config.telemetry);
        assert_eq!(
            defaults.ok(),
            Some(TelemetryConfig {
                otlp_endpoint: None,
                service_name: "llm-gateway".to_owned(),
                sample_ratio: 1.0,
            })
        );
        assert_eq!(
            telemetry("otlp_endpoint = \"\"")
                .ok()
                .and_then(|t| t.otlp_endpoint),
            None
        );
    }

    #[test]
    fn telemetry_accepts_http_and_https_endpoints() {
        let config = telemetry(
            "otlp_endpoint = \"http://collector:4318/\"\nservice_name = \"gw-eu\"\nsample_ratio = 0.25",
        );
        assert_eq!(
            config.ok(),
            Some(TelemetryConfig {
                otlp_endpoint: Some("http://collector:4318".to_owned()),
                service_name: "gw-eu".to_owned(),
                sample_ratio: 0.25,
            })
        );
        let https = telemetry("otlp_endpoint = \"https://otel.example.com/otlp\"\nsample_ratio = 0");
        assert_eq!(
            https.ok().and_then(|t| t.otlp_endpoint).as_deref(),
            Some("https://otel.example.com/otlp")
        );
    }

    #[test]
    fn telemetry_refuses_bad_endpoints_naming_the_key() {
        for endpoint in [
            "collector:4318",
            "not a url",
            "grpc://collector:4317",
            "ftp://collector",
            "http://user:pass@collector:4318",
            "http://collector:4318?x=1",
            "http://collector:4318#top",
        ] {
            assert_eq!(
                error_key(&format!("otlp_endpoint = \"{endpoint}\"")),
                "telemetry.otlp_endpoint",
                "{endpoint}"
            );
        }
    }

    #[test]
    fn telemetry_refuses_bad_ratio_and_name() {
        for ratio in ["-0.1", "1.5", "nan", "inf"] {
            assert_eq!(
                error_key(&format!("sample_ratio = {ratio}")),
                "telemetry.sample_ratio",
                "{ratio}"
            );
        }
        assert_eq!(error_key("service_name = \" \""), "telemetry.service_name");
    }

    #[test]
    fn telemetry_refuses_unknown_keys() {
        let error = telemetry("otlp_headers = \"x\"")
            .err()
            .map(|error| error.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|message| message.contains("otlp_headers")),
            "{error:?}"
        );
    }
}
