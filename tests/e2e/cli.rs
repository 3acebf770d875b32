//! Behaviour of the command line itself: help, usage errors, config errors, the auth
//! flow's guard rails. Platform-neutral where it can be; uses TikTok where a platform is needed.

use std::time::Duration;

use crate::conformance::setup;
use crate::support::*;

#[test]
fn help_and_version() {
    let home = Home::new();
    home.run(&["--help"])
        .expect_code(0)
        .expect_stdout("Usage: keryx");
    home.run(&["--version"])
        .expect_code(0)
        .expect_stdout("keryx");
    home.run(&["frobnicate"]).expect_code(2);
}

#[test]
fn platforms_lists_every_registered_platform() {
    let home = Home::new();
    let run = home.run(&["platforms"]);
    run.expect_code(0)
        .expect_stdout("tiktok")
        .expect_stdout("youtube");
    let list = home.run(&["platforms", "--json"]).expect_code(0).json();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["platform"] == "tiktok")
    );
}

#[test]
fn status_without_a_config_says_so() {
    let home = Home::new();
    home.run(&["status"])
        .expect_code(0)
        .expect_stdout("not created yet");
    let status = home.run(&["status", "--json"]).expect_code(0).json();
    assert_eq!(status["config_exists"], false);
}

#[test]
fn unknown_platform_lists_the_known_ones() {
    let home = Home::new();
    home.run(&["auth", "myspace"])
        .expect_code(2)
        .expect_stderr("unknown platform")
        .expect_stderr("tiktok");
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let home = Home::new();
    home.write_config("platforms:\n  tiktok:\n    client_key: [unclosed\n");
    home.run(&["status"])
        .expect_code(2)
        .expect_stderr("config.yaml:")
        .expect_stderr("line 3");
}

#[test]
fn unknown_key_names_line_and_allowed_keys() {
    let home = Home::new();
    home.write_config(
        "secrets: file\nplatforms:\n  tiktok:\n    client_key: sbawx\n    privcy: SELF_ONLY\n",
    );
    let run = home.run(&["post", "tiktok", "x.mp4", "--yes"]);
    run.expect_code(2)
        .expect_stderr("privcy")
        .expect_stderr(":5")
        .expect_stderr("client_key");
}

#[test]
fn missing_client_key() {
    let mut home = Home::new();
    home.set_env("TIKTOK_CLIENT_SECRET", "s");
    home.write_config("secrets: file\nplatforms:\n  tiktok:\n    privacy: SELF_ONLY\n");
    home.run(&["auth", "tiktok", "--no-browser"])
        .expect_code(2)
        .expect_stderr("client_key");
}

#[test]
fn secret_in_config_is_refused_and_the_file_kept() {
    let home = Home::new();
    let text =
        "secrets: file\nplatforms:\n  tiktok:\n    client_key: sbawx\n    client_secret: hunter2\n";
    home.write_config(text);
    let run = home.run(&["auth", "tiktok", "--no-browser"]);
    run.expect_code(2).expect_stderr("TIKTOK_CLIENT_SECRET");
    assert!(
        !run.stderr.contains("hunter2"),
        "the secret was echoed:\n{}",
        run.stderr
    );
    assert_eq!(home.config(), text, "the config was changed");
}

#[test]
fn non_loopback_redirect_is_refused() {
    let (home, _emulator) = setup("tiktok");
    home.run(&[
        "auth",
        "tiktok",
        "--no-browser",
        "--redirect",
        "http://example.com:8080/callback/",
    ])
    .expect_code(2)
    .expect_stderr("loopback");
}

#[test]
fn pinned_port_in_use() {
    let (home, _emulator) = setup("tiktok");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/callback/");
    home.run(&["auth", "tiktok", "--no-browser", "--redirect", &redirect])
        .expect_code(2)
        .expect_stderr(&port.to_string());
}

#[test]
fn pinned_port_is_used() {
    let (home, emulator) = setup("tiktok");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback/");
    let mut child = home.spawn(&["auth", "tiktok", "--no-browser", "--redirect", &redirect]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    assert!(
        url.contains(&format!("127.0.0.1%3A{port}")),
        "the pinned port is not in {url}"
    );
    assert!(approve_in_browser(&emulator, &url).is_success());
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(60)).code(),
        Some(0),
        "{}",
        lines.rest()
    );
}

#[test]
fn code_without_pending_authorisation() {
    let (home, _emulator) = setup("tiktok");
    home.run(&["auth", "tiktok", "--code", "abc"])
        .expect_code(2)
        .expect_stderr("keryx auth tiktok");
}

#[test]
fn expired_pending_authorisation() {
    let (home, emulator) = setup("tiktok");
    let mut child = home.spawn(&["auth", "tiktok", "--no-browser"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Eleven minutes pass: move the saved authorisation's start into the past.
    let pending = home.state_dir().join("pending").join("tiktok.json");
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pending).unwrap()).unwrap();
    saved["created_at"] = serde_json::json!(saved["created_at"].as_i64().unwrap() - 11 * 60);
    std::fs::write(&pending, serde_json::to_vec(&saved).unwrap()).unwrap();
    let redirect = approval_redirect(&emulator, &url);
    home.run(&["auth", "tiktok", "--code", &redirect])
        .expect_code(2)
        .expect_stderr("expired");
}

#[test]
fn stdin_at_end_of_file_does_not_end_the_wait() {
    let (home, emulator) = setup("tiktok");
    // stdin is /dev/null: EOF at once. keryx must keep waiting for the browser.
    let mut child = home.spawn(&["auth", "tiktok", "--no-browser"]);
    let mut lines = Lines::new(child.stderr.take().unwrap());
    let url = lines.wait_for(
        Duration::from_secs(30),
        is_authorize_url(&emulator.base_url),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "keryx gave up when stdin closed:\n{}",
        lines.rest()
    );
    assert!(approve_in_browser(&emulator, &url).is_success());
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(60)).code(),
        Some(0)
    );
}

#[test]
fn auth_times_out() {
    let (home, _emulator) = setup("tiktok");
    home.run(&["auth", "tiktok", "--no-browser", "--timeout", "1s"])
        .expect_code(2)
        .expect_stderr("--code");
}
