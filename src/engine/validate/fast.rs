//! The fast path of record validation: a record that already fits the declared columns as
//! written is copied field by field, without building a tree of values (the customer files, where
//! every record is validated, are mostly such records). Whatever it does not take, including
//! everything wrong, goes to the general path ([`super::check_record`]), which words the reasons;
//! a property test holds the two to the same results.
use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::Value;

use super::{integer_range, is_date, Column};

/// A field name as written in a record: borrowed from the line unless it holds escapes.
#[derive(serde::Deserialize, PartialEq, Eq)]
pub(super) struct Key<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

/// A JSON object's fields in the order written, duplicates kept, each value as its raw text: a
/// value is checked for syntax but not built (so nesting deeper than serde_json builds, or a
/// number beyond a double, in a field that is not declared costs nothing, as in DuckDB's reader).
pub(super) struct Fields<'a>(pub(super) Vec<(Key<'a>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// The first declared column that a record (a JSON object) names more than once, if any. JSON
/// leaves a repeated name to the reader: serde_json keeps the last value, Spark's reader too, and
/// DuckDB's typed reader refuses the record. Consent must not hang on which reader ran, so such a
/// record is a reject. A repeated undeclared field is not looked at, as DuckDB does not.
pub(super) fn repeated_column<'c>(fields: &Fields<'_>, columns: &'c [Column]) -> Option<&'c str> {
    let Fields(fields) = fields;
    columns.iter().find(|c| fields.iter().filter(|(key, _)| key.0 == c.name).nth(1).is_some()).map(|c| c.name.as_str())
}

/// The declared columns in the order [`super::check_record`] writes them (a record's fields by name,
/// sorted), each with its name already written as JSON.
pub(super) struct FastColumns<'c> {
    columns: Vec<(&'c Column, String)>,
}

impl<'c> FastColumns<'c> {
    pub(super) fn new(columns: &'c [Column]) -> Self {
        let mut columns: Vec<(&Column, String)> =
            columns.iter().map(|c| (c, Value::from(c.name.as_str()).to_string())).collect();
        columns.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        FastColumns { columns }
    }

    /// Write `line` as a clean record into `out` when it is a JSON object whose every declared
    /// field is null (where allowed) or already of its declared type as written: a whole number in
    /// range for an integer, a number for a float, a string for text, a real date for a DATE. The
    /// values are copied as written, so DuckDB reads the same values [`super::check_record`] would give it.
    /// False (and `out` is not to be used) for anything else, including what is wrong.
    pub(super) fn write(&self, line: &str, out: &mut String) -> bool {
        let Ok(Fields(fields)) = serde_json::from_str::<Fields<'_>>(line) else { return false };
        // Only declared fields, each once: the values of others are not looked at here (the
        // general path refuses a record with a number out of range anywhere in it).
        let declared = |key: &Key| self.columns.iter().any(|(c, _)| c.name == key.0);
        if !fields.iter().all(|(key, _)| declared(key))
            || fields.iter().enumerate().any(|(i, (key, _))| fields[..i].iter().any(|(k, _)| k == key))
        {
            return false;
        }
        out.push('{');
        for (k, (column, name)) in self.columns.iter().enumerate() {
            let raw = fields.iter().find(|(key, _)| key.0 == column.name).map_or("null", |(_, v)| v.get());
            let fits = match raw.as_bytes()[0] {
                b'n' => column.nullable,
                b'"' => match column.data_type.as_str() {
                    // An escape may be one JSON parser's text and another's error (a lone
                    // surrogate): the general path decides.
                    "VARCHAR" => !raw.contains('\\'),
                    // Borrowing fails on escapes, which no real date has.
                    "DATE" => serde_json::from_str::<&str>(raw).is_ok_and(is_date),
                    _ => false,
                },
                b'-' | b'0'..=b'9' => match integer_range(&column.data_type) {
                    Some((min, max)) => raw.parse::<i64>().is_ok_and(|n| (min..=max).contains(&n)),
                    None => {
                        matches!(column.data_type.as_str(), "DOUBLE" | "FLOAT")
                            && raw.parse::<f64>().is_ok_and(f64::is_finite)
                    }
                },
                b't' | b'f' => column.data_type == "BOOLEAN",
                _ => false,
            };
            if !fits {
                return false;
            }
            if k > 0 {
                out.push(',');
            }
            out.push_str(name);
            out.push(':');
            out.push_str(raw);
        }
        out.push('}');
        true
    }
}
