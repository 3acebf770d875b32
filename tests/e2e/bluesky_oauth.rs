//! keryx's atproto OAuth pieces against the real PDS's OAuth provider: discovery with the
//! issuer check, PAR with PKCE S256 and an ES256 DPoP proof (the nonce handshake included), an
//! authorize URL holding only `client_id` and `request_uri`, the harness's consent helper in
//! place of the person, the code exchange (DPoP-bound, `sub` = the DID), a DPoP call to the PDS
//! with `ath`, and a callback with a forged `iss` refused. The real server is the judge of every
//! proof and of the granular scopes keryx asks for. The first test runs the pieces in-process;
//! the others run `keryx auth bluesky` through the binary.

use std::sync::Arc;

use serde_json::Value;

use keryx_bluesky::dpop::{DpopKey, Nonces};
use keryx_bluesky::oauth;
use keryx_core::{Context, ErrorKind, Prompter, Ui};

use crate::bluesky::{Pds, harness_dir};

struct Quiet;

impl Ui for Quiet {
    fn info(&self, _: &str) {}
    fn show(&self, _: &str) {}
    fn warn(&self, _: &str) {}
    fn prompter(&self) -> Option<&dyn Prompter> {
        None
    }
}

pub(crate) fn context(dir: &std::path::Path) -> Context {
    let config_file = dir.join("config.yaml");
    std::fs::write(&config_file, "secrets: file\n").unwrap();
    let config = keryx_core::config::Config::load(&config_file, &["bluesky"]).unwrap();
    let ui: Arc<dyn Ui> = Arc::new(Quiet);
    let secrets =
        keryx_core::secrets::SecretStore::new(config.secrets_mode(), config.path(), ui.clone());
    Context::new(
        config,
        keryx_core::paths::Paths {
            config_file,
            state_dir: dir.join("state"),
        },
        secrets,
        keryx_core::http::client().unwrap(),
        ui,
    )
}

/// The consent helper approves as the first account and prints the callback without following.
fn consent(pds: &Pds, dir: &std::path::Path, url: &str) -> Value {
    let env = dir.join("pds.json");
    std::fs::write(&env, pds.env.to_string()).unwrap();
    let harness = harness_dir();
    let out = std::process::Command::new(harness.join("node_modules/.bin/node"))
        .arg(harness.join("oauth-consent.mjs"))
        .arg("--env")
        .arg(&env)
        .arg("--no-follow")
        .arg(url)
        .output()
        .expect("run oauth-consent.mjs");
    let line = String::from_utf8_lossy(&out.stdout);
    let result: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
        panic!(
            "consent helper said ({e}): {line} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(result["ok"], true, "{result}");
    result
}

#[test]
fn bluesky_oauth_pieces_pass_the_real_provider() {
    let Some(pds) = Pds::start() else { return };
    // The harness's blocking HTTP client lives outside the runtime.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(oauth_flow(&pds));
}

async fn oauth_flow(pds: &Pds) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    let did = pds.account(0)["did"].as_str().unwrap().to_string();

    let metadata = oauth::discover(&ctx, pds.url()).await.unwrap();
    assert_eq!(metadata.issuer, pds.url());
    let key = DpopKey::generate();
    let nonces = Nonces::default();
    assert_eq!(
        oauth::client_id(&keryx_bluesky::scope::fallback()),
        "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=atproto+transition%3Ageneric"
    );
    // PDS 0.5.35 does not list granular scopes, yet takes them.
    assert!(!keryx_bluesky::scope::metadata_lists_granular(
        &metadata.scopes_supported
    ));
    let granular = keryx_bluesky::scope::granular();
    let scope = granular.as_str();
    let client_id = oauth::client_id(scope);
    // Any port: the registered redirect has none. --no-follow: nothing listens there.
    let redirect_uri = "http://127.0.0.1:9/callback";
    let state = keryx_core::oauth::state();
    let verifier = keryx_core::oauth::verifier();
    let pushed = oauth::push(
        &ctx,
        &metadata,
        &key,
        &nonces,
        &client_id,
        redirect_uri,
        scope,
        &state,
        &verifier,
        Some("alice.test"),
    )
    .await
    .unwrap();
    let oauth::Push::Pushed(pushed) = pushed else {
        panic!("the real PDS refused keryx's granular scopes")
    };
    assert!(
        pushed
            .request_uri
            .starts_with("urn:ietf:params:oauth:request_uri:"),
        "{}",
        pushed.request_uri
    );
    // The nonce handshake happened: the server's nonce is kept for its origin.
    assert!(nonces.get(pds.url()).is_some(), "{:?}", nonces.snapshot());
    let url = url::Url::parse(&pushed.authorize_url).unwrap();
    let params: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(params, ["client_id", "request_uri"]);

    let approved = consent(pds, dir.path(), &pushed.authorize_url);
    let callback = &approved["params"];
    assert_eq!(callback["state"], state.as_str());
    let code = keryx_core::Secret::new(callback["code"].as_str().unwrap());
    let iss = callback["iss"].as_str().unwrap();

    // A forged issuer is refused before the code is spent.
    let forged = oauth::exchange_code(
        &ctx,
        &metadata,
        &key,
        &nonces,
        &client_id,
        redirect_uri,
        &code,
        &verifier,
        Some("http://evil.example"),
        &did,
    )
    .await
    .unwrap_err();
    assert_eq!(forged.kind(), ErrorKind::Input, "{forged}");

    let tokens = oauth::exchange_code(
        &ctx,
        &metadata,
        &key,
        &nonces,
        &client_id,
        redirect_uri,
        &code,
        &verifier,
        Some(iss),
        &did,
    )
    .await
    .unwrap();
    assert_eq!(tokens.sub, did);
    assert!(tokens.refresh_token.starts_with("ref-"));
    // Granted as asked: every granular scope, none dropped, none added.
    let mut granted: Vec<&str> = tokens.scope.split_whitespace().collect();
    let mut asked: Vec<&str> = scope.split_whitespace().collect();
    granted.sort();
    asked.sort();
    assert_eq!(granted, asked, "{}", tokens.scope);

    // A PDS call with the DPoP-bound token: `Authorization: DPoP`, a proof with `ath` and the
    // PDS's nonce (retried once when the PDS wants a new one).
    let session_url = format!("{}/xrpc/com.atproto.server.getSession", pds.url());
    let mut status = 0;
    for _ in 0..2 {
        let proof = key.proof(
            "GET",
            &session_url,
            nonces.get(&session_url).as_deref(),
            Some(&tokens.access_token),
        );
        let reply = ctx
            .http
            .get(&session_url)
            .header("Authorization", format!("DPoP {}", tokens.access_token))
            .header("DPoP", proof)
            .send()
            .await
            .unwrap();
        nonces.take_from(&session_url, reply.headers());
        status = reply.status().as_u16();
        let body: Value = reply.json().await.unwrap();
        if status == 200 {
            assert_eq!(body["did"], did.as_str());
            break;
        }
        assert_eq!(body["error"], "use_dpop_nonce", "{body}");
    }
    assert_eq!(status, 200);
}

/// The harness's PDS description on disk, for the consent helper's `--env`.
fn env_file(pds: &Pds, home: &crate::support::Home) -> std::path::PathBuf {
    let path = home.path().join("pds.json");
    std::fs::write(&path, pds.env.to_string()).unwrap();
    path
}

/// `keryx auth bluesky` through the binary, the consent helper as the BROWSER: PAR, the
/// loopback capture, the code exchange; then posts that refresh the DPoP-bound session, among
/// them eight processes at once on the one session (the PDS kills the session if any refresh
/// token is replayed, so all eight succeeding proves the refresh lock).
#[test]
fn bluesky_oauth_login_through_the_binary_and_eight_concurrent_posts() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let mut home = pds.home(0, "");
    home.env.retain(|(k, _)| k != "BLUESKY_APP_PASSWORD");
    let env = env_file(&pds, &home);
    let harness = harness_dir();
    home.set_env(
        "BROWSER",
        &format!(
            "{} {} --env {}",
            harness.join("node_modules/.bin/node").display(),
            harness.join("oauth-consent.mjs").display(),
            env.display()
        ),
    );
    let auth = home.run(&["auth", "bluesky"]);
    auth.expect_code(0)
        .expect_stdout(&format!("Authorised Bluesky as alice.test ({did})"))
        .expect_stdout("14 days");
    // The URL keryx showed is PAR's: only client_id and request_uri.
    let shown = auth
        .stderr
        .lines()
        .find(|l| l.contains("/oauth/authorize?"))
        .expect("the URL");
    let url = url::Url::parse(shown.trim()).unwrap();
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(keys, ["client_id", "request_uri"]);
    let config = home.config();
    assert!(config.contains("enabled: true"), "{config}");
    // No pending authorisation (and its DPoP key) is left behind.
    assert!(!config.contains("oauth_pending"), "{config}");

    let first = crate::support::video(&home, "first.mp4", 4, 1080, 1920, 200_000);
    home.run(&[
        "post",
        "bluesky",
        first.to_str().unwrap(),
        "--yes",
        "--title",
        "oauth #dpop",
    ])
    .expect_code(0);
    let files: Vec<_> = (0..8)
        .map(|i| {
            crate::support::video(
                &home,
                &format!("c{i}.mp4"),
                3 + i,
                720,
                1280,
                150_000 + i * 1000,
            )
        })
        .collect();
    let mut children: Vec<_> = files
        .iter()
        .map(|f| {
            home.spawn(&[
                "post",
                "bluesky",
                f.to_str().unwrap(),
                "--yes",
                "--title",
                "at once",
            ])
        })
        .collect();
    for child in &mut children {
        let status = crate::support::wait_with_timeout(child, std::time::Duration::from_secs(120));
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert!(status.success(), "a concurrent post failed: {stderr}");
    }
    assert_eq!(pds.posts(&did).len(), 9);
}

/// A pasted callback address whose `iss` is not the authorization server's is refused with
/// exit 2, and nothing is stored.
#[test]
fn bluesky_oauth_refuses_a_callback_with_a_forged_iss() {
    let Some(pds) = Pds::start() else { return };
    let mut home = pds.home(0, "");
    home.env.retain(|(k, _)| k != "BLUESKY_APP_PASSWORD");
    let env = env_file(&pds, &home);
    let mut child = home
        .command(&["auth", "bluesky", "--no-browser", "--timeout", "60s"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = crate::support::Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(std::time::Duration::from_secs(30), |l| {
        l.contains("/oauth/authorize?")
    });
    let harness = harness_dir();
    let out = std::process::Command::new(harness.join("node_modules/.bin/node"))
        .arg(harness.join("oauth-consent.mjs"))
        .args(["--env", env.to_str().unwrap(), "--no-follow", url.trim()])
        .output()
        .unwrap();
    let approved: Value = serde_json::from_slice(&out.stdout).unwrap();
    let redirect = approved["redirect"].as_str().unwrap();
    let iss = approved["params"]["iss"].as_str().unwrap();
    let encoded: String = url::form_urlencoded::byte_serialize(iss.as_bytes()).collect();
    let forged = redirect.replace(&encoded, "http%3A%2F%2Fevil.example");
    assert_ne!(forged, redirect);
    crate::support::write_stdin(&mut child, &format!("{forged}\n"));
    let status = crate::support::wait_with_timeout(&mut child, std::time::Duration::from_secs(60));
    let said = lines.rest();
    assert_eq!(status.code(), Some(2), "{said}");
    assert!(said.contains("issuer"), "{said}");
    assert!(
        !home.config().contains("bluesky/token"),
        "{}",
        home.config()
    );
}

/// `--code` in a second process finishes the authorisation the first one started: the pending
/// request keeps the DPoP key the PAR was signed with and the client_id.
#[test]
fn bluesky_oauth_code_in_a_second_process() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let mut home = pds.home(0, "");
    home.env.retain(|(k, _)| k != "BLUESKY_APP_PASSWORD");
    let env = env_file(&pds, &home);
    let mut first = home.spawn(&["auth", "bluesky", "--no-browser", "--timeout", "60s"]);
    let mut lines = crate::support::Lines::new(first.stderr.take().unwrap());
    let url = lines.wait_for(std::time::Duration::from_secs(30), |l| {
        l.contains("/oauth/authorize?")
    });
    let harness = harness_dir();
    let out = std::process::Command::new(harness.join("node_modules/.bin/node"))
        .arg(harness.join("oauth-consent.mjs"))
        .args(["--env", env.to_str().unwrap(), "--no-follow", url.trim()])
        .output()
        .unwrap();
    let approved: Value = serde_json::from_slice(&out.stdout).unwrap();
    let redirect = approved["redirect"].as_str().unwrap();
    let _ = first.kill();
    let _ = first.wait();
    home.run(&["auth", "bluesky", "--code", redirect])
        .expect_code(0)
        .expect_stdout(&format!("Authorised Bluesky as alice.test ({did})"));
    let video = crate::support::video(&home, "reel.mp4", 4, 720, 1280, 150_000);
    home.run(&[
        "post",
        "bluesky",
        video.to_str().unwrap(),
        "--yes",
        "--title",
        "via --code",
    ])
    .expect_code(0);
    assert_eq!(pds.posts(&did).len(), 1);
}

/// The session revoked at the real provider (as the user does in Bluesky's settings): the next
/// post ends with exit 4 naming both ways to sign in again, and sends no byte.
#[test]
fn bluesky_oauth_revoked_session_exits_4() {
    let Some(pds) = Pds::start() else { return };
    let did = pds.account(0)["did"].as_str().unwrap().to_string();
    let mut home = pds.home(0, "");
    home.env.retain(|(k, _)| k != "BLUESKY_APP_PASSWORD");
    let env = env_file(&pds, &home);
    let harness = harness_dir();
    home.set_env(
        "BROWSER",
        &format!(
            "{} {} --env {}",
            harness.join("node_modules/.bin/node").display(),
            harness.join("oauth-consent.mjs").display(),
            env.display()
        ),
    );
    home.run(&["auth", "bluesky"]).expect_code(0);
    // The stored session: its refresh token, DPoP key and client_id (a secret in the config file).
    let stored = keryx_core::config::read_stored_secret(&home.config_path(), "bluesky/token")
        .unwrap()
        .expect("the session is stored");
    let set: Value = serde_json::from_str(stored.expose()).unwrap();
    let key = DpopKey::from_secret(&keryx_core::Secret::new(
        set["extra"]["dpop_key"].as_str().unwrap(),
    ))
    .unwrap();
    let client_id = set["extra"]["client_id"].as_str().unwrap().to_string();
    let refresh = set["refresh_token"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = context(dir.path());
        let nonces = Nonces::default();
        let url = format!("{}/oauth/revoke", pds.url());
        let form = [
            ("token", refresh.as_str()),
            ("client_id", client_id.as_str()),
        ];
        keryx_bluesky::oauth::dpop_form(&ctx, "revoke", &url, &key, &nonces, &form)
            .await
            .unwrap();
    });
    let video = crate::support::video(&home, "reel.mp4", 4, 720, 1280, 150_000);
    home.run(&[
        "post",
        "bluesky",
        video.to_str().unwrap(),
        "--yes",
        "--title",
        "after revoke",
    ])
    .expect_code(4)
    .expect_stderr("keryx auth bluesky")
    .expect_stderr("--app-password");
    assert_eq!(pds.posts(&did).len(), 0);
}
