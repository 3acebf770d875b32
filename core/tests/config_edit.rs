//! `set_platform_key`: edits on disk that keep comments, blank lines, order and mode, and
//! refuse rather than damage a file they do not understand.

use std::path::{Path, PathBuf};

use keryx_core::ErrorKind;
use keryx_core::config::{Config, quote_yaml_string, set_platform_key};
use serde_yaml::Value;

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

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

const RICH: &str = "\
# keryx config
secrets: auto            # auto | keychain | file

platforms:
  # TikTok: sandbox app
  tiktok:
    enabled: false   # flipped by keryx auth
    client_key: sbawexample
    privacy: SELF_ONLY

# YouTube comes later
  youtube:
    enabled: true
";

#[test]
fn replacing_a_value_keeps_everything_else_byte_for_byte() {
    let f = fixture(Some(RICH));
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("edit");
    assert_eq!(
        read(&f.path),
        RICH.replace("enabled: false   # flipped", "enabled: true   # flipped")
    );
    set_platform_key(&f.path, "tiktok", "privacy", "PUBLIC_TO_EVERYONE").expect("edit");
    assert!(read(&f.path).contains("\n    privacy: PUBLIC_TO_EVERYONE\n\n# YouTube comes later\n"));
    // Setting the same value again changes nothing.
    let before = read(&f.path);
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("no-op edit");
    assert_eq!(read(&f.path), before);
}

#[test]
fn new_keys_go_at_the_end_of_their_section_before_comments_for_what_follows() {
    let f = fixture(Some(RICH));
    set_platform_key(
        &f.path,
        "tiktok",
        "base_url",
        &quote_yaml_string("http://127.0.0.1:7878"),
    )
    .expect("edit");
    set_platform_key(&f.path, "youtube", "privacy", "private").expect("edit");
    set_platform_key(&f.path, "instagram", "enabled", "false").expect("edit");
    assert_eq!(
        read(&f.path),
        "\
# keryx config
secrets: auto            # auto | keychain | file

platforms:
  # TikTok: sandbox app
  tiktok:
    enabled: false   # flipped by keryx auth
    client_key: sbawexample
    privacy: SELF_ONLY
    base_url: \"http://127.0.0.1:7878\"

# YouTube comes later
  youtube:
    enabled: true
    privacy: private
  instagram:
    enabled: false
"
    );
    let config = Config::load(&f.path, &["tiktok", "youtube", "instagram"]).expect("still valid");
    assert!(config.is_enabled("youtube"));
}

#[test]
fn a_missing_file_is_created_private_with_the_section() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new").join("dir").join("config.yaml");
    set_platform_key(&path, "tiktok", "enabled", "true").expect("create");
    assert_eq!(read(&path), "platforms:\n  tiktok:\n    enabled: true\n");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let config = Config::load(&path, &["tiktok"]).expect("valid");
    assert!(config.is_enabled("tiktok"));
}

#[test]
fn sections_are_created_with_the_files_own_indentation() {
    let f = fixture(Some(
        "secrets: file   # no keychain here\nother:\n    nested: 1\n",
    ));
    set_platform_key(&f.path, "youtube", "enabled", "true").expect("edit");
    assert_eq!(
        read(&f.path),
        "secrets: file   # no keychain here\nother:\n    nested: 1\nplatforms:\n    youtube:\n        enabled: true\n"
    );

    let f = fixture(Some("platforms:\n    tiktok:\n        enabled: true\n"));
    set_platform_key(&f.path, "youtube", "enabled", "false").expect("edit");
    set_platform_key(&f.path, "tiktok", "privacy", "SELF_ONLY").expect("edit");
    assert_eq!(
        read(&f.path),
        "platforms:\n    tiktok:\n        enabled: true\n        privacy: SELF_ONLY\n    youtube:\n        enabled: false\n"
    );
}

#[test]
fn empty_sections_and_values_are_filled_in() {
    let f = fixture(Some(
        "platforms:   # mine\n  tiktok:\n    enabled:   # later\n",
    ));
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("edit");
    assert_eq!(
        read(&f.path),
        "platforms:   # mine\n  tiktok:\n    enabled: true   # later\n"
    );

    let f = fixture(Some("platforms:\n  tiktok:\n"));
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("edit");
    assert_eq!(read(&f.path), "platforms:\n  tiktok:\n    enabled: true\n");

    let f = fixture(Some("platforms:\n"));
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("edit");
    assert_eq!(read(&f.path), "platforms:\n  tiktok:\n    enabled: true\n");
}

#[test]
fn quoted_values_and_trailing_comments_survive() {
    let f = fixture(Some(
        "platforms:\n  youtube:\n    client_id: \"old # not a comment\"  # from the console\n    title: 'it''s'\n",
    ));
    let id = quote_yaml_string("123-abc.apps.googleusercontent.com");
    set_platform_key(&f.path, "youtube", "client_id", &id).expect("edit");
    set_platform_key(
        &f.path,
        "youtube",
        "title",
        &quote_yaml_string("new: \"title\" # x"),
    )
    .expect("edit");
    let text = read(&f.path);
    assert_eq!(
        text,
        "platforms:\n  youtube:\n    client_id: \"123-abc.apps.googleusercontent.com\"  # from the console\n    title: \"new: \\\"title\\\" # x\"\n"
    );
    let value: Value = serde_yaml::from_str(&text).expect("yaml");
    assert_eq!(
        value["platforms"]["youtube"]["title"],
        Value::String("new: \"title\" # x".into())
    );
}

#[test]
fn crlf_files_stay_crlf() {
    let f = fixture(Some("platforms:\r\n  tiktok:\r\n    enabled: false\r\n"));
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("edit");
    set_platform_key(&f.path, "tiktok", "privacy", "SELF_ONLY").expect("edit");
    assert_eq!(
        read(&f.path),
        "platforms:\r\n  tiktok:\r\n    enabled: true\r\n    privacy: SELF_ONLY\r\n"
    );
}

#[cfg(unix)]
#[test]
fn the_files_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture(Some("platforms:\n  tiktok:\n    enabled: false\n"));
    std::fs::set_permissions(&f.path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    set_platform_key(&f.path, "tiktok", "enabled", "true").expect("edit");
    assert_eq!(mode(&f.path), 0o640);
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_stays_a_symlink() {
    let f = fixture(Some("platforms:\n  tiktok:\n    enabled: false\n"));
    let link = f.path.with_file_name("link.yaml");
    std::os::unix::fs::symlink(&f.path, &link).expect("symlink");
    set_platform_key(&link, "tiktok", "enabled", "true").expect("edit");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(&f.path), "platforms:\n  tiktok:\n    enabled: true\n");
}

/// Files a line edit cannot change safely: each edit must fail and leave the bytes alone.
#[test]
fn odd_files_are_refused_and_left_untouched() {
    let cases = [
        ("flow mapping", "platforms: {tiktok: {enabled: false}}\n"),
        ("flow section", "platforms:\n  tiktok: {enabled: false}\n"),
        (
            "anchored section",
            "base: &b\n  enabled: false\nplatforms:\n  tiktok: *b\n",
        ),
        (
            "anchor on the section",
            "platforms:\n  tiktok: &t\n    enabled: false\n",
        ),
        (
            "block scalar value",
            "platforms:\n  tiktok:\n    enabled: |\n      false\n",
        ),
        (
            "multi-line plain value",
            "platforms:\n  tiktok:\n    enabled: fa\n      lse\n",
        ),
        (
            "value is a mapping",
            "platforms:\n  tiktok:\n    enabled:\n      deep: 1\n",
        ),
        ("platforms is a list", "platforms:\n- tiktok\n"),
        (
            "quoted key already there",
            "platforms:\n  \"tiktok\":\n    enabled: false\n",
        ),
        (
            "tagged value",
            "platforms:\n  tiktok:\n    enabled: !!bool false\n",
        ),
        (
            "two documents",
            "platforms:\n  tiktok:\n    enabled: false\n---\nx: 1\n",
        ),
        ("not YAML", "platforms:\n  tiktok:\n    enabled: [false\n"),
        ("a list at the top", "- a\n- b\n"),
    ];
    for (what, text) in cases {
        let f = fixture(Some(text));
        let error = set_platform_key(&f.path, "tiktok", "enabled", "true")
            .expect_err(&format!("{what}: should be refused"));
        assert_eq!(error.kind(), ErrorKind::Input, "{what}");
        assert!(
            error.message().contains(&f.path.display().to_string()),
            "{what}: {error}"
        );
        assert!(error.hint().is_some(), "{what}");
        assert_eq!(read(&f.path), text, "{what}: the file was changed");
    }
}

/// Whatever block-style file it starts from, an edit reads back as the old document plus the
/// change, with every comment kept.
#[test]
fn successful_edits_change_exactly_one_value() {
    let starts = [
        "",
        "# only a comment\n",
        "secrets: auto\n",
        "secrets: auto",
        "platforms:\n  youtube:\n    tags:\n    - a\n    - b\n",
        "platforms:\n  tiktok:\n    nested:\n      deep: 1\n      # deep comment\n  # comment for youtube\n  youtube: {}\n",
        "platforms:\n  tiktok:\n    description: |\n      line one\n      # not a comment\n",
        "\u{feff}secrets: file\n",
        "platforms:\n\n  tiktok:\n\n    privacy: SELF_ONLY\n\n\n",
        "x: &a 1\ny: *a\nplatforms:\n  tiktok:\n    enabled: false\n",
    ];
    for start in starts {
        let f = fixture(Some(start));
        let before: Value = serde_yaml::from_str(start).expect("valid start");
        // All of these are plain block YAML, so every edit must go through.
        match set_platform_key(&f.path, "tiktok", "enabled", "true") {
            Ok(()) => {
                let after_text = read(&f.path);
                assert_eq!(
                    after_text.starts_with('\u{feff}'),
                    start.starts_with('\u{feff}'),
                    "BOM"
                );
                // serde_yaml takes a BOM followed by two keys for two documents.
                let after: Value = serde_yaml::from_str(after_text.trim_start_matches('\u{feff}'))
                    .expect("still YAML");
                let mut expected = match before {
                    Value::Mapping(m) => m,
                    _ => serde_yaml::Mapping::new(),
                };
                let platforms = expected
                    .entry("platforms".into())
                    .or_insert(Value::Mapping(Default::default()));
                if platforms.is_null() {
                    *platforms = Value::Mapping(Default::default());
                }
                let tiktok = platforms
                    .as_mapping_mut()
                    .expect("mapping")
                    .entry("tiktok".into())
                    .or_insert(Value::Mapping(Default::default()));
                if tiktok.is_null() {
                    *tiktok = Value::Mapping(Default::default());
                }
                tiktok
                    .as_mapping_mut()
                    .expect("mapping")
                    .insert("enabled".into(), true.into());
                assert_eq!(after, Value::Mapping(expected), "{start:?}");
                for line in start.lines().filter(|l| l.trim_start().starts_with('#')) {
                    assert!(read(&f.path).contains(line), "{start:?}: lost {line:?}");
                }
            }
            Err(error) => panic!("{start:?}: refused: {error} ({:?})", error.hint()),
        }
    }
}

#[test]
fn secret_keys_and_bad_arguments_are_refused() {
    let f = fixture(Some("platforms:\n  tiktok:\n    enabled: false\n"));
    for key in ["client_secret", "access_token", "password"] {
        let error = set_platform_key(&f.path, "tiktok", key, "x").expect_err(key);
        assert!(
            error.message().contains("never go in the config file"),
            "{error}"
        );
    }
    for scalar in [
        "",
        "a: b",
        "[1]",
        "{}",
        "x # comment",
        "\"open",
        "a\nb",
        "- x",
        "&a x",
    ] {
        let error = set_platform_key(&f.path, "tiktok", "privacy", scalar).expect_err(scalar);
        assert!(
            error.message().contains("not a single YAML scalar"),
            "{scalar:?}: {error}"
        );
    }
    for (platform, key) in [
        ("tik tok", "enabled"),
        ("tiktok", "a:b"),
        ("", "x"),
        ("tiktok", "#x"),
    ] {
        assert!(
            set_platform_key(&f.path, platform, key, "true").is_err(),
            "{platform:?} {key:?}"
        );
    }
    assert_eq!(read(&f.path), "platforms:\n  tiktok:\n    enabled: false\n");
}

/// Edits from many threads (each its own open of the lock file) must not lose one another.
#[test]
fn concurrent_edits_are_serialised() {
    let f = fixture(Some(
        "# shared\nplatforms:\n  tiktok:\n    enabled: false\n",
    ));
    std::thread::scope(|scope| {
        for i in 0..8 {
            let path = f.path.clone();
            scope.spawn(move || {
                set_platform_key(&path, "tiktok", &format!("key{i}"), &i.to_string())
                    .expect("edit");
            });
        }
    });
    let value: Value = serde_yaml::from_str(&read(&f.path)).expect("yaml");
    for i in 0..8 {
        assert_eq!(
            value["platforms"]["tiktok"][format!("key{i}").as_str()],
            Value::from(i),
            "key{i} lost"
        );
    }
    assert!(read(&f.path).starts_with("# shared\n"));
}
