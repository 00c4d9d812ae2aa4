//! Secret references: `env:VAR` is read from the environment, anything else is taken literally.

use secrecy::SecretString;

use super::ConfigError;

/// Resolves a secret reference found at `key`.
pub(crate) fn resolve_secret(
    key: &str,
    reference: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SecretString, ConfigError> {
    match reference.strip_prefix("env:") {
        Some("") => Err(ConfigError::invalid(key, "`env:` needs a variable name")),
        Some(variable) => match env(variable) {
            Some(value) if !value.is_empty() => Ok(SecretString::from(value)),
            _ => Err(ConfigError::invalid(
                key,
                format!("environment variable {variable} is not set"),
            )),
        },
        None if reference.is_empty() => Err(ConfigError::invalid(key, "must not be empty")),
        None => Ok(SecretString::from(reference.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn env_references_resolve_and_missing_ones_name_the_key() {
        let env = |name: &str| (name == "K").then(|| "sk-1".to_owned());
        let secret = resolve_secret("providers[0].api_key", "env:K", &env).unwrap();
        assert_eq!(secret.expose_secret(), "sk-1");
        let error = resolve_secret("providers[0].api_key", "env:MISSING", &env).unwrap_err();
        assert_eq!(
            error.to_string(),
            "providers[0].api_key: environment variable MISSING is not set"
        );
        assert!(!format!("{secret:?}").contains("sk-1"));
    }
}
