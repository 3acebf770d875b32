//! `keryx demo`: the README's first command, on a fresh HOME, with nothing but loopback.

use std::process::Command;

use crate::support::*;

/// A home whose temporary files land inside it, so the test can see what the demo leaves.
fn demo_home() -> Home {
    let mut home = Home::new();
    let tmp = home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    home.set_env("TMPDIR", tmp.to_str().unwrap());
    home
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn demo_authorises_and_posts_everywhere_on_a_fresh_home() {
    let home = demo_home();
    let run = home.run(&["demo"]);
    run.expect_code(0)
        .expect_stdout("Authorised TikTok as")
        .expect_stdout("Authorised YouTube as")
        .expect_stdout("What happened:")
        .expect_stdout(
            "upload requests the emulators received: bluesky 1, instagram 1, tiktok 1, youtube 1",
        )
        .expect_stdout("Doing it for real:")
        .expect_stdout("docs/tiktok.md")
        // The flows a user would see: the URL shown, the stand-in browser, the progress.
        .expect_stderr("$ keryx auth tiktok")
        .expect_stderr("stand-in browser")
        .expect_stderr("$ keryx post all sample.mp4 --yes")
        .expect_stderr("tiktok: uploading")
        .expect_stderr("youtube: uploading");
    // Only the platforms that need an app of the user's own ask for a client id and secret;
    // Bluesky (a public client) is told apart.
    let register = run
        .stdout
        .lines()
        .find(|l| l.contains("client id and secret"))
        .expect("the registration step");
    assert!(
        register.contains("TikTok") && !register.contains("Bluesky"),
        "{register}"
    );
    run.expect_stdout(
        "Bluesky needs no app of your own: you sign in with your account (docs/bluesky.md)",
    );
    // `post all`'s summary table: one row per platform, each posted.
    for platform in ["bluesky", "instagram", "tiktok", "youtube"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(platform) && l.split_whitespace().nth(1) == Some("posted")),
            "no `{platform} posted` row:\n{}",
            run.stdout
        );
    }
    // Nothing of the user's was touched, and the throwaway directory is gone.
    assert!(
        !home.config_path().exists(),
        "the demo wrote the user's config"
    );
    assert!(
        !home.state_dir().exists(),
        "the demo wrote the user's state"
    );
    assert_eq!(entries(&home.path().join("tmp")), Vec::<String>::new());
}

#[test]
fn demo_json_is_the_post_all_array() {
    let home = demo_home();
    let run = home.run(&["demo", "--json"]);
    run.expect_code(0).expect_stderr("Authorised TikTok as");
    let result = run.json();
    let posts = result.as_array().expect("one JSON array on stdout");
    let platforms: Vec<&str> = posts
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["bluesky", "instagram", "tiktok", "youtube"]);
    for post in posts {
        assert_eq!(post["result"], "posted", "{post}");
        assert!(post["id"].is_string(), "{post}");
    }
}

/// The demo needs nothing but the loopback interface: run it in a network namespace that has
/// only `lo` (Linux, root or user namespaces). Skips loudly where namespaces are not allowed.
#[test]
fn demo_works_without_any_network() {
    let probe = Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo up"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        // The project's rule for tests that need the system: skip loudly, fail under CI.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to run `unshare -n` (root or user namespaces) and `ip`"
        );
        eprintln!(
            "SKIPPED demo_works_without_any_network: cannot create a network namespace here \
             (needs `unshare -n` and `ip`)"
        );
        return;
    }
    let home = demo_home();
    // Home's environment (fresh HOME, no D-Bus, ...) around `unshare -n sh -c '...' keryx`.
    let template = home.command(&[]);
    let mut unshared = Command::new("unshare");
    unshared
        .args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" demo",
            KERYX,
        ])
        .env_clear();
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            unshared.env(key, value);
        }
    }
    let run = Run::from(unshared.output().expect("run unshare"));
    run.expect_code(0)
        .expect_stdout("Authorised TikTok")
        .expect_stdout(
            "upload requests the emulators received: bluesky 1, instagram 1, tiktok 1, youtube 1",
        );
}

#[test]
fn demo_posts_a_video_of_your_own_and_keeps_its_files_when_asked() {
    let home = demo_home();
    let video = video(&home, "mine.mp4", 8, 1080, 1920, 3 * 1024 * 1024);
    let run = home.run(&["demo", "--video", video.to_str().unwrap(), "--keep"]);
    run.expect_code(0)
        .expect_stdout("mine.mp4")
        .expect_stdout("3.00 MiB")
        .expect_stdout("kept in");
    let kept = entries(&home.path().join("tmp"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    let config = home.path().join("tmp").join(&kept[0]).join("config.yaml");
    // The kept config works with the real commands: tokens are in it (secrets: file).
    let status = home
        .run(&["--config", config.to_str().unwrap(), "status", "--json"])
        .expect_code(0)
        .json();
    for platform in status["platforms"].as_array().unwrap() {
        assert!(platform["token"].is_string(), "{platform}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = config.parent().unwrap();
        let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the demo's directory holds tokens");
    }
}

#[test]
fn a_real_client_secret_in_the_environment_is_named_not_sent() {
    let mut home = demo_home();
    home.set_env("TIKTOK_CLIENT_SECRET", "a-real-secret-from-the-console");
    home.run(&["demo"])
        .expect_code(2)
        .expect_stderr("TIKTOK_CLIENT_SECRET is set")
        .expect_stderr("env -u TIKTOK_CLIENT_SECRET");
}

#[test]
fn demo_refuses_a_video_that_is_not_one() {
    let home = demo_home();
    let notes = home.path().join("notes.mp4");
    std::fs::write(&notes, "not a video").unwrap();
    home.run(&["demo", "--video", notes.to_str().unwrap()])
        .expect_code(2)
        .expect_stderr("not a video");
    assert_eq!(entries(&home.path().join("tmp")), Vec::<String>::new());
}
