//! What to say about a video, in words every platform understands.
//!
//! One vocabulary for all platforms: a platform uses the fields it has and refuses, in
//! `prepare`, a field it cannot honour. The sidecar file ([`MetadataFile`], `VIDEO.keryx.yaml`)
//! and the CLI flags both fill this struct; per-platform sections of the sidecar override the
//! shared fields, and flags override the file.
//!
//! ```yaml
//! title: Sunset timelapse
//! description: Shot on the ridge.
//! tags: [timelapse, sunset]
//! tiktok: { privacy: SELF_ONLY, ai_generated: false }
//! youtube: { privacy: unlisted, category: "19" }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::config::{Located, locate};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Title, or caption where the platform has no separate title.
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// In the platform's own words (`SELF_ONLY`, `private`, ...), within the config's cap.
    pub privacy: Option<String>,
    /// The video is AI-generated or realistically altered.
    pub ai_generated: Option<bool>,
    pub category: Option<String>,
    pub made_for_kids: Option<bool>,
    /// RFC 3339 time to publish a scheduled (private) upload.
    pub publish_at: Option<String>,
    pub thumbnail: Option<PathBuf>,
    pub allow_comments: Option<bool>,
    pub allow_duet: Option<bool>,
    pub allow_stitch: Option<bool>,
    /// Commercial disclosure: promotes a third party (paid partnership).
    pub branded_content: Option<bool>,
    /// Commercial disclosure: promotes the creator's own brand.
    pub your_brand: Option<bool>,
}

impl Metadata {
    /// Fields set in `over` replace those in `self`.
    pub fn overridden_by(mut self, over: &Metadata) -> Metadata {
        macro_rules! take {
            ($($field:ident),*) => {$(
                if over.$field.is_some() { self.$field = over.$field.clone(); }
            )*};
        }
        take!(
            title,
            description,
            privacy,
            ai_generated,
            category,
            made_for_kids,
            publish_at,
            thumbnail,
            allow_comments,
            allow_duet,
            allow_stitch,
            branded_content,
            your_brand
        );
        if !over.tags.is_empty() {
            self.tags = over.tags.clone();
        }
        self
    }
}

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
    /// Reads and checks the sidecar at `path`. `platform_ids` are the registered platforms: the
    /// only keys besides [`Metadata`]'s fields. Errors name the file, line and column.
    pub fn load(path: &Path, platform_ids: &[&str]) -> Result<MetadataFile> {
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
        MetadataFile::parse(&text, path, platform_ids)
    }

    /// Parses sidecar `text`; `path` is for messages and for relative `thumbnail` paths, which
    /// are taken relative to the file's directory.
    pub fn parse(text: &str, path: &Path, platform_ids: &[&str]) -> Result<MetadataFile> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let blank = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
        let (mut shared, mut platforms) = if blank {
            (Metadata::default(), BTreeMap::new())
        } else {
            FileSeed { platform_ids }
                .deserialize(serde_yaml::Deserializer::from_str(text))
                .map_err(|e| yaml_error(path, &e, platform_ids))?
        };
        let base = path.parent().unwrap_or(Path::new(""));
        for metadata in std::iter::once(&mut shared).chain(platforms.values_mut()) {
            if let Some(thumbnail) = &metadata.thumbnail
                && thumbnail.is_relative()
            {
                metadata.thumbnail = Some(base.join(thumbnail));
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

/// The field names of [`Metadata`], as they are written in a sidecar.
pub const FIELDS: &[&str] = &[
    "title",
    "description",
    "tags",
    "privacy",
    "ai_generated",
    "category",
    "made_for_kids",
    "publish_at",
    "thumbnail",
    "allow_comments",
    "allow_duet",
    "allow_stitch",
    "branded_content",
    "your_brand",
];

/// Reads the top-level mapping: each key is a shared field or a platform section. Written by
/// hand (not `#[serde(flatten)]`) so that every error keeps serde_yaml's line and column.
struct FileSeed<'a> {
    platform_ids: &'a [&'a str],
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
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return map.next_value_seed(Reject(format!("`{key}` is given twice")));
            }
            if self.platform_ids.contains(&key.as_str()) {
                let section: Option<Metadata> = map.next_value()?;
                platforms.insert(key, section.unwrap_or_default());
                continue;
            }
            macro_rules! fields {
                ($($field:ident),*) => {
                    match key.as_str() {
                        $(stringify!($field) => shared.$field = map.next_value()?,)*
                        _ => {
                            return map.next_value_seed(Reject(format!(
                                "unknown key `{key}`{UNKNOWN_MARK}"
                            )))
                        }
                    }
                };
            }
            fields!(
                title,
                description,
                tags,
                privacy,
                ai_generated,
                category,
                made_for_kids,
                publish_at,
                thumbnail,
                allow_comments,
                allow_duet,
                allow_stitch,
                branded_content,
                your_brand
            );
        }
        Ok((shared, platforms))
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

/// `file:line:column: message`, with a hint saying what is allowed.
fn yaml_error(path: &Path, err: &serde_yaml::Error, platform_ids: &[&str]) -> Error {
    let Located {
        place,
        line,
        message: mut text,
    } = locate(path, err);
    let fields = FIELDS.join(", ");
    let hint = if let Some(message) = text.strip_suffix(UNKNOWN_MARK) {
        text = message.to_string();
        format!(
            "allowed keys: {fields}; and a section per platform: {}",
            platform_ids.join(", ")
        )
    } else if let Some(start) = text.find("unknown field `") {
        // serde lists every field after the name; the hint says it once, shorter.
        let after = &text[start + "unknown field `".len()..];
        let name = after.split('`').next().unwrap_or_default().to_string();
        text = format!("{}unknown key `{name}`", &text[..start]);
        format!("a platform section takes the same keys as the top level: {fields}")
    } else {
        match line {
            Some(line) => format!("fix line {line} of {}", path.display()),
            None => format!("fix {}", path.display()),
        }
    };
    Error::input(format!("{place}: {text}")).with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &["alpha", "beta"];

    fn parse(text: &str) -> Result<MetadataFile> {
        MetadataFile::parse(text, Path::new("/clips/reel.keryx.yaml"), IDS)
    }

    #[test]
    fn shared_fields_and_platform_sections() {
        let file = parse(
            "# comment\ntitle: Sunset timelapse\ndescription: Shot on the ridge.\n\
             tags: [timelapse, sunset]\nalpha: { privacy: SELF_ONLY, ai_generated: false }\n\
             beta: { privacy: unlisted, category: \"19\", title: Other }\n",
        )
        .unwrap();
        assert_eq!(file.shared.title.as_deref(), Some("Sunset timelapse"));
        let alpha = file.for_platform("alpha");
        assert_eq!(alpha.title.as_deref(), Some("Sunset timelapse"));
        assert_eq!(alpha.tags, vec!["timelapse", "sunset"]);
        assert_eq!(alpha.privacy.as_deref(), Some("SELF_ONLY"));
        assert_eq!(alpha.ai_generated, Some(false));
        assert_eq!(alpha.category, None);
        let beta = file.for_platform("beta");
        assert_eq!(beta.title.as_deref(), Some("Other"));
        assert_eq!(beta.description.as_deref(), Some("Shot on the ridge."));
        assert_eq!(beta.category.as_deref(), Some("19"));
        // A platform with no section gets the shared fields.
        assert_eq!(
            MetadataFile::parse("title: T\n", Path::new("m.yaml"), &["gamma"])
                .unwrap()
                .for_platform("gamma")
                .title
                .as_deref(),
            Some("T")
        );
    }

    #[test]
    fn every_metadata_field_is_accepted_at_both_levels() {
        let full = Metadata {
            title: Some("t".into()),
            description: Some("d".into()),
            tags: vec!["a".into()],
            privacy: Some("p".into()),
            ai_generated: Some(true),
            category: Some("22".into()),
            made_for_kids: Some(false),
            publish_at: Some("2030-01-01T00:00:00Z".into()),
            thumbnail: Some("/abs/thumb.jpg".into()),
            allow_comments: Some(true),
            allow_duet: Some(false),
            allow_stitch: Some(true),
            branded_content: Some(false),
            your_brand: Some(true),
        };
        let yaml = serde_yaml::to_string(&full).unwrap();
        let keys: serde_yaml::Mapping = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(keys.len(), FIELDS.len());
        for key in keys.keys() {
            assert!(FIELDS.contains(&key.as_str().unwrap()), "{key:?}");
        }
        let file = parse(&yaml).unwrap();
        assert_eq!(file.shared, full);
        let indented: String = yaml.lines().map(|l| format!("  {l}\n")).collect();
        let file = parse(&format!("alpha:\n{indented}")).unwrap();
        assert_eq!(file.platforms["alpha"], full);
        assert_eq!(file.shared, Metadata::default());
    }

    #[test]
    fn unknown_keys_name_file_line_and_column() {
        let err = parse("title: T\ntitel: typo\n").unwrap_err();
        assert!(
            err.message().starts_with("/clips/reel.keryx.yaml:2:"),
            "{}",
            err.message()
        );
        assert!(
            err.message().contains("unknown key `titel`"),
            "{}",
            err.message()
        );
        assert!(err.hint().unwrap().contains("alpha, beta"));
        assert_eq!(err.exit_code(), 2);

        let err = parse("title: T\nalpha:\n  privacy: x\n  colour: red\n").unwrap_err();
        assert!(err.message().contains(":4:"), "{}", err.message());
        assert!(
            err.message().ends_with("unknown key `colour`"),
            "{}",
            err.message()
        );
        assert!(err.hint().unwrap().contains("same keys"));

        // A platform keryx does not know is an unknown key, not a silent no-op.
        let err = parse("gamma: { title: T }\n").unwrap_err();
        assert!(err.message().contains(":1:"), "{}", err.message());
        assert!(err.message().contains("`gamma`"), "{}", err.message());

        let err = parse("ai_generated: maybe\n").unwrap_err();
        assert!(err.message().contains(":1:"), "{}", err.message());
        let err = parse("title: a\ntitle: b\n").unwrap_err();
        assert!(err.message().contains("title"), "{}", err.message());
        assert!(parse("- just\n- a list\n").is_err());
    }

    #[test]
    fn empty_files_and_empty_sections() {
        assert_eq!(parse("").unwrap().shared, Metadata::default());
        assert_eq!(
            parse("# nothing yet\n\n").unwrap().shared,
            Metadata::default()
        );
        let file = parse("alpha:\ntitle: T\n").unwrap();
        assert_eq!(file.platforms["alpha"], Metadata::default());
        assert_eq!(file.for_platform("alpha").title.as_deref(), Some("T"));
    }

    #[test]
    fn relative_thumbnails_are_beside_the_file() {
        let file = parse("thumbnail: thumb.jpg\nbeta: { thumbnail: /abs/b.png }\n").unwrap();
        assert_eq!(
            file.shared.thumbnail.as_deref(),
            Some(Path::new("/clips/thumb.jpg"))
        );
        assert_eq!(
            file.for_platform("beta").thumbnail.as_deref(),
            Some(Path::new("/abs/b.png"))
        );
    }

    #[test]
    fn sidecars_beside_a_video() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("reel.mp4");
        assert_eq!(MetadataFile::beside(&video).unwrap(), None);
        let short = dir.path().join("reel.keryx.yaml");
        std::fs::write(&short, "title: T\n").unwrap();
        assert_eq!(MetadataFile::beside(&video).unwrap(), Some(short.clone()));
        let long = dir.path().join("reel.mp4.keryx.yaml");
        std::fs::write(&long, "title: T\n").unwrap();
        assert!(MetadataFile::beside(&video).is_err());
        std::fs::remove_file(&short).unwrap();
        assert_eq!(MetadataFile::beside(&video).unwrap(), Some(long));
        let err = MetadataFile::load(&dir.path().join("nope.yaml"), IDS).unwrap_err();
        assert!(err.message().contains("does not exist"));
    }
}
