//! The file secret backend: `stored_secrets:` in the config, kept by keryx, file mode 0600.

use std::path::{Path, PathBuf};

use keryx_core::Secret;
use keryx_core::config::{
    Config, STORED_SECRETS_COMMENT, read_stored_secret, set_platform_key, write_stored_secret,
};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture(text: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    if let Some(text) = text {
        std::fs::write(&path, text).expect("write config");
    }
    Fixture { _dir: dir, path }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read config")
}

fn get(path: &Path, name: &str) -> Option<String> {
    read_stored_secret(path, name)
        .expect("read secret")
        .map(|s| s.expose().to_owned())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_secret_in_a_new_file_is_private_and_reads_back() {
    let f = fixture(None);
    assert_eq!(get(&f.path, "tiktok/token"), None);
    assert!(!f.path.exists(), "reading must not create the file");
    write_stored_secret(&f.path, "tiktok/token", Some(&Secret::new("rt-1"))).expect("write");
    assert_eq!(
        read(&f.path),
        format!("{STORED_SECRETS_COMMENT}\nstored_secrets:\n  tiktok/token: \"rt-1\"\n")
    );
    #[cfg(unix)]
    assert_eq!(mode(&f.path), 0o600);
    assert_eq!(get(&f.path, "tiktok/token").as_deref(), Some("rt-1"));
}

#[test]
fn json_and_awkward_strings_survive_exactly() {
    let f = fixture(Some("secrets: file\n"));
    let json = serde_json::json!({
        "refresh_token": "rt.\"quoted\"\\back",
        "note": "line\nbreak\ttab # not a comment: {x}",
        "unicode": "é\u{2028}🙂",
    })
    .to_string();
    write_stored_secret(&f.path, "tiktok/token", Some(&Secret::new(json.clone()))).expect("write");
    assert_eq!(get(&f.path, "tiktok/token"), Some(json));
    for value in [
        "",
        " leading and trailing ",
        "'single'",
        "- dash",
        "null",
        "true",
        "0123",
    ] {
        write_stored_secret(&f.path, "youtube/token", Some(&Secret::new(value))).expect("write");
        assert_eq!(
            get(&f.path, "youtube/token").as_deref(),
            Some(value),
            "{value:?}"
        );
    }
    // One line per secret: a multi-line value would make the block fragile to edit.
    assert_eq!(read(&f.path).lines().count(), 6, "{}", read(&f.path));
}

#[cfg(unix)]
#[test]
fn an_existing_config_keeps_its_text_and_becomes_private() {
    use std::os::unix::fs::PermissionsExt;
    let original = "# my settings\nsecrets: file   # headless box\n\nplatforms:\n  tiktok:\n    enabled: true\n";
    let f = fixture(Some(original));
    std::fs::set_permissions(&f.path, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    write_stored_secret(&f.path, "tiktok/token", Some(&Secret::new("one"))).expect("write");
    assert_eq!(
        read(&f.path),
        format!("{original}\n{STORED_SECRETS_COMMENT}\nstored_secrets:\n  tiktok/token: \"one\"\n")
    );
    assert_eq!(mode(&f.path), 0o600);

    // The platform section still loads; stored_secrets is keryx's, not a secret in the config.
    let config = Config::load(&f.path, &["tiktok"]).expect("loads");
    assert!(config.is_enabled("tiktok"));

    // Later edits of settings keep it private and keep the managed block last.
    set_platform_key(&f.path, "youtube", "enabled", "false").expect("edit");
    set_platform_key(&f.path, "tiktok", "privacy", "SELF_ONLY").expect("edit");
    assert_eq!(mode(&f.path), 0o600);
    assert_eq!(
        read(&f.path),
        format!(
            "# my settings\nsecrets: file   # headless box\n\nplatforms:\n  tiktok:\n    enabled: true\n    privacy: SELF_ONLY\n  youtube:\n    enabled: false\n\n{STORED_SECRETS_COMMENT}\nstored_secrets:\n  tiktok/token: \"one\"\n"
        )
    );
}

#[test]
fn platforms_are_added_above_the_managed_block() {
    let f = fixture(None);
    write_stored_secret(&f.path, "tiktok/client_secret", Some(&Secret::new("cs"))).expect("write");
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("edit");
    assert_eq!(
        read(&f.path),
        format!(
            "platforms:\n  tiktok:\n    enabled: true\n\n{STORED_SECRETS_COMMENT}\nstored_secrets:\n  tiktok/client_secret: \"cs\"\n"
        )
    );
    assert_eq!(get(&f.path, "tiktok/client_secret").as_deref(), Some("cs"));
}

#[test]
fn set_replace_and_remove_round_trip_to_the_original_text() {
    let original = "secrets: file\nplatforms:\n  tiktok:\n    enabled: true   # yes\n";
    let f = fixture(Some(original));
    write_stored_secret(&f.path, "tiktok/token", Some(&Secret::new("a"))).expect("set");
    write_stored_secret(&f.path, "tiktok/client_secret", Some(&Secret::new("b"))).expect("set");
    write_stored_secret(&f.path, "tiktok/token", Some(&Secret::new("a2"))).expect("replace");
    assert_eq!(
        read(&f.path),
        format!(
            "{original}\n{STORED_SECRETS_COMMENT}\nstored_secrets:\n  tiktok/token: \"a2\"\n  tiktok/client_secret: \"b\"\n"
        )
    );
    write_stored_secret(&f.path, "tiktok/token", None).expect("remove one");
    assert_eq!(get(&f.path, "tiktok/token"), None);
    assert_eq!(get(&f.path, "tiktok/client_secret").as_deref(), Some("b"));
    #[cfg(unix)]
    assert_eq!(mode(&f.path), 0o600, "still holds a secret");

    write_stored_secret(&f.path, "tiktok/client_secret", None).expect("remove the last");
    assert_eq!(read(&f.path), original);
    // Removing what is not there changes nothing and creates nothing.
    write_stored_secret(&f.path, "tiktok/client_secret", None).expect("remove again");
    assert_eq!(read(&f.path), original);
    let absent = f.path.with_file_name("absent.yaml");
    write_stored_secret(&absent, "tiktok/token", None).expect("remove from a missing file");
    assert!(!absent.exists());
    let absent_dir = f.path.with_file_name("no-such-dir").join("config.yaml");
    write_stored_secret(&absent_dir, "tiktok/token", None).expect("remove from a missing dir");
    assert!(
        !absent_dir.parent().expect("parent").exists(),
        "created a directory for nothing"
    );
}

#[test]
fn a_hand_written_stored_block_is_edited_in_its_own_style() {
    let f = fixture(Some("stored_secrets:   # mine\n    a/b: 'x'   # keep\n"));
    write_stored_secret(&f.path, "a/b", Some(&Secret::new("y"))).expect("replace");
    write_stored_secret(&f.path, "c/d", Some(&Secret::new("z"))).expect("add");
    assert_eq!(
        read(&f.path),
        "stored_secrets:   # mine\n    a/b: \"y\"   # keep\n    c/d: \"z\"\n"
    );
}

#[test]
fn odd_stored_blocks_are_refused_without_damage() {
    for text in [
        "stored_secrets: {a/b: x}\n",
        "stored_secrets:\n  a/b: |\n    multi\n",
        "stored_secrets: [1]\n",
        "stored_secrets:\n  a/b: \"x\"\n  a/b: \"y\"\n",
    ] {
        let f = fixture(Some(text));
        let error = write_stored_secret(&f.path, "a/b", Some(&Secret::new("s3cr3t")))
            .expect_err(&format!("{text:?} should be refused"));
        assert!(
            !format!("{error} {error:?}").contains("s3cr3t"),
            "the value leaked: {error:?}"
        );
        assert_eq!(read(&f.path), text, "the file was changed");
    }
}

#[test]
fn reading_reports_broken_files_with_a_line() {
    let f = fixture(Some("secrets: file\nstored_secrets:\n  a/b: [x\n"));
    let error = read_stored_secret(&f.path, "a/b").expect_err("malformed");
    assert!(
        error
            .message()
            .starts_with(&format!("{}:4:1: ", f.path.display())),
        "{error}"
    );
    // A problem elsewhere in the file does not hide stored secrets.
    let f = fixture(Some(
        "platforms:\n  unknown-platform:\n    client_secret: x\nstored_secrets:\n  a/b: \"v\"\n",
    ));
    assert_eq!(get(&f.path, "a/b").as_deref(), Some("v"));
    assert!(read_stored_secret(&f.path, "bad name").is_err());
}

#[test]
fn concurrent_writers_do_not_lose_secrets() {
    let f = fixture(Some("secrets: file\n"));
    std::thread::scope(|scope| {
        for i in 0..8 {
            let path = f.path.clone();
            scope.spawn(move || {
                let secret = Secret::new(format!("value-{i}"));
                write_stored_secret(&path, &format!("p{i}/token"), Some(&secret)).expect("write");
            });
        }
    });
    for i in 0..8 {
        assert_eq!(
            get(&f.path, &format!("p{i}/token")),
            Some(format!("value-{i}")),
            "p{i} lost"
        );
    }
}
