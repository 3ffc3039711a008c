//! Record-by-record validation of a landing file, for the files DuckDB's fast typed load cannot
//! take as a whole (and for every file of a table whose DDL asks for it, such as customer_landing,
//! where consent lives). Each record either fits the declared columns — it is rewritten as a clean
//! JSON line for DuckDB to load — or becomes a reject with its line, raw text and reason. Nothing
//! is dropped silently: valid + rejected = the records in the file.
//!
//! Stricter than DuckDB's casts on purpose: DuckDB turns `true` into 1 and `1.5` into 2 for a
//! BIGINT, which would let a malformed `shareWithResearchAsOfDate` count as consent.
mod fast;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

use fast::FastColumns;

use super::mask::is_personal_column;

/// A declared landing column (from the landing DDL, as DuckDB holds it).
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// 1-based line of the record in the file (for a JSON array: the array's element number).
    pub line: u64,
    pub raw: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Validated {
    /// The clean records, newline-delimited JSON objects of exactly the declared columns.
    pub records: String,
    /// How many records `records` holds.
    pub count: u64,
    /// The longest of them, in bytes (DuckDB's reader must be told to accept it).
    pub longest: usize,
    pub rejects: Vec<Reject>,
}

impl Validated {
    /// The clean records one by one.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.records.lines()
    }
}

/// How much of a rejected record is kept (a 100 MB line is not copied whole into the table).
const RAW_LIMIT: usize = 2_000;

fn truncated(raw: &str) -> String {
    if raw.len() <= RAW_LIMIT {
        return raw.to_string();
    }
    let mut end = RAW_LIMIT;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &raw[..end], raw.len())
}

/// Open a landing file as text, gunzipping `.gz`.
pub fn open_text(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn Read> = if path.to_string_lossy().to_lowercase().ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

/// Validate every record of a file: newline-delimited JSON, or one JSON array.
pub fn validate_file(path: &Path, columns: &[Column]) -> std::io::Result<Validated> {
    let mut text = String::new();
    open_text(path)?.read_to_string(&mut text).map_err(|e| std::io::Error::new(e.kind(), format!("{e}")))?;
    Ok(validate_text(&text, columns))
}

pub fn validate_text(text: &str, columns: &[Column]) -> Validated {
    validate(text, columns, true)
}

/// [`validate_text`] without the fast path: every record through [`check_record`] (the fuzz
/// target and the tests hold the two to the same results).
#[doc(hidden)]
pub fn validate_text_general(text: &str, columns: &[Column]) -> Validated {
    validate(text, columns, false)
}

fn validate(text: &str, columns: &[Column], fast_path: bool) -> Validated {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Validated::default();
    if text.trim_start().starts_with('[') {
        match serde_json::from_str::<Vec<Value>>(text) {
            Ok(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    let raw = item.to_string();
                    let checked = check_record(item, columns);
                    push(&mut out, i as u64 + 1, &raw, checked.as_deref().map_err(String::as_str));
                }
            }
            Err(e) => push(&mut out, 1, text, Err(&format!("malformed JSON array: {e}"))),
        }
        return out;
    }
    let fast = FastColumns::new(columns);
    let mut clean = String::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        clean.clear();
        // Most records already fit: they are copied field by field without building a tree of
        // values. Anything else takes the general path, which also words the reasons.
        if fast_path && fast.write(line, &mut clean) {
            push(&mut out, i as u64 + 1, line, Ok(&clean));
            continue;
        }
        let checked = serde_json::from_str::<Value>(line)
            .map_err(|e| format!("malformed JSON: {e}"))
            .and_then(|v| check_record(v, columns));
        push(&mut out, i as u64 + 1, line, checked.as_deref().map_err(String::as_str));
    }
    out
}

fn push(out: &mut Validated, line: u64, raw: &str, result: Result<&str, &str>) {
    match result {
        Ok(clean) => {
            out.records.push_str(clean);
            out.records.push('\n');
            out.count += 1;
            out.longest = out.longest.max(clean.len());
        }
        Err(reason) => out.rejects.push(Reject { line, raw: truncated(raw), reason: reason.to_string() }),
    }
}

/// The values an integer type holds.
pub(super) fn integer_range(data_type: &str) -> Option<(i64, i64)> {
    Some(match data_type {
        "TINYINT" => (i8::MIN as i64, i8::MAX as i64),
        "SMALLINT" => (i16::MIN as i64, i16::MAX as i64),
        "INTEGER" => (i32::MIN as i64, i32::MAX as i64),
        "BIGINT" => (i64::MIN, i64::MAX),
        _ => return None,
    })
}

/// A record as a clean JSON object of the declared columns, or why it does not fit.
pub fn check_record(value: Value, columns: &[Column]) -> Result<String, String> {
    let Value::Object(mut fields) = value else { return Err("not a JSON object".to_string()) };
    let mut clean = Map::new();
    for column in columns {
        let value = fields.remove(&column.name).unwrap_or(Value::Null);
        if value.is_null() {
            if !column.nullable {
                return Err(format!("required field {:?} is missing or null", column.name));
            }
            clean.insert(column.name.clone(), Value::Null);
            continue;
        }
        let fitted = fit(&value, &column.data_type).ok_or_else(|| {
            format!("{:?} is {}, not {}", column.name, describe(&column.name, &value), column.data_type)
        })?;
        clean.insert(column.name.clone(), fitted);
    }
    Ok(Value::Object(clean).to_string())
}

/// What a value that does not fit is, for a reject's reason. A reason is printed wherever the
/// reject is, and a record that does not fit may hold anything anywhere (a name in the consent
/// field), so a text is described by its length only, and a personal column shows no value at all.
fn describe(column: &str, value: &Value) -> String {
    let personal = is_personal_column(column);
    match value {
        Value::String(s) => format!("a text of {} characters", s.chars().count()),
        Value::Bool(_) if personal => "a boolean".to_string(),
        Value::Number(_) if personal => "a number".to_string(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => {
            let text = n.to_string();
            let shown = match text.char_indices().nth(40) {
                Some((i, _)) => format!("{}…", &text[..i]),
                None => text,
            };
            format!("the number {shown}")
        }
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        Value::Null => "null".to_string(),
    }
}

/// The value in the form the declared type accepts, if it fits exactly.
fn fit(value: &Value, data_type: &str) -> Option<Value> {
    let (min, max): (i64, i64) = match data_type {
        _ if integer_range(data_type).is_some() => integer_range(data_type).expect("an integer type"),
        "DOUBLE" | "FLOAT" => return number(value).map(Value::from),
        "DATE" => return value.as_str().filter(|s| is_date(s)).map(Value::from),
        "VARCHAR" => {
            return match value {
                Value::String(_) => Some(value.clone()),
                Value::Number(n) => Some(Value::from(n.to_string())),
                _ => None,
            }
        }
        "BOOLEAN" => return value.as_bool().map(Value::from),
        _ => return Some(value.clone()),
    };
    let whole = match value {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }?;
    (min..=max).contains(&whole).then(|| Value::from(whole))
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// `Y-MM-DD` with a 1 to 4 digit year (the real data has year 967) and a day that exists.
pub(super) fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return false };
    let digits = |p: &str, lo: usize, hi: usize| (lo..=hi).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 1, 4) && digits(m, 2, 2) && digits(d, 2, 2)) {
        return false;
    }
    let (y, m, d): (u32, u32, u32) = (y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

#[cfg(test)]
mod tests;
