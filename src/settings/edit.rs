//! Byte-exact edits of `webstir.toml`: the file is the user's, so an edit splices the one value
//! (or the one line) it changes into the original text. Re-rendering a parsed document would
//! turn CRLF into LF and drop a byte-order mark.
//!
//! Both functions take text that `Settings::parse` accepted, so every key is a top-level
//! `key = "string"` line.

use toml_edit::Document;

const BOM: &str = "\u{feff}";

/// `text` with `key` set to `value`: an existing value is replaced in place (its key, spacing
/// and trailing comment stay); a new key gets its own line right after the last key, in the
/// file's line-ending style, so that comments at the end of the file stay at the end.
pub(super) fn set_value(text: &str, key: &str, value: &str) -> String {
    let (bom, body) = split_bom(text);
    let rendered = toml_edit::Value::from(value).to_string();
    let rendered = rendered.trim();
    let Ok(doc) = Document::parse(body) else {
        return text.to_owned();
    };
    let table = doc.as_table();
    if let Some(span) = table.get(key).and_then(|item| item.span()) {
        return format!(
            "{bom}{}{rendered}{}",
            &body[..span.start],
            &body[span.end..]
        );
    }
    let eol = line_ending(body);
    let line = format!("{key} = {rendered}");
    let last_value_end = table
        .iter()
        .filter_map(|(_, item)| item.span())
        .map(|span| span.end)
        .max();
    let at = last_value_end.map_or(body.len(), |end| line_end(body, end));
    let insert = if at == body.len() && !body.is_empty() && !body.ends_with('\n') {
        // The file ends without a newline: keep it that way.
        format!("{eol}{line}")
    } else {
        format!("{line}{eol}")
    };
    format!("{bom}{}{insert}{}", &body[..at], &body[at..])
}

/// `text` without `key`'s line (the comments around it stay; they are the user's prose).
pub(super) fn remove_key(text: &str, key: &str) -> String {
    let (bom, body) = split_bom(text);
    let Ok(doc) = Document::parse(body) else {
        return text.to_owned();
    };
    let table = doc.as_table();
    let (Some(key_span), Some(value_span)) = (
        table.key(key).and_then(|k| k.span()),
        table.get(key).and_then(|item| item.span()),
    ) else {
        return text.to_owned();
    };
    let start = body[..key_span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = line_end(body, value_span.end);
    format!("{bom}{}{}", &body[..start], &body[end..])
}

fn split_bom(text: &str) -> (&str, &str) {
    match text.strip_prefix(BOM) {
        Some(body) => (BOM, body),
        None => ("", text),
    }
}

/// The offset just past the newline that ends the line holding `offset` (or the end of text).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// The file's line ending, judged by its first line; LF for a file without one.
fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_value_keeps_crlf_the_bom_and_the_comment() {
        let text = "\u{feff}# defaults\r\ngrace   = \"5s\"  # flush\r\n";
        assert_eq!(
            set_value(text, "grace", "1m"),
            "\u{feff}# defaults\r\ngrace   = \"1m\"  # flush\r\n"
        );
    }

    #[test]
    fn a_new_key_goes_after_the_last_key_not_after_trailing_comments() {
        let text = "grace = \"5s\"\r\n\r\n# timeout = \"5m\" (disabled)\r\n";
        assert_eq!(
            set_value(text, "node", "/usr/bin/node"),
            "grace = \"5s\"\r\nnode = \"/usr/bin/node\"\r\n\r\n# timeout = \"5m\" (disabled)\r\n"
        );
        assert_eq!(set_value("", "grace", "5s"), "grace = \"5s\"\n");
        assert_eq!(
            set_value("grace = \"5s\"", "node", "n"),
            "grace = \"5s\"\nnode = \"n\""
        );
        assert_eq!(
            set_value("# only a comment", "node", "n"),
            "# only a comment\nnode = \"n\""
        );
    }

    #[test]
    fn removing_a_key_removes_only_its_line() {
        let text = "\u{feff}grace = \"5s\" # c\r\n# about node\r\nnode = \"n\"\r\n";
        assert_eq!(
            remove_key(text, "grace"),
            "\u{feff}# about node\r\nnode = \"n\"\r\n"
        );
        assert_eq!(remove_key(text, "timeout"), text);
    }

    #[test]
    fn values_are_escaped_as_toml_strings() {
        assert_eq!(
            set_value("", "node", "C:\\node \"x\""),
            "node = 'C:\\node \"x\"'\n"
        );
    }
}
