//! The compiled rules and the matching: block detection and redaction spans.
//!
//! Terms of a rule are one ASCII-case-insensitive Aho-Corasick automaton (leftmost-longest). Every
//! pattern of every rule (its own and its built-ins) is one entry of a single `RegexSet`, which tells
//! in one pass which patterns match anywhere; only those are run again as individual `Regex`es to
//! find the spans to redact or to confirm a built-in's check (Luhn, digit count).

use std::cmp::Reverse;
use std::ops::Range;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexSet, SetMatches};

/// What a rule does with a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Block,
    Redact,
}

/// One compiled rule.
pub(super) struct Rule {
    pub(super) name: String,
    pub(super) action: Action,
    pub(super) replacement: String,
    pub(super) output: bool,
    /// Model names; a trailing `*` matches a prefix. Empty: every model.
    pub(super) models: Vec<String>,
    /// Client key names. Empty: every key (and requests without one).
    pub(super) keys: Vec<String>,
    pub(super) terms: Option<AhoCorasick>,
    /// Longest term in bytes.
    pub(super) max_term_len: usize,
    /// This rule's entries in [`Engine::patterns`] and the set.
    pub(super) patterns: Range<usize>,
}

impl Rule {
    pub(super) fn applies(&self, model: &str, key: Option<&str>) -> bool {
        let model_ok = self.models.is_empty()
            || self.models.iter().any(|wanted| match wanted.strip_suffix('*') {
                Some(prefix) => model.starts_with(prefix),
                None => wanted == model,
            });
        let key_ok = self.keys.is_empty() || key.is_some_and(|key| self.keys.iter().any(|k| k == key));
        model_ok && key_ok
    }
}

/// One compiled pattern and the check its matches must pass.
pub(super) struct Pattern {
    pub(super) regex: Regex,
    pub(super) check: Option<fn(&str) -> bool>,
}

/// A span of text to replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) rule: usize,
}

/// Every rule, compiled once.
pub(super) struct Engine {
    pub(super) rules: Vec<Rule>,
    pub(super) patterns: Vec<Pattern>,
    pub(super) set: RegexSet,
}

impl Engine {
    /// The indices of the rules that apply to `model` and `key` (only output rules if `output`).
    pub(super) fn applicable(&self, model: &str, key: Option<&str>, output: bool) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|&i| (!output || self.rules[i].output) && self.rules[i].applies(model, key))
            .collect()
    }

    fn set_matches(&self, rules: &[usize], text: &str) -> Option<SetMatches> {
        let any_patterns = rules.iter().any(|&i| !self.rules[i].patterns.is_empty());
        any_patterns.then(|| self.set.matches(text))
    }

    /// Whether pattern `p` has a real (non-empty, checked) match in `text`.
    fn pattern_matches(&self, p: usize, text: &str) -> bool {
        self.pattern_spans(p, text).next().is_some()
    }

    /// The non-empty matches of pattern `p` in `text` that pass its check. After a match fails the
    /// check, the search resumes one character after its start rather than after its end: a greedy
    /// candidate (`555-0143 4111 1111 1111`, no valid card) must not hide a valid one inside it.
    fn pattern_spans<'t>(&'t self, p: usize, text: &'t str) -> impl Iterator<Item = Range<usize>> + 't {
        let pattern = &self.patterns[p];
        let mut at = 0;
        std::iter::from_fn(move || {
            while at <= text.len() {
                let found = pattern.regex.find_at(text, at)?;
                if !found.is_empty() && pattern.check.is_none_or(|check| check(found.as_str())) {
                    at = found.end();
                    return Some(found.range());
                }
                let step = text[found.start()..].chars().next().map_or(1, char::len_utf8);
                at = found.start() + step;
            }
            None
        })
    }

    /// The first block rule among `rules` that matches `text`.
    pub(super) fn first_block(&self, rules: &[usize], text: &str) -> Option<usize> {
        let blocking: Vec<usize> = rules
            .iter()
            .copied()
            .filter(|&i| self.rules[i].action == Action::Block)
            .collect();
        if blocking.is_empty() {
            return None;
        }
        let set = self.set_matches(&blocking, text);
        blocking.into_iter().find(|&i| {
            let rule = &self.rules[i];
            rule.terms.as_ref().is_some_and(|terms| terms.is_match(text))
                || set.as_ref().is_some_and(|set| {
                    rule.patterns
                        .clone()
                        .any(|p| set.matched(p) && self.pattern_matches(p, text))
                })
        })
    }

    /// Every span of `text` that a redact rule among `rules` matches, sorted by start.
    pub(super) fn redact_spans(&self, rules: &[usize], text: &str) -> Vec<Span> {
        let redacting: Vec<usize> = rules
            .iter()
            .copied()
            .filter(|&i| self.rules[i].action == Action::Redact)
            .collect();
        let mut spans = Vec::new();
        if redacting.is_empty() {
            return spans;
        }
        let set = self.set_matches(&redacting, text);
        for i in redacting {
            let rule = &self.rules[i];
            if let Some(terms) = &rule.terms {
                spans.extend(terms.find_iter(text).map(|m| Span {
                    start: m.start(),
                    end: m.end(),
                    rule: i,
                }));
            }
            let Some(set) = &set else { continue };
            for p in rule.patterns.clone().filter(|&p| set.matched(p)) {
                spans.extend(self.pattern_spans(p, text).map(|range| Span {
                    start: range.start,
                    end: range.end,
                    rule: i,
                }));
            }
        }
        spans.sort_by_key(|span| (span.start, Reverse(span.end)));
        spans
    }

    /// `text` with every span replaced by its rule's replacement; overlapping spans merge into one,
    /// replaced by the replacement of the rule of the earliest (then longest) span.
    pub(super) fn apply(&self, text: &str, spans: &[Span]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        let mut current: Option<Span> = None;
        for span in spans {
            match &mut current {
                Some(merged) if span.start < merged.end => merged.end = merged.end.max(span.end),
                _ => {
                    if let Some(done) = current.take() {
                        self.replace(text, &mut out, &mut pos, done);
                    }
                    current = Some(*span);
                }
            }
        }
        if let Some(done) = current {
            self.replace(text, &mut out, &mut pos, done);
        }
        out.push_str(&text[pos..]);
        out
    }

    fn replace(&self, text: &str, out: &mut String, pos: &mut usize, span: Span) {
        out.push_str(&text[*pos..span.start]);
        out.push_str(&self.rules[span.rule].replacement);
        *pos = span.end;
    }

    /// `text` redacted by the redact rules among `rules`; `None` when nothing matched.
    pub(super) fn redact(&self, rules: &[usize], text: &str) -> Option<String> {
        let spans = self.redact_spans(rules, text);
        (!spans.is_empty()).then(|| self.apply(text, &spans))
    }
}
