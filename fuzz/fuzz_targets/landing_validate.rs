//! Any bytes as a landing file (any shape: newline-delimited, pretty-printed, one JSON array;
//! invalid UTF-8; gzipped or a corrupt gzip stream): the framer and the validator must never
//! panic, every framed record must come out either loaded or rejected (nothing silently dropped),
//! framing must not depend on how the bytes arrive, a gzipped file must read as its text does, and
//! the validator's fast path must agree with the general path record for record.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../src/engine/mask.rs"]
mod mask;
#[path = "../../src/engine/validate/mod.rs"]
mod validate;

use std::io::Write;

use validate::records::{frame, Framer, Position, Record};
use validate::{validate_bytes, validate_reader, validate_text, validate_text_general, Column, FileEnd};

type Framed = Vec<(Position, u64, Vec<u8>, Option<u64>)>;

fn framed(data: &[u8], chunk: usize) -> Framed {
    let mut out = Vec::new();
    let mut emit = |r: Record<'_>| out.push((r.position, r.len, r.bytes.to_vec(), r.cut_at));
    let mut framer = Framer::default();
    for part in data.chunks(chunk.max(1)) {
        framer.feed(part, &mut emit);
    }
    framer.finish(&mut emit);
    out
}

fuzz_target!(|data: &[u8]| {
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

    // Framing: the same records whatever the chunks, in order, and each one judged once.
    let whole = framed(data, data.len());
    assert_eq!(framed(data, 1 + data.len() % 7), whole);
    let mut records = 0u64;
    let mut last_offset = None;
    frame(data, |r| {
        records += 1;
        assert!(last_offset.is_none_or(|o| r.offset > o) && r.offset + r.len <= data.len() as u64 + 3);
        last_offset = Some(r.offset);
    });
    let (out, end) = validate_bytes(data, &columns);
    if !data.starts_with(&[0x1f, 0x8b]) {
        assert_eq!(end, FileEnd::Read);
        assert_eq!(out.count + out.rejects.len() as u64, records);
    }
    // Without brackets or quotes, every line that is not blank is one record.
    let body = data.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(data);
    if !body.iter().any(|b| b"{[\"".contains(b)) {
        let lines = body.split(|&b| b == b'\n' || b == b'\r').filter(|l| l.iter().any(|b| !b" \t".contains(b))).count();
        assert_eq!(records, lines as u64);
    }

    // Gzipped, the same file reads the same; any bytes after a gzip header never panic.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    let (unzipped, end) = validate_bytes(&gz.finish().unwrap(), &columns);
    if !data.starts_with(&[0x1f, 0x8b]) {
        assert_eq!(end, FileEnd::Read);
        assert_eq!((unzipped.count, &unzipped.rejects), (out.count, &out.rejects));
    }
    let corrupt = [&[0x1f, 0x8b, 0x08, 0x00][..], data].concat();
    let _ = validate_reader(flate2::bufread::MultiGzDecoder::new(&corrupt[..]), true, &columns, true, |_| true);

    // The fast path agrees with the general one.
    if let Ok(text) = std::str::from_utf8(data) {
        let (fast, general) = (validate_text(text, &columns), validate_text_general(text, &columns));
        assert_eq!(fast.rejects, general.rejects);
        assert_eq!(fast.count, general.count);
        for record in fast.lines() {
            // What the validator lets through is a JSON object DuckDB can type without surprises.
            let v: serde_json::Value = serde_json::from_str(record).unwrap();
            assert!(v.is_object());
        }
    }
});
