//! Built-in detectors for common sensitive data: e-mail addresses, phone numbers, payment card
//! numbers and API-key-like secrets.
//!
//! A detector is a regular expression plus, where a pattern alone would flag too much, a check of the
//! matched text (the Luhn checksum of a card number, the digit count of a phone number).

/// One built-in detector.
pub(super) struct Builtin {
    pub(super) name: &'static str,
    pub(super) pattern: &'static str,
    pub(super) check: Option<fn(&str) -> bool>,
}

/// The names accepted in a rule's `builtin` list.
pub const BUILTIN_NAMES: [&str; 4] = ["email", "phone", "card_number", "api_key"];

const BUILTINS: [Builtin; 4] = [
    Builtin {
        name: "email",
        pattern: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
        check: None,
    },
    Builtin {
        name: "phone",
        // International (`+44 20 7946 0958`, `+1-202-555-0143`) or North American with separators
        // (`(202) 555-0143`, `202.555.0143`); bare digit runs are left alone (too many false positives).
        pattern: r"\+[1-9][0-9 ().-]{5,20}[0-9]\b|(?:\([0-9]{3}\)[ .-]?|\b[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}\b",
        check: Some(phone_digits_ok),
    },
    Builtin {
        name: "card_number",
        // 13 to 19 digits, optionally grouped by spaces or dashes, that pass the Luhn checksum.
        pattern: r"\b(?:[0-9][ -]?){12,18}[0-9]\b",
        check: Some(luhn_valid),
    },
    Builtin {
        name: "api_key",
        pattern: concat!(
            r"\b(?:sk-[A-Za-z0-9_-]{20,}",
            r"|AKIA[0-9A-Z]{16}",
            r"|gh[pousr]_[A-Za-z0-9]{36,}",
            r"|github_pat_[A-Za-z0-9_]{22,}",
            r"|xox[abposr]-[A-Za-z0-9-]{10,}",
            r"|AIza[0-9A-Za-z_-]{35}",
            r"|[sr]k_live_[0-9A-Za-z]{24,}",
            r"|glpat-[0-9A-Za-z_-]{20,})",
            r#"|(?i:\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token))"#,
            r#"["']?\s*[:=]\s*["']?[A-Za-z0-9+/_.=-]{24,}"#,
            r"|(?i:\bbearer)\s+[A-Za-z0-9+/_.=-]{24,}",
        ),
        check: None,
    },
];

/// The built-in detector called `name`.
pub(super) fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|builtin| builtin.name == name)
}

/// Whether the digits of `text` pass the Luhn checksum (and number 13 to 19).
pub(super) fn luhn_valid(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A phone number has 7 to 15 digits (E.164 allows at most 15).
fn phone_digits_ok(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_refuses_typos() {
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("5500-0000-0000-0004"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(!luhn_valid("1234"));
    }

    #[test]
    fn every_builtin_compiles() {
        for name in BUILTIN_NAMES {
            let builtin = builtin(name).unwrap();
            regex::Regex::new(builtin.pattern).unwrap();
        }
    }
}
