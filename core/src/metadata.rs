//! What to say about a video, in words every platform understands.
//!
//! One vocabulary for all platforms: a platform uses the fields it has and refuses, in
//! `prepare`, a field it cannot honour. The sidecar file (`VIDEO.keryx.yaml`) and the CLI flags
//! both fill this struct; per-platform sections of the sidecar override the shared fields.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
