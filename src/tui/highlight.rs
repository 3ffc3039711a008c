//! SQL syntax highlighting for the stage view: the tokens of [`crate::engine::sql_tokens`], styled
//! for the terminal.
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::engine::{tokenize_line, TokenKind};

pub fn highlight_sql(sql: &str) -> Vec<Line<'static>> {
    sql.lines().map(highlight_line).collect()
}

fn highlight_line(line: &str) -> Line<'static> {
    let spans: Vec<Span<'static>> = tokenize_line(line)
        .into_iter()
        .map(|(kind, text)| {
            let style = match kind {
                TokenKind::Comment => Style::new().fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
                TokenKind::Keyword => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                TokenKind::String => Style::new().fg(Color::Green),
                TokenKind::Number => Style::new().fg(Color::Magenta),
                TokenKind::Quoted => Style::new().fg(Color::Yellow),
                TokenKind::Plain => Style::new(),
            };
            Span::styled(text, style)
        })
        .collect();
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
