//! Loading the config: defaults, typed sections, and errors that say file:line:column, key,
//! what is allowed and how to fix it.

use std::path::{Path, PathBuf};

use keryx_core::config::{Config, SecretsMode};
use keryx_core::{Error, ErrorKind};
use serde::Deserialize;

const KNOWN: &[&str] = &["tiktok", "youtube"];

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct TikTok {
    #[serde(default)]
    enabled: bool,
    client_key: String,
    #[serde(default)]
    privacy: Privacy,
    base_url: Option<String>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
enum Privacy {
    #[default]
    #[serde(rename = "SELF_ONLY")]
    SelfOnly,
    #[serde(rename = "PUBLIC_TO_EVERYONE")]
    Public,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct YouTube {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    tags: Vec<String>,
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn write(text: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, text).expect("write config");
    Fixture { _dir: dir, path }
}

fn load(text: &str) -> (Fixture, Result<Config, Error>) {
    let fixture = write(text);
    let result = Config::load(&fixture.path, KNOWN);
    (fixture, result)
}

/// The error for `text`, checked to be an input error (exit 2) that starts with `file:<at>: `.
fn load_error(text: &str, at: &str) -> Error {
    let (fixture, result) = load(text);
    let error = result.expect_err("the config should be refused");
    assert_input_error_at(&error, &fixture.path, at);
    error
}

fn assert_input_error_at(error: &Error, path: &Path, at: &str) {
    assert_eq!(error.kind(), ErrorKind::Input, "{error:?}");
    assert_eq!(error.exit_code(), 2);
    let prefix = format!("{}:{at}: ", path.display());
    assert!(
        error.message().starts_with(&prefix),
        "expected {prefix:?} at the start of {:?}",
        error.message()
    );
    assert!(
        error.hint().is_some_and(|h| !h.is_empty()),
        "no hint: {error:?}"
    );
}

const EXAMPLE: &str = "\
secrets: auto            # auto | keychain | file
platforms:
  tiktok:
    enabled: false
    client_key: sbawexample
    privacy: SELF_ONLY
    base_url: http://127.0.0.1:7878
";

#[test]
fn a_missing_file_is_an_empty_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.yaml");
    let config = Config::load(&path, KNOWN).expect("a missing file loads");
    assert!(!config.exists());
    assert_eq!(config.path(), path);
    assert_eq!(config.secrets_mode(), SecretsMode::Auto);
    assert!(!config.is_enabled("tiktok"));
    assert!(
        config
            .section::<TikTok>("tiktok")
            .expect("no section")
            .is_none()
    );
}

#[test]
fn empty_and_comment_only_files_are_empty_configs() {
    for text in ["", "\n\n", "# nothing yet\n", "---\n"] {
        let (_f, config) = load(text);
        let config = config.expect("loads");
        assert_eq!(config.secrets_mode(), SecretsMode::Auto);
        assert!(!config.has_section("tiktok"));
    }
}

#[test]
fn the_example_loads_and_types_its_section() {
    let (fixture, config) = load(EXAMPLE);
    let config = config.expect("loads");
    assert!(config.exists());
    assert_eq!(config.path(), fixture.path);
    assert_eq!(config.secrets_mode(), SecretsMode::Auto);
    assert!(!config.is_enabled("tiktok"));
    assert!(config.has_section("tiktok"));
    assert!(!config.has_section("youtube"));
    let tiktok: TikTok = config.section("tiktok").expect("valid").expect("present");
    assert_eq!(
        tiktok,
        TikTok {
            enabled: false,
            client_key: "sbawexample".into(),
            privacy: Privacy::SelfOnly,
            base_url: Some("http://127.0.0.1:7878".into()),
        }
    );
    assert!(
        config
            .section::<YouTube>("youtube")
            .expect("absent is fine")
            .is_none()
    );
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let (_f, config) = load("\u{feff}secrets: file\nplatforms:\n  youtube:\n    enabled: true\n");
    let config = config.expect("loads");
    assert_eq!(config.secrets_mode(), SecretsMode::File);
    assert!(config.is_enabled("youtube"));
}

#[test]
fn secrets_modes_and_enabled_flags_are_read() {
    for (word, mode) in [
        ("auto", SecretsMode::Auto),
        ("keychain", SecretsMode::Keychain),
        ("file", SecretsMode::File),
    ] {
        let text =
            format!("secrets: {word}\nplatforms:\n  youtube:\n    enabled: true\n  tiktok:\n");
        let (_f, config) = load(&text);
        let config = config.expect("loads");
        assert_eq!(config.secrets_mode(), mode);
        assert!(config.is_enabled("youtube"));
        assert!(!config.is_enabled("tiktok"));
        // `tiktok:` with nothing under it is an empty section, not an absent one.
        assert!(config.has_section("tiktok"));
        let youtube: YouTube = config.section("youtube").expect("valid").expect("present");
        assert!(youtube.enabled);
    }
}

#[test]
fn an_empty_section_is_an_empty_mapping_for_the_platform() {
    let (fixture, config) = load("platforms:\n  youtube:\n  tiktok:   # later\n");
    let config = config.expect("loads");
    let youtube: YouTube = config
        .section("youtube")
        .expect("defaults")
        .expect("present");
    assert_eq!(youtube, YouTube::default());
    // A required key missing from an empty section still says where.
    let error = config
        .section::<TikTok>("tiktok")
        .expect_err("client_key is required");
    assert_input_error_at(&error, &fixture.path, "3:3");
    assert!(
        error
            .message()
            .contains("platforms.tiktok: missing key \"client_key\""),
        "{error}"
    );
}

#[test]
fn malformed_yaml_names_the_line() {
    let error = load_error(
        "secrets: auto\nplatforms:\n  tiktok:\n    enabled: [true\n",
        "5:1",
    );
    assert!(error.message().contains("flow sequence"), "{error}");
    let error = load_error("secrets: auto\n  platforms: x\n", "2:12");
    assert!(
        error.message().contains("mapping values are not allowed"),
        "{error}"
    );
    let error = load_error("platforms:\n\ttiktok: {}\n", "2:1");
    assert!(
        error.message().contains("cannot start any token"),
        "{error}"
    );
}

#[test]
fn an_unknown_top_level_key_says_what_is_allowed() {
    let error = load_error("secrets: auto\nplatfroms:\n  tiktok: {}\n", "2:1");
    assert!(
        error
            .message()
            .ends_with("unknown key \"platfroms\"; allowed: secrets, platforms"),
        "{error}"
    );
}

#[test]
fn an_unknown_platform_says_which_are_registered() {
    let error = load_error(
        "platforms:\n  tiktok: {}\n  tiktk:\n    enabled: true\n",
        "3:3",
    );
    assert!(
        error.message().ends_with(
            "platforms: unknown platform \"tiktk\"; registered platforms: tiktok, youtube"
        ),
        "{error}"
    );
}

#[test]
fn wrong_types_and_values_name_the_key() {
    let error = load_error("platforms:\n  tiktok:\n    enabled: nope\n", "3:14");
    assert!(
        error.message().ends_with(
            "platforms.tiktok.enabled: invalid type: string \"nope\", expected a boolean"
        ),
        "{error}"
    );
    let error = load_error("\nsecrets: keyring\n", "2:10");
    assert!(
        error
            .message()
            .ends_with("secrets: unknown value \"keyring\"; allowed: auto, keychain, file"),
        "{error}"
    );
    let error = load_error("platforms: [tiktok]\n", "1:12");
    assert!(
        error
            .message()
            .contains("platforms: invalid type: sequence"),
        "{error}"
    );
    let error = load_error("platforms:\n  tiktok: yes\n", "2:11");
    assert!(
        error
            .message()
            .contains("platforms.tiktok: invalid type: string \"yes\""),
        "{error}"
    );
    let error = load_error("just words\n", "1:1");
    assert!(
        error
            .message()
            .contains("invalid type: string \"just words\""),
        "{error}"
    );
}

#[test]
fn a_key_written_twice_is_refused_at_the_second() {
    let error = load_error(
        "platforms:\n  tiktok:\n    enabled: true\n  youtube: {}\n  tiktok: {}\n",
        "5:3",
    );
    assert!(
        error.message().contains("key \"tiktok\" appears twice"),
        "{error}"
    );
    let error = load_error("secrets: auto\nsecrets: file\n", "2:1");
    assert!(
        error.message().contains("key \"secrets\" appears twice"),
        "{error}"
    );
}

#[test]
fn a_client_secret_in_the_config_is_refused_with_where_it_belongs() {
    let text = "platforms:\n  tiktok:\n    enabled: true\n    client_key: abc\n    client_secret: shh-do-not-print\n";
    let error = load_error(text, "5:5");
    assert!(
        error
            .message()
            .contains("platforms.tiktok: \"client_secret\" is a secret"),
        "{error}"
    );
    assert!(
        error.message().contains("never go in the config file"),
        "{error}"
    );
    assert!(
        !format!("{error} {error:?}").contains("shh-do-not-print"),
        "the value leaked: {error:?}"
    );
    let hint = error.hint().unwrap_or_default();
    assert!(hint.contains("TIKTOK_CLIENT_SECRET"), "{hint}");
    assert!(hint.contains("keryx auth tiktok --store-secret"), "{hint}");

    for key in ["secret", "password", "app_password", "api_secret"] {
        let text = format!("platforms:\n  youtube:\n    {key}: x\n");
        let error = load_error(&text, "3:5");
        assert!(
            error
                .hint()
                .unwrap_or_default()
                .contains("YOUTUBE_CLIENT_SECRET"),
            "{key}: {error:?}"
        );
    }
}

#[test]
fn a_token_in_the_config_is_refused_and_points_at_keryx_auth() {
    for key in ["access_token", "refresh_token", "Token", "tokens"] {
        let text =
            format!("secrets: file\nplatforms:\n  tiktok:\n    client_key: a\n    {key}: x\n");
        let error = load_error(&text, "5:5");
        assert!(
            error.message().contains("looks like a token"),
            "{key}: {error}"
        );
        assert!(
            error
                .hint()
                .unwrap_or_default()
                .contains("keryx auth tiktok"),
            "{key}: {error:?}"
        );
    }
}

#[test]
fn stored_secrets_are_not_refused_and_never_printed() {
    let text = "secrets: file\nplatforms:\n  tiktok:\n    enabled: true\n\n\
                # Managed by keryx (secrets: file). Do not edit or share.\n\
                stored_secrets:\n  tiktok/token: \"{\\\"refresh_token\\\": \\\"rt-very-secret\\\"}\"\n  \
                tiktok/client_secret: \"cs-very-secret\"\n";
    let (_f, config) = load(text);
    let config = config.expect("stored secrets belong to keryx");
    assert!(config.is_enabled("tiktok"));
    let debug = format!("{config:?}");
    assert!(!debug.contains("very-secret"), "{debug}");
}

#[test]
fn stored_secrets_must_be_strings() {
    let error = load_error("stored_secrets:\n  tiktok/token:\n    nested: 1\n", "3:5");
    assert!(
        error
            .message()
            .contains("stored_secrets.tiktok/token: invalid type: map"),
        "{error}"
    );
}

#[test]
fn section_errors_keep_their_line_with_other_sections_around() {
    let text = "\
secrets: auto
platforms:
  youtube:
    enabled: true
    tags: [a, b]
  tiktok:
    enabled: false
    client_key: sbawexample
    privcy: SELF_ONLY
";
    let (fixture, config) = load(text);
    let config = config.expect("the common keys are fine");
    let youtube: YouTube = config.section("youtube").expect("valid").expect("present");
    assert_eq!(youtube.tags, ["a", "b"]);
    let error = config.section::<TikTok>("tiktok").expect_err("typo");
    assert_input_error_at(&error, &fixture.path, "9:5");
    assert!(
        error.message().ends_with(
            "platforms.tiktok: unknown key \"privcy\"; allowed: enabled, client_key, privacy, base_url"
        ),
        "{error}"
    );
}

#[test]
fn section_value_errors_name_the_nested_key() {
    let text = "platforms:\n  tiktok:\n    client_key: k\n    privacy: PUBLIC\n";
    let (fixture, config) = load(text);
    let error = config
        .expect("loads")
        .section::<TikTok>("tiktok")
        .expect_err("bad privacy");
    assert_input_error_at(&error, &fixture.path, "4:14");
    assert!(
        error.message().ends_with(
            "platforms.tiktok.privacy: unknown value \"PUBLIC\"; allowed: SELF_ONLY, PUBLIC_TO_EVERYONE"
        ),
        "{error}"
    );
    let text = "platforms:\n  tiktok:\n    client_key: [k]\n";
    let (fixture, config) = load(text);
    let error = config
        .expect("loads")
        .section::<TikTok>("tiktok")
        .expect_err("bad type");
    assert_input_error_at(&error, &fixture.path, "3:17");
    assert!(
        error
            .message()
            .contains("platforms.tiktok.client_key: invalid type: sequence"),
        "{error}"
    );
}

#[test]
fn parse_reports_the_given_path() {
    let path = Path::new("/somewhere/keryx.yaml");
    let error = Config::parse(path, "platforms:\n  nope: {}\n", &[]).expect_err("unknown platform");
    assert!(
        error.message().starts_with("/somewhere/keryx.yaml:2:3: platforms: unknown platform \"nope\"; registered platforms: none"),
        "{error}"
    );
}

#[test]
fn unreadable_files_say_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = Config::load(dir.path(), KNOWN).expect_err("a directory is not a config file");
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(
        error.message().contains(&dir.path().display().to_string()),
        "{error}"
    );

    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"secrets: auto # caf\xe9\n").expect("write");
    let error = Config::load(&path, KNOWN).expect_err("not UTF-8");
    assert!(error.message().contains("not UTF-8"), "{error}");
    assert!(error.hint().unwrap_or_default().contains("UTF-8"));
}
