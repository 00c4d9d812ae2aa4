//! A small reader of the Prometheus text exposition format (version 0.0.4): enough to turn what
//! `GET /metrics` renders back into samples.
//!
//! `# HELP` / `# TYPE` lines and blank lines are skipped, and so is any line that does not parse: the
//! dashboard shows what it can read rather than failing on a line it does not understand.

/// One sample line: `name{label="value",...} value [timestamp]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of the label `key`, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// Every sample of `text`, in order.
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

/// One line; `None` for comments, blank lines and anything malformed.
fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let (name, mut rest) = line.split_at(name_end);
    if name.is_empty() {
        return None;
    }
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(inner)?;
        labels = parsed;
        rest = after;
    }
    // The value, then an optional timestamp, which the dashboard does not need.
    let mut fields = rest.split_whitespace();
    let value = parse_value(fields.next()?)?;
    if fields.nth(1).is_some() {
        return None;
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `a="x",b="y"}` (a trailing comma allowed) -> the labels and what follows the closing brace.
fn parse_labels(mut text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after_key) = text.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let (value, after_value) = parse_quoted(after_key.trim_start().strip_prefix('"')?)?;
        labels.push((key.to_owned(), value));
        text = after_value.trim_start();
        if let Some(after_comma) = text.strip_prefix(',') {
            text = after_comma;
        } else if !text.starts_with('}') {
            return None;
        }
    }
}

/// The body of a quoted label value (after the opening quote), unescaping `\\`, `\"` and `\n`;
/// returns the value and what follows the closing quote.
fn parse_quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                '\\' => value.push('\\'),
                '"' => value.push('"'),
                // Not an escape the format defines: keep it as written.
                other => {
                    value.push('\\');
                    value.push(other);
                }
            },
            c => value.push(c),
        }
    }
    None
}

/// A sample value: a float, `+Inf`, `-Inf` or `NaN`.
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn samples_with_and_without_labels() {
        let text = "# HELP llm_requests_total Requests.\n# TYPE llm_requests_total counter\n\
            llm_requests_total{api=\"openai\",status=\"200\"} 5\n\n\
            llm_inflight_requests 0\n\
            llm_cache_hit_ratio 0.25 1700000000000\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].name, "llm_requests_total");
        assert_eq!(samples[0].labels, labels(&[("api", "openai"), ("status", "200")]));
        assert_eq!(samples[0].value, 5.0);
        assert_eq!(samples[0].label("status"), Some("200"));
        assert_eq!(samples[0].label("model"), None);
        assert_eq!(samples[1].labels, labels(&[]));
        assert_eq!(samples[1].value, 0.0);
        assert_eq!(samples[2].value, 0.25, "the timestamp is not the value");
    }

    #[test]
    fn label_values_are_unescaped() {
        let text = r#"m{a="say \"hi\"",b="back\\slash",c="two\nlines",d="a,b=c}",} 1"#;
        let samples = parse(text);
        assert_eq!(
            samples[0].labels,
            labels(&[
                ("a", "say \"hi\""),
                ("b", "back\\slash"),
                ("c", "two\nlines"),
                ("d", "a,b=c}")
            ])
        );
    }

    #[test]
    fn special_values_parse() {
        let text = "h_bucket{le=\"+Inf\"} 3\nx +Inf\ny -Inf\nz NaN\nw 1.5e-3\n";
        let samples = parse(text);
        assert_eq!(samples[0].label("le"), Some("+Inf"));
        assert_eq!(samples[1].value, f64::INFINITY);
        assert_eq!(samples[2].value, f64::NEG_INFINITY);
        assert!(samples[3].value.is_nan());
        assert_eq!(samples[4].value, 0.0015);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "ok 1\nno_value\nbad{a=\"open} 1\nbad{a=b} 1\n{a=\"b\"} 1\nbad 1 2 3\nbad x\nalso_ok 2\n";
        let names: Vec<String> = parse(text).into_iter().map(|sample| sample.name).collect();
        assert_eq!(names, ["ok", "also_ok"]);
    }
}
