//! What to say about a video: the words every platform understands, plus each platform's own
//! options ([`crate::options`]).
//!
//! The sidecar file ([`MetadataFile`], `VIDEO.keryx.yaml`) and the CLI flags both fill it;
//! per-platform sections of the sidecar override the shared fields, and flags override the
//! file.
//!
//! ```yaml
//! title: Sunset timelapse
//! description: Shot on the ridge.
//! tags: [timelapse, sunset]
//! tiktok: { privacy: SELF_ONLY, branded_content: false }
//! youtube: { privacy: unlisted, category: "19" }
//! ```

mod sidecar;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::options::OptionValue;
pub use sidecar::{MetadataFile, SIDECAR_SUFFIX, Schema};

/// The fields every platform understands, as they are written in a sidecar.
pub const FIELDS: &[&str] = &["title", "description", "tags", "privacy", "ai_generated"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// The platforms' own options, by [`crate::options::PostOption::name`]. A platform reads
    /// only the names it declared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, OptionValue>,
}

impl Metadata {
    /// The one-text caption of platforms that have no separate title field (TikTok, Instagram):
    /// title, description and the tags as `#tag` words, in that order, blank parts left out and
    /// the parts separated by a blank line. Empty when all three are.
    pub fn caption(&self) -> String {
        let mut parts: Vec<String> = [&self.title, &self.description]
            .into_iter()
            .flatten()
            .filter(|t| !t.trim().is_empty())
            .cloned()
            .collect();
        if !self.tags.is_empty() {
            let tags: Vec<String> = self
                .tags
                .iter()
                .map(|t| format!("#{}", t.trim_start_matches('#').replace(' ', "")))
                .collect();
            parts.push(tags.join(" "));
        }
        parts.join("\n\n")
    }

    /// Fields and options set in `over` replace those in `self`.
    pub fn overridden_by(mut self, over: &Metadata) -> Metadata {
        macro_rules! take {
            ($($field:ident),*) => {$(
                if over.$field.is_some() { self.$field = over.$field.clone(); }
            )*};
        }
        take!(title, description, privacy, ai_generated);
        if !over.tags.is_empty() {
            self.tags = over.tags.clone();
        }
        for (name, value) in &over.options {
            self.options.insert(name.clone(), value.clone());
        }
        self
    }

    /// Sets option `name` (for library use and tests): `.with("made-for-kids", true)`.
    pub fn with(mut self, name: &str, value: impl Into<OptionValue>) -> Metadata {
        self.options.insert(name.to_owned(), value.into());
        self
    }

    /// A flag option: `Some(true)` when given, `Some(false)` when a sidecar said `false`.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.options.get(name) {
            Some(OptionValue::Flag(on)) => Some(*on),
            _ => None,
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        match self.options.get(name) {
            Some(OptionValue::Text(text)) => Some(text),
            _ => None,
        }
    }

    pub fn path(&self, name: &str) -> Option<&Path> {
        match self.options.get(name) {
            Some(OptionValue::Path(path)) => Some(path),
            _ => None,
        }
    }

    pub fn duration(&self, name: &str) -> Option<Duration> {
        match self.options.get(name) {
            Some(OptionValue::Duration(d)) => Some(*d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caption_joins_title_description_and_tags_leaving_blanks_out() {
        let metadata = Metadata {
            title: Some("Sunrise".into()),
            description: Some("  ".into()),
            tags: vec!["#time lapse".into(), "sky".into()],
            ..Metadata::default()
        };
        assert_eq!(metadata.caption(), "Sunrise\n\n#timelapse #sky");
        assert_eq!(Metadata::default().caption(), "");
    }
}
