//! `VideoFile::open` on real files made by ffmpeg (core/tests/fixtures, see README there),
//! on damaged copies of them, and on things that are not videos.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keryx_core::ErrorKind;
use keryx_core::media::{Container, DurationSource, VideoCodec, VideoFile};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn open(name: &str) -> VideoFile {
    match VideoFile::open(&fixture(name)) {
        Ok(video) => video,
        Err(err) => panic!("{name}: {err} ({:?})", err.hint()),
    }
}

/// The error message and hint for a file that must be refused as bad input.
fn refused(path: &Path) -> (String, String) {
    match VideoFile::open(path) {
        Ok(video) => panic!("{} was accepted: {video:?}", path.display()),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::Input, "{err}");
            assert_eq!(err.exit_code(), 2);
            eprintln!("{err}\n  hint: {:?}", err.hint());
            (err.to_string(), err.hint().unwrap_or_default().to_string())
        }
    }
}

/// Writes `bytes` to a file in a fresh temporary directory (kept alive by the returned guard).
fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn assert_one_second(video: &VideoFile) {
    let duration = video.duration.expect("duration");
    assert!(
        duration.abs_diff(Duration::from_secs(1)) <= Duration::from_millis(20),
        "{duration:?}"
    );
}

#[test]
fn mp4_with_moov_after_mdat() {
    let video = open("landscape.mp4");
    assert_eq!(video.container, Container::Mp4);
    assert_eq!(video.container.mime(), "video/mp4");
    assert_eq!(video.size, 2044);
    assert_one_second(&video);
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
    assert_eq!(video.is_vertical_or_square(), Some(false));
    assert_eq!(video.video_codec, Some(VideoCodec::H264));
    let fps = video.frame_rate.expect("frame rate");
    assert!((fps - 10.0).abs() < 0.01, "{fps}");
}

#[test]
fn mp4_with_faststart() {
    let video = open("landscape_faststart.mp4");
    assert_eq!(video.container, Container::Mp4);
    assert_one_second(&video);
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
}

#[test]
fn vertical_pixels() {
    let video = open("vertical.mp4");
    assert_eq!((video.width, video.height), (Some(48), Some(64)));
    assert_eq!(video.is_vertical_or_square(), Some(true));
}

#[test]
fn rotation_matrix_swaps_display_size() {
    // 64x48 pixels with a 90° display matrix (what phones write for portrait video).
    let video = open("rotated90.mp4");
    assert_eq!((video.width, video.height), (Some(48), Some(64)));
    assert_eq!(video.is_vertical_or_square(), Some(true));
    // 180° keeps the frame's shape.
    let video = open("rotated180.mp4");
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
}

#[test]
fn quicktime() {
    let video = open("landscape.mov");
    assert_eq!(video.container, Container::QuickTime);
    assert_eq!(video.container.mime(), "video/quicktime");
    assert_one_second(&video);
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
    assert_eq!(video.video_codec, Some(VideoCodec::H264));
}

#[test]
fn fragmented_mp4_duration_from_its_fragments() {
    // ffmpeg's `frag_keyframe+empty_moov` writes an empty initial movie (`mvhd` duration 0)
    // and no `mehd`: the duration is only in the fragments' sample tables.
    let video = open("fragmented.mp4");
    assert_eq!(video.container, Container::Mp4);
    assert!(video.fragmented);
    assert_eq!(video.moov_before_mdat, Some(true));
    assert_eq!(video.duration_source, Some(DurationSource::Fragments));
    assert_one_second(&video);
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
    let fps = video.frame_rate.expect("frame rate");
    assert!((fps - 10.0).abs() < 0.01, "{fps}");
}

#[test]
fn webm() {
    let video = open("landscape.webm");
    assert_eq!(video.container, Container::WebM);
    assert_eq!(video.container.mime(), "video/webm");
    assert_one_second(&video);
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
    assert_eq!(video.video_codec, Some(VideoCodec::Vp9));
    let fps = video.frame_rate.expect("frame rate");
    assert!((fps - 10.0).abs() < 0.01, "{fps}");
}

#[test]
fn live_webm_with_unknown_sizes() {
    // Written to a pipe: the Segment has an unknown size and there is no Duration; the last
    // block (0.9 s, 10 fps) ends at 1 s.
    let video = open("live.webm");
    assert_eq!(video.container, Container::WebM);
    assert_one_second(&video);
    assert_eq!(video.duration_source, Some(DurationSource::LastBlock));
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
    assert_eq!(video.video_codec, Some(VideoCodec::Vp8));
}

#[test]
fn mp4_with_64_bit_mdat_size() {
    // ffmpeg leaves an 8-byte `free` box before `mdat` so the header can grow to 64 bits;
    // do exactly that: `free`+`mdat` become one `mdat` with a `largesize`.
    let mut bytes = std::fs::read(fixture("landscape.mp4")).unwrap();
    assert_eq!(&bytes[36..40], b"free");
    assert_eq!(&bytes[44..48], b"mdat");
    let mdat_size = u32::from_be_bytes(bytes[40..44].try_into().unwrap());
    let mut header = Vec::new();
    header.extend_from_slice(&1u32.to_be_bytes());
    header.extend_from_slice(b"mdat");
    header.extend_from_slice(&(u64::from(mdat_size) + 8).to_be_bytes());
    bytes[32..48].copy_from_slice(&header);
    let (_dir, path) = temp_file("large.mp4", &bytes);
    let video = VideoFile::open(&path).unwrap();
    assert_one_second(&video);
    assert_eq!((video.width, video.height), (Some(64), Some(48)));
}

#[test]
fn mp4_with_mdat_running_to_end() {
    // Size 0 means "to the end of the file" (recorders that never came back to patch it).
    let mut bytes = std::fs::read(fixture("landscape_faststart.mp4")).unwrap();
    assert_eq!(&bytes[952..956], b"mdat");
    bytes[948..952].copy_from_slice(&0u32.to_be_bytes());
    let (_dir, path) = temp_file("to_end.mp4", &bytes);
    let video = VideoFile::open(&path).unwrap();
    assert_one_second(&video);
}

#[test]
fn truncated_copy_is_refused() {
    let bytes = std::fs::read(fixture("landscape_faststart.mp4")).unwrap();
    let (_dir, path) = temp_file("half.mp4", &bytes[..1500]);
    let (message, hint) = refused(&path);
    assert!(message.contains("half.mp4"), "{message}");
    assert!(message.contains("`mdat` box at byte 948"), "{message}");
    assert!(hint.contains("cut short"), "{hint}");
}

#[test]
fn mp4_without_moov_is_refused() {
    // moov comes last in this file: cut it off and only ftyp, free and mdat remain.
    let bytes = std::fs::read(fixture("landscape.mp4")).unwrap();
    let (_dir, path) = temp_file("no_moov.mp4", &bytes[..1136]);
    let (message, _) = refused(&path);
    assert!(message.contains("no `moov` box"), "{message}");
}

#[test]
fn truncated_webm_is_refused() {
    let bytes = std::fs::read(fixture("landscape.webm")).unwrap();
    let (_dir, path) = temp_file("half.webm", &bytes[..1000]);
    let (message, hint) = refused(&path);
    assert!(message.contains("half.webm"), "{message}");
    assert!(
        message.contains("its Segment at byte 36 needs 2026 bytes"),
        "{message}"
    );
    assert!(hint.contains("cut short"), "{hint}");
}

#[test]
fn matroska_is_named_and_remux_suggested() {
    let (message, hint) = refused(&fixture("landscape.mkv"));
    assert!(
        message.contains("is not a video keryx can read"),
        "{message}"
    );
    assert!(message.contains("expected MP4, MOV or WebM"), "{message}");
    assert!(message.contains("Matroska (MKV)"), "{message}");
    assert!(hint.contains("-c copy"), "{hint}");
}

#[test]
fn png_renamed_to_mp4_is_refused_by_content() {
    let bytes = std::fs::read(fixture("image.png")).unwrap();
    let (_dir, path) = temp_file("holiday.mp4", &bytes);
    let (message, _) = refused(&path);
    assert!(message.contains("holiday.mp4"), "{message}");
    assert!(
        message.contains("the file starts like a PNG image"),
        "{message}"
    );
}

#[test]
fn text_file_is_quoted() {
    let (message, _) = refused(&fixture("notes.txt"));
    assert!(
        message.contains("notes.txt is not a video keryx can read"),
        "{message}"
    );
    assert!(
        message.contains("text: \"title: not a video\""),
        "{message}"
    );
}

#[test]
fn binary_garbage_shows_its_first_bytes() {
    let (_dir, path) = temp_file("noise.bin", &[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5]);
    let (message, _) = refused(&path);
    assert!(
        message.contains("bytes de ad be ef 00 01 02 03"),
        "{message}"
    );
}

#[test]
fn audio_only_mp4_is_refused() {
    // An MP4 whose only track is sound: rewrite the video handler to `soun`.
    let mut bytes = std::fs::read(fixture("landscape_faststart.mp4")).unwrap();
    let at = bytes.windows(4).position(|w| w == b"vide").unwrap();
    bytes[at..at + 4].copy_from_slice(b"soun");
    let (_dir, path) = temp_file("song.mp4", &bytes);
    let (message, _) = refused(&path);
    assert!(
        message.contains("song.mp4 has no video track (only sound)"),
        "{message}"
    );
}

#[test]
fn audio_only_webm_is_refused() {
    // TrackType (0x83, one byte) 1 = video becomes 2 = audio.
    let mut bytes = std::fs::read(fixture("landscape.webm")).unwrap();
    assert_eq!(&bytes[312..315], &[0x83, 0x81, 0x01]);
    bytes[314] = 2;
    let (_dir, path) = temp_file("song.webm", &bytes);
    let (message, _) = refused(&path);
    assert!(
        message.contains("song.webm has no video track"),
        "{message}"
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.mp4");
    let (message, hint) = refused(&path);
    assert!(message.contains("nope.mp4 does not exist"), "{message}");
    assert!(hint.contains("Check the path"), "{hint}");

    let (message, hint) = refused(Path::new("surely/not/here.mp4"));
    assert!(
        message.contains("surely/not/here.mp4 does not exist"),
        "{message}"
    );
    assert!(hint.contains("relative paths start from"), "{hint}");
}

#[test]
fn directory() {
    let dir = tempfile::tempdir().unwrap();
    let (message, _) = refused(dir.path());
    assert!(message.contains("is a directory"), "{message}");
}

#[test]
fn empty_file() {
    let (_dir, path) = temp_file("empty.mp4", b"");
    let (message, hint) = refused(&path);
    assert!(
        message.contains("empty.mp4 is empty (0 bytes)"),
        "{message}"
    );
    assert!(hint.contains("still be being exported or copied"), "{hint}");
}

#[cfg(unix)]
#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_file("locked.mp4", b"whatever");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_ok() {
        // Running as root: permissions do not apply, nothing to test.
        return;
    }
    let (message, hint) = refused(&path);
    assert!(message.contains("permission denied"), "{message}");
    assert!(hint.contains("permissions"), "{hint}");
}

#[test]
fn shipped_sample_is_a_valid_vertical_reel() {
    // assets/sample.mp4 is what `keryx demo` posts: it must pass every platform's checks.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/sample.mp4");
    let video = VideoFile::open(&path).unwrap();
    assert_eq!(video.container, Container::Mp4);
    assert_eq!(video.video_codec, Some(VideoCodec::H264));
    assert_eq!((video.width, video.height), (Some(720), Some(1280)));
    assert_eq!(video.is_vertical_or_square(), Some(true));
    assert_eq!(video.duration, Some(Duration::from_secs(3)));
    let fps = video.frame_rate.expect("frame rate");
    assert!((fps - 30.0).abs() < 0.01, "{fps}");
    assert!(video.size <= 300_000, "{} bytes", video.size);
    // Faststart: the index comes before the media data.
    let bytes = std::fs::read(&path).unwrap();
    let at = |kind: &[u8]| bytes.windows(4).position(|w| w == kind).unwrap();
    assert!(at(b"moov") < at(b"mdat"));
}
