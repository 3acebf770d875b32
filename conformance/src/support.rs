//! What every end-to-end test needs: a throwaway home, the real `keryx` binary, and a running
//! `keryx emulator` process to point it at.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A fresh HOME with its own config and state dirs, so tests never touch the developer's files
/// or keychain, and never each other's.
pub struct Home {
    pub dir: tempfile::TempDir,
    /// Extra environment for every keryx run (client secrets, D-Bus address, ...).
    pub env: Vec<(String, String)>,
}

impl Default for Home {
    fn default() -> Self {
        Home::new()
    }
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp dir");
        Home {
            dir,
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.yaml")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state").join("keryx")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }

    pub fn config(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap_or_default()
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// `keryx ARGS` with this home: output captured, stdin closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(crate::binary());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("KERYX_CONFIG", self.config_path())
            // Backoff in tests: the same code path, millisecond sleeps.
            .env("KERYX_RETRY_BASE_MS", "20")
            // No session bus: `secrets: auto` falls back to the file unless a test provides one.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/keryx-test-bus",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run keryx");
        Run::from(output)
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("spawn keryx")
    }
}

/// A finished keryx run.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "keryx panicked:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn expect_stderr(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn expect_stdout(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A `keryx emulator` process on a free loopback port, killed on drop.
pub struct EmulatorProcess {
    child: Child,
    pub base_url: String,
    http: reqwest::blocking::Client,
    /// Its stderr (one line per request), read all along: a pipe nobody reads fills up after
    /// 64 KiB and then blocks the emulator mid-request.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl EmulatorProcess {
    pub fn start(home: &Home) -> EmulatorProcess {
        EmulatorProcess::start_on(home, 0)
    }

    /// On a given port (0: a free one), e.g. to restart an emulator where clients expect it.
    pub fn start_on(home: &Home, port: u16) -> EmulatorProcess {
        let port = port.to_string();
        let mut child = home.spawn(&["emulator", "--port", &port, "--json"]);
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("emulator prints its address");
        let info: serde_json::Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("emulator's first line is not JSON ({e}): {first}"));
        let base_url = info["base_url"].as_str().expect("base_url").to_string();
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            // Bytes, not `lines()`: a line that is not UTF-8 must not stop the draining.
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&String::from_utf8_lossy(&line));
                line.clear();
            }
        });
        EmulatorProcess {
            child,
            base_url,
            http,
            log,
        }
    }

    /// What it wrote on stderr so far (its request log), for failure messages.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets knobs (YAML or JSON) on one platform's emulator.
    pub fn configure(&self, platform: &str, knobs: &str) {
        let response = self
            .http
            .post(format!("{}/__emulator/{platform}/configure", self.base_url))
            .body(knobs.to_string())
            .send()
            .expect("configure emulator");
        assert!(
            response.status().is_success(),
            "knobs refused: {}",
            response.text().unwrap_or_default()
        );
    }

    pub fn stats(&self, platform: &str) -> serde_json::Value {
        self.http
            .get(format!("{}/__emulator/{platform}/stats", self.base_url))
            .send()
            .and_then(|r| r.json())
            .expect("emulator stats")
    }

    /// The next `requests` requests to `method path` are accepted and never answered.
    pub fn stall(&self, method: &str, path: &str, requests: u64) {
        let response = self
            .http
            .post(format!("{}/__emulator/stall", self.base_url))
            .body(format!(
                "{{\"path\": \"{path}\", \"method\": \"{method}\", \"requests\": {requests}}}"
            ))
            .send()
            .expect("configure a stall");
        assert!(
            response.status().is_success(),
            "stall refused: {}",
            response.text().unwrap_or_default()
        );
    }

    /// Holds the next `waiting` requests to `method path` until the last of them arrives, then
    /// lets them all through at once (see `keryx_core::emulator::gate`).
    pub fn gate(&self, method: &str, path: &str, waiting: u64) {
        let response = self
            .http
            .post(format!("{}/__emulator/gate", self.base_url))
            .body(format!(
                "{{\"path\": \"{path}\", \"method\": \"{method}\", \"waiting\": {waiting}}}"
            ))
            .send()
            .expect("configure a gate");
        assert!(
            response.status().is_success(),
            "gate refused: {}",
            response.text().unwrap_or_default()
        );
    }

    /// How many requests were stalled so far.
    pub fn stalled(&self) -> u64 {
        self.http
            .get(format!("{}/__emulator/stall", self.base_url))
            .send()
            .and_then(|r| r.json::<serde_json::Value>())
            .expect("stall stats")["stalled"]
            .as_u64()
            .expect("a count")
    }

    pub fn http(&self) -> &reqwest::blocking::Client {
        &self.http
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        url::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| u.port())
            .expect("the emulator's base_url has a port")
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a config whose platform sections point at `emulator`, and exports the client secrets.
pub fn configure_for_emulator(
    home: &mut Home,
    emulator: &EmulatorProcess,
    platforms: &[&str],
    extra: &str,
) {
    let mut config = String::from("# test config\nsecrets: file\nplatforms:\n");
    for id in platforms {
        let platform = keryx_core::find(id).unwrap_or_else(|| panic!("{id} is not registered"));
        let fake = platform.emulator();
        config.push_str(&format!("  {id}:\n"));
        config.push_str(&fake.client_config(&emulator.base_url));
        let (env, secret) = fake.client_secret();
        home.set_env(env, &secret);
    }
    config.push_str(extra);
    home.write_config(&config);
}

/// Reads a child's stderr on a thread, so the test can wait for a line without blocking forever.
pub struct Lines {
    receiver: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn new(stream: impl Read + Send + 'static) -> Lines {
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            receiver,
            seen: Vec::new(),
        }
    }

    /// The first line (from now) that `matches`, within `timeout`.
    pub fn wait_for(&mut self, timeout: Duration, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no matching line within {timeout:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    pub fn rest(&mut self) -> String {
        while let Ok(line) = self.receiver.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

/// Waits for a child with a deadline (a hung keryx fails the test instead of hanging CI).
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("keryx did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Finds the authorize URL keryx printed: the line that starts with the emulator's address.
pub fn is_authorize_url(base_url: &str) -> impl Fn(&str) -> bool + '_ {
    move |line: &str| line.trim().starts_with(base_url)
}

/// What a browser does with the authorize URL: the emulator approves and redirects; follow the
/// redirect to keryx's loopback. Returns the final page's status.
pub fn approve_in_browser(emulator: &EmulatorProcess, authorize_url: &str) -> reqwest::StatusCode {
    let redirect = emulator
        .http()
        .get(authorize_url.trim())
        .send()
        .expect("authorize page");
    assert!(
        redirect.status().is_redirection(),
        "authorize did not redirect: {}",
        redirect.status()
    );
    let location = redirect.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    emulator
        .http()
        .get(location)
        .send()
        .expect("loopback callback")
        .status()
}

/// The redirect the emulator would send the browser to, without following it.
pub fn approval_redirect(emulator: &EmulatorProcess, authorize_url: &str) -> String {
    let redirect = emulator
        .http()
        .get(authorize_url.trim())
        .send()
        .expect("authorize page");
    assert!(
        redirect.status().is_redirection(),
        "authorize did not redirect: {}",
        redirect.status()
    );
    redirect.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

/// `keryx auth <platform> --no-browser`, approved through the loopback like a browser would.
pub fn authorise(home: &Home, emulator: &EmulatorProcess, platform: &str) -> Run {
    authorise_with(home, emulator, platform, &[])
}

/// [`authorise`] with more `keryx auth` arguments (e.g. `--client-secrets FILE`).
pub fn authorise_with(
    home: &Home,
    emulator: &EmulatorProcess,
    platform: &str,
    extra: &[&str],
) -> Run {
    let mut args = vec!["auth", platform, "--no-browser"];
    args.extend_from_slice(extra);
    let mut child = home.spawn(&args);
    let mut lines = Lines::new(child.stderr.take().expect("stderr"));
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    let status = approve_in_browser(emulator, &url);
    assert!(status.is_success(), "loopback answered {status}");
    let exit = wait_with_timeout(&mut child, Duration::from_secs(60));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    Run {
        status: exit,
        stdout,
        stderr: lines.rest(),
    }
}

/// Writes a synthetic MP4 of `size` bytes (sparse: no memory, little disk).
pub fn video(home: &Home, name: &str, seconds: u64, width: u32, height: u32, size: u64) -> PathBuf {
    let path = home.path().join(name);
    keryx_core::media::synthetic::write_mp4(
        &path,
        Duration::from_secs(seconds),
        width,
        height,
        size,
    )
    .expect("synthetic mp4");
    path
}

pub fn write_stdin(child: &mut Child, text: &str) {
    let stdin = child.stdin.as_mut().expect("stdin piped");
    stdin.write_all(text.as_bytes()).expect("write stdin");
    stdin.flush().expect("flush stdin");
}
