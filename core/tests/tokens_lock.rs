//! The token lock across real processes: eight copies of this test binary mint at once against
//! a token server that rotates refresh tokens and refuses reused ones.
//!
//! The one test is the parent when `CHILD_ENV` is unset and a minting child when it is set.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keryx_core::config::SecretsMode;
use keryx_core::paths::Paths;
use keryx_core::secrets::SecretStore;
use keryx_core::tokens::{Need, TokenReply, TokenSet, TokenStore};
use keryx_core::{Error, Prompter, Secret, Ui};
use serde::{Deserialize, Serialize};

const CHILD_ENV: &str = "KERYX_TEST_TOKENS_CHILD_DIR";
const TEST_NAME: &str = "eight_processes_mint_at_once_and_leave_one_valid_token";
const CHILDREN: usize = 8;

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
    let config = dir.join("config.yaml");
    let secrets = SecretStore::new(SecretsMode::File, &config, Arc::new(QuietUi));
    let paths = Paths {
        config_file: config,
        state_dir: dir.join("state"),
    };
    TokenStore::new(&secrets, &paths, "tiktok")
}

/// The fake token server's state, shared by the processes through a file under its own lock.
#[derive(Serialize, Deserialize, Default)]
struct ServerState {
    current: String,
    issued: usize,
    in_flight: bool,
}

/// Runs `change` on the server state under the server's own lock (separate from keryx's).
fn with_server<T>(dir: &Path, change: impl FnOnce(&mut ServerState) -> T) -> T {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join("server.json"))
        .expect("open the server state");
    fs4::FileExt::lock(&file).expect("lock the server state");
    let mut text = String::new();
    file.read_to_string(&mut text)
        .expect("read the server state");
    let mut state: ServerState = if text.is_empty() {
        ServerState::default()
    } else {
        serde_json::from_str(&text).expect("state")
    };
    let result = change(&mut state);
    file.set_len(0).expect("truncate");
    file.rewind().expect("rewind");
    file.write_all(serde_json::to_string(&state).expect("json").as_bytes())
        .expect("write the server state");
    file.sync_all().expect("sync");
    result
}

/// The token endpoint: rotates on every refresh, refuses a reused refresh token, and notices
/// two refreshes in flight at once (which the keryx lock must prevent).
async fn refresh_at_server(dir: PathBuf, refresh: Secret) -> Result<TokenReply, Error> {
    with_server(&dir, |s| {
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
        Ok(())
    })?;
    // Widen the window in which an unlocked competitor would read the same refresh token.
    tokio::time::sleep(Duration::from_millis(40)).await;
    let (refresh, access) = with_server(&dir, |s| {
        s.issued += 1;
        s.current = format!("rt-{}", s.issued + 1);
        s.in_flight = false;
        (s.current.clone(), format!("at-{}", s.issued + 1))
    });
    Ok(TokenReply {
        access_token: Secret::new(access),
        expires_in: Some(3600),
        refresh_token: Some(Secret::new(refresh)),
        refresh_expires_in: Some(86_400),
        scopes: None,
    })
}

#[test]
fn eight_processes_mint_at_once_and_leave_one_valid_token() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    with_server(dir, |s| s.current = "rt-1".into());
    token_store(dir)
        .save_new(&TokenSet {
            refresh_token: Secret::new("rt-1"),
            refresh_expires_at: None,
            access_token: None,
            access_expires_at: None,
            account: Some("someone".into()),
            subject: None,
            scopes: vec![],
            extra: Default::default(),
        })
        .expect("save");

    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a child")
        })
        .collect();
    // Let all of them start before any may mint, so they really compete.
    File::create(dir.join("go")).expect("start signal");
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().expect("child");
        assert!(
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains("1 passed"),
            "child {i} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let (issued, current) = with_server(dir, |s| (s.issued, s.current.clone()));
    assert_eq!(issued, CHILDREN, "one refresh per process");
    let stored = token_store(dir).load().expect("load").expect("stored");
    assert_eq!(
        stored.refresh_token.expose(),
        current,
        "the stored refresh token is the live one"
    );
    assert_eq!(
        stored.access_token.as_ref().map(Secret::expose),
        Some(format!("at-{}", CHILDREN + 1).as_str())
    );
    assert_eq!(stored.account.as_deref(), Some("someone"));
}

fn child(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.join("go").exists() {
        assert!(Instant::now() < deadline, "no start signal");
        std::thread::sleep(Duration::from_millis(5));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let access = runtime
        .block_on(token_store(dir).access_token(Need::Mint, |refresh| {
            refresh_at_server(dir.to_path_buf(), refresh)
        }))
        .expect("mint");
    assert!(access.expose().starts_with("at-"));
}
