//! Bluesky through the keryx binary: against keryx's own emulator (faults it can inject), and
//! against the real PDS (`@atproto/pds` 0.5.35 from `shared/peers/bluesky-pds`, installed by
//! `.ci/run` at `target/bluesky-pds`), which judges what keryx sends and stores. Every post is
//! read back with `getRecord` / `getBlob` and compared with what keryx meant: the real server
//! accepts a misspelt embed `$type` and never checks facet offsets (reference surprise 8).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{EmulatorProcess, Home, configure_for_emulator, video};

/// A real PDS + PLC on loopback for one test; stopped (and its data removed) on drop.
pub struct Pds {
    child: Child,
    stdin: Option<ChildStdin>,
    pub env: Value,
    _data: tempfile::TempDir,
    http: reqwest::blocking::Client,
}

pub fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bluesky-pds")
}

impl Pds {
    /// `None` (saying so loudly) when the harness is not installed; under CI that fails.
    pub fn start() -> Option<Pds> {
        let dir = harness_dir();
        let node = dir.join("node_modules/.bin/node");
        if !node.exists() || !dir.join("node_modules/.keryx-harness-stamp").exists() {
            let line = format!(
                "the real Bluesky PDS harness is not installed at {}: run ../shared/peers/bluesky-pds/setup.sh \"$PWD/target/bluesky-pds\"",
                dir.display()
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{line} (.ci/run installs it)");
            }
            eprintln!("SKIPPED: {line}");
            return None;
        }
        let data = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(&node)
            .arg(dir.join("start.mjs"))
            .args(["--stdin-eof-exit", "--blob-limit", "3000000", "--data-dir"])
            .arg(data.path().join("run"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the PDS harness");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the harness prints one line when ready");
        let env: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the harness's line is not JSON ({e}): {line}"));
        Some(Pds {
            child,
            stdin,
            env,
            _data: data,
            http: reqwest::blocking::Client::new(),
        })
    }

    pub fn url(&self) -> &str {
        self.env["pds_url"].as_str().unwrap()
    }

    pub fn account(&self, i: usize) -> &Value {
        &self.env["accounts"][i]
    }

    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}{path}", self.url()))
            .query(query)
            .send()
            .expect("PDS request")
    }

    pub fn posts(&self, did: &str) -> Vec<Value> {
        let listed: Value = self
            .get(
                "/xrpc/com.atproto.repo.listRecords",
                &[
                    ("repo", did),
                    ("collection", "app.bsky.feed.post"),
                    ("limit", "100"),
                ],
            )
            .json()
            .unwrap();
        listed["records"].as_array().cloned().unwrap_or_default()
    }

    /// A home whose config points at this PDS for account `i`, with its app password exported.
    /// The harness has no video service: unless `extra` picks a path, videos go to the PDS
    /// (`upload: pds`) rather than to an unreachable video.bsky.app.
    pub fn home(&self, i: usize, extra: &str) -> Home {
        let mut home = Home::new();
        let account = self.account(i);
        let extra = if extra.contains("upload:") {
            extra.to_string()
        } else {
            format!("    upload: pds\n{extra}")
        };
        home.write_config(&format!(
            "secrets: file\nplatforms:\n  bluesky:\n    handle: {}\n    pds: {}\n{extra}",
            account["handle"].as_str().unwrap(),
            self.url()
        ));
        home.set_env(
            "BLUESKY_APP_PASSWORD",
            account["app_password"].as_str().unwrap(),
        );
        home
    }
}

impl Drop for Pds {
    fn drop(&mut self) {
        // EOF on stdin stops it (--stdin-eof-exit); a kill if it does not go.
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A MOV: a synthetic MP4 whose major brand says QuickTime.
fn mov(home: &Home, name: &str) -> PathBuf {
    let path = video(home, name, 4, 720, 1280, 100_000);
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[4..8], b"ftyp");
    bytes[8..12].copy_from_slice(b"qt  ");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn bluesky_real_pds_app_password_post_reads_back_exactly() {
    let Some(pds) = Pds::start() else { return };
    let alice = pds.account(0);
    let did = alice["did"].as_str().unwrap();
    let home = pds.home(0, "    langs: [en, pt-BR]\n");
    let auth = home.run(&["auth", "bluesky", "--app-password"]);
    auth.expect_code(0)
        .expect_stdout(&format!("Authorised Bluesky as alice.test ({did})"));
    assert!(home.config().contains("enabled: true"), "{}", home.config());
    // An app password is not the main password: no warning.
    assert!(
        !auth.stderr.contains("does not look like an app password"),
        "{}",
        auth.stderr
    );

    let file = video(&home, "reel.mp4", 6, 720, 1280, 400_000);
    let bytes = std::fs::read(&file).unwrap();
    let title = "Olá café ☕ at noon #inline";
    let vtt = home.path().join("captions.vtt");
    let captions = "WEBVTT\n\n00:00.000 --> 00:02.000\nOlá\n";
    std::fs::write(&vtt, captions).unwrap();
    let posted = home
        .run(&[
            "post",
            "bluesky",
            file.to_str().unwrap(),
            "--yes",
            "--json",
            "--title",
            title,
            "--tag",
            "video",
            "--tag",
            "keryx",
            "--bluesky-alt",
            "a test pattern",
            "--bluesky-captions",
            vtt.to_str().unwrap(),
            "--bluesky-caption-lang",
            "pt-BR",
        ])
        .expect_code(0)
        .json();
    let post = &posted;
    let uri = post["id"].as_str().expect("the at:// URI").to_string();
    let rkey = uri.rsplit('/').next().unwrap().to_string();
    assert!(
        uri.starts_with(&format!("at://{did}/app.bsky.feed.post/")),
        "{post}"
    );
    assert_eq!(
        post["url"],
        format!("https://bsky.app/profile/alice.test/post/{rkey}")
    );

    let record: Value = pds
        .get(
            "/xrpc/com.atproto.repo.getRecord",
            &[
                ("repo", did),
                ("collection", "app.bsky.feed.post"),
                ("rkey", &rkey),
            ],
        )
        .json()
        .unwrap();
    let value = &record["value"];
    let text = value["text"].as_str().unwrap();
    assert_eq!(text, format!("{title} #video #keryx"));
    assert_eq!(value["$type"], "app.bsky.feed.post");
    assert_eq!(value["langs"], serde_json::json!(["en", "pt-BR"]));
    let embed = &value["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.video");
    assert_eq!(embed["alt"], "a test pattern");
    assert_eq!(
        embed["aspectRatio"],
        serde_json::json!({"width": 720, "height": 1280})
    );
    assert_eq!(embed["video"]["mimeType"], "video/mp4");
    assert_eq!(embed["video"]["size"], bytes.len());
    // Facets point at the UTF-8 bytes of each hashtag, inline ones included.
    let mut tagged = Vec::new();
    for facet in value["facets"].as_array().expect("facets") {
        let start = facet["index"]["byteStart"].as_u64().unwrap() as usize;
        let end = facet["index"]["byteEnd"].as_u64().unwrap() as usize;
        let feature = &facet["features"][0];
        assert_eq!(feature["$type"], "app.bsky.richtext.facet#tag");
        let tag = feature["tag"].as_str().unwrap();
        assert_eq!(&text.as_bytes()[start..end], format!("#{tag}").as_bytes());
        tagged.push(tag.to_string());
    }
    assert_eq!(tagged, ["inline", "video", "keryx"]);
    let created = time::OffsetDateTime::parse(
        value["createdAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        (time::OffsetDateTime::now_utc() - created)
            .whole_seconds()
            .abs()
            < 120
    );

    // The blob: the same bytes, under the CID keryx computes from the file.
    let cid = embed["video"]["ref"]["$link"].as_str().unwrap();
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    assert_eq!(cid, keryx_bluesky::cid::raw_sha256(&digest));
    let blob = pds
        .get(
            "/xrpc/com.atproto.sync.getBlob",
            &[("did", did), ("cid", cid)],
        )
        .bytes()
        .unwrap();
    assert_eq!(sha256_hex(&blob), sha256_hex(&bytes));
    // The captions: their language, a text/vtt blob of the file's bytes.
    let caption = &embed["captions"][0];
    assert_eq!(caption["lang"], "pt-BR");
    assert_eq!(caption["file"]["mimeType"], "text/vtt");
    let vtt_cid = caption["file"]["ref"]["$link"].as_str().unwrap();
    let stored = pds
        .get(
            "/xrpc/com.atproto.sync.getBlob",
            &[("did", did), ("cid", vtt_cid)],
        )
        .bytes()
        .unwrap();
    assert_eq!(&stored[..], captions.as_bytes());

    // `post all` again: the ledger says it is there, nothing is sent, one post.
    home.run(&["post", "all", file.to_str().unwrap(), "--yes"])
        .expect_code(0);
    assert_eq!(pds.posts(did).len(), 1);
    // The stored session rotated (refreshSession at the post's start) and is still good.
    home.run(&[
        "post",
        "bluesky",
        video(&home, "b.mp4", 3, 1080, 1080, 200_000)
            .to_str()
            .unwrap(),
        "--yes",
        "--title",
        "second",
    ])
    .expect_code(0);
    assert_eq!(pds.posts(did).len(), 2);
}

#[test]
fn bluesky_real_pds_bad_inputs_exit_2_and_post_nothing() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let home = pds.home(0, "");
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);

    let mov = mov(&home, "clip.mov");
    home.run(&[
        "post",
        "bluesky",
        mov.to_str().unwrap(),
        "--yes",
        "--title",
        "a mov",
    ])
    .expect_code(2)
    .expect_stderr("MP4 (video/mp4) only");

    let file = video(&home, "reel.mp4", 4, 720, 1280, 100_000);
    let long = "é".repeat(301);
    home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--title",
        &long,
    ])
    .expect_code(2)
    .expect_stderr("301 graphemes");
    // 300 graphemes of two bytes each are fine for the lexicon, and for keryx.
    let big = video(&home, "big.mp4", 4, 720, 1280, 3_000_001);
    home.run(&["post", "bluesky", big.to_str().unwrap(), "--yes"])
        .expect_code(2)
        .expect_stderr("takes at most 3000000");
    let srt = home.path().join("captions.vtt");
    std::fs::write(&srt, "1\n00:00:00,000 --> 00:00:02,000\nhi\n").unwrap();
    home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--bluesky-captions",
        srt.to_str().unwrap(),
        "--bluesky-caption-lang",
        "en",
    ])
    .expect_code(2)
    .expect_stderr("not a WebVTT file");
    assert_eq!(pds.posts(&did).len(), 0, "a refused post reached the PDS");
    home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--title",
        &"é".repeat(300),
    ])
    .expect_code(0);
    assert_eq!(pds.posts(&did).len(), 1);
}

#[test]
fn bluesky_real_pds_refuses_a_wrong_app_password_and_warns_about_main_passwords() {
    let Some(pds) = Pds::start() else { return };
    let mut home = pds.home(0, "");
    home.set_env("BLUESKY_APP_PASSWORD", "aaaa-bbbb-cccc-dddd");
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(2)
        .expect_stderr("refused the app password");
    assert!(!home.config().contains("enabled: true"));
    // The main password works, but keryx says why an app password is safer.
    let password = pds.account(0)["password"].as_str().unwrap().to_string();
    home.set_env("BLUESKY_APP_PASSWORD", &password);
    let run = home.run(&["auth", "bluesky", "--app-password"]);
    run.expect_code(0)
        .expect_stderr("does not look like an app password");
    assert!(!run.stdout.contains(&password) && !run.stderr.contains(&password));
    // Without the variable and without a terminal: exit 2 saying where it can come from.
    let mut fresh = pds.home(1, "");
    fresh.env.retain(|(k, _)| k != "BLUESKY_APP_PASSWORD");
    fresh
        .run(&["auth", "bluesky", "--app-password"])
        .expect_code(2)
        .expect_stderr("BLUESKY_APP_PASSWORD");
}

/// Against keryx's emulator: the reply of createRecord is lost after the commit (a 502), and
/// keryx finds the post instead of creating a second one.
#[test]
fn bluesky_lost_create_record_reply_makes_no_duplicate() {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["bluesky"], "");
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    emulator.configure("bluesky", "lose_create_record_reply: [1]\n");
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 300_000);
    let run = home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--title",
        "once",
    ]);
    run.expect_code(0)
        .expect_stdout("https://bsky.app/profile/alice.test/post/");
    let stats = emulator.stats("bluesky");
    assert_eq!(stats["records"].as_array().unwrap().len(), 1, "{stats}");
    assert_eq!(stats["create_record_requests"], 1, "{stats}");
}

/// Against keryx's emulator: an upload that fails with a 5xx, then one whose connection drops,
/// are re-sent whole; the blob stored is the file's.
#[test]
fn bluesky_upload_recovers_from_5xx_and_dropped_connection() {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["bluesky"], "");
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    emulator.configure(
        "bluesky",
        "fail_uploads_with_5xx: [1]\ndrop_connection_on_upload: [2]\n",
    );
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 1_500_000);
    home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--title",
        "retried",
    ])
    .expect_code(0);
    let stats = emulator.stats("bluesky");
    assert_eq!(stats["upload_requests"], 3, "{stats}");
    let sha = sha256_hex(&std::fs::read(&file).unwrap());
    assert_eq!(stats["blobs"][0]["sha256"], sha, "{stats}");
    assert_eq!(stats["records"].as_array().unwrap().len(), 1);
}

/// Against keryx's emulator: a revoked session ends in exit 4 with both ways to sign in again.
#[test]
fn bluesky_revoked_session_exits_4() {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["bluesky"], "");
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    emulator.configure("bluesky", "revoke_sessions: true\n");
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 300_000);
    home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--title",
        "x",
    ])
    .expect_code(4)
    .expect_stderr("keryx auth bluesky");
    assert_eq!(emulator.stats("bluesky")["upload_requests"], 0);
}

/// Against keryx's emulator: OAuth sign-in, then the 14-day session end as the stored session
/// states it: a post within 2 days of it warns, a post after it is exit 4 with both ways out.
#[test]
fn bluesky_oauth_session_end_warns_then_exits_4() {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["bluesky"], "");
    home.set_env("BROWSER", "curl -fsSL -o /dev/null");
    home.run(&["auth", "bluesky"])
        .expect_code(0)
        .expect_stdout("14 days");
    let set_end = |ends_at: i64| {
        let config = home.config_path();
        let stored = keryx_core::config::read_stored_secret(&config, "bluesky/token")
            .unwrap()
            .expect("a stored session");
        let mut set: Value = serde_json::from_str(stored.expose()).unwrap();
        assert_eq!(set["extra"]["kind"], "oauth");
        set["extra"]["session_ends_at"] = serde_json::json!(ends_at);
        let text = keryx_core::Secret::new(set.to_string());
        keryx_core::config::write_stored_secret(&config, "bluesky/token", Some(&text)).unwrap();
    };
    let now = keryx_core::tokens::unix_now();
    set_end(now + 4 * 3600 + 1800);
    let file = video(&home, "reel.mp4", 4, 1080, 1920, 200_000);
    home.run(&[
        "post",
        "bluesky",
        file.to_str().unwrap(),
        "--yes",
        "--title",
        "soon",
    ])
    .expect_code(0)
    .expect_stderr("the Bluesky sign-in ends in 4 hours");
    set_end(now - 60);
    let other = video(&home, "other.mp4", 5, 1080, 1920, 200_000);
    home.run(&[
        "post",
        "bluesky",
        other.to_str().unwrap(),
        "--yes",
        "--title",
        "late",
    ])
    .expect_code(4)
    .expect_stderr("14 days after the login")
    .expect_stderr("--app-password");
    assert_eq!(
        emulator.stats("bluesky")["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
