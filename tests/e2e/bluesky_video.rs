//! Bluesky's video service path (reference §4.2) through the keryx binary: against the video
//! service fake of keryx's emulator (which stores the video on the emulated PDS with the
//! user's service token), its fallback and failures, and against the real PDS, where the fake
//! stores the video through the real server with the token keryx obtained from it, so the
//! real server judges that token's `aud`, `lxm`, issuer and signature.

use serde_json::Value;

use crate::bluesky::Pds;
use crate::support::{EmulatorProcess, Home, configure_for_emulator, video};

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn ready(extra: &str) -> (Home, EmulatorProcess) {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["bluesky"], extra);
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    (home, emulator)
}

fn post(home: &Home, file: &std::path::Path) -> crate::support::Run {
    home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--json",
        "--title",
        "via the video service",
    ])
}

/// The record embeds the blob the video service stored, which is the file's.
fn assert_posted_blob(stats: &Value, sha: &str) {
    assert_eq!(stats["records"].as_array().unwrap().len(), 1, "{stats}");
    let record = &stats["records"][0]["value"];
    let cid = record["embed"]["video"]["ref"]["$link"].as_str().unwrap();
    let blob = stats["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["cid"] == cid)
        .unwrap_or_else(|| panic!("the record's blob {cid} is not stored: {stats}"));
    assert_eq!(blob["sha256"], sha, "{stats}");
}

#[test]
fn bluesky_video_service_post_through_the_emulator() {
    let (home, emulator) = ready("");
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 300_000);
    let run = post(&home, &file);
    run.expect_code(0);
    let report = run.json();
    assert!(
        report["url"]
            .as_str()
            .unwrap()
            .starts_with("https://bsky.app/profile/alice.test/post/"),
        "{report}"
    );
    // No "goes to your PDS" note: the video service processed it.
    assert!(!run.stdout.contains("went to your PDS"), "{}", run.stdout);
    let stats = emulator.stats("bluesky");
    assert_eq!(stats["video_uploads"], 1, "{stats}");
    assert_eq!(stats["video_jobs"], 1, "{stats}");
    // The one upload keryx made was uploadVideo; the PDS got the video from the video service.
    assert_eq!(stats["upload_requests"], 1, "{stats}");
    assert_posted_blob(&stats, &sha256_hex(&std::fs::read(&file).unwrap()));

    // The same file again: the service answers `already_exists` with the earlier blob, which
    // counts as done.
    let again = home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--title",
        "again",
    ]);
    again.expect_code(0);
    let stats = emulator.stats("bluesky");
    assert_eq!(stats["video_uploads"], 2, "{stats}");
    assert_eq!(stats["records"].as_array().unwrap().len(), 2, "{stats}");
    assert_eq!(
        stats["records"][0]["value"]["embed"]["video"],
        stats["records"][1]["value"]["embed"]["video"]
    );
}

#[test]
fn bluesky_video_service_unreachable_falls_back_to_the_pds() {
    let (mut home, emulator) = ready("");
    // Retries of a refused connection end within 3 s rather than the default budget.
    home.set_env("KERYX_RETRY_BUDGET_MS", "3000");
    // A closed port: the service cannot be reached.
    let config = home.config().replace(
        &format!("{}/video", emulator.base_url),
        "http://127.0.0.1:9",
    );
    home.write_config(&config);
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 300_000);
    let run = post(&home, &file);
    run.expect_code(0)
        .expect_stderr("cannot be reached")
        .expect_stdout("went to your PDS");
    let stats = emulator.stats("bluesky");
    assert_eq!(stats["video_uploads"], 0, "{stats}");
    assert_posted_blob(&stats, &sha256_hex(&std::fs::read(&file).unwrap()));

    // A 503 from the service is the same; but `upload: video-service` refuses to fall back.
    let mut home2 = Home::new();
    configure_for_emulator(&mut home2, &emulator, &["bluesky"], "");
    let forced = home2.config().replace(
        "    video_service:",
        "    upload: video-service\n    video_service:",
    );
    home2.write_config(&forced);
    home2
        .run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    emulator.configure("bluesky", "video_service_unavailable: true\n");
    post(&home2, &file)
        .expect_code(1)
        .expect_stderr("Service Unavailable");
    assert_eq!(
        emulator.stats("bluesky")["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn bluesky_upload_pds_forced_skips_the_video_service() {
    let (home, emulator) = ready("");
    let config = home
        .config()
        .replace("    video_service:", "    upload: pds\n    video_service:");
    home.write_config(&config);
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 300_000);
    let run = post(&home, &file);
    run.expect_code(0).expect_stdout("went to your PDS");
    assert!(!run.stderr.contains("cannot be reached"), "{}", run.stderr);
    let stats = emulator.stats("bluesky");
    assert_eq!(stats["video_uploads"], 0, "{stats}");
    assert_eq!(stats["upload_requests"], 1, "{stats}");
    assert_posted_blob(&stats, &sha256_hex(&std::fs::read(&file).unwrap()));
}

#[test]
fn bluesky_video_job_that_fails_processing_exits_1_and_posts_nothing() {
    let (home, emulator) = ready("");
    emulator.configure("bluesky", "video_jobs_fail: true\n");
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 300_000);
    post(&home, &file)
        .expect_code(1)
        .expect_stderr("could not process the video (encoding_failure")
        .expect_stderr("upload: pds");
    let stats = emulator.stats("bluesky");
    assert_eq!(stats["video_uploads"], 1, "{stats}");
    assert_eq!(stats["records"].as_array().unwrap().len(), 0, "{stats}");
}

/// The real PDS issues the service tokens and, through keryx's video service fake, takes the
/// video with the upload token: its `aud` (the PDS's DID), `lxm`, issuer and ES256K signature
/// are checked by the real server.
#[test]
fn bluesky_real_pds_post_through_the_video_service_fake() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let emulator_home = Home::new();
    let emulator = EmulatorProcess::start(&emulator_home);
    emulator.configure("bluesky", &format!("video_service_pds: {}\n", pds.url()));
    let home = pds.home(
        0,
        &format!(
            "    upload: video-service\n    video_service: {}/video\n",
            emulator.base_url
        ),
    );
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    let file = video(&home, "reel.mp4", 4, 720, 1280, 300_000);
    let bytes = std::fs::read(&file).unwrap();
    let report = post(&home, &file).expect_code(0).json();
    let rkey = report["post_id"].as_str().unwrap().to_string();
    assert_eq!(emulator.stats("bluesky")["video_uploads"], 1);
    let record: Value = pds
        .get(
            "/xrpc/com.atproto.repo.getRecord",
            &[
                ("repo", did.as_str()),
                ("collection", "app.bsky.feed.post"),
                ("rkey", &rkey),
            ],
        )
        .json()
        .unwrap();
    let embed = &record["value"]["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.video");
    assert_eq!(embed["video"]["mimeType"], "video/mp4");
    let cid = embed["video"]["ref"]["$link"].as_str().unwrap();
    let blob = pds
        .get(
            "/xrpc/com.atproto.sync.getBlob",
            &[("did", did.as_str()), ("cid", cid)],
        )
        .bytes()
        .unwrap();
    assert_eq!(sha256_hex(&blob), sha256_hex(&bytes));
    assert_eq!(pds.posts(&did).len(), 1);
}
