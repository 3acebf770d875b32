//! The authorisation flow end to end: loopback capture, pasted lines, `--code` in a second
//! process, and every way it can refuse or give up.

mod oauth_support;

use std::time::Duration;

use keryx_core::ErrorKind;
use keryx_core::oauth::{
    AuthRequest, Browser, FlowIo, FlowSpec, forget_pending, obtain_code, obtain_code_with,
};
use oauth_support::{TestUi, authorize_url_reporting, context, options, pending_path};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

const P: &str = "fake";

fn spec(authorize_url: &(dyn Fn(&AuthRequest) -> String + Send + Sync)) -> FlowSpec<'_> {
    FlowSpec {
        platform: P,
        display_name: "Fake",
        callback_path: "/callback/",
        authorize_url,
    }
}

/// Test io: pasted lines from the returned sender, no Ctrl-C.
fn io() -> (FlowIo, UnboundedSender<String>) {
    let (tx, rx) = unbounded_channel();
    (
        FlowIo::terminal()
            .with_lines(rx)
            .with_interrupt(std::future::pending()),
        tx,
    )
}

async fn get(url: &str) -> (u16, String) {
    // No proxy: an HTTP_PROXY in the environment must not swallow loopback requests.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn next_request(rx: &mut UnboundedReceiver<AuthRequest>) -> AuthRequest {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

fn assert_no_secret_printed(ui: &TestUi, request: &AuthRequest, code: &str) {
    let text = ui.text();
    assert!(
        !text.contains(request.verifier.expose()),
        "the verifier was printed: {text}"
    );
    assert!(!text.contains(code), "the code was printed: {text}");
}

#[tokio::test]
async fn loopback_success_decodes_the_code_once_and_answers_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, _lines) = io();
    let options = options();
    let browser = async {
        let request = next_request(&mut requests).await;
        // The pending request is on disk before the URL is shown.
        let saved = std::fs::read_to_string(pending_path(dir.path(), P)).unwrap();
        assert!(saved.contains(&request.state));
        assert!(
            ui.of("show")
                .iter()
                .any(|m| m.contains("https://auth.example/authorize?"))
        );
        assert!(ui.text().contains("paste the address"), "{}", ui.text());
        // `%252A` must arrive as `%2A`: decoded once, not twice.
        let url = format!(
            "{}?code=act.Iw%2A1%216431.u1%252A&scopes=user.info.basic%2Cvideo.publish&state={}",
            request.redirect_uri, request.state
        );
        (request, get(&url).await)
    };
    let (result, (request, (status, page))) =
        tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    let callback = result.unwrap();
    assert_eq!(callback.code.expose(), "act.Iw*1!6431.u1%2A");
    assert_eq!(
        callback.params.get("scopes").unwrap(),
        "user.info.basic,video.publish"
    );
    assert_eq!(callback.request.state, request.state);
    assert_eq!(callback.request.verifier, request.verifier);
    assert!(keryx_core::oauth::is_valid_verifier(
        callback.request.verifier.expose()
    ));
    let port = url::Url::parse(&request.redirect_uri)
        .unwrap()
        .port()
        .unwrap();
    assert_eq!(
        request.redirect_uri,
        format!("http://127.0.0.1:{port}/callback/")
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("keryx received the authorisation for Fake; you can close this tab"),
        "{page}"
    );
    assert_no_secret_printed(&ui, &request, "act.Iw");

    // The pending file stays (the platform forgets it after the exchange), private to the user.
    let pending = pending_path(dir.path(), P);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&pending).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let dir_mode = std::fs::metadata(pending.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }
    // The listener answers until the platform is done with the callback, then goes away
    // (after at most the 2 s it gives a page in flight to reach the browser).
    drop(callback);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let gone = async {
        while client.get(&request.redirect_uri).send().await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(5), gone)
            .await
            .is_ok(),
        "the loopback listener outlived the callback"
    );
    forget_pending(&ctx, P).unwrap();
    assert!(!pending.exists());
    forget_pending(&ctx, P).unwrap(); // nothing pending is fine
}

#[tokio::test]
async fn a_rerun_replaces_the_pending_request_and_works_again() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let options = options();
    let mut states = Vec::new();
    for round in 0..2 {
        let (io, _lines) = io();
        let browser = async {
            let r = next_request(&mut requests).await;
            get(&format!(
                "{}?code=c{round}&state={}",
                r.redirect_uri, r.state
            ))
            .await;
            r
        };
        let (result, request) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
        assert_eq!(result.unwrap().code.expose(), format!("c{round}"));
        let saved = std::fs::read_to_string(pending_path(dir.path(), P)).unwrap();
        assert!(
            saved.contains(&request.state),
            "round {round}: the pending file is this run's"
        );
        states.push(request.state);
    }
    assert_ne!(states[0], states[1]);
}

/// Strays (no `state`, or another one), whether they carry a code or an error, are answered
/// with a 400 page and do not end the wait; the genuine redirect after them does.
#[tokio::test]
async fn loopback_callbacks_without_the_right_state_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, _lines) = io();
    let options = options();
    let browser = async {
        let r = next_request(&mut requests).await;
        let mut pages = Vec::new();
        for query in [
            "error=access_denied".to_owned(),
            "error=".to_owned(),
            "code=abc".to_owned(),
            format!("code=abc&state=not-{}", r.state),
            format!("error=access_denied&state=not-{}", r.state),
            // A repeated key never overrides the first, checked one.
            format!("code=abc&state=not-{}&state={}", r.state, r.state),
        ] {
            pages.push(get(&format!("{}?{query}", r.redirect_uri)).await);
        }
        let genuine = get(&format!("{}?code=real&state={}", r.redirect_uri, r.state)).await;
        (pages, genuine)
    };
    let (result, (pages, genuine)) =
        tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    assert_eq!(result.unwrap().code.expose(), "real");
    for (status, page) in &pages {
        assert_eq!(*status, 400, "{page}");
        assert!(
            page.contains("ignored") && page.contains("still waiting"),
            "{page}"
        );
        assert!(
            !page.contains("abc"),
            "a stray's code is never echoed: {page}"
        );
    }
    assert!(pages[0].1.contains("no `state`"), "{}", pages[0].1);
    assert!(
        pages[3].1.contains("another authorisation"),
        "{}",
        pages[3].1
    );
    assert_eq!(genuine.0, 200);
}

/// The browser retrying the genuine redirect while the code is being exchanged is told the
/// authorisation is done; only one answer ever reaches the platform.
#[tokio::test]
async fn a_repeated_genuine_callback_is_answered_already_done() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, _lines) = io();
    let options = options();
    let browser = async {
        let r = next_request(&mut requests).await;
        let url = format!("{}?code=once&state={}", r.redirect_uri, r.state);
        (get(&url).await, url)
    };
    let (result, ((status, _), url)) =
        tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    let callback = result.unwrap();
    assert_eq!(status, 200);
    // The platform has the callback and is exchanging it: the listener still answers.
    let (again, page) = get(&url).await;
    assert_eq!(again, 200);
    assert!(page.contains("already received"), "{page}");
    drop(callback);
}

#[tokio::test]
async fn loopback_access_denied_says_the_user_declined() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, _lines) = io();
    let options = options();
    let browser = async {
        let r = next_request(&mut requests).await;
        let url = format!(
            "{}?error=access_denied&error_description=%3Cb%3EUser%3C%2Fb%3E+cancelled&state={}",
            r.redirect_uri, r.state
        );
        get(&url).await
    };
    let (result, (status, page)) =
        tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    let error = result.unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert_eq!(
        error.message(),
        "you declined the authorisation on Fake (access_denied: <b>User</b> cancelled)"
    );
    assert!(
        error
            .hint()
            .unwrap()
            .contains("run `keryx auth fake` again and approve")
    );
    assert_eq!(status, 400);
    assert!(
        page.contains("&lt;b&gt;User&lt;/b&gt;") && !page.contains("<b>User"),
        "escaped: {page}"
    );
}

#[tokio::test]
async fn other_paths_get_404_and_a_bare_visit_keeps_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, _lines) = io();
    let options = options();
    let browser = async {
        let r = next_request(&mut requests).await;
        let root = r.redirect_uri.trim_end_matches("/callback/");
        assert_eq!(get(&format!("{root}/favicon.ico")).await.0, 404);
        assert_eq!(
            get(&format!("{root}/other?code=x&state={}", r.state))
                .await
                .0,
            404
        );
        assert_eq!(
            get(&r.redirect_uri).await.0,
            400,
            "no code, no error: not an answer"
        );
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let post = client
            .post(format!("{}?code=x&state={}", r.redirect_uri, r.state))
            .send()
            .await
            .unwrap();
        assert_eq!(post.status().as_u16(), 405);
        get(&format!(
            "{}?code=finally&state={}",
            r.redirect_uri, r.state
        ))
        .await
    };
    let (result, (status, _)) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    assert_eq!(result.unwrap().code.expose(), "finally");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_pasted_redirect_url_completes_and_junk_lines_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, lines) = io();
    let options = options();
    let user = async {
        let r = next_request(&mut requests).await;
        lines.send("\n".into()).unwrap();
        lines.send("   \r\n".into()).unwrap();
        lines.send("what do I do now?\n".into()).unwrap();
        // The page the browser could not load, copied from the address bar (Google-style code).
        lines
            .send(format!(
                "{}?state={}&code=4%2F0AbCd-xy*z&scope=a+b\r\n",
                r.redirect_uri, r.state
            ))
            .unwrap();
        r
    };
    let (result, request) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), user);
    let callback = result.unwrap();
    assert_eq!(callback.code.expose(), "4/0AbCd-xy*z");
    assert_eq!(callback.params.get("scope").unwrap(), "a b");
    let warnings = ui.of("warn");
    assert_eq!(
        warnings.len(),
        1,
        "only the junk line is warned about: {warnings:?}"
    );
    assert!(
        warnings[0].contains("was not used") && warnings[0].contains("still waiting"),
        "{warnings:?}"
    );
    assert_no_secret_printed(&ui, &request, "0AbCd");
}

#[tokio::test]
async fn a_pasted_bare_code_is_taken_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, lines) = io();
    let options = options();
    let user = async {
        next_request(&mut requests).await;
        lines.send("  Iw*1!6431.u1-_x  \n".into()).unwrap();
    };
    let (result, ()) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), user);
    let callback = result.unwrap();
    assert_eq!(callback.code.expose(), "Iw*1!6431.u1-_x");
    assert!(callback.params.is_empty());
}

#[tokio::test]
async fn a_pasted_url_with_a_foreign_state_ends_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, lines) = io();
    let options = options();
    let user = async {
        let r = next_request(&mut requests).await;
        lines
            .send(format!("{}?code=x&state=stale", r.redirect_uri))
            .unwrap();
    };
    let (result, ()) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), user);
    assert!(
        result
            .unwrap_err()
            .message()
            .contains("state does not match")
    );
}

#[tokio::test]
async fn eof_on_the_pasted_lines_does_not_end_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, lines) = io();
    drop(lines); // stdin is /dev/null
    let options = options();
    let browser = async {
        let r = next_request(&mut requests).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        get(&format!("{}?code=late&state={}", r.redirect_uri, r.state)).await
    };
    let (result, _) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    assert_eq!(result.unwrap().code.expose(), "late");
}

#[tokio::test]
async fn the_timeout_ends_the_wait_with_a_hint_to_use_code() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, lines) = io();
    drop(lines);
    let mut options = options();
    options.timeout = Duration::from_millis(400);
    let started = std::time::Instant::now();
    let error = obtain_code_with(&ctx, &spec, &options, io)
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(error.message(), "no authorisation arrived within 400 ms");
    assert!(
        error.hint().unwrap().contains("keryx auth fake --code"),
        "{:?}",
        error.hint()
    );
    assert!(
        pending_path(dir.path(), P).exists(),
        "a timed-out authorisation can still be finished"
    );
}

/// After a timeout, the message says what was ignored, without any code.
#[tokio::test]
async fn the_timeout_message_names_the_ignored_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, _lines) = io();
    let mut options = options();
    options.timeout = Duration::from_millis(1500);
    let strays = async {
        let r = next_request(&mut requests).await;
        get(&format!("{}?error=access_denied", r.redirect_uri)).await;
        get(&format!("{}?error=access_denied", r.redirect_uri)).await;
        get(&format!("{}?code=SECRETCODE&state=other", r.redirect_uri)).await;
    };
    let (result, ()) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), strays);
    let error = result.unwrap_err();
    let message = error.message();
    assert!(
        message.starts_with("no authorisation arrived within"),
        "{message}"
    );
    assert!(message.contains("ignored 3 callbacks"), "{message}");
    assert!(
        message.contains("2 × a callback with `error=access_denied` and no `state`"),
        "{message}"
    );
    assert!(message.contains("a `code` (not shown)"), "{message}");
    assert!(!message.contains("SECRETCODE"), "{message}");
}

/// The first process is interrupted (Ctrl-C) after showing the URL; a second one finishes with
/// `--code`, from the state directory alone.
#[tokio::test]
async fn code_finishes_in_a_second_process() {
    let dir = tempfile::tempdir().unwrap();
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (ctrl_c, interrupted) = tokio::sync::oneshot::channel::<()>();
    let first = {
        let (ctx, _ui) = context(dir.path());
        let (_, rx) = unbounded_channel();
        let io = FlowIo::terminal().with_lines(rx).with_interrupt(async {
            let _ = interrupted.await;
        });
        let user = async {
            let r = next_request(&mut requests).await;
            ctrl_c.send(()).unwrap();
            r
        };
        let options = options();
        let (result, request) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), user);
        let error = result.unwrap_err();
        assert_eq!(error.message(), "interrupted");
        assert!(error.hint().unwrap().contains("keryx auth fake --code"));
        request
    };
    assert!(
        pending_path(dir.path(), P).exists(),
        "Ctrl-C keeps the pending request"
    );

    let (ctx, ui) = context(dir.path());
    let with = |code: &str| {
        let mut o = options();
        o.code = Some(code.to_owned());
        o.no_browser = false; // --code never opens anything
        o
    };
    // The whole address, Google-style code with %2F; `localhost` and no trailing slash are fine.
    let port = url::Url::parse(&first.redirect_uri)
        .unwrap()
        .port()
        .unwrap();
    let url = format!(
        "http://localhost:{port}/callback?code=4%2F0Ab%2A&state={}&scope=x",
        first.state
    );
    let callback = obtain_code(&ctx, &spec, &with(&url)).await.unwrap();
    assert_eq!(callback.code.expose(), "4/0Ab*");
    assert_eq!(callback.params.get("scope").unwrap(), "x");
    assert_eq!(callback.request.redirect_uri, first.redirect_uri);
    assert_eq!(callback.request.verifier, first.verifier);

    let bare = obtain_code(&ctx, &spec, &with(" Iw*1!6431.u1\n"))
        .await
        .unwrap();
    assert_eq!(bare.code.expose(), "Iw*1!6431.u1");
    assert_eq!(bare.request.state, first.state);

    let stale = format!("{}?code=x&state=older", first.redirect_uri);
    let error = obtain_code(&ctx, &spec, &with(&stale)).await.unwrap_err();
    assert!(
        error.message().contains("state does not match"),
        "{}",
        error.message()
    );

    let other_port = format!(
        "http://127.0.0.1:{}/callback/?code=x&state={}",
        port.wrapping_add(1).max(1),
        first.state
    );
    let error = obtain_code(&ctx, &spec, &with(&other_port))
        .await
        .unwrap_err();
    assert!(
        error
            .message()
            .contains("not the redirect keryx is waiting for"),
        "{}",
        error.message()
    );

    // An unquoted URL cut at `&` by the shell has no state.
    let cut = format!("{}?code=x", first.redirect_uri);
    let error = obtain_code(&ctx, &spec, &with(&cut)).await.unwrap_err();
    assert!(
        error.message().contains("no `state`"),
        "{}",
        error.message()
    );

    let denied = format!(
        "{}?error=access_denied&error_description=no&state={}",
        first.redirect_uri, first.state
    );
    let error = obtain_code(&ctx, &spec, &with(&denied)).await.unwrap_err();
    assert_eq!(
        error.message(),
        "you declined the authorisation on Fake (access_denied: no)"
    );

    let error = obtain_code(&ctx, &spec, &with("two words"))
        .await
        .unwrap_err();
    assert!(
        error.message().starts_with("--code was not used"),
        "{}",
        error.message()
    );
    assert!(error.hint().unwrap().contains("quotes"));
    assert!(ui.all().is_empty(), "--code is quiet: {:?}", ui.all());
    assert!(
        pending_path(dir.path(), P).exists(),
        "refusals keep the pending request"
    );
}

#[tokio::test]
async fn code_without_a_pending_request_says_to_start_with_keryx_auth() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    let mut options = options();
    options.code = Some("abc".into());
    let error = obtain_code(&ctx, &spec(&build), &options)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(
        error.message(),
        "no `keryx auth fake` is waiting for a code"
    );
    assert_eq!(
        error.hint(),
        Some("run `keryx auth fake` first; it prints the URL to open")
    );
}

#[tokio::test]
async fn an_expired_pending_request_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    let spec = spec(&build);
    let (io, _lines) = io();
    let mut short = options();
    short.timeout = Duration::from_millis(50);
    obtain_code_with(&ctx, &spec, &short, io).await.unwrap_err();
    let path = pending_path(dir.path(), P);
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let created = saved["created_at"].as_i64().unwrap();

    // Nine minutes old still works...
    saved["created_at"] = (created - 540).into();
    std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
    let mut options = options();
    options.code = Some("abcdef".into());
    obtain_code(&ctx, &spec, &options).await.unwrap();

    // ...eleven minutes old does not, and is removed.
    saved["created_at"] = (created - 660).into();
    std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
    let error = obtain_code(&ctx, &spec, &options).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("expired"), "{}", error.message());
    assert!(
        error.message().contains("11 minutes ago"),
        "{}",
        error.message()
    );
    assert!(
        error
            .hint()
            .unwrap()
            .contains("run `keryx auth fake` again")
    );
    assert!(!path.exists());
    let error = obtain_code(&ctx, &spec, &options).await.unwrap_err();
    assert!(error.message().contains("no `keryx auth fake` is waiting"));
}

#[tokio::test]
async fn a_damaged_pending_file_is_removed_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    let path = pending_path(dir.path(), P);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{not json").unwrap();
    let mut options = options();
    options.code = Some("abc".into());
    let error = obtain_code(&ctx, &spec(&build), &options)
        .await
        .unwrap_err();
    assert!(error.message().contains("damaged"), "{}", error.message());
    assert!(!path.exists());
}

#[tokio::test]
async fn a_non_loopback_redirect_is_refused_before_anything_happens() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    for bad in [
        "http://example.com:8080/callback/",
        "https://127.0.0.1:8080/callback/",
        "http://127.0.0.1/callback/",
    ] {
        let mut options = options();
        options.redirect = Some(bad.into());
        let (io, _lines) = io();
        let error = obtain_code_with(&ctx, &spec(&build), &options, io)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Input, "{bad}");
        assert!(error.message().contains(bad), "{}", error.message());
        assert!(
            error
                .hint()
                .unwrap()
                .contains("http://127.0.0.1:PORT/callback/")
        );
    }
    let mut options = options();
    options.redirect = Some("http://example.com:8080/callback/".into());
    let error = obtain_code(&ctx, &spec(&build), &options)
        .await
        .unwrap_err();
    assert!(error.message().contains("loopback"), "{}", error.message());
    assert!(!pending_path(dir.path(), P).exists());
    assert!(ui.all().is_empty());
}

#[tokio::test]
async fn a_pinned_port_in_use_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut options = options();
    options.redirect = Some(format!("http://127.0.0.1:{port}/callback/"));
    let (io, _lines) = io();
    let error = obtain_code_with(&ctx, &spec(&build), &options, io)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(
        error.message().contains(&format!("port {port}")),
        "{}",
        error.message()
    );
    assert!(
        error.message().contains("already in use"),
        "{}",
        error.message()
    );
    assert!(error.hint().unwrap().contains("--redirect"));
}

#[tokio::test]
async fn a_pinned_redirect_is_used_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    // A free port: taken from the OS, then released for keryx (racy only against other processes).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pinned = format!("http://localhost:{port}/cb");
    let mut options = options();
    options.redirect = Some(pinned.clone());
    let (io, _lines) = io();
    let browser = async {
        let r = next_request(&mut requests).await;
        get(&format!(
            "http://127.0.0.1:{port}/cb?code=pinned&state={}",
            r.state
        ))
        .await;
        r
    };
    let (result, request) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    assert_eq!(request.redirect_uri, pinned);
    assert_eq!(result.unwrap().code.expose(), "pinned");
}

#[tokio::test]
async fn the_browser_command_gets_the_url_as_one_argument() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, ui) = context(dir.path());
    let (build, mut requests) = authorize_url_reporting();
    let spec = spec(&build);
    let opened = dir.path().join("opened.txt");
    let mut options = options();
    options.no_browser = false;
    let (io, _lines) = io();
    // Like a $BROWSER with arguments; the URL's `&` must not split it.
    let io = io.with_browser(Browser::Command(format!(
        "printf '%s' > '{}'",
        opened.display()
    )));
    let browser = async {
        let r = next_request(&mut requests).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !opened.exists() || std::fs::read_to_string(&opened).unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the browser command never ran"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let url = std::fs::read_to_string(&opened).unwrap();
        // Act as the provider: follow the URL's own redirect_uri and state.
        let url = url::Url::parse(&url).unwrap();
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["redirect_uri"], r.redirect_uri);
        get(&format!(
            "{}?code=opened&state={}",
            pairs["redirect_uri"], pairs["state"]
        ))
        .await
    };
    let (result, _) = tokio::join!(obtain_code_with(&ctx, &spec, &options, io), browser);
    assert_eq!(result.unwrap().code.expose(), "opened");
    assert!(ui.of("warn").is_empty(), "{:?}", ui.all());
}

#[tokio::test]
async fn a_failing_browser_says_to_open_the_url_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    let mut options = options();
    options.no_browser = false;
    options.timeout = Duration::from_secs(3);
    let (io, _lines) = io();
    let io = io.with_browser(Browser::Command("exit 3;".into()));
    let error = obtain_code_with(&ctx, &spec(&build), &options, io)
        .await
        .unwrap_err();
    assert!(
        error
            .message()
            .starts_with("no authorisation arrived within 3 seconds")
    );
    let warnings = ui.of("warn");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("open the URL above by hand"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn no_browser_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, ui) = context(dir.path());
    let (build, _requests) = authorize_url_reporting();
    let opened = dir.path().join("opened.txt");
    let mut options = options();
    options.timeout = Duration::from_millis(500);
    let (io, _lines) = io();
    let io = io.with_browser(Browser::Command(format!(
        "printf '%s' > '{}'",
        opened.display()
    )));
    obtain_code_with(&ctx, &spec(&build), &options, io)
        .await
        .unwrap_err();
    assert!(!opened.exists());
    assert_eq!(ui.of("show").len(), 3, "{:?}", ui.all());
}
