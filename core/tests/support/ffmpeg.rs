//! ffmpeg and ffprobe for tests that need real files the way tools write them: made at test
//! time, tiny (64x48, a frame a second, a few KiB), and measured by ffprobe as the reference
//! keryx's probe must agree with.
//!
//! Without ffmpeg the tests skip loudly; under `CI=true` (where .ci/run installs it) they fail.
//! Depends only on `std` and `serde_json`, so the end-to-end suite includes it too.
//!
//! ```ignore
//! let Some(ff) = Ffmpeg::find("my_test") else { return };
//! ff.make(&out, &["-f", "lavfi", "-i", "testsrc=size=64x48:rate=1:duration=5"]);
//! ```

#![allow(dead_code)] // Each test binary that includes this uses a different part of it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// x264 at its cheapest, keyframes every 4 frames so that fragments are many and small.
pub const X264: &[&str] = &[
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    "-preset",
    "ultrafast",
    "-crf",
    "45",
    "-g",
    "4",
];

/// `frag_keyframe+empty_moov`: what OBS's "Fragmented MP4" and browser recorders write.
pub const FRAGMENTED: &[&str] = &["-movflags", "frag_keyframe+empty_moov"];

pub struct Ffmpeg {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
}

/// What ffprobe reads from a file, for comparison with keryx's probe.
#[derive(Debug)]
pub struct Reference {
    /// The container's duration, or (when the container states none, as in a live WebM) the
    /// end of the last packet minus the start of the first.
    pub duration: f64,
    pub width: u32,
    pub height: u32,
    /// Display-matrix rotation, counter-clockwise degrees normalised to 0..360.
    pub rotation: u16,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    /// Frames per second of the video stream (`avg_frame_rate`), for "half a frame".
    pub frame_rate: f64,
}

impl Ffmpeg {
    /// Both tools, or `None` after a loud SKIP message naming `test`. Panics under `CI=true`.
    pub fn find(test: &str) -> Option<Ffmpeg> {
        match (which("ffmpeg"), which("ffprobe")) {
            (Some(ffmpeg), Some(ffprobe)) => Some(Ffmpeg { ffmpeg, ffprobe }),
            _ => {
                let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
                let message = format!(
                    "!!! SKIPPED {test}: ffmpeg and ffprobe are not both on PATH. Install them \
                     (Debian/Ubuntu: `apt-get install ffmpeg`) to run it."
                );
                if ci {
                    panic!("{message} (CI=true, so this is a failure; .ci/run installs ffmpeg)");
                }
                eprintln!("\n{message}\n");
                None
            }
        }
    }

    /// Runs `ffmpeg -y -loglevel error ARGS... OUT`; panics with ffmpeg's words if it fails.
    pub fn make(&self, out: &Path, args: &[&str]) {
        let output = Command::new(&self.ffmpeg)
            .args(["-nostdin", "-y", "-loglevel", "error"])
            .args(args)
            .arg(out)
            .output()
            .expect("run ffmpeg");
        assert!(
            output.status.success(),
            "ffmpeg {args:?} {} failed: {}",
            out.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A test pattern of `seconds` at `fps`, `size` (e.g. "64x48"), with the given codec and
    /// muxer arguments appended: the cheapest real video there is.
    pub fn video(&self, out: &Path, size: &str, fps: u32, seconds: f64, extra: &[&str]) {
        let source = format!("testsrc=size={size}:rate={fps}:duration={seconds}");
        let mut args = vec!["-f", "lavfi", "-i", &source];
        args.extend_from_slice(extra);
        self.make(out, &args);
    }

    /// What ffprobe reads from `path`.
    pub fn reference(&self, path: &Path) -> Reference {
        let info = self.ffprobe_json(
            path,
            &[
                "-show_format",
                "-show_streams",
                "-show_entries",
                "stream_side_data=rotation",
            ],
        );
        let streams = info["streams"].as_array().cloned().unwrap_or_default();
        let video = streams
            .iter()
            .find(|s| s["codec_type"] == "video")
            .unwrap_or_else(|| panic!("ffprobe finds no video stream in {}", path.display()));
        let audio = streams.iter().find(|s| s["codec_type"] == "audio");
        let rotation = video["side_data_list"]
            .as_array()
            .and_then(|list| list.iter().find_map(|d| d["rotation"].as_f64()))
            .unwrap_or(0.0);
        let duration = match info["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse::<f64>().ok())
        {
            Some(d) => d,
            None => self.packet_span(path),
        };
        Reference {
            duration,
            width: video["width"].as_u64().unwrap_or(0) as u32,
            height: video["height"].as_u64().unwrap_or(0) as u32,
            rotation: rotation.rem_euclid(360.0).round() as u16 % 360,
            video_codec: video["codec_name"].as_str().unwrap_or("").to_string(),
            audio_codec: audio.and_then(|a| a["codec_name"].as_str().map(str::to_string)),
            frame_rate: rate(video["avg_frame_rate"].as_str())
                .or_else(|| rate(video["r_frame_rate"].as_str()))
                .unwrap_or(0.0),
        }
    }

    /// The latest packet end minus the earliest packet start, across streams.
    fn packet_span(&self, path: &Path) -> f64 {
        let info = self.ffprobe_json(path, &["-show_entries", "packet=pts_time,duration_time"]);
        let mut start = f64::INFINITY;
        let mut end = f64::NEG_INFINITY;
        for packet in info["packets"].as_array().into_iter().flatten() {
            let number = |key: &str| packet[key].as_str().and_then(|v| v.parse::<f64>().ok());
            if let Some(pts) = number("pts_time") {
                start = start.min(pts);
                end = end.max(pts + number("duration_time").unwrap_or(0.0));
            }
        }
        assert!(
            end > start,
            "ffprobe reads no packets in {}",
            path.display()
        );
        end - start
    }

    fn ffprobe_json(&self, path: &Path, args: &[&str]) -> serde_json::Value {
        let output = Command::new(&self.ffprobe)
            .args(["-v", "error", "-of", "json"])
            .args(args)
            .arg(path)
            .output()
            .expect("run ffprobe");
        assert!(
            output.status.success(),
            "ffprobe {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("ffprobe JSON")
    }
}

fn rate(text: Option<&str>) -> Option<f64> {
    let (num, den) = text?.split_once('/')?;
    let (num, den): (f64, f64) = (num.parse().ok()?, den.parse().ok()?);
    (num > 0.0 && den > 0.0).then_some(num / den)
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}
