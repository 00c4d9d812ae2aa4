//! Routing, the registry and health through a real `Gateway` over mock providers.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use llm_core::{ChatRequest, ErrorKind, RequestId};
use llm_gateway::config::{ProviderConfig, ProviderSpec, from_toml};
use llm_gateway::{Gateway, RequestContext};
use llm_provider_mock::MockSettings;

const CONFIG: &str = r#"
[[providers]]
id = "alpha"
type = "mock"
models = ["a-model", "shared"]

[[providers]]
id = "beta"
type = "mock"
models = ["b-model", "shared"]

[[providers]]
id = "sick"
type = "mock"
healthy = false

[models.fast]
# alpha is a standby (weight 0): used only when beta cannot serve.
deployments = [{ provider = "beta", model = "b-model" }, { provider = "alpha", model = "a-model", weight = 0 }]
"#;

async fn gateway() -> Gateway {
    let config = from_toml(CONFIG, &|_| None).unwrap();
    Gateway::new(&config).await.unwrap()
}

fn ctx() -> RequestContext {
    RequestContext::new(RequestId::generate())
}

async fn served_by(gateway: &Gateway, model: &str) -> Result<(String, String), ErrorKind> {
    gateway
        .complete(&ctx(), ChatRequest::from_prompt(model, "hi"))
        .await
        .map(|done| (done.provider.to_string(), done.response.model))
        .map_err(|error| error.kind())
}

#[tokio::test]
async fn routes_explicit_alias_and_bare_names() {
    let gateway = gateway().await;
    assert_eq!(
        served_by(&gateway, "alpha/anything").await,
        Ok(("alpha".into(), "anything".into()))
    );
    assert_eq!(
        served_by(&gateway, "fast").await,
        Ok(("beta".into(), "b-model".into()))
    );
    assert_eq!(
        served_by(&gateway, "b-model").await,
        Ok(("beta".into(), "b-model".into()))
    );
    assert_eq!(
        served_by(&gateway, "shared").await,
        Ok(("alpha".into(), "shared".into()))
    );
    assert_eq!(
        served_by(&gateway, "nobody/serves-this").await,
        Err(ErrorKind::NotFound)
    );
    assert_eq!(served_by(&gateway, "unknown").await, Err(ErrorKind::NotFound));
}

#[tokio::test]
async fn disabled_and_removed_providers_are_skipped() {
    let gateway = gateway().await;
    gateway.registry().set_enabled("beta", false).unwrap();
    assert_eq!(
        served_by(&gateway, "fast").await,
        Ok(("alpha".into(), "a-model".into()))
    );
    assert_eq!(
        served_by(&gateway, "beta/x").await,
        Err(ErrorKind::ProviderUnavailable)
    );
    gateway.remove_provider("alpha").unwrap();
    assert_eq!(
        served_by(&gateway, "fast").await,
        Err(ErrorKind::ProviderUnavailable)
    );
    assert_eq!(served_by(&gateway, "a-model").await, Err(ErrorKind::NotFound));
    assert_eq!(
        gateway.remove_provider("alpha").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn providers_added_at_run_time_are_probed_and_routable() {
    let gateway = gateway().await;
    let mut settings = MockSettings::new("gamma");
    settings.models = vec!["g-model".into()];
    let config = ProviderConfig {
        id: "gamma".into(),
        enabled: true,
        api_key: None,
        spec: ProviderSpec::Mock(settings),
    };
    gateway.add_provider(&config).await.unwrap();
    assert_eq!(
        served_by(&gateway, "g-model").await,
        Ok(("gamma".into(), "g-model".into()))
    );
    let again = gateway.add_provider(&config).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn health_is_degraded_when_one_provider_is_sick() {
    let gateway = gateway().await;
    let health = gateway.health();
    assert_eq!(health.status, "degraded");
    assert!(health.ready);
    let sick = health.providers.iter().find(|p| p.id.as_str() == "sick").unwrap();
    let record = sick.health.as_ref().unwrap();
    assert!(
        record
            .error
            .as_deref()
            .unwrap()
            .starts_with("provider_unavailable")
    );
    for id in ["alpha", "beta"] {
        gateway.registry().set_enabled(id, false).unwrap();
    }
    let health = gateway.health();
    assert_eq!(health.status, "unavailable");
    assert!(!health.ready);
}

#[tokio::test]
async fn empty_requests_are_refused_before_routing() {
    let gateway = gateway().await;
    let mut request = ChatRequest::from_prompt("fast", "hi");
    request.messages.clear();
    let error = gateway.complete(&ctx(), request).await.unwrap_err();
    assert_eq!(
        (error.kind(), error.param()),
        (ErrorKind::InvalidRequest, Some("messages"))
    );
}

#[tokio::test]
async fn streams_come_from_the_routed_provider() {
    let gateway = gateway().await;
    let opened = gateway
        .stream(&ctx(), ChatRequest::from_prompt("fast", "one two"))
        .await
        .unwrap();
    assert_eq!(opened.provider.as_str(), "beta");
    let text: String = opened
        .chunks
        .filter_map(|item| async move { item.ok()?.text_delta().map(str::to_owned) })
        .collect()
        .await;
    assert_eq!(text, "one two");
}

#[tokio::test]
async fn a_keys_prompt_maximum_and_model_list_apply() {
    let gateway = gateway().await;
    let mut ctx = ctx();
    ctx.principal = Some(llm_gateway::Principal {
        name: "small-key".into(),
        models: vec!["alpha/a-model".into()],
        max_prompt_tokens: Some(10),
    });
    let long = ChatRequest::from_prompt("alpha/a-model", "word ".repeat(50));
    let error = gateway.complete(&ctx, long).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContextLengthExceeded);
    assert!(error.message().contains("10"), "{}", error.message());
    let short = ChatRequest::from_prompt("alpha/a-model", "hi");
    assert!(gateway.complete(&ctx, short).await.is_ok());
    let other = ChatRequest::from_prompt("beta/b-model", "hi");
    let refused = gateway.complete(&ctx, other).await.unwrap_err();
    assert_eq!(
        (refused.kind(), refused.param()),
        (ErrorKind::PermissionDenied, Some("model"))
    );
}
