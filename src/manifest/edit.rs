//! Format-preserving edits of `package.json`: appending a job to `webstir.moduleManifest.jobs`
//! while every byte outside the new entry stays as the user wrote it (indentation, key order,
//! line endings, trailing newline).
//!
//! Two ways in: where the entry goes into a block that spans lines, the `jsonc-parser` CST
//! inserts it with the file's own indentation and line endings; where it goes into a container
//! written on one line (or the whole file is minified), it is spliced in on that line, since
//! the CST would reflow the user's one-line object.

use jsonc_parser::ast::{self, ObjectProp};
use jsonc_parser::common::Ranged;
use jsonc_parser::cst::{CstArray, CstInputValue, CstRootNode};
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};
use serde_json::Value;

use super::{ManifestError, locate, parse_package_json, split_bom};

/// Where jobs live, from the top-level object down.
pub(super) const PATH: [&str; 3] = ["webstir", "moduleManifest", "jobs"];

/// Returns `text` with `entry` (ordered key/value pairs) appended to
/// `webstir.moduleManifest.jobs`, creating `webstir`, `moduleManifest` and `jobs` when missing.
/// Fails closed on a file that is not strict JSON or whose manifest has the wrong shape.
pub fn append_job(text: &str, entry: &[(&str, Value)]) -> Result<String, ManifestError> {
    // A byte-order mark is kept as it is and the edit made on the JSON after it.
    let (bom, text) = split_bom(text);
    if let Some(edited) = append_to_block(text, entry) {
        return Ok(with_bom(bom, edited));
    }
    append_in_full(text, entry).map(|edited| with_bom(bom, edited))
}

/// What [`append_new_job`] made of `package.json`.
#[derive(Debug)]
pub enum NewJobEdit {
    /// A job of the same key is there already, under this name.
    Taken(String),
    /// The text with the entry appended.
    Appended(String),
}

/// `add-job`'s reading of `package.json`, in one scan of the file: the job of canonical key `key`
/// when there is one (as [`Manifest::job_named`] finds it), else `text` with `entry` appended
/// (as [`append_job`] makes it). Errors are theirs, in that order.
///
/// [`Manifest::job_named`]: super::Manifest::job_named
pub fn append_new_job(
    text: &str,
    key: &str,
    entry: &[(&str, Value)],
) -> Result<NewJobEdit, ManifestError> {
    let (bom, json) = split_bom(text);
    let readable = super::json::replace_lone_surrogates(json);
    let Some(located) = locate::locate_jobs(&readable) else {
        // Every other shape, and every error, is the full reader's.
        if let Some(name) = super::Manifest::job_named(text, key)? {
            return Ok(NewJobEdit::Taken(name));
        }
        return append_job(text, entry).map(NewJobEdit::Appended);
    };
    if let Some(name) = super::taken_name(located.jobs.as_deref().unwrap_or_default(), key) {
        return Ok(NewJobEdit::Taken(name));
    }
    let edited = match append_located(json, &readable, &located, entry) {
        Some(edited) => edited,
        None => append_in_full(json, entry)?,
    };
    Ok(NewJobEdit::Appended(with_bom(bom, edited)))
}

/// `edited` behind the byte-order mark `bom` had (none: as it is).
fn with_bom(bom: &str, edited: String) -> String {
    if bom.is_empty() {
        edited
    } else {
        format!("{bom}{edited}")
    }
}

/// Every case [`append_to_block`] leaves: the document is read in full and the edit made with
/// jsonc-parser.
fn append_in_full(text: &str, entry: &[(&str, Value)]) -> Result<String, ManifestError> {
    let before = parse_package_json(text)?;
    check_shape(&before)?;
    // jsonc-parser refuses lone surrogate escapes (`"\ud800"`) and nesting deeper than 512,
    // which `JSON.parse` accepts: it reads a copy where those are replaced in place (same
    // length), so every position it finds holds for the original, and the edit is made on the
    // original.
    let readable = super::json::readable_for_jsonc(text);
    let edited = match splice_into_text(text, &readable, entry)? {
        Some(edited) => edited,
        None => restore_surrounding(text, &readable, append_with_cst(&readable, entry)?),
    };
    // The edit must add exactly the entry and nothing else; checked on the parsed result so a
    // library quirk can never write a file that means something other than intended.
    let after = parse_package_json(&edited)?;
    if !appended_exactly(&before, &after, entry) {
        return Err(shape_error(
            "the edited package.json did not come out as expected; nothing was written",
        ));
    }
    Ok(edited)
}

/// The common case, read off the text without building the document: a jobs array written as
/// a block, whose last entry shows the layout to copy (see [`splice_after_last_block_entry`]).
/// `None` for every other case, and whenever the result cannot be vouched for, for
/// [`append_job`]'s full way (which then reports any error).
fn append_to_block(text: &str, entry: &[(&str, Value)]) -> Option<String> {
    if !text.contains('\n') {
        return None;
    }
    let readable = super::json::replace_lone_surrogates(text);
    let located = locate::locate_jobs(&readable)?;
    append_located(text, &readable, &located, entry)
}

/// [`append_to_block`] with the manifest located in `readable` (`text` as
/// [`super::json::replace_lone_surrogates`] leaves it) already.
fn append_located(
    text: &str,
    readable: &str,
    located: &locate::Located<'_>,
    entry: &[(&str, Value)],
) -> Option<String> {
    if !text.contains('\n') {
        return None;
    }
    // An object with members (an empty one shows no layout to copy).
    let (start, end) = located.jobs.as_ref()?.last()?.span_in(readable)?;
    let last = &readable[start..end];
    // The first member begins at its key, after any white space (strict JSON has no comments).
    let first_member =
        start + 1 + (last.len() - 1 - last[1..].trim_start_matches(JSON_SPACE).len());
    let edited = splice_after_last_block_entry(text, (start, end), first_member, entry)?;
    // The edit must add exactly the entry. The text is the old text with a piece inserted right
    // after the last entry of the array; if that piece is a comma and one value, and that value
    // is the entry, the array has gained exactly the entry and nothing else has changed.
    let added = edited.len().checked_sub(text.len())?;
    let piece = &edited[end..end + added];
    let unchanged = edited[..end] == text[..end] && edited[end + added..] == text[end..];
    let appended: Value = serde_json::from_str(piece.strip_prefix(',')?).ok()?;
    let expected = Value::Object(
        entry
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    );
    (unchanged && appended == expected).then_some(edited)
}

/// White space as JSON has it.
const JSON_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// `edited` (an edit of `readable`) with the unchanged text around the edit taken from
/// `original` again, so that the escapes `readable` replaced come back byte for byte.
fn restore_surrounding(original: &str, readable: &str, edited: String) -> String {
    if original == readable {
        return edited;
    }
    let (r, e) = (readable.as_bytes(), edited.as_bytes());
    let mut prefix = r.iter().zip(e).take_while(|(a, b)| a == b).count();
    let longest_suffix = r.len().min(e.len()) - prefix;
    let mut suffix = r
        .iter()
        .rev()
        .zip(e.iter().rev())
        .take(longest_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    // The two differ only in ASCII escapes, so their character boundaries agree.
    while !edited.is_char_boundary(prefix) || !original.is_char_boundary(prefix) {
        prefix -= 1;
    }
    while !edited.is_char_boundary(e.len() - suffix)
        || !original.is_char_boundary(original.len() - suffix)
    {
        suffix -= 1;
    }
    format!(
        "{}{}{}",
        &original[..prefix],
        &edited[prefix..e.len() - suffix],
        &original[original.len() - suffix..]
    )
}

fn append_with_cst(text: &str, entry: &[(&str, Value)]) -> Result<String, ManifestError> {
    let root =
        CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| syntax_error(text, &e))?;
    let jobs = root
        .object_value()
        .and_then(|o| o.object_value_or_create(PATH[0]))
        .and_then(|w| w.object_value_or_create(PATH[1]))
        .and_then(|m| m.array_value_or_create(PATH[2]))
        .ok_or_else(|| shape_error("`webstir.moduleManifest.jobs` could not be created"))?;
    append_multiline(&jobs, entry_to_input(entry));
    Ok(root.to_string())
}

pub(super) fn syntax_error(text: &str, e: &jsonc_parser::errors::ParseError) -> ManifestError {
    let (line, column) = line_column(text, e.range().start);
    ManifestError::Syntax {
        line,
        column,
        message: e.kind().to_string(),
    }
}

/// The deepest container on [`PATH`] that exists.
enum Container<'t, 'a> {
    Object(&'t ast::Object<'a>),
    Array(&'t ast::Array<'a>),
}

/// Splices the entry into the text where its layout can be read off the file: after the last
/// entry of a block-formatted jobs array, or on the line of its container when the whole file
/// is one line, or the container is written on one line and either has members
/// (`"webstir": { "mode": "api" }`) or sits in a one-line parent. Returns `None` otherwise, for
/// the CST to indent.
/// `readable` is `text` as jsonc-parser can read it (see [`append_job`]); positions in one are
/// positions in the other.
fn splice_into_text(
    text: &str,
    readable: &str,
    entry: &[(&str, Value)],
) -> Result<Option<String>, ManifestError> {
    let parsed = parse_to_ast(
        readable,
        &CollectOptions::default(),
        &ParseOptions::default(),
    )
    .map_err(|e| syntax_error(text, &e))?;
    let Some(ast::Value::Object(root)) = &parsed.value else {
        return Err(shape_error("the top level must be an object"));
    };
    let mut container = Container::Object(root);
    let mut parent_range = root.range;
    let mut missing: &[&str] = &PATH;
    while let (Container::Object(object), Some(key)) = (&container, missing.first()) {
        let object_range = object.range;
        match find(object, key).map(|p| &p.value) {
            Some(ast::Value::Object(inner)) if *key != "jobs" => {
                container = Container::Object(inner);
            }
            Some(ast::Value::Array(inner)) if *key == "jobs" => container = Container::Array(inner),
            Some(_) => return Err(shape_error("the manifest has an unexpected shape")),
            None => break,
        }
        parent_range = object_range;
        missing = &missing[1..];
    }
    let (range, last_end) = match &container {
        Container::Object(o) => (o.range, o.properties.last().map(|p| p.range.end)),
        Container::Array(a) => (a.range, a.elements.last().map(|e| e.range().end)),
    };
    let on_one_line = |r: jsonc_parser::common::Range| !text[r.start..r.end].contains('\n');
    let minified = !text.contains('\n');
    if let Container::Array(jobs) = &container
        && !minified
        && let Some(ast::Value::Object(last)) = jobs.elements.last()
        && let Some(first_prop) = last.properties.first()
        && let Some(edited) = splice_after_last_block_entry(
            text,
            (last.range.start, last.range.end),
            first_prop.range.start,
            entry,
        )
    {
        return Ok(Some(edited));
    }
    // An empty `{}`/`[]` opens into a block, unless what holds it is itself on one line.
    let one_line = on_one_line(range) && (last_end.is_some() || on_one_line(parent_range));
    if !(minified || one_line) {
        return Ok(None);
    }
    let style = if minified {
        Style::Compact
    } else {
        Style::Spaced
    };
    let insertion = insertion(missing, render_entry(entry, style), style);
    let (at, piece) = match last_end {
        Some(end) => (end, format!("{}{insertion}", style.comma())),
        None => (range.start + 1, insertion),
    };
    Ok(Some(format!("{}{piece}{}", &text[..at], &text[at..])))
}

/// Appends after the last entry of a jobs array written as a block, copying that entry's
/// indentation, the file's indentation unit and its line ending, without building the CST of
/// the whole file (which costs more than everything else `add-job` does on a large manifest).
/// `last` is the byte range of the last entry (an object) and `first_member` where its first
/// member begins. Returns `None` where the layout cannot be read off the last entry or the new
/// entry has nested values; the CST then does the append.
fn splice_after_last_block_entry(
    text: &str,
    last: (usize, usize),
    first_member: usize,
    entry: &[(&str, Value)],
) -> Option<String> {
    if entry.iter().any(|(_, v)| v.is_array() || v.is_object()) {
        return None;
    }
    let indent = indentation_before(text, last.0)?;
    let prop_indent = indentation_before(text, first_member)?;
    let unit = prop_indent.strip_prefix(indent).filter(|u| !u.is_empty())?;
    let line_start = last.0 - indent.len();
    let eol = if text[..line_start].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let members: Vec<String> = entry
        .iter()
        .map(|(key, value)| {
            let member = member(key, &render_value(value, Style::Spaced), Style::Spaced);
            format!("{indent}{unit}{member}")
        })
        .collect();
    let piece = format!(
        ",{eol}{indent}{{{eol}{}{eol}{indent}}}",
        members.join(&format!(",{eol}"))
    );
    let at = last.1;
    Some(format!("{}{piece}{}", &text[..at], &text[at..]))
}

/// The whitespace between the start of `offset`'s line and `offset`, when nothing else is there.
fn indentation_before(text: &str, offset: usize) -> Option<&str> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..offset];
    (line_start > 0 && indent.chars().all(|c| c == ' ' || c == '\t')).then_some(indent)
}

/// What goes into the deepest existing container: the entry itself when that is the jobs
/// array, else the first missing key with everything below it
/// (`"moduleManifest": {"jobs": [ENTRY]}`).
fn insertion(missing: &[&str], entry: String, style: Style) -> String {
    match missing {
        [] => entry,
        [key, rest @ ..] => {
            let value = if rest.is_empty() {
                format!("[{entry}]")
            } else {
                format!("{{{}}}", insertion(rest, entry, style))
            };
            member(key, &value, style)
        }
    }
}

pub(super) fn find<'t, 'a>(object: &'t ast::Object<'a>, key: &str) -> Option<&'t ObjectProp<'a>> {
    // Strict JSON readers keep the last of duplicate keys.
    object
        .properties
        .iter()
        .rev()
        .find(|p| p.name.as_str() == key)
}

#[derive(Clone, Copy)]
enum Style {
    /// `{"a":1,"b":2}`, for a minified file.
    Compact,
    /// `{"a": 1, "b": 2}`, for a one-line object in a formatted file.
    Spaced,
}

impl Style {
    fn comma(self) -> &'static str {
        match self {
            Style::Compact => ",",
            Style::Spaced => ", ",
        }
    }

    fn colon(self) -> &'static str {
        match self {
            Style::Compact => ":",
            Style::Spaced => ": ",
        }
    }
}

fn member(key: &str, value: &str, style: Style) -> String {
    format!("{}{}{value}", Value::from(key), style.colon())
}

fn render_entry(entry: &[(&str, Value)], style: Style) -> String {
    let members: Vec<String> = entry
        .iter()
        .map(|(key, value)| member(key, &render_value(value, style), style))
        .collect();
    format!("{{{}}}", members.join(style.comma()))
}

fn render_value(value: &Value, style: Style) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| render_value(v, style)).collect();
            format!("[{}]", items.join(style.comma()))
        }
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| member(k, &render_value(v, style), style))
                .collect();
            format!("{{{}}}", members.join(style.comma()))
        }
        scalar => scalar.to_string(),
    }
}

/// The manifest objects on the way to `jobs` must be objects, and `jobs` an array; anything
/// else is the user's data that an append would have to overwrite.
fn check_shape(root: &Value) -> Result<(), ManifestError> {
    let Value::Object(root) = root else {
        return Err(shape_error("the top level must be an object"));
    };
    let webstir = match root.get("webstir") {
        None => return Ok(()),
        Some(Value::Object(w)) => w,
        Some(_) => return Err(shape_error("`webstir` must be an object")),
    };
    let manifest = match webstir.get("moduleManifest") {
        None => return Ok(()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(shape_error("`webstir.moduleManifest` must be an object")),
    };
    match manifest.get("jobs") {
        None | Some(Value::Array(_)) => Ok(()),
        Some(_) => Err(shape_error(
            "`webstir.moduleManifest.jobs` must be an array",
        )),
    }
}

pub(super) fn shape_error(message: &str) -> ManifestError {
    ManifestError::Shape(message.to_owned())
}

/// Appends `value` so that an object entry always sits on its own lines. The CST library keeps
/// an empty inline `[]` on one line and would put a multi-line object inside it, so an empty
/// array is opened up first (`"jobs": []` becomes a block of one entry).
fn append_multiline(array: &CstArray, value: CstInputValue) {
    if array.elements().is_empty() {
        array.ensure_multiline();
    }
    array.append(value);
}

fn entry_to_input(entry: &[(&str, Value)]) -> CstInputValue {
    CstInputValue::Object(
        entry
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value_to_input(value)))
            .collect(),
    )
}

fn value_to_input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(value_to_input).collect()),
        Value::Object(map) => CstInputValue::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), value_to_input(v)))
                .collect(),
        ),
    }
}

fn appended_exactly(before: &Value, after: &Value, entry: &[(&str, Value)]) -> bool {
    let jobs_of = |v: &Value| {
        v.pointer("/webstir/moduleManifest/jobs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut expected_jobs = jobs_of(before);
    expected_jobs.push(Value::Object(
        entry
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    ));
    let mut expected = before.clone();
    let mut actual = after.clone();
    // Compare everything but the jobs array, then the jobs array itself.
    for v in [&mut expected, &mut actual] {
        if let Some(m) = v
            .pointer_mut("/webstir/moduleManifest")
            .and_then(Value::as_object_mut)
        {
            m.remove("jobs");
        }
    }
    let strip_created = |v: &mut Value| {
        // `webstir` / `moduleManifest` objects created on the way are empty once `jobs` is gone.
        if let Some(w) = v.get_mut("webstir").and_then(Value::as_object_mut)
            && w.get("moduleManifest")
                .and_then(Value::as_object)
                .is_some_and(|m| m.is_empty())
        {
            w.remove("moduleManifest");
        }
        if let Some(root) = v.as_object_mut()
            && root
                .get("webstir")
                .and_then(Value::as_object)
                .is_some_and(|w| w.is_empty())
        {
            root.remove("webstir");
        }
    };
    strip_created(&mut expected);
    strip_created(&mut actual);
    expected == actual && jobs_of(after) == expected_jobs
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_append_writes_what_the_full_way_writes() {
        let entry = [
            ("name", Value::from("new")),
            ("schedule", Value::from("*/5 * * * *")),
            ("description", Value::from("quote \" and é \u{1}")),
            ("priority", Value::from(3)),
        ];
        let job = |indent: &str, eol: &str, name: &str| {
            format!(
                "{indent}{{{eol}{indent}  \"name\": \"{name}\",{eol}{indent}  \"n\": 1e2{eol}{indent}}}"
            )
        };
        let cases = [
            format!(
                "{{\n  \"name\": \"x\",\n  \"webstir\": {{\n    \"moduleManifest\": {{\n      \"jobs\": [\n{},\n{}\n      ]\n    }}\n  }}\n}}\n",
                job("        ", "\n", "a"),
                job("        ", "\n", "b\\u0041")
            ),
            format!(
                "{{\r\n\t\"webstir\": {{\"moduleManifest\": {{\"jobs\": [\r\n{}\r\n]}}}}, \"lone\": \"\\ud800\"\r\n}}",
                job("\t\t", "\r\n", "a")
            ),
            // Repeated keys: the last `webstir` is the one edited.
            format!(
                "{{\"webstir\": 1,\n \"webstir\": {{\"moduleManifest\": {{\"jobs\": [\n{}]}}}}}}",
                job("   ", "\n", "a")
            ),
        ];
        for text in &cases {
            let fast = append_to_block(text, &entry).expect("a block to append to");
            let full = append_in_full(text, &entry).expect("appended");
            assert_eq!(fast, full, "{text}");
        }
        // add-job's one scan finds what the two readings find.
        let more = [
            format!("\u{feff}{}", cases[0]),
            r#"{"webstir": {"moduleManifest": {"jobs": [{"name": "Old-Job"}]}}}"#.to_owned(),
            "{\n \"webstir\": {\"moduleManifest\": {\"jobs\": [\n  {\"name\": \"new\"}\n]}}}"
                .to_owned(),
            "{\n \"webstir\": {\"moduleManifest\": {\"jobs\": [\n  {\"name\": \"ne\\u0077\"}\n]}}}"
                .to_owned(),
            "{\n \"webstir\": {\"moduleManifest\": {\"jobs\": 1}}}".to_owned(),
            "{\"webstir\": [], \"x\": \"\\ud800\"}".to_owned(),
            "{\"webstir\": {}".to_owned(),
            "{}".to_owned(),
        ];
        for text in cases.iter().chain(&more) {
            for key in ["new", "old_job", "a"] {
                let one_scan = append_new_job(text, key, &entry).map_err(|e| e.to_string());
                let two = match super::super::Manifest::job_named(text, key) {
                    Ok(Some(name)) => Ok(NewJobEdit::Taken(name)),
                    Ok(None) => append_job(text, &entry)
                        .map(NewJobEdit::Appended)
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                assert_eq!(
                    format!("{one_scan:?}"),
                    format!("{two:?}"),
                    "{key} in {text}"
                );
            }
        }
        // Left to the full way: one line, an empty last entry, no jobs array, nested values.
        let nested = [
            ("name", Value::from("n")),
            ("retry", serde_json::json!({"attempts": 2})),
        ];
        let block = "{\n \"webstir\": {\"moduleManifest\": {\"jobs\": [\n  {\n    \"name\": \"a\"\n  }\n]}}}";
        assert!(append_to_block(block, &nested).is_none());
        for text in [
            r#"{"webstir": {"moduleManifest": {"jobs": [{"name": "a"}]}}}"#,
            "{\n \"webstir\": {\"moduleManifest\": {\"jobs\": [\n  {}\n]}}}",
            "{\n \"webstir\": {}\n}",
        ] {
            assert!(append_to_block(text, &entry).is_none(), "{text}");
        }
    }
}
