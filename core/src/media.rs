//! What a video file is, read from its header. (Stub: the API is the contract.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// Containers keryx recognises from a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    QuickTime,
    WebM,
}

impl Container {
    /// The MIME type platforms expect for this container.
    pub fn mime(self) -> &'static str {
        match self {
            Container::Mp4 => "video/mp4",
            Container::QuickTime => "video/quicktime",
            Container::WebM => "video/webm",
        }
    }
}

/// A video on disk, checked and probed. Never holds the file's bytes.
#[derive(Debug, Clone)]
pub struct VideoFile {
    pub path: PathBuf,
    pub size: u64,
    pub container: Container,
    pub duration: Option<Duration>,
    /// Display width and height (after any rotation in the header).
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl VideoFile {
    /// Checks that `path` is a readable, non-empty MP4/MOV/WebM and reads its header.
    pub fn open(path: &Path) -> Result<VideoFile> {
        Err(Error::input(format!("{}: cannot read videos yet", path.display())))
    }
}
