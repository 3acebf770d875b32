//! A platform added as a crate: `keryx-with-fixture` (the CLI's library entry point plus this
//! crate) runs `auth`, `post`, `post all` and `demo` with the `fixture` platform against
//! `keryx-with-fixture emulator`, while no line of core or the CLI names it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const KERYX: &str = env!("CARGO_BIN_EXE_keryx-with-fixture");

/// A throwaway HOME; every run gets a clean environment pointing into it.
struct Home {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        Home { dir, config }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(KERYX);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("TMPDIR", self.path())
            .env("KERYX_CONFIG", &self.config)
            .env("KERYX_RETRY_BASE_MS", "20")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/keryx-test-bus",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// A synthetic MP4 of `size` bytes.
    fn video(&self, name: &str, size: u64) -> PathBuf {
        let path = self.path().join(name);
        keryx_core::media::synthetic::write_mp4(&path, Duration::from_secs(5), 1080, 1920, size)
            .unwrap();
        path
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    #[track_caller]
    fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            self.stderr
        );
        self
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Lines of a child's stream, read on a thread.
struct Lines {
    receiver: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn new(stream: impl Read + Send + 'static) -> Lines {
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

    fn wait_for(&mut self, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no matching line; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    fn rest(&mut self) -> String {
        while let Ok(line) = self.receiver.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

/// `keryx-with-fixture emulator --only fixture` with a written config; killed on drop.
struct Emulator {
    child: Child,
    base_url: String,
    /// Kept so the emulator's stdout stays read: dropped, the pipe closes and the emulator's
    /// next line (the config it wrote) kills it with a broken pipe.
    _stdout: Lines,
}

impl Emulator {
    fn start(home: &Home, extra: &[&str]) -> Emulator {
        let config = home.config.to_str().unwrap();
        let mut args = vec!["emulator", "--port", "0", "--only", "fixture", "-q"];
        args.extend_from_slice(&["--write-config", config]);
        args.extend_from_slice(extra);
        let mut child = home.command(&args).spawn().unwrap();
        let mut stdout = Lines::new(child.stdout.take().unwrap());
        let first = stdout.wait_for(|l| l.starts_with("keryx emulator listening on "));
        let base_url = first["keryx emulator listening on ".len()..].to_string();
        Emulator {
            child,
            base_url,
            _stdout: stdout,
        }
    }

    fn stats(&self) -> serde_json::Value {
        reqwest::blocking::get(format!("{}/__emulator/fixture/stats", self.base_url))
            .and_then(|r| r.json())
            .unwrap()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `auth fixture --no-browser`, finished the way a browser finishes it: load the printed URL,
/// which redirects to keryx's loopback listener, and load that.
fn authorise(home: &Home, emulator: &Emulator) -> Run {
    let mut child = home
        .command(&["auth", "fixture", "--no-browser"])
        .spawn()
        .unwrap();
    let mut stderr = Lines::new(child.stderr.take().unwrap());
    let url = stderr.wait_for(|l| l.trim().starts_with(&emulator.base_url));
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(url.trim()).send().unwrap();
    assert_eq!(page.status(), 302);
    let location = page.headers()["location"].to_str().unwrap().to_string();
    let _ = http.get(location).send();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "auth did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: stderr.rest(),
    }
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn auth_post_and_post_all_through_the_cli() {
    let home = Home::new();
    let emulator = Emulator::start(&home, &[]);
    let auth = authorise(&home, &emulator);
    auth.expect(0);
    assert!(
        auth.stdout.contains("Authorised Fixture as fixture-demo"),
        "{}",
        auth.stdout
    );
    let config = std::fs::read_to_string(&home.config).unwrap();
    assert!(config.contains("enabled: true"), "{config}");

    let status = home.run(&["status", "--json"]);
    status.expect(0);
    let fixture = status.json()["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "fixture")
        .cloned()
        .unwrap();
    assert_eq!(fixture["token"], "stored for fixture-demo");

    // `keryx post fixture`: one platform.
    let first = home.video("first.mp4", 300 * 1024);
    let post = home.run(&[
        "post",
        "fixture",
        first.to_str().unwrap(),
        "--yes",
        "--json",
        "--title",
        "First",
        "--tag",
        "a",
    ]);
    post.expect(0);
    let report = post.json();
    assert_eq!(report["platform"], "fixture");
    assert_eq!(report["status"], "published");
    let id = report["id"].as_str().unwrap();
    let stats = emulator.stats();
    let video = &stats["videos"][0];
    assert_eq!(video["video_id"], id);
    assert_eq!(video["title"], "First");
    assert_eq!(video["tags"], serde_json::json!(["a"]));
    assert_eq!(
        video["sha256"],
        sha256(&first),
        "the bytes that arrived differ"
    );
    // The URL it reported is served.
    let watched: serde_json::Value = reqwest::blocking::get(report["url"].as_str().unwrap())
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(watched["video_id"], id);

    // `keryx post all`: every enabled platform, which is the fixture alone here.
    let second = home.video("second.mp4", 200 * 1024);
    let all = home.run(&["post", "all", second.to_str().unwrap(), "--yes", "--json"]);
    all.expect(0);
    let entries = all.json();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["platform"], "fixture");
    assert_eq!(entries[0]["result"], "posted");
    assert_eq!(emulator.stats()["videos"][1]["sha256"], sha256(&second));
    // Titled after the file when no --title is given.
    assert_eq!(emulator.stats()["videos"][1]["title"], "second");

    // A rerun of `post all` finds the post in the ledger and sends nothing.
    let again = home.run(&["post", "all", second.to_str().unwrap(), "--yes", "--json"]);
    again.expect(0);
    assert_eq!(again.json()[0]["result"], "already_posted");
    assert_eq!(emulator.stats()["videos"].as_array().unwrap().len(), 2);
}

#[test]
fn a_chunked_upload_survives_a_5xx_and_a_dropped_connection() {
    let home = Home::new();
    let emulator = Emulator::start(
        &home,
        &[
            "--knob",
            "fixture.fail_uploads_with_5xx=[2]",
            "--knob",
            "fixture.drop_connection_on_upload=[4]",
        ],
    );
    authorise(&home, &emulator).expect(0);
    // Four 1 MiB chunks (the last one byte).
    let video = home.video("long.mp4", 3 * 1024 * 1024 + 1);
    home.run(&["post", "fixture", video.to_str().unwrap(), "--yes"])
        .expect(0);
    let stats = emulator.stats();
    assert_eq!(stats["upload_puts"], 6, "4 chunks and 2 faults: {stats}");
    assert_eq!(stats["videos"][0]["sha256"], sha256(&video));
}

#[test]
fn declined_or_wrong_account_authorisations_are_refused() {
    let home = Home::new();
    let emulator = Emulator::start(&home, &["--knob", "fixture.deny_authorization=true"]);
    authorise(&home, &emulator).expect(2).stderr_has("declined");
    drop(emulator);

    let home = Home::new();
    let emulator = Emulator::start(&home, &["--knob", "fixture.browser_user=someone-else"]);
    authorise(&home, &emulator)
        .expect(2)
        .stderr_has("authorised as `someone-else`");
    let config = std::fs::read_to_string(&home.config).unwrap();
    assert!(!config.contains("enabled: true"), "{config}");
}

#[test]
fn its_config_section_gets_cores_checks() {
    let home = Home::new();
    std::fs::write(
        &home.config,
        "secrets: file\nplatforms:\n  fixture:\n    base_url: http://127.0.0.1:9\n    acount: me\n",
    )
    .unwrap();
    home.run(&["post", "fixture", "x.mp4", "--yes"])
        .expect(2)
        .stderr_has("acount")
        .stderr_has(":5");
    std::fs::write(&home.config, "platforms:\n  fixture: {}\n").unwrap();
    home.run(&["status"]).expect(0);
    home.run(&["post", "fixture", "x.mp4", "--yes"])
        .expect(2)
        .stderr_has("base_url");
}

#[test]
fn demo_and_platforms_include_it() {
    let home = Home::new();
    let platforms = home.run(&["platforms", "--json"]);
    platforms.expect(0);
    let ids: Vec<String> = platforms
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        ["bluesky", "fixture", "instagram", "tiktok", "youtube"]
    );

    let demo = home.run(&["demo", "--json"]);
    demo.expect(0)
        .stderr_has("Authorised Fixture as fixture-demo");
    let posted: Vec<(String, String)> = demo
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["platform"].as_str().unwrap().to_string(),
                e["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        posted,
        [
            ("bluesky".to_string(), "posted".to_string()),
            ("fixture".to_string(), "posted".to_string()),
            ("instagram".to_string(), "posted".to_string()),
            ("tiktok".to_string(), "posted".to_string()),
            ("youtube".to_string(), "posted".to_string()),
        ]
    );
}

/// The point of the exercise: core and the CLI do not know this platform exists.
#[test]
fn no_line_of_core_or_the_cli_names_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let needles = [
        "keryx_fixture",
        "keryx-fixture",
        "\"fixture\"",
        "platforms.fixture",
        "FixtureEmulator",
        "FIXTURE_CLIENT_SECRET",
    ];
    let mut offenders = Vec::new();
    let mut stack = vec![root.join("core/src"), root.join("cli/src")];
    let mut files = vec![
        root.join("cli/Cargo.toml"),
        root.join("cli/build.rs"),
        root.join("core/Cargo.toml"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files.len() > 10,
        "found too few files under {}",
        root.display()
    );
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for needle in needles {
            if text.contains(needle) {
                offenders.push(format!("{} names it ({needle})", file.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
