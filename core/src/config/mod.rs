//! The YAML config file.
//!
//! Three jobs, a module each:
//! - reading it, with errors that name the file, line, column and key and say what is allowed
//!   ([`Config::load`]), and handing each platform its own section as a typed struct
//!   ([`Config::section`]): here, with the serde seeds in `seeds` and the error wording in
//!   `yaml`;
//! - changing one setting on disk without losing what the user wrote: comments, blank lines,
//!   key order ([`set_platform_key`], in `edit`, on the line editor in `lines`);
//! - the `secrets: file` backend: a keryx-managed `stored_secrets:` mapping
//!   ([`read_stored_secret`], [`write_stored_secret`], in `stored`).
//!
//! Every read deserialises the original text (never a re-serialised `Value`), through seeds
//! that look only at the part they need, so serde_yaml's line numbers always point into the
//! user's file. Edits are line-based on block-style YAML and verified by parsing the result:
//! if it does not read back as the old document plus exactly the one change, nothing is written.

mod edit;
mod lines;
mod seeds;
mod stored;
mod yaml;

pub(crate) use yaml::{Located, locate};

use edit::*;
pub use edit::{quote_yaml_string, set_account_key, set_platform_key};
use lines::*;
use seeds::*;
pub use stored::{read_stored_secret, write_stored_secret};
use yaml::*;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor,
};
use serde_yaml::{Mapping, Value};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secret::client_secret_env;

/// The top-level key of the mapping the file secret backend keeps.
pub const STORED_SECRETS_KEY: &str = "stored_secrets";

/// The comment written above `stored_secrets:`, so nobody pastes the file somewhere by accident.
pub const STORED_SECRETS_COMMENT: &str =
    "# Managed by keryx (secrets: file). Do not edit or share.";

/// The key under a platform's section that lists its accounts (`platforms.<id>.accounts`).
pub const ACCOUNTS_KEY: &str = "accounts";

/// The account a platform has when its section lists none: where tokens of a keryx that knew
/// only one account per platform are found.
pub const DEFAULT_ACCOUNT: &str = "default";

/// The top-level keys a user writes (`stored_secrets` is keryx's own and not advertised).
const TOP_LEVEL_KEYS: &[&str] = &["secrets", "platforms"];

/// Separates a message from its hint inside a serde error string: serde errors carry only text,
/// and this character does not occur in messages keryx writes.
const HINT_SEPARATOR: char = '\u{1f}';

/// Marks errors raised for an empty section, which [`Config::section`] must place itself.
const EMPTY_SECTION_MARK: char = '\u{1e}';

/// How long an edit waits for another process that is editing the same config file.
const EDIT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where secrets and tokens are kept (`secrets:` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretsMode {
    /// The OS keychain when one answers, else the config file (said once).
    #[default]
    Auto,
    Keychain,
    File,
}

impl SecretsMode {
    /// The word used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretsMode::Auto => "auto",
            SecretsMode::Keychain => "keychain",
            SecretsMode::File => "file",
        }
    }
}

impl fmt::Display for SecretsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The config as loaded at start of a command.
#[derive(Clone)]
pub struct Config {
    path: PathBuf,
    /// The file's text, kept so [`Config::section`] can report positions in it.
    text: String,
    secrets: SecretsMode,
    /// Every platform section in the file, with its `enabled` and its accounts.
    sections: BTreeMap<String, SectionInfo>,
}

/// What [`Config::load`] reads of a platform's section itself: the keys keryx owns.
#[derive(Debug, Clone, Default)]
pub(crate) struct SectionInfo {
    enabled: Option<bool>,
    /// `accounts:`, by name, each with its `enabled` when set; `None` without the key.
    accounts: Option<BTreeMap<String, Option<bool>>>,
}

/// Written by hand: the text may hold `stored_secrets`, so it is never printed.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("secrets", &self.secrets)
            .field("sections", &self.sections)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Loads and checks the common keys (`secrets`, `platforms`, and that every key under
    /// `platforms` is one of `known_platforms`). A missing file is an empty config.
    pub fn load(path: &Path, known_platforms: &[&str]) -> Result<Config> {
        let text = read_text(path)?.unwrap_or_default();
        Config::parse(path, &text, known_platforms)
    }

    /// Like [`Config::load`], with the file's text given (for tests and for text that does not
    /// come from disk); `path` is what errors name.
    pub fn parse(path: &Path, text: &str, known_platforms: &[&str]) -> Result<Config> {
        let known: Vec<String> = known_platforms.iter().map(|p| (*p).to_owned()).collect();
        let parsed = parse_top(path, text, Some(&known))?;
        Ok(Config {
            path: path.to_path_buf(),
            text: without_bom(text).to_owned(),
            secrets: parsed.secrets.unwrap_or_default(),
            sections: parsed.sections,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file exists on disk.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    pub fn secrets_mode(&self) -> SecretsMode {
        self.secrets
    }

    /// `platforms.<platform>.enabled`, false when absent. With `accounts:`, the platform is
    /// enabled when one of its accounts is.
    pub fn is_enabled(&self, platform: &str) -> bool {
        self.accounts(platform)
            .iter()
            .any(|account| self.is_account_enabled(platform, account))
    }

    /// The platform's accounts: those under `accounts:`, else just [`DEFAULT_ACCOUNT`].
    pub fn accounts(&self, platform: &str) -> Vec<String> {
        match self
            .sections
            .get(platform)
            .and_then(|s| s.accounts.as_ref())
        {
            Some(accounts) => accounts.keys().cloned().collect(),
            None => vec![DEFAULT_ACCOUNT.to_owned()],
        }
    }

    /// Whether the section lists its accounts (`accounts:`).
    pub fn has_accounts(&self, platform: &str) -> bool {
        self.sections
            .get(platform)
            .is_some_and(|s| s.accounts.is_some())
    }

    /// Whether `platform:account` is a target of `keryx post all`: the account's `enabled`
    /// (false when absent), and the platform's `enabled` where that is set. Without
    /// `accounts:`, the default account is the platform's `enabled`.
    pub fn is_account_enabled(&self, platform: &str, account: &str) -> bool {
        let Some(section) = self.sections.get(platform) else {
            return false;
        };
        match &section.accounts {
            None => account == DEFAULT_ACCOUNT && section.enabled.unwrap_or(false),
            Some(accounts) => {
                section.enabled != Some(false)
                    && accounts.get(account).copied().flatten().unwrap_or(false)
            }
        }
    }

    /// Whether the file has a `platforms.<platform>` section (even an empty one).
    pub fn has_section(&self, platform: &str) -> bool {
        self.sections.contains_key(platform)
    }

    /// Deserialises `platforms.<platform>` into `T` (which should `deny_unknown_fields`).
    /// `Ok(None)` when the section is absent; an empty section (`tiktok:` alone) is an empty
    /// mapping. Errors name the file, line and key and say what is allowed; a secret-looking
    /// key (`client_secret`, `*token*`, `password`) is refused with where it belongs instead.
    pub fn section<T: DeserializeOwned>(&self, platform: &str) -> Result<Option<T>> {
        // Secret-looking keys were refused when the text was parsed (a `Config` exists only
        // after that check), so no section handed out here can carry one.
        if !self.sections.contains_key(platform) {
            return Ok(None);
        }
        let seed = PathSeed::<T> {
            path: &["platforms", platform],
            marker: PhantomData,
        };
        seed.deserialize(serde_yaml::Deserializer::from_str(&self.text))
            .map_err(|e| self.section_error(platform, &e))
    }

    /// [`Config::section`] as one account sees it: the platform's keys with the account's
    /// (`platforms.<platform>.accounts.<account>`) over them. Only the keys in `per_account`
    /// (the platform's [`crate::Platform::account_keys`]) and `enabled` may be set per account;
    /// any other is an error at its line. Without `accounts:`, or for an account not listed
    /// yet, it is the platform's section.
    pub fn account_section<T: DeserializeOwned>(
        &self,
        platform: &str,
        account: &str,
        per_account: &[&str],
    ) -> Result<Option<T>> {
        let base = self.section::<T>(platform)?;
        let accounts = self
            .sections
            .get(platform)
            .and_then(|s| s.accounts.as_ref());
        let Some(accounts) = accounts else {
            return Ok(base);
        };
        let Some(base) = base else {
            return Ok(None);
        };
        if !accounts.contains_key(account) {
            // An account `keryx auth --account` is about to add: the platform's settings.
            return Ok(Some(base));
        }
        let path = ["platforms", platform, ACCOUNTS_KEY, account];
        let at = |key: Option<&str>| {
            let mut keys = path.to_vec();
            keys.extend(key);
            let (line, column) = locate_key_path(&self.text, &keys)
                .or_else(|| locate_key_path(&self.text, &path))
                .unwrap_or((1, 1));
            format!("{}:{line}:{column}", self.path.display())
        };
        let overrides = self
            .value_at(&path)?
            .and_then(|v| v.as_mapping().cloned())
            .unwrap_or_default();
        if overrides.is_empty() {
            return Ok(Some(base));
        }
        let mut merged = self
            .value_at(&path[..2])?
            .and_then(|v| v.as_mapping().cloned())
            .unwrap_or_default();
        merged.remove(ACCOUNTS_KEY);
        for (key, value) in overrides {
            let name = key.as_str().unwrap_or_default().to_owned();
            if name == "enabled" {
                continue;
            }
            if !per_account.contains(&name.as_str()) {
                let can = match per_account {
                    [] => "none".to_owned(),
                    keys => keys.join(", "),
                };
                return Err(Error::input(format!(
                    "{}: platforms.{platform}.accounts.{account}: {name:?} cannot be set per \
                     account; the keys that can: {can}",
                    at(Some(&name))
                ))
                .with_hint(format!(
                    "set `{name}` under `{platform}:` for every account, or remove it from the \
                     account"
                )));
            }
            merged.insert(key, value);
        }
        T::deserialize(Value::Mapping(merged))
            .map(Some)
            .map_err(|e| {
                Error::input(format!(
                    "{}: platforms.{platform}.accounts.{account}: {}",
                    at(None),
                    reword_serde_message(&e.to_string())
                ))
                .with_hint(format!(
                    "fix the account's settings under `{platform}:` → `accounts:` → `{account}:`"
                ))
            })
    }

    /// The error for a target naming an account the section does not list.
    pub fn unknown_account(&self, platform: &str, account: &str) -> Error {
        let listed = self.accounts(platform).join(", ");
        Error::input(format!(
            "{platform} has no account {account:?} in {} (its accounts: {listed})",
            self.path.display()
        ))
        .with_hint(format!(
            "run `keryx auth {platform} --account {account}` to add and authorise it, or use \
             one of the accounts listed"
        ))
    }

    /// The YAML value at `path` (positions are lost: only for values already checked).
    fn value_at(&self, path: &[&str]) -> Result<Option<Value>> {
        let seed = PathSeed::<Value> {
            path,
            marker: PhantomData,
        };
        seed.deserialize(serde_yaml::Deserializer::from_str(&self.text))
            .map_err(|e| yaml_error(&self.path, &e))
    }

    /// [`Config::section`] for a platform that cannot work without one: a missing section (or
    /// a missing config file) is an error whose hint is `how`, the lines to add and where to
    /// read more.
    pub fn require_section<T: DeserializeOwned>(&self, platform: &str, how: &str) -> Result<T> {
        if let Some(section) = self.section(platform)? {
            return Ok(section);
        }
        let message = if self.exists() {
            format!("{}: no `platforms.{platform}` section", self.path.display())
        } else {
            format!("there is no config file at {}", self.path.display())
        };
        Err(Error::input(message).with_hint(how.to_string()))
    }

    /// Errors from an empty section (`tiktok:` alone) carry no position of their own (serde_yaml
    /// marks only errors raised while it reads a node), so the section's key line is found here.
    fn section_error(&self, platform: &str, err: &serde_yaml::Error) -> Error {
        let shown = err.to_string();
        let Some((_, message)) = shown.split_once(EMPTY_SECTION_MARK) else {
            return yaml_error(&self.path, err);
        };
        let message = match err.location() {
            Some(at) => message.replace(
                &format!(" at line {} column {}", at.line(), at.column()),
                "",
            ),
            None => message.to_owned(),
        };
        let (line, column) = locate_section(&self.text, platform).unwrap_or((1, 1));
        Error::input(format!(
            "{}:{line}:{column}: platforms.{platform}: {}",
            self.path.display(),
            reword_serde_message(&message)
        ))
        .with_hint(format!(
            "add the missing settings under `{platform}:` (line {line} of {})",
            self.path.display()
        ))
    }
}

/// The file's text; `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(text)),
            Err(e) => Err(Error::input(format!(
                "{}: the config file is not UTF-8 text (bad byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
            .with_hint("save the file as UTF-8")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(
            Error::input(format!("cannot read the config file {}", path.display()))
                .with_source(e)
                .with_hint("check that the path names a readable file (not a directory)"),
        ),
    }
}

/// What a walk over the whole file found.
#[derive(Default)]
struct Parsed {
    secrets: Option<SecretsMode>,
    sections: BTreeMap<String, SectionInfo>,
    stored: BTreeMap<String, String>,
}

/// Walks the file. With `known` it checks everything keryx itself owns (top-level keys,
/// `secrets`, platform names, `enabled`, secret-looking keys); without, it reads only
/// `stored_secrets` and skips the rest.
fn parse_top(path: &Path, text: &str, known: Option<&[String]>) -> Result<Parsed> {
    check_syntax(path, text)?;
    TopSeed { known }
        .deserialize(serde_yaml::Deserializer::from_str(without_bom(text)))
        .map_err(|e| yaml_error(path, &e))
}

/// Reports YAML syntax errors first: serde_yaml parses as it deserialises, so a seed that
/// refuses a value's type would otherwise hide an unclosed bracket behind "invalid type".
fn check_syntax(path: &Path, text: &str) -> Result<()> {
    serde_yaml::from_str::<IgnoredAny>(without_bom(text))
        .map(|_| ())
        .map_err(|e| yaml_error(path, &e))
}

/// The text without a leading byte-order mark: serde_yaml reads a file that starts with one
/// and has two keys as two documents.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Why a key under `platforms.<platform>` must not be there, and where its value belongs.
fn secret_key_problem(platform: &str, key: &str) -> Option<(String, String)> {
    let lower = key.to_ascii_lowercase();
    if lower.contains("token") {
        return Some((
            format!("{key:?} looks like a token, and tokens never go in the config file"),
            format!(
                "remove that line; keryx keeps {platform}'s tokens in the secret store itself \
                 once you run `keryx auth {platform}`"
            ),
        ));
    }
    if lower == "secret" || lower.ends_with("_secret") || lower.contains("password") {
        return Some((
            format!("{key:?} is a secret, and secrets never go in the config file"),
            format!(
                "remove that line; give keryx the secret in the environment variable {} or \
                 store it in the OS keychain with `keryx auth {platform} --store-secret`",
                client_secret_env(platform)
            ),
        ));
    }
    None
}

/// Secret names are keryx's own (`tiktok/token`); keeping them plain keeps them valid YAML keys.
pub(crate) fn validate_secret_name(name: &str) -> Result<()> {
    let ok = name.len() <= 200
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(
            Error::input(format!("invalid secret name {name:?}")).with_hint(
                "secret names are letters, digits and _ - . / (e.g. `tiktok/token`); this is a bug \
             in the caller",
            ),
        )
    }
}

/// An account name is a word of lowercase letters, digits and `-`, so `platform:account` reads
/// the same in a config, a target and a secret name. The problem and its fix when it is not.
pub(crate) fn check_account_name(name: &str) -> std::result::Result<(), (String, String)> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    match ok {
        true => Ok(()),
        false => Err((
            format!("{name:?} is not a valid account name"),
            "account names are lowercase letters, digits and `-` (e.g. `main`, `shorts-2`), \
             at most 40 characters"
                .to_owned(),
        )),
    }
}

/// Platform and key names written by [`set_platform_key`] must be plain YAML keys.
fn check_plain_name(path: &Path, what: &str, name: &str) -> Result<()> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(
            Error::input(format!("{}: cannot write {what} {name:?}", path.display()))
                .with_hint("names are letters, digits, _ and -"),
        )
    }
}
