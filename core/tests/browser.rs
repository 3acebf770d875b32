//! A real browser does the flow: headless Chromium, started through `$BROWSER`, opens the
//! authorize URL on a fake provider, follows its 302 to keryx's loopback listener, and the code
//! arrives. Alone in this binary because it sets `$BROWSER` for the process.
//!
//! Without Chromium the test is skipped loudly, except under `CI=true`, where it fails.

mod oauth_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keryx_core::oauth::{AuthRequest, Browser, FlowIo, FlowSpec, obtain_code_with};
use oauth_support::{authorize_url_for, context, options};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

fn find_chromium() -> Option<PathBuf> {
    let candidates = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ];
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Kills the Chromium the wrapper recorded, when the test ends however it ends.
struct KillOnDrop(PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let Ok(pid) = std::fs::read_to_string(&self.0) else {
            return;
        };
        let pid = pid.trim().to_owned();
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        let alive = || {
            Command::new("kill")
                .args(["-0", &pid])
                .status()
                .is_ok_and(|s| s.success())
        };
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if alive() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

/// `$BROWSER`: records its pid (exec keeps it for Chromium) and starts headless Chromium on "$1".
fn write_wrapper(dir: &Path, chromium: &Path, pid_file: &Path) -> PathBuf {
    let wrapper = dir.join("browser.sh");
    let profile = dir.join("profile");
    let script = format!(
        "#!/bin/sh\necho $$ > '{pid}'\nexec '{chromium}' --headless --no-sandbox --disable-gpu \
         --disable-dev-shm-usage --disable-quic --no-first-run --no-proxy-server \
         --disable-background-networking --disable-component-update --disable-sync \
         --user-data-dir='{profile}' \"$1\"\n",
        pid = pid_file.display(),
        chromium = chromium.display(),
        profile = profile.display(),
    );
    std::fs::write(&wrapper, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    wrapper
}

/// The fake provider's authorisation page: approves at once, like a user clicking "Allow",
/// with a code that has the characters real ones have.
async fn authorize(
    State(seen): State<UnboundedSender<HashMap<String, String>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let _ = seen.send(query.clone());
    let (Some(redirect_uri), Some(state)) = (query.get("redirect_uri"), query.get("state")) else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri and state are required",
        )
            .into_response();
    };
    if query.get("code_challenge").is_none_or(|c| c.len() != 43) {
        return (StatusCode::BAD_REQUEST, "code_challenge is required").into_response();
    }
    let mut location = url::Url::parse(redirect_uri).unwrap();
    location
        .query_pairs_mut()
        .append_pair("code", "act.Iw*1!6431.u1/x")
        .append_pair("scopes", "user.info.basic,video.publish")
        .append_pair("state", state);
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

#[test]
fn headless_chromium_completes_the_loopback_flow() {
    let Some(chromium) = find_chromium() else {
        let message = "!!! SKIPPED headless_chromium_completes_the_loopback_flow: no Chromium at \
                       /usr/bin/chromium (or chromium-browser, google-chrome) !!!";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message} (CI=true, so this is a failure)");
        }
        eprintln!("{message}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("chromium.pid");
    let wrapper = write_wrapper(dir.path(), &chromium, &pid_file);
    // SAFETY: this binary's only test sets it before starting the runtime or any thread of its
    // own; nothing else in the process reads or writes the environment concurrently.
    unsafe { std::env::set_var("BROWSER", &wrapper) };
    let _chromium = KillOnDrop(pid_file);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (seen_tx, mut seen) = unbounded_channel();
        let provider = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let provider_url = format!(
            "http://127.0.0.1:{}/authorize",
            provider.local_addr().unwrap().port()
        );
        let app = Router::new()
            .route("/authorize", get(authorize))
            .with_state(seen_tx);
        let server = tokio::spawn(async move { axum::serve(provider, app).await });

        let build = move |request: &AuthRequest| authorize_url_for(request, &provider_url);
        let authorize_url: &(dyn Fn(&AuthRequest) -> String + Send + Sync) = &build;
        let spec = FlowSpec {
            platform: "fake",
            display_name: "Fake",
            callback_path: "/callback/",
            authorize_url,
        };
        let (ctx, ui) = context(dir.path());
        let mut options = options();
        options.no_browser = false;
        options.timeout = Duration::from_secs(90);
        let (_lines, rx) = unbounded_channel();
        let io = FlowIo::terminal()
            .with_lines(rx)
            .with_browser(Browser::System)
            .with_interrupt(std::future::pending());

        let callback = obtain_code_with(&ctx, &spec, &options, io)
            .await
            .unwrap_or_else(|e| {
                panic!("the flow failed: {e:?}\nui: {:?}", ui.all());
            });
        assert_eq!(callback.code.expose(), "act.Iw*1!6431.u1/x");
        assert_eq!(
            callback.params.get("scopes").unwrap(),
            "user.info.basic,video.publish"
        );
        let query = seen
            .try_recv()
            .expect("Chromium never reached the fake authorize page");
        assert_eq!(query["state"], callback.request.state);
        assert_eq!(query["redirect_uri"], callback.request.redirect_uri);
        assert!(ui.of("warn").is_empty(), "{:?}", ui.all());
        server.abort();
    });
}
