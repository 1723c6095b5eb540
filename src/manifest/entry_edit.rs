//! Format-preserving edits of one existing job entry: removing it from
//! `webstir.moduleManifest.jobs`, or changing its `name`. Every byte outside the edit stays as
//! the user wrote it.
//!
//! Removal is the inverse of `add-job`: an entry on lines of its own leaves with exactly those
//! lines (and, when it is the last, the comma after the entry before it), so blank lines
//! around it stay; an entry sharing a line goes with the separator before it (the first: after
//! it); an only entry leaves `[]`.

use jsonc_parser::ast;
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};
use serde_json::Value;

use super::edit::{PATH, find, shape_error, syntax_error};
use super::{ManifestError, parse_package_json, split_bom};

/// The `name` of every entry of the jobs array, in order (`None` for an entry without a string
/// `name`). An absent jobs array reads as empty.
pub fn entry_names(text: &str) -> Result<Vec<Option<String>>, ManifestError> {
    let value = parse_package_json(text)?;
    Ok(jobs_of(&value)
        .iter()
        .map(|entry| entry.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

/// Returns `text` without the jobs entry at `index`.
pub fn remove_entry(text: &str, index: usize) -> Result<String, ManifestError> {
    let (bom, json) = split_bom(text);
    let before = parse_package_json(json)?;
    let edited = with_jobs(json, |jobs| {
        let elements = &jobs.elements;
        let Some(target) = elements.get(index) else {
            return Err(shape_error("the job entry to remove is gone"));
        };
        let range = target.range();
        let previous_end = index.checked_sub(1).map(|i| elements[i].range().end);
        let next_start = elements.get(index + 1).map(|e| e.range().start);
        let (open, close) = (jobs.range.start + 1, jobs.range.end - 1);
        if previous_end.is_none() && next_start.is_none() {
            // The only entry: `[` up to `]` empties, unless something other than whitespace
            // (a comment in a hand-written file) sits there, which then stays.
            let only_space = json[open..range.start].trim().is_empty()
                && json[range.end..close].trim().is_empty();
            let (start, end) = if only_space {
                (open, close)
            } else {
                (range.start, range.end)
            };
            return Ok(format!("{}{}", &json[..start], &json[end..]));
        }
        if let Some((line_start, line_end)) = own_lines(json, range.start, range.end) {
            // An entry on lines of its own leaves with exactly those lines; a last entry also
            // takes the comma after the entry before it.
            return Ok(match (previous_end, next_start) {
                (Some(previous_end), None) => {
                    let gap = &json[previous_end..line_start];
                    let comma = previous_end + gap.find(',').unwrap_or(gap.len());
                    let after_comma = (comma + 1).min(line_start);
                    format!(
                        "{}{}{}",
                        &json[..comma],
                        &json[after_comma..line_start],
                        &json[line_end..]
                    )
                }
                _ => format!("{}{}", &json[..line_start], &json[line_end..]),
            });
        }
        // On a shared line: a later entry goes with the separator before it, the first with
        // the separator after it.
        let (start, end) = match (previous_end, next_start) {
            (Some(previous_end), _) => (previous_end, range.end),
            (None, Some(next_start)) => (range.start, next_start),
            (None, None) => (range.start, range.end),
        };
        Ok(format!("{}{}", &json[..start], &json[end..]))
    })?;
    let after = parse_package_json(&edited)?;
    let mut expected = before;
    if let Some(jobs) = expected
        .pointer_mut("/webstir/moduleManifest/jobs")
        .and_then(Value::as_array_mut)
    {
        jobs.remove(index);
    }
    if after != expected {
        return Err(shape_error(
            "removing the entry did not come out as expected; nothing was written",
        ));
    }
    Ok(format!("{bom}{edited}"))
}

/// Returns `text` with the `name` of the jobs entry at `index` replaced by `new_name`.
pub fn rename_entry(text: &str, index: usize, new_name: &str) -> Result<String, ManifestError> {
    let (bom, json) = split_bom(text);
    let before = parse_package_json(json)?;
    let edited = with_jobs(json, |jobs| {
        let Some(ast::Value::Object(entry)) = jobs.elements.get(index) else {
            return Err(shape_error("the job entry to rename is gone"));
        };
        let Some(prop) = find(entry, "name") else {
            return Err(shape_error("the job entry has no `name`"));
        };
        let range = prop.value.range();
        let quoted = Value::from(new_name).to_string();
        Ok(format!(
            "{}{quoted}{}",
            &json[..range.start],
            &json[range.end..]
        ))
    })?;
    let after = parse_package_json(&edited)?;
    let mut expected = before;
    if let Some(entry) = expected
        .pointer_mut(&format!("/webstir/moduleManifest/jobs/{index}"))
        .and_then(Value::as_object_mut)
    {
        entry.insert("name".into(), Value::from(new_name));
    }
    if after != expected {
        return Err(shape_error(
            "renaming the entry did not come out as expected; nothing was written",
        ));
    }
    Ok(format!("{bom}{edited}"))
}

/// When `start..end` fills its lines (only indentation before it, only a comma after it), the
/// range of those whole lines, line break included.
fn own_lines(json: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let line_start = json[..start].rfind('\n').map_or(0, |i| i + 1);
    if !json[line_start..start]
        .chars()
        .all(|c| c == ' ' || c == '\t')
    {
        return None;
    }
    let rest = &json[end..];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    let trimmed = trimmed.strip_prefix(',').unwrap_or(trimmed);
    let trimmed = trimmed.trim_start_matches([' ', '\t']);
    let after = trimmed
        .strip_prefix("\r\n")
        .or_else(|| trimmed.strip_prefix('\n'))?;
    Some((line_start, json.len() - after.len()))
}

fn jobs_of(value: &Value) -> &[Value] {
    value
        .pointer("/webstir/moduleManifest/jobs")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Runs `edit` on the jobs array of `json`'s syntax tree.
fn with_jobs(
    json: &str,
    edit: impl FnOnce(&ast::Array) -> Result<String, ManifestError>,
) -> Result<String, ManifestError> {
    let parsed = parse_to_ast(json, &CollectOptions::default(), &ParseOptions::default())
        .map_err(|e| syntax_error(json, &e))?;
    let mut value = parsed.value.as_ref();
    for key in PATH {
        value = match value {
            Some(ast::Value::Object(object)) => find(object, key).map(|p| &p.value),
            _ => None,
        };
    }
    match value {
        Some(ast::Value::Array(jobs)) => edit(jobs),
        _ => Err(shape_error(
            "`webstir.moduleManifest.jobs` must be an array",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(jobs: &str) -> String {
        format!(
            "{{\n  \"webstir\": {{\n    \"moduleManifest\": {{\n      \"jobs\": [{jobs}]\n    }}\n  }}\n}}\n"
        )
    }

    #[test]
    fn removal_is_the_inverse_of_a_block_append() {
        let a = "\n        {\n          \"name\": \"a\"\n        }";
        let b = ",\n        {\n          \"name\": \"b\"\n        }";
        let c = ",\n\n        {\n          \"name\": \"c\"\n        }";
        let full = doc(&format!("{a}{b}{c}\n      "));
        // Blank lines around the removed entry stay where they were.
        assert_eq!(
            remove_entry(&full, 2).expect("last"),
            doc(&format!("{a}{b}\n\n      "))
        );
        assert_eq!(
            remove_entry(&full, 1).expect("middle"),
            doc(&format!("{a}{c}\n      "))
        );
        assert_eq!(
            remove_entry(&full, 0).expect("first"),
            doc(&format!("\n{}{c}\n      ", &b[2..]))
        );
        let only = doc(&format!("{a}\n      "));
        assert_eq!(remove_entry(&only, 0).expect("only"), doc(""));
    }

    #[test]
    fn one_line_arrays_and_bom_stay_as_written() {
        let text = "\u{feff}{\"webstir\":{\"moduleManifest\":{\"jobs\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}}";
        assert_eq!(
            remove_entry(text, 0).expect("first"),
            "\u{feff}{\"webstir\":{\"moduleManifest\":{\"jobs\":[{\"name\":\"b\"}]}}}"
        );
        assert_eq!(
            rename_entry(text, 1, "c").expect("rename"),
            "\u{feff}{\"webstir\":{\"moduleManifest\":{\"jobs\":[{\"name\":\"a\"},{\"name\":\"c\"}]}}}"
        );
    }
}
