//! The `.env` format as Node.js reads it (`node --env-file`, the `dotenv` package), so that a
//! job sees the values it would see under Node: `KEY=hello world` is `hello world`, `$` is an
//! ordinary character, `#` starts a comment outside quotes, later lines win. Where Node
//! silently skips a line it cannot read, this parser refuses it with the line number and the
//! fix: a dropped variable would only show up later as a job misbehaving.

/// A line that is not an assignment, blank or a comment; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// The assignments of a `.env` file, in file order (a later one for the same key wins).
pub fn parse(text: &str) -> Result<Vec<(String, String)>, ParseError> {
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
            return Err(error(format!(
                "`{line}` is not an assignment; write KEY=value (or start a comment with #)"
            )));
        };
        let key = key.trim_end();
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(error(format!(
                "`{key}` is not a variable name; use letters, digits, `_`, `.` and `-`, as in MY_KEY=value"
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
                    return Err(error(format!(
                        "unexpected `{after}` after the quoted value of `{key}`; put the whole value inside the quotes"
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
            "`this is not an assignment` is not an assignment; write KEY=value (or start a comment with #)"
        );
        let error = parse("A=1\nB=\"open\nC=2\n").expect_err("unclosed");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("never closed"), "{}", error.message);
        let error = parse("MY KEY=1\n").expect_err("space in key");
        assert!(error.message.starts_with("`MY KEY` is not a variable name"));
        let error = parse("A=\"x\" y\n").expect_err("text after quotes");
        assert_eq!(
            error.message,
            "unexpected `y` after the quoted value of `A`; put the whole value inside the quotes"
        );
    }
}
