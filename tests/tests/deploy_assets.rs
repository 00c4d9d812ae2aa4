#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The deployment assets in `deploy/`: the Grafana dashboard and the alert rules name only metrics the
//! gateway exports, the rules pass `promtool` (when it is installed), and the example configuration and
//! the Kubernetes ConfigMap's configuration pass `--check-config`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Every metric the gateway exports (histograms by their base name).
const KNOWN_METRICS: &[&str] = &[
    "llm_requests_total",
    "llm_request_duration_seconds",
    "llm_gateway_overhead_seconds",
    "llm_time_to_first_token_seconds",
    "llm_provider_request_duration_seconds",
    "llm_provider_errors_total",
    "llm_tokens_total",
    "llm_cache_requests_total",
    "llm_cache_hit_ratio",
    "llm_ratelimit_decisions_total",
    "llm_inflight_requests",
    "llm_redis_up",
    "llm_redis_command_duration_seconds",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
];

/// The environment variables `deploy/gateway.example.toml` reads through `env:VAR`.
const EXAMPLE_ENV: &[(&str, &str)] = &[
    ("REDIS_URL", "redis://redis.invalid:6379"),
    ("LLM_ADMIN_KEY", "admin-key-for-check-config"),
    ("TEAM_A_KEY", "team-a-key-for-check-config"),
    ("TEAM_B_KEY", "team-b-key-for-check-config"),
    ("OPENAI_API_KEY", "sk-check-config"),
    ("ANTHROPIC_API_KEY", "sk-ant-check-config"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn deploy(path: &str) -> PathBuf {
    repo().join("deploy").join(path)
}

fn read(path: &str) -> String {
    let path = deploy(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The metric names in `text`: `llm_...` and `process_...` words, without the histogram suffixes.
fn metric_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || !(is_word(bytes[i - 1]) || bytes[i - 1].is_ascii_uppercase());
        let rest = &text[i..];
        if at_boundary && (rest.starts_with("llm_") || rest.starts_with("process_")) {
            let end = rest.bytes().position(|b| !is_word(b)).unwrap_or(rest.len());
            let word = &rest[..end];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| word.strip_suffix(suffix))
                .unwrap_or(word);
            names.insert(base.to_owned());
            i += end;
        } else {
            i += 1;
        }
    }
    names
}

fn assert_known(what: &str, names: &BTreeSet<String>) {
    let unknown: Vec<_> = names
        .iter()
        .filter(|name| !KNOWN_METRICS.contains(&name.as_str()))
        .collect();
    assert!(unknown.is_empty(), "{what} names unknown metrics: {unknown:?}");
}

/// Every panel, rows' nested panels included.
fn all_panels(panels: &[Value]) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in panels {
        out.push(panel);
        if let Some(nested) = panel["panels"].as_array() {
            out.extend(all_panels(nested));
        }
    }
    out
}

#[test]
fn grafana_dashboard_uses_only_exported_metrics() {
    let dashboard: Value = serde_json::from_str(&read("grafana/llm-gateway.json")).unwrap();
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");

    let panels = all_panels(dashboard["panels"].as_array().unwrap());
    let mut used = BTreeSet::new();
    let mut exprs = 0;
    for panel in &panels {
        if panel["type"] != "row" {
            assert_eq!(
                panel["datasource"]["uid"], "${DS_PROMETHEUS}",
                "{}",
                panel["title"]
            );
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{}: no metric in {expr}", panel["title"]);
            assert_known(&format!("panel {}", panel["title"]), &names);
            used.extend(names);
            exprs += 1;
        }
    }
    assert!(exprs >= 15, "only {exprs} queries");
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        assert_known(
            "a template variable",
            &metric_names(&variable["definition"].to_string()),
        );
    }
    // Every exported metric has a panel.
    let missing: Vec<_> = KNOWN_METRICS.iter().filter(|m| !used.contains(**m)).collect();
    assert!(missing.is_empty(), "metrics without a panel: {missing:?}");
    // Latency panels are quantiles over bucket rates.
    let all = serde_json::to_string(&dashboard).unwrap();
    assert!(
        all.contains("histogram_quantile(0.99, sum by (api, le) (rate(llm_request_duration_seconds_bucket")
    );
}

#[test]
fn alert_rules_use_only_exported_metrics() {
    let rules = read("prometheus/alerts.yml");
    let names = metric_names(&rules);
    assert_known("alerts.yml", &names);
    for needed in [
        "llm_requests_total",
        "llm_request_duration_seconds",
        "llm_gateway_overhead_seconds",
        "llm_cache_requests_total",
        "llm_redis_up",
        "llm_provider_errors_total",
    ] {
        assert!(names.contains(needed), "no rule on {needed}");
    }
    assert_known(
        "alerts_test.yml",
        &metric_names(&read("prometheus/alerts_test.yml")),
    );
    for alert in [
        "LLMGatewayHighErrorRate",
        "LLMGatewayHighLatencyP99",
        "LLMGatewayHighOverheadP99",
        "LLMGatewayCacheHitRatioLow",
        "LLMGatewayRedisDown",
        "LLMGatewayProviderErrorRate",
    ] {
        assert!(rules.contains(&format!("alert: {alert}\n")), "no alert {alert}");
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

#[test]
fn alert_rules_pass_promtool() {
    if !on_path("promtool") {
        eprintln!(
            "\n!!!!!!!! SKIPPED: promtool is not on PATH; deploy/prometheus rules were NOT checked \
             (apt-get install prometheus) !!!!!!!!\n"
        );
        return;
    }
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ] {
        let output = Command::new("promtool")
            .args(args)
            .current_dir(deploy("prometheus"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool {}:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs `--check-config` on `config` in a clean environment holding only `env`.
fn check_config(config: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_llm-server-under-test"))
        .arg("--check-config")
        .arg("--config")
        .arg(config)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn example_config_passes_check_config() {
    let config = deploy("gateway.example.toml");
    let (ok, out) = check_config(&config, EXAMPLE_ENV);
    assert!(ok, "{out}");
    assert!(out.contains("configuration is valid"), "{out}");

    // The secrets really come from the environment.
    let without_key: Vec<_> = EXAMPLE_ENV
        .iter()
        .copied()
        .filter(|(name, _)| *name != "OPENAI_API_KEY")
        .collect();
    let (ok, out) = check_config(&config, &without_key);
    assert!(!ok, "{out}");
    assert!(out.contains("OPENAI_API_KEY"), "{out}");
}

#[test]
fn kubernetes_configmap_config_passes_check_config() {
    let manifest = read("kubernetes/configmap.yaml");
    let mut lines = manifest
        .lines()
        .skip_while(|line| line.trim() != "gateway.toml: |");
    assert!(lines.next().is_some(), "no gateway.toml in the ConfigMap");
    let toml: String = lines
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line)))
        .collect();
    assert!(toml.contains("[[providers]]"), "{toml}");

    let path = std::env::temp_dir().join(format!("llm-deploy-configmap-{}.toml", std::process::id()));
    std::fs::write(&path, toml).unwrap();
    let (ok, out) = check_config(&path, EXAMPLE_ENV);
    let _ = std::fs::remove_file(&path);
    assert!(ok, "{out}");
}
