//! The flows every platform must pass, run against each platform's own emulator through the
//! real binary (as every rclone backend passes one shared test suite).
//!
//! A platform gets the whole suite with one line in its tests,
//! `keryx_conformance::conformance!(binary = ..., link = ...; its_id)` (see the crate docs).
//! What differs between platforms (sizes, fault knobs) comes from its emulator's
//! `conformance()`.

use std::time::Duration;

use keryx_core::emulator::Conformance;

use crate::support::*;

/// The platform's knobs and sizes, from its emulator. The platform must be linked into the
/// test binary (the macro's `link`).
pub fn profile(platform: &str) -> Conformance {
    keryx_core::find(platform)
        .expect("registered")
        .emulator()
        .conformance()
}

/// A home whose config points `platform` at a fresh emulator.
pub fn setup(platform: &str) -> (Home, EmulatorProcess) {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, &[platform], "");
    (home, emulator)
}

pub fn post_args<'a>(platform: &'a str, video: &'a str, profile: &'a Conformance) -> Vec<&'a str> {
    let mut args = vec!["post", platform, video, "--yes"];
    args.extend_from_slice(profile.post_args);
    args
}

pub fn auth_by_loopback(platform: &str) {
    let (home, emulator) = setup(platform);
    authorise(&home, &emulator, platform)
        .expect_code(0)
        .expect_stdout("Authorised");
    let config = home.config();
    assert!(
        config.contains("# test config"),
        "the user's comment was lost:\n{config}"
    );
    assert!(
        config.contains("enabled: true"),
        "auth did not enable {platform}:\n{config}"
    );
    let entry = status_of(&home, platform);
    assert!(entry["token"].is_string(), "no token after auth: {entry}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.config_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "a config holding a token must be 0600");
    }
}

pub fn auth_by_pasted_url(platform: &str) {
    let (home, emulator) = setup(platform);
    let mut command = home.command(&["auth", platform, "--no-browser"]);
    command.stdin(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    // The browser ends on the loopback address; on a headless box the user copies it here.
    let redirect = approval_redirect(&emulator, &url);
    write_stdin(&mut child, &format!("{redirect}\n"));
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    assert_eq!(
        status.code(),
        Some(0),
        "paste did not complete:\n{}",
        lines.rest()
    );
}

pub fn auth_by_code_in_second_process(platform: &str) {
    let (home, emulator) = setup(platform);
    let mut child = home.spawn(&["auth", platform, "--no-browser"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    // The first process goes away (closed terminal); the pending authorisation stays on disk.
    child.kill().unwrap();
    child.wait().unwrap();
    let redirect = approval_redirect(&emulator, &url);
    home.run(&["auth", platform, "--code", &redirect])
        .expect_code(0)
        .expect_stdout("Authorised");
    // A code is single-use and the pending authorisation is spent.
    home.run(&["auth", platform, "--code", &redirect])
        .expect_code(2);
}

pub fn auth_declined(platform: &str) {
    let (home, emulator) = setup(platform);
    emulator.configure(platform, profile(platform).deny_authorization);
    let run = authorise_expecting_failure(&home, &emulator, platform);
    run.expect_code(2).expect_stderr("declined");
    assert!(!home.config().contains("enabled: true"));
}

/// The query of `redirect` with its `state` replaced by `state` (or removed, for `None`).
fn with_state(redirect: &str, state: Option<&str>) -> String {
    let mut url = url::Url::parse(redirect).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| match (k.as_ref(), state) {
            ("state", None) => None,
            ("state", Some(s)) => Some((k.into_owned(), s.to_owned())),
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

/// `redirect` (the loopback callback address) with only `query`.
fn callback_with(redirect: &str, query: &str) -> String {
    let mut url = url::Url::parse(redirect).unwrap();
    url.set_query(Some(query));
    url.into()
}

/// Strays on the loopback port (no `state`, or another one) are answered 400 and ignored; the
/// browser's genuine redirect after them completes the authorisation.
pub fn auth_ignores_stray_callbacks(platform: &str) {
    let (home, emulator) = setup(platform);
    let mut child = home.spawn(&["auth", platform, "--no-browser", "-v"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    let genuine = approval_redirect(&emulator, &url);
    for stray in [
        callback_with(&genuine, "error=access_denied"),
        callback_with(&genuine, "error="),
        callback_with(&genuine, "code=abc"),
        with_state(&genuine, Some("forged-state")),
        with_state(&genuine, None),
    ] {
        let page = emulator.http().get(&stray).send().unwrap();
        assert_eq!(page.status(), 400, "{stray}");
        assert!(page.text().unwrap().contains("still waiting"));
    }
    let page = emulator.http().get(&genuine).send().unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    let stderr = lines.rest();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("ignored a callback with `error=access_denied` and no `state`"),
        "-v logs the strays:\n{stderr}"
    );
    let entry = status_of(&home, platform);
    assert!(entry["token"].is_string(), "no token after auth: {entry}");
}

/// Only strays until the timeout: the timeout's message says how many and what they were.
pub fn auth_times_out_naming_the_strays(platform: &str) {
    let (home, emulator) = setup(platform);
    let mut child = home.spawn(&["auth", platform, "--no-browser", "--timeout", "3s"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    let genuine = approval_redirect(&emulator, &url);
    let forged = with_state(&genuine, Some("forged-state"));
    for stray in [callback_with(&genuine, "error=access_denied"), forged] {
        assert_eq!(emulator.http().get(&stray).send().unwrap().status(), 400);
    }
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    let stderr = lines.rest();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no authorisation arrived within"),
        "{stderr}"
    );
    assert!(stderr.contains("ignored 2 callbacks"), "{stderr}");
    assert!(
        stderr.contains("`error=access_denied` and no `state`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a `code` (not shown) and another authorisation's `state`"),
        "{stderr}"
    );
    let code = url::Url::parse(&genuine)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(!stderr.contains(&code), "a code was printed:\n{stderr}");
}

/// A pasted address is the user's choice: with another `state` it is refused at once.
pub fn auth_pasted_wrong_state(platform: &str) {
    let (home, emulator) = setup(platform);
    let mut command = home.command(&["auth", platform, "--no-browser"]);
    command.stdin(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    let forged = with_state(&approval_redirect(&emulator, &url), Some("forged-state"));
    write_stdin(&mut child, &format!("{forged}\n"));
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    let stderr = lines.rest();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("state does not match"), "{stderr}");
    assert!(!home.config().contains("enabled: true"));
}

fn authorise_expecting_failure(home: &Home, emulator: &EmulatorProcess, platform: &str) -> Run {
    let mut child = home.spawn(&["auth", platform, "--no-browser"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    let redirect = approval_redirect(emulator, &url);
    let _ = emulator.http().get(redirect).send();
    let status = wait_with_timeout(&mut child, Duration::from_secs(30));
    Run {
        status,
        stdout: String::new(),
        stderr: lines.rest(),
    }
}

pub fn post_multi_chunk(platform: &str) {
    let profile = profile(platform);
    if profile.multi_chunk_video == profile.small_video {
        eprintln!("SKIPPED: {platform} uploads every video in one request");
        return;
    }
    let (home, emulator) = setup(platform);
    authorise(&home, &emulator, platform).expect_code(0);
    let video = video(&home, "reel.mp4", 20, 1080, 1920, profile.multi_chunk_video);
    let video = video.to_str().unwrap();
    let mut args = post_args(platform, video, &profile);
    args.push("--json");
    let result = home.run(&args).expect_code(0).json();
    assert_eq!(result["ok"], true);
    assert_eq!(result["platform"], platform);
    assert!(result["id"].is_string(), "no id in {result}");
    let stats = emulator.stats(platform);
    assert!(
        stats[profile.upload_requests_stat].as_u64().unwrap() >= 3,
        "not multi-chunk: {stats}"
    );
}

pub fn post_recovers_from_server_error(platform: &str) {
    let profile = profile(platform);
    let (home, emulator) = setup(platform);
    authorise(&home, &emulator, platform).expect_code(0);
    emulator.configure(platform, &(profile.server_error_on_upload)(2));
    let video = video(&home, "reel.mp4", 20, 1080, 1920, profile.multi_chunk_video);
    home.run(&post_args(platform, video.to_str().unwrap(), &profile))
        .expect_code(0);
}

pub fn post_recovers_from_dropped_connection(platform: &str) {
    let profile = profile(platform);
    let (home, emulator) = setup(platform);
    authorise(&home, &emulator, platform).expect_code(0);
    emulator.configure(platform, &(profile.dropped_connection_on_upload)(2));
    let video = video(&home, "reel.mp4", 20, 1080, 1920, profile.multi_chunk_video);
    home.run(&post_args(platform, video.to_str().unwrap(), &profile))
        .expect_code(0);
}

pub fn bad_videos(platform: &str) {
    let profile = profile(platform);
    let (home, emulator) = setup(platform);
    authorise(&home, &emulator, platform).expect_code(0);
    let missing = home.path().join("missing.mp4");
    let empty = home.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let text = home.path().join("notes.mp4");
    std::fs::write(&text, b"this is not a video, whatever its name says").unwrap();
    for (file, needle) in [
        (&missing, "missing.mp4"),
        (&empty, "empty"),
        (&text, "not a video"),
    ] {
        home.run(&post_args(platform, file.to_str().unwrap(), &profile))
            .expect_code(2)
            .expect_stderr(needle);
    }
    let stats = emulator.stats(platform);
    assert_eq!(
        stats[profile.upload_requests_stat].as_u64(),
        Some(0),
        "bytes were sent for a bad file"
    );
}

pub fn missing_secret(platform: &str) {
    let profile = profile(platform);
    let env = keryx_core::secrets::client_secret_env(platform);
    let fake = keryx_core::find(platform).expect("registered").emulator();
    if fake.client_secret().0 != env {
        eprintln!("SKIPPED: {platform} is a public client: it has no client secret to miss");
        return;
    }
    let (mut home, emulator) = setup(platform);
    authorise(&home, &emulator, platform).expect_code(0);
    home.env.retain(|(k, _)| *k != env);
    let video = video(&home, "reel.mp4", 5, 1080, 1920, profile.small_video);
    home.run(&post_args(platform, video.to_str().unwrap(), &profile))
        .expect_code(2)
        .expect_stderr(&env);
}

/// Tokens and secrets never reach stdout or stderr, even at the highest verbosity.
pub fn no_secret_in_output(platform: &str) {
    let profile = profile(platform);
    let (home, emulator) = setup(platform);
    let auth = authorise(&home, &emulator, platform);
    auth.expect_code(0);
    let video = video(&home, "reel.mp4", 5, 1080, 1920, profile.small_video);
    let mut args = post_args(platform, video.to_str().unwrap(), &profile);
    args.push("-vvv");
    let post = home.run(&args);
    post.expect_code(0);
    let status = home.run(&["status", "-vvv"]);
    let secrets = stored_secret_values(&home);
    assert!(!secrets.is_empty(), "no stored secrets found to look for");
    let (_, client_secret) = keryx_core::find(platform)
        .unwrap()
        .emulator()
        .client_secret();
    for output in [
        &auth.stdout,
        &auth.stderr,
        &post.stdout,
        &post.stderr,
        &status.stdout,
        &status.stderr,
    ] {
        for secret in secrets.iter().chain(std::iter::once(&client_secret)) {
            assert!(
                !output.contains(secret.as_str()),
                "a secret leaked into output:\n{output}"
            );
        }
    }
}

/// Every token-looking value kept in the config file's `stored_secrets`.
fn stored_secret_values(home: &Home) -> Vec<String> {
    let config: serde_yaml::Value = serde_yaml::from_str(&home.config()).unwrap();
    let mut values = Vec::new();
    if let Some(stored) = config.get("stored_secrets").and_then(|s| s.as_mapping()) {
        for value in stored.values().filter_map(|v| v.as_str()) {
            match serde_json::from_str::<serde_json::Value>(value) {
                Ok(serde_json::Value::Object(map)) => {
                    for key in ["refresh_token", "access_token"] {
                        if let Some(token) = map.get(key).and_then(|t| t.as_str()) {
                            values.push(token.to_string());
                        }
                    }
                }
                _ => values.push(value.to_string()),
            }
        }
    }
    values
}

/// Timeouts short enough that a stall costs a second, not the defaults' 30 s and 5 min: the
/// same code path, only faster.
const REPLY_TIMEOUT_MS: &str = "1000";
/// How keryx says it.
const REPLY_TIMEOUT_SAID: &str = "within 1 s";

fn impatient(home: &mut Home) {
    home.set_env("KERYX_REPLY_TIMEOUT_MS", REPLY_TIMEOUT_MS);
    home.set_env("KERYX_RETRY_BUDGET_MS", "4000");
}

/// An authorised home with short timeouts, and a small video to post.
fn ready_to_post(platform: &str) -> (Home, EmulatorProcess, Conformance, String) {
    let profile = profile(platform);
    let (mut home, emulator) = setup(platform);
    authorise(&home, &emulator, platform).expect_code(0);
    impatient(&mut home);
    let video = video(&home, "reel.mp4", 5, 1080, 1920, profile.small_video);
    let video = video.to_str().unwrap().to_string();
    (home, emulator, profile, video)
}

/// The token endpoint accepts the refresh and never answers, once: the retry gets the token.
pub fn a_stalled_token_request_is_retried(platform: &str) {
    let (home, emulator, profile, video) = ready_to_post(platform);
    emulator.stall("POST", profile.token_path, 1);
    home.run(&post_args(platform, &video, &profile))
        .expect_code(0);
    assert_eq!(emulator.stalled(), 1, "the token request was not stalled");
}

/// An authorised API call is accepted and never answered, once: the retry goes through.
pub fn a_stalled_api_call_is_retried(platform: &str) {
    let (home, emulator, profile, video) = ready_to_post(platform);
    let (method, path) = profile.api_call;
    emulator.stall(method, path, 1);
    home.run(&post_args(platform, &video, &profile))
        .expect_code(0);
    assert_eq!(emulator.stalled(), 1, "the API call was not stalled");
}

/// A server that never answers ends the post within the budget, exit 1, naming the timeout.
pub fn a_server_that_never_answers_ends_in_exit_1(platform: &str) {
    for stalled_call in ["token", "api"] {
        let (home, emulator, profile, video) = ready_to_post(platform);
        let (method, path) = match stalled_call {
            "token" => ("POST", profile.token_path),
            _ => profile.api_call,
        };
        emulator.stall(method, path, 1000);
        home.run(&post_args(platform, &video, &profile))
            .expect_code(1)
            .expect_stderr(REPLY_TIMEOUT_SAID)
            .expect_stderr("no reply from")
            .expect_stderr("gave up after");
        assert!(
            emulator.stalled() >= 2,
            "{stalled_call}: it was not retried"
        );
        let stats = emulator.stats(platform);
        assert_eq!(
            stats[profile.upload_requests_stat].as_u64(),
            Some(0),
            "bytes were sent after a stalled {stalled_call} call: {stats}"
        );
    }
}

/// How long an upload may move no byte in the stall flows (`KERYX_STALL_MS`).
const STALL_MS: &str = "1500";

/// The upload server accepts a request and never answers, once: the upload engine gives the
/// connection up after the stall limit, and the upload goes on to the end.
pub fn a_stalled_upload_is_resumed(platform: &str) {
    let (mut home, emulator, profile, video) = ready_to_post(platform);
    home.set_env("KERYX_STALL_MS", STALL_MS);
    let (method, path) = profile.upload_call;
    emulator.stall(method, path, 1);
    home.run(&post_args(platform, &video, &profile))
        .expect_code(0);
    assert_eq!(emulator.stalled(), 1, "the upload request was not stalled");
}

/// An upload server that never answers ends the post within the budget, exit 1, saying that
/// the connection moved no byte.
pub fn an_upload_server_that_never_answers_ends_in_exit_1(platform: &str) {
    let (mut home, emulator, profile, video) = ready_to_post(platform);
    home.set_env("KERYX_STALL_MS", STALL_MS);
    let (method, path) = profile.upload_call;
    emulator.stall(method, path, 1000);
    let run = home.run(&post_args(platform, &video, &profile));
    run.expect_code(1)
        .expect_stderr("kept failing")
        .expect_stderr("gave up after");
    // The last failure named: a range that moved no byte, or a status request left unanswered.
    assert!(
        run.stderr.contains("no progress for") || run.stderr.contains("no reply within"),
        "the timeout is not named:\n{}",
        run.stderr
    );
    assert!(
        emulator.stalled() >= 2,
        "the stalled upload was not retried"
    );
}

/// A rate limit that outlasts the retry budget: exit 1, naming the platform's limit.
pub fn a_persistent_rate_limit_ends_in_exit_1_naming_the_limit(platform: &str) {
    let (home, emulator, profile, video) = ready_to_post(platform);
    let Some((knobs, said)) = profile.persistent_rate_limit else {
        eprintln!("SKIPPED: the {platform} emulator cannot rate-limit keryx");
        return;
    };
    emulator.configure(platform, knobs);
    home.run(&post_args(platform, &video, &profile))
        .expect_code(1)
        .expect_stderr(said)
        .expect_stderr("gave up after");
}

/// The stored authorisation is refused (revoked, expired): exit 4, saying which auth to run.
pub fn a_revoked_authorisation_ends_in_exit_4(platform: &str) {
    let (home, emulator, profile, video) = ready_to_post(platform);
    let Some(revoke) = profile.revoke_authorisation else {
        eprintln!("SKIPPED: the {platform} emulator cannot revoke an authorisation");
        return;
    };
    emulator.configure(platform, revoke);
    home.run(&post_args(platform, &video, &profile))
        .expect_code(4)
        .expect_stderr(&format!("keryx auth {platform}"));
}

/// `keryx auth --remove` revokes the authorisation at the platform (where it can), forgets the
/// token and disables the platform, keeping the rest of the config. The proof of the
/// revocation: the old config, token included, put back, no longer posts.
pub fn a_removed_authorisation_is_revoked_and_forgotten(platform: &str) {
    let (home, _emulator, profile, video) = ready_to_post(platform);
    let with_token = home.config();
    let removal = home
        .run(&["auth", platform, "--remove", "--json"])
        .expect_code(0)
        .json();
    let revocation = removal["revocation"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        ["revoked", "unsupported"].contains(&revocation.as_str()),
        "a live authorisation was neither revoked nor unrevocable: {removal}"
    );
    let config = home.config();
    assert!(
        config.contains("# test config"),
        "the comment was lost:\n{config}"
    );
    assert!(config.contains("enabled: false"), "not disabled:\n{config}");
    let entry = status_of(&home, platform);
    assert!(
        entry["token"].is_null(),
        "the token is still stored: {entry}"
    );
    // Disabled (exit 2) or unauthorised (exit 4), as the platform checks first: either way
    // nothing is sent and the message names the way back.
    let after = home.run(&post_args(platform, &video, &profile));
    assert!([2, 4].contains(&after.code()), "{after:?}");
    after.expect_stderr(&format!("keryx auth {platform}"));
    home.run(&["auth", platform, "--remove"])
        .expect_code(2)
        .expect_stderr("nothing to remove");

    home.write_config(&with_token);
    let old_token = home.run(&post_args(platform, &video, &profile));
    if revocation == "revoked" {
        old_token
            .expect_code(4)
            .expect_stderr(&format!("keryx auth {platform}"));
    } else {
        old_token.expect_code(0);
    }
}

/// A named account: `keryx auth <p> --account studio` stores its own token (not the default
/// account's), a post to `<p>:studio` uses it and the ledger records the account, a revoked
/// authorisation names `keryx auth <p>:studio`, and `--remove` forgets that account alone.
pub fn a_named_account_has_its_own_token_ledger_and_removal(platform: &str) {
    let profile = profile(platform);
    let (mut home, emulator) = setup(platform);
    let target = format!("{platform}:studio");
    authorise_with(&home, &emulator, platform, &["--account", "studio"])
        .expect_code(0)
        .expect_stdout("(account studio)");
    let secrets = stored_secret_names(&home);
    assert!(
        secrets.contains(&format!("{platform}/studio/token")),
        "no token for the account: {secrets:?}"
    );
    assert!(
        !secrets.contains(&format!("{platform}/token")),
        "the default account got a token: {secrets:?}"
    );
    let entry = status_of_account(&home, platform, "studio");
    assert!(entry["token"].is_string(), "{entry}");
    assert_eq!(entry["enabled"], true, "{entry}");
    impatient(&mut home);
    let video = video(&home, "reel.mp4", 5, 1080, 1920, profile.small_video);
    let video = video.to_str().unwrap().to_string();
    home.run(&post_args(&target, &video, &profile))
        .expect_code(0);
    let history = home
        .run(&["history", "--account", &target, "--json"])
        .json();
    let attempts = history.as_array().expect("the attempts");
    assert_eq!(attempts.len(), 1, "{history}");
    assert_eq!(attempts[0]["account_name"], "studio");
    assert_eq!(attempts[0]["result"], "posted");

    if let Some(revoke) = profile.revoke_authorisation {
        let before = home.config();
        emulator.configure(platform, revoke);
        home.run(&post_args(&target, &video, &profile))
            .expect_code(4)
            .expect_stderr(&format!("keryx auth {target}"));
        home.write_config(&before);
    }
    home.run(&["auth", &target, "--remove"]).expect_code(0);
    assert!(!stored_secret_names(&home).contains(&format!("{platform}/studio/token")));
    let entry = status_of_account(&home, platform, "studio");
    assert!(entry["token"].is_null(), "{entry}");
    assert_eq!(entry["enabled"], false, "{entry}");
}

/// The names under `stored_secrets:` (the file backend the suite uses).
fn stored_secret_names(home: &Home) -> Vec<String> {
    let config: serde_yaml::Value = serde_yaml::from_str(&home.config()).expect("YAML");
    config["stored_secrets"]
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `keryx status --json`'s entry for `platform`'s `account`.
fn status_of_account(home: &Home, platform: &str, account: &str) -> serde_json::Value {
    let status = home.run(&["status", "--json"]).expect_code(0).json();
    status["platforms"]
        .as_array()
        .expect("a platforms list")
        .iter()
        .find(|p| p["platform"] == platform && p["account_name"] == account)
        .cloned()
        .unwrap_or_else(|| panic!("{platform}:{account} is not in `keryx status`: {status}"))
}

/// `keryx status --json`'s entry for `platform`.
fn status_of(home: &Home, platform: &str) -> serde_json::Value {
    let status = home.run(&["status", "--json"]).expect_code(0).json();
    status["platforms"]
        .as_array()
        .expect("a platforms list")
        .iter()
        .find(|p| p["platform"] == platform)
        .cloned()
        .unwrap_or_else(|| panic!("{platform} is not in `keryx status`: {status}"))
}

/// A missing tool skips locally with a loud message; under CI it fails.
fn require(tool: &str) -> bool {
    let found = std::path::Path::new(tool).exists();
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{tool} is required under CI (.ci/run installs it)");
        }
        eprintln!("SKIPPED: {tool} is not installed; install it to run this test");
    }
    found
}

/// Headless Chromium opens the printed authorize URL; the emulator approves and redirects to
/// keryx's loopback, which captures the code.
pub fn auth_in_real_browser(platform: &str) {
    if !require("/usr/bin/chromium") {
        return;
    }
    let (mut home, _emulator) = setup(platform);
    let profile_dir = home.path().join("chromium-profile");
    let script = home.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# Headless Chromium never exits by itself: bounded, so no test leaves one running.\nexec timeout 20 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync --user-data-dir={} \"$1\" >/dev/null 2>&1\n",
            profile_dir.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    home.set_env("BROWSER", script.to_str().unwrap());
    let mut child = home.spawn(&["auth", platform, "--timeout", "90s"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    assert_eq!(
        status.code(),
        Some(0),
        "browser auth failed:\n{}",
        lines.rest()
    );
    assert!(home.config().contains("enabled: true"));
}
