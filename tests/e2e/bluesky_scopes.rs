//! Bluesky's OAuth scopes and `keryx auth bluesky --remove`, through the binary: the granular
//! grant that posts (captions and the video service included), a grant narrowed at consent
//! (refused at sign-in when a post cannot work with it, refused by the server at the endpoint
//! when only captions need the missing scope), the fallback on `atproto transition:generic`
//! where the server does not take granular scopes (also across `--code`), and the revocation of
//! OAuth and app-password sessions. Against keryx's emulator first, then the real PDS, which
//! judges the scopes keryx asks for and enforces them.

use serde_json::Value;

use keryx_bluesky::scope;

use crate::bluesky::{Pds, harness_dir};
use crate::support::{
    EmulatorProcess, Home, Run, approval_redirect, authorise, configure_for_emulator, video,
};

/// A home configured for the emulator, its knobs set before anyone signs in.
fn emulated(knobs: &str) -> (Home, EmulatorProcess) {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    if !knobs.is_empty() {
        emulator.configure("bluesky", knobs);
    }
    configure_for_emulator(&mut home, &emulator, &["bluesky"], "");
    (home, emulator)
}

/// The stored session (a secret in the config file), or `None`.
fn stored(home: &Home) -> Option<Value> {
    keryx_core::config::read_stored_secret(&home.config_path(), "bluesky/token")
        .unwrap()
        .map(|s| serde_json::from_str(s.expose()).unwrap())
}

fn stored_scopes(home: &Home) -> Vec<String> {
    let set = stored(home).expect("a stored session");
    let mut scopes: Vec<String> = set["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    scopes.sort();
    scopes
}

fn sorted(scope: &str) -> Vec<String> {
    let mut scopes: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
    scopes.sort();
    scopes
}

/// A post of a fresh video, with captions when `captions` is set.
fn post(home: &Home, name: &str, captions: bool) -> Run {
    let file = video(home, name, 3, 720, 1280, 150_000);
    let vtt = home.path().join("captions.vtt");
    std::fs::write(&vtt, "WEBVTT\n\n00:00.000 --> 00:02.000\nhello\n").unwrap();
    let mut args = vec![
        "post".to_string(),
        "bluesky".into(),
        file.to_str().unwrap().into(),
        "--yes".into(),
        "--json".into(),
        "--title".into(),
        "scoped #keryx".into(),
    ];
    if captions {
        args.extend([
            "--bluesky-captions".into(),
            vtt.to_str().unwrap().into(),
            "--bluesky-caption-lang".into(),
            "en".into(),
        ]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    home.run(&args)
}

fn records(emulator: &EmulatorProcess) -> Vec<Value> {
    emulator.stats("bluesky")["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// keryx asks for the granular set (PDS 0.5.35 takes it without listing it), is granted it,
/// and posts with captions through the video service; `--remove` then revokes the session at
/// the revocation endpoint, so the old session put back is refused (exit 4).
#[test]
fn bluesky_granular_grant_posts_and_remove_revokes_it() {
    let (home, emulator) = emulated("");
    authorise(&home, &emulator, "bluesky").expect_code(0);
    assert_eq!(stored_scopes(&home), sorted(&scope::granular()));
    let set = stored(&home).unwrap();
    assert_eq!(
        set["extra"]["client_id"],
        keryx_bluesky::oauth::client_id(&scope::granular())
    );
    post(&home, "first.mp4", true).expect_code(0);
    let posted = records(&emulator);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["value"]["embed"]["captions"][0]["lang"], "en");
    assert_eq!(emulator.stats("bluesky")["video_uploads"], 1);

    let with_session = home.config();
    let removal = home
        .run(&["auth", "bluesky", "--remove", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(removal["revocation"], "revoked", "{removal}");
    assert_eq!(emulator.stats("bluesky")["revocations"], 1);
    assert!(stored(&home).is_none());
    home.write_config(&with_session);
    post(&home, "second.mp4", false)
        .expect_code(4)
        .expect_stderr("keryx auth bluesky");
    assert_eq!(records(&emulator).len(), 1);
}

/// The person approves all but the captions' scope: the sign-in says captions will be refused;
/// a post with captions is refused by the server with its `ScopeMissingError` (exit 4, saying
/// to sign in again), and nothing is posted; one without captions posts.
#[test]
fn bluesky_grant_without_the_captions_scope_is_refused_at_the_captions_upload() {
    let narrowed = scope::granular().replace(" blob:text/vtt", "");
    let (home, emulator) = emulated(&format!("consent_scope: \"{narrowed}\"\n"));
    authorise(&home, &emulator, "bluesky")
        .expect_code(0)
        .expect_stdout("posts with --bluesky-captions will be refused");
    assert_eq!(stored_scopes(&home), sorted(&narrowed));
    post(&home, "captioned.mp4", true)
        .expect_code(4)
        .expect_stderr("Missing required scope \"blob:text/vtt\"")
        .expect_stderr("keryx auth bluesky` again and approve every permission");
    assert_eq!(records(&emulator).len(), 0);
    post(&home, "plain.mp4", false).expect_code(0);
    assert_eq!(records(&emulator).len(), 1);
}

/// A grant a post cannot work with is refused at sign-in (exit 4) naming what is missing,
/// nothing is stored, and the session is revoked.
#[test]
fn bluesky_grant_without_what_a_post_needs_is_refused_at_sign_in() {
    let (home, emulator) = emulated("consent_scope: \"atproto blob:video/*\"\n");
    authorise(&home, &emulator, "bluesky")
        .expect_code(4)
        .expect_stderr("`repo:app.bsky.feed.post?action=create`")
        .expect_stderr("approve every permission");
    assert!(stored(&home).is_none());
    // The session keryx would not keep was ended at the server, not left alive.
    assert_eq!(emulator.stats("bluesky")["revocations"], 1);
}

/// A server that refuses granular scopes at PAR: keryx asks again for `atproto
/// transition:generic` (its client_id saying so), and posts. A server that lists them gets
/// them.
#[test]
fn bluesky_scope_fallback_where_granular_scopes_are_refused() {
    for (knob, expected) in [
        ("unsupported", scope::fallback()),
        ("listed", scope::granular()),
    ] {
        let (home, emulator) = emulated(&format!("granular_scopes: {knob}\n"));
        authorise(&home, &emulator, "bluesky").expect_code(0);
        assert_eq!(stored_scopes(&home), sorted(&expected), "{knob}");
        assert_eq!(
            stored(&home).unwrap()["extra"]["client_id"],
            keryx_bluesky::oauth::client_id(&expected)
        );
        post(&home, "reel.mp4", true).expect_code(0);
        assert_eq!(records(&emulator).len(), 1, "{knob}");
    }
}

/// `--code` from a second process after a fallback: the pending authorisation kept the scope
/// (and client_id) the PAR was accepted with, so the token request names the same client.
#[test]
fn bluesky_code_in_a_second_process_keeps_the_fallback_scope() {
    let (home, emulator) = emulated("granular_scopes: unsupported\n");
    let mut first = home.spawn(&["auth", "bluesky", "--no-browser", "--timeout", "60s"]);
    let mut lines = crate::support::Lines::new(first.stderr.take().unwrap());
    let url = lines.wait_for(
        std::time::Duration::from_secs(30),
        crate::support::is_authorize_url(&emulator.base_url),
    );
    let redirect = approval_redirect(&emulator, url.trim());
    let _ = first.kill();
    let _ = first.wait();
    home.run(&["auth", "bluesky", "--code", &redirect])
        .expect_code(0);
    assert_eq!(stored_scopes(&home), sorted(&scope::fallback()));
    post(&home, "reel.mp4", false).expect_code(0);
}

/// `--remove` of an app-password session: `deleteSession` with the refresh JWT, the app
/// password forgotten, and a warning that the last access token lives until it expires. Put
/// back after that expiry, the session cannot refresh: exit 4.
#[test]
fn bluesky_remove_ends_an_app_password_session() {
    let (home, emulator) = emulated("access_ttl_secs: 1\n");
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    let with_session = home.config();
    assert!(
        with_session.contains("bluesky/app_password"),
        "{with_session}"
    );
    let removal = home.run(&["auth", "bluesky", "--remove", "--json"]);
    removal.expect_code(0).expect_stderr("until it expires");
    assert_eq!(removal.json()["revocation"], "revoked");
    assert_eq!(emulator.stats("bluesky")["sessions_deleted"], 1);
    assert!(
        !home.config().contains("bluesky/app_password"),
        "{}",
        home.config()
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    home.write_config(&with_session);
    post(&home, "reel.mp4", false)
        .expect_code(4)
        .expect_stderr("keryx auth bluesky");
    assert_eq!(records(&emulator).len(), 0);
}

/// `BROWSER` for keryx: the harness's consent helper, with its extra arguments, through a
/// script (a `--scope` value holds spaces).
fn consent_browser(pds: &Pds, home: &mut Home, extra: &[&str]) {
    let env = home.path().join("pds.json");
    std::fs::write(&env, pds.env.to_string()).unwrap();
    let harness = harness_dir();
    let quoted: Vec<String> = extra.iter().map(|a| format!("'{a}'")).collect();
    let script = home.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec '{}' '{}' --env '{}' {} \"$1\"\n",
            harness.join("node_modules/.bin/node").display(),
            harness.join("oauth-consent.mjs").display(),
            env.display(),
            quoted.join(" ")
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();
    home.env.retain(|(k, _)| k != "BLUESKY_APP_PASSWORD");
    home.set_env("BROWSER", script.to_str().unwrap());
}

/// The real PDS takes keryx's granular scopes and grants them; with that grant a post with
/// captions goes through the video service path (both service-auth tokens issued by the real
/// server under the `rpc:` scopes, the video stored through it by the fake video service);
/// `--remove` revokes at the real revocation endpoint, so the old session put back is refused.
#[test]
fn bluesky_real_pds_granular_grant_video_service_post_and_remove() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let emulator_home = Home::new();
    let emulator = EmulatorProcess::start(&emulator_home);
    emulator.configure("bluesky", &format!("video_service_pds: {}\n", pds.url()));
    let mut home = pds.home(
        0,
        &format!(
            "    upload: video-service\n    video_service: {}/video\n",
            emulator.base_url
        ),
    );
    consent_browser(&pds, &mut home, &[]);
    home.run(&["auth", "bluesky"]).expect_code(0);
    assert_eq!(stored_scopes(&home), sorted(&scope::granular()));
    post(&home, "reel.mp4", true).expect_code(0);
    assert_eq!(emulator.stats("bluesky")["video_uploads"], 1);
    let posts = pds.posts(&did);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["value"]["embed"]["captions"][0]["lang"], "en");

    let with_session = home.config();
    let removal = home
        .run(&["auth", "bluesky", "--remove", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(removal["revocation"], "revoked", "{removal}");
    home.write_config(&with_session);
    post(&home, "again.mp4", false)
        .expect_code(4)
        .expect_stderr("keryx auth bluesky");
    assert_eq!(pds.posts(&did).len(), 1);
}

/// The person narrows the grant on the real consent page: the real server then refuses the
/// captions upload with the body keryx's emulator copies, and keryx says what to do (exit 4).
#[test]
fn bluesky_real_pds_refuses_captions_without_their_scope() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let mut home = pds.home(0, "");
    let narrowed = scope::granular().replace(" blob:text/vtt", "");
    consent_browser(&pds, &mut home, &["--scope", &narrowed]);
    home.run(&["auth", "bluesky"])
        .expect_code(0)
        .expect_stdout("posts with --bluesky-captions will be refused");
    assert_eq!(stored_scopes(&home), sorted(&narrowed));
    post(&home, "captioned.mp4", true)
        .expect_code(4)
        .expect_stderr("Missing required scope \"blob:text/vtt\"")
        .expect_stderr("approve every permission");
    assert_eq!(pds.posts(&did).len(), 0);
}

/// `--remove` of an app-password session at the real server: its refresh JWT is dead after.
#[test]
fn bluesky_real_pds_remove_deletes_the_app_password_session() {
    let Some(pds) = Pds::start() else { return };
    let home = pds.home(0, "");
    home.run(&["auth", "bluesky", "--app-password"])
        .expect_code(0);
    let refresh = stored(&home).unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let removal = home
        .run(&["auth", "bluesky", "--remove", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(removal["revocation"], "revoked", "{removal}");
    let reply = reqwest::blocking::Client::new()
        .post(format!(
            "{}/xrpc/com.atproto.server.refreshSession",
            pds.url()
        ))
        .bearer_auth(&refresh)
        .send()
        .unwrap();
    assert_eq!(reply.status(), 400);
    let body: Value = reply.json().unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "ExpiredToken", "message": "Token has been revoked"})
    );
}

/// `POST /oauth/revoke` with the stored session's token, signed by `key`, as `client_id`.
fn revoke_at(
    base: &str,
    key: &keryx_bluesky::dpop::DpopKey,
    client_id: &str,
    token: &str,
) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = crate::bluesky_oauth::context(dir.path());
        let url = format!("{base}/oauth/revoke");
        let form = [("token", token), ("client_id", client_id)];
        let reply = keryx_bluesky::oauth::dpop_form(
            &ctx,
            "revoke",
            &url,
            key,
            &keryx_bluesky::dpop::Nonces::default(),
            &form,
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 200);
        serde_json::from_slice(&reply.body).unwrap()
    })
}

/// What revocation ends: only the session's own client with the session's own key. Another
/// key or another client_id gets the same 200 `{}` and ends nothing (RFC 7009's silence); the
/// proper request ends the session, access token included.
fn revocation_rules(home: &Home, base: &str) {
    let set = stored(home).unwrap();
    let key = keryx_bluesky::dpop::DpopKey::from_secret(&keryx_core::Secret::new(
        set["extra"]["dpop_key"].as_str().unwrap(),
    ))
    .unwrap();
    let client_id = set["extra"]["client_id"].as_str().unwrap();
    let refresh = set["refresh_token"].as_str().unwrap();
    let other_key = keryx_bluesky::dpop::DpopKey::generate();
    assert_eq!(
        revoke_at(base, &other_key, client_id, refresh),
        serde_json::json!({})
    );
    let other_client = keryx_bluesky::oauth::client_id(&scope::fallback());
    assert_eq!(
        revoke_at(base, &key, &other_client, refresh),
        serde_json::json!({})
    );
    assert_eq!(
        revoke_at(base, &key, client_id, "ref-unknown"),
        serde_json::json!({})
    );
    post(home, "alive.mp4", false).expect_code(0);
    let set = stored(home).unwrap();
    let refresh = set["refresh_token"].as_str().unwrap();
    assert_eq!(
        revoke_at(base, &key, client_id, refresh),
        serde_json::json!({})
    );
    post(home, "dead.mp4", false)
        .expect_code(4)
        .expect_stderr("keryx auth bluesky");
}

#[test]
fn bluesky_revocation_ends_only_the_session_s_own_client_and_key() {
    let (home, emulator) = emulated("");
    authorise(&home, &emulator, "bluesky").expect_code(0);
    revocation_rules(&home, emulator.base_url.trim_end_matches('/'));
    assert_eq!(records(&emulator).len(), 1);
}

#[test]
fn bluesky_real_pds_revocation_ends_only_the_session_s_own_client_and_key() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let mut home = pds.home(0, "");
    consent_browser(&pds, &mut home, &[]);
    home.run(&["auth", "bluesky"]).expect_code(0);
    revocation_rules(&home, pds.url());
    assert_eq!(pds.posts(&did).len(), 1);
}

/// On the real consent page, a grant of `atproto` alone: keryx refuses it at sign-in (exit 4,
/// naming the post record's scope) and stores nothing.
#[test]
fn bluesky_real_pds_grant_of_atproto_alone_is_refused_at_sign_in() {
    let Some(pds) = Pds::start() else { return };
    let mut home = pds.home(0, "");
    consent_browser(&pds, &mut home, &["--scope", "atproto"]);
    home.run(&["auth", "bluesky"])
        .expect_code(4)
        .expect_stderr("`repo:app.bsky.feed.post?action=create`");
    assert!(stored(&home).is_none());
}
