//! YouTube's own rules, end to end: resumable uploads that survive faults, `kill -9` and an
//! emulator restart without a second video; the Testing-mode token expiry; the privacy YouTube
//! applied; Shorts and thumbnails (a Short's after its processing); metadata refused before a
//! byte moves; `--client-secrets` files; quota; the `--json` result.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::conformance::setup;
use crate::support::*;

/// Google's chunk granularity, and the chunk size these tests configure (many requests for a
/// few MiB, so faults land mid-upload).
const CHUNK: u64 = 262_144;

fn authorised() -> (Home, EmulatorProcess) {
    let (home, emulator) = setup("youtube");
    authorise(&home, &emulator, "youtube").expect_code(0);
    (home, emulator)
}

/// Adds (or replaces) one key of the `platforms.youtube` section.
fn set_youtube_key(home: &Home, key: &str, value: &str) {
    let config = home.config();
    let mut lines: Vec<String> = config
        .lines()
        .filter(|l| !l.trim_start().starts_with(&format!("{key}:")) || !l.starts_with("    "))
        .map(String::from)
        .collect();
    let at = lines
        .iter()
        .position(|l| l == "  youtube:")
        .expect("a youtube section");
    lines.insert(at + 1, format!("    {key}: {value}"));
    home.write_config(&(lines.join("\n") + "\n"));
}

fn path_str(path: &std::path::Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn stat(stats: &Value, key: &str) -> u64 {
    stats[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {stats}"))
}

fn replies(stats: &Value, status: u16) -> u64 {
    stats["put_replies"][status.to_string()]
        .as_u64()
        .unwrap_or(0)
}

/// Polls the emulator's stats until `ready` holds (a deadline fails the test).
fn wait_for_stats(emulator: &EmulatorProcess, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = emulator.stats("youtube");
        if ready(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "waited 60 s for {what}; stats: {stats}\nemulator log:\n{}",
            emulator.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The one video the emulator holds, after checking there is exactly one.
fn only_video(stats: &Value) -> Value {
    assert_eq!(
        stats["videos"]["count"], 1,
        "not exactly one video: {stats}"
    );
    stats["videos"]["items"][0].clone()
}

/// Saved upload sessions (`youtube-sessions/*.json` in the state directory).
fn saved_sessions(home: &Home) -> usize {
    match std::fs::read_dir(home.state_dir().join("youtube-sessions")) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count(),
        Err(_) => 0,
    }
}

fn finish(mut child: std::process::Child, timeout: Duration) -> Run {
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = Lines::new(stderr);
    let status = wait_with_timeout(&mut child, timeout);
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut stdout)
        .expect("stdout");
    Run {
        status,
        stdout,
        stderr: lines.rest(),
    }
}

/// `keryx post youtube VIDEO --yes --title "keryx e2e" EXTRA...`
fn post_args<'a>(video: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["post", "youtube", video, "--yes", "--title", "keryx e2e"];
    args.extend_from_slice(extra);
    args
}

#[test]
fn each_fault_costs_at_most_one_chunk_and_one_video_results() {
    let (mut home, emulator) = authorised();
    set_youtube_key(&home, "chunk_size", &CHUNK.to_string());
    // Retry-After is clamped to 32 x base in test mode: 100 ms lets the 2 s one below through.
    home.set_env("KERYX_RETRY_BASE_MS", "100");
    let size = 16 * CHUNK + 4321;
    let file = video(&home, "faults.mp4", 30, 1920, 1080, size);
    // PUT numbers as a correct client makes them (a query follows every failure):
    //  1 chunk 0 -> 503 with Retry-After 2 (the session is expired meanwhile, below)
    //  2 query -> 404 -> a new session; 3.. chunks 0, 1
    //  5 chunk 2 -> 503; 6 query; 7, 8 chunks 2, 3
    //  9 chunk 4 cut after 100000 bytes; 10 query; 11, 12 chunks 4, 5 (tokens die after 12)
    // 13 chunk 6 -> 401; refresh; 14 query; 15.. the rest.
    emulator.configure(
        "youtube",
        "fail_requests_with_5xx: [{request: 1, status: 503, retry_after: 2}, 5]\n\
         cut_connection: [{request: 9, after_bytes: 100000}]\n\
         expire_access_token_after_requests: 12\n",
    );
    let child = home.spawn(&post_args(path_str(&file), &[]));
    wait_for_stats(&emulator, "the first 503", |s| stat(s, "injected_5xx") >= 1);
    // keryx is waiting out Retry-After: the session dies before it asks where it stands.
    emulator.configure("youtube", "expire_sessions: true\n");
    let run = finish(child, Duration::from_secs(120));
    run.expect_code(0)
        .expect_stderr("starting the upload again from the beginning");

    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "injected_5xx"), 2, "{stats}");
    assert_eq!(stat(&stats, "connections_cut"), 1, "{stats}");
    assert_eq!(
        replies(&stats, 401),
        1,
        "the token expiry was not hit: {stats}"
    );
    assert_eq!(
        replies(&stats, 404),
        1,
        "the session expiry was not hit: {stats}"
    );
    assert_eq!(stat(&stats, "sessions_started"), 2, "{stats}");
    assert_eq!(stat(&stats, "sessions_open"), 0, "{stats}");
    let video = only_video(&stats);
    assert_eq!(video["bytes"], size, "{stats}");
    let faults = 5;
    let resent = stat(&stats, "bytes_received") - size;
    assert!(
        resent <= faults * CHUNK,
        "{resent} bytes re-sent for {faults} faults with {CHUNK}-byte chunks: {stats}"
    );
    assert_eq!(
        saved_sessions(&home),
        0,
        "the finished session is still saved"
    );
}

#[test]
fn kill_9_mid_upload_then_the_same_command_resumes_the_saved_session() {
    let (home, emulator) = authorised();
    set_youtube_key(&home, "chunk_size", &CHUNK.to_string());
    let size = 8 * CHUNK + 1000;
    let file = video(&home, "killed.mp4", 30, 1920, 1080, size);
    // Every 308 asks keryx to wait a second: slow enough to kill mid-way, deterministically.
    emulator.configure("youtube", "retry_after_on_308: 1\n");
    let args = post_args(path_str(&file), &[]);
    let mut child = home.spawn(&args);
    let before = wait_for_stats(&emulator, "two committed chunks", |s| {
        stat(s, "bytes_committed") >= 2 * CHUNK
    });
    child.kill().expect("SIGKILL keryx"); // std's kill is SIGKILL on Unix
    child.wait().expect("reap keryx");
    assert!(
        stat(&before, "bytes_committed") < size,
        "the upload finished before the kill"
    );
    assert_eq!(saved_sessions(&home), 1, "no saved session after the kill");
    emulator.configure("youtube", "retry_after_on_308: null\n");

    home.run(&args)
        .expect_code(0)
        .expect_stderr("resuming the interrupted upload");
    let stats = emulator.stats("youtube");
    assert_eq!(
        stat(&stats, "sessions_started"),
        1,
        "the rerun opened a new session instead of resuming: {stats}"
    );
    assert_eq!(only_video(&stats)["bytes"], size);
    assert!(
        stat(&stats, "status_queries") >= 1,
        "the rerun did not ask first"
    );
    let resent = stat(&stats, "bytes_received") - size;
    assert!(
        resent <= CHUNK,
        "{resent} bytes re-sent after one kill: {stats}"
    );
    assert_eq!(saved_sessions(&home), 0);
}

#[test]
fn emulator_restart_keeps_sessions_and_a_new_keryx_resumes() {
    let (home, first) = setup("youtube");
    let state = home.path().join("youtube-emulator-state.json");
    let knob = format!("state_file: {}\n", path_str(&state));
    first.configure("youtube", &knob);
    authorise(&home, &first, "youtube").expect_code(0);
    set_youtube_key(&home, "chunk_size", &CHUNK.to_string());
    let size = 8 * CHUNK + 1000;
    let file = video(&home, "restart.mp4", 30, 1920, 1080, size);
    first.configure("youtube", "retry_after_on_308: 1\n");
    let args = post_args(path_str(&file), &[]);
    let child = home.spawn(&args);
    let before = wait_for_stats(&first, "two committed chunks", |s| {
        stat(s, "bytes_committed") >= 2 * CHUNK
    });
    let committed = stat(&before, "bytes_committed");
    let port = first.port();
    drop(first); // the server goes away mid-upload
    // keryx retries, then gives up and says how to go on.
    finish(child, Duration::from_secs(60))
        .expect_code(1)
        .expect_stderr("run the same command again");
    assert_eq!(saved_sessions(&home), 1);

    let second = EmulatorProcess::start_on(&home, port);
    second.configure("youtube", &knob);
    home.run(&args)
        .expect_code(0)
        .expect_stderr("resuming the interrupted upload");
    let stats = second.stats("youtube");
    assert_eq!(
        stat(&stats, "sessions_started"),
        0,
        "a new session was opened: {stats}"
    );
    assert_eq!(only_video(&stats)["bytes"], size);
    let received = stat(&stats, "bytes_received");
    assert!(
        received <= size - committed,
        "the restarted server got {received} bytes; {committed} of {size} were already stored"
    );
}

#[test]
fn testing_mode_warns_at_auth_and_explains_the_expiry() {
    let (home, emulator) = setup("youtube");
    emulator.configure("youtube", "testing_mode: true\n");
    authorise(&home, &emulator, "youtube")
        .expect_code(0)
        .expect_stdout("expires in 7 days")
        .expect_stdout("In production");
    let file = video(&home, "week.mp4", 10, 1920, 1080, 1024 * 1024);
    emulator.configure("youtube", &format!("advance_clock_secs: {}\n", 8 * 86_400));
    home.run(&post_args(path_str(&file), &[]))
        .expect_code(4)
        .expect_stderr("invalid_grant")
        .expect_stderr("no longer accepts")
        .expect_stderr("In production")
        .expect_stderr("keryx auth youtube");
    assert_eq!(stat(&emulator.stats("youtube"), "sessions_started"), 0);
}

#[test]
fn another_applied_privacy_is_reported_without_blaming_an_audit() {
    let (home, emulator) = setup("youtube");
    // Unaudited projects are no longer forced private (2026-11-02): auth says nothing of it.
    let auth = authorise(&home, &emulator, "youtube");
    auth.expect_code(0);
    assert!(!auth.stdout.contains("audit"), "{}", auth.stdout);
    assert!(!auth.stderr.contains("audit"), "{}", auth.stderr);
    set_youtube_key(&home, "privacy", "public");
    let file = video(&home, "wide.mp4", 30, 1920, 1080, 1024 * 1024);
    let args = post_args(path_str(&file), &["--privacy", "public", "--json"]);
    let result = home.run(&args).expect_code(0).json();
    assert_eq!(result["privacy"], "public", "{result}");
    assert!(
        !result["notes"].to_string().contains("YouTube applied"),
        "{result}"
    );
    assert_eq!(
        only_video(&emulator.stats("youtube"))["requested_privacy_status"],
        "public"
    );
    // The creator's account settings can still make an upload private: keryx says so, and
    // where to look, without sending anyone to an audit.
    emulator.configure("youtube", "private_by_account_settings: true\n");
    let other = video(&home, "defaults.mp4", 31, 1920, 1080, 1024 * 1024);
    let args = post_args(path_str(&other), &["--privacy", "public", "--json"]);
    let result = home.run(&args).expect_code(0).json();
    assert_eq!(result["privacy"], "private", "{result}");
    let notes = result["notes"].to_string();
    assert!(
        notes.contains("you asked for public, but YouTube applied private"),
        "{notes}"
    );
    assert!(notes.contains("Upload defaults"), "{notes}");
    assert!(!notes.contains("audit"), "{notes}");
}

#[test]
fn watch_url_always_shorts_url_for_short_vertical_videos() {
    let (home, _emulator) = authorised();
    for (name, seconds, width, height, short) in [
        ("vertical.mp4", 180, 1080, 1920, true),
        ("square.mp4", 20, 1080, 1080, true),
        ("long-vertical.mp4", 181, 1080, 1920, false),
        ("landscape.mp4", 20, 1920, 1080, false),
    ] {
        let file = video(&home, name, seconds, width, height, 1024 * 1024);
        let result = home
            .run(&post_args(path_str(&file), &["--json"]))
            .expect_code(0)
            .json();
        let id = result["id"].as_str().expect("an id");
        assert_eq!(
            result["url"],
            format!("https://www.youtube.com/watch?v={id}"),
            "{name}"
        );
        let shorts = format!("https://www.youtube.com/shorts/{id}");
        assert_eq!(
            result["notes"].to_string().contains(&shorts),
            short,
            "{name}: {result}"
        );
    }
}

/// A PNG signature and enough bytes to be a plausible small image file.
fn png(home: &Home) -> PathBuf {
    let path = home.path().join("thumb.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(std::iter::repeat_n(7u8, 20_000));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A PNG of exactly `size` bytes (sparse after its signature).
fn sized_png(home: &Home, name: &str, size: u64) -> PathBuf {
    let path = home.path().join(name);
    let file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut &file, b"\x89PNG\r\n\x1a\n").unwrap();
    file.set_len(size).unwrap();
    path
}

#[test]
fn thumbnails_up_to_50_mib_are_taken_and_larger_ones_refused_before_upload() {
    let (home, emulator) = authorised();
    let file = video(&home, "big-thumb.mp4", 30, 1920, 1080, 1024 * 1024);
    let limit = 50 * 1024 * 1024;
    let over = sized_png(&home, "over.png", limit + 1);
    home.run(&post_args(
        path_str(&file),
        &["--youtube-thumbnail", path_str(&over)],
    ))
    .expect_code(2)
    .expect_stderr("at most 50 MiB (52428800 bytes)");
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "sessions_started"), 0, "{stats}");
    let at_limit = sized_png(&home, "limit.png", limit);
    home.run(&post_args(
        path_str(&file),
        &["--youtube-thumbnail", path_str(&at_limit)],
    ))
    .expect_code(0);
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "thumbnails_set"), 1, "{stats}");
    assert_eq!(only_video(&stats)["thumbnail_bytes"], limit);
}

#[test]
fn a_shorts_thumbnail_is_set_once_youtube_has_processed_it() {
    let (home, emulator) = authorised();
    // The emulator refuses a Short's thumbnail until processing succeeded, which takes two
    // videos.list polls: setting it straight after the upload would fail.
    emulator.configure("youtube", "uploads_are_shorts: true\nprocessing_polls: 2\n");
    let file = video(&home, "short.mp4", 30, 1080, 1920, 1024 * 1024);
    let thumb = png(&home);
    let run = home.run(&post_args(
        path_str(&file),
        &["--youtube-thumbnail", path_str(&thumb)],
    ));
    run.expect_code(0)
        .expect_stderr("youtube: processing")
        .expect_stderr("processing 66%");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "thumbnails_set"), 1, "{stats}");
    let stored = only_video(&stats);
    assert_eq!(stored["short"], true, "{stats}");
    assert_eq!(stored["upload_status"], "processed", "{stats}");
    assert_eq!(stored["thumbnail_bytes"], 20_008);
    assert_eq!(
        stats["api_errors"]["failedPrecondition"],
        Value::Null,
        "{stats}"
    );
}

#[test]
fn a_short_still_processing_stays_posted_and_says_how_to_set_its_thumbnail() {
    let (home, emulator) = authorised();
    emulator.configure(
        "youtube",
        "uploads_are_shorts: true\nprocessing_stuck: true\n",
    );
    let file = video(&home, "stuck.mp4", 30, 1080, 1920, 1024 * 1024);
    let thumb = png(&home);
    let run = home.run(&post_args(
        path_str(&file),
        &["--youtube-thumbnail", path_str(&thumb), "--json"],
    ));
    run.expect_code(0)
        .expect_stderr("warning:")
        .expect_stderr("thumbnail was not set");
    let result = run.json();
    assert_eq!(result["ok"], true, "{result}");
    let notes = result["notes"].to_string();
    assert!(notes.contains("still processing the Short"), "{notes}");
    assert!(notes.contains("studio.youtube.com/video/"), "{notes}");
    assert!(notes.contains("Details > Thumbnail"), "{notes}");
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "thumbnails_set"), 0, "{stats}");
    assert_eq!(only_video(&stats)["id"], result["id"]);
}

#[test]
fn thumbnail_is_set_after_the_upload() {
    let (home, emulator) = authorised();
    let file = video(&home, "thumbed.mp4", 30, 1920, 1080, 1024 * 1024);
    let thumb = png(&home);
    home.run(&post_args(
        path_str(&file),
        &["--youtube-thumbnail", path_str(&thumb)],
    ))
    .expect_code(0);
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "thumbnails_set"), 1, "{stats}");
    assert_eq!(only_video(&stats)["thumbnail_bytes"], 20_008);
}

#[test]
fn a_thumbnail_that_is_not_an_image_is_refused_before_upload() {
    let (home, emulator) = authorised();
    let file = video(&home, "clip.mp4", 30, 1920, 1080, 1024 * 1024);
    let fake = home.path().join("thumb.jpg");
    std::fs::write(&fake, "not an image, whatever its name says").unwrap();
    home.run(&post_args(
        path_str(&file),
        &["--youtube-thumbnail", path_str(&fake)],
    ))
    .expect_code(2)
    .expect_stderr("neither a JPEG nor a PNG");
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "sessions_started"), 0, "{stats}");
    assert_eq!(stat(&stats, "upload_puts"), 0, "{stats}");
}

#[test]
fn metadata_youtube_would_refuse_is_refused_before_any_byte() {
    let (home, emulator) = authorised();
    set_youtube_key(&home, "privacy", "unlisted");
    let file = video(&home, "meta.mp4", 30, 1920, 1080, 1024 * 1024);
    let file = path_str(&file);
    let long_title = "t".repeat(101);
    // 2501 two-byte letters: within 5000 characters, over 5000 bytes.
    let long_description = "é".repeat(2501);
    // 51 tags of 9 characters and 50 commas: 509 > 500.
    let tags: Vec<String> = (0..51).map(|i| format!("tag{i:06}")).collect();
    let mut many_tags: Vec<&str> = vec!["post", "youtube", file, "--yes"];
    for tag in &tags {
        many_tags.extend_from_slice(&["--tag", tag]);
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["post", "youtube", file, "--yes", "--title", &long_title],
            "101 characters",
        ),
        (
            vec!["post", "youtube", file, "--yes", "--title", "a <b> title"],
            "contains < or >",
        ),
        (
            post_args(file, &["--description", &long_description]),
            "5002 bytes",
        ),
        (many_tags, "509 characters"),
        (
            post_args(
                file,
                &[
                    "--privacy",
                    "unlisted",
                    "--youtube-publish-at",
                    "2030-01-01T00:00:00Z",
                ],
            ),
            "--youtube-publish-at needs privacy private",
        ),
        (
            post_args(file, &["--youtube-publish-at", "2030-01-01T00:00:00Z"]),
            "caps privacy at unlisted",
        ),
        (
            post_args(file, &["--privacy", "public"]),
            "more open than the config allows",
        ),
    ];
    for (args, needle) in cases {
        home.run(&args).expect_code(2).expect_stderr(needle);
    }
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "sessions_started"), 0, "{stats}");
    assert_eq!(stat(&stats, "upload_puts"), 0, "{stats}");
}

/// A home whose youtube section has no client_id and no secret anywhere: what a user has
/// before `keryx auth youtube --client-secrets FILE`.
fn home_without_credentials() -> (Home, EmulatorProcess) {
    let home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    home.write_config(&format!(
        "# test config\nsecrets: file\nplatforms:\n  youtube:\n    enabled: false\n    privacy: private\n    \
         made_for_kids: false\n    base_url: {}\n",
        emulator.base_url
    ));
    (home, emulator)
}

fn installed(client_id: &str, secret: Option<&str>) -> String {
    let secret = secret
        .map(|s| format!(",\"client_secret\":\"{s}\""))
        .unwrap_or_default();
    format!(
        "{{\"installed\":{{\"client_id\":\"{client_id}\",\"project_id\":\"keryx-e2e\",\
         \"auth_uri\":\"https://accounts.google.com/o/oauth2/auth\",\
         \"token_uri\":\"https://oauth2.googleapis.com/token\"{secret},\
         \"redirect_uris\":[\"http://localhost\"]}}}}"
    )
}

#[test]
fn bad_client_secrets_files_are_refused_with_what_to_do() {
    let (home, emulator) = home_without_credentials();
    let before = home.config();
    let client_id = keryx_youtube::emulator::CLIENT_ID;
    let cases = [
        (
            "malformed.json",
            "{\"installed\": ".to_string(),
            "not a Google credentials file",
            "Download JSON",
        ),
        (
            "web.json",
            format!(
                "{{\"web\":{{\"client_id\":\"{client_id}\",\"client_secret\":\"GOCSPX-x\",\
                 \"redirect_uris\":[\"https://example.com/cb\"]}}}}"
            ),
            "Web application",
            "Desktop app",
        ),
        (
            "nosecret.json",
            installed(client_id, None),
            "no client_secret",
            "add a secret and download the JSON again",
        ),
    ];
    for (name, text, needle, hint) in cases {
        let path = home.path().join(name);
        std::fs::write(&path, text).unwrap();
        home.run(&[
            "auth",
            "youtube",
            "--no-browser",
            "--client-secrets",
            path_str(&path),
        ])
        .expect_code(2)
        .expect_stderr(needle)
        .expect_stderr(hint);
    }
    let missing = home.path().join("client_secret_missing.json");
    home.run(&[
        "auth",
        "youtube",
        "--no-browser",
        "--client-secrets",
        path_str(&missing),
    ])
    .expect_code(2)
    .expect_stderr("client_secret_missing.json");
    assert_eq!(home.config(), before, "a refused file changed the config");
    assert_eq!(stat(&emulator.stats("youtube"), "authorize_requests"), 0);
}

#[test]
fn a_desktop_client_secrets_file_is_installed_and_auth_continues() {
    let (home, emulator) = home_without_credentials();
    let path = home.path().join("client_secret_1234.json");
    let client_id = keryx_youtube::emulator::CLIENT_ID;
    let secret = keryx_youtube::emulator::CLIENT_SECRET;
    std::fs::write(&path, installed(client_id, Some(secret))).unwrap();
    authorise_with(
        &home,
        &emulator,
        "youtube",
        &["--client-secrets", path_str(&path)],
    )
    .expect_code(0)
    .expect_stdout("Authorised YouTube as keryx demo channel");
    let config = home.config();
    assert!(config.contains("# test config"), "comment lost:\n{config}");
    let parsed: serde_yaml::Value = serde_yaml::from_str(&config).unwrap();
    assert_eq!(
        parsed["platforms"]["youtube"]["client_id"].as_str(),
        Some(client_id),
        "client_id not written:\n{config}"
    );
    assert_eq!(parsed["platforms"]["youtube"]["enabled"], true);
    assert!(
        parsed["stored_secrets"]["youtube/client_secret"].is_string(),
        "the client secret was not stored:\n{config}"
    );
    // Later runs need neither the file nor YOUTUBE_CLIENT_SECRET.
    std::fs::remove_file(&path).unwrap();
    assert!(!home.env.iter().any(|(k, _)| k == "YOUTUBE_CLIENT_SECRET"));
    let file = video(&home, "first.mp4", 20, 1920, 1080, 1024 * 1024);
    home.run(&post_args(path_str(&file), &[])).expect_code(0);
    assert_eq!(emulator.stats("youtube")["videos"]["count"], 1);
}

#[test]
fn quota_and_upload_limit_say_what_to_do() {
    let (home, emulator) = authorised();
    let file = video(&home, "quota.mp4", 20, 1920, 1080, 1024 * 1024);
    let args = post_args(path_str(&file), &[]);
    emulator.configure("youtube", "quota_uploads_per_day: 0\n");
    home.run(&args)
        .expect_code(1)
        .expect_stderr("quotaExceeded")
        .expect_stderr("daily upload bucket is used up")
        .expect_stderr("videos.insert calls a day")
        .expect_stderr("midnight Pacific");
    emulator.configure(
        "youtube",
        "quota_uploads_per_day: 100\nchannel_upload_cap: 0\n",
    );
    home.run(&args)
        .expect_code(1)
        .expect_stderr("uploadLimitExceeded")
        .expect_stderr("try again tomorrow");
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "sessions_started"), 0, "{stats}");
    assert_eq!(stat(&stats, "upload_puts"), 0, "{stats}");
    assert_eq!(saved_sessions(&home), 0);
}

#[test]
fn json_result() {
    let (home, emulator) = authorised();
    let file = video(&home, "reel.mp4", 15, 1080, 1920, 1024 * 1024);
    let result = home
        .run(&post_args(path_str(&file), &["--json"]))
        .expect_code(0)
        .json();
    let stats = emulator.stats("youtube");
    let stored = only_video(&stats);
    let id = result["id"].as_str().expect("id is a string");
    assert_eq!(id, stored["id"], "{result}");
    assert_eq!(id.len(), 11, "{result}");
    assert_eq!(result["ok"], true);
    assert_eq!(result["platform"], "youtube");
    assert_eq!(result["status"], "uploaded");
    assert_eq!(
        result["url"],
        format!("https://www.youtube.com/watch?v={id}")
    );
    assert_eq!(result["privacy"], "private");
    assert_eq!(result["account"], "keryx demo channel (@keryxdemo)");
    assert!(result["post_id"].is_null(), "{result}");
    let notes = result["notes"].as_array().expect("notes is an array");
    assert!(notes.iter().all(Value::is_string), "{result}");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("/shorts/")),
        "{result}"
    );
    // A refusal under --json is one JSON object too, with the exit code.
    emulator.configure("youtube", "quota_uploads_per_day: 0\n");
    let other = video(&home, "other.mp4", 16, 1080, 1920, 1024 * 1024);
    let failed = home.run(&post_args(path_str(&other), &["--json"]));
    failed.expect_code(1);
    let error = failed.json();
    assert_eq!(error["ok"], false);
    assert_eq!(error["exit_code"], 1);
    assert!(
        error["error"].as_str().unwrap().contains("quota"),
        "{error}"
    );
    assert!(error["hint"].is_string(), "{error}");
}

#[test]
fn a_lost_final_reply_is_recovered_by_the_rerun_without_a_second_video() {
    let (home, emulator) = authorised();
    set_youtube_key(&home, "chunk_size", &CHUNK.to_string());
    // Whole chunks, so the cut last request still commits every byte: the video exists, but
    // keryx never hears so, and every status query after that fails until it gives up.
    let size = 4 * CHUNK;
    let file = video(&home, "lost-reply.mp4", 30, 1920, 1080, size);
    emulator.configure(
        "youtube",
        &format!(
            "cut_connection: [{{request: 4, after_bytes: {CHUNK}}}]\n\
             fail_requests_with_5xx: [5, 6, 7, 8, 9, 10, 11, 12]\n"
        ),
    );
    home.run(&post_args(path_str(&file), &[]))
        .expect_code(1)
        .expect_stderr("run the same command again");
    let stats = emulator.stats("youtube");
    assert_eq!(only_video(&stats)["bytes"], size, "{stats}");
    assert_eq!(saved_sessions(&home), 1);
    emulator.configure("youtube", "fail_requests_with_5xx: []\n");

    // The rerun (even with another title) asks the saved session and gets the same video.
    let result = home
        .run(&[
            "post",
            "youtube",
            path_str(&file),
            "--yes",
            "--title",
            "a new title",
            "--json",
        ])
        .expect_code(0)
        .expect_stderr("already finished")
        .json();
    let stats = emulator.stats("youtube");
    let video = only_video(&stats);
    assert_eq!(result["id"], video["id"], "{result}");
    assert_eq!(video["title"], "keryx e2e", "{stats}");
    assert_eq!(stat(&stats, "sessions_started"), 1, "{stats}");
    assert_eq!(
        stat(&stats, "bytes_received"),
        size,
        "bytes were sent again"
    );
    assert_eq!(saved_sessions(&home), 0);
}

#[test]
fn revoked_mid_upload_then_after_auth_again_the_rerun_resumes() {
    let (home, emulator) = authorised();
    set_youtube_key(&home, "chunk_size", &CHUNK.to_string());
    let size = 8 * CHUNK + 1000;
    let file = video(&home, "revoked.mp4", 30, 1920, 1080, size);
    emulator.configure("youtube", "retry_after_on_308: 1\n");
    let args = post_args(path_str(&file), &[]);
    let child = home.spawn(&args);
    wait_for_stats(&emulator, "two committed chunks", |s| {
        stat(s, "bytes_committed") >= 2 * CHUNK
    });
    // The user removes keryx's access in their Google Account while it uploads.
    emulator.configure(
        "youtube",
        "revoke_refresh_tokens: true\nretry_after_on_308: null\n",
    );
    finish(child, Duration::from_secs(60))
        .expect_code(4)
        .expect_stderr("keryx auth youtube")
        .expect_stderr("it resumes the upload");
    assert_eq!(saved_sessions(&home), 1, "the session was not kept");

    authorise(&home, &emulator, "youtube").expect_code(0);
    home.run(&args)
        .expect_code(0)
        .expect_stderr("resuming the interrupted upload");
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "sessions_started"), 1, "{stats}");
    assert_eq!(only_video(&stats)["bytes"], size);
    let resent = stat(&stats, "bytes_received") - size;
    assert!(resent <= CHUNK, "{resent} bytes re-sent: {stats}");
}

#[test]
fn a_second_keryx_for_the_same_file_waits_its_turn() {
    let (home, emulator) = authorised();
    set_youtube_key(&home, "chunk_size", &CHUNK.to_string());
    let file = video(&home, "twice.mp4", 30, 1920, 1080, 4 * CHUNK + 1000);
    emulator.configure("youtube", "retry_after_on_308: 1\n");
    let args = post_args(path_str(&file), &[]);
    let first = home.spawn(&args);
    wait_for_stats(&emulator, "a committed chunk", |s| {
        stat(s, "bytes_committed") >= CHUNK
    });
    home.run(&args)
        .expect_code(2)
        .expect_stderr("another keryx is posting");
    emulator.configure("youtube", "retry_after_on_308: null\n");
    finish(first, Duration::from_secs(60)).expect_code(0);
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "sessions_started"), 1, "{stats}");
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
}

#[test]
fn kill_9_mid_request_resumes_from_what_the_server_kept() {
    let (home, emulator) = authorised();
    // Default 8 MiB chunks: a request body takes long enough to be caught in flight.
    let size = 24 * 1024 * 1024 + 4321;
    let file = video(&home, "in-flight.mp4", 30, 1920, 1080, size);
    let args = post_args(path_str(&file), &[]);
    let mut child = home.spawn(&args);
    wait_for_stats(&emulator, "the second request in flight", |s| {
        stat(s, "bytes_committed") >= 8 * 1024 * 1024 && stat(s, "concurrent_uploads") >= 1
    });
    child.kill().expect("SIGKILL keryx");
    child.wait().expect("reap keryx");
    home.run(&args)
        .expect_code(0)
        .expect_stderr("resuming the interrupted upload");
    let stats = emulator.stats("youtube");
    assert_eq!(stat(&stats, "sessions_started"), 1, "{stats}");
    assert_eq!(only_video(&stats)["bytes"], size);
    // The server keeps the 256 KiB-aligned part of a cut request; only the rest is sent again.
    let resent = stat(&stats, "bytes_received") - size;
    assert!(resent < CHUNK, "{resent} bytes re-sent: {stats}");
}
