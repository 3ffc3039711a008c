//! Any bytes as a landing file: the validator must never panic, and every non-blank record must
//! come out either loaded or rejected (nothing silently dropped).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../src/engine/validate.rs"]
mod validate;

use validate::{validate_text, Column};

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
        assert_eq!(out.records.len() + out.rejects.len(), records);
    }
    for record in &out.records {
        // What the validator lets through is a JSON object DuckDB can type without surprises.
        let v: serde_json::Value = serde_json::from_str(record).unwrap();
        assert!(v.is_object());
    }
});
