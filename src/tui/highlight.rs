//! SQL syntax highlighting for the stage view: keywords, strings, numbers and comments, enough to
//! make a stage readable at a glance. Works line by line (block comments are rare in stages).
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

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

pub fn highlight_sql(sql: &str) -> Vec<Line<'static>> {
    sql.lines().map(highlight_line).collect()
}

fn highlight_line(line: &str) -> Line<'static> {
    let comment = Style::new().fg(Color::DarkGray).add_modifier(Modifier::ITALIC);
    let keyword = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let string = Style::new().fg(Color::Green);
    let number = Style::new().fg(Color::Magenta);
    let ident = Style::new().fg(Color::Yellow);
    let mut spans = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            spans.push(Span::styled(chars[i..].iter().collect::<String>(), comment));
            break;
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            i = (i + 1).min(chars.len());
            let text: String = chars[start..i].iter().collect();
            spans.push(Span::styled(text, if c == '\'' { string } else { ident }));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            spans.push(Span::styled(chars[start..i].iter().collect::<String>(), number));
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let style = if KEYWORDS.contains(&word.to_lowercase().as_str()) { keyword } else { Style::new() };
            spans.push(Span::styled(word, style));
        } else {
            while i < chars.len() && !(chars[i].is_alphanumeric() || "_'\"-".contains(chars[i])) {
                i += 1;
            }
            if i == start {
                i += 1;
            }
            spans.push(Span::raw(chars[start..i].iter().collect::<String>()));
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_strings_and_comments_are_styled() {
        let lines = highlight_sql("-- keeps consenting\nSELECT * FROM t WHERE a = 'x' AND b > 10");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].spans.len(), 1);
        let text: String = lines[1].spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "SELECT * FROM t WHERE a = 'x' AND b > 10");
        let select = &lines[1].spans[0];
        assert_eq!(select.content, "SELECT");
        assert_eq!(select.style.fg, Some(Color::Cyan));
        assert!(lines[1].spans.iter().any(|s| s.content == "'x'" && s.style.fg == Some(Color::Green)));
    }
}
