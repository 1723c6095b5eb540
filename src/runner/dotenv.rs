//! The `.env` format as Node.js reads it (`node --env-file`, the `dotenv` package), so that a
//! job sees the values it would see under Node: `KEY=hello world` is `hello world`, `$` is an
//! ordinary character, `#` starts a comment outside quotes, later lines win. Where Node
//! silently skips a line it cannot read, this parser refuses it with the line number and the
//! fix: a dropped variable would only show up later as a job misbehaving.
//!
//! Errors never quote a value: a line that is not an assignment is shown by its first word
//! only (`PASSWORD s3cret` must not end up in a log), and invisible characters in a name are
//! spelled out (`\u{feff}`).

/// A line that is not an assignment, blank or a comment; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// The assignments of a `.env` file, in file order (a later one for the same key wins).
pub fn parse(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    if text.starts_with('\u{feff}') {
        // Node keeps the mark as part of the first name, which then matches nothing.
        return Err(ParseError {
            line: 1,
            message: "the file starts with a byte order mark (`\\u{feff}`), which Node.js would read as part of the first variable's name; save the file as UTF-8 without a BOM".into(),
        });
    }
    let mut pairs = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((number, raw)) = lines.next() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: String| ParseError {
            line: number,
            message,
        };
        let assignment = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, rest)) = assignment.split_once('=') else {
            let first = line.split_whitespace().next().unwrap_or(line);
            return Err(error(format!(
                "the line starting with `{}` is not an assignment; write KEY=value (or start a comment with #)",
                first.escape_debug()
            )));
        };
        let key = key.trim_end();
        if let Some((first, _)) = key.split_once(char::is_whitespace) {
            // What follows the space may be a value (`PASSWORD s3cret=x`).
            return Err(error(format!(
                "the name starting with `{}` contains a space; use letters, digits, `_`, `.` and `-`, as in MY_KEY=value",
                first.escape_debug()
            )));
        }
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(error(format!(
                "`{}` is not a variable name; use letters, digits, `_`, `.` and `-`, as in MY_KEY=value",
                key.escape_debug()
            )));
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'' | '`')) => {
                let (value, after) = quoted(&rest[1..], quote, &mut lines)
                    .ok_or_else(|| error(format!(
                        "the value of `{key}` opens a {quote} quote that is never closed; close it with {quote}"
                    )))?;
                let after = after.trim();
                if !after.is_empty() && !after.starts_with('#') {
                    // Not quoted back: it is likely part of the value.
                    return Err(error(format!(
                        "unexpected text after the quoted value of `{key}`; put the whole value inside the quotes"
                    )));
                }
                if quote == '"' {
                    value.replace("\\n", "\n")
                } else {
                    value
                }
            }
            _ => rest.split('#').next().unwrap_or("").trim().to_owned(),
        };
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The text up to the closing `quote`, reading on into the next lines for a multi-line value,
/// and what follows the quote on its line. `None` if the quote is never closed.
fn quoted<'a>(
    first: &'a str,
    quote: char,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Option<(String, &'a str)> {
    let mut value = String::new();
    let mut current = first;
    loop {
        if let Some(end) = current.find(quote) {
            value.push_str(&current[..end]);
            return Some((value, &current[end + quote.len_utf8()..]));
        }
        value.push_str(current);
        value.push('\n');
        current = lines.next()?.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).expect("valid .env")
    }

    fn value(text: &str) -> String {
        let mut all = pairs(text);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0).1
    }

    /// Each expectation was checked with `node --env-file` (Node 20).
    #[test]
    fn reads_values_the_way_node_does() {
        assert_eq!(value("KEY=hello world\n"), "hello world");
        assert_eq!(value("SP = spaced value  \n"), "spaced value");
        assert_eq!(value("export EXP=1\n"), "1");
        assert_eq!(value("DQ=\"a\\nb\"\n"), "a\nb");
        assert_eq!(value("SQ='a\\nb'\n"), "a\\nb");
        assert_eq!(value("BT=`x'y\"z`\n"), "x'y\"z");
        assert_eq!(value("ML=\"line1\nline2\"\n"), "line1\nline2");
        assert_eq!(value("CM=v # comment\n"), "v");
        assert_eq!(value("QCM=\"v # not\" # comment\n"), "v # not");
        assert_eq!(value("EMPTY=\n"), "");
        assert_eq!(value("HASH=a#b\n"), "a");
        assert_eq!(value("DOLLAR=abc$def\n"), "abc$def");
        assert_eq!(
            value("URL=postgres://u:p@h/db?x=1\n"),
            "postgres://u:p@h/db?x=1"
        );
    }

    #[test]
    fn skips_blank_lines_and_comments_and_keeps_order() {
        assert_eq!(
            pairs("# settings\n\nA=1\r\n  # indented comment\nB=2\nA=3\n"),
            [("A", "1"), ("B", "2"), ("A", "3")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn refuses_what_it_cannot_read_naming_the_line_and_the_fix() {
        let error = parse("GOOD=1\nthis is not an assignment\n").expect_err("no =");
        assert_eq!(error.line, 2);
        assert_eq!(
            error.message,
            "the line starting with `this` is not an assignment; write KEY=value (or start a comment with #)"
        );
        let error = parse("A=1\nB=\"open\nC=2\n").expect_err("unclosed");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("never closed"), "{}", error.message);
        let error = parse("MY KEY=1\n").expect_err("space in key");
        assert!(
            error
                .message
                .starts_with("the name starting with `MY` contains a space")
        );
        let error = parse("A=\"x\" y\n").expect_err("text after quotes");
        assert_eq!(
            error.message,
            "unexpected text after the quoted value of `A`; put the whole value inside the quotes"
        );
    }

    /// Regression: the whole line was quoted, so `PASSWORD s3cret` printed the secret.
    #[test]
    fn an_error_never_shows_a_value() {
        for text in [
            "PASSWORD s3cret\n",
            "  PASSWORD\ts3cret\n",
            "PASSWORD=\"s3cret\" s3cret2\n",
            "PASS WORD=s3cret\n",
            "PASSWORD s3cret=x\n",
        ] {
            let error = parse(text).expect_err(text);
            assert!(
                !error.message.contains("s3cret"),
                "{text:?}: {}",
                error.message
            );
            assert!(
                error.message.contains("PASS"),
                "{text:?}: {}",
                error.message
            );
        }
    }

    /// Regression: a byte order mark made the first name `\u{feff}KEY`, shown invisibly.
    #[test]
    fn a_byte_order_mark_is_named_not_hidden() {
        let error = parse("\u{feff}KEY=1\n").expect_err("BOM");
        assert_eq!(error.line, 1);
        assert!(
            error.message.contains("byte order mark (`\\u{feff}`)"),
            "{}",
            error.message
        );
        assert!(!error.message.contains('\u{feff}'));
        let error = parse("A=1\nB\u{200b}=2\n").expect_err("zero-width space");
        assert!(
            error
                .message
                .starts_with("`B\\u{200b}` is not a variable name"),
            "{}",
            error.message
        );
    }
}
