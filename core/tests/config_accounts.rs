//! `accounts:` in a platform's section: which accounts exist and are enabled, the keys an
//! account may override, errors at their line, and the edits `keryx auth --account` makes.

use std::path::Path;

use keryx_core::config::{Config, set_account_key, set_platform_key};
use serde::Deserialize;

const KNOWN: &[&str] = &["tiktok", "youtube"];

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct YouTube {
    #[serde(default)]
    enabled: bool,
    client_id: String,
    #[serde(default = "private")]
    privacy: String,
    category: Option<String>,
}

fn private() -> String {
    "private".into()
}

const PER_ACCOUNT: &[&str] = &["privacy", "category"];

fn parse(text: &str) -> keryx_core::Result<Config> {
    Config::parse(Path::new("/c/config.yaml"), text, KNOWN)
}

const STUDIO: &str = "\
platforms:
  youtube:
    client_id: app.apps.googleusercontent.com
    privacy: private
    accounts:
      main:
        enabled: true
        privacy: public
      shorts:
        enabled: true
        category: \"22\"
      archive:
        enabled: false
      quiet: {}
";

#[test]
fn accounts_are_listed_and_enabled_each_on_its_own() {
    let config = parse(STUDIO).expect("valid");
    assert!(config.has_accounts("youtube"));
    assert_eq!(
        config.accounts("youtube"),
        ["archive", "main", "quiet", "shorts"]
    );
    assert!(config.is_account_enabled("youtube", "main"));
    assert!(config.is_account_enabled("youtube", "shorts"));
    assert!(!config.is_account_enabled("youtube", "archive"));
    assert!(
        !config.is_account_enabled("youtube", "quiet"),
        "an account without `enabled` is off"
    );
    assert!(!config.is_account_enabled("youtube", "default"));
    assert!(config.is_enabled("youtube"));
    // The platform's own `enabled: false` turns every account off.
    let off = parse(&STUDIO.replace(
        "    privacy: private\n",
        "    privacy: private\n    enabled: false\n",
    ))
    .expect("valid");
    assert!(!off.is_account_enabled("youtube", "main"));
    assert!(!off.is_enabled("youtube"));
}

#[test]
fn without_accounts_there_is_one_default_account() {
    let config = parse(
        "platforms:\n  youtube:\n    enabled: true\n    client_id: a.apps.googleusercontent.com\n",
    )
    .expect("valid");
    assert!(!config.has_accounts("youtube"));
    assert_eq!(config.accounts("youtube"), ["default"]);
    assert!(config.is_account_enabled("youtube", "default"));
    assert!(!config.is_account_enabled("youtube", "main"));
    let section: YouTube = config
        .account_section("youtube", "default", PER_ACCOUNT)
        .expect("valid")
        .expect("present");
    assert_eq!(section.privacy, "private");
}

#[test]
fn an_account_overrides_its_keys_and_the_platform_section_ignores_accounts() {
    let config = parse(STUDIO).expect("valid");
    let platform: YouTube = config.section("youtube").expect("valid").expect("present");
    assert_eq!(platform.privacy, "private");
    let main: YouTube = config
        .account_section("youtube", "main", PER_ACCOUNT)
        .expect("valid")
        .expect("present");
    assert_eq!(main.privacy, "public");
    assert_eq!(main.client_id, "app.apps.googleusercontent.com");
    let shorts: YouTube = config
        .account_section("youtube", "shorts", PER_ACCOUNT)
        .expect("valid")
        .expect("present");
    assert_eq!(shorts.privacy, "private");
    assert_eq!(shorts.category.as_deref(), Some("22"));
    // An account `keryx auth --account` is about to add sees the platform's settings.
    let new: YouTube = config
        .account_section("youtube", "new", PER_ACCOUNT)
        .expect("valid")
        .expect("present");
    assert_eq!(new, platform);
}

#[test]
fn a_shared_key_set_per_account_is_an_error_at_its_line() {
    let text = STUDIO.replace(
        "        category: \"22\"\n",
        "        client_id: other.apps.googleusercontent.com\n",
    );
    let config = parse(&text).expect("the file itself is fine");
    let error = config
        .account_section::<YouTube>("youtube", "shorts", PER_ACCOUNT)
        .expect_err("client_id is the app's");
    let shown = error.to_string();
    assert!(shown.starts_with("/c/config.yaml:11:"), "{shown}");
    assert!(
        shown.contains("\"client_id\" cannot be set per account"),
        "{shown}"
    );
    assert!(shown.contains("privacy, category"), "{shown}");
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn a_bad_value_in_an_account_names_the_account() {
    let text = STUDIO.replace("        privacy: public\n", "        privacy: [public]\n");
    let config = parse(&text).expect("valid");
    let error = config
        .account_section::<YouTube>("youtube", "main", PER_ACCOUNT)
        .expect_err("not a string");
    let shown = error.to_string();
    assert!(shown.contains("platforms.youtube.accounts.main"), "{shown}");
    assert!(shown.starts_with("/c/config.yaml:6:"), "{shown}");
}

#[test]
fn account_names_nesting_and_secrets_are_checked_at_load() {
    let bad_name = parse(&STUDIO.replace("      shorts:\n", "      Shorts_2:\n")).unwrap_err();
    assert!(
        bad_name
            .to_string()
            .contains("\"Shorts_2\" is not a valid account name"),
        "{bad_name}"
    );
    assert!(bad_name.to_string().contains(":9:"), "{bad_name}");
    let nested = parse(&STUDIO.replace(
        "        enabled: false\n",
        "        enabled: false\n        accounts: {}\n",
    ))
    .unwrap_err();
    assert!(
        nested.to_string().contains("cannot have accounts"),
        "{nested}"
    );
    let secret = parse(&STUDIO.replace(
        "        privacy: public\n",
        "        privacy: public\n        refresh_token: x\n",
    ))
    .unwrap_err();
    assert!(
        secret.to_string().contains("tokens never go in the config"),
        "{secret}"
    );
    let enabled = parse(&STUDIO.replace(
        "        enabled: true\n        privacy",
        "        enabled: yes please\n        privacy",
    ))
    .unwrap_err();
    assert!(enabled.to_string().contains(":7:"), "{enabled}");
}

#[test]
fn adding_an_account_keeps_the_file_and_makes_the_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let original = "# mine\nplatforms:\n  youtube:\n    client_id: a.apps.googleusercontent.com  # the app\n    enabled: true\n";
    std::fs::write(&path, original).unwrap();
    set_account_key(&path, "youtube", "default", "enabled", "true").unwrap();
    set_account_key(&path, "youtube", "shorts", "enabled", "true").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(original), "{text}");
    assert!(
        text.ends_with(
            "    accounts:\n      default:\n        enabled: true\n      shorts:\n        enabled: true\n"
        ),
        "{text}"
    );
    set_account_key(&path, "youtube", "shorts", "enabled", "false").unwrap();
    let config = Config::load(&path, KNOWN).unwrap();
    assert!(!config.is_account_enabled("youtube", "shorts"));
    assert!(config.is_account_enabled("youtube", "default"));
    // Setting what is already so writes nothing, even in flow style a line edit refuses.
    std::fs::write(&path, STUDIO).unwrap();
    set_account_key(&path, "youtube", "quiet", "enabled", "true")
        .expect_err("`quiet: {}` is flow style");
    std::fs::write(
        &path,
        STUDIO.replace("      quiet: {}\n", "      quiet: { enabled: true }\n"),
    )
    .unwrap();
    set_account_key(&path, "youtube", "quiet", "enabled", "true").expect("already so");
    set_account_key(&path, "youtube", "Bad", "enabled", "true").expect_err("bad name");
    // A new file gets the whole path.
    let fresh = dir.path().join("new.yaml");
    set_account_key(&fresh, "tiktok", "main", "enabled", "true").unwrap();
    set_platform_key(&fresh, "tiktok", "client_key", "k").unwrap();
    let config = Config::load(&fresh, KNOWN).unwrap();
    assert!(config.is_account_enabled("tiktok", "main"));
}
