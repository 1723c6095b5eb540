//! Format-preserving edits of `package.json`: appending a job to `webstir.moduleManifest.jobs`
//! while every byte outside the new entry stays as the user wrote it (indentation, key order,
//! line endings, trailing newline).

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstArray, CstInputValue, CstRootNode};
use serde_json::Value;

use super::{ManifestError, parse_package_json};

/// Returns `text` with `entry` (ordered key/value pairs) appended to
/// `webstir.moduleManifest.jobs`, creating `webstir`, `moduleManifest` and `jobs` when missing.
/// Fails closed on a file that is not strict JSON or whose manifest has the wrong shape.
pub fn append_job(text: &str, entry: &[(&str, Value)]) -> Result<String, ManifestError> {
    check_shape(&parse_package_json(text)?)?;
    let root = CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| {
        let range = e.range();
        let (line, column) = line_column(text, range.start);
        ManifestError::Syntax {
            line,
            column,
            message: e.kind().to_string(),
        }
    })?;
    let jobs = root
        .object_value()
        .and_then(|o| o.object_value_or_create("webstir"))
        .and_then(|w| w.object_value_or_create("moduleManifest"))
        .and_then(|m| m.array_value_or_create("jobs"))
        .ok_or_else(|| shape_error("`webstir.moduleManifest.jobs` could not be created"))?;
    append_multiline(&jobs, entry_to_input(entry));
    let edited = root.to_string();

    // The edit must add exactly the entry and nothing else; checked on the parsed result so a
    // library quirk can never write a file that means something other than intended.
    let before = parse_package_json(text)?;
    let after = parse_package_json(&edited)?;
    if !appended_exactly(&before, &after, entry) {
        return Err(shape_error(
            "the edited package.json did not come out as expected; nothing was written",
        ));
    }
    Ok(edited)
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

fn shape_error(message: &str) -> ManifestError {
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
