//! Building provider instances from validated configuration.

use std::sync::Arc;

use llm_core::{LlmError, Provider};
use llm_provider_mock::MockProvider;
use llm_provider_openai::{OpenAiProvider, OpenAiSettings};
use secrecy::ExposeSecret;

use crate::config::{ProviderConfig, ProviderSpec};

/// Instantiates the provider a configuration entry describes.
pub fn build_provider(config: &ProviderConfig) -> Result<Arc<dyn Provider>, LlmError> {
    match &config.spec {
        ProviderSpec::Mock(settings) => {
            let mut settings = settings.clone();
            settings.id = config.id.clone();
            Ok(Arc::new(MockProvider::new(settings)))
        }
        ProviderSpec::OpenAi(spec) => {
            let mut settings = OpenAiSettings::new(config.id.clone(), spec.base_url.clone());
            settings.api_key = spec.api_key.as_ref().map(|key| key.expose_secret().to_owned());
            settings.organization = spec.organization.clone();
            settings.extra_headers = spec
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            settings.connect_timeout = spec.connect_timeout;
            settings.first_byte_timeout = spec.first_byte_timeout;
            settings.idle_timeout = spec.idle_timeout;
            settings.request_timeout = spec.request_timeout;
            Ok(Arc::new(OpenAiProvider::new(settings)?))
        }
    }
}
