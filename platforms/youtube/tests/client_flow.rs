//! The real YouTube client (auth, prepare, publish) against the strict emulator over HTTP:
//! the whole flow a user runs, minus the binary. Each test has its own emulator, config file
//! and state directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keryx_core::config::{Config, SecretsMode};
use keryx_core::emulator::{Emulator, Running, serve};
use keryx_core::paths::Paths;
use keryx_core::secrets::SecretStore;
use keryx_core::{
    AuthOptions, AuthReport, Context, Metadata, Platform, PostReport, Progress, Prompter, Result,
    Ui, VideoFile,
};
use keryx_youtube::YouTube;
use keryx_youtube::emulator::{CHANNEL_TITLE, CLIENT_ID, CLIENT_SECRET, YouTubeEmulator};
use serde_json::Value;

const MIB: u64 = 1024 * 1024;

/// A Ui that keeps every line, so tests can read what the user was told.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
}

impl Recorder {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn find(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.lines().into_iter().find(|l| pred(l))
    }
}

impl Ui for Recorder {
    fn info(&self, message: &str) {
        self.push(format!("info: {message}"));
    }
    fn show(&self, message: &str) {
        self.push(message.to_string());
    }
    fn warn(&self, message: &str) {
        self.push(format!("warn: {message}"));
    }
    fn prompter(&self) -> Option<&dyn Prompter> {
        None
    }
}

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config_file: PathBuf,
    _running: Running,
    emulator: Arc<YouTubeEmulator>,
    ui: Arc<Recorder>,
}

impl World {
    /// An emulator, and a config whose YouTube section is `section` with `base_url` pointing at it.
    async fn new(section: &str) -> World {
        let emulator = YouTubeEmulator::new();
        let running = serve(vec![emulator.clone() as Arc<dyn Emulator>], 0)
            .await
            .expect("serve");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let config_file = root.join("config.yaml");
        let text = format!(
            "secrets: file\nplatforms:\n  youtube:\n    base_url: {}\n{section}",
            running.base_url
        );
        std::fs::write(&config_file, text).unwrap();
        World {
            _dir: dir,
            root,
            config_file,
            _running: running,
            emulator,
            ui: Arc::new(Recorder::default()),
        }
    }

    /// The emulator's own suggested config (client id, privacy, made_for_kids, base_url) and its
    /// secret in the file store.
    async fn standard() -> World {
        let world = World::new(&format!(
            "    client_id: {CLIENT_ID}\n    made_for_kids: false\n"
        ))
        .await;
        world
            .ctx()
            .secrets
            .set(
                "youtube/client_secret",
                &keryx_core::Secret::new(CLIENT_SECRET),
            )
            .unwrap();
        world
    }

    /// A fresh context, as each keryx command builds one: the config is read again.
    fn ctx(&self) -> Context {
        let config = Config::load(&self.config_file, &["youtube", "tiktok"]).expect("config loads");
        let ui: Arc<dyn Ui> = self.ui.clone();
        Context::new(
            config,
            Paths {
                config_file: self.config_file.clone(),
                state_dir: self.root.join("state"),
            },
            SecretStore::new(SecretsMode::File, &self.config_file, ui.clone()),
            keryx_core::http::client().unwrap(),
            ui,
        )
    }

    fn knobs(&self, yaml: &str) {
        let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        self.emulator.configure(&value).expect("knobs apply");
    }

    fn stats(&self) -> Value {
        self.emulator.stats()
    }

    fn set(&self, key: &str, scalar: &str) {
        keryx_core::config::set_platform_key(&self.config_file, "youtube", key, scalar).unwrap();
    }

    /// Runs `keryx auth youtube` with the browser played by this test: it reads the URL keryx
    /// shows, lets the emulator's consent page approve, and follows the redirect to keryx's
    /// loopback listener.
    async fn authorize(&self, client_secrets: Option<PathBuf>) -> Result<AuthReport> {
        let ctx = self.ctx();
        let options = AuthOptions {
            code: None,
            redirect: None,
            no_browser: true,
            timeout: Duration::from_secs(20),
            client_secrets,
            platform_options: Default::default(),
            app_password: false,
        };
        let flow = YouTube.authorize(&ctx, &options);
        let ui = self.ui.clone();
        // Only lines from this run: an earlier run's URL carries a spent state.
        let seen = ui.lines().len();
        let browser = async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            for _ in 0..500 {
                let url = ui
                    .lines()
                    .into_iter()
                    .skip(seen)
                    .find(|l| l.starts_with("http") && l.contains("/o/oauth2/v2/auth?"));
                if let Some(url) = url {
                    let consent = http.get(&url).send().await.unwrap();
                    let Some(location) = consent.headers().get("location") else {
                        return; // the consent page refused; the flow times out or reports it
                    };
                    let _ = http.get(location.to_str().unwrap()).send().await;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let (report, ()) = tokio::join!(flow, browser);
        report
    }

    fn video(&self, name: &str, size: u64, width: u32, height: u32, seconds: u64) -> VideoFile {
        keryx_core::media::synthetic::write_mp4(
            &self.root.join(name),
            Duration::from_secs(seconds),
            width,
            height,
            size,
        )
        .unwrap()
    }

    async fn post(&self, video: &VideoFile, metadata: &Metadata) -> Result<PostReport> {
        self.post_with(video, metadata, &keryx_core::NoProgress)
            .await
    }

    async fn post_with(
        &self,
        video: &VideoFile,
        metadata: &Metadata,
        progress: &dyn Progress,
    ) -> Result<PostReport> {
        let ctx = self.ctx();
        YouTube.check_config(&ctx)?;
        let prepared = YouTube.prepare(&ctx, video, metadata).await?;
        prepared.publish(&ctx, progress).await
    }

    fn sessions_dir(&self) -> PathBuf {
        self.root.join("state").join("youtube-sessions")
    }
}

fn titled(title: &str) -> Metadata {
    Metadata {
        title: Some(title.into()),
        ..Metadata::default()
    }
}

fn count_files(dir: &Path, ext: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == ext))
                .count()
        })
        .unwrap_or(0)
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[tokio::test]
async fn client_secrets_file_then_a_short_with_a_thumbnail() {
    let world = World::new("    made_for_kids: false\n    chunk_size: 1048576\n").await;
    let secrets = world.root.join("client_secret.json");
    std::fs::write(
        &secrets,
        format!(r#"{{"installed":{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","redirect_uris":["http://localhost"]}}}}"#),
    )
    .unwrap();
    let report = world.authorize(Some(secrets)).await.expect("authorised");
    assert!(report.account.contains(CHANNEL_TITLE), "{report:?}");
    // Unaudited projects are no longer forced private (since 2026-11-02): nothing to warn about.
    assert!(
        !report.notes.iter().any(|n| n.contains("audit")),
        "{:?}",
        report.notes
    );
    let text = std::fs::read_to_string(&world.config_file).unwrap();
    assert!(
        text.contains(CLIENT_ID) && text.contains("enabled: true"),
        "{text}"
    );
    assert!(
        !world.ui.lines().iter().any(|l| l.contains(CLIENT_SECRET)),
        "the secret is never shown"
    );
    assert!(
        world
            .ui
            .find(|l| l.contains("client secret in") && l.contains("stored_secrets"))
            .is_some(),
        "{:?}",
        world.ui.lines()
    );

    // 3.5 MiB in 1 MiB chunks: four PUTs, the last one short.
    let video = world.video("clip.mp4", 3 * MIB + MIB / 2, 1080, 1920, 30);
    let thumbnail = world.root.join("thumb.png");
    std::fs::write(&thumbnail, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRthumbnail").unwrap();
    let metadata = Metadata {
        title: Some("A vertical clip".into()),
        description: Some("Filmed on a ridge".into()),
        tags: vec!["#sunset".into(), "time lapse".into()],
        ai_generated: Some(true),
        ..Metadata::default()
    }
    .with("thumbnail", thumbnail);
    // A Short takes its thumbnail once processed: keryx polls first (one poll is enough here).
    world.knobs("uploads_are_shorts: true\nprocessing_polls: 0");
    let report = world.post(&video, &metadata).await.expect("posted");
    let id = report.id.clone().unwrap();
    assert_eq!(
        report.status, "processed",
        "the last poll's status: {report:?}"
    );
    assert_eq!(
        report.url.as_deref(),
        Some(format!("https://www.youtube.com/watch?v={id}").as_str())
    );
    assert_eq!(report.privacy.as_deref(), Some("private"));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains(&format!("https://www.youtube.com/shorts/{id}"))),
        "{:?}",
        report.notes
    );
    assert!(
        !report.notes.iter().any(|n| n.contains("thumbnail")),
        "{:?}",
        report.notes
    );

    let stats = world.stats();
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
    let item = &stats["videos"]["items"][0];
    assert_eq!(item["title"], "A vertical clip");
    assert_eq!(item["bytes"], video.size);
    assert_eq!(item["sha256"], sha256_of(&video.path));
    assert_eq!(stats["thumbnails_set"], 1, "{stats}");
    assert_eq!(stats["upload_puts"], 4, "{stats}");
    assert_eq!(
        count_files(&world.sessions_dir(), "json"),
        0,
        "the saved session is gone once done"
    );
}

#[tokio::test]
async fn faults_during_the_upload_are_survived_and_another_applied_privacy_is_reported() {
    let world = World::standard().await;
    world.set("privacy", "public");
    world.set("chunk_size", "524288");
    world.authorize(None).await.expect("authorised");
    world.knobs(
        "fail_requests_with_5xx: [{request: 2, status: 503}]\n\
         cut_connection: [{request: 4, after_bytes: 300000}]\n\
         expire_access_token_after_requests: 6\n\
         private_by_account_settings: true\n",
    );
    let video = world.video("wide.mp4", 3 * MIB, 1920, 1080, 600);
    let report = world
        .post(
            &video,
            &Metadata {
                privacy: Some("public".into()),
                ..titled("Wide")
            },
        )
        .await
        .expect("posted");
    assert_eq!(report.privacy.as_deref(), Some("private"));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("YouTube applied private") && !n.contains("audit")),
        "{:?}",
        report.notes
    );
    assert!(
        !report.notes.iter().any(|n| n.contains("/shorts/")),
        "a landscape video is no Short"
    );
    let stats = world.stats();
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
    assert_eq!(stats["sessions_started"], 1, "{stats}");
    assert_eq!(
        stats["videos"]["items"][0]["sha256"],
        sha256_of(&video.path),
        "{stats}"
    );
    assert_eq!(
        stats["videos"]["items"][0]["requested_privacy_status"], "public",
        "{stats}"
    );
    assert!(
        stats["status_queries"].as_u64().unwrap() >= 2,
        "after each fault keryx asks where it stands: {stats}"
    );
    assert!(
        stats["injected_5xx"].as_u64().unwrap() >= 1
            && stats["connections_cut"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    // One refresh when preparing, one more when the token died mid-upload.
    assert!(stats["refresh_requests"].as_u64().unwrap() >= 2, "{stats}");
}

#[tokio::test]
async fn a_moved_session_and_a_200_completion_are_followed() {
    let world = World::standard().await;
    world.set("chunk_size", "262144");
    world.authorize(None).await.expect("authorised");
    world.knobs(
        "relocate_session_on_requests: [2]\nretry_after_on_308: 0\ncompletion_status: 200\n",
    );
    let video = world.video("moved.mp4", MIB + 1000, 1920, 1080, 60);
    let report = world.post(&video, &titled("Moved")).await.expect("posted");
    assert!(report.id.is_some());
    let stats = world.stats();
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
    assert_eq!(stats["sessions_started"], 1, "{stats}");
    assert_eq!(
        stats["videos"]["items"][0]["sha256"],
        sha256_of(&video.path),
        "{stats}"
    );
}

#[tokio::test]
async fn quota_and_upload_limits_say_what_to_do() {
    let world = World::standard().await;
    world.authorize(None).await.expect("authorised");
    let video = world.video("quota.mp4", MIB, 1920, 1080, 60);
    world.knobs("quota_uploads_per_day: 0");
    let e = world.post(&video, &titled("q")).await.unwrap_err();
    assert!(e.message().contains("quotaExceeded"), "{e:?}");
    assert!(
        e.hint().unwrap_or_default().contains("midnight Pacific"),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 1);
    assert_eq!(
        count_files(&world.sessions_dir(), "json"),
        0,
        "no session was opened"
    );

    world.knobs("quota_uploads_per_day: 100\nchannel_upload_cap: 0");
    let e = world.post(&video, &titled("q")).await.unwrap_err();
    assert!(e.message().contains("uploadLimitExceeded"), "{e:?}");
    assert!(e.hint().unwrap_or_default().contains("tomorrow"), "{e:?}");
}

#[tokio::test]
async fn a_revoked_authorisation_is_caught_before_the_upload() {
    let world = World::standard().await;
    world.authorize(None).await.expect("authorised");
    world.knobs("revoke_refresh_tokens: true");
    let video = world.video("revoked.mp4", MIB, 1920, 1080, 60);
    let e = world.post(&video, &titled("r")).await.unwrap_err();
    assert!(e.message().contains("no longer accepts"), "{e:?}");
    let hint = e.hint().unwrap_or_default();
    assert!(
        hint.contains("keryx auth youtube") && hint.contains("In production"),
        "{e:?}"
    );
    assert_eq!(world.stats()["sessions_started"], 0);
}

/// Progress that fires once the upload passed `after` bytes.
struct Tripwire {
    after: u64,
    fired: tokio::sync::Notify,
}

impl Progress for Tripwire {
    fn phase(&self, _name: &str, _total: Option<u64>) {}
    fn set_position(&self, bytes: u64) {
        if bytes >= self.after {
            self.fired.notify_one();
        }
    }
    fn status(&self, _message: &str) {}
}

#[tokio::test]
async fn a_killed_upload_resumes_its_session_and_never_makes_two_videos() {
    let world = World::standard().await;
    world.set("chunk_size", "262144");
    world.authorize(None).await.expect("authorised");
    let video = world.video("long.mp4", 4 * MIB, 1920, 1080, 60);
    let metadata = titled("Resumed");

    // "Kill" the first run once 1 MiB is through: its future is dropped mid-upload.
    let wire = Tripwire {
        after: MIB,
        fired: tokio::sync::Notify::new(),
    };
    tokio::select! {
        result = world.post_with(&video, &metadata, &wire) => panic!("the upload should have been cut short: {result:?}"),
        () = wire.fired.notified() => {}
    }
    assert_eq!(
        count_files(&world.sessions_dir(), "json"),
        1,
        "the session URI was saved before the bytes"
    );
    let before = world.stats();
    assert_eq!(before["videos"]["count"], 0);

    let report = world.post(&video, &metadata).await.expect("resumed");
    assert!(report.id.is_some());
    let stats = world.stats();
    assert_eq!(
        stats["sessions_started"], 1,
        "the rerun resumed the same session: {stats}"
    );
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
    assert_eq!(
        stats["videos"]["items"][0]["sha256"],
        sha256_of(&video.path)
    );
    assert!(
        stats["bytes_received"].as_u64().unwrap() < 2 * video.size,
        "committed bytes were not re-sent: {stats}"
    );
    assert!(
        world
            .ui
            .find(|l| l.contains("resuming the interrupted upload"))
            .is_some(),
        "{:?}",
        world.ui.lines()
    );

    // Running it again posts a second copy on purpose (the saved session is gone).
    assert_eq!(count_files(&world.sessions_dir(), "json"), 0);
}

#[tokio::test]
async fn an_expired_session_starts_over_once() {
    let world = World::standard().await;
    world.set("chunk_size", "262144");
    world.authorize(None).await.expect("authorised");
    let video = world.video("expire.mp4", 2 * MIB, 1920, 1080, 60);
    let metadata = titled("Expired");
    let wire = Tripwire {
        after: MIB / 2,
        fired: tokio::sync::Notify::new(),
    };
    tokio::select! {
        result = world.post_with(&video, &metadata, &wire) => panic!("should have been cut short: {result:?}"),
        () = wire.fired.notified() => {}
    }
    world.knobs("expire_sessions: true");
    let report = world
        .post(&video, &metadata)
        .await
        .expect("posted after a restart");
    assert!(report.id.is_some());
    let stats = world.stats();
    assert_eq!(stats["sessions_started"], 2, "{stats}");
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
    assert!(
        world.ui.find(|l| l.contains("expired")).is_some(),
        "{:?}",
        world.ui.lines()
    );
}

/// Progress that copies the saved session file the first time bytes move.
struct Snapshot {
    dir: PathBuf,
    saved: Mutex<Option<(PathBuf, Vec<u8>)>>,
}

impl Progress for Snapshot {
    fn phase(&self, _name: &str, _total: Option<u64>) {}
    fn set_position(&self, _bytes: u64) {
        let mut saved = self.saved.lock().unwrap();
        if saved.is_none() {
            let json = std::fs::read_dir(&self.dir).ok().and_then(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .find(|p| p.extension().is_some_and(|x| x == "json"))
            });
            if let Some(path) = json {
                let bytes = std::fs::read(&path).unwrap();
                *saved = Some((path, bytes));
            }
        }
    }
    fn status(&self, _message: &str) {}
}

#[tokio::test]
async fn a_finished_upload_whose_run_died_is_reported_not_repeated() {
    let world = World::standard().await;
    world.authorize(None).await.expect("authorised");
    let video = world.video("done.mp4", MIB, 1920, 1080, 60);
    let snapshot = Snapshot {
        dir: world.sessions_dir(),
        saved: Mutex::new(None),
    };
    let first = world
        .post_with(&video, &titled("Once"), &snapshot)
        .await
        .expect("posted");
    // Put the saved session back, as if the first run died after the last byte but before
    // forgetting it: the rerun must get the same video back, not upload a second one.
    let (path, bytes) = snapshot
        .saved
        .lock()
        .unwrap()
        .take()
        .expect("a session was saved during the upload");
    std::fs::write(&path, bytes).unwrap();
    let again = world.post(&video, &titled("Once")).await.expect("reported");
    assert_eq!(again.id, first.id);
    let stats = world.stats();
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
    assert_eq!(stats["sessions_started"], 1, "{stats}");
    assert_eq!(count_files(&world.sessions_dir(), "json"), 0);
}

#[tokio::test]
async fn metadata_is_checked_before_anything_is_sent() {
    let world = World::standard().await;
    world.authorize(None).await.expect("authorised");
    let video = world.video("meta.mp4", MIB, 1920, 1080, 60);
    let refused = |m: Metadata| {
        let world = &world;
        let video = &video;
        async move { world.post(video, &m).await.expect_err("refused") }
    };
    let e = refused(titled(&"x".repeat(101))).await;
    assert!(e.message().contains("101 characters"), "{e:?}");
    let e = refused(Metadata {
        description: Some("é".repeat(2501)),
        ..titled("t")
    })
    .await;
    assert!(e.message().contains("bytes"), "{e:?}");
    let e = refused(Metadata {
        privacy: Some("public".into()),
        ..titled("t")
    })
    .await;
    assert!(
        e.message().contains("more open than the config allows"),
        "{e:?}"
    );
    let e = refused(titled("t").with("publish-at", "tomorrow")).await;
    assert!(e.message().contains("RFC 3339"), "{e:?}");
    let e = refused(titled("t").with("category", "Music")).await;
    assert!(e.message().contains("category"), "{e:?}");
    assert_eq!(
        world.stats()["sessions_started"],
        0,
        "nothing reached the upload endpoint"
    );
    assert_eq!(e.exit_code(), 2);
}

#[tokio::test]
async fn made_for_kids_must_be_decided() {
    let world = World::new(&format!("    client_id: {CLIENT_ID}\n")).await;
    world
        .ctx()
        .secrets
        .set(
            "youtube/client_secret",
            &keryx_core::Secret::new(CLIENT_SECRET),
        )
        .unwrap();
    let report = world.authorize(None).await.expect("authorised");
    assert!(
        report.notes.iter().any(|n| n.contains("made_for_kids")),
        "{:?}",
        report.notes
    );
    let video = world.video("kids.mp4", MIB, 1920, 1080, 60);
    let e = world.post(&video, &titled("t")).await.unwrap_err();
    assert!(e.message().contains("made for kids"), "{e:?}");
    let ok = world
        .post(&video, &titled("t").with("made-for-kids", true))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn consent_problems_are_explained() {
    let world = World::standard().await;
    world.knobs("untick_scopes: [\"https://www.googleapis.com/auth/youtube.readonly\"]");
    let e = world.authorize(None).await.unwrap_err();
    assert!(e.message().contains("youtube.readonly"), "{e:?}");

    world.knobs("untick_scopes: []\nno_channel: true");
    let e = world.authorize(None).await.unwrap_err();
    assert!(
        e.hint().unwrap_or_default().contains("create_channel"),
        "{e:?}"
    );
    let text = std::fs::read_to_string(&world.config_file).unwrap();
    assert!(
        !text.contains("enabled: true"),
        "no channel, not enabled: {text}"
    );

    world.knobs("no_channel: true\nno_channel_reply: signup_required");
    let e = world.authorize(None).await.unwrap_err();
    assert!(
        e.hint().unwrap_or_default().contains("create_channel"),
        "{e:?}"
    );

    world.knobs("no_channel: false\ntesting_mode: true");
    let report = world.authorize(None).await.expect("authorised");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("7 days") && n.contains("In production")),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn a_thumbnail_failure_keeps_the_video() {
    let world = World::standard().await;
    world.authorize(None).await.expect("authorised");
    world.knobs("thumbnail_unverified_channel: true");
    let video = world.video("thumb.mp4", MIB, 1920, 1080, 60);
    let thumbnail = world.root.join("t.jpg");
    std::fs::write(&thumbnail, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).unwrap();
    let report = world
        .post(&video, &titled("t").with("thumbnail", thumbnail))
        .await
        .expect("the video is reported");
    assert!(report.id.is_some());
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("thumbnail was not set")),
        "{:?}",
        report.notes
    );
    assert_eq!(world.stats()["videos"]["count"], 1);
}

#[tokio::test]
async fn a_short_whose_processing_fails_gets_no_thumbnail_and_says_so() {
    let world = World::standard().await;
    world.authorize(None).await.expect("authorised");
    world.knobs("uploads_are_shorts: true\nprocessing_polls: 0\nprocessing_outcome: failed");
    let video = world.video("broken.mp4", MIB, 1080, 1080, 20);
    let thumbnail = world.root.join("t.png");
    std::fs::write(&thumbnail, b"\x89PNG\r\n\x1a\nrest").unwrap();
    let report = world
        .post(&video, &titled("t").with("thumbnail", thumbnail))
        .await
        .expect("the video is reported");
    assert_eq!(report.status, "failed", "{report:?}");
    let notes = report.notes.join("\n");
    assert!(notes.contains("ended `failed`"), "{notes}");
    assert!(notes.contains("reports a problem"), "{notes}");
    assert!(
        world
            .ui
            .find(|l| l.starts_with("warn:") && l.contains("thumbnail was not set"))
            .is_some(),
        "{:?}",
        world.ui.lines()
    );
    assert_eq!(world.stats()["thumbnails_set"], 0);
}
