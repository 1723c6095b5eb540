//! Reading `package.json` as Node reads it.
//!
//! `package.json` is the user's file, read by npm and Node with `JSON.parse`, which accepts
//! numbers of any size (`1.0e+400`), lone surrogate escapes (`"\ud800"`) and nesting of any
//! depth. serde_json's `Value` refuses the last two (and would recurse once per level), so a
//! document it refuses is read again member by member: each top-level member is first checked
//! as raw JSON (serde_json skips raw values with an explicit stack, at any depth), then read into
//! a `Value` when it can be. Numbers are kept as written (feature `arbitrary_precision`), so
//! `1e2` is printed `1e+2` (digits as written, the exponent in JavaScript's form), never `100.0`.

use std::borrow::Cow;

use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::ManifestError;

/// Top-level members webstir reads; every other member only has to be valid JSON.
const INTERPRETED: &[&str] = &["name", "webstir"];

/// Parses the JSON text of `package.json` (after any byte-order mark).
pub(super) fn parse(json: &str) -> Result<Value, ManifestError> {
    match serde_json::from_str::<Value>(json) {
        Ok(value) => Ok(value),
        Err(strict) if strict.is_syntax() || strict.is_data() => parse_leniently(json),
        Err(strict) => Err(syntax(&strict, (1, 1))),
    }
}

/// The slow path, for a document the strict reader refused: only a genuine syntax error (one
/// `JSON.parse` refuses too) is reported.
fn parse_leniently(json: &str) -> Result<Value, ManifestError> {
    // Same length, so every position in an error is still true of the user's text.
    let replaced = replace_lone_surrogates(json);
    let json: &str = &replaced;
    let mut de = serde_json::Deserializer::from_str(json);
    let members = match de.deserialize_map(MembersVisitor) {
        Ok(members) => members,
        // Not an object at the top: valid JSON all the same if it skips as a raw value; the
        // manifest reader then says the top level must be an object.
        Err(e) if e.is_data() => {
            return match serde_json::from_str::<&RawValue>(json) {
                Ok(_) => Ok(Value::Null),
                Err(e) => Err(syntax(&e, (1, 1))),
            };
        }
        Err(e) => return Err(syntax(&e, (1, 1))),
    };
    de.end().map_err(|e| syntax(&e, (1, 1)))?;
    let mut root = Map::new();
    for (key, raw) in members {
        let text = raw.get();
        let value = match serde_json::from_str::<Value>(text) {
            Ok(value) => value,
            // A member webstir does not read and serde_json cannot hold (nesting deeper than
            // 128 levels) is valid all the same; it is kept out of webstir's view.
            Err(_) if !INTERPRETED.contains(&key.as_str()) => Value::Null,
            Err(e) => {
                let start = text.as_ptr() as usize - json.as_ptr() as usize;
                return Err(syntax(&e, line_column(json, start)));
            }
        };
        // As in `JSON.parse`, a repeated key's last value wins.
        root.insert(key, value);
    }
    Ok(Value::Object(root))
}

/// The deepest nesting jsonc-parser (which edits the file) is given; it refuses more than 512.
const JSONC_DEPTH: usize = 400;

/// `text` as jsonc-parser can read it for an edit of `webstir`, with every position unchanged:
/// lone surrogate escapes replaced (see [`replace_lone_surrogates`]), and the value of any other
/// top-level member nested deeper than jsonc-parser accepts blanked to `0` and spaces (line
/// breaks kept). The edit is then made on the original text at the positions found here.
pub(super) fn readable_for_jsonc(text: &str) -> Cow<'_, str> {
    let replaced = replace_lone_surrogates(text);
    if max_depth(&replaced) <= JSONC_DEPTH {
        return replaced;
    }
    let mut de = serde_json::Deserializer::from_str(&replaced);
    let Ok(members) = de.deserialize_map(MembersVisitor) else {
        return replaced;
    };
    let mut bytes = replaced.as_bytes().to_vec();
    for (key, raw) in members {
        let value = raw.get();
        if key == "webstir" || max_depth(value) <= JSONC_DEPTH {
            continue;
        }
        let start = value.as_ptr() as usize - replaced.as_ptr() as usize;
        for (i, byte) in bytes[start..start + value.len()].iter_mut().enumerate() {
            if i == 0 {
                *byte = b'0';
            } else if !matches!(byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
    }
    // Whole values were replaced by ASCII, so the text is still UTF-8.
    String::from_utf8(bytes).map_or(replaced, Cow::Owned)
}

/// How deeply arrays and objects nest in `text` (0 for a scalar).
pub(super) fn max_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text.as_bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The top-level object as (key, raw value) pairs, in order.
struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            members.push((key, value));
        }
        Ok(members)
    }
}

/// `text` with every `\uXXXX` escape of an unpaired surrogate replaced by `\ufffd` (the
/// replacement character), which has the same length, so positions in errors stay true.
/// `JSON.parse` keeps such a string as it is; Rust strings cannot hold it.
pub(super) fn replace_lone_surrogates(text: &str) -> Cow<'_, str> {
    // Most files have no surrogate escape at all, which a search for `\u` followed by `d` or
    // `D` tells far faster than the walk below, which also follows the strings.
    if !has_surrogate_escape(text) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut lone = Vec::new();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if let Some(unit) = escape_unit(bytes, i) {
                    if (0xD800..0xDC00).contains(&unit)
                        && escape_unit(bytes, i + 6).is_some_and(|u| (0xDC00..0xE000).contains(&u))
                    {
                        i += 12;
                        continue;
                    }
                    if (0xD800..0xE000).contains(&unit) {
                        lone.push(i);
                    }
                    i += 6;
                    continue;
                }
                // Any other escape is two bytes; skipping the second keeps `\"` inside.
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if lone.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for at in lone {
        out.replace_range(at..at + 6, "\\ufffd");
    }
    Cow::Owned(out)
}

/// Whether `text` has `\u` followed by `d` or `D` anywhere (in a string or not, escaped or
/// not): what every escape of a surrogate begins with.
fn has_surrogate_escape(text: &str) -> bool {
    // A file without a backslash, the common case, is told by the quickest search there is.
    if !text.as_bytes().contains(&b'\\') {
        return false;
    }
    text.match_indices("\\u")
        .any(|(at, _)| matches!(text.as_bytes().get(at + 2), Some(b'd' | b'D')))
}

/// The code unit of a `\uXXXX` escape starting at `at`, if there is one.
fn escape_unit(bytes: &[u8], at: usize) -> Option<u32> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u32::from_str_radix(hex, 16).ok()
}

/// 1-based line and column of byte `offset` in `text`, in serde_json's way of counting.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, offset - line_start + 1)
}

/// A serde_json error at a position relative to `origin` (line and column where the parsed
/// slice starts) as a `package.json` syntax error.
fn syntax(e: &serde_json::Error, origin: (usize, usize)) -> ManifestError {
    let (line, column) = if e.line() <= 1 {
        (origin.0, origin.1 + e.column().saturating_sub(1))
    } else {
        (origin.0 + e.line() - 1, e.column())
    };
    ManifestError::Syntax {
        line,
        column,
        message: message(e),
    }
}

fn message(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the error leads with the position already.
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    if text == "recursion limit exceeded" {
        return "`webstir` is nested more than 128 levels deep, which webstir does not read".into();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_the_replacement_character_and_pairs_stay() {
        assert_eq!(replace_lone_surrogates(r#""\ud800""#), r#""\ufffd""#);
        assert_eq!(replace_lone_surrogates(r#""\udc00x""#), r#""\ufffdx""#);
        assert_eq!(
            replace_lone_surrogates(r#""\ud83d\ude00""#),
            r#""\ud83d\ude00""#
        );
        assert_eq!(replace_lone_surrogates(r#""\\ud800""#), r#""\\ud800""#);
        assert!(matches!(
            replace_lone_surrogates(r#""\u00e9 \uE000 \\\\ud800""#),
            Cow::Borrowed(_)
        ));
        assert_eq!(replace_lone_surrogates(r#"["\uD800"]"#), r#"["\ufffd"]"#);
        assert_eq!(
            replace_lone_surrogates(r#""\ud800\ud800\udc00""#),
            r#""\ufffd\ud800\udc00""#
        );
    }

    #[test]
    fn deep_members_other_than_webstir_are_blanked_for_jsonc_in_place() {
        let deep = format!("{}{}", "[".repeat(600), "]".repeat(600));
        let text = format!("{{\"a\": {deep},\n\"webstir\": {{\"x\": \"\\ud800\"}}}}");
        let readable = readable_for_jsonc(&text);
        assert_eq!(readable.len(), text.len());
        assert!(readable.starts_with("{\"a\": 0 "));
        assert!(readable.ends_with("\"webstir\": {\"x\": \"\\ufffd\"}}"));
        assert_eq!(max_depth(&readable), 2);
        assert_eq!(max_depth(r#"{"a": "[[[", "b": [{}]}"#), 3);
    }

    #[test]
    fn reads_what_json_parse_reads() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!(
            r#"{{"big": 1.0e+400, "lone": "\ud800", "\udc00": 1, "deep": {deep}, "name": "x\udfff", "n": 1e2}}"#
        );
        let value = parse(&text).expect("valid JSON");
        assert_eq!(value["big"].to_string(), "1.0e+400");
        // Digits as written; serde_json writes an exponent with its sign, as JavaScript does.
        assert_eq!(value["n"].to_string(), "1e+2");
        assert_eq!(value["lone"], "\u{fffd}");
        assert_eq!(value["\u{fffd}"].to_string(), "1");
        assert_eq!(value["name"], "x\u{fffd}");
        assert_eq!(value["deep"], Value::Null);
    }

    #[test]
    fn real_syntax_errors_keep_their_position() {
        let err = parse("{\n  \"a\": 1,\n  \"b\" 2\n}").expect_err("missing colon");
        assert_eq!(err.to_string(), "package.json:3:7: expected `:`");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = parse(&format!("{{\n \"webstir\": {{\"x\": {deep}}}}}")).expect_err("too deep");
        assert!(err.to_string().starts_with("package.json:2:"), "{err}");
        assert!(err.to_string().contains("128 levels"), "{err}");
    }
}
