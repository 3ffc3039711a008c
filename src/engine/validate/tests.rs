use super::fast::FastColumns;
use super::*;

fn columns() -> Vec<Column> {
    let c = |name: &str, data_type: &str, nullable: bool| Column {
        name: name.into(),
        data_type: data_type.into(),
        nullable,
    };
    vec![
        c("email", "VARCHAR", false),
        c("birthDay", "DATE", true),
        c("consent", "BIGINT", true),
        c("x", "DOUBLE", true),
    ]
}

#[test]
fn consent_must_be_a_whole_number() {
    let cols = columns();
    for bad in [r#"true"#, r#""yes""#, r#"1.5"#, r#"[1]"#] {
        let line = format!(r#"{{"email":"a@b.c","consent":{bad}}}"#);
        let out = validate_text(&line, &cols);
        assert_eq!(out.count, 0, "{bad}");
        assert!(out.rejects[0].reason.contains("consent"), "{:?}", out.rejects[0]);
    }
    let ok = validate_text(r#"{"email":"a@b.c","consent":"1655564376361","x":"0.5"}"#, &cols);
    assert_eq!(
        ok.lines().collect::<Vec<_>>(),
        [r#"{"birthDay":null,"consent":1655564376361,"email":"a@b.c","x":0.5}"#]
    );
}

#[test]
fn every_record_is_kept_or_rejected_with_its_line() {
    let text = "\u{feff}{\"email\":\"a@b.c\"}\r\n\n{\"email\":\n{\"x\":1}\n42\n{\"email\":\"d@e.f\",\"birthDay\":\"1990-02-30\"}\n{\"email\":\"g@h.i\",\"birthDay\":\"967-01-01\"}\n";
    let out = validate_text(text, &columns());
    assert_eq!(out.count, 2);
    let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6]);
    assert!(out.rejects[0].reason.starts_with("malformed JSON"));
    assert!(out.rejects[1].reason.contains("required field \"email\""));
    assert_eq!(out.rejects[2].reason, "not a JSON object");
    assert!(out.rejects[3].reason.contains("birthDay"));
}

#[test]
fn arrays_and_long_lines() {
    let out = validate_text(r#"[{"email":"a@b.c"}, {"email":1}, {"x":"abc","email":"q"}]"#, &columns());
    assert_eq!(out.count, 2);
    assert_eq!(out.rejects[0].line, 3);
    let long = format!(r#"{{"email":"{}","x":"nope"}}"#, "a".repeat(10_000));
    let out = validate_text(&long, &columns());
    assert!(out.rejects[0].raw.len() < 2_100 && out.rejects[0].raw.ends_with("bytes)"));
}

/// Whether two clean records give DuckDB the same values: the fast path copies values as
/// written (`-0`, `1.50`), the general path writes them as Rust reads them (`0`, `1.5`).
fn same_record(fast: &str, general: &str) -> bool {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) =
        (serde_json::from_str::<Value>(fast), serde_json::from_str::<Value>(general))
    else {
        return false;
    };
    a.len() == b.len()
        && a.iter().all(|(k, x)| {
            b.get(k).is_some_and(|y| match (x, y) {
                (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
                    (Some(x), Some(y)) => x == y,
                    _ => x.as_f64() == y.as_f64(),
                },
                _ => x == y,
            })
        })
}

const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-0",
    "7",
    "1.0",
    "1.50",
    "-2.5e3",
    "1e5",
    "1e400",
    "127",
    "128",
    "-129",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "12345678901234567890123",
    r#""a@b.c""#,
    r#""caf\u00e9""#,
    r#""\ud800""#,
    r#""tab\tx""#,
    r#""""#,
    r#"" 12 ""#,
    r#""0.5""#,
    r#""1990-02-30""#,
    r#""2000-02-29""#,
    r#""967-01-01""#,
    r#""2020-1-01""#,
    r#""2020-01-01T00:00:00""#,
    "[1]",
    r#"{"a":1}"#,
    "[]",
];
const KEYS: &[&str] = &["email", "birthDay", "consent", "x", "small", "flag", "other", r"em\u0061il", "Email"];

fn all_types() -> Vec<Column> {
    let mut all = columns();
    all.push(Column { name: "small".into(), data_type: "TINYINT".into(), nullable: true });
    all.push(Column { name: "flag".into(), data_type: "BOOLEAN".into(), nullable: true });
    all
}

proptest::proptest! {
    /// The fast path keeps exactly the records the general path keeps, with the same values,
    /// and leaves every reject (and its reason) to the general path.
    #[test]
    fn fast_path_agrees_with_the_general_path(
        records in proptest::collection::vec(
            proptest::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..8), 1..12),
        garbage in proptest::option::of(0..4usize),
    ) {
        let mut text: Vec<String> = records
            .iter()
            .map(|fields| {
                let fields: Vec<String> =
                    fields.iter().map(|&(k, v)| format!("\"{}\": {}", KEYS[k], VALUES[v])).collect();
                format!("{{{}}}", fields.join(", "))
            })
            .collect();
        if let Some(g) = garbage {
            text.insert(g.min(text.len()), ["42", "[1, 2]", "{\"email\": ", "\"text\""][g].to_string());
        }
        let text = text.join("\n");
        let columns = all_types();
        let (fast, general) = (validate_text(&text, &columns), validate_text_general(&text, &columns));
        proptest::prop_assert_eq!(&fast.rejects, &general.rejects);
        proptest::prop_assert_eq!(fast.count, general.count);
        for (f, g) in fast.lines().zip(general.lines()) {
            proptest::prop_assert!(same_record(f, g), "fast {} general {}", f, g);
        }
    }
}

#[test]
fn the_fast_path_takes_clean_records_as_written() {
    let columns = all_types();
    let fast = FastColumns::new(&columns);
    let mut out = String::new();
    let line = r#"{"x": -0.5e1, "email": "a@b.c", "consent": 1655564376361, "birthDay": "967-01-01"}"#;
    assert!(fast.write(line, &mut out));
    assert_eq!(
        out,
        r#"{"birthDay":"967-01-01","consent":1655564376361,"email":"a@b.c","flag":null,"small":null,"x":-0.5e1}"#
    );
    for refused in [
        r#"{"email": "a", "extra": 1}"#,
        r#"{"email": "a", "email": "b"}"#,
        r#"{"email": "a\"b"}"#,
        r#"{"email": 1}"#,
        r#"{"email": "a", "consent": 1.0}"#,
        "[]",
    ] {
        assert!(!FastColumns::new(&columns).write(refused, &mut String::new()), "{refused}");
    }
}
