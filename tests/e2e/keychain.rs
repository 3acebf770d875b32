//! The OS keychain for real: gnome-keyring's Secret Service on a private D-Bus session bus holds
//! the TikTok token across auth and posts (with rotation), and nothing lands in the config file.

use crate::conformance::setup;
use crate::keyring_session::{KeyringSession, skip_or_fail};
use crate::support::*;

#[test]
fn tokens_live_in_the_keychain() {
    let session = match KeyringSession::start() {
        Ok(session) => session,
        Err(reason) => return skip_or_fail(&reason),
    };
    let (mut home, emulator) = setup("tiktok");
    home.set_env("DBUS_SESSION_BUS_ADDRESS", session.address());
    home.write_config(&home.config().replace("secrets: file", "secrets: auto"));

    let auth = authorise(&home, &emulator, "tiktok");
    auth.expect_code(0);
    assert!(
        !auth.stderr.contains("no OS keychain"),
        "auto mode did not find the keychain:\n{}",
        auth.stderr
    );
    let config = home.config();
    assert!(
        !config.contains("stored_secrets"),
        "the token went to the config file:\n{config}"
    );

    let stored = || {
        let output = session
            .secret_tool()
            .args(["lookup", "service", "keryx", "username", "tiktok/token"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = stored();
    assert!(
        first.contains("refresh_token"),
        "no token in the keychain: {first:?}"
    );

    let video = video(&home, "reel.mp4", 5, 1080, 1920, 1024 * 1024);
    home.run(&["post", "tiktok", video.to_str().unwrap(), "--yes"])
        .expect_code(0);
    let second = stored();
    assert_ne!(
        first, second,
        "the rotated refresh token was not written back to the keychain"
    );
    home.run(&["post", "tiktok", video.to_str().unwrap(), "--yes"])
        .expect_code(0);
    home.run(&["status"])
        .expect_code(0)
        .expect_stdout("keychain");
}
