//! Text made safe to print. A file name, a landing value or a SQL file's header may hold a newline,
//! a carriage return or a terminal escape; printed as it is, it could forge a report line
//! (`PASS error consent_leak...`), rewrite a terminal, or make JUnit XML invalid. Every path and
//! value that the text and JUnit reports, the TUI and the error messages print goes through
//! [`printable`], which shows such characters as escapes (`\n`, `\r`, `\t`, `\u{1b}`). JSON
//! (reports, SARIF, traces, diffs, manifests) is written by [`to_json_pretty`], whose escapes
//! (`\u0085`, `\u202e`) decode to the exact values, so the file itself holds none of them raw.
use std::borrow::Cow;
use std::path::Path;

/// Whether `c` must not be printed as it is: a control character (C0, DEL, C1: newline, carriage
/// return, tab and escape included), a line or paragraph separator, a bidirectional override or
/// isolate (which reorder what a terminal shows), or a character XML 1.0 does not allow (U+FFFE,
/// U+FFFF).
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'
                ..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// `text` with every [unprintable](is_unprintable) character escaped: `\n`, `\r`, `\t`, else
/// `\u{XX}` (hexadecimal). Anything else, backslashes included, is kept as it is, so the result is
/// one line, holds only characters XML 1.0 allows, and is unchanged when escaped again.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unprintable(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `value` as pretty JSON in which every [unprintable](is_unprintable) character is a `\uXXXX`
/// escape: serde_json escapes only the ASCII controls, and leaves a C1 control, a line separator or
/// a bidirectional override raw, which a terminal or an editor showing the file would act on.
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(4096);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, Escaping(serde_json::ser::PrettyFormatter::new()));
    value.serialize(&mut serializer).expect("a value of ours serialises to JSON");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// serde_json's pretty formatter, with [unprintable](is_unprintable) characters escaped.
struct Escaping<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for Escaping<'_> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(&mut self, w: &mut W, fragment: &str) -> std::io::Result<()> {
        let mut from = 0;
        for (at, c) in fragment.char_indices().filter(|&(_, c)| is_unprintable(c)) {
            w.write_all(&fragment.as_bytes()[from..at])?;
            // Every such character is in the Basic Multilingual Plane: one \uXXXX each.
            write!(w, "\\u{:04x}", c as u32)?;
            from = at + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[from..])
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// A path as [`printable`] text (a name that is not UTF-8 shows U+FFFD where its bytes are not).
pub fn printable_path(path: &Path) -> String {
    printable(&path.to_string_lossy()).into_owned()
}

/// What a file type is, in words: "a folder", "a symlink", "a FIFO", ...
pub fn describe_file_type(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symlink"
    } else if t.is_file() {
        "a file"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(printable("customer/landing/a.json"), "customer/landing/a.json");
        assert!(matches!(printable("plain ünïcödé ✓"), Cow::Borrowed(_)));
        assert_eq!(printable("a\nPASS error consent_leak.x\n.json"), "a\\nPASS error consent_leak.x\\n.json");
        assert_eq!(printable("\r\t\u{1b}[2J\u{7f}\u{85}\0"), "\\r\\t\\u{1b}[2J\\u{7f}\\u{85}\\u{0}");
        assert_eq!(printable("a\u{2028}b\u{202e}c\u{ffff}"), "a\\u{2028}b\\u{202e}c\\u{ffff}");
        // Backslashes stay, and escaping twice changes nothing.
        assert_eq!(printable(r"C:\temp\n"), r"C:\temp\n");
        let once = printable("x\ny\u{1}").into_owned();
        assert_eq!(printable(&once), once);
        assert_eq!(printable_path(Path::new("/tmp/a\nb")), "/tmp/a\\nb");
    }

    #[test]
    fn json_holds_no_unprintable_character_raw_and_reads_back_exactly() {
        let every: String = (0u32..0x3_0000).filter_map(char::from_u32).collect();
        let value = serde_json::json!({ "path": every, "list": ["a\u{85}b\u{202e}c", 1] });
        let text = to_json_pretty(&value);
        assert!(!text.chars().any(|c| is_unprintable(c) && c != '\n'), "only the layout's newlines are raw");
        assert!(text.contains("\\u0085") && text.contains("\\u202e") && text.contains("\\u001b"));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
        // The layout is serde_json's own.
        assert_eq!(
            to_json_pretty(&serde_json::json!({"a": [1]})),
            serde_json::to_string_pretty(&serde_json::json!({"a": [1]})).unwrap()
        );
    }

    #[test]
    fn the_result_is_one_line_of_xml_characters() {
        let every: String = (0u32..0x3_0000).filter_map(char::from_u32).collect();
        let shown = printable(&every);
        assert!(!shown.contains('\n') && !shown.contains('\r'));
        // XML 1.0: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
        assert!(shown.chars().all(|c| matches!(c, '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)));
        assert!(!shown.chars().any(char::is_control));
    }
}
