//! The metadata sidecar, `VIDEO.keryx.yaml`: shared fields at the top, a section per platform.
//!
//! A platform's section takes the shared fields and that platform's own options (sidecar keys:
//! the option names with `_`). An option key at the top level applies to every platform that
//! declares it, so `made_for_kids: true` beside the title keeps working. Every error names the
//! file, line and column, and says what is allowed there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};

use super::{FIELDS, Metadata};
use crate::config::{Located, locate};
use crate::error::{Error, Result};
use crate::options::{OptionKind, OptionValue, PostOption};

/// What a sidecar may hold: each platform's id and its options.
pub type Schema<'a> = [(&'a str, &'a [PostOption])];

/// Sidecar names tried beside `DIR/NAME.EXT`: `DIR/NAME.keryx.yaml`, then `DIR/NAME.EXT.keryx.yaml`.
pub const SIDECAR_SUFFIX: &str = ".keryx.yaml";

/// A metadata sidecar: fields shared by every platform, and per-platform sections (keyed by
/// platform id) whose fields override the shared ones for that platform.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataFile {
    pub path: PathBuf,
    pub shared: Metadata,
    pub platforms: BTreeMap<String, Metadata>,
}

impl MetadataFile {
    /// Reads and checks the sidecar at `path`. `schema` lists the registered platforms and
    /// their options: the only keys besides [`Metadata`]'s fields. Errors name the file, line and column.
    pub fn load(path: &Path, schema: &Schema<'_>) -> Result<MetadataFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let error = match e.kind() {
                std::io::ErrorKind::NotFound => Error::input(format!(
                    "the metadata file {} does not exist",
                    path.display()
                )),
                _ => Error::input(format!("cannot read the metadata file {}", path.display())),
            };
            error
                .with_source(e)
                .with_hint("check the path given to --meta")
        })?;
        MetadataFile::parse(&text, path, schema)
    }

    /// Parses sidecar `text`; `path` is for messages and for relative paths in options, which
    /// are taken relative to the file's directory.
    pub fn parse(text: &str, path: &Path, schema: &Schema<'_>) -> Result<MetadataFile> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let blank = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
        let (mut shared, mut platforms) = if blank {
            (Metadata::default(), BTreeMap::new())
        } else {
            FileSeed { schema }
                .deserialize(serde_yaml::Deserializer::from_str(text))
                .map_err(|e| yaml_error(path, &e, schema))?
        };
        let base = path.parent().unwrap_or(Path::new(""));
        for metadata in std::iter::once(&mut shared).chain(platforms.values_mut()) {
            for value in metadata.options.values_mut() {
                if let OptionValue::Path(p) = value
                    && p.is_relative()
                {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(MetadataFile {
            path: path.to_path_buf(),
            shared,
            platforms,
        })
    }

    /// What the file says for `platform`: the shared fields, overridden by its section.
    pub fn for_platform(&self, platform: &str) -> Metadata {
        match self.platforms.get(platform) {
            Some(section) => self.shared.clone().overridden_by(section),
            None => self.shared.clone(),
        }
    }

    /// The sidecar beside `video`, if there is one: `reel.keryx.yaml` or `reel.mp4.keryx.yaml`
    /// for `reel.mp4`. Both at once is an error (which one was meant?).
    pub fn beside(video: &Path) -> Result<Option<PathBuf>> {
        let mut found = Vec::new();
        let stem = video.with_extension("");
        for base in [stem.as_path(), video] {
            let mut name = base.as_os_str().to_os_string();
            name.push(SIDECAR_SUFFIX);
            let candidate = PathBuf::from(name);
            if candidate.is_file() && !found.contains(&candidate) {
                found.push(candidate);
            }
        }
        match found.len() {
            0 | 1 => Ok(found.pop()),
            _ => Err(Error::input(format!(
                "two metadata files beside {}: {} and {}",
                video.display(),
                found[0].display(),
                found[1].display()
            ))
            .with_hint("remove one, or choose with --meta FILE")),
        }
    }
}

/// The option called by sidecar `key` in `options`.
fn option_for<'o>(options: &'o [PostOption], key: &str) -> Option<&'o PostOption> {
    options.iter().find(|o| o.sidecar_key() == key)
}

/// Reads one shared field into `metadata`; `false` when `key` is not one.
fn shared_field<'de, A: MapAccess<'de>>(
    map: &mut A,
    metadata: &mut Metadata,
    key: &str,
) -> std::result::Result<bool, A::Error> {
    match key {
        "title" => metadata.title = map.next_value()?,
        "description" => metadata.description = map.next_value()?,
        "tags" => metadata.tags = map.next_value()?,
        "privacy" => metadata.privacy = map.next_value()?,
        "ai_generated" => metadata.ai_generated = map.next_value()?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Reads the top-level mapping: each key is a shared field, a platform section, or an option
/// of one or more platforms. Written by hand (not `#[serde(flatten)]`) so that every error
/// keeps serde_yaml's line and column.
struct FileSeed<'a> {
    schema: &'a Schema<'a>,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = (Metadata, BTreeMap<String, Metadata>);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = (Metadata, BTreeMap<String, Metadata>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of metadata fields and platform sections")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut shared = Metadata::default();
        let mut platforms = BTreeMap::new();
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return map.next_value_seed(Reject(format!("`{key}` is given twice")));
            }
            if let Some((id, options)) = self.schema.iter().find(|(id, _)| *id == key) {
                let section = map.next_value_seed(SectionSeed {
                    platform: id,
                    options,
                })?;
                platforms.insert(key, section.unwrap_or_default());
                continue;
            }
            if shared_field(&mut map, &mut shared, &key)? {
                continue;
            }
            let declared = self
                .schema
                .iter()
                .find_map(|(_, options)| option_for(options, &key));
            match declared {
                Some(option) => {
                    let value = map.next_value_seed(ValueSeed(option.kind))?;
                    shared.options.insert(option.name.to_owned(), value);
                }
                None => {
                    return map
                        .next_value_seed(Reject(format!("unknown key `{key}`{UNKNOWN_MARK}")));
                }
            }
        }
        Ok((shared, platforms))
    }
}

/// One platform's section: the shared fields and its own options. `None` for an empty one.
struct SectionSeed<'a> {
    platform: &'a str,
    options: &'a [PostOption],
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_> {
    type Value = Option<Metadata>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_> {
    type Value = Option<Metadata>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a mapping of metadata for {}", self.platform)
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut metadata = Metadata::default();
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return map
                    .next_value_seed(Reject(format!("`{key}` is given twice")))
                    .map(|_| None);
            }
            if shared_field(&mut map, &mut metadata, &key)? {
                continue;
            }
            match option_for(self.options, &key) {
                Some(option) => {
                    let value = map.next_value_seed(ValueSeed(option.kind))?;
                    metadata.options.insert(option.name.to_owned(), value);
                }
                None => {
                    let mut allowed: Vec<String> = FIELDS.iter().map(|f| (*f).to_owned()).collect();
                    allowed.extend(self.options.iter().map(PostOption::sidecar_key));
                    return map
                        .next_value_seed(Reject(format!(
                            "unknown key `{key}` in the {} section{SECTION_MARK}{}",
                            self.platform,
                            allowed.join(", ")
                        )))
                        .map(|_| None);
                }
            }
        }
        Ok(Some(metadata))
    }
}

/// An option's value, typed by its kind; a duration may be a number of seconds or a string.
struct ValueSeed(OptionKind);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = OptionValue;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        match self.0 {
            OptionKind::Flag => bool::deserialize(deserializer).map(OptionValue::Flag),
            OptionKind::Text { .. } => String::deserialize(deserializer).map(OptionValue::Text),
            OptionKind::Path { .. } => PathBuf::deserialize(deserializer).map(OptionValue::Path),
            OptionKind::Duration => deserializer.deserialize_any(DurationVisitor),
        }
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = OptionValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a time like 2.5s, 2500ms or a number of seconds")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(OptionValue::Duration(std::time::Duration::from_secs(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        u64::try_from(v)
            .map(|v| OptionValue::Duration(std::time::Duration::from_secs(v)))
            .map_err(|_| E::custom("a time cannot be negative"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        std::time::Duration::try_from_secs_f64(v)
            .map(OptionValue::Duration)
            .map_err(|_| E::custom(format!("{v} is not a time in seconds")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        crate::options::parse_duration(v)
            .map(OptionValue::Duration)
            .map_err(E::custom)
    }
}

/// Fails with its message while reading a value, so that serde_yaml marks the error with the
/// value's line and column (an error raised between nodes would carry the mapping's start).
struct Reject(String);

impl<'de> DeserializeSeed<'de> for Reject {
    type Value = (Metadata, BTreeMap<String, Metadata>);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reject {
    type Value = (Metadata, BTreeMap<String, Metadata>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Err(E::custom(self.0))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Err(E::custom(self.0))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Err(E::custom(self.0))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Err(E::custom(self.0))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Err(E::custom(self.0))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Err(E::custom(self.0))
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Err(E::custom(self.0))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> std::result::Result<Self::Value, A::Error> {
        Err(de::Error::custom(self.0))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> std::result::Result<Self::Value, A::Error> {
        Err(de::Error::custom(self.0))
    }
}

/// Ends the message of an unknown top-level key, so [`yaml_error`] can add what is allowed.
const UNKNOWN_MARK: &str = " (keryx-sidecar-unknown)";

/// Separates an unknown section key's message from the keys that section allows.
const SECTION_MARK: &str = " (keryx-sidecar-section) ";

/// `file:line:column: message`, with a hint saying what is allowed.
fn yaml_error(path: &Path, err: &serde_yaml::Error, schema: &Schema<'_>) -> Error {
    let Located {
        place,
        line,
        message: mut text,
    } = locate(path, err);
    let hint = if let Some(message) = text.strip_suffix(UNKNOWN_MARK) {
        text = message.to_string();
        let ids: Vec<&str> = schema.iter().map(|(id, _)| *id).collect();
        let mut options: Vec<String> = schema
            .iter()
            .flat_map(|(_, options)| options.iter().map(PostOption::sidecar_key))
            .collect();
        options.sort();
        options.dedup();
        format!(
            "allowed keys: {}; a section per platform: {}; and any platform's option: {}",
            FIELDS.join(", "),
            ids.join(", "),
            options.join(", ")
        )
    } else if let Some((message, allowed)) = text.split_once(SECTION_MARK) {
        let hint = format!("that section takes: {allowed}");
        text = message.to_string();
        hint
    } else {
        match line {
            Some(line) => format!("fix line {line} of {}", path.display()),
            None => format!("fix {}", path.display()),
        }
    };
    Error::input(format!("{place}: {text}")).with_hint(hint)
}

#[cfg(test)]
mod tests;
