//! What DuckDB's JSON reader takes beyond strict JSON, taken here too, so that whether a record
//! loads never depends on which path read it (DuckDB's typed reader reads a whole file, the
//! validator reads it record by record when DuckDB refuses the file for another record's sake).
//! DuckDB's reader (yyjson, with trailing commas, inf and nan allowed) takes a comma before a
//! closing bracket (`{"x": 1,}`, `[1, 2,]`) and the numbers NaN and infinity in any case, with a
//! sign (`NaN`, `nan`, `-Infinity`, `inf`); it refuses comments, single quotes, `+1` or `.5`, as
//! serde_json does. A record holding any of these is rewritten to strict JSON (the comma dropped,
//! the number written `null`), and each place a number was rewritten is remembered with its text:
//! a text column takes it as written (as DuckDB does), another declared column rejects it, and any
//! other field is not looked at. Taking more than DuckDB does is harmless (a file DuckDB refuses is
//! validated whole); taking less would make a record's fate depend on its neighbours.

/// A record rewritten to strict JSON, and where (byte offsets into `text`) a `null` stands for a
/// number JSON has no word for, with that word as written.
pub(super) struct Relaxed {
    pub text: String,
    pub stood_for: Vec<(usize, String)>,
}

/// The words (any case, after an optional sign), longest first so `infinity` is not read as `inf`.
const NUMBER_WORDS: [&str; 3] = ["infinity", "inf", "nan"];

/// The length of the number word (with its sign) at the start of `bytes`, if one is there.
fn number_word(bytes: &[u8]) -> Option<usize> {
    let sign = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let rest = &bytes[sign..];
    let word =
        NUMBER_WORDS.iter().find(|w| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes()))?;
    let len = sign + word.len();
    (!bytes.get(len).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')).then_some(len)
}

/// `text` rewritten as above, or None when there is nothing to rewrite.
pub(super) fn relax(text: &str) -> Option<Relaxed> {
    let bytes = text.as_bytes();
    let mut out = Relaxed { text: String::with_capacity(text.len()), stood_for: Vec::new() };
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut from = 0; // start of the bytes not yet copied to `out`
    let mut last = 0u8; // the last byte outside a string that is not white space
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let after = |at: usize| bytes[at..].iter().copied().find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'));
        if b == b',' && matches!(after(i + 1), Some(b'}' | b']')) {
            out.text.push_str(&text[from..i]);
            (from, changed) = (i + 1, true);
            i += 1;
            continue;
        }
        if matches!(last, b':' | b'[' | b',') {
            if let Some(len) = number_word(&bytes[i..]) {
                out.text.push_str(&text[from..i]);
                out.stood_for.push((out.text.len(), text[i..i + len].to_string()));
                out.text.push_str("null");
                (from, changed, last) = (i + len, true, b'l');
                i += len;
                continue;
            }
        }
        match b {
            b'"' => in_string = true,
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => last = b,
        }
        if b == b'"' {
            last = b'"';
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.text.push_str(&text[from..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed(text: &str) -> Option<(String, Vec<(usize, String)>)> {
        relax(text).map(|r| (r.text, r.stood_for))
    }

    #[test]
    fn trailing_commas_go_and_number_words_become_null_outside_strings_only() {
        assert_eq!(relaxed(r#"{"a": 1}"#), None);
        assert_eq!(relaxed(r#"{"a": [1, 2,], "b": {"c": 1 , } ,}"#).unwrap().0, r#"{"a": [1, 2], "b": {"c": 1  } }"#);
        let (text, stood_for) = relaxed(r#"{"a": NaN, "b": [Infinity,-Infinity], "c": "NaN,}"}"#).unwrap();
        assert_eq!(text, r#"{"a": null, "b": [null,null], "c": "NaN,}"}"#);
        let words: Vec<(usize, &str)> = stood_for.iter().map(|(at, w)| (*at, w.as_str())).collect();
        assert_eq!(words, [(6, "NaN"), (18, "Infinity"), (23, "-Infinity")]);
        // Any case, either sign, `inf` as well: as DuckDB's reader takes them.
        let (text, stood_for) = relaxed(r#"{"a": nan, "b": -INF, "c": +infinity, "d": -NaN}"#).unwrap();
        assert_eq!(text, r#"{"a": null, "b": null, "c": null, "d": null}"#);
        let words: Vec<&str> = stood_for.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(words, ["nan", "-INF", "+infinity", "-NaN"]);
        // Not a value's place, or part of a longer word, or inside a string with escapes: left alone.
        assert_eq!(relaxed(r#"{"a\",}": "x\\", NaNa: 1}"#), None);
        assert_eq!(relaxed(r#"{"a": NaNa}"#), None);
    }
}
