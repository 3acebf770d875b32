//! The OS keychain for real: gnome-keyring's Secret Service on a private D-Bus session bus holds
//! a platform's token across auth and two posts (TikTok rotates it on every post), and nothing
//! lands in the config file. Run for every platform by the conformance suite.

use crate::keyring_session::{KeyringSession, skip_or_fail};
use crate::suite::{post_args, profile, setup};
use crate::support::*;

pub fn tokens_live_in_the_keychain(platform: &str) {
    let session = match KeyringSession::start() {
        Ok(session) => session,
        Err(reason) => return skip_or_fail(&reason),
    };
    let profile = profile(platform);
    let (mut home, emulator) = setup(platform);
    home.set_env("DBUS_SESSION_BUS_ADDRESS", session.address());
    home.write_config(&home.config().replace("secrets: file", "secrets: auto"));

    let auth = authorise(&home, &emulator, platform);
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

    let token_name = format!("{platform}/token");
    let stored = || {
        let output = session
            .secret_tool()
            .args(["lookup", "service", "keryx", "username", &token_name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(
        stored().contains("refresh_token"),
        "no token in the keychain"
    );

    for name in ["first.mp4", "second.mp4"] {
        let video = video(&home, name, 5, 1080, 1920, profile.small_video);
        home.run(&post_args(platform, video.to_str().unwrap(), &profile))
            .expect_code(0);
        assert!(
            stored().contains("refresh_token"),
            "the keychain lost the token"
        );
    }
    assert!(!home.config().contains("stored_secrets"));
    home.run(&["status"])
        .expect_code(0)
        .expect_stdout("keychain");
}
