//! `keryx emulator` as a user runs it in CI: a process on a loopback port, the config it writes,
//! the knobs from a file and from flags, one log line per request; and real `keryx auth` and
//! `keryx post` pointed at it by `base_url`.

use std::process::Child;
use std::time::Duration;

use crate::support::*;

/// A `keryx emulator` process started with `args` (human output), killed on drop.
struct Served {
    child: Child,
    base_url: String,
    stderr: Lines,
    stdout: Lines,
}

impl Served {
    fn start(home: &Home, args: &[&str]) -> Served {
        let mut all = vec!["emulator", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = home.spawn(&all);
        let mut stdout = Lines::new(child.stdout.take().unwrap());
        let stderr = Lines::new(child.stderr.take().unwrap());
        let first = stdout.wait_for(Duration::from_secs(30), |l| {
            l.starts_with("keryx emulator listening on ")
        });
        let base_url = first
            .trim_start_matches("keryx emulator listening on ")
            .to_string();
        Served {
            child,
            base_url,
            stderr,
            stdout,
        }
    }

    /// What the emulator process logged on stderr until it was stopped.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.rest()
    }

    /// The stats of one platform's emulator, through the control API.
    fn stats(&self, platform: &str) -> serde_json::Value {
        reqwest::blocking::get(format!("{}/__emulator/{platform}/stats", self.base_url))
            .and_then(|r| r.json())
            .expect("stats")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `keryx auth <platform> --no-browser`, approved like a browser would, against `base_url`.
fn auth(home: &Home, base_url: &str, platform: &str) -> Run {
    let mut child = home.spawn(&["auth", platform, "--no-browser"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(Duration::from_secs(30), is_authorize_url(base_url));
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = http.get(url.trim()).send().unwrap();
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    let location = redirect.headers()["location"].to_str().unwrap().to_string();
    assert!(http.get(location).send().unwrap().status().is_success());
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    Run {
        status,
        stdout,
        stderr: lines.rest(),
    }
}

/// The config `--write-config` writes is all a real `keryx auth` and `keryx post` need: no
/// exported secret, no hand edit.
#[test]
fn write_config_then_auth_and_post_to_every_platform() {
    let home = Home::new();
    let config = home.path().join("ci.yaml");
    let served = Served::start(&home, &["--write-config", config.to_str().unwrap()]);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains(&format!("base_url: {}", served.base_url)),
        "{text}"
    );
    assert!(text.contains("secrets: file"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "the written config holds (emulator) client secrets"
        );
    }
    let mut home = home;
    home.set_env("KERYX_CONFIG", config.to_str().unwrap());
    let video = video(&home, "reel.mp4", 10, 1080, 1920, 2 * 1024 * 1024);
    for platform in ["instagram", "tiktok", "youtube"] {
        auth(&home, &served.base_url, platform)
            .expect_code(0)
            .expect_stdout("Authorised");
        let mut args = vec!["post", platform, video.to_str().unwrap(), "--yes", "--json"];
        args.extend_from_slice(&["--title", "From CI"]);
        let result = home.run(&args).expect_code(0).json();
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["platform"], platform);
    }
    assert_eq!(served.stats("tiktok")["posts_completed"], 1);
    assert_eq!(served.stats("instagram")["media"]["count"], 1);
    // A second emulator run may replace the file it wrote, never a config of the user's.
    drop(served);
    let again = Served::start(&home, &["--write-config", config.to_str().unwrap()]);
    drop(again);
    let users = home.path().join("config.yaml");
    std::fs::write(&users, "platforms: {}\n").unwrap();
    home.run(&[
        "emulator",
        "--port",
        "0",
        "--write-config",
        users.to_str().unwrap(),
    ])
    .expect_code(2)
    .expect_stderr("was not written by `keryx emulator`");
    assert_eq!(std::fs::read_to_string(&users).unwrap(), "platforms: {}\n");
}

/// One line per request on stderr: method, path, status, duration; never a query string (codes,
/// states and upload tokens travel there). `-q` turns the log off.
#[test]
fn each_request_is_logged_in_one_line_without_its_query() {
    let mut home = Home::new();
    let config = home.path().join("ci.yaml");
    let served = Served::start(&home, &["--write-config", config.to_str().unwrap()]);
    home.set_env("KERYX_CONFIG", config.to_str().unwrap());
    auth(&home, &served.base_url, "tiktok").expect_code(0);
    let video = video(&home, "reel.mp4", 10, 1080, 1920, 1024 * 1024);
    home.run(&["post", "tiktok", video.to_str().unwrap(), "--yes"])
        .expect_code(0);
    let log = served.stop();
    let requests: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with(['G', 'P', 'D']))
        .collect();
    for expected in [
        "GET /v2/auth/authorize/ 302 ",
        "POST /v2/oauth/token/ 200 ",
        "POST /v2/post/publish/video/init/ 200 ",
        "PUT /video/ 201 ",
        "POST /v2/post/publish/status/fetch/ 200 ",
    ] {
        assert!(
            requests.iter().any(|l| l.starts_with(expected)),
            "no {expected:?} in the log:\n{log}"
        );
    }
    for line in &requests {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words.len(), 4, "not `METHOD PATH STATUS DURATION`: {line}");
        assert!(words[2].parse::<u16>().is_ok(), "{line}");
        assert!(
            words[3].ends_with("ms") && words[3].trim_end_matches("ms").parse::<u64>().is_ok(),
            "{line}"
        );
        assert!(!line.contains('?') && !line.contains("code="), "{line}");
    }

    let quiet = Served::start(&home, &["-q"]);
    reqwest::blocking::get(format!("{}/__emulator/tiktok/stats", quiet.base_url)).unwrap();
    let log = quiet.stop();
    assert!(!log.contains("GET /__emulator"), "-q still logged:\n{log}");
}

/// Fault injection from a knobs file and from `--knob`, the same knobs the tests send over HTTP.
#[test]
fn knobs_from_a_file_and_from_flags_inject_faults() {
    let mut home = Home::new();
    let knobs = home.path().join("knobs.yaml");
    std::fs::write(
        &knobs,
        "# the first upload request to TikTok fails once with a 5xx\n\
         tiktok:\n  fail_chunk_with_5xx: [1]\n",
    )
    .unwrap();
    let config = home.path().join("ci.yaml");
    let served = Served::start(
        &home,
        &[
            "--knobs",
            knobs.to_str().unwrap(),
            "--knob",
            "youtube.fail_requests_with_5xx=[1]",
            "--write-config",
            config.to_str().unwrap(),
        ],
    );
    home.set_env("KERYX_CONFIG", config.to_str().unwrap());
    let video = video(&home, "reel.mp4", 10, 1080, 1920, 1024 * 1024);
    for platform in ["tiktok", "youtube"] {
        auth(&home, &served.base_url, platform).expect_code(0);
        home.run(&[
            "post",
            platform,
            video.to_str().unwrap(),
            "--yes",
            "--title",
            "retried",
        ])
        .expect_code(0);
    }
    // The fault happened and keryx retried through it.
    assert_eq!(served.stats("tiktok")["upload_puts"], 2);
    assert!(served.stats("youtube")["upload_puts"].as_u64().unwrap() >= 2);
    let log = served.stop();
    assert!(log.contains("PUT /video/ 500 "), "{log}");
    assert!(log.contains("PUT /video/ 201 "), "{log}");
}

#[test]
fn bad_knobs_are_input_errors() {
    let home = Home::new();
    let knobs = home.path().join("knobs.yaml");
    std::fs::write(&knobs, "tiktok:\n  fail_chunk_with_500: [1]\n").unwrap();
    home.run(&[
        "emulator",
        "--port",
        "0",
        "--knobs",
        knobs.to_str().unwrap(),
    ])
    .expect_code(2)
    .expect_stderr("knobs.yaml")
    .expect_stderr("fail_chunk_with_500");
    std::fs::write(&knobs, "myspace:\n  anything: 1\n").unwrap();
    home.run(&[
        "emulator",
        "--port",
        "0",
        "--knobs",
        knobs.to_str().unwrap(),
    ])
    .expect_code(2)
    .expect_stderr("no emulator called `myspace`");
    home.run(&["emulator", "--port", "0", "--knob", "tiktok=1"])
        .expect_code(2)
        .expect_stderr("PLATFORM.KNOB=VALUE");
    home.run(&[
        "emulator",
        "--port",
        "0",
        "--only",
        "tiktok",
        "--knob",
        "youtube.deny_authorization=true",
    ])
    .expect_code(2)
    .expect_stderr("no emulator called `youtube` is being served");
}

/// Without `--write-config`, the human output is the config snippet and the secrets to export.
#[test]
fn human_output_prints_the_config_to_use() {
    let home = Home::new();
    let mut served = Served::start(&home, &["--only", "tiktok"]);
    served.stdout.wait_for(Duration::from_secs(10), |l| {
        l.starts_with("export TIKTOK_CLIENT_SECRET=")
    });
    let printed = served.stdout.seen.join("\n");
    assert!(printed.contains("platforms:\n  tiktok:"), "{printed}");
    assert!(
        printed.contains(&format!("base_url: {}", served.base_url)),
        "{printed}"
    );
    assert!(!printed.contains("youtube"), "--only tiktok: {printed}");
}
