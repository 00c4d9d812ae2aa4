//! The GraphQL API over HTTP, end to end: queries and mutations against the real server, with the
//! same pipeline (validation, cache, rate limits, auth) and error codes as REST.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::graphql::*;
use support::{TestServer, client};

#[tokio::test]
async fn complete_answers_through_the_gateway() {
    let server = TestServer::start(CONFIG).await;
    let body = graphql(
        &server,
        COMPLETE,
        json!({"input": input("fast", "hello brave world")}),
        None,
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let answer = &body["data"]["complete"];
    assert!(answer["id"].as_str().unwrap().starts_with("chatcmpl-"), "{body}");
    assert_eq!(answer["model"], "echo");
    assert_eq!(answer["provider"], "mock");
    assert_eq!(answer["content"], "hello brave world");
    assert_eq!(answer["finishReason"], "STOP");
    assert_eq!(answer["cached"], false);
    assert!(answer["latencyMs"].as_i64().unwrap() >= 0);
    assert_eq!(answer["toolCalls"], json!([]));
    let usage = &answer["usage"];
    assert_eq!(usage["completionTokens"], 3);
    assert_eq!(
        usage["totalTokens"].as_i64().unwrap(),
        usage["promptTokens"].as_i64().unwrap() + 3
    );
}

#[tokio::test]
async fn providers_models_and_health_are_queryable() {
    let server = TestServer::start(CONFIG).await;
    let query = "{ providers { id kind enabled models } provider(id: \"broken\") { id kind enabled } \
         models(provider: \"mock\") { id provider contextWindow aliases } \
         health { status ready providers { id enabled } cache { backend reachable } } }";
    let body = graphql(&server, query, json!({}), None).await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = &body["data"];
    assert_eq!(
        data["providers"],
        json!([
            {"id": "mock", "kind": "mock", "enabled": true, "models": ["echo"]},
            {"id": "broken", "kind": "mock", "enabled": true, "models": ["echo"]},
        ])
    );
    assert_eq!(
        data["provider"],
        json!({"id": "broken", "kind": "mock", "enabled": true})
    );
    assert_eq!(
        data["models"],
        json!([{"id": "mock/echo", "provider": "mock", "contextWindow": null, "aliases": ["fast"]}])
    );
    assert_eq!(
        data["health"]["cache"],
        json!({"backend": "memory", "reachable": true})
    );
    assert!(data["health"]["status"].is_string());
    let ids: Vec<&str> = data["health"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mock", "broken"]);

    let missing = graphql(&server, "{ provider(id: \"nope\") { id } }", json!({}), None).await;
    assert_eq!(
        error_code(&missing),
        ("not_found".to_owned(), Some("id".to_owned()))
    );
    assert_eq!(missing["data"], Value::Null);
}

#[tokio::test]
async fn domain_errors_carry_the_rest_codes() {
    let server = TestServer::start(CONFIG).await;
    let unknown = graphql(
        &server,
        COMPLETE,
        json!({"input": input("no-such-model", "x")}),
        None,
    )
    .await;
    assert_eq!(error_code(&unknown).0, "not_found", "{unknown}");

    let mut hot = input("fast", "x");
    hot["temperature"] = json!(5.0);
    let invalid = graphql(&server, COMPLETE, json!({"input": hot}), None).await;
    assert_eq!(
        error_code(&invalid),
        ("invalid_request".to_owned(), Some("temperature".to_owned())),
        "{invalid}"
    );
}

#[tokio::test]
async fn the_cache_applies() {
    let server = TestServer::start(CONFIG).await;
    let mut request = input("fast", "cache me");
    request["temperature"] = json!(0.0);
    let first = graphql(&server, COMPLETE, json!({"input": request.clone()}), None).await;
    assert_eq!(first["data"]["complete"]["cached"], false, "{first}");
    let second = graphql(&server, COMPLETE, json!({"input": request.clone()}), None).await;
    assert_eq!(second["data"]["complete"]["cached"], true, "{second}");
    assert_eq!(second["data"]["complete"]["content"], "cache me");
    request["noCache"] = json!(true);
    let bypass = graphql(&server, COMPLETE, json!({"input": request}), None).await;
    assert_eq!(bypass["data"]["complete"]["cached"], false, "{bypass}");
}

#[tokio::test]
async fn rate_limits_apply() {
    let config = format!("[[rate_limits]]\nscope = \"user\"\nlimit = 1\nwindow = \"1h\"\n{CONFIG}");
    let server = TestServer::start(&config).await;
    let first = graphql(&server, COMPLETE, json!({"input": input("fast", "one")}), None).await;
    assert!(first.get("errors").is_none(), "{first}");
    let second = graphql(&server, COMPLETE, json!({"input": input("fast", "two")}), None).await;
    assert_eq!(error_code(&second).0, "rate_limit_exceeded", "{second}");
    assert!(second["errors"][0]["extensions"]["retryAfter"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn queries_need_a_client_key_and_mutations_the_admin_key() {
    let server = auth_server("").await;
    let refused = graphql(&server, COMPLETE, json!({"input": input("fast", "x")}), None).await;
    assert_eq!(error_code(&refused).0, "authentication", "{refused}");
    let wrong = graphql(&server, "{ providers { id } }", json!({}), Some("sk-wrong")).await;
    assert_eq!(error_code(&wrong).0, "authentication", "{wrong}");
    let allowed = graphql(
        &server,
        COMPLETE,
        json!({"input": input("fast", "x")}),
        Some(TEAM),
    )
    .await;
    assert_eq!(allowed["data"]["complete"]["content"], "x", "{allowed}");
    // health stays public, as on REST
    let health = graphql(&server, "{ health { ready } }", json!({}), None).await;
    assert!(health.get("errors").is_none(), "{health}");

    let add = "mutation($config: String!) { addProvider(config: $config) { id kind enabled models } }";
    let block = json!({"id": "late", "type": "mock", "models": ["late-model"]}).to_string();
    for key in [None, Some(TEAM)] {
        let refused = graphql(&server, add, json!({"config": block}), key).await;
        assert_eq!(error_code(&refused).0, "authentication", "{refused}");
    }
    let added = graphql(&server, add, json!({"config": block}), Some(ADMIN)).await;
    assert_eq!(
        added["data"]["addProvider"],
        json!({"id": "late", "kind": "mock", "enabled": true, "models": ["late-model"]}),
        "{added}"
    );
    let listed = graphql(
        &server,
        "{ provider(id: \"late\") { id models } }",
        json!({}),
        Some(TEAM),
    )
    .await;
    assert_eq!(
        listed["data"]["provider"],
        json!({"id": "late", "models": ["late-model"]})
    );

    let bad = graphql(&server, add, json!({"config": "{\"id\": \"x\"}"}), Some(ADMIN)).await;
    assert_eq!(error_code(&bad).0, "invalid_request", "{bad}");

    let switch = "mutation { setProviderEnabled(id: \"late\", enabled: false) { id enabled } }";
    let switched = graphql(&server, switch, json!({}), Some(ADMIN)).await;
    assert_eq!(
        switched["data"]["setProviderEnabled"],
        json!({"id": "late", "enabled": false})
    );

    let update =
        "mutation($config: String!) { updateProvider(id: \"late\", config: $config) { id enabled models } }";
    let replaced = json!({"id": "late", "type": "mock", "models": ["newer"]}).to_string();
    let updated = graphql(&server, update, json!({"config": replaced}), Some(ADMIN)).await;
    assert_eq!(
        updated["data"]["updateProvider"],
        json!({"id": "late", "enabled": true, "models": ["newer"]}),
        "{updated}"
    );

    let remove = "mutation { removeProvider(id: \"late\") }";
    let refused = graphql(&server, remove, json!({}), Some(TEAM)).await;
    assert_eq!(error_code(&refused).0, "authentication");
    let removed = graphql(&server, remove, json!({}), Some(ADMIN)).await;
    assert_eq!(removed["data"]["removeProvider"], "late");
    let gone = graphql(
        &server,
        "{ provider(id: \"late\") { id } }",
        json!({}),
        Some(TEAM),
    )
    .await;
    assert_eq!(error_code(&gone).0, "not_found");
}

#[tokio::test]
async fn graphiql_is_served_on_get() {
    let server = TestServer::start(CONFIG).await;
    let response = client().get(server.url("/graphql")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("GraphiQL") && page.contains("/graphql/ws"),
        "{page}"
    );
}

#[tokio::test]
async fn the_schema_file_matches_introspection() {
    let server = TestServer::start(CONFIG).await;
    let body = graphql(
        &server,
        "{ __schema { subscriptionType { fields { name } } } }",
        json!({}),
        None,
    )
    .await;
    assert_eq!(
        body["data"]["__schema"]["subscriptionType"]["fields"],
        json!([{"name": "completeStream"}])
    );
}

#[tokio::test]
async fn a_single_completion_is_labelled_like_rest_in_headers_and_metrics() {
    let server = TestServer::start(CONFIG).await;
    let client = client();
    let response = client
        .post(server.url("/graphql"))
        .json(&json!({"query": COMPLETE, "variables": {"input": input("fast", "label me please")}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-llm-provider"], "mock");
    let cache = response.headers()["x-llm-cache"].to_str().unwrap().to_owned();
    assert!(cache == "miss" || cache == "bypass", "{cache}");
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "llm_requests_total{{api=\"graphql\",model=\"fast\",provider=\"mock\",status=\"200\",cache=\"{cache}\"}} 1"
    );
    assert!(
        metrics.lines().any(|sample| sample == line),
        "no `{line}` in:\n{metrics}"
    );
    assert!(
        !metrics.contains("api=\"graphql\",model=\"unknown\""),
        "{metrics}"
    );
}
