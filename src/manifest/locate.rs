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
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
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
    let entries = array_of(jobs)?;
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

/// The elements of a raw array; `None` for any other value.
pub(crate) fn array_of(raw: &RawValue) -> Option<Vec<&RawValue>> {
    // Checked first: a refused type costs serde_json a formatted error.
    if !raw.get().starts_with('[') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// True for a raw `null`.
pub(crate) fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// Raw JSON that serializes as the value it holds would, without building that value: objects,
/// arrays, strings and numbers are written through the serializer one by one, so pretty output
/// is indented as it would be for a [`serde_json::Value`], numbers are written as serde_json
/// reads them (`1E2` as `1e+2`) and strings with their escapes decoded and written again. An
/// object with a repeated key is written through a `Value`, which keeps the key where it first
/// appears with its last value, as `JSON.parse` does.
pub(crate) struct AsValue<'a>(pub &'a RawValue);

impl Serialize for AsValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.0.get();
        let unreadable =
            || serde::ser::Error::custom("raw JSON that was read before is unreadable");
        match text.as_bytes().first() {
            Some(b'{') => {
                let members = Members::of(text).ok_or_else(unreadable)?;
                if has_repeated_key(&members) {
                    let value: serde_json::Value =
                        serde_json::from_str(text).map_err(|_| unreadable())?;
                    return value.serialize(s);
                }
                let mut map = s.serialize_map(Some(members.0.len()))?;
                for (key, value) in &members.0 {
                    map.serialize_entry(key.as_ref(), &AsValue(value))?;
                }
                map.end()
            }
            Some(b'[') => {
                let items = array_of(self.0).ok_or_else(unreadable)?;
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&AsValue(item))?;
                }
                seq.end()
            }
            Some(b'"') => s.serialize_str(&string_of(self.0).ok_or_else(unreadable)?),
            Some(b't') => s.serialize_bool(true),
            Some(b'f') => s.serialize_bool(false),
            Some(b'n') => s.serialize_unit(),
            _ => text
                .parse::<serde_json::Number>()
                .map_err(|_| unreadable())?
                .serialize(s),
        }
    }
}

fn has_repeated_key(members: &Members<'_>) -> bool {
    let keys = &members.0;
    if keys.len() <= 16 {
        return keys
            .iter()
            .enumerate()
            .any(|(i, (key, _))| keys[..i].iter().any(|(k, _)| k == key));
    }
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    !keys.iter().all(|(key, _)| seen.insert(key.as_ref()))
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
    fn raw_json_is_written_as_its_value_would_be() {
        let text = r#"{"b": [1E2, -0.50e-3, 7, true, false, null, "a\u0041\/\n\ud83d\ude00é"],
            "d": {"x": 1, "y": {}, "x": [2]}, "e": [], "many": {"k0": 0, "k1": 1, "k2": 2,
            "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10,
            "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k0": "last"}}"#;
        let raw: &RawValue = serde_json::from_str(text).expect("raw");
        let value: serde_json::Value = serde_json::from_str(text).expect("value");
        assert_eq!(
            serde_json::to_string_pretty(&AsValue(raw)).expect("written"),
            serde_json::to_string_pretty(&value).expect("written")
        );
        assert_eq!(
            serde_json::to_string(&AsValue(raw)).expect("written"),
            value.to_string()
        );
    }

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
