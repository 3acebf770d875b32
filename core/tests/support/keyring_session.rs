//! A private D-Bus session bus with gnome-keyring's Secret Service in it, for tests that need a
//! real OS keychain without touching the developer's own.
//!
//! Everything lives in a throwaway directory: the bus socket, and the HOME / XDG directories the
//! keyring daemon writes its keyring to. Tests run the code under test in a child process with
//! [`KeyringSession::env`] (a keychain client connects once per process, so a process cannot
//! switch keychains). Depends only on `std` and `tempfile`, so other test suites can copy it.
//!
//! ```ignore
//! let session = match KeyringSession::start() {
//!     Ok(session) => session,
//!     Err(reason) => return skip_or_fail(&reason),
//! };
//! Command::new(bin).envs(session.env()).status()?;
//! ```

#![allow(dead_code)] // Each test binary that includes this uses a different part of it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the bus and the keyring daemon may take to come up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// The password the throwaway login keyring is created and unlocked with.
pub const KEYRING_PASSWORD: &str = "keryx-test-keyring-password";

pub struct KeyringSession {
    dir: tempfile::TempDir,
    address: String,
    bus: Child,
    keyring: Option<Child>,
}

impl KeyringSession {
    /// Starts the bus and the Secret Service. `Err` says why it could not (a tool missing, a
    /// daemon that did not come up), for [`skip_or_fail`].
    pub fn start() -> Result<KeyringSession, String> {
        for tool in ["dbus-daemon", "gnome-keyring-daemon", "dbus-send"] {
            find_tool(tool)?;
        }
        let dir = tempfile::Builder::new()
            .prefix("keryx-keyring-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        for sub in ["home", "data", "config", "cache", "runtime"] {
            std::fs::create_dir_all(dir.path().join(sub))
                .map_err(|e| format!("cannot create {sub}: {e}"))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // gnome-keyring refuses a runtime dir others can read.
            let runtime = dir.path().join("runtime");
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("cannot chmod {}: {e}", runtime.display()))?;
        }

        // A config of our own: no service activation, so nothing from the system (or the
        // developer's real keyring) can be started on this bus.
        let bus_config = dir.path().join("bus.conf");
        std::fs::write(
            &bus_config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("runtime").display()
            ),
        )
        .map_err(|e| format!("cannot write the bus config: {e}"))?;

        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", bus_config.display()))
            .args(["--print-address=1", "--nofork", "--nopidfile"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file(dir.path(), "dbus-daemon.log")?)
            .spawn()
            .map_err(|e| format!("cannot start dbus-daemon: {e}"))?;
        let address = match read_first_line(&mut bus, STARTUP_TIMEOUT) {
            Ok(address) => address,
            Err(reason) => {
                stop(&mut bus);
                return Err(format!(
                    "dbus-daemon did not print its address ({reason}); see {}",
                    dir.path().join("dbus-daemon.log").display()
                ));
            }
        };
        let mut session = KeyringSession {
            dir,
            address,
            bus,
            keyring: None,
        };

        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .envs(session.env())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(log_file(session.dir(), "gnome-keyring.log")?)
            .stderr(log_file(session.dir(), "gnome-keyring.err")?)
            .spawn()
            .map_err(|e| format!("cannot start gnome-keyring-daemon: {e}"))?;
        // `--unlock` reads the password from stdin up to end of file.
        let written = keyring
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(KEYRING_PASSWORD.as_bytes()))
            .unwrap_or_else(|| Err(std::io::Error::other("no stdin pipe")));
        session.keyring = Some(keyring);
        written.map_err(|e| format!("cannot give gnome-keyring-daemon its password: {e}"))?;

        session.wait_for_name("org.freedesktop.secrets")?;
        Ok(session)
    }

    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The throwaway directory (bus socket, keyring files, daemon logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The environment a process needs to use this keychain: the bus address, and HOME / XDG
    /// directories inside the throwaway directory so nothing reaches the real ones.
    pub fn env(&self) -> Vec<(String, String)> {
        let sub = |name: &str| self.dir.path().join(name).display().to_string();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            ("HOME".into(), sub("home")),
            ("XDG_DATA_HOME".into(), sub("data")),
            ("XDG_CONFIG_HOME".into(), sub("config")),
            ("XDG_CACHE_HOME".into(), sub("cache")),
            ("XDG_RUNTIME_DIR".into(), sub("runtime")),
        ]
    }

    /// A `secret-tool` command aimed at this keychain (to check from outside what was stored).
    pub fn secret_tool(&self) -> Command {
        let mut command = Command::new("secret-tool");
        command.envs(self.env());
        command
    }

    fn wait_for_name(&mut self, name: &str) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let output = Command::new("dbus-send")
                .envs(self.env())
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                ])
                .arg(format!("string:{name}"))
                .output()
                .map_err(|e| format!("cannot run dbus-send: {e}"))?;
            if String::from_utf8_lossy(&output.stdout).contains("boolean true") {
                return Ok(());
            }
            if let Some(keyring) = &mut self.keyring
                && let Ok(Some(status)) = keyring.try_wait()
            {
                return Err(format!(
                    "gnome-keyring-daemon exited ({status}); see {}",
                    self.dir.path().join("gnome-keyring.err").display()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{name} did not appear on the private bus within {} s",
                    STARTUP_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        // Only the two children this session started, by their own handles.
        if let Some(keyring) = &mut self.keyring {
            stop(keyring);
        }
        stop(&mut self.bus);
    }
}

/// Skips a test that needs the keychain tools, loudly; under CI (`CI=true`) fails instead, so a
/// broken CI image cannot silently skip the keychain tests.
pub fn skip_or_fail(reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if ci {
        panic!("the real-keychain test cannot run under CI: {reason}");
    }
    eprintln!(
        "\n==================== SKIPPED: real keychain test ====================\n\
         {reason}\n\
         Install dbus (dbus-daemon, dbus-send) and gnome-keyring to run it.\n\
         (With CI=true this is a failure.)\n\
         =====================================================================\n"
    );
}

fn find_tool(tool: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("`{tool}` is not installed (not found on PATH)"))
}

fn log_file(dir: &Path, name: &str) -> Result<std::fs::File, String> {
    std::fs::File::create(dir.join(name)).map_err(|e| format!("cannot create {name}: {e}"))
}

/// The first line the child prints, waiting at most `timeout`.
fn read_first_line(child: &mut Child, timeout: Duration) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(result);
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(line)) if !line.trim().is_empty() => Ok(line.trim().to_owned()),
        Ok(Ok(_)) => Err("it printed nothing".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("nothing within {} s", timeout.as_secs())),
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
