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
    assert_eq!(out.rejects[2].reason, "not a JSON object but the number 42");
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

fn reading_columns() -> Vec<Column> {
    let c = |name: &str, data_type: &str, nullable: bool| Column {
        name: name.into(),
        data_type: data_type.into(),
        nullable,
    };
    vec![c("user", "VARCHAR", false), c("timestamp", "BIGINT", false), c("x", "DOUBLE", true)]
}

fn reading(t: &str, x: &str) -> String {
    format!(r#"{{"user": "a@b.c", "timestamp": {t}, "x": {x}}}"#)
}

/// (line, reason) of every reject.
fn rejects(out: &Validated) -> Vec<(u64, String)> {
    out.rejects.iter().map(|r| (r.line, r.reason.clone())).collect()
}

/// Readings as `text`: `loaded` of them load and these (position, reason) are rejected.
fn assert_readings(text: &str, loaded: u64, rejected: &[(u64, &str)]) {
    let out = validate_text(text, &reading_columns());
    assert_eq!(out.count, loaded, "{:?}", out.rejects);
    assert_eq!(rejects(&out), rejected.iter().map(|(n, r)| (*n, r.to_string())).collect::<Vec<_>>());
}

#[test]
fn an_ndjson_file_whose_first_line_is_an_array_loses_only_that_line() {
    let text = format!("[1, 2]\n{}\n{}\n", reading("1", "0.5"), reading("2", "0.5"));
    assert_readings(&text, 2, &[(1, "not a JSON object but an array")]);
}

#[test]
fn records_separated_by_lone_carriage_returns_are_counted_one_by_one() {
    let text = format!("{}\r{}\r{}\r", reading("1", "0.5"), reading("2", "true"), reading("3", "0.5"));
    assert_readings(&text, 2, &[(2, "\"x\" is a boolean (true), not DOUBLE")]);
}

#[test]
fn pretty_printed_records_are_one_record_each() {
    let customer =
        serde_json::json!({"email": "a@b.c", "birthDay": "1990-01-02", "consent": 1655564376361_i64, "x": 0.5});
    let pretty = serde_json::to_string_pretty(&customer).unwrap();
    assert!(pretty.lines().count() > 4);
    let out = validate_text(&pretty, &columns());
    assert_eq!((out.count, out.rejects.len()), (1, 0), "{:?}", out.rejects);

    // Three readings as `jq .` prints them, the second with a value that does not fit.
    let readings: Vec<String> = [("1", "0.5"), ("2", "\"abc\""), ("3", "-1.5")]
        .iter()
        .map(|(t, x)| serde_json::to_string_pretty(&serde_json::from_str::<Value>(&reading(t, x)).unwrap()).unwrap())
        .collect();
    let text = readings.join("\n") + "\n";
    let out = validate_text(&text, &reading_columns());
    assert_eq!(out.count, 2, "{:?}", out.rejects);
    assert_eq!(rejects(&out), [(6, "\"x\" is a text of 3 characters, not DOUBLE".to_string())]);
    // Concatenated, and with a record cut short before the next one starts.
    let text = format!("{}{}\n{{\n  \"user\": \"a@b.c\",\n{}", reading("1", "1"), reading("2", "2"), readings[2]);
    let out = validate_text(&text, &reading_columns());
    assert_eq!(out.count, 3);
    assert_eq!(
        rejects(&out),
        [(2, "malformed JSON: not closed before line 4, where the next record starts".to_string())]
    );
}

#[test]
fn array_elements_are_rejected_by_element_number() {
    let text = format!("[\n{},\n{},\n{}\n]\n", reading("1", "0.5"), reading("2.5", "0.5"), reading("3", "0.5"));
    assert_readings(&text, 2, &[(2, "element 2: \"timestamp\" is the number 2.5, not BIGINT")]);
}

#[test]
fn a_malformed_record_is_placed_in_the_file() {
    let text = format!("{}\n  {{\"user\": \"a@b.c\", \"timestamp\": 1,, \"x\": 1}}\n", reading("1", "0.5"));
    assert_readings(&text, 1, &[(2, "malformed JSON: key must be a string at line 2 column 36")]);
}

#[test]
fn an_invalid_utf8_byte_rejects_its_record_only() {
    let mut bytes = format!("{}\n", reading("1", "0.5")).into_bytes();
    bytes.extend_from_slice(b"{\"user\": \"a\xff@b.c\", \"timestamp\": 2, \"x\": 0.5}\n");
    bytes.extend_from_slice(format!("{}\n", reading("3", "0.5")).as_bytes());
    let (out, end) = validate_bytes(&bytes, &reading_columns());
    assert_eq!(end, FileEnd::Read);
    assert_eq!(out.count, 2);
    assert_eq!(rejects(&out), [(2, "not valid UTF-8: byte 12 of the record is 0xFF".to_string())]);
    assert!(out.rejects[0].raw.contains("a\u{fffd}@b.c"), "kept lossily: {}", out.rejects[0].raw);
}

#[test]
fn gzip_is_told_by_its_bytes_and_a_corrupt_stream_is_one_undecodable_file() {
    use std::io::Write;
    let text = format!("{}\n{}\n", reading("1", "0.5"), reading("2", "0.5"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let (out, end) = validate_bytes(&gz, &reading_columns());
    assert_eq!((out.count, end), (2, FileEnd::Read));
    // Cut, or with its data changed: nothing of it is known for sure.
    let mut flipped = gz.clone();
    flipped[gz.len() / 2] ^= 0x55;
    for broken in [&gz[..gz.len() - 6], &flipped[..]] {
        let (_, end) = validate_bytes(broken, &reading_columns());
        let FileEnd::Undecodable(reason) = end else { panic!("{end:?}") };
        assert!(
            reason.starts_with("not readable as gzip (") && reason.ends_with("the whole file is rejected"),
            "{reason}"
        );
    }
}

#[test]
fn declared_types_are_a_contract_for_sensor_values() {
    let cases = [
        (reading("1", "true"), "\"x\" is a boolean (true), not DOUBLE"),
        (reading("1655564400000.4", "0.5"), "\"timestamp\" is the number 1655564400000.4, not BIGINT"),
        (reading("true", "0.5"), "\"timestamp\" is a boolean (true), not BIGINT"),
        (reading("9223372036854775808", "0.5"), "\"timestamp\" is the number 9223372036854775808, not BIGINT"),
        (reading("1", "\"inf\""), "\"x\" is a text of 3 characters, not DOUBLE"),
        (r#"{"user": true, "timestamp": 1}"#.to_string(), "\"user\" is a boolean, not VARCHAR"),
        (r#"{"user": {"a": 1}, "timestamp": 1}"#.to_string(), "\"user\" is an object, not VARCHAR"),
    ];
    for (record, reason) in cases {
        let out = validate_text(&record, &reading_columns());
        assert_eq!(rejects(&out), [(1, reason.to_string())], "{record}");
    }
    let out = validate_text(&reading("1e3", "1"), &reading_columns());
    assert_eq!(out.lines().collect::<Vec<_>>(), [r#"{"timestamp":1000,"user":"a@b.c","x":1.0}"#]);
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

#[test]
fn a_declared_field_given_twice_is_a_reject_whichever_value_comes_last() {
    let columns = columns();
    for text in [
        r#"{"email":"a@b.c","consent":null,"consent":1655564376361}"#,
        r#"{"email":"a@b.c","consent":1655564376361,"consent":1655564376361}"#,
        r#"{"email":"a@b.c","email":"d@e.f"}"#,
    ] {
        for out in [validate_text(text, &columns), validate_text_general(text, &columns)] {
            assert_eq!(out.count, 0, "{text}");
            assert!(out.rejects[0].reason.contains("is given more than once"), "{:?}", out.rejects[0]);
        }
    }
    // A repeated field that is not declared is not looked at (DuckDB's reader ignores it too).
    let out = validate_text(r#"{"email":"a@b.c","note":1,"note":"x"}"#, &columns);
    assert_eq!((out.count, out.rejects.len()), (1, 0));
}
