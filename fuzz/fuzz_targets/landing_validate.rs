//! Any bytes as a landing file: the validator must never panic, every non-blank record must come
//! out either loaded or rejected (nothing silently dropped), and its fast path must agree with the
//! general path record for record.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../src/engine/validate/mod.rs"]
mod validate;

use validate::{validate_text, validate_text_general, Column};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let col = |name: &str, data_type: &str, nullable: bool| Column {
        name: name.to_string(),
        data_type: data_type.to_string(),
        nullable,
    };
    let columns = vec![
        col("email", "VARCHAR", false),
        col("birthDay", "DATE", true),
        col("shareWithResearchAsOfDate", "BIGINT", true),
        col("distanceFromObject", "INTEGER", true),
        col("x", "DOUBLE", true),
    ];
    let out = validate_text(text, &columns);
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !body.trim_start().starts_with('[') {
        let records = body.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(out.count as usize + out.rejects.len(), records);
    }
    let general = validate_text_general(text, &columns);
    assert_eq!(out.rejects, general.rejects);
    assert_eq!(out.count, general.count);
    for record in out.lines() {
        // What the validator lets through is a JSON object DuckDB can type without surprises.
        let v: serde_json::Value = serde_json::from_str(record).unwrap();
        assert!(v.is_object());
    }
});
