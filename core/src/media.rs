//! What a video file is, read from its header.
//!
//! [`VideoFile::open`] recognises the container from the file's first bytes (never its name),
//! then reads only the few header structures it needs, seeking over everything else: a 4 GB
//! MP4 costs a few dozen small reads. Anything it cannot make sense of becomes either an
//! [`Error::input`] that says what is wrong with the file, or a field left at `None`; a
//! hostile or corrupt header never panics and never makes keryx allocate more than a few KiB.
//!
//! [`fingerprint`] hashes the whole file (the post ledger's identity of a video), and
//! [`synthetic`] writes valid MP4s of any size for tests, benchmarks and `keryx demo`.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

mod detect;
mod mp4;
mod reader;
pub mod synthetic;
mod webm;

#[cfg(test)]
mod tests;

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

    /// How the container is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            Container::Mp4 => "MP4",
            Container::QuickTime => "QuickTime (MOV)",
            Container::WebM => "WebM",
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The codec of the video track, as named in the container's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoCodec {
    H264,
    H265,
    Vp8,
    Vp9,
    Av1,
    /// Anything else, by the name the container gives it (an MP4 sample-entry code such as
    /// `mp4v`, or a Matroska codec id such as `V_THEORA`).
    Other(String),
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VideoCodec::H264 => f.write_str("H.264"),
            VideoCodec::H265 => f.write_str("H.265"),
            VideoCodec::Vp8 => f.write_str("VP8"),
            VideoCodec::Vp9 => f.write_str("VP9"),
            VideoCodec::Av1 => f.write_str("AV1"),
            VideoCodec::Other(name) => f.write_str(name),
        }
    }
}

/// Which structure of the file the duration was read from. Shown by `--dry-run --json`, so
/// that a duration a platform disputes can be traced to what keryx believed and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationSource {
    /// MP4 `mvhd`: the movie header of a file whose samples are all in `moov`.
    MovieHeader,
    /// MP4 `mdhd` (with `elst`): the tracks' own durations, when `mvhd` gives none.
    TrackHeaders,
    /// MP4 `mehd`: the whole duration of a fragmented file, written by its muxer.
    FragmentHeader,
    /// MP4 `sidx`: the segment index of a fragmented (DASH/CMAF) file.
    SegmentIndex,
    /// MP4 `moof`: the sample durations of every fragment, added up.
    Fragments,
    /// WebM `Info` → `Duration`.
    SegmentInfo,
    /// WebM without a Duration (a live recording): the timestamp of the last block.
    LastBlock,
}

impl DurationSource {
    /// A short stable name, for JSON output and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DurationSource::MovieHeader => "mvhd",
            DurationSource::TrackHeaders => "mdhd",
            DurationSource::FragmentHeader => "mehd",
            DurationSource::SegmentIndex => "sidx",
            DurationSource::Fragments => "moof",
            DurationSource::SegmentInfo => "webm_duration",
            DurationSource::LastBlock => "webm_last_block",
        }
    }
}

/// A video on disk, checked and probed. Never holds the file's bytes.
#[derive(Debug, Clone)]
pub struct VideoFile {
    pub path: PathBuf,
    pub size: u64,
    pub container: Container,
    /// `None` when the header does not say and cannot be worked out from the file's index;
    /// platforms with a maximum length refuse such a file rather than guess.
    pub duration: Option<Duration>,
    pub duration_source: Option<DurationSource>,
    /// Display width and height (after any rotation in the header).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The size of the encoded pictures, before rotation or aspect-ratio scaling.
    pub coded_width: Option<u32>,
    pub coded_height: Option<u32>,
    /// Degrees (0, 90, 180 or 270) a player turns the picture, counter-clockwise, as ffprobe
    /// reports it; `None` when the header's orientation is not a quarter turn.
    pub rotation: Option<u16>,
    /// Average frames per second of the video track, when the header says enough to tell.
    pub frame_rate: Option<f64>,
    pub video_codec: Option<VideoCodec>,
    /// The first sound track's codec, as the container names it (`AAC`, `Opus`, or a raw code).
    pub audio_codec: Option<String>,
    /// MP4/MOV: whether the index (`moov`) comes before the media data (the first `mdat`, or
    /// `moof` in a fragmented file), which lets a server start processing before the upload
    /// ends. `None` for WebM or without media data.
    pub moov_before_mdat: Option<bool>,
    /// MP4/MOV: whether a track has an edit list (`elst`) that changes what plays: it shifts
    /// the start (how ffmpeg hides B-frame delay and AAC priming), pauses, trims, changes speed
    /// or splices. Meta requires MP4s without edit lists (reference §4); a single edit that
    /// plays the whole track from its start at normal speed means the same as none, so it
    /// counts as `false`. `None` for WebM, which has no edit lists.
    pub edit_list: Option<bool>,
    /// MP4/MOV: samples in `moof`/`mdat` fragments (OBS, DASH/CMAF, `-movflags frag_keyframe`).
    pub fragmented: bool,
}

/// What a container parser learnt from the header; every field may be unknown.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Probe {
    pub duration: Option<Duration>,
    pub duration_source: Option<DurationSource>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub coded_width: Option<u32>,
    pub coded_height: Option<u32>,
    pub rotation: Option<u16>,
    pub frame_rate: Option<f64>,
    pub video_codec: Option<VideoCodec>,
    pub audio_codec: Option<String>,
    pub moov_before_mdat: Option<bool>,
    pub edit_list: Option<bool>,
    pub fragmented: bool,
}

/// Why a header could not be read. Turned into an [`Error::input`] naming the file by
/// [`VideoFile::open`]; kept separate so the parsers can be exercised on in-memory bytes.
#[derive(Debug)]
pub(crate) enum ProbeError {
    Io(io::Error),
    /// Not something keryx reads; the text says what it looks like instead.
    NotVideo {
        looks_like: String,
        hint: String,
    },
    /// A real MP4/MOV/WebM, but with no video track; the text says what it has instead.
    NoVideoTrack {
        has: String,
    },
    /// The header is damaged or cut short; the text says what and where.
    Corrupt {
        what: String,
        hint: String,
    },
}

impl From<io::Error> for ProbeError {
    fn from(err: io::Error) -> Self {
        ProbeError::Io(err)
    }
}

impl ProbeError {
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        ProbeError::Corrupt {
            what: what.into(),
            hint: "The file is damaged or was not completely written. Export or copy it again; \
                   if it plays to the end, re-muxing it may repair it: \
                   `ffmpeg -i IN -c copy OUT.mp4`."
                .into(),
        }
    }

    pub(crate) fn truncated(what: impl Into<String>) -> Self {
        ProbeError::Corrupt {
            what: what.into(),
            hint: "The file looks cut short, as if a copy, download or export did not finish. \
                   Copy or export it again."
                .into(),
        }
    }
}

/// Identifies the container and reads what the header says. `len` is the source's length.
pub(crate) fn probe_source<R: Read + Seek>(
    source: &mut R,
    len: u64,
) -> Result<(Container, Probe), ProbeError> {
    let mut src = reader::Source::new(source, len);
    match detect::detect(&mut src)? {
        detect::Kind::IsoBmff(container) => Ok((container, mp4::probe(&mut src)?)),
        detect::Kind::Ebml => Ok((Container::WebM, webm::probe(&mut src)?)),
    }
}

impl VideoFile {
    /// Checks that `path` is a readable, non-empty MP4/MOV/WebM and reads its header.
    pub fn open(path: &Path) -> Result<VideoFile> {
        let shown = path.display();
        let metadata = std::fs::metadata(path).map_err(|err| open_error(path, err))?;
        if metadata.is_dir() {
            return Err(
                Error::input(format!("{shown} is a directory, not a video file"))
                    .with_hint("Give the path of the video file itself."),
            );
        }
        if !metadata.is_file() {
            return Err(Error::input(format!(
                "{shown} is not a regular file (a device, socket or pipe?)"
            ))
            .with_hint("Give the path of a video file saved on disk."));
        }
        let mut file = File::open(path).map_err(|err| open_error(path, err))?;
        // The length of the open file, not of the path a moment ago: a file replaced in between
        // would otherwise be probed against the wrong size.
        let size = file.metadata().map_err(|err| open_error(path, err))?.len();
        if size == 0 {
            return Err(
                Error::input(format!("{shown} is empty (0 bytes)")).with_hint(
                    "The video may still be being exported or copied; wait for it to finish, \
                 or export it again.",
                ),
            );
        }
        let (container, probe) = probe_source(&mut file, size).map_err(|err| match err {
            ProbeError::Io(err) => Error::input(format!("cannot read {shown}"))
                .with_hint("Check that the file is readable and its disk is still there.")
                .with_source(err),
            ProbeError::NotVideo { looks_like, hint } => Error::input(format!(
                "{shown} is not a video keryx can read (expected MP4, MOV or WebM; \
                 the file starts like {looks_like})"
            ))
            .with_hint(hint),
            ProbeError::NoVideoTrack { has } => {
                Error::input(format!("{shown} has no video track ({has})"))
                    .with_hint("Give keryx the file with the video, not a sound-only export.")
            }
            ProbeError::Corrupt { what, hint } => {
                Error::input(format!("{shown} is not a readable video: {what}")).with_hint(hint)
            }
        })?;
        tracing::debug!(path = %shown, ?container, ?probe, size, "probed video");
        Ok(VideoFile {
            path: path.to_path_buf(),
            size,
            container,
            duration: probe.duration,
            duration_source: probe.duration_source,
            width: probe.width,
            height: probe.height,
            coded_width: probe.coded_width,
            coded_height: probe.coded_height,
            rotation: probe.rotation,
            frame_rate: probe.frame_rate,
            video_codec: probe.video_codec,
            audio_codec: probe.audio_codec,
            moov_before_mdat: probe.moov_before_mdat,
            edit_list: probe.edit_list,
            fragmented: probe.fragmented,
        })
    }

    /// Whether the displayed frame is at least as tall as it is wide (what YouTube needs to make
    /// a Short, and what TikTok shows full screen). `None` when the size is unknown.
    pub fn is_vertical_or_square(&self) -> Option<bool> {
        match (self.width, self.height) {
            (Some(w), Some(h)) if w > 0 && h > 0 => Some(h >= w),
            _ => None,
        }
    }

    /// The duration, for a platform that refuses videos longer than `limit`: a file whose
    /// length keryx cannot read is refused (exit 2) rather than let through as if it were
    /// short, with the remux that writes the length into the header.
    pub fn duration_for_limit(&self, platform: &str, limit: &str) -> Result<Duration> {
        if let Some(duration) = self.duration {
            return Ok(duration);
        }
        let (why, remux) = match self.container {
            Container::WebM => (
                "its header states no Duration and its last block could not be found",
                "ffmpeg -i IN.webm -c copy OUT.webm",
            ),
            _ if self.fragmented => (
                "it is a fragmented MP4 whose fragments could not all be read",
                "ffmpeg -i IN.mp4 -c copy -movflags +faststart OUT.mp4",
            ),
            _ => (
                "its header gives no duration",
                "ffmpeg -i IN.mp4 -c copy -movflags +faststart OUT.mp4",
            ),
        };
        Err(Error::input(format!(
            "cannot tell how long {} is ({why}); {platform} takes at most {limit}, so keryx \
             will not send it unchecked",
            self.path.display()
        ))
        .with_hint(format!(
            "Re-mux it without re-encoding so that the header states its length: `{remux}`, \
             then post OUT."
        )))
    }

    /// The lowercase hex SHA-256 of the whole file; see [`fingerprint`].
    pub async fn fingerprint(&self) -> Result<String> {
        fingerprint(&self.path).await
    }
}

fn open_error(path: &Path, err: io::Error) -> Error {
    let shown = path.display();
    match err.kind() {
        io::ErrorKind::NotFound => {
            let hint = match std::env::current_dir() {
                Ok(cwd) if path.is_relative() => format!(
                    "Check the path; relative paths start from the current directory, {}.",
                    cwd.display()
                ),
                _ => "Check the path.".to_string(),
            };
            Error::input(format!("{shown} does not exist")).with_hint(hint)
        }
        io::ErrorKind::PermissionDenied => {
            Error::input(format!("{shown} cannot be read: permission denied"))
                .with_hint("Check the file's permissions (`ls -l`), or copy it somewhere readable.")
        }
        _ => Error::input(format!("cannot open {shown}"))
            .with_hint("Check the path and that the file is readable.")
            .with_source(err),
    }
}

/// Blocks read per call while hashing: large enough that syscalls and task hand-offs vanish
/// next to the hashing, small enough to stay in L2/L3 cache.
const HASH_BLOCK: usize = 1 << 20;

/// The lowercase hex SHA-256 of the whole file at `path`, as the post ledger's identity of a
/// video. Streams the file in 1 MiB blocks on the blocking pool: memory stays flat whatever
/// the file's size, and the async runtime is never stalled.
///
/// Reading and hashing overlap: one thread reads the next block while another hashes the
/// previous one, so a cold file costs max(disk time, hash time) rather than their sum.
pub async fn fingerprint(path: &Path) -> Result<String> {
    let owned = path.to_path_buf();
    let joined = tokio::task::spawn_blocking(move || fingerprint_blocking(&owned)).await;
    match joined {
        Ok(result) => result,
        Err(err) => Err(Error::platform(format!(
            "hashing {} stopped unexpectedly",
            path.display()
        ))
        .with_source(err)),
    }
}

fn fingerprint_blocking(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::sync::mpsc;

    let mut file = File::open(path).map_err(|err| open_error(path, err))?;
    // Three buffers circulate: one being filled, one being hashed, one in flight. Buffers are
    // sent back for reuse so the whole hash allocates 3 MiB once.
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(2);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(3);
    for _ in 0..3 {
        // Cannot fail: the channel has room for exactly these three and the receiver is alive.
        let _ = empty_tx.send(vec![0u8; HASH_BLOCK]);
    }
    let hasher = std::thread::Builder::new()
        .name("keryx-hash".into())
        .spawn(move || {
            let mut hasher = Sha256::new();
            for (buf, n) in full_rx {
                hasher.update(&buf[..n]);
                // The reader may have stopped (error or end); a failed return is fine.
                let _ = empty_tx.send(buf);
            }
            hasher.finalize()
        })
        .map_err(|err| {
            Error::platform("cannot start a thread to hash the video").with_source(err)
        })?;

    let read_result = (|| -> io::Result<()> {
        while let Ok(mut buf) = empty_rx.recv() {
            let n = read_full(&mut file, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            if full_tx.send((buf, n)).is_err() {
                return Ok(());
            }
        }
        Ok(())
    })();
    // Closing the channel ends the hasher's loop.
    drop(full_tx);
    let digest = hasher
        .join()
        .map_err(|_| Error::platform(format!("hashing {} failed", path.display())))?;
    read_result.map_err(|err| {
        Error::input(format!("cannot read {} while hashing it", path.display()))
            .with_hint("Check that the file is still there and readable.")
            .with_source(err)
    })?;
    Ok(hex::encode(digest))
}

/// Fills `buf` as far as the file allows; fewer bytes only at the end of the file.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}
