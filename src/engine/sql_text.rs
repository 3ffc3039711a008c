//! Small lexical helpers over SQL text: enough to find which tables a stage reads and to quote
//! identifiers, without a SQL parser (DuckDB parses; we only need names).

/// The identifiers a SQL text mentions, lower-cased, with comments and string literals removed.
/// Quoted identifiers ("user") count as identifiers.
pub fn identifiers(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
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
            i += 2;
        } else if c == '\'' || c == '"' {
            flush(&mut word, &mut out);
            let quote = c;
            let mut literal = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == quote {
                    if chars.get(i + 1) == Some(&quote) {
                        literal.push(quote);
                        i += 2;
                        continue;
                    }
                    break;
                }
                literal.push(chars[i]);
                i += 1;
            }
            if quote == '"' {
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
    out
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
    fn quoting_doubles_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(strip_trailing_semicolons("SELECT 1;; \n"), "SELECT 1");
    }
}
