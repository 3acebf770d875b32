//! The secret store against a real Secret Service (gnome-keyring on a private D-Bus), and its
//! fallback when no keychain answers.
//!
//! The keychain client is set up once per process from `DBUS_SESSION_BUS_ADDRESS`, so each
//! scenario runs in a child process of this same test binary with its own environment: the one
//! test below is the parent when `SCENARIO_ENV` is unset and a scenario when it is set.

#[path = "support/keyring_session.rs"]
mod keyring_session;

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keryx_core::config::{SecretsMode, read_stored_secret, write_stored_secret};
use keryx_core::paths::Paths;
use keryx_core::secrets::{Backend, SecretStore, client_secret};
use keryx_core::tokens::{TokenSet, TokenStore};
use keryx_core::{ErrorKind, Prompter, Secret, Ui};
use keyring_session::{KeyringSession, skip_or_fail};

const SCENARIO_ENV: &str = "KERYX_TEST_KEYCHAIN_SCENARIO";
const DIR_ENV: &str = "KERYX_TEST_KEYCHAIN_DIR";
const TEST_NAME: &str = "secret_store_against_real_and_missing_keychains";

#[test]
fn secret_store_against_real_and_missing_keychains() {
    if let Ok(scenario) = std::env::var(SCENARIO_ENV) {
        let dir = PathBuf::from(std::env::var(DIR_ENV).expect("the parent sets the directory"));
        return run_scenario(&scenario, &dir);
    }

    // No keychain tools needed: the fallbacks.
    let work = tempfile::tempdir().expect("tempdir");
    let nowhere = format!("unix:path={}", work.path().join("no-bus-here").display());
    run_child(
        "no-bus",
        work.path(),
        &[("DBUS_SESSION_BUS_ADDRESS".into(), nowhere)],
    );

    // A bus that accepts connections and never says a word: the probe must give up by itself.
    let silent_path = work.path().join("silent.sock");
    let listener = UnixListener::bind(&silent_path).expect("bind the silent socket");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let silent = format!("unix:path={}", silent_path.display());
    run_child(
        "silent-bus",
        work.path(),
        &[("DBUS_SESSION_BUS_ADDRESS".into(), silent)],
    );

    let session = match KeyringSession::start() {
        Ok(session) => session,
        Err(reason) => return skip_or_fail(&reason),
    };
    let env = session.env();
    run_child("keychain-write", work.path(), &env);

    // Seen from outside keryx, the secret is in the Secret Service, not in the config file.
    let lookup = |name: &str| {
        let output = session
            .secret_tool()
            .args(["lookup", "service", "keryx", "username", name])
            .output()
            .expect("run secret-tool");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(lookup("tiktok/token"), "rt-2");
    assert!(lookup("keryxtest/token").contains("\"refresh_token\":\"token-rt\""));
    let config = std::fs::read_to_string(work.path().join("keychain.yaml")).expect("config");
    assert!(!config.contains("stored_secrets"), "{config}");

    run_child("keychain-read-delete", work.path(), &env);
    assert_eq!(lookup("tiktok/token"), "");
}

fn run_child(scenario: &str, dir: &Path, env: &[(String, String)]) {
    let exe = std::env::current_exe().expect("test binary");
    let output = Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(SCENARIO_ENV, scenario)
        .env(DIR_ENV, dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("KERYXTEST_CLIENT_SECRET")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run the scenario");
    assert!(
        output.status.success(),
        "scenario {scenario} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Make sure the child ran the scenario and not zero tests.
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "scenario {scenario} did not run"
    );
}

#[derive(Default)]
struct RecordingUi {
    warnings: Mutex<Vec<String>>,
}

impl RecordingUi {
    fn warnings(&self) -> Vec<String> {
        self.warnings.lock().expect("lock").clone()
    }
}

impl Ui for RecordingUi {
    fn info(&self, _: &str) {}
    fn show(&self, _: &str) {}
    fn warn(&self, message: &str) {
        self.warnings.lock().expect("lock").push(message.to_owned());
    }
    fn prompter(&self) -> Option<&dyn Prompter> {
        None
    }
}

fn store(mode: SecretsMode, config: &Path) -> (SecretStore, Arc<RecordingUi>) {
    let ui = Arc::new(RecordingUi::default());
    (SecretStore::new(mode, config, ui.clone()), ui)
}

fn get(store: &SecretStore, name: &str) -> Option<(String, Backend)> {
    store
        .get_with_source(name)
        .expect("get")
        .map(|(s, b)| (s.expose().to_owned(), b))
}

fn run_scenario(scenario: &str, dir: &Path) {
    match scenario {
        "no-bus" => {
            falls_back_to_the_file(dir, "no-bus.yaml");
        }
        "silent-bus" => {
            let started = Instant::now();
            let warning = falls_back_to_the_file(dir, "silent.yaml");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the probe was not bounded"
            );
            assert!(warning.contains("no answer within"), "{warning}");
        }
        "keychain-write" => keychain_write(dir),
        "keychain-read-delete" => keychain_read_delete(dir),
        other => panic!("unknown scenario {other}"),
    }
}

/// Auto mode without a keychain: the config file, said once; keychain mode: a clear error.
fn falls_back_to_the_file(dir: &Path, file: &str) -> String {
    let config = dir.join(file);
    let (auto, ui) = store(SecretsMode::Auto, &config);
    assert_eq!(auto.backend(), Backend::ConfigFile);
    auto.set("tiktok/token", &Secret::new("rt-file"))
        .expect("set");
    assert_eq!(
        get(&auto, "tiktok/token"),
        Some(("rt-file".into(), Backend::ConfigFile))
    );
    assert_eq!(
        read_stored_secret(&config, "tiktok/token")
            .expect("read")
            .map(|s| s.expose().to_owned())
            .as_deref(),
        Some("rt-file")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    auto.clone().delete("tiktok/token").expect("delete");
    assert_eq!(get(&auto, "tiktok/token"), None);
    let warnings = ui.warnings();
    assert_eq!(
        warnings.len(),
        1,
        "warned once, across calls and clones: {warnings:?}"
    );
    let warning = warnings[0].clone();
    eprintln!("the fallback warning: {warning}");
    assert!(
        warning.starts_with("no OS keychain answered ("),
        "{warning}"
    );
    assert!(
        warning.contains(&format!(
            "keeping secrets in {} (mode 0600)",
            config.display()
        )),
        "{warning}"
    );

    let (required, ui) = store(SecretsMode::Keychain, &config);
    assert_eq!(required.backend(), Backend::Keychain);
    let error = required
        .set("tiktok/token", &Secret::new("x"))
        .expect_err("no keychain");
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("secrets: keychain"), "{error}");
    let hint = error.hint().unwrap_or_default();
    assert!(
        hint.contains("Secret Service") && hint.contains("secrets: file"),
        "{hint}"
    );
    assert!(
        ui.warnings().is_empty(),
        "keychain mode errors instead of warning"
    );
    warning
}

fn keychain_write(dir: &Path) {
    let config = dir.join("keychain.yaml");
    // Left over from a run without a keychain: read through auto mode, dropped once rewritten.
    write_stored_secret(
        &config,
        "tiktok/client_secret",
        Some(&Secret::new("cs-from-file")),
    )
    .expect("seed");

    let (auto, ui) = store(SecretsMode::Auto, &config);
    assert_eq!(auto.backend(), Backend::Keychain);
    assert_eq!(get(&auto, "tiktok/token"), None);
    auto.set("tiktok/token", &Secret::new("rt-1")).expect("set");
    assert_eq!(
        get(&auto, "tiktok/token"),
        Some(("rt-1".into(), Backend::Keychain))
    );
    auto.set("tiktok/token", &Secret::new("rt-2"))
        .expect("replace");
    assert_eq!(
        get(&auto, "tiktok/token"),
        Some(("rt-2".into(), Backend::Keychain))
    );

    let (secret, source) = client_secret(&auto, "tiktok").expect("from the file copy");
    assert_eq!((secret.expose(), source), ("cs-from-file", "config file"));
    auto.set("tiktok/client_secret", &Secret::new("cs-keychain"))
        .expect("move to keychain");
    let (secret, source) = client_secret(&auto, "tiktok").expect("from the keychain");
    assert_eq!((secret.expose(), source), ("cs-keychain", "keychain"));
    assert!(
        read_stored_secret(&config, "tiktok/client_secret")
            .expect("read")
            .is_none()
    );
    auto.delete("tiktok/client_secret").expect("delete");

    // Tokens go through the keychain as JSON.
    let paths = Paths {
        config_file: config.clone(),
        state_dir: dir.join("state"),
    };
    let tokens = TokenStore::new(&auto, &paths, "keryxtest");
    tokens
        .save_new(&TokenSet {
            refresh_token: Secret::new("token-rt"),
            refresh_expires_at: None,
            access_token: None,
            access_expires_at: None,
            account: Some("someone".into()),
            subject: None,
            scopes: vec!["video.publish".into()],
            extra: Default::default(),
        })
        .expect("save tokens");
    let loaded = tokens.load().expect("load").expect("stored");
    assert_eq!(loaded.refresh_token.expose(), "token-rt");
    assert!(ui.warnings().is_empty(), "{:?}", ui.warnings());
}

fn keychain_read_delete(dir: &Path) {
    let config = dir.join("keychain.yaml");
    let (required, _ui) = store(SecretsMode::Keychain, &config);
    assert_eq!(
        get(&required, "tiktok/token"),
        Some(("rt-2".into(), Backend::Keychain))
    );
    required.delete("tiktok/token").expect("delete");
    required
        .delete("tiktok/token")
        .expect("deleting what is gone is fine");
    assert_eq!(get(&required, "tiktok/token"), None);
    required.delete("keryxtest/token").expect("delete tokens");
}
