//! What keryx reads from real files decides what it sends: files ffmpeg writes the way OBS,
//! DASH packagers and browser recorders do, through the binary against the emulators.

use std::path::{Path, PathBuf};

use crate::conformance::setup;
use crate::ffmpeg::{FRAGMENTED, Ffmpeg, X264};
use crate::support::*;

/// `seconds` of 1 fps test pattern at `size`, fragmented as OBS's "Fragmented MP4" is
/// (`frag_keyframe+empty_moov`: `mvhd` says 0 s, no `mehd`).
fn fragmented(ff: &Ffmpeg, home: &Home, name: &str, size: &str, seconds: f64) -> PathBuf {
    let path = home.path().join(name);
    let codec: Vec<&str> = [X264, FRAGMENTED].concat();
    ff.video(&path, size, 1, seconds, &codec);
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn tiktok() -> (Home, EmulatorProcess) {
    let (home, emulator) = setup("tiktok");
    authorise(&home, &emulator, "tiktok").expect_code(0);
    (home, emulator)
}

#[test]
fn fragmented_200_s_is_refused_by_tiktok_under_a_180_s_maximum() {
    let Some(ff) = Ffmpeg::find("fragmented_200_s_is_refused_by_tiktok_under_a_180_s_maximum")
    else {
        return;
    };
    let (home, emulator) = tiktok();
    emulator.configure("tiktok", "max_video_post_duration_sec: 180\n");
    let long = fragmented(&ff, &home, "obs.mp4", "64x48", 200.0);
    home.run(&["post", "tiktok", path_str(&long), "--yes"])
        .expect_code(2)
        .expect_stderr("obs.mp4 is 200 s long")
        .expect_stderr("at most 180 s");
    // With --json the refusal comes with what keryx read, to check the length against.
    let run = home.run(&[
        "post",
        "tiktok",
        path_str(&long),
        "--yes",
        "--dry-run",
        "--json",
    ]);
    let refusal = run.expect_code(2).json();
    assert_eq!(refusal["ok"], false);
    assert!(
        refusal["error"].as_str().unwrap().contains("at most 180 s"),
        "{refusal}"
    );
    let seconds = refusal["video"]["duration_secs"]
        .as_f64()
        .expect("a duration");
    assert!((seconds - 200.0).abs() < 0.5, "{refusal}");
    assert_eq!(refusal["video"]["fragmented"], true);
    assert_eq!(emulator.stats("tiktok")["inits"], 0);
    assert_eq!(emulator.stats("tiktok")["upload_puts"], 0);
    // Under the maximum the same kind of file goes through.
    let short = fragmented(&ff, &home, "short.mp4", "64x48", 12.0);
    home.run(&["post", "tiktok", path_str(&short), "--yes"])
        .expect_code(0)
        .expect_stdout("PUBLISH_COMPLETE");
}

#[test]
fn dry_run_json_shows_what_keryx_read() {
    let Some(ff) = Ffmpeg::find("dry_run_json_shows_what_keryx_read") else {
        return;
    };
    let (home, emulator) = tiktok();
    let file = fragmented(&ff, &home, "vertical.mp4", "48x64", 12.0);
    let run = home.run(&[
        "post",
        "tiktok",
        path_str(&file),
        "--yes",
        "--dry-run",
        "--json",
    ]);
    let result = run.expect_code(0).json();
    let video = &result["video"];
    assert_eq!(video["container"], "MP4", "{result}");
    assert_eq!(video["mime"], "video/mp4");
    assert_eq!(video["fragmented"], true);
    assert_eq!(video["moov_before_mdat"], true);
    assert_eq!(video["duration_source"], "moof");
    let seconds = video["duration_secs"].as_f64().expect("a duration");
    assert!((seconds - 12.0).abs() < 0.5, "{video}");
    assert_eq!(
        (&video["width"], &video["height"]),
        (&48.into(), &64.into())
    );
    assert_eq!(
        (&video["coded_width"], &video["coded_height"]),
        (&48.into(), &64.into())
    );
    assert_eq!(video["rotation"], 0);
    assert_eq!(video["video_codec"], "H.264");
    assert!(video["audio_codec"].is_null());
    assert_eq!(emulator.stats("tiktok")["inits"], 0);

    // The same for `post all`, in each platform's entry, and in words without --json.
    let run = home.run(&[
        "post",
        "all",
        path_str(&file),
        "--yes",
        "--dry-run",
        "--json",
    ]);
    let entries = run.expect_code(0).json();
    let entry = &entries.as_array().expect("an array")[0];
    assert_eq!(entry["video"], *video, "{entry}");
    home.run(&["post", "all", path_str(&file), "--yes", "--dry-run"])
        .expect_code(0)
        .expect_stdout("video: MP4, 12.0 s, 48x64, H.264, fragmented");
}

#[test]
fn unknown_duration_is_refused_where_a_maximum_applies() {
    // A live WebM recording cut off in the middle of a block: it has no Duration and its last
    // block cannot be read, so its length cannot be told.
    let Some(ff) = Ffmpeg::find("unknown_duration_is_refused_where_a_maximum_applies") else {
        return;
    };
    let (home, emulator) = tiktok();
    let whole = home.path().join("whole.webm");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=64x48:rate=2:duration=20 \
             -c:v libvpx -b:v 50k -g 10 -f webm pipe:1 > '{}'",
            whole.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    drop(ff);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = home.path().join("recording.webm");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let run = home.run(&[
        "post",
        "tiktok",
        path_str(&cut),
        "--yes",
        "--dry-run",
        "--json",
    ]);
    run.expect_code(2)
        .expect_stderr("cannot tell how long")
        .expect_stderr("recording.webm")
        .expect_stderr("ffmpeg -i IN.webm -c copy OUT.webm");
    assert_eq!(emulator.stats("tiktok")["inits"], 0);
}

#[test]
fn fragmented_vertical_12_s_gets_a_shorts_url() {
    let Some(ff) = Ffmpeg::find("fragmented_vertical_12_s_gets_a_shorts_url") else {
        return;
    };
    let (home, emulator) = setup("youtube");
    authorise(&home, &emulator, "youtube").expect_code(0);
    let file = fragmented(&ff, &home, "vertical.mp4", "48x64", 12.0);
    let result = home
        .run(&[
            "post",
            "youtube",
            path_str(&file),
            "--yes",
            "--title",
            "Short",
            "--json",
        ])
        .expect_code(0)
        .json();
    let id = result["id"].as_str().expect("an id");
    assert!(
        result["notes"]
            .to_string()
            .contains(&format!("https://www.youtube.com/shorts/{id}")),
        "{result}"
    );
}
