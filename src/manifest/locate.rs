//! Finding the manifest in the text of `package.json` without building the document: each
//! member is checked as raw JSON (serde_json skips a raw value at any depth and keeps where it
//! lies in the text), and only the members on the way to the jobs are opened. A file of
//! thousands of jobs is then read once, into the typed jobs, and `add-job` learns where the jobs
//! array and its last entry are without reading the entries at all.
//!
//! Whatever this shallow reading cannot vouch for (a syntax error, a top level or `webstir` that
//! is not an object, a manifest of another shape, nesting the full reader may refuse) is left to
//! the full reader ([`super::json::parse`]), so that every error reads the same as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Deeper than this, `name` or `webstir` may be more than the full reader (which stops at 128
/// levels) accepts; such a file is left to it.
const SHALLOW_DEPTH: usize = 100;

/// The members of one object, in the order written (a repeated key appears each time).
#[derive(Debug, Default)]
pub(crate) struct Members<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    /// The members of the object `json` is; `None` when it is not an object or not JSON.
    pub fn of(json: &'a str) -> Option<Members<'a>> {
        let mut de = serde_json::Deserializer::from_str(json);
        let members = de.deserialize_map(MembersVisitor).ok()?;
        de.end().ok()?;
        Some(Members(members))
    }

    /// The value of `key`; as in `JSON.parse`, the last of repeated keys wins.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Each key once, where it first appears (the order `JSON.parse` gives them).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .enumerate()
            .filter(|(i, (key, _))| !self.0[..*i].iter().any(|(k, _)| k == key))
            .map(|(_, (key, _))| key.as_ref())
    }
}

/// `webstir.moduleManifest.jobs` and what holds it, as found in the text.
#[derive(Debug, Default)]
pub(crate) struct Located<'a> {
    /// Top-level `name`.
    pub name: Option<&'a RawValue>,
    /// `webstir`, an object, when present.
    pub webstir: Option<(&'a RawValue, Members<'a>)>,
    /// `webstir.moduleManifest`, an object, when present.
    pub module_manifest: Option<(&'a RawValue, Members<'a>)>,
    /// `webstir.moduleManifest.jobs`, an array, and its entries, when present.
    pub jobs: Option<(&'a RawValue, Vec<&'a RawValue>)>,
}

/// Locates the manifest in `json` (the text after any byte-order mark, with lone surrogate
/// escapes replaced). `None` when the full reader must decide: the text is not JSON or not an
/// object, `webstir`, `moduleManifest` or `jobs` is there but of another type (`null` too), or
/// `name` or `webstir` nests deeply.
pub(crate) fn locate(json: &str) -> Option<Located<'_>> {
    let root = Members::of(json)?;
    let name = root.get("name");
    let mut found = Located {
        name,
        ..Located::default()
    };
    if name.is_some_and(|raw| super::json::max_depth(raw.get()) > SHALLOW_DEPTH) {
        return None;
    }
    let Some(webstir) = root.get("webstir") else {
        return Some(found);
    };
    if super::json::max_depth(webstir.get()) > SHALLOW_DEPTH {
        return None;
    }
    let webstir_members = Members::of(webstir.get())?;
    let module_manifest = webstir_members.get("moduleManifest");
    found.webstir = Some((webstir, webstir_members));
    let Some(module_manifest) = module_manifest else {
        return Some(found);
    };
    let manifest_members = Members::of(module_manifest.get())?;
    let jobs = manifest_members.get("jobs");
    found.module_manifest = Some((module_manifest, manifest_members));
    let Some(jobs) = jobs else {
        return Some(found);
    };
    if !jobs.get().starts_with('[') {
        return None;
    }
    let entries = serde_json::from_str::<Vec<&RawValue>>(jobs.get()).ok()?;
    found.jobs = Some((jobs, entries));
    Some(found)
}

/// The string a raw value holds, borrowed when it has no escapes; `None` for any other value.
pub(crate) fn string_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// True for a raw `null`.
pub(crate) fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
            members.push((key, value));
        }
        Ok(members)
    }
}

/// An object key, borrowed from the text when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_jobs_and_leaves_other_shapes_to_the_full_reader() {
        let text = r#"{"name": "a", "webstir": {"moduleManifest": {"jobs": [{"name": "x"}, 1]}}}"#;
        let found = locate(text).expect("located");
        assert_eq!(found.name.map(RawValue::get), Some(r#""a""#));
        let (_, entries) = found.jobs.expect("jobs");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].get(), "1");
        for other in [
            "[]",
            r#"{"webstir": null}"#,
            r#"{"webstir": {"moduleManifest": 1}}"#,
            r#"{"webstir": {"moduleManifest": {"jobs": null}}}"#,
            r#"{"a": 1,}"#,
        ] {
            assert!(locate(other).is_none(), "{other}");
        }
        let deep = format!("{{\"webstir\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(locate(&deep).is_none());
        assert!(locate(r#"{"webstir": {}}"#).is_some_and(|f| f.module_manifest.is_none()));
    }

    #[test]
    fn repeated_keys_keep_their_first_place_and_last_value() {
        let members = Members::of(r#"{"b": 1, "a\u0041": 2, "b": 3}"#).expect("object");
        assert_eq!(members.get("b").map(RawValue::get), Some("3"));
        assert_eq!(members.keys().collect::<Vec<_>>(), ["b", "aA"]);
        assert_eq!(
            string_of(members.get("b").expect("b")),
            None,
            "a number is no string"
        );
        let s: &RawValue = serde_json::from_str(r#""x\ny""#).expect("raw");
        assert_eq!(string_of(s).as_deref(), Some("x\ny"));
    }
}
