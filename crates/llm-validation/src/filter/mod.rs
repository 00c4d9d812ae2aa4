//! The content filter: configured rules that block or redact text in requests and answers.
//!
//! A rule matches literal `terms` (ASCII case-insensitive substrings; use a pattern with `\b` for
//! whole words), regular expression `patterns` and `builtin` detectors (`email`, `phone`,
//! `card_number`, `api_key`). It applies to the models and client keys it lists (all when the lists
//! are empty; a model entry ending in `*` is a prefix). Its action either blocks the request
//! (`content_filtered`, naming the rule, never echoing the matched text) or redacts every match with
//! its replacement (default `[REDACTED]`). With `output = true` it also filters answers, complete or
//! streamed (see [`OutputFilter`]).

mod builtin;
mod engine;
mod output;

use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use llm_core::{ChatRequest, ContentPart, ErrorKind, LlmError, MessageContent};
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

pub use builtin::BUILTIN_NAMES;
use engine::{Action, Engine, Pattern, Rule};
pub use output::{Blocked, OutputFilter, OutputVerdict, REGEX_HOLD_BYTES};

/// The default replacement of redacted text.
pub const DEFAULT_REPLACEMENT: &str = "[REDACTED]";

/// One rule as written in the configuration; unknown keys are refused, as everywhere in the config.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterRuleConfig {
    pub name: String,
    /// Literal terms, matched ASCII case-insensitively anywhere in the text.
    #[serde(default)]
    pub terms: Vec<String>,
    /// Regular expressions (Rust `regex` syntax; `(?i)` for case-insensitive).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Built-in detectors: `email`, `phone`, `card_number`, `api_key`.
    #[serde(default)]
    pub builtin: Vec<String>,
    /// `block` or `redact`.
    pub action: String,
    /// What replaces redacted text (default `[REDACTED]`).
    #[serde(default)]
    pub replacement: Option<String>,
    /// Also apply the rule to answers.
    #[serde(default)]
    pub output: bool,
    /// Model names the rule applies to (a trailing `*` matches a prefix); empty: all.
    #[serde(default)]
    pub models: Vec<String>,
    /// Client key names the rule applies to; empty: all.
    #[serde(default)]
    pub keys: Vec<String>,
}

/// A rule that cannot be compiled; each variant names the rule.
#[derive(Debug, thiserror::Error)]
pub enum FilterConfigError {
    #[error("content rule {rule:?}: invalid pattern {pattern:?}: {source}")]
    InvalidPattern {
        rule: String,
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("content rule {rule:?}: pattern {pattern:?} matches the empty string")]
    EmptyMatch { rule: String, pattern: String },
    #[error("content rule {rule:?}: unknown builtin {builtin:?} (known: email, phone, card_number, api_key)")]
    UnknownBuiltin { rule: String, builtin: String },
    #[error("content rule {rule:?}: unknown action {action:?} (expected \"block\" or \"redact\")")]
    UnknownAction { rule: String, action: String },
    #[error("content rule {rule:?}: has no terms, patterns or builtins")]
    NothingToMatch { rule: String },
    #[error("content rule {rule:?}: a term is empty")]
    EmptyTerm { rule: String },
    #[error("content rule {rule:?}: the name is empty or used by another rule")]
    BadName { rule: String },
    #[error("content rule {rule:?}: terms cannot be compiled: {source}")]
    Terms {
        rule: String,
        #[source]
        source: aho_corasick::BuildError,
    },
    #[error("content rules: the patterns together are too large to compile: {source}")]
    PatternSet {
        #[source]
        source: Box<regex::Error>,
    },
}

/// The compiled content rules; cheap to clone (shared).
#[derive(Clone)]
pub struct ContentFilter {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for ContentFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.engine.rules.iter().map(|rule| rule.name.as_str()).collect();
        f.debug_struct("ContentFilter").field("rules", &names).finish()
    }
}

impl ContentFilter {
    /// Compiles the rules; every error names the rule (and the pattern) at fault.
    pub fn new(rules: Vec<FilterRuleConfig>) -> Result<Self, FilterConfigError> {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut patterns = Vec::new();
        let mut sources = Vec::new();
        for config in rules {
            let rule = compile_rule(config, &compiled, &mut patterns, &mut sources)?;
            compiled.push(rule);
        }
        let set = RegexSet::new(&sources).map_err(|source| FilterConfigError::PatternSet {
            source: Box::new(source),
        })?;
        Ok(Self {
            engine: Arc::new(Engine {
                rules: compiled,
                patterns,
                set,
            }),
        })
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.engine.rules.is_empty()
    }

    /// Whether some rule filters answers for this model and key.
    pub fn has_output_rules(&self, model: &str, key: Option<&str>) -> bool {
        self.engine
            .rules
            .iter()
            .any(|rule| rule.output && rule.applies(model, key))
    }

    /// Applies the rules for `model` and `key` to the text of every message (content text and text
    /// parts; names, tool calls and images are not inspected). A block rule that matches refuses the
    /// request with `content_filtered` (param `messages`); redact rules rewrite the text in place.
    /// On an error the request may already be partly redacted.
    pub fn check_input(
        &self,
        model: &str,
        key: Option<&str>,
        request: &mut ChatRequest,
    ) -> Result<(), LlmError> {
        let rules = self.engine.applicable(model, key, false);
        if rules.is_empty() {
            return Ok(());
        }
        let mut redacted = 0usize;
        for message in &mut request.messages {
            let texts: Vec<&mut String> = match &mut message.content {
                None => Vec::new(),
                Some(MessageContent::Text(text)) => vec![text],
                Some(MessageContent::Parts(parts)) => parts
                    .iter_mut()
                    .filter_map(|part| match part {
                        ContentPart::Text { text } => Some(text),
                        ContentPart::ImageUrl { .. } => None,
                    })
                    .collect(),
            };
            for text in texts {
                if let Some(i) = self.engine.first_block(&rules, text) {
                    let name = &self.engine.rules[i].name;
                    tracing::info!(rule = %name, model, "content rule blocked a request");
                    return Err(LlmError::new(
                        ErrorKind::ContentFiltered,
                        format!("The request was blocked by the content rule '{name}'."),
                    )
                    .with_param("messages"));
                }
                if let Some(clean) = self.engine.redact(&rules, text) {
                    *text = clean;
                    redacted += 1;
                }
            }
        }
        if redacted > 0 {
            tracing::debug!(model, texts = redacted, "content rules redacted the request");
        }
        Ok(())
    }

    /// The filter of one answer for `model` and `key`; `None` when no output rule applies.
    pub fn output(&self, model: &str, key: Option<&str>) -> Option<OutputFilter> {
        let rules = self.engine.applicable(model, key, true);
        (!rules.is_empty()).then(|| OutputFilter::new(Arc::clone(&self.engine), rules))
    }
}

fn compile_rule(
    config: FilterRuleConfig,
    earlier: &[Rule],
    patterns: &mut Vec<Pattern>,
    sources: &mut Vec<String>,
) -> Result<Rule, FilterConfigError> {
    let rule = config.name;
    if rule.trim().is_empty() || earlier.iter().any(|other| other.name == rule) {
        return Err(FilterConfigError::BadName { rule });
    }
    let action = match config.action.as_str() {
        "block" => Action::Block,
        "redact" => Action::Redact,
        _ => {
            return Err(FilterConfigError::UnknownAction {
                rule,
                action: config.action,
            });
        }
    };
    if config.terms.is_empty() && config.patterns.is_empty() && config.builtin.is_empty() {
        return Err(FilterConfigError::NothingToMatch { rule });
    }
    if config.terms.iter().any(String::is_empty) {
        return Err(FilterConfigError::EmptyTerm { rule });
    }
    let terms = if config.terms.is_empty() {
        None
    } else {
        let built = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&config.terms);
        match built {
            Ok(automaton) => Some(automaton),
            Err(source) => return Err(FilterConfigError::Terms { rule, source }),
        }
    };
    let first = patterns.len();
    for pattern in config.patterns {
        let regex = match Regex::new(&pattern) {
            Ok(regex) => regex,
            Err(source) => {
                let source = Box::new(source);
                return Err(FilterConfigError::InvalidPattern {
                    rule,
                    pattern,
                    source,
                });
            }
        };
        if regex.is_match("") {
            return Err(FilterConfigError::EmptyMatch { rule, pattern });
        }
        patterns.push(Pattern { regex, check: None });
        sources.push(pattern);
    }
    for name in config.builtin {
        let Some(builtin) = builtin::builtin(&name) else {
            return Err(FilterConfigError::UnknownBuiltin { rule, builtin: name });
        };
        let regex = Regex::new(builtin.pattern).map_err(|source| FilterConfigError::InvalidPattern {
            rule: rule.clone(),
            pattern: builtin.pattern.to_owned(),
            source: Box::new(source),
        })?;
        patterns.push(Pattern {
            regex,
            check: builtin.check,
        });
        sources.push(builtin.pattern.to_owned());
    }
    Ok(Rule {
        name: rule,
        action,
        replacement: config
            .replacement
            .unwrap_or_else(|| DEFAULT_REPLACEMENT.to_owned()),
        output: config.output,
        models: config.models,
        keys: config.keys,
        max_term_len: config.terms.iter().map(String::len).max().unwrap_or(0),
        terms,
        patterns: first..patterns.len(),
    })
}
