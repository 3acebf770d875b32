//! `VideoFile::open` on files ffmpeg writes at test time the way real tools do (fragmented,
//! DASH-indexed, edit-listed, rotated, live-recorded WebM, over 4 GiB), each compared with what
//! ffprobe reads from the same file: the duration within half a frame, the sizes and rotation
//! exactly. Needs ffmpeg and ffprobe; without them the tests skip loudly (fail under CI=true).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keryx_core::media::{Container, DurationSource, VideoCodec, VideoFile};

#[path = "support/ffmpeg.rs"]
mod ffmpeg;
use ffmpeg::{FRAGMENTED, Ffmpeg, Reference, X264};

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn args<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

fn open(path: &Path) -> VideoFile {
    match VideoFile::open(path) {
        Ok(video) => video,
        Err(err) => panic!("{}: {err} ({:?})", path.display(), err.hint()),
    }
}

/// Opens `path` and checks keryx's reading against ffprobe's; returns both.
fn agrees_with_ffprobe(ff: &Ffmpeg, path: &Path) -> (VideoFile, Reference) {
    let video = open(path);
    let reference = ff.reference(path);
    eprintln!(
        "{}: keryx {video:?}\n  ffprobe {reference:?}",
        path.display()
    );
    let duration = video
        .duration
        .unwrap_or_else(|| panic!("{}: no duration read", path.display()))
        .as_secs_f64();
    let half_frame = 0.5 / reference.frame_rate;
    assert!(
        (duration - reference.duration).abs() <= half_frame,
        "{}: keryx reads {duration} s, ffprobe {} s (half a frame is {half_frame} s)",
        path.display(),
        reference.duration
    );
    let (w, h) = (reference.width, reference.height);
    assert_eq!((video.coded_width, video.coded_height), (Some(w), Some(h)));
    let displayed = if reference.rotation % 180 == 90 {
        (h, w)
    } else {
        (w, h)
    };
    assert_eq!(
        (video.width, video.height),
        (Some(displayed.0), Some(displayed.1))
    );
    assert_eq!(video.rotation, Some(reference.rotation));
    let codec = match &video.video_codec {
        Some(VideoCodec::H264) => "h264",
        Some(VideoCodec::H265) => "hevc",
        Some(VideoCodec::Vp8) => "vp8",
        Some(VideoCodec::Vp9) => "vp9",
        Some(VideoCodec::Av1) => "av1",
        other => panic!("unexpected codec {other:?}"),
    };
    assert_eq!(codec, reference.video_codec);
    assert_eq!(
        video.audio_codec.as_deref().map(str::to_lowercase),
        reference.audio_codec.clone()
    );
    (video, reference)
}

#[test]
fn fragmented_short_vertical() {
    let Some(ff) = Ffmpeg::find("fragmented_short_vertical") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("short.mp4");
    ff.video(&path, "48x64", 1, 12.0, &args(&[X264, FRAGMENTED]));
    let (video, _) = agrees_with_ffprobe(&ff, &path);
    assert!(video.fragmented);
    assert_eq!(video.moov_before_mdat, Some(true));
    assert_eq!(video.duration_source, Some(DurationSource::Fragments));
    assert_eq!(video.is_vertical_or_square(), Some(true));
    let fps = video.frame_rate.expect("frame rate from the fragments");
    assert!((fps - 1.0).abs() < 0.01, "{fps}");
}

/// 200 s of 1 fps video and 8 kHz sound: the sound runs 0.128 s longer, as ffprobe says.
fn long_with_sound(ff: &Ffmpeg, path: &Path, movflags: &str) {
    let source = "testsrc=size=64x48:rate=1:duration=200";
    let sound = "sine=duration=200:sample_rate=8000";
    let mut all = vec!["-f", "lavfi", "-i", source, "-f", "lavfi", "-i", sound];
    all.extend_from_slice(X264);
    all.extend_from_slice(&["-c:a", "aac", "-b:a", "8k", "-movflags", movflags]);
    ff.make(path, &all);
}

#[test]
fn fragmented_long_with_sound() {
    let Some(ff) = Ffmpeg::find("fragmented_long_with_sound") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("long.mp4");
    long_with_sound(&ff, &path, "frag_keyframe+empty_moov");
    let (video, _) = agrees_with_ffprobe(&ff, &path);
    assert!(video.fragmented);
    assert_eq!(video.duration_source, Some(DurationSource::Fragments));
    assert!(video.duration.unwrap() > Duration::from_secs(200));
    assert_eq!(video.audio_codec.as_deref(), Some("AAC"));
}

#[test]
fn fragmented_with_a_global_segment_index() {
    let Some(ff) = Ffmpeg::find("fragmented_with_a_global_segment_index") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("sidx.mp4");
    long_with_sound(&ff, &path, "frag_keyframe+empty_moov+global_sidx");
    let (video, _) = agrees_with_ffprobe(&ff, &path);
    assert_eq!(video.duration_source, Some(DurationSource::SegmentIndex));
    assert_eq!(video.moov_before_mdat, Some(true));
    assert!(video.fragmented);
}

#[test]
fn a_segment_index_that_points_astray_is_not_trusted() {
    // The first `sidx`'s first reference made 100 bytes too long: stepping over the fragments
    // it claims would land mid-box, so keryx reads the fragments themselves instead.
    let Some(ff) = Ffmpeg::find("a_segment_index_that_points_astray_is_not_trusted") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("sidx.mp4");
    long_with_sound(&ff, &path, "frag_keyframe+empty_moov+global_sidx");
    let mut bytes = std::fs::read(&path).unwrap();
    let sidx = bytes.windows(4).position(|w| w == b"sidx").unwrap() - 4;
    // Version 1: the references start 40 bytes into the box; 31 bits of size.
    assert_eq!(bytes[sidx + 8], 1);
    let at = sidx + 40;
    let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    bytes[at..at + 4].copy_from_slice(&(size + 100).to_be_bytes());
    let astray = dir.path("astray.mp4");
    std::fs::write(&astray, &bytes).unwrap();
    let (video, _) = agrees_with_ffprobe(&ff, &astray);
    assert_eq!(video.duration_source, Some(DurationSource::Fragments));

    // An index claiming fragments past the end of the file: the file was cut short.
    let cut = dir.path("cut.mp4");
    let moof = bytes.windows(4).position(|w| w == b"moof").unwrap() - 4;
    std::fs::write(&cut, &std::fs::read(&path).unwrap()[..moof + 2000]).unwrap();
    let err = VideoFile::open(&cut).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("cut.mp4"), "{err}");
}

#[test]
fn dash_segments_each_with_their_index() {
    let Some(ff) = Ffmpeg::find("dash_segments_each_with_their_index") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("dash.mp4");
    long_with_sound(&ff, &path, "dash");
    let (video, _) = agrees_with_ffprobe(&ff, &path);
    assert_eq!(video.duration_source, Some(DurationSource::SegmentIndex));
}

#[test]
fn fragmented_with_samples_in_moov_too() {
    // `frag_keyframe` without `empty_moov`: the first fragment's samples sit in `moov`, and
    // `mvhd` covers only them.
    let Some(ff) = Ffmpeg::find("fragmented_with_samples_in_moov_too") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("first_in_moov.mp4");
    long_with_sound(&ff, &path, "frag_keyframe");
    let (video, _) = agrees_with_ffprobe(&ff, &path);
    assert!(video.fragmented);
    assert!(video.duration.unwrap() > Duration::from_secs(200));
}

#[test]
fn fragmented_with_b_frames_counts_composition_offsets() {
    // B-frames without an edit list: the first picture shows 2 frames late, as ffprobe says.
    let Some(ff) = Ffmpeg::find("fragmented_with_b_frames_counts_composition_offsets") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("bframes.mp4");
    let codec = [
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-bf", "2", "-g", "10",
        "-crf", "45",
    ];
    ff.video(&path, "64x48", 5, 10.0, &args(&[&codec, FRAGMENTED]));
    agrees_with_ffprobe(&ff, &path);
}

#[test]
fn edit_lists_shift_and_trim() {
    let Some(ff) = Ffmpeg::find("edit_lists_shift_and_trim") else {
        return;
    };
    let dir = Scratch::new();
    let whole = dir.path("whole.mp4");
    let codec = [
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-bf", "2", "-g", "10",
        "-crf", "45",
    ];
    ff.video(&whole, "64x48", 5, 10.0, &codec);
    // A cut without re-encoding starts between keyframes: the edit list hides the lead-in.
    let cut = dir.path("cut.mp4");
    let whole_arg = whole.to_str().unwrap();
    ff.make(&cut, &["-ss", "2.3", "-i", whole_arg, "-c", "copy"]);
    let (video, reference) = agrees_with_ffprobe(&ff, &cut);
    assert!((reference.duration - 7.7).abs() < 0.01, "{reference:?}");
    assert_eq!(video.duration_source, Some(DurationSource::MovieHeader));
    // The same cut, fragmented.
    let cut_fragmented = dir.path("cut_fragmented.mp4");
    ff.make(
        &cut_fragmented,
        &args(&[&["-ss", "2.3", "-i", whole_arg, "-c", "copy"], FRAGMENTED]),
    );
    agrees_with_ffprobe(&ff, &cut_fragmented);
    // Started late: an empty edit delays the picture by a second.
    let delayed = dir.path("delayed.mp4");
    ff.make(
        &delayed,
        &["-itsoffset", "1", "-i", whole_arg, "-c", "copy"],
    );
    agrees_with_ffprobe(&ff, &delayed);
}

#[test]
fn edit_lists_meta_objects_to_and_the_remux_that_removes_them() {
    // What ffmpeg writes by default: no B-frames and no sound gives one edit over the whole
    // track (nothing changes); B-frames and AAC priming give a shift. The remux that keryx's
    // Instagram warning names removes both, and moves `moov` first.
    let Some(ff) = Ffmpeg::find("edit_lists_meta_objects_to_and_the_remux_that_removes_them")
    else {
        return;
    };
    let dir = Scratch::new();
    let plain = dir.path("plain.mp4");
    ff.video(&plain, "64x48", 5, 4.0, X264);
    let (video, _) = agrees_with_ffprobe(&ff, &plain);
    assert_eq!(video.edit_list, Some(false));
    let b_frames = dir.path("bframes.mp4");
    let codec = [
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-bf", "2", "-g", "10",
        "-crf", "45",
    ];
    ff.video(&b_frames, "64x48", 5, 4.0, &codec);
    let (video, _) = agrees_with_ffprobe(&ff, &b_frames);
    assert_eq!(video.edit_list, Some(true));
    let sound = dir.path("sound.mp4");
    let mut all = vec!["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=4"];
    all.extend_from_slice(&["-f", "lavfi", "-i", "sine=duration=4:sample_rate=8000"]);
    all.extend_from_slice(X264);
    all.extend_from_slice(&["-c:a", "aac", "-b:a", "8k"]);
    ff.make(&sound, &all);
    let (video, _) = agrees_with_ffprobe(&ff, &sound);
    assert_eq!(
        (video.edit_list, video.moov_before_mdat),
        (Some(true), Some(false))
    );
    for input in [&b_frames, &sound] {
        let fixed = dir.path("fixed.mp4");
        let remux = [
            "-i",
            input.to_str().unwrap(),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
        ];
        ff.make(&fixed, &args(&[&remux, &["-use_editlist", "0"]]));
        let video = open(&fixed);
        assert_eq!(
            (video.edit_list, video.moov_before_mdat),
            (Some(false), Some(true)),
            "{}",
            input.display()
        );
    }
}

#[test]
fn rotation_in_the_display_matrix() {
    let Some(ff) = Ffmpeg::find("rotation_in_the_display_matrix") else {
        return;
    };
    let dir = Scratch::new();
    let plain = dir.path("plain.mp4");
    ff.video(&plain, "64x48", 1, 3.0, X264);
    for degrees in ["90", "180", "270"] {
        for fragmented in [false, true] {
            let path = dir.path(&format!("rotated{degrees}_{fragmented}.mp4"));
            let rotate = format!("rotate={degrees}");
            let mut all = vec!["-i", plain.to_str().unwrap(), "-c", "copy"];
            all.extend_from_slice(&["-metadata:s:v:0", &rotate]);
            if fragmented {
                all.extend_from_slice(FRAGMENTED);
            }
            ff.make(&path, &all);
            let (video, reference) = agrees_with_ffprobe(&ff, &path);
            assert_ne!(reference.rotation, 0, "ffmpeg wrote no rotation");
            assert_eq!(
                video.is_vertical_or_square(),
                Some(reference.rotation % 180 == 90)
            );
        }
    }
}

#[test]
fn webm_with_and_without_a_duration() {
    let Some(ff) = Ffmpeg::find("webm_with_and_without_a_duration") else {
        return;
    };
    let dir = Scratch::new();
    let vp9 = [
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "20k",
        "-g",
        "10",
    ];
    let with = dir.path("with.webm");
    ff.video(&with, "64x48", 2, 30.0, &vp9);
    let (video, _) = agrees_with_ffprobe(&ff, &with);
    assert_eq!(video.container, Container::WebM);
    assert_eq!(video.duration_source, Some(DurationSource::SegmentInfo));
    // The same with its Duration turned into a Void element (what a recorder that reserved
    // room for it but crashed leaves): Cues and sized Clusters, no Duration.
    let mut bytes = std::fs::read(&with).unwrap();
    let at = bytes
        .windows(3)
        .position(|w| w == [0x44, 0x89, 0x88])
        .expect("an 8-byte Duration");
    // ID 0x4489, size 8, 8 bytes -> Void (0xEC), size 9, 9 bytes: the same 11 bytes.
    bytes[at..at + 2].copy_from_slice(&[0xEC, 0x89]);
    let voided = dir.path("voided.webm");
    std::fs::write(&voided, &bytes).unwrap();
    let (video, _) = agrees_with_ffprobe(&ff, &voided);
    assert_eq!(video.duration_source, Some(DurationSource::LastBlock));
    // Written to a pipe, as a live recorder does: no Duration, no Cues, sizes unknown. With
    // Opus sound (20 ms packets), which runs a few milliseconds past the last picture.
    let live = dir.path("live.webm");
    let sound = "sine=duration=30:sample_rate=48000";
    let opus = ["-f", "lavfi", "-i", sound, "-c:a", "libopus", "-b:a", "8k"];
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=64x48:rate=2:duration=30 \
             {} {} -f webm pipe:1 > '{}'",
            opus.join(" "),
            vp9.join(" "),
            live.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let (video, _) = agrees_with_ffprobe(&ff, &live);
    assert_eq!(video.duration_source, Some(DurationSource::LastBlock));
    assert_eq!(video.audio_codec.as_deref(), Some("Opus"));
}

#[test]
fn truncated_fragmented_file_is_refused() {
    let Some(ff) = Ffmpeg::find("truncated_fragmented_file_is_refused") else {
        return;
    };
    let dir = Scratch::new();
    let path = dir.path("whole.mp4");
    ff.video(&path, "64x48", 1, 40.0, &args(&[X264, FRAGMENTED]));
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = VideoFile::open(&cut).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let message = err.to_string();
    assert!(message.contains("cut.mp4"), "{message}");
    assert!(message.contains("needs"), "{message}");
    assert!(err.hint().unwrap().contains("cut short"), "{err:?}");
}

/// Rewrites `stco` (32-bit chunk offsets) as `co64` and grows the boxes that contain it.
fn stco_to_co64(moov: &[u8]) -> Vec<u8> {
    fn walk(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 8 <= bytes.len() {
            let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = bytes[at + 4..at + 8].try_into().unwrap();
            let body = &bytes[at + 8..at + size];
            let new_body = match &kind {
                b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => walk(body),
                b"stco" => {
                    let count = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                    let mut b = body[..8].to_vec();
                    for i in 0..count {
                        let at = 8 + i * 4;
                        let offset = u32::from_be_bytes(body[at..at + 4].try_into().unwrap());
                        b.extend_from_slice(&u64::from(offset).to_be_bytes());
                    }
                    b
                }
                _ => body.to_vec(),
            };
            let kind = if &kind == b"stco" { *b"co64" } else { kind };
            out.extend_from_slice(&((new_body.len() + 8) as u32).to_be_bytes());
            out.extend_from_slice(&kind);
            out.extend_from_slice(&new_body);
            at += size;
        }
        out
    }
    walk(moov)
}

#[test]
fn over_4_gib_with_co64_and_a_64_bit_mdat() {
    // What a long camera recording looks like: `mdat` over 4 GiB (64-bit size) and `moov`
    // after it with 64-bit chunk offsets. Built from a small real file: its media stays at the
    // start of the `mdat`, the rest is a hole, so the file costs no disk.
    let Some(ff) = Ffmpeg::find("over_4_gib_with_co64_and_a_64_bit_mdat") else {
        return;
    };
    let dir = Scratch::new();
    let small = dir.path("small.mp4");
    ff.video(&small, "64x48", 1, 5.0, X264);
    let bytes = std::fs::read(&small).unwrap();
    let find = |kind: &[u8]| bytes.windows(4).position(|w| w == kind).unwrap() - 4;
    let (free, mdat, moov) = (find(b"free"), find(b"mdat"), find(b"moov"));
    assert_eq!(
        free + 8,
        mdat,
        "ffmpeg leaves an 8-byte `free` before `mdat`"
    );
    assert!(moov > mdat, "ffmpeg writes `moov` last without +faststart");
    let media = &bytes[mdat + 8..moov];
    let hole: u64 = 4 * (1 << 30) + 12_345;
    let mdat_size = 16 + media.len() as u64 + hole;
    let big = dir.path("big.mp4");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::File::create(&big).unwrap();
        file.write_all(&bytes[..free]).unwrap();
        // `free` + `mdat` headers (16 bytes) become one 64-bit `mdat` header: offsets hold.
        file.write_all(&1u32.to_be_bytes()).unwrap();
        file.write_all(b"mdat").unwrap();
        file.write_all(&mdat_size.to_be_bytes()).unwrap();
        file.write_all(media).unwrap();
        file.seek(SeekFrom::Start(free as u64 + mdat_size)).unwrap();
        file.write_all(&stco_to_co64(&bytes[moov..])).unwrap();
    }
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 4 << 30, "{size}");
    let started = Instant::now();
    let video = open(&big);
    let elapsed = started.elapsed();
    eprintln!("probed a {size}-byte file in {elapsed:?}");
    assert!(elapsed < Duration::from_millis(200), "{elapsed:?}");
    assert_eq!(video.size, size);
    assert_eq!(video.moov_before_mdat, Some(false));
    assert!(!video.fragmented);
    agrees_with_ffprobe(&ff, &big);
}

/// The top-level boxes of `bytes`: (start, size, header length, type).
fn top_level(bytes: &[u8]) -> Vec<(usize, u64, usize, [u8; 4])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size32 = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        let kind: [u8; 4] = bytes[at + 4..at + 8].try_into().unwrap();
        let (size, header) = match size32 {
            1 => (
                u64::from_be_bytes(bytes[at + 8..at + 16].try_into().unwrap()),
                16,
            ),
            0 => ((bytes.len() - at) as u64, 8),
            s => (u64::from(s), 8),
        };
        out.push((at, size, header, kind));
        at += size as usize;
    }
    out
}

#[test]
fn fragmented_over_4_gib_probes_in_milliseconds() {
    // 200 fragments with every `mdat` grown by a 24 MiB hole (64-bit sizes): 4.7 GiB on the
    // file system, a few KiB on disk. The probe reads the `moof`s and steps over the rest.
    let Some(ff) = Ffmpeg::find("fragmented_over_4_gib_probes_in_milliseconds") else {
        return;
    };
    let dir = Scratch::new();
    let small = dir.path("small.mp4");
    ff.video(
        &small,
        "64x48",
        1,
        200.0,
        &args(&[X264, &["-movflags", "frag_every_frame+empty_moov"]]),
    );
    let expected = open(&small).duration.unwrap();
    let bytes = std::fs::read(&small).unwrap();
    let hole: u64 = 24 << 20;
    let big = dir.path("big.mp4");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::File::create(&big).unwrap();
        let mut fragments = 0;
        for (at, size, header, kind) in top_level(&bytes) {
            let payload = &bytes[at + header..at + size as usize];
            if &kind == b"mdat" {
                fragments += 1;
                file.write_all(&1u32.to_be_bytes()).unwrap();
                file.write_all(b"mdat").unwrap();
                file.write_all(&(16 + payload.len() as u64 + hole).to_be_bytes())
                    .unwrap();
                file.write_all(payload).unwrap();
                file.seek(SeekFrom::Current(hole as i64)).unwrap();
            } else {
                file.write_all(&bytes[at..at + size as usize]).unwrap();
            }
        }
        assert_eq!(fragments, 200);
    }
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 4 << 30, "{size}");
    let started = Instant::now();
    let video = open(&big);
    let elapsed = started.elapsed();
    eprintln!("probed a {size}-byte fragmented file (200 fragments) in {elapsed:?}");
    assert!(elapsed < Duration::from_millis(200), "{elapsed:?}");
    assert_eq!(video.duration, Some(expected));
    assert_eq!(video.duration_source, Some(DurationSource::Fragments));
}

/// Puts `edts`/`elst` (version 0, `edits` as (segment duration, media time)) into the first
/// video `trak` of `bytes`, growing `moov` and `trak`.
fn with_edit_list(bytes: &[u8], edits: &[(u32, i32)]) -> Vec<u8> {
    let mut elst = vec![0u8; 4];
    elst.extend_from_slice(&(edits.len() as u32).to_be_bytes());
    for (segment, media_time) in edits {
        elst.extend_from_slice(&segment.to_be_bytes());
        elst.extend_from_slice(&media_time.to_be_bytes());
        elst.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    }
    let mp4_box = |kind: &[u8], payload: &[u8]| {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    };
    let edts = mp4_box(b"edts", &mp4_box(b"elst", &elst));
    let moov = bytes.windows(4).position(|w| w == b"moov").unwrap() - 4;
    let trak = bytes.windows(4).position(|w| w == b"trak").unwrap() - 4;
    let tkhd_end =
        trak + 8 + u32::from_be_bytes(bytes[trak + 8..trak + 12].try_into().unwrap()) as usize;
    let mut out = bytes[..tkhd_end].to_vec();
    out.extend_from_slice(&edts);
    out.extend_from_slice(&bytes[tkhd_end..]);
    for at in [moov, trak] {
        let size = u32::from_be_bytes(out[at..at + 4].try_into().unwrap()) + edts.len() as u32;
        out[at..at + 4].copy_from_slice(&size.to_be_bytes());
    }
    out
}

#[test]
fn fragmented_with_edit_lists() {
    // Packagers (Bento4, Shaka, GPAC) write an edit list in fragmented files; ffmpeg does not,
    // so one is put in: a shift (the first 2 s hidden) and a 3 s pause before the picture.
    // ffprobe (5.1) ignores edit lists in fragmented files, so the expected lengths are the
    // ones ISO/IEC 14496-12 §8.6.6 gives, what `mvhd` would say of the same presentation.
    let Some(ff) = Ffmpeg::find("fragmented_with_edit_lists") else {
        return;
    };
    let dir = Scratch::new();
    let plain = dir.path("plain.mp4");
    ff.video(&plain, "64x48", 1, 20.0, &args(&[X264, FRAGMENTED]));
    let bytes = std::fs::read(&plain).unwrap();
    let timescale = {
        let at = bytes.windows(4).position(|w| w == b"mdhd").unwrap() + 4;
        u32::from_be_bytes(bytes[at + 12..at + 16].try_into().unwrap())
    };
    for (name, edits, seconds) in [
        ("shifted.mp4", vec![(0, 2 * timescale as i32)], 18.0),
        ("paused.mp4", vec![(3000, -1), (0, 0)], 23.0),
    ] {
        let path = dir.path(name);
        std::fs::write(&path, with_edit_list(&bytes, &edits)).unwrap();
        let video = open(&path);
        let read = video.duration.unwrap().as_secs_f64();
        assert!(
            (read - seconds).abs() < 0.5,
            "{name}: {read} s, expected {seconds} s"
        );
        let reference = ff.reference(&path);
        eprintln!("{name}: keryx {read} s, ffprobe {} s", reference.duration);
    }
}
