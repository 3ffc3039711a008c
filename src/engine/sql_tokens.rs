//! SQL split into lexical tokens, line by line: keywords, strings, numbers, quoted identifiers and
//! comments. Format-neutral: the TUI styles the tokens for the terminal, the HTML report wraps them
//! in `<span>`s. Enough to make a stage readable at a glance (block comments are rare in stages).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Comment,
    Keyword,
    String,
    Number,
    /// `"user"`: a double-quoted identifier.
    Quoted,
    Plain,
}

const KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "on",
    "as",
    "distinct",
    "group",
    "by",
    "order",
    "having",
    "union",
    "all",
    "except",
    "intersect",
    "with",
    "case",
    "when",
    "then",
    "else",
    "end",
    "exists",
    "limit",
    "offset",
    "over",
    "partition",
    "desc",
    "asc",
    "nulls",
    "last",
    "first",
    "true",
    "false",
    "cast",
    "between",
    "like",
    "ilike",
    "using",
    "qualify",
    "create",
    "table",
    "view",
];

/// One line's tokens; their texts, joined, are the line.
pub fn tokenize_line(line: &str) -> Vec<(TokenKind, String)> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            tokens.push((TokenKind::Comment, text(i, chars.len())));
            break;
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            i = (i + 1).min(chars.len());
            tokens.push((if c == '\'' { TokenKind::String } else { TokenKind::Quoted }, text(start, i)));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            tokens.push((TokenKind::Number, text(start, i)));
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word = text(start, i);
            let kind =
                if KEYWORDS.contains(&word.to_lowercase().as_str()) { TokenKind::Keyword } else { TokenKind::Plain };
            tokens.push((kind, word));
        } else {
            while i < chars.len() && !(chars[i].is_alphanumeric() || "_'\"-".contains(chars[i])) {
                i += 1;
            }
            if i == start {
                i += 1;
            }
            tokens.push((TokenKind::Plain, text(start, i)));
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_join_back_into_the_line() {
        let line = "SELECT * FROM t WHERE a = 'x' AND b > 10 -- note";
        let tokens = tokenize_line(line);
        assert_eq!(tokens.iter().map(|(_, t)| t.as_str()).collect::<String>(), line);
        assert_eq!(tokens[0], (TokenKind::Keyword, "SELECT".to_string()));
        assert!(tokens.contains(&(TokenKind::String, "'x'".to_string())));
        assert_eq!(tokens.last().unwrap(), &(TokenKind::Comment, "-- note".to_string()));
    }
}
