//! One build error in a source file, rendered the way compilers do: `path:line:col`, the source
//! line, a caret under the offending text, and the message.

use std::fmt;
use std::path::PathBuf;

/// An error located in a source file. `line` and `column` are 1-based; the column counts
/// characters, not bytes, so that the caret lines up under the text in a terminal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Path shown to the user (relative to the workspace root).
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The full text of the offending line, without its line break.
    pub source_line: String,
    /// How many characters the caret underlines (at least 1).
    pub width: usize,
    pub help: Option<String>,
}

impl Diagnostic {
    /// Locates the byte range `start..end` of `source` and builds the diagnostic.
    pub fn at(
        path: PathBuf,
        source: &str,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let start = floor_char_boundary(source, start.min(source.len()));
        let end = floor_char_boundary(source, end.clamp(start, source.len()));
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let source_line = source[line_start..line_end].trim_end_matches('\r');
        let line = source[..line_start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let underlined = &source[start..end.min(line_end).max(start)];
        Diagnostic {
            path,
            line,
            column,
            message: message.into(),
            source_line: source_line.to_owned(),
            width: underlined.chars().count().max(1),
            help: None,
        }
    }

    /// A problem with the file as a whole (for example, it cannot be read).
    pub fn whole_file(path: PathBuf, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            path,
            line: 1,
            column: 1,
            message: message.into(),
            source_line: String::new(),
            width: 0,
            help: None,
        }
    }

    pub fn with_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )?;
        if self.width > 0 {
            let number = self.line.to_string();
            let gutter = " ".repeat(number.len());
            // Tabs keep their width so the caret stays under the right character.
            let pad: String = self
                .source_line
                .chars()
                .take(self.column - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let available = self.source_line.chars().count() + 1 - self.column;
            let carets = "^".repeat(self.width.min(available.max(1)));
            write!(
                f,
                "\n {number} | {}\n {gutter} | {pad}{carets}",
                self.source_line
            )?;
        }
        if let Some(help) = &self.help {
            write!(
                f,
                "\n {} = help: {help}",
                " ".repeat(self.line.to_string().len())
            )?;
        }
        Ok(())
    }
}

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    while !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let source = "const a = 1;\nconst b: = 2;\n";
        let d = Diagnostic::at(
            PathBuf::from("src/x.ts"),
            source,
            22,
            23,
            "Unexpected token",
        );
        assert_eq!((d.line, d.column), (2, 10));
        assert_eq!(
            d.to_string(),
            "src/x.ts:2:10: error: Unexpected token\n 2 | const b: = 2;\n   |          ^"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let source = "const é = ;";
        let start = source.find(';').expect("has a semicolon");
        let d = Diagnostic::at(PathBuf::from("a.ts"), source, start, start + 1, "x");
        assert_eq!(d.column, 11);
    }

    #[test]
    fn an_error_at_end_of_file_still_gets_a_caret() {
        let source = "function f() {";
        let d = Diagnostic::at(PathBuf::from("a.ts"), source, 14, 14, "Expected `}`");
        assert_eq!((d.line, d.column, d.width), (1, 15, 1));
        assert!(d.to_string().ends_with("|               ^"), "{d}");
    }
}
