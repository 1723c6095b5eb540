//! Finding the manifest in the text of `package.json` without building the document: each
//! member is checked as raw JSON (serde_json skips a raw value at any depth and keeps where it
//! lies in the text), and only the members on the way to the jobs are opened, where they are
//! met (serde `DeserializeSeed`s), down to the members of each entry. A file of thousands of
//! jobs is then read in one pass ([`locate_jobs`]; two for [`locate`], which keeps
//! `moduleManifest` as written for the reports), and `add-job` learns where the last entry is
//! from its members.
//!
//! Whatever this shallow reading cannot vouch for (a syntax error, a top level or `webstir` that
//! is not an object, a manifest of another shape, nesting the full reader may refuse) is left to
//! the full reader ([`super::json::parse`]), so that every error reads the same as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
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
    /// `webstir.mode`, when `webstir` (an object) has it.
    pub mode: Option<&'a RawValue>,
    /// `webstir.moduleManifest`, an object, when present.
    pub module_manifest: Option<&'a RawValue>,
    /// The entries of `webstir.moduleManifest.jobs`, an array, when present.
    pub jobs: Option<Vec<Entry<'a>>>,
}

/// An entry of `jobs`.
#[derive(Debug)]
pub(crate) enum Entry<'a> {
    /// An object, as its members.
    Object(Members<'a>),
    /// Any other value.
    Other,
}

impl<'a> Entry<'a> {
    /// The entry `raw` is.
    pub fn of(raw: &'a RawValue) -> Entry<'a> {
        Members::of(raw.get()).map_or(Entry::Other, Entry::Object)
    }

    /// Where the entry lies in `text`, which it was read from (start, end): an object is
    /// told by its members, from the `{` before the first key to the `}` after the last value.
    /// `None` for an empty object, a first key written with escapes (not borrowed from the
    /// text), or another value.
    pub fn span_in(&self, text: &str) -> Option<(usize, usize)> {
        let Entry::Object(members) = self else {
            return None;
        };
        let offset_of = |part: &str| {
            let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
            (at + part.len() <= text.len()).then_some(at)
        };
        let (Cow::Borrowed(first_key), _) = members.0.first()? else {
            return None;
        };
        // The key's text begins after its opening quote.
        let quote = offset_of(first_key)?.checked_sub(1)?;
        let open = text[..quote]
            .trim_end_matches(JSON_SPACE)
            .strip_suffix('{')?;
        let (_, last_value) = members.0.last()?;
        let value_end = offset_of(last_value.get())? + last_value.get().len();
        let after = &text[value_end..];
        let space = after.len() - after.trim_start_matches(JSON_SPACE).len();
        after[space..]
            .starts_with('}')
            .then_some((open.len(), value_end + space + 1))
    }
}

/// White space as JSON has it.
const JSON_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Locates the manifest in `json` (the text after any byte-order mark, with lone surrogate
/// escapes replaced). `None` when the full reader must decide: the text is not JSON or not an
/// object, `webstir`, `moduleManifest` or `jobs` is there but of another type (`null` too), or
/// `name` or `webstir` nests deeply.
///
/// Two passes, however large the file: the top level is read member by member, descending into
/// `webstir` and skipping every other member as raw JSON; then `moduleManifest`, kept as raw
/// JSON for the reports, is read the same way, down to the entries of `jobs`.
pub(crate) fn locate(json: &str) -> Option<Located<'_>> {
    locate_with(json, false)
}

/// [`locate`] without `moduleManifest` as raw JSON (left `None`), in one pass: `moduleManifest`
/// is opened as it is met. For the readers of the jobs alone.
pub(crate) fn locate_jobs(json: &str) -> Option<Located<'_>> {
    locate_with(json, true)
}

fn locate_with(json: &str, open_manifest: bool) -> Option<Located<'_>> {
    let mut de = serde_json::Deserializer::from_str(json);
    let root = de.deserialize_map(RootVisitor { open_manifest }).ok()?;
    de.end().ok()?;
    if root
        .name
        .is_some_and(|raw| !nests_within(raw.get(), SHALLOW_DEPTH))
    {
        return None;
    }
    let mut found = Located {
        name: root.name,
        ..Located::default()
    };
    let Some(webstir) = root.webstir else {
        return Some(found);
    };
    // `webstir` nests no deeper than SHALLOW_DEPTH when each member under it nests one level
    // less (checked as they were read), and so on down to the entries of `jobs`.
    let Ok(webstir) = webstir else {
        return None;
    };
    if !(webstir.within && root.earlier_within) {
        return None;
    }
    found.mode = webstir.mode;
    if let Some(opened) = webstir.opened {
        found.jobs = opened.jobs()?;
        return Some(found);
    }
    let Some(module_manifest) = webstir.module_manifest else {
        return Some(found);
    };
    let mut de = serde_json::Deserializer::from_str(module_manifest.get());
    let read = de.deserialize_map(ManifestVisitor).ok()?;
    de.end().ok()?;
    found.module_manifest = Some(module_manifest);
    found.jobs = read.jobs()?;
    Some(found)
}

/// Whether `text` nests no deeper than `limit`; counting brackets first, which is quick and
/// settles it for all but deeply written values.
fn nests_within(text: &str, limit: usize) -> bool {
    let brackets = text
        .as_bytes()
        .iter()
        .filter(|&&b| b == b'[' || b == b'{')
        .count();
    brackets <= limit || super::json::max_depth(text) <= limit
}

/// The top level: `name` as raw JSON, `webstir` opened, the rest skipped.
#[derive(Default)]
struct Root<'a> {
    name: Option<&'a RawValue>,
    /// The last `webstir`, or whether one of another type nests within the limit.
    webstir: Option<Result<Webstir<'a>, bool>>,
    /// Whether every `webstir` before the last nests within the limit too: the full reader
    /// reads them all.
    earlier_within: bool,
}

struct RootVisitor {
    /// Whether `moduleManifest` is opened where it is met (see [`locate_jobs`]).
    open_manifest: bool,
}

impl<'de> Visitor<'de> for RootVisitor {
    type Value = Root<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut root = Root {
            earlier_within: true,
            ..Root::default()
        };
        // As in `JSON.parse`, the last of repeated keys wins.
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match key.as_ref() {
                "name" => root.name = Some(map.next_value()?),
                "webstir" => {
                    let webstir = map.next_value_seed(WebstirSeed {
                        open_manifest: self.open_manifest,
                    })?;
                    if let Some(earlier) = root.webstir.replace(webstir) {
                        root.earlier_within &= earlier.map_or_else(
                            |within| within,
                            |w| {
                                w.within
                                    && w.module_manifest
                                        .is_none_or(|m| nests_within(m.get(), SHALLOW_DEPTH - 1))
                                    && w.opened.is_none_or(|m| m.within)
                            },
                        );
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(root)
    }
}

/// `webstir`, when it is an object: `mode`, `moduleManifest` as raw JSON, and whether it nests
/// within [`SHALLOW_DEPTH`] (as far as read here: `moduleManifest` is checked when it is opened).
struct Webstir<'a> {
    mode: Option<&'a RawValue>,
    module_manifest: Option<&'a RawValue>,
    /// `moduleManifest` opened where it was met (see [`locate_jobs`]).
    opened: Option<ManifestRead<'a>>,
    within: bool,
}

/// What [`ManifestVisitor`] reads of `moduleManifest`.
struct ManifestRead<'a> {
    /// The last `jobs`: its entries, or `Err` for another type.
    jobs: Option<Result<Vec<Entry<'a>>, ()>>,
    /// Whether every member nests within what is left of [`SHALLOW_DEPTH`].
    within: bool,
}

impl<'a> ManifestRead<'a> {
    /// A `moduleManifest` of another type than an object.
    fn other(within: bool) -> ManifestRead<'a> {
        ManifestRead {
            jobs: Some(Err(())),
            within,
        }
    }

    /// The entries of `jobs` (`Some(None)` without `jobs`); `None` when the full reader must
    /// decide: a member nests too deeply, or the last `jobs` is not an array.
    fn jobs(self) -> Option<Option<Vec<Entry<'a>>>> {
        match self.jobs {
            _ if !self.within => None,
            None => Some(None),
            Some(Ok(entries)) => Some(Some(entries)),
            Some(Err(())) => None,
        }
    }
}

/// How serde_json (feature `arbitrary_precision`) hands a number to a visitor: as a map of one
/// member under this key.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// The visitor methods of the scalars, each another type than the one looked for (`Err`), and
/// nesting no deeper than any limit.
macro_rules! scalars_are_other {
    () => {
        scalars_are_other!(Err(true));
    };
    ($other:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

/// Skips what is left of an object (its first key read already), checking that each value
/// nests within `limit`.
fn skip_members<'de, A: MapAccess<'de>>(mut map: A, limit: usize) -> Result<bool, A::Error> {
    let mut within = nests_within(map.next_value::<&'de RawValue>()?.get(), limit);
    while let Some(IgnoredAny) = map.next_key()? {
        within &= nests_within(map.next_value::<&'de RawValue>()?.get(), limit);
    }
    Ok(within)
}

/// Skips an array, checking that each element nests within `limit`.
fn skip_elements<'de, A: SeqAccess<'de>>(mut seq: A, limit: usize) -> Result<bool, A::Error> {
    let mut within = true;
    while let Some(raw) = seq.next_element::<&'de RawValue>()? {
        within &= nests_within(raw.get(), limit);
    }
    Ok(within)
}

/// Opens `webstir` when it is an object; any other value is skipped (`Err`, with whether it
/// nests within the limit), as `JSON.parse` keeps only the last of repeated keys.
struct WebstirSeed {
    open_manifest: bool,
}

impl<'de> DeserializeSeed<'de> for WebstirSeed {
    type Value = Result<Webstir<'de>, bool>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WebstirSeed {
    type Value = Result<Webstir<'de>, bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    scalars_are_other!();

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(Err(skip_elements(seq, SHALLOW_DEPTH - 1)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut webstir = Webstir {
            mode: None,
            module_manifest: None,
            opened: None,
            within: true,
        };
        let member_limit = SHALLOW_DEPTH - 1;
        let mut first = true;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if std::mem::take(&mut first) && key == NUMBER_TOKEN {
                map.next_value::<IgnoredAny>()?;
                return Ok(Err(true));
            }
            if self.open_manifest && key == "moduleManifest" {
                // Anything but an object fails the reading, for the full reader to decide.
                let read = map.next_value_seed(ManifestSeed)?;
                // One it replaces must nest within the limit too.
                if let Some(earlier) = webstir.opened.replace(read) {
                    webstir.within &= earlier.within;
                }
                continue;
            }
            let raw: &'de RawValue = map.next_value()?;
            match key.as_ref() {
                "moduleManifest" => {
                    // Only the last is opened; one it replaces is checked here.
                    if let Some(earlier) = webstir.module_manifest.replace(raw) {
                        webstir.within &= nests_within(earlier.get(), member_limit);
                    }
                }
                other => {
                    if other == "mode" {
                        webstir.mode = Some(raw);
                    }
                    webstir.within &= nests_within(raw.get(), member_limit);
                }
            }
        }
        Ok(Ok(webstir))
    }
}

/// `moduleManifest` opened where it is met: [`ManifestVisitor`] on an object; any other value
/// is skipped (read as having no `jobs` array, for the full reader to decide if it is the last).
struct ManifestSeed;

impl<'de> DeserializeSeed<'de> for ManifestSeed {
    type Value = ManifestRead<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ManifestSeed {
    type Value = ManifestRead<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    scalars_are_other!(ManifestRead::other(true));

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(ManifestRead::other(skip_elements(seq, SHALLOW_DEPTH - 2)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        // A number (as serde_json hands one over) is told by its first key.
        let mut map = FirstKeyPeeked::new(map)?;
        if map.first.as_deref() == Some(NUMBER_TOKEN) {
            map.inner.next_value::<IgnoredAny>()?;
            return Ok(ManifestRead::other(true));
        }
        ManifestVisitor.visit_map(map)
    }
}

/// A map whose first key was read ahead, handed on as if it had not been.
struct FirstKeyPeeked<'de, A> {
    inner: A,
    first: Option<Cow<'de, str>>,
    given: bool,
}

impl<'de, A: MapAccess<'de>> FirstKeyPeeked<'de, A> {
    fn new(mut inner: A) -> Result<Self, A::Error> {
        let first = inner.next_key::<Key<'de>>()?.map(|Key(k)| k);
        Ok(FirstKeyPeeked {
            inner,
            first,
            given: false,
        })
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for FirstKeyPeeked<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if !std::mem::replace(&mut self.given, true) {
            return match self.first.take() {
                Some(Cow::Borrowed(key)) => seed
                    .deserialize(serde::de::value::BorrowedStrDeserializer::new(key))
                    .map(Some),
                Some(Cow::Owned(key)) => seed
                    .deserialize(serde::de::value::StringDeserializer::new(key))
                    .map(Some),
                None => Ok(None),
            };
        }
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

/// `moduleManifest`, an object: the entries of its `jobs` (`None` inside when it has none), or
/// `None` when a member nests deeper than what is left of [`SHALLOW_DEPTH`] or the last `jobs`
/// is not an array.
struct ManifestVisitor;

impl<'de> Visitor<'de> for ManifestVisitor {
    type Value = ManifestRead<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Under `webstir` (1) and `moduleManifest` (2).
        let member_limit = SHALLOW_DEPTH - 2;
        let mut jobs = None;
        let mut within = true;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == "jobs" {
                let entries = map.next_value_seed(JobsSeed {
                    limit: member_limit,
                })?;
                let entries = match entries {
                    Ok((entries, entries_within)) => {
                        within &= entries_within;
                        Ok(entries)
                    }
                    Err(other_within) => {
                        within &= other_within;
                        Err(())
                    }
                };
                jobs = Some(entries);
            } else {
                let raw: &'de RawValue = map.next_value()?;
                within &= nests_within(raw.get(), member_limit);
            }
        }
        Ok(ManifestRead { jobs, within })
    }
}

/// `jobs` when it is an array: its entries, each object read into its members, and whether they
/// nest within `limit`; any other value is skipped (`Err`, with whether it nests within it).
struct JobsSeed {
    limit: usize,
}

impl<'de> DeserializeSeed<'de> for JobsSeed {
    type Value = Result<(Vec<Entry<'de>>, bool), bool>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JobsSeed {
    type Value = Result<(Vec<Entry<'de>>, bool), bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    scalars_are_other!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut within = true;
        let entry_limit = self.limit - 1;
        while let Some((entry, entry_within)) =
            seq.next_element_seed(EntrySeed { limit: entry_limit })?
        {
            entries.push(entry);
            within &= entry_within;
        }
        Ok(Ok((entries, within)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match map.next_key::<Key<'de>>()? {
            None => Ok(Err(true)),
            Some(Key(key)) if key == NUMBER_TOKEN => {
                map.next_value::<IgnoredAny>()?;
                Ok(Err(true))
            }
            Some(_) => Ok(Err(skip_members(map, self.limit - 1)?)),
        }
    }
}

/// An entry of `jobs`, read in the same pass as the array: an object into its members (each
/// value kept as raw JSON), any other value skipped; and whether it nests within `limit`.
struct EntrySeed {
    limit: usize,
}

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = (Entry<'de>, bool);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = (Entry<'de>, bool);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok((Entry::Other, true))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok((Entry::Other, true))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok((Entry::Other, true))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok((Entry::Other, true))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok((Entry::Other, true))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Entry::Other, true))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok((Entry::Other, skip_elements(seq, self.limit - 1)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Room for a job's usual keys (a name, schedule, description, priority, zone and a
        // policy or two) without growing.
        let mut members = Vec::with_capacity(8);
        let mut within = true;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if members.is_empty() && key == NUMBER_TOKEN {
                map.next_value::<IgnoredAny>()?;
                return Ok((Entry::Other, true));
            }
            let value: &'de RawValue = map.next_value()?;
            within &= nests_within(value.get(), self.limit - 1);
            members.push((key, value));
        }
        Ok((Entry::Object(Members(members)), within))
    }
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
        let entries = found.jobs.expect("jobs");
        assert_eq!(entries.len(), 2);
        assert!(
            matches!(&entries[0], Entry::Object(m) if m.get("name").map(RawValue::get) == Some(r#""x""#))
        );
        assert!(matches!(entries[1], Entry::Other));
        for other in [
            "[]",
            r#"{"webstir": null}"#,
            r#"{"webstir": {"moduleManifest": 1}}"#,
            r#"{"webstir": {"moduleManifest": {"jobs": null}}}"#,
            r#"{"webstir": {}, "webstir": 1}"#,
            r#"{"webstir": {"moduleManifest": {"jobs": []}}, "webstir": "x"}"#,
            r#"{"webstir": {"moduleManifest": {"jobs": [], "jobs": {}}}}"#,
            r#"{"a": 1,}"#,
        ] {
            assert!(locate(other).is_none(), "{other}");
            assert!(locate_jobs(other).is_none(), "{other}");
        }
        let deep = format!("{{\"webstir\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(locate(&deep).is_none());
        assert!(locate(r#"{"webstir": {}}"#).is_some_and(|f| f.module_manifest.is_none()));
        // Repeated keys: the last wins, the earlier must be readable all the same.
        let found = locate(
            r#"{"webstir": 1, "webstir": {"mode": "a", "moduleManifest": {"jobs": [1]},
                "moduleManifest": {"jobs": [], "jobs": [{"name": "y"}]}}}"#,
        );
        assert_eq!(found.expect("located").jobs.expect("jobs").len(), 1);
        let found = locate(
            r#"{"webstir": {"mode": "a", "moduleManifest": {"jobs": [1]}, "mode": "b",
                "moduleManifest": {"jobs": 1.5e3, "jobs": {"x": [[]]}, "jobs": [{"name": "y"}]}}}"#,
        )
        .expect("located");
        assert_eq!(found.mode.map(RawValue::get), Some(r#""b""#));
        assert_eq!(found.jobs.expect("jobs").len(), 1);
        // The depth is that of the whole of `webstir`, whichever member is deep.
        for (at, depth) in [
            ("x", 99),
            ("x", 100),
            ("m", 98),
            ("m", 99),
            ("j", 97),
            ("j", 98),
        ] {
            let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let text = match at {
                "x" => format!(r#"{{"webstir": {{"x": {deep}}}}}"#),
                "m" => format!(r#"{{"webstir": {{"moduleManifest": {{"x": {deep}}}}}}}"#),
                _ => format!(r#"{{"webstir": {{"moduleManifest": {{"jobs": [{deep}]}}}}}}"#),
            };
            let webstir = &text[r#"{"webstir": "#.len()..text.len() - 1];
            let webstir_depth = super::super::json::max_depth(webstir);
            assert_eq!(
                locate(&text).is_some(),
                webstir_depth <= SHALLOW_DEPTH,
                "{at} {depth}: webstir nests {webstir_depth} deep"
            );
            assert_eq!(locate_jobs(&text).is_some(), locate(&text).is_some());
        }
    }

    /// The one-pass reading of the jobs finds what the two-pass one finds.
    #[test]
    fn locating_the_jobs_alone_finds_the_same_jobs() {
        for text in [
            r#"{"name": "a", "webstir": {"mode": "m", "moduleManifest": {"jobs": [{"name": "x"}, 1]}}}"#,
            r#"{"webstir": 1, "webstir": {"moduleManifest": {"jobs": 2, "jobs": [{"n\u0061me": "y"}]}}}"#,
            r#"{"webstir": {"moduleManifest": {"jobs": [[]]}, "moduleManifest": {"v": 1}}}"#,
            r#"{"webstir": {"moduleManifest": {"jobs": {}}, "moduleManifest": {"jobs": []}}}"#,
            r#"{"webstir": {"moduleManifest": [], "moduleManifest": {"jobs": []}}}"#,
            r#"{"webstir": {"moduleManifest": {}}}"#,
            r#"{"webstir": {}}"#,
            r#"{}"#,
        ] {
            let both = |found: Option<Located<'_>>| {
                format!("{:?}", found.map(|f| (f.name, f.mode, f.jobs)))
            };
            assert_eq!(both(locate_jobs(text)), both(locate(text)), "{text}");
        }
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
