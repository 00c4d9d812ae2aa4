use super::*;

fn scope(user: bool, provider: bool, model: bool) -> Scope {
    Scope {
        user,
        provider,
        model,
    }
}

#[test]
fn scopes_parse_in_any_order_and_print_canonically() {
    let cases = [
        ("global", scope(false, false, false), "global"),
        ("user", scope(true, false, false), "user"),
        ("provider", scope(false, true, false), "provider"),
        ("model", scope(false, false, true), "model"),
        ("user+model", scope(true, false, true), "user+model"),
        ("model+user", scope(true, false, true), "user+model"),
        ("provider+model", scope(false, true, true), "provider+model"),
        ("user+provider", scope(true, true, false), "user+provider"),
        (
            "model + provider + user",
            scope(true, true, true),
            "user+provider+model",
        ),
        (" User+MODEL ", scope(true, false, true), "user+model"),
    ];
    for (text, expected, shown) in cases {
        let parsed = Scope::parse(text).unwrap();
        assert_eq!(parsed, expected, "{text}");
        assert_eq!(parsed.to_string(), shown, "{text}");
        assert_eq!(shown.parse::<Scope>().unwrap(), expected, "display round-trips");
    }
}

#[test]
fn bad_scopes_are_refused() {
    for text in [
        "",
        "users",
        "user+user",
        "model+user+model",
        "global+user",
        "user+",
        "+",
        "team",
    ] {
        let error = Scope::parse(text).unwrap_err();
        assert_eq!(error, RuleError::Scope(text.to_owned()));
        assert!(error.to_string().contains("invalid rate limit scope"), "{error}");
    }
}

#[test]
fn units_and_store_error_policies_parse() {
    assert_eq!(Unit::parse("requests").unwrap(), Unit::Requests);
    assert_eq!(Unit::parse("Tokens").unwrap(), Unit::Tokens);
    assert_eq!(Unit::parse("request"), Err(RuleError::Unit("request".to_owned())));
    assert_eq!(Unit::Tokens.to_string(), "tokens");
    assert_eq!(OnStoreError::parse("local").unwrap(), OnStoreError::Local);
    assert_eq!(OnStoreError::parse("deny").unwrap(), OnStoreError::Deny);
    assert_eq!(
        OnStoreError::parse("open"),
        Err(RuleError::OnStoreError("open".to_owned()))
    );
}

#[test]
fn windows_parse() {
    let cases = [
        ("1s", 1),
        ("30s", 30),
        ("1m", 60),
        ("5m", 300),
        ("1h", 3_600),
        ("1d", 86_400),
        ("second", 1),
        ("minute", 60),
        ("hour", 3_600),
        ("day", 86_400),
        (" 2H ", 7_200),
    ];
    for (text, secs) in cases {
        assert_eq!(parse_window(text).unwrap(), Duration::from_secs(secs), "{text}");
    }
    for text in [
        "",
        "s",
        "0s",
        "1",
        "1w",
        "-1m",
        "1.5m",
        "m1",
        "1 minute",
        "99999999999999999999d",
    ] {
        assert_eq!(
            parse_window(text),
            Err(RuleError::Window(text.to_owned())),
            "{text}"
        );
    }
}

#[test]
fn windows_print_in_their_shortest_form() {
    for (secs, shown) in [
        (1, "1s"),
        (90, "90s"),
        (60, "1m"),
        (300, "5m"),
        (3_600, "1h"),
        (86_400, "1d"),
    ] {
        assert_eq!(format_window(Duration::from_secs(secs)), shown);
    }
    assert_eq!(format_window(Duration::from_millis(1_500)), "1500ms");
}

#[test]
fn rules_are_checked_and_described() {
    let rule = Rule::new(
        Scope::parse("user+model").unwrap(),
        Unit::Requests,
        60,
        Duration::from_secs(60),
        OnStoreError::Local,
    )
    .unwrap();
    assert_eq!(rule.describe(), "user+model: 60 requests per 1m");
    let new = |limit, window| Rule::new(Scope::GLOBAL, Unit::Tokens, limit, window, OnStoreError::Deny);
    assert_eq!(new(0, Duration::from_secs(60)).unwrap_err(), RuleError::ZeroLimit);
    let short = Duration::from_millis(999);
    assert_eq!(new(1, short).unwrap_err(), RuleError::WindowRange(short));
    let long = Duration::from_secs(366 * 86_400);
    assert_eq!(new(1, long).unwrap_err(), RuleError::WindowRange(long));
    assert!(matches!(
        new(1_000_001, Duration::from_secs(1)),
        Err(RuleError::TooFine { .. })
    ));
    assert!(new(1_000_000, Duration::from_secs(1)).is_ok());
    assert_eq!(
        new(1_000, Duration::from_secs(3_600)).unwrap().describe(),
        "global: 1000 tokens per 1h"
    );
}

#[test]
fn subjects_key_on_their_scope_parts_escaped() {
    let subject = Subject::new("al:ice", "openai", "gpt-4o{x}");
    assert_eq!(subject.key_parts(Scope::GLOBAL), "all");
    assert_eq!(subject.key_parts(scope(true, false, false)), "u=al%3Aice");
    assert_eq!(
        subject.key_parts(scope(true, true, true)),
        "u=al%3Aice:p=openai:m=gpt-4o%7Bx%7D"
    );
    // Different subjects never share a key, even when separators are smuggled into a part.
    let a = Subject::new("a:m=b", "p", "c").key_parts(scope(true, false, true));
    let b = Subject::new("a", "p", "b:m=c").key_parts(scope(true, false, true));
    assert_ne!(a, b);
    let mut escaped = String::new();
    escape_into("x{y}z%", &mut escaped);
    assert_eq!(escaped, "x%7By%7Dz%25");
}
