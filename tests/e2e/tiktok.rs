//! TikTok's own rules, end to end: the rotating refresh token, concurrent posts, its faults and
//! refusals, drafts mode, a real browser and a real keychain.

use std::time::Duration;

use crate::conformance::setup;
use crate::support::*;

fn authorised() -> (Home, EmulatorProcess) {
    let (home, emulator) = setup("tiktok");
    authorise(&home, &emulator, "tiktok").expect_code(0);
    (home, emulator)
}

fn small_video(home: &Home) -> String {
    video(home, "reel.mp4", 10, 1080, 1920, 2 * 1024 * 1024)
        .to_str()
        .unwrap()
        .to_string()
}

/// The stored token set (config file backend) as JSON.
fn stored_token(home: &Home) -> serde_json::Value {
    let config: serde_yaml::Value = serde_yaml::from_str(&home.config()).unwrap();
    let text = config["stored_secrets"]["tiktok/token"]
        .as_str()
        .expect("a stored tiktok token")
        .to_string();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn refresh_token_rotates_across_posts() {
    let (home, emulator) = authorised();
    let video = small_video(&home);
    let first = stored_token(&home)["refresh_token"].clone();
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(0)
        .expect_stdout("PUBLISH_COMPLETE");
    let second = stored_token(&home)["refresh_token"].clone();
    assert_ne!(first, second, "the rotated refresh token was not stored");
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(0);
    assert_ne!(second, stored_token(&home)["refresh_token"]);
    assert_eq!(emulator.stats("tiktok")["live_refresh_tokens"], 1);
}

#[test]
fn eight_concurrent_posts_share_one_rotating_token() {
    let (home, emulator) = authorised();
    let video = small_video(&home);
    let mut children: Vec<_> = (0..8)
        .map(|_| home.spawn(&["post", "tiktok", &video, "--yes"]))
        .collect();
    for child in &mut children {
        let status = wait_with_timeout(child, Duration::from_secs(120));
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "a concurrent post failed:\n{stderr}"
        );
    }
    let stats = emulator.stats("tiktok");
    assert_eq!(stats["live_refresh_tokens"], 1, "{stats}");
    assert_eq!(stats["posts_completed"], 8, "{stats}");
    // The one token left is the stored one: a ninth post still works.
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(0);
}

/// Twenty posts at once on one account meet TikTok's per-token limit of 6 inits a window: each
/// waits out the window (scaled to 3 s here, with the client's waits scaled alike by
/// `KERYX_RETRY_BASE_MS`) instead of giving up, and every one is published, once.
///
/// The limit is per access token. Each post mints its own token, asks creator_info with it,
/// then publishes with the newest token stored. The emulator's gate holds the twenty
/// creator_info calls until the last has arrived, so every mint is done when the first
/// publish starts and all twenty inits share one token (a loaded machine would otherwise start
/// the processes too far apart to share any).
#[test]
fn twenty_concurrent_posts_wait_out_the_init_rate_limit() {
    let (mut home, emulator) = authorised();
    emulator.configure(
        "tiktok",
        "rate_limits: {video_init: 6, window_ms: 3000}\ndaily_post_cap: 100\n",
    );
    emulator.gate("POST", "/v2/post/publish/creator_info/query/", 20);
    home.set_env("KERYX_RETRY_BASE_MS", "100");
    let video = small_video(&home);
    let mut children: Vec<_> = (0..20)
        .map(|_| home.spawn(&["post", "tiktok", &video, "--yes"]))
        .collect();
    for child in &mut children {
        let status = wait_with_timeout(child, Duration::from_secs(240));
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "a concurrent post failed:\n{stderr}"
        );
    }
    let stats = emulator.stats("tiktok");
    assert_eq!(stats["posts_completed"], 20, "{stats}");
    assert_eq!(stats["inits"], 20, "a post was started twice: {stats}");
    // Twenty inits on one token at six a window: at least fourteen were refused first.
    assert!(
        stats["rate_limited"].as_u64() >= Some(14),
        "the limit was not met as expected: {stats}"
    );
    assert_eq!(stats["live_refresh_tokens"], 1, "{stats}");
}

#[test]
fn a_reused_refresh_token_says_to_authorise_again() {
    let (home, _emulator) = authorised();
    let video = small_video(&home);
    let before = home.config();
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(0);
    // Someone restores an old copy of the config (and so the old, rotated-away token).
    home.write_config(&before);
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(4)
        .expect_stderr("keryx auth tiktok");
}

#[test]
fn recovers_from_rate_limited_init_and_failing_token_endpoint() {
    let (home, emulator) = authorised();
    emulator.configure(
        "tiktok",
        "rate_limit_init_once: true\ntoken_5xx_once: true\n",
    );
    home.run(&["post", "tiktok", &small_video(&home), "--yes"])
        .expect_code(0);
}

#[test]
fn creator_who_cannot_post_is_told_why_and_nothing_is_sent() {
    let (home, emulator) = authorised();
    emulator.configure("tiktok", "creator_cannot_post: spam_risk_too_many_posts\n");
    home.run(&["post", "tiktok", &small_video(&home), "--yes"])
        .expect_code(1)
        .expect_stderr("too much");
    assert_eq!(emulator.stats("tiktok")["upload_puts"], 0);
}

#[test]
fn video_too_long_for_the_creator() {
    let (home, emulator) = authorised();
    emulator.configure("tiktok", "max_video_post_duration_sec: 60\n");
    let long = video(&home, "long.mp4", 120, 1080, 1920, 1024 * 1024);
    home.run(&["post", "tiktok", long.to_str().unwrap(), "--yes"])
        .expect_code(2)
        .expect_stderr("60 s");
    assert_eq!(emulator.stats("tiktok")["upload_puts"], 0);
}

#[test]
fn privacy_must_be_within_the_cap_and_offered() {
    let (home, _emulator) = authorised();
    let video = small_video(&home);
    home.run(&[
        "post",
        "tiktok",
        &video,
        "--yes",
        "--privacy",
        "PUBLIC_TO_EVERYONE",
    ])
    .expect_code(2)
    .expect_stderr("more open than the config allows");
    home.run(&["post", "tiktok", &video, "--yes", "--privacy", "sometimes"])
        .expect_code(2)
        .expect_stderr("SELF_ONLY");
    // Raise the cap: the (private) account still does not offer PUBLIC_TO_EVERYONE.
    let config = home
        .config()
        .replace("privacy: SELF_ONLY", "privacy: PUBLIC_TO_EVERYONE");
    home.write_config(&config);
    home.run(&[
        "post",
        "tiktok",
        &video,
        "--yes",
        "--privacy",
        "PUBLIC_TO_EVERYONE",
    ])
    .expect_code(2)
    .expect_stderr("does not offer");
}

#[test]
fn branded_content_cannot_be_private() {
    let (home, _emulator) = authorised();
    home.run(&[
        "post",
        "tiktok",
        &small_video(&home),
        "--yes",
        "--tiktok-branded-content",
    ])
    .expect_code(2)
    .expect_stderr("Branded content");
}

#[test]
fn json_result() {
    let (home, _emulator) = authorised();
    let result = home
        .run(&[
            "post",
            "tiktok",
            &small_video(&home),
            "--yes",
            "--json",
            "--title",
            "Sunset",
        ])
        .expect_code(0)
        .json();
    assert_eq!(result["ok"], true);
    assert_eq!(result["platform"], "tiktok");
    assert_eq!(result["status"], "PUBLISH_COMPLETE");
    assert_eq!(result["privacy"], "SELF_ONLY");
    assert!(result["id"].as_str().unwrap().starts_with("v_pub_file~"));
}

#[test]
fn dry_run_sends_nothing() {
    let (home, emulator) = authorised();
    let run = home.run(&["post", "tiktok", &small_video(&home), "--yes", "--dry-run"]);
    run.expect_code(0).expect_stdout("chunk");
    assert_eq!(emulator.stats("tiktok")["inits"], 0);
}

#[test]
fn drafts_mode_ends_in_the_inbox() {
    let (mut home, emulator) = setup("tiktok");
    let config = home
        .config()
        .replace("  tiktok:\n", "  tiktok:\n    mode: inbox\n");
    home.write_config(&config);
    let _ = &mut home;
    authorise(&home, &emulator, "tiktok").expect_code(0);
    home.run(&["post", "tiktok", &small_video(&home), "--yes"])
        .expect_code(0)
        .expect_stdout("SEND_TO_USER_INBOX")
        .expect_stdout("TikTok app");
}

/// On a terminal, `keryx post tiktok` walks TikTok's required posting UX (reference §9.4):
/// nickname, editable caption, disclosure question, privacy with no preset, interactions off
/// by default, the exact consent line, and a confirmation before anything is sent.
#[test]
fn terminal_walks_the_posting_ux() {
    if !std::path::Path::new("/usr/bin/script").exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "`script` (bsdutils) is required under CI"
        );
        eprintln!("SKIPPED: `script` is not installed; it gives keryx a terminal in this test");
        return;
    }
    let (home, emulator) = authorised();
    let video = small_video(&home);
    let command = format!("{KERYX} post tiktok {video} --title 'Sunset over the ridge'");
    let run_with_answers = |answers: &str| {
        // `script` gives keryx a pseudo-terminal; the environment is `home.command`'s.
        let mut cmd = std::process::Command::new("/usr/bin/script");
        cmd.args(["-qefc", &command, "/dev/null"]);
        cmd.env_clear();
        for (key, value) in home.command(&[]).get_envs() {
            if let Some(value) = value {
                cmd.env(key, value);
            }
        }
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        write_stdin(&mut child, answers);
        let status = wait_with_timeout(&mut child, Duration::from_secs(60));
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
        (status, out)
    };

    // Keep the caption, no disclosure, declining the final confirmation: nothing is sent.
    let (status, out) = run_with_answers("\nn\n1\nn\nn\n");
    assert_eq!(status.code(), Some(2), "{out}");
    for expected in [
        "posting as Keryx Demo",
        "Caption [Sunset over the ridge]",
        "Who can see this video?",
        "Allow comments? [y/N]",
        "By posting, you agree to TikTok's Music Usage Confirmation",
        "Post this video to TikTok now? [y/N]",
        "nothing was sent",
    ] {
        assert!(
            out.contains(expected),
            "the terminal lacks {expected:?}:\n{out}"
        );
    }
    assert_eq!(emulator.stats("tiktok")["inits"], 0);

    // Your brand, comments on, confirmed: posted with exactly those choices.
    let (status, out) = run_with_answers("\ny\n1\n1\ny\ny\n");
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("Promotional content"), "{out}");
    let stats = emulator.stats("tiktok");
    let post_info = &stats["publishes"][0]["post_info"];
    assert_eq!(post_info["privacy_level"], "SELF_ONLY", "{stats}");
    assert_eq!(post_info["disable_comment"], false, "{stats}");
    assert_eq!(post_info["brand_organic_toggle"], true, "{stats}");
    assert_eq!(post_info["brand_content_toggle"], false, "{stats}");
}

/// A rate limit that outlasts the retry budget ends in exit 1 naming TikTok's error, read from
/// the envelope whichever shape its `data` has (`{}` or missing, reference §5.4), never "keryx
/// cannot read".
#[test]
fn a_persistent_rate_limit_ends_in_exit_1_naming_the_limit() {
    for shape in ["empty_object", "omitted"] {
        let (mut home, emulator) = authorised();
        home.set_env("KERYX_RETRY_BUDGET_MS", "1500");
        // The first status poll passes; every later one within the minute is over the limit.
        emulator.configure(
            "tiktok",
            &format!(
                "error_data: {shape}\nrate_limits: {{status_fetch: 1}}\npolls_until_complete: 3\n"
            ),
        );
        let video = small_video(&home);
        let run = home.run(&["post", "tiktok", &video, "--yes"]);
        run.expect_code(1)
            .expect_stderr("rate_limit_exceeded")
            .expect_stderr("rate limiting keryx")
            .expect_stderr("gave up after");
        assert!(
            !run.stderr.contains("cannot read"),
            "{shape}: {}",
            run.stderr
        );
        assert!(emulator.stats("tiktok")["rate_limited"].as_u64() >= Some(2));
    }
}

/// Whether TikTok echoes `state` on an error redirect is unverified (reference §2), and the
/// emulator's default leaves it out. A decline without `state` cannot be told from a stray, so
/// it does not end the wait: the browser's page says so and what to do, and the timeout
/// message names it. The user, who did decline, is not left guessing.
#[test]
fn a_decline_without_state_is_explained_not_trusted() {
    let (home, emulator) = setup("tiktok");
    emulator.configure("tiktok", "deny_authorization: true\n");
    let mut child = home.spawn(&["auth", "tiktok", "--no-browser", "--timeout", "3s"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    let redirect = approval_redirect(&emulator, &url);
    assert!(!redirect.contains("state="), "{redirect}");
    let page = emulator.http().get(&redirect).send().unwrap();
    assert_eq!(page.status(), 400);
    let page = page.text().unwrap();
    assert!(page.contains("error=access_denied"), "{page}");
    assert!(page.contains("Ctrl-C"), "{page}");
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    let stderr = lines.rest();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ignored 1 callback that did not carry this authorisation's `state`: a callback with `error=access_denied` and no `state`"),
        "{stderr}"
    );
    assert!(!home.config().contains("enabled: true"));
}

/// TikTok's own options arrive as `--tiktok-*` flags and as keys of the sidecar's `tiktok:`
/// section: the cover frame becomes `video_cover_timestamp_ms`, comments are allowed.
#[test]
fn platform_options_from_flags_and_the_sidecar() {
    let (home, emulator) = authorised();
    let video = small_video(&home);
    home.run(&[
        "post",
        "tiktok",
        &video,
        "--yes",
        "--tiktok-cover-at",
        "2.5s",
        "--tiktok-allow-comments",
    ])
    .expect_code(0);
    let sidecar = home.path().join("reel.keryx.yaml");
    std::fs::write(
        &sidecar,
        "title: From the sidecar\ntiktok: { cover_at: 4 }\n",
    )
    .unwrap();
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(0);
    let publishes = emulator.stats("tiktok")["publishes"].clone();
    let first = &publishes[0]["post_info"];
    assert_eq!(first["video_cover_timestamp_ms"], 2500, "{first}");
    assert_eq!(first["disable_comment"], false, "{first}");
    let second = &publishes[1]["post_info"];
    assert_eq!(second["video_cover_timestamp_ms"], 4000, "{second}");
    assert_eq!(second["title"], "From the sidecar", "{second}");

    // A cover past the end, a bad time, and another platform's option in the section.
    home.run(&[
        "post",
        "tiktok",
        &video,
        "--yes",
        "--tiktok-cover-at",
        "11s",
    ])
    .expect_code(2)
    .expect_stderr("past the end");
    home.run(&[
        "post",
        "tiktok",
        &video,
        "--yes",
        "--tiktok-cover-at",
        "soon",
    ])
    .expect_code(2)
    .expect_stderr("not a time");
    std::fs::write(&sidecar, "tiktok:\n  category: \"22\"\n").unwrap();
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(2)
        .expect_stderr("reel.keryx.yaml:2:")
        .expect_stderr("unknown key `category` in the tiktok section");
    assert_eq!(
        emulator.stats("tiktok")["publishes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A revocation TikTok never answers keeps everything: the token, `enabled`, and a way to try
/// again; nothing is forgotten that could no longer be revoked.
#[test]
fn a_revocation_that_never_answers_forgets_nothing() {
    let (mut home, emulator) = authorised();
    home.set_env("KERYX_REPLY_TIMEOUT_MS", "300");
    home.set_env("KERYX_RETRY_BUDGET_MS", "1500");
    let before = stored_token(&home);
    emulator.stall("POST", "/v2/oauth/revoke/", 1000);
    home.run(&["auth", "tiktok", "--remove"])
        .expect_code(1)
        .expect_stderr("revoke endpoint")
        .expect_stderr("nothing was forgotten");
    assert_eq!(stored_token(&home), before);
    assert!(home.config().contains("enabled: true"));
}
