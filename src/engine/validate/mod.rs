//! Record-by-record validation of a landing file, for the files DuckDB's fast typed load cannot
//! take as a whole (and for every file of a table whose DDL asks for it, such as customer_landing,
//! where consent lives). The file is cut into records by [`records`] (one place decides what a
//! record is, for every shape of file); each record either fits the declared columns — it is
//! rewritten as a clean JSON line for DuckDB to load — or becomes a reject with its position, raw
//! text and reason. Nothing is dropped silently: valid + rejected = the records in the file.
//!
//! Stricter than DuckDB's casts on purpose: DuckDB turns `true` into 1 and `1.5` into 2 for a
//! BIGINT, which would let a malformed `shareWithResearchAsOfDate` count as consent.
mod fast;
mod lenient;
pub mod records;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

use fast::{FastColumns, Fields};
use records::{Framer, Position, Record, MAX_RECORD};

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
    /// Where the record is: its 1-based line in the file, or for an element of the file's JSON
    /// array its element number (its reason then starts with `element N:`); 0 for a whole file.
    pub line: u64,
    pub raw: String,
    pub reason: String,
}

/// Validated records: a whole file's, or (streaming) the next batch of them.
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

    #[allow(dead_code)] // used by validate_bytes
    fn append(&mut self, mut more: Validated) {
        self.records.push_str(&more.records);
        self.count += more.count;
        self.longest = self.longest.max(more.longest);
        self.rejects.append(&mut more.rejects);
    }
}

/// How reading a file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEnd {
    /// Every record was read (and handed on).
    Read,
    /// The file cannot be decoded (a corrupt or cut gzip stream), so its records are not known:
    /// the whole file is one reject with this reason, and nothing of it loads.
    Undecodable(String),
}

/// How much of a rejected record is kept (a 100 MB line is not copied whole into the table).
const RAW_LIMIT: usize = 2_000;

/// A batch is handed on once its clean records hold this many bytes or it holds this many rejects,
/// so memory holds a few batches whatever the size of the file.
const BATCH_TEXT: usize = 4 << 20;
const BATCH_REJECTS: usize = 4_096;

/// `raw`, cut at [`RAW_LIMIT`] bytes (on a character boundary) and followed by the length of the
/// whole record (`len` bytes) when cut or when it is only the first bytes of the record (`whole`).
fn kept(raw: &str, len: u64, whole: bool) -> String {
    if raw.len() <= RAW_LIMIT && whole {
        return raw.to_string();
    }
    let mut end = raw.len().min(RAW_LIMIT);
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({len} bytes)", &raw[..end])
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether a file holds gzip data, by its first bytes (not its name).
pub fn is_gzip(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut file = std::fs::File::open(path)?;
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got == magic.len() && magic == GZIP_MAGIC)
}

/// Open a landing file as its text, gunzipped (as a stream) when its first bytes say gzip.
pub fn open_text(path: &Path) -> std::io::Result<(Box<dyn Read + Send>, bool)> {
    let mut file = BufReader::with_capacity(1 << 16, std::fs::File::open(path)?);
    let gzip = file.fill_buf()?.starts_with(&GZIP_MAGIC);
    let reader: Box<dyn Read + Send> =
        if gzip { Box::new(flate2::bufread::MultiGzDecoder::new(file)) } else { Box::new(file) };
    Ok((reader, gzip))
}

/// Validate every record of a landing file (any shape, see [`records`]; gzip by its first bytes),
/// as a stream: `on_batch` gets the clean records and rejects a batch at a time, in order, and
/// returns false to stop. An error is the file's own (it cannot be opened or read), not its data's.
pub fn validate_file(
    path: &Path,
    columns: &[Column],
    on_batch: impl FnMut(Validated) -> bool,
) -> std::io::Result<FileEnd> {
    let (reader, gzip) = open_text(path)?;
    validate_reader(reader, gzip, columns, true, on_batch)
}

/// [`validate_file`] of what `reader` gives: `gzip` says that it gunzips, so that an error of
/// its data (not of the file system) makes the file [`FileEnd::Undecodable`].
pub fn validate_reader(
    mut reader: impl Read,
    gzip: bool,
    columns: &[Column],
    fast_path: bool,
    mut on_batch: impl FnMut(Validated) -> bool,
) -> std::io::Result<FileEnd> {
    let mut checker = Checker::new(columns, fast_path);
    let mut framer = Framer::default();
    let mut chunk = vec![0u8; 1 << 16];
    let mut text_bytes = 0u64;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if gzip && e.raw_os_error().is_none() => {
                return Ok(FileEnd::Undecodable(format!(
                    "not readable as gzip ({e}) after {text_bytes} bytes of text: the whole file is rejected"
                )))
            }
            Err(e) => return Err(e),
        };
        text_bytes += n as u64;
        framer.feed(&chunk[..n], &mut |r| checker.record(r));
        let full = checker.out.records.len() >= BATCH_TEXT || checker.out.rejects.len() >= BATCH_REJECTS;
        if full && !on_batch(std::mem::take(&mut checker.out)) {
            return Ok(FileEnd::Read);
        }
    }
    framer.finish(&mut |r| checker.record(r));
    on_batch(checker.out);
    Ok(FileEnd::Read)
}

/// Every record of a file's bytes (gunzipped first when they are gzip), validated.
// In-memory entry points of the unit tests and the fuzz target (which compiles this module by path).
#[allow(dead_code)]
pub fn validate_bytes(bytes: &[u8], columns: &[Column]) -> (Validated, FileEnd) {
    let mut all = Validated::default();
    let collect = |batch| {
        all.append(batch);
        true
    };
    let end = if bytes.starts_with(&GZIP_MAGIC) {
        validate_reader(flate2::bufread::MultiGzDecoder::new(bytes), true, columns, true, collect)
    } else {
        validate_reader(bytes, false, columns, true, collect)
    };
    (all, end.expect("reading from memory does not fail"))
}

#[allow(dead_code)]
pub fn validate_text(text: &str, columns: &[Column]) -> Validated {
    validate(text, columns, true)
}

/// [`validate_text`] without the fast path: every record through `check_record` (the fuzz
/// target and the tests hold the two to the same results).
#[allow(dead_code)]
pub fn validate_text_general(text: &str, columns: &[Column]) -> Validated {
    validate(text, columns, false)
}

#[allow(dead_code)]
fn validate(text: &str, columns: &[Column], fast_path: bool) -> Validated {
    let mut checker = Checker::new(columns, fast_path);
    records::frame(text.as_bytes(), |r| checker.record(r));
    checker.out
}

/// Judges framed records one by one into clean records and rejects.
struct Checker<'c> {
    columns: &'c [Column],
    fast: Option<FastColumns<'c>>,
    clean: String,
    out: Validated,
}

impl<'c> Checker<'c> {
    fn new(columns: &'c [Column], fast_path: bool) -> Self {
        Checker {
            columns,
            fast: fast_path.then(|| FastColumns::new(columns)),
            clean: String::new(),
            out: Validated::default(),
        }
    }

    fn record(&mut self, record: Record<'_>) {
        let line = record.position.number();
        match self.check(&record) {
            Ok(()) => {
                self.out.records.push_str(&self.clean);
                self.out.records.push('\n');
                self.out.count += 1;
                self.out.longest = self.out.longest.max(self.clean.len());
            }
            Err(reason) => {
                let raw = kept(String::from_utf8_lossy(record.bytes).trim_end(), record.len, !record.is_too_long());
                let reason = match record.position {
                    Position::Element(n) => format!("element {n}: {reason}"),
                    Position::Line(_) => reason,
                };
                self.out.rejects.push(Reject { line, raw, reason });
            }
        }
    }

    /// Whether a record fits (its clean form is then in `self.clean`), or why not.
    fn check(&mut self, record: &Record<'_>) -> Result<(), String> {
        if record.is_too_long() {
            return Err(format!(
                "a record of {} bytes, longer than the {} MiB a record may be",
                record.len,
                MAX_RECORD >> 20
            ));
        }
        let text = std::str::from_utf8(record.bytes).map_err(|e| {
            let at = e.valid_up_to();
            format!("not valid UTF-8: byte {} of the record is 0x{:02X}", at + 1, record.bytes[at])
        })?;
        if text.is_empty() {
            return Err("an empty element (two commas in a row)".to_string());
        }
        if let Some(next) = record.cut_at {
            return Err(format!("malformed JSON: not closed before line {next}, where the next record starts"));
        }
        self.clean.clear();
        // Most records already fit: they are copied field by field without building a tree of
        // values. Anything else takes the general path, which also words the reasons.
        if self.fast.as_ref().is_some_and(|fast| fast.write(text, &mut self.clean)) {
            return Ok(());
        }
        let relaxed;
        let (fields, stood_for) = match serde_json::from_str::<Fields<'_>>(text) {
            Ok(fields) => (fields, None),
            // What DuckDB's reader also takes (a trailing comma, NaN), rewritten to strict JSON.
            Err(_) => {
                relaxed = lenient::relax(text);
                match relaxed.as_ref().and_then(|r| Some((serde_json::from_str::<Fields<'_>>(&r.text).ok()?, r))) {
                    Some((fields, r)) => (fields, Some(r)),
                    // Not an object (the general parse says what it is), or not JSON (it says where).
                    None => {
                        let value = serde_json::from_str::<Value>(text).map_err(|e| malformed(&e, record))?;
                        return Err(format!("not a JSON object but {}", describe("", &value)));
                    }
                }
            }
        };
        if let Some(name) = fast::repeated_column(&fields, self.columns) {
            return Err(format!("field {name:?} is given more than once (readers differ on which value counts)"));
        }
        // The number word a declared field's raw value stands for, if it was rewritten to null.
        let word = |raw: &str| {
            let r = stood_for?;
            let at = raw.as_ptr() as usize - r.text.as_ptr() as usize;
            r.stood_for.iter().find(|(offset, _)| *offset == at).map(|(_, word)| word.clone())
        };
        self.clean = check_record(&fields, self.columns, word)?;
        Ok(())
    }
}

/// A JSON syntax error as a reason, placed in the file (serde_json counts from the record's start).
fn malformed(e: &serde_json::Error, record: &Record<'_>) -> String {
    let text = e.to_string();
    let what = text.rsplit_once(" at line ").map_or(text.as_str(), |(what, _)| what);
    let line = record.line + (e.line() as u64).saturating_sub(1);
    let column = if e.line() <= 1 { record.column + (e.column() as u64).saturating_sub(1) } else { e.column() as u64 };
    format!("malformed JSON: {what} at line {line} column {column}")
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

/// A record (its fields, no declared one given twice) as a clean JSON object of the declared
/// columns, or why it does not fit. Only the declared fields' values are built.
/// `word` tells whether a raw value is a `null` that stands for `NaN` or `Infinity`.
fn check_record<'a>(
    fields: &Fields<'a>,
    columns: &[Column],
    word: impl Fn(&'a str) -> Option<String>,
) -> Result<String, String> {
    let mut clean = Map::new();
    for column in columns {
        let raw = fields.0.iter().find(|(key, _)| key.0 == column.name).map(|(_, raw)| raw.get());
        // A text column takes a number as its text, as DuckDB's reader writes it: `NaN` and a
        // number beyond a double too (as written), which no other type takes.
        let text = column.data_type == "VARCHAR";
        if let Some(word) = raw.and_then(&word) {
            if !text {
                return Err(format!("{:?} is {word}, not {}", column.name, column.data_type));
            }
            clean.insert(column.name.clone(), Value::from(word));
            continue;
        }
        // A number as DuckDB's reader keeps it in a text column: as written when it is beyond a
        // double, or a whole number beyond 64 bits (which serde_json would turn into a double).
        let number_as_written = |raw: &str| {
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        let value = match raw.map(serde_json::from_str::<Value>) {
            None => Value::Null,
            Some(Ok(Value::Number(n))) if text && !n.is_i64() && !n.is_u64() && raw.is_some_and(number_as_written) => {
                Value::from(raw.unwrap_or_default())
            }
            Some(Ok(value)) => value,
            Some(Err(_)) if text && raw.is_some_and(|r| r.starts_with(|c: char| c == '-' || c.is_ascii_digit())) => {
                Value::from(raw.unwrap_or_default())
            }
            // The syntax is checked already: nesting deeper than serde_json builds (no declared
            // type takes an array or an object), or a number beyond a double.
            Some(Err(_)) => {
                let raw = raw.unwrap_or_default();
                let what = match raw.as_bytes().first() {
                    Some(b'{') => "an object".to_string(),
                    Some(b'[') => "an array".to_string(),
                    // A text serde_json will not build (a lone surrogate escape): never quoted.
                    Some(b'"') => format!("a text of about {} characters", raw.chars().count().saturating_sub(2)),
                    _ if is_personal_column(&column.name) => "a number".to_string(),
                    _ => format!("the number {}", clipped(raw)),
                };
                return Err(format!("{:?} is {what}, not {}", column.name, column.data_type));
            }
        };
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
        Value::Number(n) => format!("the number {}", clipped(&n.to_string())),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        Value::Null => "null".to_string(),
    }
}

/// A number's text, cut to 40 characters.
fn clipped(number: &str) -> String {
    match number.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &number[..i]),
        None => number.to_string(),
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
    // A whole number, written as one (`12`, `1.0`, `1e3`) or as a text of one (`"12"`, `"1.0"`).
    let whole_float = |f: f64| (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64);
    let whole = match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(whole_float)),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| s.trim().parse::<f64>().ok().and_then(whole_float)),
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
