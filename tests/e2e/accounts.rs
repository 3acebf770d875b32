//! Several accounts per platform, through the binary: `keryx auth <p> --account NAME`, targets
//! `platform:account`, `post all` over every enabled account, per-account tokens, ledger and
//! failures, and the refusal of one person under two account names.
//!
//! TikTok's emulator plays whichever user the `browser_user` knob names at the consent page,
//! each with their own `open_id`, tokens and posts; YouTube's has one channel, so a second
//! YouTube account name for it is the same channel and must be refused.

use crate::support::*;

fn sign_in_as(emulator: &EmulatorProcess, user: &str) {
    emulator.configure("tiktok", &format!("browser_user: {user}\n"));
}

/// A distinct video per name (the generator makes equal bytes from equal parameters).
fn reel(home: &Home, name: &str) -> String {
    let size = 2 * 1024 * 1024 + name.len() as u64 * 4096;
    video(home, name, 10, 1080, 1920, size)
        .to_str()
        .unwrap()
        .to_string()
}

fn config_yaml(home: &Home) -> serde_yaml::Value {
    serde_yaml::from_str(&home.config()).expect("the config stays YAML")
}

/// The token set stored under `name` (config file backend), if any.
fn stored(home: &Home, name: &str) -> Option<serde_json::Value> {
    config_yaml(home)["stored_secrets"][name]
        .as_str()
        .map(|text| serde_json::from_str(text).expect("a stored token set is JSON"))
}

/// Users of the emulator's finished TikTok publishes, sorted.
fn tiktok_publishers(emulator: &EmulatorProcess) -> Vec<String> {
    let stats = emulator.stats("tiktok");
    let mut users: Vec<String> = stats["publishes"]
        .as_array()
        .expect("publishes")
        .iter()
        .filter(|p| p["status"] == "PUBLISH_COMPLETE")
        .map(|p| p["user"].as_str().unwrap().to_string())
        .collect();
    users.sort();
    users
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

/// TikTok with its old single account (`default`, as alice, stored where an older keryx kept
/// it), then a second account `studio` as bob.
fn two_tiktok_accounts() -> (Home, EmulatorProcess) {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["tiktok"], "");
    sign_in_as(&emulator, "alice");
    authorise(&home, &emulator, "tiktok").expect_code(0);
    assert!(stored(&home, "tiktok/token").is_some());
    sign_in_as(&emulator, "bob");
    authorise_with(&home, &emulator, "tiktok", &["--account", "studio"])
        .expect_code(0)
        .expect_stdout("(account studio)");
    (home, emulator)
}

#[test]
fn a_second_account_keeps_the_first_and_post_all_reaches_both_with_their_own_tokens() {
    let (home, emulator) = two_tiktok_accounts();
    let config = config_yaml(&home);
    let accounts = &config["platforms"]["tiktok"]["accounts"];
    assert_eq!(accounts["default"]["enabled"], true, "{}", home.config());
    assert_eq!(accounts["studio"]["enabled"], true, "{}", home.config());
    assert_eq!(config["platforms"]["tiktok"]["enabled"], true);
    // The first account's token was not moved or re-authorised; the second has its own.
    let alice = stored(&home, "tiktok/token").unwrap();
    let bob = stored(&home, "tiktok/studio/token").expect("studio's token");
    assert_ne!(alice["subject"], bob["subject"]);
    assert_ne!(alice["refresh_token"], bob["refresh_token"]);

    let status = home.run(&["platforms", "--json"]);
    status.expect_code(0);
    let rows = status.json();
    let tiktok: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["platform"] == "tiktok")
        .collect();
    assert_eq!(tiktok.len(), 2, "{rows}");
    assert!(
        tiktok
            .iter()
            .all(|r| r["authorised"] == true && r["enabled"] == true)
    );

    let video = reel(&home, "reel.mp4");
    let run = home.run(&["post", "all", &video, "--yes", "--json", "--title", "Both"]);
    run.expect_code(0);
    let results = run.json();
    assert_eq!(results.as_array().unwrap().len(), 2, "{results}");
    assert_eq!(entry(&results, "tiktok", "default")["result"], "posted");
    assert_eq!(entry(&results, "tiktok", "studio")["result"], "posted");
    assert_eq!(tiktok_publishers(&emulator), ["alice", "bob"]);

    // The ledger knows both, by account: a rerun posts nothing.
    let again = home.run(&["post", "all", &video, "--yes", "--json"]);
    again.expect_code(0);
    let results = again.json();
    assert_eq!(
        entry(&results, "tiktok", "studio")["result"],
        "already_posted"
    );
    assert_eq!(
        entry(&results, "tiktok", "default")["result"],
        "already_posted"
    );
    assert_eq!(tiktok_publishers(&emulator).len(), 2);
    home.run(&["history", "--account", "studio", "--json"])
        .expect_code(0)
        .expect_stdout("\"account_name\":\"studio\"");

    // A named target posts there only; `--only` and `--skip` take targets.
    let other = reel(&home, "other.mp4");
    home.run(&["post", "tiktok:studio", &other, "--yes"])
        .expect_code(0);
    assert_eq!(tiktok_publishers(&emulator), ["alice", "bob", "bob"]);
    let skip = home.run(&[
        "post",
        "all",
        &other,
        "--yes",
        "--json",
        "--skip",
        "tiktok:studio",
    ]);
    skip.expect_code(0);
    assert_eq!(skip.json().as_array().unwrap().len(), 1);
    assert_eq!(
        tiktok_publishers(&emulator),
        ["alice", "alice", "bob", "bob"]
    );
}

#[test]
fn several_enabled_accounts_need_a_name_when_nobody_can_be_asked() {
    let (home, emulator) = two_tiktok_accounts();
    let video = reel(&home, "reel.mp4");
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(2)
        .expect_stderr("tiktok has 2 enabled accounts: default, studio")
        .expect_stderr("tiktok:default");
    home.run(&["post", "tiktok:nobody", &video, "--yes"])
        .expect_code(2)
        .expect_stderr("no account \"nobody\"");
    home.run(&["post", "tiktok:Bad_Name", &video, "--yes"])
        .expect_code(2)
        .expect_stderr("not a valid account name");
    assert!(tiktok_publishers(&emulator).is_empty());
}

#[test]
fn one_person_under_a_second_account_name_is_refused() {
    let (home, emulator) = two_tiktok_accounts();
    sign_in_as(&emulator, "bob");
    authorise_with(&home, &emulator, "tiktok", &["--account", "again"])
        .expect_code(2)
        .expect_stderr("already authorised as tiktok:studio");
    assert!(stored(&home, "tiktok/again/token").is_none());
    let config = config_yaml(&home);
    assert!(
        config["platforms"]["tiktok"]["accounts"]["again"].is_null(),
        "{}",
        home.config()
    );
}

#[test]
fn a_revoked_account_fails_alone_and_a_rerun_posts_only_there() {
    let (home, emulator) = two_tiktok_accounts();
    // Bob removes the app in TikTok's settings: every token of his grant dies (reference §3.3).
    let bob = stored(&home, "tiktok/studio/token").unwrap();
    let access = bob["access_token"].as_str().unwrap();
    let fake = keryx_core::find("tiktok").unwrap().emulator();
    let (_, secret) = fake.client_secret();
    let config = config_yaml(&home);
    let client_key = config["platforms"]["tiktok"]["client_key"]
        .as_str()
        .unwrap();
    let response = emulator
        .http()
        .post(format!("{}/v2/oauth/revoke/", emulator.base_url))
        .form(&[
            ("client_key", client_key),
            ("client_secret", secret.as_str()),
            ("token", access),
        ])
        .send()
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    let video = reel(&home, "reel.mp4");
    let run = home.run(&["post", "all", &video, "--yes", "--json"]);
    run.expect_code(4);
    let results = run.json();
    assert_eq!(entry(&results, "tiktok", "default")["result"], "posted");
    let failed = entry(&results, "tiktok", "studio");
    assert_eq!(failed["result"], "failed", "{results}");
    assert!(
        failed["errors"][0]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("keryx auth tiktok:studio"),
        "{results}"
    );
    assert_eq!(tiktok_publishers(&emulator), ["alice"]);

    sign_in_as(&emulator, "bob");
    authorise_with(&home, &emulator, "tiktok", &["--account", "studio"]).expect_code(0);
    let rerun = home.run(&["post", "all", &video, "--yes", "--json"]);
    rerun.expect_code(0);
    let results = rerun.json();
    assert_eq!(
        entry(&results, "tiktok", "default")["result"],
        "already_posted"
    );
    assert_eq!(entry(&results, "tiktok", "studio")["result"], "posted");
    assert_eq!(tiktok_publishers(&emulator), ["alice", "bob"]);
}

#[test]
fn removing_one_account_leaves_the_other() {
    let (home, emulator) = two_tiktok_accounts();
    home.run(&["auth", "tiktok:studio", "--remove"])
        .expect_code(0)
        .expect_stdout("keryx auth tiktok --account studio");
    assert!(stored(&home, "tiktok/studio/token").is_none());
    assert!(stored(&home, "tiktok/token").is_some());
    let config = config_yaml(&home);
    assert_eq!(
        config["platforms"]["tiktok"]["accounts"]["studio"]["enabled"],
        false
    );
    assert_eq!(
        config["platforms"]["tiktok"]["accounts"]["default"]["enabled"],
        true
    );
    let video = reel(&home, "reel.mp4");
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(0);
    assert_eq!(tiktok_publishers(&emulator), ["alice"]);
}

#[test]
fn the_same_youtube_channel_under_a_second_name_is_refused() {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &["youtube"], "");
    authorise(&home, &emulator, "youtube").expect_code(0);
    let before = stored(&home, "youtube/token").unwrap();
    authorise_with(&home, &emulator, "youtube", &["--account", "shorts"])
        .expect_code(2)
        .expect_stderr("already authorised as youtube");
    assert!(stored(&home, "youtube/shorts/token").is_none());
    assert_eq!(
        stored(&home, "youtube/token").unwrap()["refresh_token"],
        before["refresh_token"]
    );
}

#[test]
fn per_account_settings_override_the_platform_and_bad_ones_name_their_line() {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    let accounts = "    accounts:\n      main:\n        enabled: true\n        mode: inbox\n";
    configure_for_emulator(&mut home, &emulator, &["tiktok"], accounts);
    sign_in_as(&emulator, "carol");
    authorise_with(&home, &emulator, "tiktok", &["--account", "main"]).expect_code(0);
    let video = reel(&home, "reel.mp4");
    home.run(&[
        "post",
        "tiktok:main",
        &video,
        "--yes",
        "--dry-run",
        "--json",
    ])
    .expect_code(0)
    .expect_stdout("inbox");

    // A key the platform shares between accounts, and a bad name, each at its line.
    let shared = home
        .config()
        .replace("        mode: inbox\n", "        client_key: other\n");
    home.write_config(&shared);
    let line = shared
        .lines()
        .position(|l| l.contains("client_key: other"))
        .unwrap()
        + 1;
    home.run(&["post", "tiktok:main", &video, "--yes"])
        .expect_code(2)
        .expect_stderr(&format!(":{line}:"))
        .expect_stderr("\"client_key\" cannot be set per account");
    let bad = shared.replace("      main:\n", "      Main:\n");
    home.write_config(&bad);
    home.run(&["status"])
        .expect_code(2)
        .expect_stderr("\"Main\" is not a valid account name");
}
