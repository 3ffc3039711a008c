//! The validated path: files DuckDB's reader refuses, and tables whose DDL says
//! `-- validate: every record`, are framed and validated record by record (see
//! [`crate::engine::validate`]); clean records go in through DuckDB's appender, rejects into the
//! table's `_rejected` table.
use std::path::Path;
use std::time::Instant;

use duckdb::types::ToSqlOutput;
use duckdb::Connection;
use serde_json::value::RawValue;

use super::{file_column, rejected_table, Column, SourceFile};
use crate::engine::cache;
use crate::engine::catalog::LandingTable;
use crate::engine::error::{EngineError, Result};
use crate::engine::sql_text::quote_ident;
use crate::engine::validate::{validate_file, FileEnd, Validated};

/// Validate every file record by record (a table whose DDL says `-- validate: every record`), a
/// wave of as many files as there are cores at a time (see [`load_validated`]).
pub(super) fn load_all_validated(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    sources: &mut [SourceFile],
    on_file: &mut impl FnMut(&Path, usize, usize),
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total = sources.len();
    for (wave, chunk) in sources.chunks_mut(threads).enumerate() {
        on_file(&chunk[0].path, wave * threads, total);
        load_validated(conn, table, columns, chunk)?;
    }
    Ok(())
}

/// What a validating thread hands on: the next batch of a file's records, or how the file ended.
enum Piece {
    Batch(Validated),
    End(std::io::Result<FileEnd>),
}

/// Validate `sources` record by record and load them: each file is read and validated on a
/// thread of its own, which hands its clean records and rejects on in batches through a short
/// queue, while this thread appends them in folder order, each file in one transaction of its
/// own, so a table's rows are in the same order on every run (the TUI pages by that order).
/// Memory holds a few batches a file, whatever its size or compression ratio. The clean records go
/// through DuckDB's appender straight from memory: they are personal data, so no file ever holds
/// them on the way. A file that cannot be decoded (corrupt gzip) is one reject of the whole file.
pub(super) fn load_validated(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    sources: &mut [SourceFile],
) -> Result<()> {
    let cells = Cells::new(columns);
    std::thread::scope(|scope| {
        let queues: Vec<_> = sources
            .iter()
            .map(|source| {
                let (queue, pieces) = std::sync::mpsc::sync_channel(2);
                let path = source.path.clone();
                scope.spawn(move || {
                    let end = validate_file(&path, columns, |batch| queue.send(Piece::Batch(batch)).is_ok());
                    let _ = queue.send(Piece::End(end));
                });
                pieces
            })
            .collect();
        for (source, pieces) in sources.iter_mut().zip(queues) {
            let started = Instant::now();
            (source.rows, source.rejected) = append_validated(conn, table, &cells, source, &pieces)?;
            source.elapsed = started.elapsed();
        }
        Ok(())
    })
}

/// One file's validated records, as its thread hands them on, appended in one transaction: the
/// clean records to the cached table (the declared columns in table order, then the file column),
/// the rejects to its `_rejected` table; then the table must hold exactly as many rows of the file
/// as were validated. A record that does not go in is an error naming its file (it should not
/// happen: the validator only lets through what fits its column). (rows loaded, records rejected).
fn append_validated(
    conn: &Connection,
    table: &LandingTable,
    cells: &Cells,
    source: &SourceFile,
    pieces: &std::sync::mpsc::Receiver<Piece>,
) -> Result<(u64, u64)> {
    let (path, file_id) = (&source.path, source.file_id);
    let fail = |e: &dyn std::fmt::Display| EngineError::input(path, format!("validated records failed to load: {e}"));
    cache::in_transaction(conn, || {
        let mut rows = conn.appender_to_db(&table.name, cache::SCHEMA)?;
        let mut rejects = conn.appender_to_db(&rejected_table(&table.name), cache::SCHEMA)?;
        let (mut count, mut rejected) = (0, 0);
        let end = loop {
            match pieces.recv() {
                Ok(Piece::Batch(batch)) => {
                    let mut row = Row::default();
                    for line in batch.lines() {
                        cells.row(line, &mut row).map_err(|e| fail(&e))?;
                        row.values.push(ToSqlOutput::Borrowed(duckdb::types::ValueRef::UInt(file_id)));
                        rows.append_row(duckdb::appender_params_from_iter(&row.values)).map_err(|e| fail(&e))?;
                    }
                    for r in &batch.rejects {
                        rejects.append_row(duckdb::params![file_id, r.line as i64, r.raw, r.reason])?;
                    }
                    count += batch.count;
                    rejected += batch.rejects.len() as u64;
                }
                Ok(Piece::End(end)) => break end,
                Err(_) => break Err(std::io::Error::other("the validator stopped")),
            }
        };
        rows.flush().map_err(|e| fail(&e))?;
        rejects.flush()?;
        drop((rows, rejects));
        let store = cache::cached(&table.name);
        let file = quote_ident(&file_column(cells.columns));
        match end.map_err(|e| EngineError::input(path, format!("cannot read: {e}")))? {
            FileEnd::Read => {
                let loaded: u64 =
                    conn.query_row(&format!("SELECT count(*) FROM {store} WHERE {file} = ?"), [file_id], |r| r.get(0))?;
                if loaded != count {
                    return Err(EngineError::input(path, format!("{count} validated records, but {loaded} loaded")));
                }
                Ok((count, rejected))
            }
            // Its records are not known: none of them loads, and the file is one reject.
            FileEnd::Undecodable(reason) => {
                conn.execute(&format!("DELETE FROM {store} WHERE {file} = ?"), [file_id])?;
                let rejects = cache::cached(&rejected_table(&table.name));
                conn.execute(&format!("DELETE FROM {rejects} WHERE file_id = ?"), [file_id])?;
                conn.execute(
                    &format!("INSERT INTO {rejects} VALUES (?, 0, NULL, ?)"),
                    duckdb::params![file_id, reason],
                )?;
                Ok((0, 1))
            }
        }
    })
}

/// How a clean record's JSON values become the appender's values, column by column: null,
/// booleans and text as they are, numbers as the column's own type (parsed from the number as
/// written, as DuckDB's JSON reader does), anything else as its JSON text for DuckDB to cast
/// (a DATE, a DECIMAL, a list). DuckDB's appender casts text to the column's type.
struct Cells<'c> {
    columns: &'c [Column],
    numbers: Vec<NumberType>,
}

#[derive(Clone, Copy)]
enum NumberType {
    Integer,
    Double,
    Float,
    /// Any other type: the number's text, cast by DuckDB.
    Text,
}

impl<'c> Cells<'c> {
    fn new(columns: &'c [Column]) -> Self {
        let numbers = columns
            .iter()
            .map(|c| match c.data_type.as_str() {
                "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" => NumberType::Integer,
                "DOUBLE" => NumberType::Double,
                "FLOAT" => NumberType::Float,
                _ => NumberType::Text,
            })
            .collect();
        Cells { columns, numbers }
    }

    /// One clean record's values in column order (a field is found by its name, whatever its
    /// place in the record; a missing one is null), with room for the file column.
    fn row<'a>(&self, line: &'a str, row: &mut Row<'a>) -> std::result::Result<(), String> {
        row.fields.clear();
        row.fields.resize(self.columns.len(), None);
        let mut record = serde_json::Deserializer::from_str(line);
        serde::de::DeserializeSeed::deserialize(Fields { columns: self.columns, fields: &mut row.fields }, &mut record)
            .and_then(|()| record.end())
            .map_err(|e| format!("not a clean record ({e})"))?;
        row.values.clear();
        for ((field, number), column) in row.fields.iter().zip(&self.numbers).zip(self.columns) {
            let value = cell(field.map_or("null", RawValue::get), *number);
            row.values.push(value.map_err(|e| format!("{:?}: {e}", column.name))?);
        }
        Ok(())
    }
}

/// One record's fields and values, kept from record to record (no allocation per record).
#[derive(Default)]
struct Row<'a> {
    fields: Vec<Option<&'a RawValue>>,
    values: Vec<ToSqlOutput<'a>>,
}

/// One JSON value as the appender takes it for a column whose numbers are `number`.
fn cell(raw: &str, number: NumberType) -> std::result::Result<ToSqlOutput<'_>, String> {
    use duckdb::types::{Value, ValueRef};
    let bad = |e: &dyn std::fmt::Display| format!("{raw} ({e})");
    Ok(match raw.as_bytes().first() {
        Some(b'n') => ToSqlOutput::Borrowed(ValueRef::Null),
        Some(b't') => ToSqlOutput::Borrowed(ValueRef::Boolean(true)),
        Some(b'f') => ToSqlOutput::Borrowed(ValueRef::Boolean(false)),
        // Borrowed unless it holds escapes.
        Some(b'"') => match serde_json::from_str::<&str>(raw) {
            Ok(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Err(_) => ToSqlOutput::Owned(Value::Text(serde_json::from_str(raw).map_err(|e| bad(&e))?)),
        },
        Some(b'-' | b'0'..=b'9') => match number {
            NumberType::Integer => ToSqlOutput::Owned(Value::BigInt(raw.parse().map_err(|e| bad(&e))?)),
            NumberType::Double => ToSqlOutput::Owned(Value::Double(raw.parse().map_err(|e| bad(&e))?)),
            NumberType::Float => ToSqlOutput::Owned(Value::Float(raw.parse().map_err(|e| bad(&e))?)),
            NumberType::Text => ToSqlOutput::Borrowed(ValueRef::Text(raw.as_bytes())),
        },
        // A list or an object: its JSON text.
        _ => ToSqlOutput::Borrowed(ValueRef::Text(raw.as_bytes())),
    })
}

/// Reads a clean record's fields into their columns' places, as JSON text not yet parsed.
struct Fields<'c, 's, 'a> {
    columns: &'c [Column],
    fields: &'s mut [Option<&'a RawValue>],
}

impl<'a> serde::de::DeserializeSeed<'a> for Fields<'_, '_, 'a> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'a>>(self, deserializer: D) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'a> serde::de::Visitor<'a> for Fields<'_, '_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of the declared columns")
    }
    fn visit_map<M: serde::de::MapAccess<'a>>(self, mut map: M) -> std::result::Result<(), M::Error> {
        while let Some(index) = map.next_key_seed(ColumnName(self.columns))? {
            let value: &'a RawValue = map.next_value()?;
            match index {
                Some(i) => self.fields[i] = Some(value),
                None => return Err(serde::de::Error::custom("a field that is no declared column")),
            }
        }
        Ok(())
    }
}

/// A field name as the place of its column, if it is one.
struct ColumnName<'c>(&'c [Column]);

impl<'a> serde::de::DeserializeSeed<'a> for ColumnName<'_> {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'a>>(self, deserializer: D) -> std::result::Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for ColumnName<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, name: &str) -> std::result::Result<Option<usize>, E> {
        Ok(self.0.iter().position(|c| c.name == name))
    }
}

/// Append whole validated files as their threads would hand them on (tests).
#[cfg(test)]
fn load_records(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    files: Vec<(&Path, u32, Validated)>,
) -> Result<Vec<(u64, u64)>> {
    let cells = Cells::new(columns);
    files
        .into_iter()
        .map(|(path, file_id, validated)| {
            let (queue, pieces) = std::sync::mpsc::sync_channel(2);
            queue.send(Piece::Batch(validated)).expect("queued");
            queue.send(Piece::End(Ok(FileEnd::Read))).expect("queued");
            let source = SourceFile {
                path: path.to_path_buf(),
                bytes: 0,
                rows: 0,
                rejected: 0,
                elapsed: std::time::Duration::ZERO,
                reused: false,
                file_id,
                sha256: String::new(),
            };
            append_validated(conn, table, &cells, &source, &pieces)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fast_path::{insert_files, Kind};
    use super::super::prepare_store;
    use super::*;
    use crate::engine::rows::fetch_rows;
    use crate::engine::validate::validate_text;
    use std::fs;

    /// Clean records loaded by the appender hold exactly what DuckDB's JSON reader (the old way:
    /// a scratch NDJSON file) made of the same records, type by type.
    #[test]
    fn appended_records_equal_what_the_json_reader_loads() {
        let ddl = "CREATE TABLE t (k BIGINT NOT NULL, d DATE, x DOUBLE, f FLOAT, i INTEGER, s VARCHAR, \
                   b BOOLEAN, m DECIMAL(10,2), l VARCHAR[], \"odd \"\"name\" VARCHAR)";
        let table = LandingTable {
            name: "t".into(),
            dataset: "t".into(),
            path: "t.sql".into(),
            ddl: ddl.into(),
            validate_all: true,
        };
        let (conn, _) = cache::open(Path::new("."), &cache::CacheChoice::Off).unwrap();
        let columns = prepare_store(&conn, &table).unwrap();
        let records = [
            r#"{"k": 9007199254740993, "d": "0967-01-01", "x": 0.1, "f": 0.1, "i": 2147483647, "s": "plain", "b": true, "m": 12.35, "l": ["a", "b c"], "odd \"name": "q"}"#,
            r#"{"d": "967-01-01", "k": -9223372036854775808, "x": 1e-300, "f": 3.4e38, "i": -2147483648, "s": "a\"b\\c\u00e9\n", "b": false, "m": "-0.5", "l": [], "odd \"name": null}"#,
            r#"{"k": 3, "d": "2024-02-29", "x": 123456789.123456789, "f": 16777217, "i": 0, "s": "", "b": null, "m": 1, "l": null}"#,
            r#"{"k": 4, "d": null, "x": 5, "f": -0.0, "i": null, "s": "12", "m": null}"#,
            r#"{"k": 5, "x": 2.2250738585072011e-308, "f": 1.17549435e-38, "s": 7}"#,
            r#"{"k": 6, "x": "0.30000000000000004", "i": "12"}"#,
        ];
        let text = records.join("\n") + "\n";
        let validated = validate_text(&text, &columns);
        assert!(validated.rejects.is_empty(), "{:?}", validated.rejects);
        let clean = validated.records.clone();
        assert_eq!(load_records(&conn, &table, &columns, vec![(Path::new("t.json"), 1, validated)]).unwrap(), [(6, 0)]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clean.json");
        fs::write(&file, clean).unwrap();
        conn.execute_batch(&insert_files(
            &table,
            &columns,
            &[(file.to_str().unwrap(), 2)],
            Kind::Plain { booleans: true },
        ))
        .unwrap();
        let rows = |id: u32| {
            fetch_rows(
                &conn,
                &format!("SELECT * EXCLUDE (stedi_file) FROM stedi_cache.t WHERE stedi_file = {id} ORDER BY k"),
                100,
                0,
            )
            .unwrap()
            .rows
        };
        assert_eq!(rows(1), rows(2), "the appender and the JSON reader load the same values");
        let same = "SELECT count(*) FROM (SELECT * EXCLUDE (stedi_file) FROM stedi_cache.t WHERE stedi_file = 1
             INTERSECT ALL SELECT * EXCLUDE (stedi_file) FROM stedi_cache.t WHERE stedi_file = 2)";
        assert_eq!(conn.query_row(same, [], |r| r.get::<_, i64>(0)).unwrap(), 6, "to the bit");
        let first = &rows(1);
        let by_k = |k: &str| first.iter().find(|r| r[0].as_deref() == Some(k)).unwrap().clone();
        let year_967 = by_k("9007199254740993");
        assert_eq!(year_967[1].as_deref(), Some("0967-01-01"));
        assert_eq!(year_967[2].as_deref(), Some("0.1"));
        assert_eq!(year_967[8].as_deref(), Some("[a, b c]"));
        assert_eq!(by_k("-9223372036854775808")[1].as_deref(), Some("0967-01-01"));
        assert_eq!(by_k("-9223372036854775808")[5].as_deref(), Some("a\"b\\cé\n"));
        assert_eq!(by_k("3")[2].as_deref(), Some("123456789.12345679"));
    }

    #[test]
    fn a_record_that_does_not_fit_its_column_is_an_error_naming_its_file() {
        let table = LandingTable {
            name: "t".into(),
            dataset: "t".into(),
            path: "t.sql".into(),
            ddl: "CREATE TABLE t (d DATE, k BIGINT)".into(),
            validate_all: true,
        };
        let (conn, _) = cache::open(Path::new("."), &cache::CacheChoice::Off).unwrap();
        let columns = prepare_store(&conn, &table).unwrap();
        // Past the validator, as no clean record would be.
        let validated = Validated {
            records: "{\"d\": \"2024-01-01\", \"k\": 1}\n{\"d\": \"not a date\", \"k\": 2}\n".into(),
            count: 2,
            ..Validated::default()
        };
        let good = validate_text("{\"d\": \"2024-01-02\", \"k\": 3}\n", &columns);
        let files = vec![(Path::new("good.json"), 1, good), (Path::new("bad.json"), 2, validated)];
        let e = load_records(&conn, &table, &columns, files).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("validated records failed to load"), "{e}");
        let n: i64 =
            conn.query_row("SELECT count(*) FROM stedi_cache.t WHERE stedi_file = 2", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "the bad file's transaction left nothing behind");
    }
}
