//! Record framing: what one record of a landing file is, decided in one place for every shape
//! the loader accepts. The bytes of a file (after gunzipping) are cut into records, each with its
//! position, before anything looks inside them:
//!
//! - **A stream of values** (newline-delimited JSON, pretty-printed objects one after another as
//!   editors and `jq .` write them, concatenated objects): a record is one top-level value. It
//!   starts at its first byte and ends where its brackets close; one may span many lines, several
//!   may share a line. A line break is `\n`, `\r\n` or a lone `\r`. Its position is the line it
//!   starts on. Something that is not an object or an array (a stray word, a number, a closing
//!   brace) is a record that runs to the end of its line.
//! - **One JSON array**: a record is one element of the array the file starts with; its position
//!   is its element number (1-based). An array that closes on the file's first line with more
//!   records after it is not the file's array but the first record of a stream (an NDJSON file
//!   whose first line is an array).
//!
//! So that a cut line costs only itself, a record that is still open when a line starts with `{`
//! in its first column ends there, unless the record is pretty-printed without indentation (its
//! first line is its opening bracket alone, and none of its lines is indented: as
//! `json.dumps(indent=0)` writes nested objects) and a value is due at that point of it (after
//! `:`, or after `[` or `,` in an array); and a string
//! ends at the end of its line (JSON strings cannot hold line breaks). Blank lines and whitespace
//! between records are no records. What a record holds (valid UTF-8, valid JSON, the declared
//! columns) is for its reader to judge: framing never fails, and memory is bounded: a record
//! longer than [`MAX_RECORD`] keeps only its first bytes and its length.

/// The longest record kept whole (longer ones are rejected, and only their first bytes kept).
pub const MAX_RECORD: usize = 128 << 20;

/// How many bytes of a record longer than [`MAX_RECORD`] are kept for its reject.
const KEPT_OF_LONG: usize = 4_096;

/// Where a record is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The 1-based line it starts on (a stream of values).
    Line(u64),
    /// Its 1-based element number (the file's JSON array).
    Element(u64),
}

impl Position {
    /// The number the rejected table keeps in its `line` column.
    pub fn number(self) -> u64 {
        match self {
            Position::Line(n) | Position::Element(n) => n,
        }
    }
}

/// One framed record.
#[derive(Debug)]
pub struct Record<'a> {
    pub position: Position,
    /// The line and (1-based, in bytes) column of its first byte.
    pub line: u64,
    pub column: u64,
    /// Its byte offset in the file (after a byte-order mark) and its length in bytes.
    #[allow(dead_code)] // the fuzz target holds framing to it
    pub offset: u64,
    pub len: u64,
    /// Its bytes; only the first ones when it is longer than [`MAX_RECORD`].
    pub bytes: &'a [u8],
    /// The line where a new record started before this one was closed.
    pub cut_at: Option<u64>,
}

impl Record<'_> {
    pub fn is_too_long(&self) -> bool {
        self.len > self.bytes.len() as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing but whitespace seen yet.
    Start,
    /// Records one after another.
    Stream,
    /// The file starts with an array that is still open on its first line: it may be the file's
    /// array (its elements are the records) or the first record of a stream.
    Sniff,
    /// That array closed on its first line; what follows decides.
    Held,
    /// Within the file's array.
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records (or elements): whitespace, and in an array its commas and closing bracket.
    Between,
    /// Within an object or array.
    Container,
    /// Within a value that is no container.
    Scalar,
    /// After a closed container, before the end of its line (a stream) or the next comma (an
    /// array): anything but whitespace here belongs to the record (and makes it malformed).
    Trailer,
}

/// Cuts bytes into records as they come: [`Framer::feed`] each chunk, then [`Framer::finish`].
pub struct Framer {
    mode: Mode,
    state: State,
    /// Where the next byte is.
    line: u64,
    column: u64,
    offset: u64,
    after_cr: bool,
    /// The open brackets of the record being framed.
    stack: Vec<u8>,
    in_string: bool,
    escaped: bool,
    /// The last byte of the record outside a string (a quote for a string) that is not white
    /// space: whether a value is due next.
    last: u8,
    /// Whether a line of the record being framed (after its first) starts with white space: it is
    /// indented, so a `{` in the first column is not inside it.
    indented: bool,
    /// The record being framed.
    buf: Vec<u8>,
    start: (u64, u64, u64),
    len: u64,
    /// Whether a record is being framed (or, in [`Mode::Held`], held).
    open: bool,
    elements: u64,
    /// Where the byte-order mark check stands: bytes of `EF BB BF` matched so far, or `None`
    /// once decided.
    bom: Option<usize>,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

impl Default for Framer {
    fn default() -> Self {
        Framer {
            mode: Mode::Start,
            state: State::Between,
            line: 1,
            column: 1,
            offset: 0,
            after_cr: false,
            stack: Vec::new(),
            in_string: false,
            escaped: false,
            last: 0,
            indented: false,
            buf: Vec::new(),
            start: (1, 1, 0),
            len: 0,
            open: false,
            elements: 0,
            bom: Some(0),
        }
    }
}

impl Framer {
    /// Frame the next bytes of the file, calling `emit` for each record they complete.
    pub fn feed(&mut self, bytes: &[u8], emit: &mut impl FnMut(Record<'_>)) {
        let mut bytes = bytes;
        while let Some(matched) = self.bom {
            let Some((&b, rest)) = bytes.split_first() else { return };
            if b == BOM[matched] {
                bytes = rest;
                self.bom = (matched + 1 < BOM.len()).then_some(matched + 1);
            } else {
                // Not a byte-order mark after all: what was taken for one is data.
                self.bom = None;
                for &taken in &BOM[..matched] {
                    self.step(taken, emit);
                }
            }
        }
        let mut i = 0;
        while i < bytes.len() {
            let run = self.plain_run(&bytes[i..]);
            if run > 0 {
                self.take_run(&bytes[i..i + run], emit);
                i += run;
            } else {
                self.step(bytes[i], emit);
                i += 1;
            }
        }
    }

    /// How many of the next bytes change nothing but the record's length (no bracket, quote,
    /// escape or line break where one matters): they are taken at once.
    fn plain_run(&self, bytes: &[u8]) -> usize {
        let stop = |special: fn(u8) -> bool| bytes.iter().position(|&b| special(b)).unwrap_or(bytes.len());
        match self.state {
            State::Scalar if self.mode != Mode::Array => memchr::memchr2(b'\n', b'\r', bytes).unwrap_or(bytes.len()),
            State::Container if self.in_string && !self.escaped => stop(|b| matches!(b, b'"' | b'\\' | b'\n' | b'\r')),
            State::Container if !self.in_string => {
                stop(|b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']' | b'\n' | b'\r'))
            }
            _ => 0,
        }
    }

    fn take_run(&mut self, run: &[u8], emit: &mut impl FnMut(Record<'_>)) {
        self.note_indent(run[0]);
        if self.state == State::Container && !self.in_string {
            if let Some(&b) = run.iter().rev().find(|&&b| !Self::is_space(b)) {
                self.last = b;
            }
        }
        self.push_all(run);
        self.offset += run.len() as u64;
        self.column += run.len() as u64;
        self.after_cr = false;
        if self.mode == Mode::Sniff && self.buf.len() >= MAX_RECORD {
            self.reframe_as_array(emit);
        }
    }

    /// The end of the file: the record being framed, if any, is complete.
    pub fn finish(mut self, emit: &mut impl FnMut(Record<'_>)) {
        if let Some(matched) = self.bom.take() {
            for &taken in &BOM[..matched] {
                self.step(taken, emit);
            }
        }
        match self.mode {
            Mode::Sniff | Mode::Held => {
                self.reframe_as_array(emit);
                self.end_record(None, emit);
            }
            _ => self.end_record(None, emit),
        }
    }

    fn step(&mut self, b: u8, emit: &mut impl FnMut(Record<'_>)) {
        self.note_indent(b);
        let line_break = b == b'\n' || b == b'\r';
        // A record still open when a line starts with `{` in its first column was cut short,
        // unless a value is due there.
        if b == b'{'
            && self.column == 1
            && self.state == State::Container
            && self.line > self.start.0
            && !self.value_due()
        {
            self.end_record(Some(self.line), emit);
            self.begin(b);
        } else {
            match self.state {
                State::Between => self.between(b, emit),
                State::Container => self.container(b, emit),
                State::Scalar => self.scalar(b, emit),
                State::Trailer => self.trailer(b, emit),
            }
        }
        self.offset += 1;
        if line_break {
            if !(b == b'\n' && self.after_cr) {
                self.line += 1;
            }
            self.column = 1;
        } else {
            self.column += 1;
        }
        self.after_cr = b == b'\r';
    }

    /// A byte at the start of a line inside the open record: white space there makes it indented.
    fn note_indent(&mut self, b: u8) {
        if self.column == 1 && self.open && self.line > self.start.0 && (b == b' ' || b == b'\t') {
            self.indented = true;
        }
    }

    /// Whether the open record is pretty-printed without indentation (its first line is its
    /// opening bracket alone, as a line of newline-delimited JSON, cut or not, never is; no line of
    /// it indented) and at a place where a value comes next (after `:` in an object, or after `[`
    /// or `,` in an array).
    fn value_due(&self) -> bool {
        let first_line = self.buf.split(|&b| b == b'\n' || b == b'\r').next().unwrap_or_default();
        let pretty = !self.indented && first_line.iter().filter(|&&b| !Self::is_space(b)).count() == 1;
        pretty && matches!((self.stack.last(), self.last), (Some(b'{'), b':') | (Some(b'['), b'[' | b','))
    }

    fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\n' | b'\r')
    }

    fn between(&mut self, b: u8, emit: &mut impl FnMut(Record<'_>)) {
        if Self::is_space(b) {
            return;
        }
        match self.mode {
            Mode::Start if b == b'[' => {
                self.mode = Mode::Sniff;
                self.begin(b);
            }
            Mode::Start => {
                self.mode = Mode::Stream;
                self.begin(b);
            }
            Mode::Held => {
                // More after the first line's array: it was the first record of a stream.
                self.mode = Mode::Stream;
                self.end_record(None, emit);
                self.begin(b);
            }
            Mode::Array if b == b']' => self.mode = Mode::Stream,
            Mode::Array if b == b',' => {
                // An element missing between two commas: an empty record.
                self.begin_at_here();
                self.end_record(None, emit);
            }
            _ => self.begin(b),
        }
    }

    /// Start a record (an element in the file's array) with its first byte.
    fn begin(&mut self, b: u8) {
        self.begin_at_here();
        self.push(b);
        self.state = State::Container;
        self.last = b;
        match b {
            b'{' | b'[' => self.stack.push(b),
            // A string, whose commas and brackets are text.
            b'"' => self.in_string = true,
            _ => self.state = State::Scalar,
        }
    }

    fn begin_at_here(&mut self) {
        self.buf.clear();
        self.len = 0;
        self.stack.clear();
        self.in_string = false;
        self.escaped = false;
        self.last = 0;
        self.indented = false;
        self.start = (self.line, self.column, self.offset);
        self.open = true;
        if self.mode == Mode::Array {
            self.elements += 1;
        }
    }

    fn push(&mut self, b: u8) {
        self.push_all(&[b]);
    }

    fn push_all(&mut self, bytes: &[u8]) {
        let (before, limit) = (self.len, MAX_RECORD as u64);
        self.len += bytes.len() as u64;
        if before < limit {
            self.buf.extend_from_slice(&bytes[..bytes.len().min((limit - before) as usize)]);
        }
        if self.len > limit && before <= limit {
            // Too long to keep: only its first bytes stay, for the reject.
            self.buf.truncate(KEPT_OF_LONG);
            self.buf.shrink_to(KEPT_OF_LONG);
        }
    }

    fn container(&mut self, b: u8, emit: &mut impl FnMut(Record<'_>)) {
        let line_break = b == b'\n' || b == b'\r';
        if line_break && self.stack.is_empty() {
            // A string record not closed on its line: it ends there.
            self.in_string = false;
            match self.mode {
                Mode::Array => self.state = State::Trailer,
                _ => self.end_record(None, emit),
            }
            return;
        }
        self.push(b);
        if line_break {
            // A string cannot hold a line break: it ended here, malformed.
            self.in_string = false;
            self.escaped = false;
            if self.mode == Mode::Sniff {
                // The file's array spans lines: its elements are the records.
                self.reframe_as_array(emit);
            }
            return;
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                self.last = b;
                if self.stack.is_empty() {
                    self.state = State::Trailer;
                }
            }
            return;
        }
        if !Self::is_space(b) {
            self.last = b;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.stack.push(b),
            b'}' | b']' => {
                let opener = if b == b'}' { b'{' } else { b'[' };
                // A closing bracket of the wrong kind closes what it matches, or everything.
                match self.stack.iter().rposition(|&o| o == opener) {
                    Some(i) => self.stack.truncate(i),
                    None => self.stack.clear(),
                }
                if self.stack.is_empty() {
                    self.state = State::Trailer;
                    if self.mode == Mode::Sniff {
                        self.mode = Mode::Held;
                        self.state = State::Between;
                    }
                }
            }
            _ => {}
        }
        if self.mode == Mode::Sniff && self.buf.len() >= MAX_RECORD {
            self.reframe_as_array(emit);
        }
    }

    fn scalar(&mut self, b: u8, emit: &mut impl FnMut(Record<'_>)) {
        if self.mode == Mode::Array {
            match b {
                b',' => self.end_record(None, emit),
                b']' => {
                    self.end_record(None, emit);
                    self.mode = Mode::Stream;
                }
                _ if Self::is_space(b) => self.state = State::Trailer,
                _ => self.push(b),
            }
        } else if b == b'\n' || b == b'\r' {
            self.end_record(None, emit);
        } else {
            self.push(b);
        }
    }

    fn trailer(&mut self, b: u8, emit: &mut impl FnMut(Record<'_>)) {
        let in_array = self.mode == Mode::Array;
        match b {
            b'\n' | b'\r' if !in_array => self.end_record(None, emit),
            _ if Self::is_space(b) => {}
            b',' if in_array => self.end_record(None, emit),
            b']' if in_array => {
                self.end_record(None, emit);
                self.mode = Mode::Stream;
            }
            b'{' | b'[' => {
                self.end_record(None, emit);
                self.begin(b);
            }
            _ => self.push(b),
        }
    }

    /// The record being framed is complete (if there is one): emit it.
    fn end_record(&mut self, cut_at: Option<u64>, emit: &mut impl FnMut(Record<'_>)) {
        if !self.open {
            return;
        }
        self.open = false;
        let position =
            if self.mode == Mode::Array { Position::Element(self.elements) } else { Position::Line(self.start.0) };
        emit(Record {
            position,
            line: self.start.0,
            column: self.start.1,
            offset: self.start.2,
            len: self.len,
            bytes: &self.buf,
            cut_at,
        });
        self.buf.clear();
        self.len = 0;
        self.stack.clear();
        self.state = State::Between;
    }

    /// The first value of the file is its array: frame what was held of it again, as elements.
    fn reframe_as_array(&mut self, emit: &mut impl FnMut(Record<'_>)) {
        let held = std::mem::take(&mut self.buf);
        let here = (self.line, self.column, self.offset, self.after_cr);
        let (line, column, offset) = self.start;
        (self.line, self.column, self.offset, self.after_cr) = (line, column + 1, offset + 1, false);
        self.mode = Mode::Array;
        self.state = State::Between;
        self.open = false;
        self.stack.clear();
        self.len = 0;
        for &b in held.iter().skip(1) {
            self.step(b, emit);
        }
        (self.line, self.column, self.offset, self.after_cr) = here;
    }
}

/// Every record of `bytes` (a whole file's text, or as much of it as the caller has).
#[allow(dead_code)] // the unit tests' and the fuzz target's framer of a whole text
pub fn frame(bytes: &[u8], mut emit: impl FnMut(Record<'_>)) {
    let mut framer = Framer::default();
    framer.feed(bytes, &mut emit);
    framer.finish(&mut emit);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (position, text, cut) of every record of `text`.
    fn records(text: &str) -> Vec<(Position, String, Option<u64>)> {
        let mut out = Vec::new();
        frame(text.as_bytes(), |r| out.push((r.position, String::from_utf8_lossy(r.bytes).into_owned(), r.cut_at)));
        out
    }

    fn texts(text: &str) -> Vec<String> {
        records(text).into_iter().map(|(_, t, _)| t).collect()
    }

    fn lines(text: &str) -> Vec<Position> {
        records(text).into_iter().map(|(p, _, _)| p).collect()
    }

    #[test]
    fn newline_delimited_records_are_lines_whatever_ends_them() {
        let text = "\u{feff}{\"a\":1}\r\n\n  {\"a\":2}\r{\"a\":3}\n{\"a\":4}";
        assert_eq!(texts(text), ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "{\"a\":4}"]);
        assert_eq!(lines(text), [Position::Line(1), Position::Line(3), Position::Line(4), Position::Line(5)]);
        // A lone carriage return ends a line, so a record after one is on the next line.
        assert_eq!(lines("{}\r{}\r\r{}"), [Position::Line(1), Position::Line(2), Position::Line(4)]);
    }

    #[test]
    fn pretty_printed_and_concatenated_objects_are_one_record_each() {
        let pretty = "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [1, 2]\n  }\n}\n{\n  \"a\": 2\n}\n";
        let got = records(pretty);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, got[1].0), (Position::Line(1), Position::Line(7)));
        assert!(got[0].1.ends_with('}') && got[0].1.contains("\"c\""));
        assert_eq!(texts("{\"a\":1}{\"a\":2} {\"a\":3}[4]"), ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "[4]"]);
        // Brackets and line breaks in strings are text.
        assert_eq!(texts("{\"a\":\"}{[\\\"\"}\n"), ["{\"a\":\"}{[\\\"\"}"]);
    }

    #[test]
    fn a_cut_record_costs_only_itself() {
        let text = "{\"a\":0}\n{\"a\":1,\"b\":\n{\"a\":2}\n{\"a\": \"open string\n{\"a\":3}\n{\"a\": [1,\n{\"a\":4}\n";
        let got = records(text);
        let cut: Vec<Option<u64>> = got.iter().map(|r| r.2).collect();
        assert_eq!(cut, [None, Some(3), None, Some(5), None, Some(7), None]);
        assert_eq!(got[1].1, "{\"a\":1,\"b\":\n");
        // Indented, a `{` is inside the record.
        assert_eq!(texts("{\"a\":\n  {\"b\":1}}\n").len(), 1);
        // In a pretty-printed record, a `{` in the first column where a value is due is inside the
        // record (`json.dumps(indent=0)`); where it is not due, the record was cut.
        let indent0 = "{\n\"a\": [\n{\n\"b\": 1\n},\n{\n\"c\": {\n\"d\":\n{}}}\n]\n}\n{\n\"a\": 2\n}\n";
        assert_eq!(records(indent0).iter().map(|r| r.2).collect::<Vec<_>>(), [None, None]);
        let cut_pretty = "{\n\"a\": 1\n}\n{\n\"a\": 2,\n{\n\"a\": 3\n}\n";
        assert_eq!(records(cut_pretty).iter().map(|r| r.2).collect::<Vec<_>>(), [None, Some(6), None]);
        // Indented (as `jq .` writes), a `{` in the first column is a new record wherever it is.
        let cut_jq = "{\n  \"a\": [\n    1,\n{\"a\": 4}\n";
        assert_eq!(records(cut_jq).iter().map(|r| r.2).collect::<Vec<_>>(), [Some(4), None]);
    }

    #[test]
    fn garbage_runs_to_the_end_of_its_line_and_trailing_junk_stays_with_its_record() {
        assert_eq!(texts("hello {\"a\":1}\n42\n}\n{\"a\":2}, x\n"), ["hello {\"a\":1}", "42", "}", "{\"a\":2},x"]);
        assert_eq!(texts("{\"a\":2}, {\"a\":3}"), ["{\"a\":2},", "{\"a\":3}"]);
        // A closing bracket of the wrong kind closes the record.
        assert_eq!(texts("{\"a\":[1}\n{\"a\":1}"), ["{\"a\":[1}", "{\"a\":1}"]);
    }

    #[test]
    fn a_json_array_is_its_elements() {
        let text = "[{\"a\":1}, {\"a\":\n  2}, 3 ,\"x\",, [5]]\n";
        assert_eq!(texts(text), ["{\"a\":1}", "{\"a\":\n  2}", "3", "\"x\"", "", "[5]"]);
        assert_eq!(lines(text), (1..=6).map(Position::Element).collect::<Vec<_>>());
        let pretty = "[\n{\n  \"a\": 1\n},\n{\"a\": 2,\n{\"a\": 3}\n]";
        let got = records(pretty);
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), (1..=3).map(Position::Element).collect::<Vec<_>>());
        assert_eq!(got[1].2, Some(6), "a cut element costs only itself");
        assert_eq!(texts("[]"), Vec::<String>::new());
        assert_eq!(texts("[1, 2"), ["1", "2"]);
        // Records after the file's array are a stream again.
        assert_eq!(lines("[\n1\n]\n{}\n"), [Position::Element(1), Position::Line(4)]);
    }

    #[test]
    fn an_array_on_the_first_line_with_records_after_it_is_one_record() {
        let text = "[1, 2]\n{\"a\":1}\n{\"a\":2}\n";
        assert_eq!(texts(text), ["[1, 2]", "{\"a\":1}", "{\"a\":2}"]);
        assert_eq!(lines(text), [Position::Line(1), Position::Line(2), Position::Line(3)]);
        assert_eq!(lines("[1, 2]\n\n  \n"), [Position::Element(1), Position::Element(2)]);
    }

    #[test]
    fn a_record_longer_than_the_limit_keeps_its_first_bytes_and_its_length() {
        let mut framer = Framer::default();
        let mut got = Vec::new();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..(MAX_RECORD >> 20) + 2 {
            framer.feed(&chunk, &mut |r: Record<'_>| got.push((r.len, r.bytes.len(), r.is_too_long())));
        }
        framer.feed(b"\n{}", &mut |r: Record<'_>| got.push((r.len, r.bytes.len(), r.is_too_long())));
        framer.finish(&mut |r: Record<'_>| got.push((r.len, r.bytes.len(), r.is_too_long())));
        assert_eq!(got, [((MAX_RECORD + (2 << 20)) as u64, KEPT_OF_LONG, true), (2, 2, false)]);
    }

    #[test]
    fn chunks_frame_as_the_whole_does() {
        let text = "\u{feff}[1,\n{\"a\": \"b\"}]\r\n{\"c\":\n 1}{}\rx y\n";
        let whole = records(text);
        for size in 1..8 {
            let mut framer = Framer::default();
            let mut got = Vec::new();
            let mut emit =
                |r: Record<'_>| got.push((r.position, String::from_utf8_lossy(r.bytes).into_owned(), r.cut_at));
            for chunk in text.as_bytes().chunks(size) {
                framer.feed(chunk, &mut emit);
            }
            framer.finish(&mut emit);
            assert_eq!(got, whole, "chunks of {size}");
        }
    }
}
