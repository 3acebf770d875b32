//! Several accounts on several platforms at once, through the binary: two TikTok users and two
//! YouTube channels in one `post all`, each post in its own account, in parallel; one channel's
//! authorisation revoked failing alone; two Bluesky handles with their own app passwords and
//! repos, and one DID refused under a second account name.
//!
//! The emulators play whichever person their knobs name at the consent page: TikTok's and
//! YouTube's `browser_user` (each with their own id, tokens and uploads); Bluesky's accounts
//! are handles, each with its own app password.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;

/// The YouTube emulator's default account, the demo channel.
const DEMO: &str = "keryxdemo";

fn sign_in(emulator: &EmulatorProcess, platform: &str, user: &str) {
    emulator.configure(platform, &format!("browser_user: {user}\n"));
}

fn config_yaml(home: &Home) -> serde_yaml::Value {
    serde_yaml::from_str(&home.config()).expect("the config stays YAML")
}

/// The token set stored under `name` (config file backend).
fn stored(home: &Home, name: &str) -> Option<serde_json::Value> {
    config_yaml(home)["stored_secrets"][name]
        .as_str()
        .map(|text| serde_json::from_str(text).expect("a stored token set is JSON"))
}

fn entry<'a>(
    results: &'a serde_json::Value,
    platform: &str,
    account: &str,
) -> &'a serde_json::Value {
    results
        .as_array()
        .expect("an array of results")
        .iter()
        .find(|e| e["platform"] == platform && e["account_name"] == account)
        .unwrap_or_else(|| panic!("no {platform}:{account} in {results}"))
}

/// Users of the TikTok emulator's finished publishes, sorted.
fn tiktok_publishers(emulator: &EmulatorProcess) -> Vec<String> {
    let mut users: Vec<String> = emulator.stats("tiktok")["publishes"]
        .as_array()
        .expect("publishes")
        .iter()
        .filter(|p| p["status"] == "PUBLISH_COMPLETE")
        .map(|p| p["user"].as_str().unwrap().to_string())
        .collect();
    users.sort();
    users
}

/// Channel ids of the YouTube emulator's videos, sorted.
fn youtube_channels_posted(emulator: &EmulatorProcess) -> Vec<String> {
    let mut ids: Vec<String> = emulator.stats("youtube")["videos"]["items"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| v["channel_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The channel id of a YouTube emulator account, from its stats.
fn channel_of(emulator: &EmulatorProcess, user: &str) -> String {
    emulator.stats("youtube")["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["user"] == user)
        .unwrap_or_else(|| panic!("no youtube account {user}"))["channel_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// TikTok `main` (alice) and `studio` (bob), YouTube `main` (the demo channel) and `shorts`
/// (alice's channel): four targets, each authorised as its own person.
fn four_accounts() -> (Home, EmulatorProcess) {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["tiktok", "youtube"], "");
    for (platform, user, account) in [
        ("tiktok", "alice", "main"),
        ("tiktok", "bob", "studio"),
        ("youtube", DEMO, "main"),
        ("youtube", "alice", "shorts"),
    ] {
        sign_in(&emulator, platform, user);
        authorise_with(&home, &emulator, platform, &["--account", account])
            .expect_code(0)
            .expect_stdout(&format!("(account {account})"));
    }
    (home, emulator)
}

/// A distinct video per name (equal parameters make equal bytes).
fn reel(home: &Home, name: &str, size: u64) -> String {
    video(home, name, 20, 1080, 1920, size + name.len() as u64 * 4096)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn post_all_reaches_two_tiktok_users_and_two_youtube_channels_in_parallel() {
    let (home, emulator) = four_accounts();
    let demo_channel = channel_of(&emulator, DEMO);
    let alice_channel = channel_of(&emulator, "alice");
    assert_ne!(demo_channel, alice_channel);
    // Each account's token is its own person's.
    assert_eq!(
        stored(&home, "youtube/main/token").unwrap()["subject"],
        demo_channel
    );
    assert_eq!(
        stored(&home, "youtube/shorts/token").unwrap()["subject"],
        alice_channel
    );
    let (main, studio) = (
        stored(&home, "tiktok/main/token").unwrap(),
        stored(&home, "tiktok/studio/token").unwrap(),
    );
    assert_ne!(main["subject"], studio["subject"]);

    // Slow every post down on the emulators' side (YouTube: a second after each chunk; TikTok:
    // two "processing" polls), so one after the other their windows could not all overlap.
    emulator.configure("youtube", "retry_after_on_308: 1\n");
    emulator.configure("tiktok", "polls_until_complete: 2\n");
    let video = reel(&home, "reel.mp4", 40 * 1024 * 1024);

    let all_busy = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (all_busy, done) = (all_busy.clone(), done.clone());
        let base_url = emulator.base_url.clone();
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let stats = |platform: &str| -> serde_json::Value {
                http.get(format!("{base_url}/__emulator/{platform}/stats"))
                    .send()
                    .and_then(|r| r.json())
                    .unwrap_or_default()
            };
            while !done.load(Ordering::SeqCst) {
                // In flight: a TikTok publish still processing, per user; a YouTube session
                // open and not yet a video, per channel.
                let tiktok = stats("tiktok");
                let processing = |user: &str| {
                    tiktok["publishes"].as_array().is_some_and(|ps| {
                        ps.iter()
                            .any(|p| p["user"] == user && p["status"] == "PROCESSING_UPLOAD")
                    })
                };
                let youtube = stats("youtube");
                let uploading = |user: &str| {
                    youtube["channels"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["user"] == user && c["sessions_open"].as_u64() > Some(0))
                    })
                };
                if processing("alice") && processing("bob") && uploading(DEMO) && uploading("alice")
                {
                    all_busy.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let run = home.run(&["post", "all", &video, "--yes", "--json", "--title", "Four"]);
    let wall = started.elapsed();
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();

    run.expect_code(0);
    let results = run.json();
    assert_eq!(results.as_array().unwrap().len(), 4, "{results}");
    for (platform, account) in [
        ("tiktok", "main"),
        ("tiktok", "studio"),
        ("youtube", "main"),
        ("youtube", "shorts"),
    ] {
        assert_eq!(
            entry(&results, platform, account)["result"],
            "posted",
            "{results}"
        );
    }
    // Every post landed in its own account: one per TikTok user, one per channel.
    assert_eq!(tiktok_publishers(&emulator), ["alice", "bob"]);
    assert_eq!(
        youtube_channels_posted(&emulator),
        sorted(vec![demo_channel.clone(), alice_channel.clone()])
    );
    let videos = emulator.stats("youtube")["videos"]["items"].clone();
    for account in ["main", "shorts"] {
        let id = entry(&results, "youtube", account)["id"].clone();
        let channel =
            stored(&home, &format!("youtube/{account}/token")).unwrap()["subject"].clone();
        let video = videos
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("no video {id} in {videos}"));
        assert_eq!(video["channel_id"], channel, "youtube:{account}");
    }
    assert!(
        all_busy.load(Ordering::SeqCst),
        "the emulators never saw the four posts in flight at once"
    );
    let sum: f64 = results
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["elapsed_secs"].as_f64().unwrap())
        .sum();
    assert!(
        wall.as_secs_f64() < sum,
        "wall {wall:?} vs posts {sum} s back to back"
    );
}

#[test]
fn a_revoked_channel_fails_alone_and_after_re_authorising_only_it_is_posted() {
    let (home, emulator) = four_accounts();
    let demo_channel = channel_of(&emulator, DEMO);
    let alice_channel = channel_of(&emulator, "alice");
    // Alice removes keryx from her Google Account: her channel's tokens die, nobody else's.
    emulator.configure("youtube", "revoke_user: alice\n");
    let video = reel(&home, "reel.mp4", 2 * 1024 * 1024);

    let run = home.run(&["post", "all", &video, "--yes", "--json"]);
    run.expect_code(4);
    let results = run.json();
    for (platform, account) in [
        ("tiktok", "main"),
        ("tiktok", "studio"),
        ("youtube", "main"),
    ] {
        assert_eq!(
            entry(&results, platform, account)["result"],
            "posted",
            "{results}"
        );
    }
    let failed = entry(&results, "youtube", "shorts");
    assert_eq!(failed["result"], "failed", "{results}");
    assert!(
        failed["errors"][0]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("keryx auth youtube:shorts"),
        "{results}"
    );
    assert_eq!(youtube_channels_posted(&emulator), [demo_channel.as_str()]);
    assert_eq!(tiktok_publishers(&emulator), ["alice", "bob"]);

    sign_in(&emulator, "youtube", "alice");
    authorise_with(&home, &emulator, "youtube", &["--account", "shorts"]).expect_code(0);
    let rerun = home.run(&["post", "all", &video, "--yes", "--json"]);
    rerun.expect_code(0);
    let results = rerun.json();
    assert_eq!(entry(&results, "youtube", "shorts")["result"], "posted");
    for (platform, account) in [
        ("tiktok", "main"),
        ("tiktok", "studio"),
        ("youtube", "main"),
    ] {
        assert_eq!(
            entry(&results, platform, account)["result"],
            "already_posted",
            "{results}"
        );
    }
    assert_eq!(
        youtube_channels_posted(&emulator),
        sorted(vec![demo_channel, alice_channel])
    );
    assert_eq!(tiktok_publishers(&emulator), ["alice", "bob"]);
}

#[test]
fn two_youtube_channels_and_the_same_channel_twice() {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["youtube"], "");
    sign_in(&emulator, "youtube", "bob");
    authorise_with(&home, &emulator, "youtube", &["--account", "bob"]).expect_code(0);
    // Bob signs in again for another account name: his channel is already `youtube:bob`.
    authorise_with(&home, &emulator, "youtube", &["--account", "again"])
        .expect_code(2)
        .expect_stderr("already authorised as youtube:bob");
    assert!(stored(&home, "youtube/again/token").is_none());
    // Someone else can.
    sign_in(&emulator, "youtube", "carol");
    authorise_with(&home, &emulator, "youtube", &["--account", "again"])
        .expect_code(0)
        .expect_stdout("carol channel");
    assert_eq!(
        stored(&home, "youtube/again/token").unwrap()["subject"],
        channel_of(&emulator, "carol")
    );
}

/// The Bluesky emulator's accounts: (handle, DID, app password).
fn bluesky_accounts() -> Vec<(&'static str, &'static str, &'static str)> {
    keryx_bluesky::emulator::accounts::ACCOUNTS
        .iter()
        .map(|a| (a.handle, a.did, a.app_password))
        .collect()
}

/// Bluesky with the accounts `main` (alice.test) and `second` (bob.test).
fn two_bluesky_handles() -> (Home, EmulatorProcess) {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    let accounts = "    accounts:\n      main:\n        handle: alice.test\n      second:\n        handle: bob.test\n";
    configure_for_emulator(&mut home, &emulator, &["bluesky"], accounts);
    (home, emulator)
}

/// Texts of the posts in each repo the Bluesky emulator holds, by DID.
fn bluesky_posts(emulator: &EmulatorProcess) -> Vec<(String, String)> {
    let mut posts: Vec<(String, String)> = emulator.stats("bluesky")["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["collection"] == "app.bsky.feed.post")
        .map(|r| {
            (
                r["repo"].as_str().unwrap().to_string(),
                r["value"]["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    posts.sort();
    posts
}

#[test]
fn two_bluesky_handles_with_app_passwords_post_to_their_own_repos() {
    let (mut home, emulator) = two_bluesky_handles();
    let [(_, alice_did, alice_pw), (_, bob_did, bob_pw)] = bluesky_accounts()[..] else {
        panic!("the emulator has two accounts");
    };
    for (account, password) in [("main", alice_pw), ("second", bob_pw)] {
        home.set_env("BLUESKY_APP_PASSWORD", password);
        home.run(&["auth", "bluesky", "--account", account, "--app-password"])
            .expect_code(0);
    }
    assert_eq!(
        stored(&home, "bluesky/main/token").unwrap()["subject"],
        alice_did
    );
    assert_eq!(
        stored(&home, "bluesky/second/token").unwrap()["subject"],
        bob_did
    );

    let video = video(&home, "reel.mp4", 4, 1080, 1920, 300_000);
    let run = home.run(&[
        "post",
        "all",
        video.to_str().unwrap(),
        "--yes",
        "--json",
        "--title",
        "Both handles",
    ]);
    run.expect_code(0);
    let results = run.json();
    assert_eq!(results.as_array().unwrap().len(), 2, "{results}");
    for account in ["main", "second"] {
        assert_eq!(entry(&results, "bluesky", account)["result"], "posted");
    }
    // One post in each repo, its video blob in that repo.
    let posts = bluesky_posts(&emulator);
    let repos: Vec<&str> = posts.iter().map(|(did, _)| did.as_str()).collect();
    assert_eq!(
        repos,
        sorted(vec![alice_did.into(), bob_did.into()]),
        "{posts:?}"
    );
    let stats = emulator.stats("bluesky");
    for record in stats["records"].as_array().unwrap() {
        let cid = &record["value"]["embed"]["video"]["ref"]["$link"];
        assert!(
            stats["blobs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["cid"] == *cid && b["did"] == record["repo"]),
            "the video of {record} is not in its repo: {stats}"
        );
    }

    // Bob's DID under a third account name is refused, and nothing is stored for it.
    let third = home.config().replace(
        "      second:\n",
        "      third:\n        handle: bob.test\n      second:\n",
    );
    home.write_config(&third);
    home.set_env("BLUESKY_APP_PASSWORD", bob_pw);
    home.run(&["auth", "bluesky", "--account", "third", "--app-password"])
        .expect_code(2)
        .expect_stderr("already authorised as bluesky:second");
    assert!(stored(&home, "bluesky/third/token").is_none());
    assert_eq!(
        stored(&home, "bluesky/second/token").unwrap()["subject"],
        bob_did
    );
}

#[test]
fn two_bluesky_handles_by_oauth_and_the_wrong_person_signing_in() {
    let (mut home, emulator) = two_bluesky_handles();
    let [(_, alice_did, _), (_, bob_did, _)] = bluesky_accounts()[..] else {
        panic!("the emulator has two accounts");
    };
    home.set_env("BROWSER", "curl -fsSL -o /dev/null");
    // The consent page signs in as the handle keryx names (its login_hint).
    home.run(&["auth", "bluesky", "--account", "main"])
        .expect_code(0);
    home.run(&["auth", "bluesky", "--account", "second"])
        .expect_code(0);
    assert_eq!(
        stored(&home, "bluesky/main/token").unwrap()["subject"],
        alice_did
    );
    assert_eq!(
        stored(&home, "bluesky/second/token").unwrap()["subject"],
        bob_did
    );
    let video = video(&home, "reel.mp4", 4, 1080, 1920, 200_000);
    let run = home.run(&["post", "all", video.to_str().unwrap(), "--yes", "--json"]);
    run.expect_code(0);
    let repos: Vec<String> = bluesky_posts(&emulator)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_eq!(repos, sorted(vec![alice_did.into(), bob_did.into()]));

    // Someone signed in as Alice where keryx asked for bob.test: not stored as bob's.
    let before = stored(&home, "bluesky/second/token").unwrap();
    emulator.configure("bluesky", "browser_user: alice.test\n");
    home.run(&["auth", "bluesky", "--account", "second"])
        .expect_code(2)
        .expect_stderr(&format!(
            "the authorisation is for {alice_did}, not {bob_did}"
        ));
    assert_eq!(
        stored(&home, "bluesky/second/token").unwrap()["subject"],
        before["subject"]
    );
}
