//! What DuckDB's JSON reader takes beyond strict JSON, taken here too, so that whether a record
//! loads never depends on which path read it (DuckDB's typed reader reads a whole file, the
//! validator reads it record by record when DuckDB refuses the file for another record's sake).
//! DuckDB's reader allows a comma before a closing bracket (`{"x": 1,}`, `[1, 2,]`) and the
//! numbers `NaN`, `Infinity` and `-Infinity`; it refuses comments, single quotes, `+1` or `.5`, as
//! serde_json does. A record holding any of these is rewritten to strict JSON (the comma dropped,
//! the number written `null`), and each place a number was rewritten is remembered: in a declared
//! field it is a reject (no declared type takes it), in any other field it is not looked at.

/// A record rewritten to strict JSON, and where (byte offsets into `text`) a `null` stands for a
/// number JSON has no word for.
pub(super) struct Relaxed {
    pub text: String,
    pub stood_for: Vec<(usize, &'static str)>,
}

const NUMBER_WORDS: [&str; 3] = ["NaN", "Infinity", "-Infinity"];

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
            let word = NUMBER_WORDS.iter().find(|w| {
                bytes[i..].starts_with(w.as_bytes())
                    && !bytes.get(i + w.len()).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            });
            if let Some(word) = word {
                out.text.push_str(&text[from..i]);
                out.stood_for.push((out.text.len(), word));
                out.text.push_str("null");
                (from, changed, last) = (i + word.len(), true, b'l');
                i += word.len();
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

    fn relaxed(text: &str) -> Option<(String, Vec<(usize, &'static str)>)> {
        relax(text).map(|r| (r.text, r.stood_for))
    }

    #[test]
    fn trailing_commas_go_and_number_words_become_null_outside_strings_only() {
        assert_eq!(relaxed(r#"{"a": 1}"#), None);
        assert_eq!(relaxed(r#"{"a": [1, 2,], "b": {"c": 1 , } ,}"#).unwrap().0, r#"{"a": [1, 2], "b": {"c": 1  } }"#);
        let (text, stood_for) = relaxed(r#"{"a": NaN, "b": [Infinity,-Infinity], "c": "NaN,}"}"#).unwrap();
        assert_eq!(text, r#"{"a": null, "b": [null,null], "c": "NaN,}"}"#);
        assert_eq!(stood_for, [(6, "NaN"), (18, "Infinity"), (23, "-Infinity")]);
        // Not a value's place, or part of a longer word, or inside a string with escapes: left alone.
        assert_eq!(relaxed(r#"{"a\",}": "x\\", NaNa: 1}"#), None);
        assert_eq!(relaxed(r#"{"a": NaNa}"#), None);
    }
}
