//! The locked read–refresh–persist of OAuth tokens, with the file secret backend.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keryx_core::config::SecretsMode;
use keryx_core::paths::Paths;
use keryx_core::secrets::SecretStore;
use keryx_core::tokens::{Need, TokenReply, TokenSet, TokenStore, unix_now};
use keryx_core::{Error, ErrorKind, Prompter, Secret, Ui};

struct QuietUi;

impl Ui for QuietUi {
    fn info(&self, _: &str) {}
    fn show(&self, _: &str) {}
    fn warn(&self, _: &str) {}
    fn prompter(&self) -> Option<&dyn Prompter> {
        None
    }
}

fn token_store(dir: &Path) -> TokenStore {
    let secrets = SecretStore::new(
        SecretsMode::File,
        &dir.join("config.yaml"),
        Arc::new(QuietUi),
    );
    let paths = Paths {
        config_file: dir.join("config.yaml"),
        state_dir: dir.join("state"),
    };
    TokenStore::new(&secrets, &paths, "tiktok")
}

fn stored_set(access: Option<(&str, i64)>) -> TokenSet {
    let mut extra = serde_json::Map::new();
    extra.insert("open_id".into(), "user-1".into());
    TokenSet {
        refresh_token: Secret::new("rt-1"),
        refresh_expires_at: Some(unix_now() + 86_400),
        access_token: access.map(|(token, _)| Secret::new(token)),
        access_expires_at: access.map(|(_, valid_for)| unix_now() + valid_for),
        account: Some("someone".into()),
        subject: None,
        scopes: vec!["video.publish".into()],
        extra,
    }
}

fn reply(access: &str, refresh: Option<&str>) -> TokenReply {
    TokenReply {
        access_token: Secret::new(access),
        expires_in: Some(3600),
        refresh_token: refresh.map(Secret::new),
        refresh_expires_in: None,
        scopes: None,
    }
}

/// A refresh callback that must not be called.
async fn no_refresh(_: Secret) -> Result<TokenReply, Error> {
    panic!("refresh was called although a stored access token should have been used")
}

#[tokio::test]
async fn a_rotated_refresh_token_is_persisted_with_its_lifetimes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    tokens
        .save_new(&stored_set(Some(("at-1", 3600))))
        .expect("save");
    let seen = Arc::new(Mutex::new(None));
    let seen_in = seen.clone();
    let access = tokens
        .access_token(Need::Mint, |refresh| async move {
            *seen_in.lock().expect("lock") = Some(refresh.expose().to_owned());
            Ok(TokenReply {
                refresh_expires_in: Some(1000),
                scopes: Some(vec!["a".into(), "b".into()]),
                ..reply("at-2", Some("rt-2"))
            })
        })
        .await
        .expect("mint");
    assert_eq!(access.expose(), "at-2");
    assert_eq!(
        seen.lock().expect("lock").as_deref(),
        Some("rt-1"),
        "refreshed with the stored token"
    );

    // A separate store (as another command would open) sees the rotation.
    let stored = token_store(dir.path())
        .load()
        .expect("load")
        .expect("stored");
    let now = unix_now();
    assert_eq!(stored.refresh_token.expose(), "rt-2");
    assert!((now + 995..=now + 1000).contains(&stored.refresh_expires_at.expect("lifetime")));
    assert_eq!(
        stored.access_token.as_ref().map(Secret::expose),
        Some("at-2")
    );
    assert!((now + 3595..=now + 3600).contains(&stored.access_expires_at.expect("lifetime")));
    assert_eq!(stored.scopes, ["a", "b"]);
    assert_eq!(stored.account.as_deref(), Some("someone"));
    assert_eq!(
        stored.extra.get("open_id").and_then(|v| v.as_str()),
        Some("user-1")
    );
}

#[tokio::test]
async fn a_missing_or_empty_refresh_token_never_replaces_the_stored_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    tokens.save_new(&stored_set(None)).expect("save");
    for (i, refresh) in [Some(""), None].into_iter().enumerate() {
        let access = format!("at-{i}");
        let sent = access.clone();
        let got = tokens
            .access_token(Need::Mint, |_| async move { Ok(reply(&sent, refresh)) })
            .await
            .expect("mint");
        assert_eq!(got.expose(), access);
        let stored = tokens.load().expect("load").expect("stored");
        assert_eq!(
            stored.refresh_token.expose(),
            "rt-1",
            "{refresh:?} replaced it"
        );
        assert!(
            stored.refresh_expires_at.is_some(),
            "the old lifetime still applies"
        );
    }
}

#[tokio::test]
async fn fresh_uses_a_stored_token_with_a_minute_left_and_refreshes_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    tokens
        .save_new(&stored_set(Some(("at-long", 3600))))
        .expect("save");
    let got = tokens
        .access_token(Need::Fresh, no_refresh)
        .await
        .expect("fresh");
    assert_eq!(got.expose(), "at-long");

    tokens
        .save_new(&stored_set(Some(("at-short", 30))))
        .expect("save");
    let got = tokens
        .access_token(Need::Fresh, |_| async { Ok(reply("at-new", None)) })
        .await
        .expect("fresh");
    assert_eq!(got.expose(), "at-new");

    // Mint refreshes even when the stored token is good.
    let got = tokens
        .access_token(Need::Mint, |_| async { Ok(reply("at-minted", None)) })
        .await
        .expect("mint");
    assert_eq!(got.expose(), "at-minted");
}

#[tokio::test]
async fn replace_takes_a_newer_stored_token_without_refreshing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    // Another process refreshed after this one got `at-old`.
    tokens
        .save_new(&stored_set(Some(("at-newer", 3600))))
        .expect("save");
    let rejected = Secret::new("at-old");
    let got = tokens
        .access_token(Need::Replace(&rejected), no_refresh)
        .await
        .expect("replace");
    assert_eq!(got.expose(), "at-newer");

    // The stored token is the rejected one: refresh.
    let rejected = Secret::new("at-newer");
    let got = tokens
        .access_token(Need::Replace(&rejected), |_| async {
            Ok(reply("at-newest", None))
        })
        .await
        .expect("replace");
    assert_eq!(got.expose(), "at-newest");
}

#[tokio::test]
async fn nothing_stored_means_not_authorised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    assert!(tokens.load().expect("load").is_none());
    let error = tokens
        .access_token(Need::Fresh, no_refresh)
        .await
        .expect_err("nothing stored");
    assert_eq!(error.kind(), ErrorKind::Authorisation);
    assert_eq!(error.message(), "tiktok is not authorised");
    assert_eq!(error.hint(), Some("run `keryx auth tiktok`"));
}

#[tokio::test]
async fn an_expired_refresh_token_asks_for_auth_without_calling_the_platform() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    let set = TokenSet {
        refresh_expires_at: Some(unix_now() - 10),
        ..stored_set(None)
    };
    tokens.save_new(&set).expect("save");
    let error = tokens
        .access_token(Need::Mint, no_refresh)
        .await
        .expect_err("expired");
    assert_eq!(error.kind(), ErrorKind::Authorisation);
    assert_eq!(error.exit_code(), 4);
    assert_eq!(error.cause(), Some(keryx_core::Cause::AuthorisationExpired));
    assert!(error.message().contains("expired"), "{error}");
    assert_eq!(error.hint(), Some("run `keryx auth tiktok` again"));
}

#[tokio::test]
async fn the_refresh_error_passes_through_and_nothing_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    tokens.save_new(&stored_set(None)).expect("save");
    let error = tokens
        .access_token(Need::Mint, |_| async {
            Err(
                Error::platform("TikTok refused the refresh token (invalid_grant)")
                    .with_hint("run `keryx auth tiktok`"),
            )
        })
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Platform);
    assert_eq!(
        error.message(),
        "TikTok refused the refresh token (invalid_grant)"
    );
    assert_eq!(error.hint(), Some("run `keryx auth tiktok`"));
    let stored = tokens.load().expect("load").expect("stored");
    assert_eq!(stored.refresh_token.expose(), "rt-1");
}

#[tokio::test]
async fn a_held_lock_is_waited_for_and_then_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path()).with_lock_timeout(Duration::from_millis(300));
    tokens.save_new(&stored_set(None)).expect("save");
    let held = std::fs::File::open(tokens.lock_path()).expect("the lock file exists after a save");
    fs4::FileExt::lock(&held).expect("hold the lock");
    let started = std::time::Instant::now();
    let error = tokens
        .access_token(Need::Mint, no_refresh)
        .await
        .expect_err("lock held");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(error.message().contains("another keryx process"), "{error}");
    assert!(
        error
            .hint()
            .unwrap_or_default()
            .contains(&tokens.lock_path().display().to_string())
    );

    // Released: the next call goes through.
    fs4::FileExt::unlock(&held).expect("unlock");
    let got = tokens
        .access_token(Need::Mint, |_| async { Ok(reply("at-after", None)) })
        .await
        .expect("mint");
    assert_eq!(got.expose(), "at-after");
}

#[tokio::test]
async fn a_corrupt_stored_set_says_what_to_do_without_echoing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_store(dir.path());
    keryx_core::config::write_stored_secret(
        &dir.path().join("config.yaml"),
        "tiktok/token",
        Some(&Secret::new(
            "{\"refresh_token\": 5, \"leak\": \"very-secret\"}",
        )),
    )
    .expect("seed");
    let error = tokens.load().expect_err("corrupt");
    assert!(!format!("{error} {error:?}").contains("very-secret"));
    assert_eq!(
        error.hint(),
        Some("run `keryx auth tiktok` to store a new one")
    );
}

/// A token server that rotates on every refresh, refuses a reused refresh token, and notices
/// two refreshes in flight at once.
#[derive(Default)]
struct RotatingServer {
    current: String,
    issued: usize,
    in_flight: bool,
}

async fn rotate(server: Arc<Mutex<RotatingServer>>, refresh: Secret) -> Result<TokenReply, Error> {
    {
        let mut s = server.lock().expect("lock");
        if refresh.expose() != s.current {
            return Err(Error::platform(format!(
                "invalid_grant: {} was already used",
                refresh.expose()
            )));
        }
        if s.in_flight {
            return Err(Error::platform("two refreshes in flight at once"));
        }
        s.in_flight = true;
    }
    // Widen the window in which an unlocked competitor would read the same refresh token.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut s = server.lock().expect("lock");
    s.issued += 1;
    s.current = format!("rt-{}", s.issued + 1);
    s.in_flight = false;
    Ok(reply(&format!("at-{}", s.issued + 1), Some(&s.current)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_mints_all_succeed_and_leave_one_valid_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    token_store(dir.path())
        .save_new(&stored_set(None))
        .expect("save");
    let server = Arc::new(Mutex::new(RotatingServer {
        current: "rt-1".into(),
        ..Default::default()
    }));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        // Each task opens the store, and so the lock file, on its own, as separate commands would.
        let tokens = token_store(dir.path());
        let (server, calls) = (server.clone(), calls.clone());
        tasks.push(tokio::spawn(async move {
            tokens
                .access_token(Need::Mint, |refresh| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    rotate(server, refresh)
                })
                .await
        }));
    }
    let mut handed_out = Vec::new();
    for task in tasks {
        let access = task.await.expect("task").expect("every mint succeeds");
        handed_out.push(access.expose().to_owned());
    }
    handed_out.sort();
    handed_out.dedup();
    assert_eq!(handed_out.len(), 8, "each mint got its own token");
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    let server = server.lock().expect("lock");
    let stored = token_store(dir.path())
        .load()
        .expect("load")
        .expect("stored");
    assert_eq!(
        stored.refresh_token.expose(),
        server.current,
        "the stored refresh token is the live one"
    );
    assert_eq!(
        stored.access_token.as_ref().map(Secret::expose),
        Some("at-9")
    );
}

/// Each account of a platform has its own secret and lock: while one account refreshes (its
/// lock held), another account's token is stored at once; the default account keeps the name
/// a keryx of one account per platform used.
#[tokio::test]
async fn accounts_have_their_own_secret_and_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let default = token_store(dir.path());
    let studio = token_store(dir.path())
        .for_account("studio")
        .with_lock_timeout(Duration::from_millis(300));
    assert_eq!(default.secret_name(), "tiktok/token");
    assert_eq!(studio.secret_name(), "tiktok/studio/token");
    assert_ne!(default.lock_path(), studio.lock_path());
    assert_eq!(studio.target(), "tiktok:studio");
    default.save_new(&stored_set(None)).expect("save default");

    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (holding, held) = tokio::sync::oneshot::channel::<()>();
    let refreshing = {
        let default = default.clone();
        tokio::spawn(async move {
            default
                .access_token(Need::Mint, |_| async move {
                    holding.send(()).unwrap();
                    released.await.unwrap();
                    Ok(reply("at-default", Some("rt-default")))
                })
                .await
        })
    };
    held.await.expect("the default account is refreshing");
    let mut other = stored_set(None);
    other.refresh_token = Secret::new("rt-studio");
    let saving = {
        let studio = studio.clone();
        tokio::task::spawn_blocking(move || studio.save_new(&other))
    };
    saving
        .await
        .unwrap()
        .expect("another account's lock is free while the default one refreshes");
    release.send(()).unwrap();
    refreshing.await.unwrap().expect("refresh");
    assert_eq!(
        studio.load().unwrap().unwrap().refresh_token.expose(),
        "rt-studio"
    );
    assert_eq!(
        default.load().unwrap().unwrap().refresh_token.expose(),
        "rt-default"
    );
    let missing = token_store(dir.path()).for_account("new");
    let error = missing
        .access_token(Need::Mint, no_refresh)
        .await
        .expect_err("nothing stored");
    assert_eq!(error.kind(), ErrorKind::Authorisation);
    assert_eq!(error.hint(), Some("run `keryx auth tiktok --account new`"));
}

/// The same person (subject) under a second account name is refused and nothing is stored;
/// the same person re-authorising their own account is fine.
#[tokio::test]
async fn one_person_is_stored_under_one_account_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = vec!["default".to_string(), "studio".to_string()];
    let default = token_store(dir.path()).with_siblings(accounts.clone());
    let studio = token_store(dir.path())
        .for_account("studio")
        .with_siblings(accounts);
    let mut alice = stored_set(None);
    alice.subject = Some("open-id-alice".into());
    default.save_new(&alice).expect("first");
    default.save_new(&alice).expect("again, same account");
    let error = studio.save_new(&alice).expect_err("the same person");
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(
        error.to_string().contains("already authorised as tiktok"),
        "{error}"
    );
    assert!(studio.load().unwrap().is_none());
    let mut bob = stored_set(None);
    bob.subject = Some("open-id-bob".into());
    studio.save_new(&bob).expect("someone else");
}
