//! Instagram's own rules, end to end through the binary: Meta's `#_`, declined permissions,
//! two linked accounts as two targets (`--account` picking one, the default keeping its own,
//! one dying alone), an existing token, resumed and restarted uploads, processing errors,
//! the publishing limit in preflight, a publish that failed but went live, `kill -9` after
//! the upload, and every bad input refused before a byte is sent.

use std::time::{Duration, Instant};

use crate::conformance::setup;
use crate::ffmpeg::Ffmpeg;
use crate::support::*;

const IG: &str = "instagram";

fn authorised() -> (Home, EmulatorProcess) {
    let (home, emulator) = setup(IG);
    authorise(&home, &emulator, IG).expect_code(0);
    (home, emulator)
}

fn reel(home: &Home, seconds: u64, size: u64) -> String {
    video(home, "reel.mp4", seconds, 1080, 1920, size)
        .to_str()
        .unwrap()
        .to_string()
}

fn stat(emulator: &EmulatorProcess, key: &str) -> u64 {
    emulator.stats(IG)[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key}"))
}

fn stored_token(home: &Home) -> serde_json::Value {
    let config: serde_yaml::Value = serde_yaml::from_str(&home.config()).unwrap();
    let text = config["stored_secrets"]["instagram/token"]
        .as_str()
        .expect("a stored token")
        .to_string();
    serde_json::from_str(&text).unwrap()
}

/// The token set stored under `name` (config file backend), if any.
fn stored(home: &Home, name: &str) -> Option<serde_json::Value> {
    let config: serde_yaml::Value = serde_yaml::from_str(&home.config()).unwrap();
    config["stored_secrets"][name]
        .as_str()
        .map(|text| serde_json::from_str(text).unwrap())
}

/// The user shares these Pages with the app on Meta's dialog (the emulator's first two have
/// an Instagram account each, the third none).
const TWO_PAGES: &str =
    "select_pages: [Keryx Demo, Keryx Side Project, Keryx Blog (no Instagram)]\n";
const DEMO: &str = "17841400000000001";
const SIDE: &str = "17841400000000002";

/// The Instagram accounts the emulator's published media belong to, sorted.
fn publishers(emulator: &EmulatorProcess) -> Vec<String> {
    let mut owners: Vec<String> = emulator.stats(IG)["media"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["owner"].as_str().unwrap().to_string())
        .collect();
    owners.sort();
    owners
}

fn entry<'a>(results: &'a serde_json::Value, account: &str) -> &'a serde_json::Value {
    results
        .as_array()
        .expect("an array of results")
        .iter()
        .find(|e| e["platform"] == IG && e["account_name"] == account)
        .unwrap_or_else(|| panic!("no instagram:{account} in {results}"))
}

/// Two linked accounts, both stored by one `keryx auth instagram` as accounts of their own.
fn two_accounts() -> (Home, EmulatorProcess) {
    let (home, emulator) = setup(IG);
    emulator.configure(IG, TWO_PAGES);
    authorise(&home, &emulator, IG)
        .expect_code(0)
        .expect_stdout("@keryx.demo → instagram:keryx-demo")
        .expect_stdout("@keryx.side → instagram:keryx-side")
        .expect_stdout("has no linked Instagram professional account");
    (home, emulator)
}

#[test]
fn one_linked_account_is_the_default_account_with_its_page_token() {
    let (home, emulator) = setup(IG);
    let run = authorise(&home, &emulator, IG);
    run.expect_code(0)
        .expect_stdout("Authorised Instagram as keryx.demo");
    let token = stored_token(&home);
    assert_eq!(token["extra"]["ig_user_id"], DEMO);
    assert_eq!(token["subject"], DEMO);
    assert!(
        token["access_token"].as_str().unwrap().starts_with("EAAP"),
        "the Page token is stored"
    );
    assert!(
        token["refresh_token"].as_str().unwrap().starts_with("EAAL"),
        "the long-lived user token is kept"
    );
    assert!(!home.config().contains("accounts:"), "{}", home.config());
}

#[test]
fn two_linked_accounts_become_two_targets_and_post_all_reaches_each() {
    let (home, emulator) = two_accounts();
    assert!(
        stored(&home, "instagram/token").is_none(),
        "{}",
        home.config()
    );
    let demo = stored(&home, "instagram/keryx-demo/token").expect("keryx-demo's token");
    let side = stored(&home, "instagram/keryx-side/token").expect("keryx-side's token");
    assert_eq!(demo["subject"], DEMO);
    assert_eq!(side["subject"], SIDE);
    assert_eq!(side["extra"]["ig_user_id"], SIDE);
    assert_ne!(
        demo["access_token"], side["access_token"],
        "each its Page token"
    );
    let config: serde_yaml::Value = serde_yaml::from_str(&home.config()).unwrap();
    let accounts = &config["platforms"][IG]["accounts"];
    assert_eq!(accounts["keryx-demo"]["enabled"], true, "{}", home.config());
    assert_eq!(accounts["keryx-side"]["enabled"], true, "{}", home.config());
    assert!(accounts["default"].is_null(), "{}", home.config());

    let video = reel(&home, 5, 300_000);
    home.run(&["post", IG, &video, "--yes"])
        .expect_code(2)
        .expect_stderr("instagram has 2 enabled accounts: keryx-demo, keryx-side");
    let run = home.run(&["post", "all", &video, "--yes", "--json", "--title", "Both"]);
    run.expect_code(0);
    let results = run.json();
    assert_eq!(results.as_array().unwrap().len(), 2, "{results}");
    assert_eq!(entry(&results, "keryx-demo")["result"], "posted");
    assert_eq!(entry(&results, "keryx-side")["result"], "posted");
    assert_eq!(publishers(&emulator), [DEMO, SIDE]);
    let containers = emulator.stats(IG)["containers"].clone();
    let mut owners: Vec<&str> = containers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ig_user"].as_str().unwrap())
        .collect();
    owners.sort();
    assert_eq!(owners, [DEMO, SIDE], "one container each: {containers}");

    // A named target posts there only.
    let other = video_named(&home, "other.mp4");
    home.run(&["post", "instagram:keryx-side", &other, "--yes"])
        .expect_code(0)
        .expect_stdout("PUBLISHED");
    assert_eq!(publishers(&emulator), [DEMO, SIDE, SIDE]);
}

fn video_named(home: &Home, name: &str) -> String {
    video(home, name, 6, 1080, 1920, 310_000)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn account_picks_one_of_several_and_an_unknown_name_exits_2_listing_them() {
    let (home, emulator) = setup(IG);
    emulator.configure(IG, TWO_PAGES);
    authorise_with(&home, &emulator, IG, &["--account", "nobody"])
        .expect_code(2)
        .expect_stderr("named `nobody`")
        .expect_stderr("keryx-demo (@keryx.demo), keryx-side (@keryx.side)")
        .expect_stderr("leave out --account to store every one");
    assert!(!home.config().contains("nobody"), "{}", home.config());
    authorise_with(&home, &emulator, IG, &["--account", "keryx-side"])
        .expect_code(0)
        .expect_stdout("(account keryx-side) as keryx.side");
    assert_eq!(
        stored(&home, "instagram/keryx-side/token").unwrap()["subject"],
        SIDE
    );
    assert!(stored(&home, "instagram/keryx-demo/token").is_none());
    assert!(stored(&home, "instagram/token").is_none());
    let video = reel(&home, 5, 300_000);
    home.run(&["post", "all", &video, "--yes"]).expect_code(0);
    assert_eq!(publishers(&emulator), [SIDE]);
}

#[test]
fn the_account_the_default_holds_stays_there_and_the_others_are_added() {
    let (home, emulator) = authorised();
    let before = stored_token(&home);
    assert_eq!(before["subject"], DEMO);
    emulator.configure(IG, TWO_PAGES);
    authorise(&home, &emulator, IG)
        .expect_code(0)
        .expect_stdout("@keryx.demo → instagram (")
        .expect_stdout("stored there already: token renewed")
        .expect_stdout("@keryx.side → instagram:keryx-side");
    assert_eq!(stored_token(&home)["subject"], DEMO);
    assert!(stored(&home, "instagram/keryx-demo/token").is_none());
    assert_eq!(
        stored(&home, "instagram/keryx-side/token").unwrap()["subject"],
        SIDE
    );
    let config: serde_yaml::Value = serde_yaml::from_str(&home.config()).unwrap();
    let accounts = &config["platforms"][IG]["accounts"];
    assert_eq!(accounts["default"]["enabled"], true, "{}", home.config());
    assert_eq!(accounts["keryx-side"]["enabled"], true, "{}", home.config());
    let video = reel(&home, 5, 300_000);
    let run = home.run(&["post", "all", &video, "--yes", "--json"]);
    run.expect_code(0);
    assert_eq!(entry(&run.json(), "default")["result"], "posted");
    assert_eq!(publishers(&emulator), [DEMO, SIDE]);
    // Naming the default's account as a second account is the same person twice: refused.
    authorise_with(&home, &emulator, IG, &["--account", "keryx-demo"])
        .expect_code(2)
        .expect_stderr("already authorised as instagram");
}

#[test]
fn one_account_whose_page_token_died_fails_alone_with_exit_4() {
    let (home, emulator) = two_accounts();
    // The Facebook user loses their role on the side project's Page: its tokens die (190) and
    // the user token cannot read it again; the other Page is untouched.
    emulator.configure(IG, "remove_page_role: [Keryx Side Project]\n");
    let video = reel(&home, 5, 300_000);
    let run = home.run(&["post", "all", &video, "--yes", "--json"]);
    run.expect_code(4);
    let results = run.json();
    assert_eq!(
        entry(&results, "keryx-demo")["result"],
        "posted",
        "{results}"
    );
    let failed = entry(&results, "keryx-side");
    assert_eq!(failed["result"], "failed", "{results}");
    let text = failed["errors"][0].to_string();
    assert!(text.contains("Page 100000000000102"), "{results}");
    assert!(
        text.contains("keryx auth instagram:keryx-side"),
        "{results}"
    );
    assert_eq!(publishers(&emulator), [DEMO]);
    // Authorising again finds only the Page still shared, and its account keeps its name.
    authorise(&home, &emulator, IG)
        .expect_code(0)
        .expect_stdout("stored as instagram:keryx-demo, which already held @keryx.demo");
    assert!(
        stored(&home, "instagram/token").is_none(),
        "{}",
        home.config()
    );
}

#[test]
fn meta_hash_suffix_is_ignored_in_a_pasted_code() {
    let (home, emulator) = setup(IG);
    emulator.configure(IG, "redirect_suffix: \"#_\"\n");
    let mut child = home.spawn(&["auth", IG, "--no-browser"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let redirect = approval_redirect(&emulator, &url);
    assert!(redirect.ends_with("#_"), "{redirect}");
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    home.run(&["auth", IG, "--code", &format!("{code}#_")])
        .expect_code(0)
        .expect_stdout("Authorised");
}

#[test]
fn a_declined_permission_is_named() {
    let (home, emulator) = setup(IG);
    emulator.configure(IG, "decline_scopes: [instagram_content_publish]\n");
    let mut child = home.spawn(&["auth", IG, "--no-browser"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    approve_in_browser(&emulator, &url);
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    let stderr = lines.rest();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("lacks instagram_content_publish"),
        "{stderr}"
    );
    assert!(!home.config().contains("enabled: true"));
}

#[test]
fn an_existing_token_is_checked_then_posts_without_the_app_secret() {
    let (first, emulator) = authorised();
    let page_token = stored_token(&first)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut home = Home::new();
    configure_for_emulator(&mut home, &emulator, &[IG], "");
    home.env.retain(|(k, _)| *k != "INSTAGRAM_APP_SECRET");
    home.run(&[
        "auth",
        IG,
        "--instagram-token",
        "EAAPforged",
        "--instagram-ig-user-id",
        "17841400000000001",
    ])
    .expect_code(4)
    .expect_stderr("keryx auth instagram");
    home.run(&["auth", IG, "--instagram-token", &page_token])
        .expect_code(2)
        .expect_stderr("go together");
    home.run(&[
        "auth",
        IG,
        "--instagram-token",
        &page_token,
        "--instagram-ig-user-id",
        "@keryx",
    ])
    .expect_code(2);
    let run = home.run(&[
        "auth",
        IG,
        "--instagram-token",
        &page_token,
        "--instagram-ig-user-id",
        "17841400000000001",
    ]);
    run.expect_code(0)
        .expect_stdout("Authorised Instagram as keryx.demo");
    assert!(!run.stdout.contains(&page_token) && !run.stderr.contains(&page_token));
    let video = reel(&home, 5, 300_000);
    home.run(&["post", IG, &video, "--yes", "--title", "Token"])
        .expect_code(0)
        .expect_stdout("PUBLISHED");
    home.run(&["auth", "tiktok", "--instagram-token", "x"])
        .expect_code(2);
}

#[test]
fn a_multi_range_upload_resumes_after_a_dropped_connection_in_either_spelling() {
    for spelling in ["bytes_transferred", "bytes_transfered"] {
        let (home, emulator) = authorised();
        emulator.configure(
            IG,
            &format!("drop_connection_on_rupload: [2]\nresume_field: {spelling}\n"),
        );
        let path = video(&home, "reel.mp4", 20, 1080, 1920, 4 * 512 * 1024 + 777);
        let result = home
            .run(&[
                "post",
                IG,
                path.to_str().unwrap(),
                "--yes",
                "--json",
                "--title",
                "Resumed",
            ])
            .expect_code(0)
            .json();
        assert_eq!(result["ok"], true, "{result}");
        let stats = emulator.stats(IG);
        assert!(stats["rupload_posts"].as_u64().unwrap() >= 5, "{stats}");
        assert_eq!(stats["containers_created"], 1, "{stats}");
        let sha = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(keryx_core::media::fingerprint(&path))
            .unwrap();
        assert_eq!(
            stats["media"]["items"][0]["sha256"],
            sha.as_str(),
            "the bytes Meta holds differ"
        );
        let sent_twice =
            stats["bytes_received"].as_u64().unwrap() - std::fs::metadata(&path).unwrap().len();
        assert!(
            sent_twice <= 512 * 1024,
            "resumed from far back: {sent_twice} bytes again"
        );
    }
}

#[test]
fn a_processing_failed_container_is_replaced_once() {
    let (home, emulator) = authorised();
    emulator.configure(IG, "processing_failed_on_rupload: [1]\n");
    let video = reel(&home, 5, 300_000);
    home.run(&["post", IG, &video, "--yes"])
        .expect_code(0)
        .expect_stderr("ProcessingFailedError");
    assert_eq!(stat(&emulator, "containers_created"), 2);
    let (home, emulator) = authorised();
    emulator.configure(IG, "processing_failed_on_rupload: [1, 2]\n");
    let video = reel(&home, 5, 300_000);
    home.run(&["post", IG, &video, "--yes"])
        .expect_code(1)
        .expect_stderr("second container");
    assert_eq!(stat(&emulator, "publish_calls"), 0);
}

#[test]
fn a_processing_error_says_what_to_do() {
    let (home, emulator) = authorised();
    emulator.configure(IG, "processing_error: 2207082\n");
    let video = reel(&home, 5, 300_000);
    home.run(&["post", IG, &video, "--yes"])
        .expect_code(1)
        .expect_stderr("2207082")
        .expect_stderr("ffmpeg");
    assert_eq!(stat(&emulator, "publish_calls"), 0);
}

#[test]
fn an_edit_list_gets_a_warning_with_the_remux_that_removes_it() {
    // B-frames: ffmpeg hides their delay with an edit list, which Meta's spec forbids
    // (reference §4). keryx warns with the remux, and posts; the remuxed file gets no warning.
    let Some(ff) = Ffmpeg::find("an_edit_list_gets_a_warning_with_the_remux_that_removes_it")
    else {
        return;
    };
    let (home, emulator) = authorised();
    let edited = home.path().join("edited.mp4");
    let codec = [
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "veryfast",
        "-bf",
        "2",
        "-g",
        "10",
        "-crf",
        "45",
        "-movflags",
        "+faststart",
    ];
    ff.video(&edited, "64x48", 5, 4.0, &codec);
    let edited = edited.to_str().unwrap();
    let fix = format!("ffmpeg -i {edited} -c copy -movflags +faststart -use_editlist 0 OUT.mp4");
    let run = home.run(&["post", IG, edited, "--yes", "--dry-run", "--json"]);
    let plan = run
        .expect_code(0)
        .expect_stderr("an edit list")
        .expect_stderr(&fix)
        .json();
    assert_eq!(plan["video"]["edit_list"], true, "{plan}");
    assert_eq!(plan["video"]["moov_before_mdat"], true, "{plan}");
    // A warning, not a refusal: the post goes through.
    home.run(&["post", IG, edited, "--yes"])
        .expect_code(0)
        .expect_stderr(&fix);
    assert_eq!(stat(&emulator, "publish_calls"), 1);
    // The command it names is the fix.
    let fixed = home.path().join("fixed.mp4");
    let remux = [
        "-i",
        edited,
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "-use_editlist",
        "0",
    ];
    ff.make(&fixed, &remux);
    let run = home.run(&[
        "post",
        IG,
        fixed.to_str().unwrap(),
        "--yes",
        "--dry-run",
        "--json",
    ]);
    let plan = run.expect_code(0).json();
    assert_eq!(plan["video"]["edit_list"], false, "{plan}");
    assert!(!run.stderr.contains("edit list"), "{}", run.stderr);
}

#[test]
fn an_exhausted_quota_stops_the_post_in_preflight() {
    let (home, emulator) = authorised();
    emulator.configure(IG, "quota_total: 25\nquota_used: 25\n");
    let video = reel(&home, 5, 300_000);
    home.run(&["post", IG, &video, "--yes"])
        .expect_code(1)
        .expect_stderr("25 API posts")
        .expect_stderr("content_publishing_limit");
    assert_eq!(stat(&emulator, "containers_created"), 0);
    assert_eq!(stat(&emulator, "rupload_posts"), 0);
}

#[test]
fn a_publish_that_failed_but_went_live_is_not_repeated() {
    let (home, emulator) = authorised();
    emulator.configure(IG, "publish_error_but_live: [1]\n");
    let video = reel(&home, 5, 300_000);
    let result = home
        .run(&["post", IG, &video, "--yes", "--json"])
        .expect_code(0)
        .json();
    assert!(
        result["url"]
            .as_str()
            .unwrap()
            .starts_with("https://www.instagram.com/reel/"),
        "{result}"
    );
    assert_eq!(stat(&emulator, "publish_calls"), 1);
    assert_eq!(emulator.stats(IG)["media"]["count"], 1);
}

#[test]
fn a_publish_that_failed_and_did_not_go_live_is_sent_again_once() {
    // The same post twice, each on a fresh emulator: the first measures where `media_publish`
    // falls among the Graph requests (second to last; the read-back is last), the second has
    // exactly that request answer 500 before it publishes anything.
    let measure = || {
        let (home, emulator) = authorised();
        let video = reel(&home, 5, 300_000);
        (home, emulator, video)
    };
    let (home, emulator, video) = measure();
    home.run(&["post", IG, &video, "--yes"]).expect_code(0);
    let publish_at = stat(&emulator, "graph_requests") - 1;
    let (home, emulator, video) = measure();
    emulator.configure(IG, &format!("fail_graph_with_5xx: [{publish_at}]\n"));
    let result = home
        .run(&["post", IG, &video, "--yes", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(result["status"], "PUBLISHED", "{result}");
    // One publish reached the emulator's publishing (the 500 came first), one post exists,
    // and the container was checked in between: one Graph request more than unfailed.
    assert_eq!(stat(&emulator, "publish_calls"), 1);
    assert_eq!(emulator.stats(IG)["media"]["count"], 1);
    assert_eq!(stat(&emulator, "graph_requests"), publish_at + 3);
}

#[test]
fn kill_9_after_the_upload_then_a_rerun_publishes_exactly_once() {
    let (home, emulator) = authorised();
    emulator.configure(IG, "never_finish: true\n");
    let size = 3 * 512 * 1024;
    let video = reel(&home, 10, size);
    let mut child = home.spawn(&["post", IG, &video, "--yes", "--title", "Killed"]);
    let start = Instant::now();
    loop {
        let stats = emulator.stats(IG);
        if stats["containers"][0]["received"].as_u64() == Some(size)
            && stats["status_polls"].as_u64().unwrap() >= 2
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the upload did not finish: {stats}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind
    child.wait().unwrap();
    let uploads = stat(&emulator, "rupload_posts");
    emulator.configure(IG, "never_finish: false\n");
    home.run(&["post", IG, &video, "--yes", "--title", "Killed"])
        .expect_code(0)
        .expect_stdout("PUBLISHED");
    assert_eq!(
        stat(&emulator, "rupload_posts"),
        uploads,
        "the rerun uploaded again"
    );
    assert_eq!(stat(&emulator, "containers_created"), 1);
    assert_eq!(stat(&emulator, "publish_calls"), 1);
    // `post all` consults the ledger: the rerun's post is recorded, nothing is sent again.
    home.run(&["post", "all", &video, "--yes", "--title", "Killed"])
        .expect_code(0)
        .expect_stdout("already posted");
    assert_eq!(emulator.stats(IG)["media"]["count"], 1, "posted twice");
}

#[test]
fn bad_inputs_exit_2_before_a_byte_is_sent() {
    let (home, emulator) = authorised();
    let ok = reel(&home, 5, 300_000);
    let short = video(&home, "short.mp4", 2, 1080, 1920, 200_000);
    let wide = video(&home, "wide.mp4", 5, 2160, 3840, 300_000);
    let long_title = "x".repeat(2201);
    let tags: Vec<String> = (0..31)
        .flat_map(|i| ["--tag".to_string(), format!("t{i}")])
        .collect();
    let mentions: String = (0..21).map(|i| format!("@user{i} ")).collect();
    let mut cases: Vec<(Vec<String>, &str)> = vec![
        (vec![short.to_str().unwrap().into()], "3 s to 15 min"),
        (vec![wide.to_str().unwrap().into()], "1920"),
        (vec![ok.clone(), "--title".into(), long_title], "2200"),
        (vec![ok.clone(), "--title".into(), mentions], "@-mentions"),
        (
            vec![ok.clone(), "--privacy".into(), "public".into()],
            "no --privacy",
        ),
        (
            vec![ok.clone(), "--instagram-cover-at".into(), "9s".into()],
            "past the end",
        ),
    ];
    let mut hashtags = vec![ok.clone()];
    hashtags.extend(tags);
    cases.push((hashtags, "31 hashtags"));
    for (args, needle) in cases {
        let mut all = vec!["post", IG];
        all.extend(args.iter().map(String::as_str));
        all.push("--yes");
        home.run(&all).expect_code(2).expect_stderr(needle);
    }
    let mut small = Home::new();
    configure_for_emulator(&mut small, &emulator, &[IG], "");
    let config = small
        .config()
        .replace("    app_id:", "    max_video_bytes: 1000\n    app_id:");
    small.write_config(&config);
    authorise(&small, &emulator, IG).expect_code(0);
    small
        .run(&["post", IG, &ok, "--yes"])
        .expect_code(2)
        .expect_stderr("max_video_bytes");
    assert_eq!(stat(&emulator, "containers_created"), 0);
    assert_eq!(stat(&emulator, "rupload_posts"), 0);
}

#[test]
fn an_expired_user_token_ends_in_exit_4_with_the_fix() {
    let (home, emulator) = authorised();
    // 70 days later: the long-lived user token (60 days) cannot be exchanged again.
    emulator.configure(IG, "advance_clock_secs: 6048000\n");
    let video = reel(&home, 5, 300_000);
    home.run(&["post", IG, &video, "--yes"])
        .expect_code(4)
        .expect_stderr("463")
        .expect_stderr("keryx auth instagram");
    assert_eq!(stat(&emulator, "containers_created"), 0);
}
