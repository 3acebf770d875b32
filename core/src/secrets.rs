//! The secret store: the OS keychain, or the config file when there is none.
//!
//! `secrets: keychain` uses the OS keychain (Keychain Services on macOS, Credential Manager on
//! Windows, a Secret Service such as gnome-keyring or KeePassXC on Linux, through the `keyring`
//! crate), under service [`KEYCHAIN_SERVICE`] with the secret's name (`tiktok/token`) as user.
//! `secrets: file` keeps secrets in the config file's `stored_secrets:` mapping (mode 0600).
//! `secrets: auto` (the default) uses the keychain when one answers and says once when it falls
//! back to the file — a headless server or a container has no keychain, and keryx should still
//! work there.
//!
//! Every call may block on the keychain (D-Bus on Linux, an unlock prompt): call from a thread
//! that may block, e.g. `tokio::task::spawn_blocking` with a clone of the store (clones share
//! the probe and the one-time warning).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::config::{self, SecretsMode};
use crate::error::{Cause, Error, Result};
use crate::secret::Secret;
pub use crate::secret::{client_secret_env, client_secret_name};
use crate::ui::Ui;

/// The keychain service name every keryx secret is stored under.
pub const KEYCHAIN_SERVICE: &str = "keryx";

/// How long the first keychain call may take before keryx decides none answers. A D-Bus that
/// exists but whose Secret Service never replies would otherwise hang every command.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one keychain read or write may take once the keychain has answered: long enough
/// for a person to type a password into an unlock prompt.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// The entry the probe looks up; it is never written.
const PROBE_NAME: &str = "keryx/probe";

/// Where a secret store keeps its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Keychain,
    ConfigFile,
}

impl Backend {
    /// How status lines name it: `keychain` or `config file`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Keychain => "keychain",
            Backend::ConfigFile => "config file",
        }
    }
}

/// The secret store for one command. Cheap to clone; clones share one keychain probe.
#[derive(Clone)]
pub struct SecretStore {
    inner: Arc<Inner>,
}

struct Inner {
    mode: SecretsMode,
    config_path: PathBuf,
    ui: Arc<dyn Ui>,
    /// Whether the keychain answered the first call, or why not.
    keychain: OnceLock<std::result::Result<(), String>>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore")
            .field("mode", &self.inner.mode)
            .field("config_path", &self.inner.config_path)
            .field("keychain", &self.inner.keychain.get())
            .finish_non_exhaustive()
    }
}

impl SecretStore {
    /// A store for `mode` (`secrets:` in the config at `config_path`). Nothing is probed yet.
    pub fn new(mode: SecretsMode, config_path: &Path, ui: Arc<dyn Ui>) -> Self {
        SecretStore {
            inner: Arc::new(Inner {
                mode,
                config_path: config_path.to_path_buf(),
                ui,
                keychain: OnceLock::new(),
            }),
        }
    }

    pub fn mode(&self) -> SecretsMode {
        self.inner.mode
    }

    /// The config file that holds secrets for the file backend.
    pub fn config_path(&self) -> &Path {
        &self.inner.config_path
    }

    /// Which backend answers (auto mode probes the keychain once and says once when it falls back).
    pub fn backend(&self) -> Backend {
        match self.inner.mode {
            SecretsMode::File => Backend::ConfigFile,
            SecretsMode::Keychain => Backend::Keychain,
            SecretsMode::Auto => match self.keychain_status() {
                Ok(()) => Backend::Keychain,
                Err(_) => Backend::ConfigFile,
            },
        }
    }

    pub fn get(&self, name: &str) -> Result<Option<Secret>> {
        Ok(self.get_with_source(name)?.map(|(secret, _)| secret))
    }

    /// The secret and the backend it came from. In auto mode with a keychain, a secret missing
    /// there is looked up in the config file too: it was stored while no keychain answered
    /// (over SSH, say) and should not be lost when one does.
    pub fn get_with_source(&self, name: &str) -> Result<Option<(Secret, Backend)>> {
        config::validate_secret_name(name)?;
        match self.backend() {
            Backend::ConfigFile => Ok(self.read_file(name)?.map(|s| (s, Backend::ConfigFile))),
            Backend::Keychain => {
                self.require_keychain()?;
                if let Some(secret) = keychain_get(name)? {
                    return Ok(Some((secret, Backend::Keychain)));
                }
                if self.inner.mode == SecretsMode::Auto {
                    return Ok(self.read_file(name)?.map(|s| (s, Backend::ConfigFile)));
                }
                Ok(None)
            }
        }
    }

    pub fn set(&self, name: &str, value: &Secret) -> Result<()> {
        config::validate_secret_name(name)?;
        match self.backend() {
            Backend::ConfigFile => {
                config::write_stored_secret(&self.inner.config_path, name, Some(value))
            }
            Backend::Keychain => {
                self.require_keychain()?;
                keychain_set(name, value)?;
                // A copy left in the file from a fallback run would be stale from now on.
                self.drop_file_copy(name)
            }
        }
    }

    pub fn delete(&self, name: &str) -> Result<()> {
        config::validate_secret_name(name)?;
        match self.backend() {
            Backend::ConfigFile => config::write_stored_secret(&self.inner.config_path, name, None),
            Backend::Keychain => {
                self.require_keychain()?;
                keychain_delete(name)?;
                self.drop_file_copy(name)
            }
        }
    }

    fn read_file(&self, name: &str) -> Result<Option<Secret>> {
        config::read_stored_secret(&self.inner.config_path, name)
    }

    fn drop_file_copy(&self, name: &str) -> Result<()> {
        if self.inner.mode == SecretsMode::Auto && self.read_file(name)?.is_some() {
            config::write_stored_secret(&self.inner.config_path, name, None)?;
        }
        Ok(())
    }

    fn keychain_status(&self) -> &std::result::Result<(), String> {
        self.inner.keychain.get_or_init(|| {
            let status = probe_keychain();
            if let Err(reason) = &status
                && self.inner.mode == SecretsMode::Auto
            {
                self.inner.ui.warn(&format!(
                    "no OS keychain answered ({reason}); keeping secrets in {} (mode 0600). \
                     Set `secrets: file` in the config to silence this, or `secrets: keychain` \
                     to require a keychain",
                    self.inner.config_path.display()
                ));
            }
            status
        })
    }

    fn require_keychain(&self) -> Result<()> {
        match self.keychain_status() {
            Ok(()) => Ok(()),
            Err(reason) => Err(Error::input(format!(
                "the OS keychain did not answer ({reason}), and {} says `secrets: keychain`",
                self.inner.config_path.display()
            ))
            .with_hint(format!(
                "{UNAVAILABLE_HINT}, or set `secrets: file` in {} to keep secrets in that file \
                 (mode 0600)",
                self.inner.config_path.display()
            ))),
        }
    }
}

/// The client secret for `platform` and where it came from (`environment`, `keychain` or
/// `config file`): the environment variable [`client_secret_env`] when set and not empty, else
/// the stored `<platform>/client_secret`.
pub fn client_secret(store: &SecretStore, platform: &str) -> Result<(Secret, &'static str)> {
    client_secret_from(store, platform, |var| std::env::var_os(var))
}

fn client_secret_from(
    store: &SecretStore,
    platform: &str,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<(Secret, &'static str)> {
    let var = client_secret_env(platform);
    if let Some(value) = env(&var) {
        match value.into_string() {
            Ok(value) if !value.trim().is_empty() => {
                return Ok((Secret::new(value), "environment"));
            }
            // An empty variable is how people unset things in CI files: fall through.
            Ok(_) => {}
            Err(_) => {
                return Err(Error::input(format!("{var} is not valid UTF-8"))
                    .with_hint(format!("set {var} to the client secret exactly as shown in the platform's developer console")));
            }
        }
    }
    match store.get_with_source(&client_secret_name(platform))? {
        Some((secret, backend)) => Ok((secret, backend.as_str())),
        None => Err(Error::input(format!("no client secret for {platform}"))
            .with_hint(format!(
                "set the environment variable {var}, or store it once with \
             `keryx auth {platform} --store-secret`"
            ))
            .with_cause(Cause::NoClientSecret)),
    }
}

// ---------------------------------------------------------------------------------------------
// The keychain, through `keyring`, every call on a helper thread with a deadline
// ---------------------------------------------------------------------------------------------

const UNAVAILABLE_HINT: &str = "make the OS keychain reachable (on Linux: run a Secret Service \
     such as gnome-keyring or KeePassXC in this session, with DBUS_SESSION_BUS_ADDRESS set)";

enum Bounded<T> {
    Done(T),
    TimedOut,
    /// The helper thread could not start or died (a panic inside the keychain library).
    Failed(String),
}

/// Runs `call` on its own thread and waits at most `timeout`. A call that never returns leaves
/// its thread blocked, which is the price of not hanging the command.
fn bounded<T: Send + 'static>(
    timeout: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> Bounded<T> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("keryx-keychain".into())
        .spawn(move || {
            // The receiver may have given up waiting; nothing to do then.
            let _ = tx.send(call());
        });
    if let Err(e) = spawned {
        return Bounded::Failed(format!("cannot start a thread for the keychain: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(result) => Bounded::Done(result),
        Err(RecvTimeoutError::Timeout) => Bounded::TimedOut,
        Err(RecvTimeoutError::Disconnected) => {
            Bounded::Failed("the keychain library stopped unexpectedly".to_owned())
        }
    }
}

/// Whether a keychain answers, asked once per process: the `keyring` crate sets up its store
/// once per process too, and a probe that timed out would only time out again.
fn probe_keychain() -> std::result::Result<(), String> {
    static PROBED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    PROBED.get_or_init(probe_keychain_now).clone()
}

/// One lookup of an entry that does not exist.
fn probe_keychain_now() -> std::result::Result<(), String> {
    let result = bounded(PROBE_TIMEOUT, || {
        // The store is set up once per process; its own error says more than `Entry::new`'s.
        if let Err(e) = keyring::Entry::store_status() {
            return Err(e.to_string());
        }
        let entry = keyring::Entry::new(KEYCHAIN_SERVICE, PROBE_NAME).map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    });
    match result {
        Bounded::Done(status) => status,
        Bounded::TimedOut => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        Bounded::Failed(reason) => Err(reason),
    }
}

fn keychain_call<T: Send + 'static>(
    action: &str,
    name: &str,
    call: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
) -> Result<T> {
    let user = name.to_owned();
    let result = bounded(OPERATION_TIMEOUT, move || {
        call(keyring::Entry::new(KEYCHAIN_SERVICE, &user)?)
    });
    match result {
        Bounded::Done(Ok(value)) => Ok(value),
        Bounded::Done(Err(e)) => Err(keychain_error(action, name, e)),
        Bounded::TimedOut => Err(Error::input(format!(
            "cannot {action} {name:?} in the OS keychain: no answer within {} s",
            OPERATION_TIMEOUT.as_secs()
        ))
        .with_hint(
            "answer the keychain's unlock prompt if one is open, or set `secrets: file` in the config",
        )),
        Bounded::Failed(reason) => Err(Error::input(format!(
            "cannot {action} {name:?} in the OS keychain: {reason}"
        ))
        .with_hint("try again; if it persists, set `secrets: file` in the config")),
    }
}

fn keychain_get(name: &str) -> Result<Option<Secret>> {
    keychain_call("read", name, |entry| match entry.get_password() {
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(e),
    })
}

fn keychain_set(name: &str, value: &Secret) -> Result<()> {
    let value = value.clone();
    keychain_call("store", name, move |entry| {
        entry.set_password(value.expose())
    })
}

fn keychain_delete(name: &str) -> Result<()> {
    keychain_call("delete", name, |entry| match entry.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(e),
    })
}

/// Says what the keychain refused, without its raw bytes (they may be a secret).
fn keychain_error(action: &str, name: &str, error: keyring::Error) -> Error {
    let place =
        format!("cannot {action} {name:?} in the OS keychain (service {KEYCHAIN_SERVICE:?})");
    let clear = format!(
        "delete the entry (on Linux: `secret-tool clear service {KEYCHAIN_SERVICE} username {name}`) \
         and store it again"
    );
    match error {
        keyring::Error::NoStorageAccess(e) => Error::input(format!("{place}: access refused ({e})"))
            .with_hint("unlock the keychain (log in to the desktop session or unlock it in your keyring manager), or set `secrets: file` in the config"),
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => {
            Error::input(format!("{place}: the stored value is not text")).with_hint(clear)
        }
        keyring::Error::Ambiguous(entries) => {
            Error::input(format!("{place}: {} entries match", entries.len())).with_hint(clear)
        }
        keyring::Error::NoDefaultStore => Error::input(format!("{place}: no keychain is available"))
            .with_hint(format!("{UNAVAILABLE_HINT}, or set `secrets: file` in the config")),
        other => Error::input(format!("{place}: {other}"))
            .with_hint(format!("{UNAVAILABLE_HINT}, or set `secrets: file` in the config")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Prompter;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Warnings(Mutex<Vec<String>>);

    impl Ui for Warnings {
        fn info(&self, _: &str) {}
        fn show(&self, _: &str) {}
        fn warn(&self, message: &str) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(message.to_owned());
        }
        fn prompter(&self) -> Option<&dyn Prompter> {
            None
        }
    }

    fn file_store(dir: &Path) -> SecretStore {
        SecretStore::new(
            SecretsMode::File,
            &dir.join("config.yaml"),
            Arc::new(Warnings::default()),
        )
    }

    #[test]
    fn file_mode_sets_gets_and_deletes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = file_store(dir.path());
        assert_eq!(store.backend(), Backend::ConfigFile);
        assert!(store.get("tiktok/token").expect("get").is_none());
        store
            .set("tiktok/token", &Secret::new("{\"a\":1}"))
            .expect("set");
        let (secret, source) = store
            .get_with_source("tiktok/token")
            .expect("get")
            .expect("some");
        assert_eq!(secret.expose(), "{\"a\":1}");
        assert_eq!(source, Backend::ConfigFile);
        store.delete("tiktok/token").expect("delete");
        assert!(store.get("tiktok/token").expect("get").is_none());
        assert!(store.set("bad name", &Secret::new("x")).is_err());
    }

    #[test]
    fn client_secret_prefers_a_non_empty_environment_variable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = file_store(dir.path());
        let missing = client_secret_from(&store, "tiktok", |_| None).expect_err("none stored");
        assert!(missing.message().contains("tiktok"), "{missing}");
        let hint = missing.hint().unwrap_or_default();
        assert!(
            hint.contains("TIKTOK_CLIENT_SECRET") && hint.contains("--store-secret"),
            "{hint}"
        );
        assert_eq!(missing.exit_code(), 2);

        store
            .set("tiktok/client_secret", &Secret::new("stored"))
            .expect("set");
        let (secret, source) =
            client_secret_from(&store, "tiktok", |_| Some("".into())).expect("stored");
        assert_eq!((secret.expose(), source), ("stored", "config file"));

        let (secret, source) = client_secret_from(&store, "tiktok", |var| {
            (var == "TIKTOK_CLIENT_SECRET").then(|| "from-env".into())
        })
        .expect("env");
        assert_eq!((secret.expose(), source), ("from-env", "environment"));
    }
}
