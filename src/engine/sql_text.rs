//! Small lexical helpers over SQL text: enough to find which tables a stage reads and to quote
//! identifiers, without a SQL parser (DuckDB parses; we only need names).

/// What [`lex`] found in a SQL text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexed {
    /// The identifiers, lower-cased, in order (see [`identifiers`]).
    pub identifiers: Vec<String>,
    /// A string literal, quoted identifier or block comment that is never closed: the lexer and
    /// DuckDB may disagree about the text after it, so nothing it says about the names is sure.
    pub unterminated: bool,
}

/// The identifiers a SQL text mentions, lower-cased, with comments and string literals removed.
/// Quoted identifiers ("user", `user`) count as identifiers.
pub fn identifiers(sql: &str) -> Vec<String> {
    lex(sql).identifiers
}

/// The length of a dollar-quote tag (`$$` or `$tag$`) starting at `i`, or none.
fn dollar_tag(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        if j == i + 1 && chars[j].is_ascii_digit() {
            return None; // `$1`: a parameter
        }
        j += 1;
    }
    (chars.get(j) == Some(&'$')).then_some(j + 1 - i)
}

/// Split a SQL text into identifiers, skipping comments, string literals (`'...'`, `$$...$$`,
/// `$tag$...$tag$`) and reading quoted identifiers (`"..."`, `` `...` ``) as identifiers.
pub fn lex(sql: &str) -> Lexed {
    let mut out = Vec::new();
    let mut unterminated = false;
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(word.to_lowercase());
            word.clear();
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            flush(&mut word, &mut out);
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            flush(&mut word, &mut out);
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            if i + 1 >= chars.len() {
                unterminated = true;
            }
            i += 2;
        } else if c == '$' && word.is_empty() && dollar_tag(&chars, i).is_some() {
            let len = dollar_tag(&chars, i).expect("checked");
            let tag = &chars[i..i + len];
            i += len;
            while i < chars.len() && !chars[i..].starts_with(tag) {
                i += 1;
            }
            if i >= chars.len() {
                unterminated = true;
            }
            i += len;
        } else if c == '\'' || c == '"' || c == '`' {
            flush(&mut word, &mut out);
            let quote = c;
            let mut literal = String::new();
            let mut closed = false;
            i += 1;
            while i < chars.len() {
                if chars[i] == quote {
                    if chars.get(i + 1) == Some(&quote) {
                        literal.push(quote);
                        i += 2;
                        continue;
                    }
                    closed = true;
                    break;
                }
                literal.push(chars[i]);
                i += 1;
            }
            unterminated |= !closed;
            if quote != '\'' {
                out.push(literal.to_lowercase());
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            word.push(c);
            i += 1;
        } else {
            flush(&mut word, &mut out);
            i += 1;
        }
    }
    flush(&mut word, &mut out);
    Lexed { identifiers: out, unterminated }
}

/// Quote an identifier for DuckDB: always double-quoted, inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quote a string literal for DuckDB (for the rare places a parameter cannot go, e.g. DDL).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A stage or check body as one statement: trailing semicolons and whitespace removed.
pub fn strip_trailing_semicolons(sql: &str) -> &str {
    sql.trim_end().trim_end_matches(';').trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_skip_comments_and_strings() {
        let ids =
            identifiers("-- reads customer_landing\nSELECT \"user\" FROM t /* x_y */ WHERE a = 'customer_trusted'");
        assert_eq!(ids, vec!["select", "user", "from", "t", "where", "a"]);
    }

    #[test]
    fn backquoted_names_are_identifiers_and_hide_no_quote() {
        let lexed = lex("SELECT `it's` FROM customer_landing JOIN `Step_Trainer_Landing` USING (x)");
        assert!(!lexed.unterminated);
        assert_eq!(
            lexed.identifiers,
            vec!["select", "it's", "from", "customer_landing", "join", "step_trainer_landing", "using", "x"]
        );
        assert_eq!(identifiers("SELECT `a``b` FROM t"), vec!["select", "a`b", "from", "t"]);
    }

    #[test]
    fn dollar_quoted_strings_are_literals() {
        let ids = identifiers("SELECT $$it's customer_trusted$$, $tag$ x $$ y $tag$ FROM t WHERE a = $1");
        assert_eq!(ids, vec!["select", "from", "t", "where", "a", "1"]);
        let ids = identifiers("SELECT a$b FROM t");
        assert_eq!(ids, vec!["select", "a", "b", "from", "t"], "a $ inside a name starts no string");
    }

    #[test]
    fn an_unclosed_literal_is_reported() {
        for sql in
            ["SELECT 'abc FROM t", "SELECT \"abc FROM t", "SELECT `abc FROM t", "SELECT $$ FROM t", "SELECT /* t"]
        {
            assert!(lex(sql).unterminated, "{sql}");
        }
        for sql in ["SELECT 'a''b' FROM t", "SELECT $$a$$", "SELECT 1 -- 'x", "SELECT /* ' */ 1"] {
            assert!(!lex(sql).unterminated, "{sql}");
        }
        // E'...' escapes are not lexed: the text after one reads as an unclosed literal.
        assert!(lex("SELECT E'it\\'s' FROM t").unterminated);
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(strip_trailing_semicolons("SELECT 1;; \n"), "SELECT 1");
    }
}
