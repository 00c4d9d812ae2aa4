//! Building provider instances from validated configuration.

use std::sync::Arc;

use llm_core::{LlmError, Provider};
use llm_provider_anthropic::AnthropicProvider;
use llm_provider_gemini::GeminiProvider;
use llm_provider_mock::MockProvider;
use llm_provider_openai::OpenAiProvider;
use secrecy::ExposeSecret;

use crate::config::{ProviderConfig, ProviderSpec};

/// Instantiates the provider a configuration entry describes, handing it its key.
pub fn build_provider(config: &ProviderConfig) -> Result<Arc<dyn Provider>, LlmError> {
    let api_key = config.api_key.as_ref().map(|key| key.expose_secret().to_owned());
    match &config.spec {
        ProviderSpec::Mock(settings) => Ok(Arc::new(MockProvider::new(settings.clone()))),
        ProviderSpec::OpenAi { settings, .. } => {
            let mut settings = settings.clone();
            settings.api_key = api_key;
            Ok(Arc::new(OpenAiProvider::new(settings)?))
        }
        ProviderSpec::Anthropic(settings) => {
            let mut settings = settings.clone();
            settings.api_key = api_key;
            Ok(Arc::new(AnthropicProvider::new(settings)?))
        }
        ProviderSpec::Gemini(settings) => {
            let mut settings = settings.clone();
            settings.api_key = api_key;
            Ok(Arc::new(GeminiProvider::new(settings)?))
        }
    }
}
