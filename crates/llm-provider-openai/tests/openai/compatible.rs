//! OpenAI-compatible servers: Azure-style deployment URLs with `api-key` and `api-version`, and the
//! body quirks some servers need.

use futures::StreamExt;
use llm_core::{ErrorKind, Provider};
use llm_provider_openai::{AuthStyle, OpenAiProvider, OpenAiSettings, Quirks};
use serde_json::json;
use wiremock::matchers::{header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::request;

fn answer() -> serde_json::Value {
    json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hej"}, "finish_reason": "stop"}]})
}

fn azure_settings(server: &MockServer) -> OpenAiSettings {
    let mut settings = OpenAiSettings::new("azure".into(), format!("{}/openai", server.uri()));
    settings.api_key = Some("azure-key-123".into());
    settings.auth = AuthStyle::Header("api-key".into());
    settings.chat_path = "/deployments/{model}/chat/completions".into();
    settings.query = vec![("api-version".into(), "2024-10-21".into())];
    settings
}

#[tokio::test]
async fn azure_deployment_url_api_key_header_and_api_version() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/my-gpt4o/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", "azure-key-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/openai/models"))
        .and(query_param("api-version", "2024-10-21"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": [{"id": "gpt-4o"}]})),
        )
        .mount(&server)
        .await;
    let provider = OpenAiProvider::new(azure_settings(&server)).unwrap();
    let response = provider.complete("my-gpt4o", &request()).await.unwrap();
    assert_eq!(response.first_text(), "hej");
    assert_eq!(provider.models().await.unwrap()[0].id, "gpt-4o");
    let received = &server.received_requests().await.unwrap()[0];
    assert!(!received.headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_deployment_name_can_never_change_the_url() {
    let server = MockServer::start().await;
    let provider = OpenAiProvider::new(azure_settings(&server)).unwrap();
    for model in ["../../admin", "a/b", "x?y=1", "a b", ""] {
        let error = provider.complete(model, &request()).await.unwrap_err();
        assert_eq!(
            (error.kind(), error.param()),
            (ErrorKind::InvalidRequest, Some("model")),
            "{model}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn quirks_rename_max_completion_tokens_and_drop_stream_options() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("data: [DONE]\n\n".as_bytes().to_vec(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let mut settings = OpenAiSettings::new("mistral".into(), format!("{}/v1", server.uri()));
    settings.api_key = Some("k".into());
    settings.quirks = Quirks {
        no_stream_options: true,
        max_tokens_only: true,
    };
    let provider = OpenAiProvider::new(settings).unwrap();
    let mut chat = request();
    chat.max_tokens = None;
    chat.max_completion_tokens = Some(77);
    let items: Vec<_> = provider
        .stream("mistral-small", &chat)
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items.is_empty());
    let body: serde_json::Value = server.received_requests().await.unwrap()[0].body_json().unwrap();
    assert_eq!(body["max_tokens"], 77);
    assert!(body.get("max_completion_tokens").is_none());
    assert!(body.get("stream_options").is_none());
    assert_eq!(body["stream"], true);
}
