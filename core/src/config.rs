//! The YAML config file.
//!
//! Three jobs:
//! - reading it, with errors that name the file, line, column and key and say what is allowed
//!   ([`Config::load`]), and handing each platform its own section as a typed struct
//!   ([`Config::section`]);
//! - changing one setting on disk without losing what the user wrote: comments, blank lines,
//!   key order ([`set_platform_key`]);
//! - the `secrets: file` backend: a keryx-managed `stored_secrets:` mapping
//!   ([`read_stored_secret`], [`write_stored_secret`]).
//!
//! Every read deserialises the original text (never a re-serialised `Value`), through seeds
//! that look only at the part they need, so serde_yaml's line numbers always point into the
//! user's file. Edits are line-based on block-style YAML and verified by parsing the result:
//! if it does not read back as the old document plus exactly the one change, nothing is written.

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
use crate::secrets::client_secret_env;

/// The top-level key of the mapping the file secret backend keeps.
pub const STORED_SECRETS_KEY: &str = "stored_secrets";

/// The comment written above `stored_secrets:`, so nobody pastes the file somewhere by accident.
pub const STORED_SECRETS_COMMENT: &str =
    "# Managed by keryx (secrets: file). Do not edit or share.";

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
    /// Every platform section in the file, with its `enabled` value when set.
    sections: BTreeMap<String, Option<bool>>,
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

    /// `platforms.<platform>.enabled`, false when absent.
    pub fn is_enabled(&self, platform: &str) -> bool {
        self.sections
            .get(platform)
            .copied()
            .flatten()
            .unwrap_or(false)
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

/// Sets `platforms.<platform>.<key>` to `yaml_scalar` in the file on disk, creating the file and
/// sections if missing, keeping comments and key order; written atomically (temp + rename) with
/// the file's mode kept (0600 for a new file).
///
/// `yaml_scalar` is YAML text for one scalar: `true`, `SELF_ONLY`, or a quoted string made with
/// [`quote_yaml_string`]. The file is re-read here (the loaded [`Config`] may be stale). When the
/// file is written in a way a line edit cannot change safely (flow style, anchors, a multi-line
/// value), this refuses and says what to change by hand rather than risk damaging it.
pub fn set_platform_key(path: &Path, platform: &str, key: &str, yaml_scalar: &str) -> Result<()> {
    check_plain_name(path, "platform name", platform)?;
    check_plain_name(path, "key", key)?;
    if let Some((problem, hint)) = secret_key_problem(platform, key) {
        return Err(Error::input(format!(
            "{}: refusing to write platforms.{platform}.{key}: {problem}",
            path.display()
        ))
        .with_hint(hint));
    }
    let value = parse_scalar(path, yaml_scalar)?;
    let target = resolve_target(path)?;
    let _lock = EditLock::acquire(&target)?;
    let old_text = read_text(&target)?.unwrap_or_default();
    let refuse = |reason: String| {
        Error::input(format!(
            "{}: cannot safely set platforms.{platform}.{key}: {reason}",
            target.display()
        ))
        .with_hint(format!(
            "edit the file by hand: under `platforms:` → `{platform}:`, set `{key}: {yaml_scalar}`. \
             keryx changes only plain block-style YAML (no {{...}} flow style, anchors or \
             multi-line values on the lines it edits)"
        ))
    };
    let mut expected = parse_value(&target, &old_text)?;
    {
        let root = root_mapping(&mut expected).map_err(refuse)?;
        let new_platforms = !root.contains_key("platforms");
        let platforms = child_mapping_in(root, "the top level", "platforms").map_err(refuse)?;
        let section = child_mapping_in(platforms, "platforms", platform).map_err(refuse)?;
        section.insert(Value::String(key.to_owned()), value);
        if new_platforms && root.contains_key(STORED_SECRETS_KEY) {
            // The line edit puts a new `platforms:` above keryx's managed block.
            move_before(root, "platforms", STORED_SECRETS_KEY);
        }
    }
    let mut lines = Lines::parse(&old_text);
    edit_platform_key(&mut lines, platform, key, yaml_scalar).map_err(refuse)?;
    let new_text = lines.render();
    if new_text == old_text {
        return Ok(());
    }
    verify_edit(&new_text, &expected).map_err(refuse)?;
    write_atomically(&target, &new_text, file_mode_for(&target, &expected))
}

/// The file secret backend: reads `name` from the keryx-managed `stored_secrets:` mapping.
/// A missing file holds nothing. The rest of the file is not checked here, so a typo in a
/// platform section does not hide a stored token.
pub fn read_stored_secret(path: &Path, name: &str) -> Result<Option<Secret>> {
    validate_secret_name(name)?;
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    let mut parsed = parse_top(path, &text, None)?;
    Ok(parsed.stored.remove(name).map(Secret::new))
}

/// The file secret backend: sets (or with `None` removes) `name` in `stored_secrets:`; atomic,
/// comments kept, file left 0600.
pub fn write_stored_secret(path: &Path, name: &str, value: Option<&Secret>) -> Result<()> {
    validate_secret_name(name)?;
    let target = resolve_target(path)?;
    if value.is_none() && !target.exists() {
        // Nothing to remove; do not create the directory or the lock file for it.
        return Ok(());
    }
    let _lock = EditLock::acquire(&target)?;
    let Some(old_text) = read_text(&target)? else {
        if value.is_none() {
            return Ok(());
        }
        return write_stored_secret_locked(&target, name, value, "");
    };
    write_stored_secret_locked(&target, name, value, &old_text)
}

fn write_stored_secret_locked(
    target: &Path,
    name: &str,
    value: Option<&Secret>,
    old_text: &str,
) -> Result<()> {
    let action = if value.is_some() { "store" } else { "remove" };
    // Messages name the secret, never its value.
    let refuse = |reason: String| {
        Error::input(format!(
            "{}: cannot safely {action} the secret {name:?} in `{STORED_SECRETS_KEY}`: {reason}",
            target.display()
        ))
        .with_hint(format!(
            "keep `{STORED_SECRETS_KEY}:` as keryx wrote it (a plain block mapping of quoted \
             strings), or use the OS keychain instead (`secrets: keychain`)"
        ))
    };
    let mut expected = parse_value(target, old_text)?;
    let changed = {
        let root = root_mapping(&mut expected).map_err(refuse)?;
        match value {
            Some(secret) => {
                let stored =
                    child_mapping_in(root, "the top level", STORED_SECRETS_KEY).map_err(refuse)?;
                let new = Value::String(secret.expose().to_owned());
                stored.insert(Value::String(name.to_owned()), new.clone()) != Some(new)
            }
            None => match root.get_mut(STORED_SECRETS_KEY) {
                Some(Value::Mapping(stored)) => {
                    let removed = stored.shift_remove(name).is_some();
                    if stored.is_empty() {
                        root.shift_remove(STORED_SECRETS_KEY);
                    }
                    removed
                }
                Some(Value::Null) | None => false,
                Some(_) => return Err(refuse(format!("`{STORED_SECRETS_KEY}` is not a mapping"))),
            },
        }
    };
    if !changed {
        return Ok(());
    }
    let mut lines = Lines::parse(old_text);
    let quoted = value.map(|v| quote_yaml_string(v.expose()));
    edit_stored_secret(&mut lines, name, quoted.as_deref()).map_err(refuse)?;
    let new_text = lines.render();
    verify_edit(&new_text, &expected).map_err(refuse)?;
    write_atomically(target, &new_text, file_mode_for(target, &expected))
}

/// `value` as a double-quoted YAML scalar that reads back as exactly `value`: for
/// [`set_platform_key`] with text from a user, and for stored secrets (JSON included).
pub fn quote_yaml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // YAML 1.1 parsers treat NEL, LS and PS as line breaks and BOM as noise: escape them
            // with the control characters so the value survives any reader.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

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
    sections: BTreeMap<String, Option<bool>>,
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

/// Turns a serde_yaml error into `file:line:column: path: message`, with a hint.
fn yaml_error(path: &Path, err: &serde_yaml::Error) -> Error {
    let mut text = err.to_string();
    let location = err.location();
    if let Some(at) = &location {
        // serde_yaml appends the position to its message; keryx puts it in front, as compilers do.
        let suffix = format!(" at line {} column {}", at.line(), at.column());
        if let Some(i) = text.find(&suffix) {
            text.replace_range(i..i + suffix.len(), "");
        }
    }
    let (message, hint) = match text.split_once(HINT_SEPARATOR) {
        Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
        None => (text, None),
    };
    let message = reword_serde_message(&message);
    let (place, line) = match &location {
        Some(at) => (
            format!("{}:{}:{}", path.display(), at.line(), at.column()),
            Some(at.line()),
        ),
        None => (path.display().to_string(), None),
    };
    let hint = hint.unwrap_or_else(|| match line {
        Some(line) => format!("fix line {line} of {}", path.display()),
        None => format!("fix {}", path.display()),
    });
    Error::input(format!("{place}: {message}")).with_hint(hint)
}

/// Says serde's "unknown field `x`, expected one of `a`, `b`" the way a config user thinks:
/// `unknown key "x"; allowed: a, b`. Anything else is kept as it is.
fn reword_serde_message(message: &str) -> String {
    for (pattern, noun) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        let Some(start) = message.find(pattern) else {
            continue;
        };
        let after = &message[start + pattern.len()..];
        let Some(name_end) = after.find('`') else {
            continue;
        };
        let name = &after[..name_end];
        let rest = &after[name_end + 1..];
        let allowed = if let Some(list) = rest.strip_prefix(", expected one of ") {
            list.replace('`', "")
        } else if let Some(list) = rest.strip_prefix(", expected ") {
            list.replace('`', "").replace(" or ", ", ")
        } else if rest.starts_with(", there are no") {
            "none".to_owned()
        } else {
            continue;
        };
        return format!(
            "{}unknown {noun} {name:?}; allowed: {allowed}",
            &message[..start]
        );
    }
    for (pattern, replacement) in [
        ("missing field `", "missing key "),
        ("duplicate field `", "duplicate key "),
    ] {
        if let Some(start) = message.find(pattern) {
            let after = &message[start + pattern.len()..];
            if let Some(name_end) = after.find('`') {
                return format!(
                    "{}{replacement}{:?}{}",
                    &message[..start],
                    &after[..name_end],
                    &after[name_end + 1..]
                );
            }
        }
    }
    message.to_owned()
}

/// A message and hint for a serde error, joined so [`yaml_error`] can split them again.
fn with_hint(message: impl fmt::Display, hint: impl fmt::Display) -> String {
    format!("{message}{HINT_SEPARATOR}{hint}")
}

/// Deserialises a mapping key as a string, refusing duplicates and whatever `check` refuses.
/// Errors raised here carry the key's own line and column (serde_yaml marks the key's event),
/// which errors raised later in `visit_map` would not.
struct KeySeed<'a> {
    seen: &'a mut BTreeSet<String>,
    check: &'a dyn Fn(&str) -> std::result::Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if !self.seen.insert(key.to_owned()) {
            return Err(E::custom(with_hint(
                format!("key {key:?} appears twice"),
                "keep one of them (YAML keeps only one, and which is not obvious)",
            )));
        }
        (self.check)(key).map_err(E::custom)?;
        Ok(key.to_owned())
    }
}

struct TopSeed<'a> {
    known: Option<&'a [String]>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        // An empty file (or one with only comments) is a YAML null: an empty config.
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of settings (`secrets:`, `platforms:`)")
    }

    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut out = Parsed::default();
        let mut seen = BTreeSet::new();
        let strict = self.known.is_some();
        let check = |key: &str| {
            if !strict || key == STORED_SECRETS_KEY || TOP_LEVEL_KEYS.contains(&key) {
                Ok(())
            } else {
                Err(with_hint(
                    format!(
                        "unknown key {key:?}; allowed: {}",
                        TOP_LEVEL_KEYS.join(", ")
                    ),
                    "fix the name, or move the setting under `platforms:` → `<platform>:`",
                ))
            }
        };
        while let Some(key) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            match (key.as_str(), self.known) {
                ("secrets", Some(_)) => out.secrets = map.next_value::<Option<SecretsMode>>()?,
                ("platforms", Some(known)) => {
                    out.sections = map.next_value_seed(PlatformsSeed { known })?;
                }
                (STORED_SECRETS_KEY, _) => out.stored = map.next_value_seed(StoredSeed)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// `platforms:` at load: every name registered, every section a mapping without secrets.
struct PlatformsSeed<'a> {
    known: &'a [String],
}

impl<'de> DeserializeSeed<'de> for PlatformsSeed<'_> {
    type Value = BTreeMap<String, Option<bool>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for PlatformsSeed<'_> {
    type Value = BTreeMap<String, Option<bool>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping from platform name to its settings")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let known = self.known;
        let check = |name: &str| {
            if known.iter().any(|k| k == name) {
                return Ok(());
            }
            let registered = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            Err(with_hint(
                format!("unknown platform {name:?}; registered platforms: {registered}"),
                "fix the name, or remove the section if that platform is not part of this keryx",
            ))
        };
        while let Some(name) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            let enabled = map.next_value_seed(SectionCheckSeed { platform: &name })?;
            out.insert(name, enabled);
        }
        Ok(out)
    }
}

/// One platform's section at load: a mapping (or empty), `enabled` a bool, no secrets.
struct SectionCheckSeed<'a> {
    platform: &'a str,
}

impl<'de> DeserializeSeed<'de> for SectionCheckSeed<'_> {
    type Value = Option<bool>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<bool>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for SectionCheckSeed<'_> {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the settings of {} as `key: value` lines", self.platform)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<bool>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<bool>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<bool>, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<bool>, A::Error> {
        let platform = self.platform;
        let check = |key: &str| match secret_key_problem(platform, key) {
            Some((problem, hint)) => Err(with_hint(problem, hint)),
            None => Ok(()),
        };
        let mut seen = BTreeSet::new();
        let mut enabled = None;
        while let Some(key) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            if key == "enabled" {
                enabled = Some(map.next_value::<bool>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(enabled)
    }
}

/// `stored_secrets:`: names to strings.
struct StoredSeed;

impl<'de> DeserializeSeed<'de> for StoredSeed {
    type Value = BTreeMap<String, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for StoredSeed {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping from secret name to a quoted string (written by keryx)")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let check = |_: &str| -> std::result::Result<(), String> { Ok(()) };
        while let Some(name) = map.next_key_seed(KeySeed {
            seen: &mut seen,
            check: &check,
        })? {
            let value = map.next_value::<String>()?;
            out.insert(name, value);
        }
        Ok(out)
    }
}

/// Walks nested mappings along `path` (e.g. `["platforms", "tiktok"]`), skipping every other
/// key unparsed, and deserialises what is at the end as `T`. Going through the document itself
/// (not a `Value`) keeps serde_yaml's line and column in `T`'s errors.
struct PathSeed<'a, T> {
    path: &'a [&'a str],
    marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PathSeed<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PathSeed<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of settings")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let Some((wanted, rest)) = self.path.split_first() else {
            return Ok(None);
        };
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != *wanted {
                map.next_value::<IgnoredAny>()?;
            } else if rest.is_empty() {
                found = Some(map.next_value_seed(NullableSection::<T>(PhantomData))?);
            } else {
                found = map.next_value_seed(PathSeed::<T> {
                    path: rest,
                    marker: PhantomData,
                })?;
            }
        }
        Ok(found)
    }
}

/// A section that may be written as `tiktok:` with nothing under it: that is an empty mapping.
struct NullableSection<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for NullableSection<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for NullableSection<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the platform's settings as `key: value` lines")
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        T::deserialize(de::value::MapDeserializer::<_, E>::new(
            std::iter::empty::<((), ())>(),
        ))
        .map_err(|e| E::custom(format!("{EMPTY_SECTION_MARK}{e}")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer)
    }
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

/// Checks that `yaml_scalar` is one YAML scalar on one line, and returns its value.
fn parse_scalar(path: &Path, yaml_scalar: &str) -> Result<Value> {
    let refuse = || {
        Error::input(format!(
            "{}: {yaml_scalar:?} is not a single YAML scalar on one line",
            path.display()
        ))
        .with_hint("pass `true`, a number, a plain word, or a string quoted with quote_yaml_string")
    };
    if yaml_scalar.is_empty() || yaml_scalar.contains(['\n', '\r']) {
        return Err(refuse());
    }
    // Placed after a key, the whole text must be the value: no comment, nothing after a quote.
    let line = format!("k: {yaml_scalar}");
    match value_span(&line, 2) {
        ValueSpan::Scalar { start: 3, end } if end == line.len() => {}
        _ => return Err(refuse()),
    }
    match serde_yaml::from_str::<Value>(yaml_scalar) {
        Ok(v @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_))) => Ok(v),
        _ => Err(refuse()),
    }
}

/// The document as a value, for checking edits (`Null` for an empty file).
fn parse_value(path: &Path, text: &str) -> Result<Value> {
    serde_yaml::from_str::<Value>(without_bom(text)).map_err(|e| {
        let error = yaml_error(path, &e);
        let hint = error.hint().unwrap_or_default().to_owned();
        Error::input(format!("cannot edit the config file: {}", error.message()))
            .with_hint(format!("{hint}, then run the command again"))
    })
}

fn root_mapping(doc: &mut Value) -> std::result::Result<&mut Mapping, String> {
    if doc.is_null() {
        *doc = Value::Mapping(Mapping::new());
    }
    match doc {
        Value::Mapping(m) => Ok(m),
        _ => Err("the file is not a mapping of `key: value` lines".to_owned()),
    }
}

/// Moves the entry `key` to just before the entry `before`.
fn move_before(map: &mut Mapping, key: &str, before: &str) {
    let Some(moved) = map.shift_remove(key) else {
        return;
    };
    let mut rebuilt = Mapping::with_capacity(map.len() + 1);
    let mut moved = Some(moved);
    for (k, v) in std::mem::take(map) {
        if k.as_str() == Some(before)
            && let Some(value) = moved.take()
        {
            rebuilt.insert(Value::String(key.to_owned()), value);
        }
        rebuilt.insert(k, v);
    }
    if let Some(value) = moved {
        rebuilt.insert(Value::String(key.to_owned()), value);
    }
    *map = rebuilt;
}

/// `parent[key]` as a mapping, created when missing or empty.
fn child_mapping_in<'m>(
    parent: &'m mut Mapping,
    parent_name: &str,
    key: &str,
) -> std::result::Result<&'m mut Mapping, String> {
    let entry = parent
        .entry(Value::String(key.to_owned()))
        .or_insert(Value::Null);
    if entry.is_null() {
        *entry = Value::Mapping(Mapping::new());
    }
    match entry {
        Value::Mapping(m) => Ok(m),
        _ => Err(format!("`{key}` in {parent_name} is not a mapping")),
    }
}

/// The edited text must read back as the expected document, key order included.
fn verify_edit(new_text: &str, expected: &Value) -> std::result::Result<(), String> {
    let actual: Value = serde_yaml::from_str(without_bom(new_text))
        .map_err(|_| "the edited text would not parse as YAML".to_owned())?;
    // An empty file reads as null; an empty mapping is the same settings.
    let normal = |v: &Value| {
        if v.is_null() {
            Value::Mapping(Mapping::new())
        } else {
            v.clone()
        }
    };
    let (actual, expected) = (normal(&actual), normal(expected));
    let same_order = serde_yaml::to_string(&actual).ok() == serde_yaml::to_string(&expected).ok();
    if actual == expected && same_order {
        Ok(())
    } else {
        Err(
            "the edited file would not read back as the old settings plus this one change"
                .to_owned(),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Edits go to the file a symlinked config points at, so a dotfiles link stays a link.
fn resolve_target(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            Error::input(format!(
                "{} is a symbolic link whose target cannot be reached",
                path.display()
            ))
            .with_source(e)
            .with_hint("fix or remove the link")
        }),
        _ => Ok(path.to_path_buf()),
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The mode the written file gets: 0600 when it holds stored secrets or is new, else its own.
fn file_mode_for(target: &Path, new_doc: &Value) -> u32 {
    let holds_secrets = matches!(
        new_doc.get(STORED_SECRETS_KEY),
        Some(Value::Mapping(m)) if !m.is_empty()
    );
    if holds_secrets {
        return 0o600;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(target) {
            return meta.permissions().mode() & 0o7777;
        }
    }
    #[cfg(not(unix))]
    let _ = target;
    0o600
}

/// Replaces `target` with `text` so that a crash leaves either the old file or the new one:
/// a temporary file in the same directory, flushed to disk, then renamed over it.
fn write_atomically(target: &Path, text: &str, mode: u32) -> Result<()> {
    let dir = parent_dir(target);
    let fail = |what: &str, e: std::io::Error| {
        Error::input(format!(
            "cannot write the config file {}: {what}",
            target.display()
        ))
        .with_source(e)
        .with_hint(format!(
            "check that {} is writable and the disk is not full",
            dir.display()
        ))
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".keryx-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail("cannot create a temporary file next to it", e))?;
    temp.write_all(text.as_bytes())
        .map_err(|e| fail("writing failed", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| fail("cannot set its permissions", e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    temp.as_file()
        .sync_all()
        .map_err(|e| fail("flushing to disk failed", e))?;
    temp.persist(target)
        .map_err(|e| fail("renaming the new file into place failed", e.error))?;
    // The rename is durable only once the directory is flushed too.
    #[cfg(unix)]
    {
        if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
            tracing::debug!("could not flush directory {}: {e}", dir.display());
        }
    }
    Ok(())
}

/// Serialises read-modify-write edits of one config file across threads and processes (two
/// platforms refreshing tokens at once must not lose one of them). The lock is a hidden sibling
/// file because the config itself is replaced by rename, which a lock on it would not survive.
struct EditLock {
    file: File,
}

impl EditLock {
    fn acquire(target: &Path) -> Result<EditLock> {
        let dir = parent_dir(target);
        if !dir.exists() {
            crate::paths::create_private_dir(dir)?;
        }
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let lock_path = dir.join(format!(
            ".{}.lock",
            name.unwrap_or_else(|| "config".to_owned())
        ));
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&lock_path).map_err(|e| {
            Error::input(format!("cannot open the lock file {}", lock_path.display()))
                .with_source(e)
                .with_hint(format!("check that {} is writable", dir.display()))
        })?;
        let deadline = Instant::now() + EDIT_LOCK_TIMEOUT;
        loop {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => return Ok(EditLock { file }),
                Err(fs4::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(fs4::TryLockError::WouldBlock) => {
                    return Err(Error::input(format!(
                        "another keryx process has been editing {} for {} s",
                        target.display(),
                        EDIT_LOCK_TIMEOUT.as_secs()
                    ))
                    .with_hint(format!(
                        "let the other keryx command finish, then try again (lock: {})",
                        lock_path.display()
                    )));
                }
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(Error::input(format!("cannot lock {}", lock_path.display()))
                        .with_source(e)
                        .with_hint("the file system must support file locks (flock)"));
                }
            }
        }
    }
}

impl Drop for EditLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first just makes it prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

// ---------------------------------------------------------------------------------------------
// Line-based editing of block-style YAML
// ---------------------------------------------------------------------------------------------

/// A text file as lines, so an edit touches only the lines it means to.
struct Lines {
    bom: bool,
    crlf: bool,
    lines: Vec<String>,
}

impl Lines {
    fn parse(text: &str) -> Lines {
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let crlf = text
            .split('\n')
            .next()
            .is_some_and(|first| first.ends_with('\r'))
            && text.contains('\n');
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| {
                if crlf {
                    l.strip_suffix('\r').unwrap_or(l)
                } else {
                    l
                }
                .to_owned()
            })
            .collect();
        // `split` yields one empty piece after the final newline (or for an empty text).
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        Lines { bom, crlf, lines }
    }

    /// The text again; it always ends with a newline.
    fn render(&self) -> String {
        let newline = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for line in &self.lines {
            out.push_str(line);
            out.push_str(newline);
        }
        out
    }

    fn len(&self) -> usize {
        self.lines.len()
    }

    fn is_content(&self, i: usize) -> bool {
        is_content(&self.lines[i])
    }

    /// The end (exclusive) of the block that the key on line `at`, indented `indent`, opens:
    /// the next line with content at that indentation or less.
    fn block_end(&self, at: usize, indent: usize) -> usize {
        (at + 1..self.len())
            .find(|&j| self.is_content(j) && indent_of(&self.lines[j]) <= indent)
            .unwrap_or(self.len())
    }

    /// The last line inside that block: comments indented no deeper than the key belong to
    /// whatever follows, so new keys go before them.
    fn last_body_line(&self, at: usize, end: usize, indent: usize) -> Option<usize> {
        (at + 1..end)
            .rev()
            .find(|&j| !is_blank(&self.lines[j]) && indent_of(&self.lines[j]) > indent)
    }

    /// The indentation of the first entry in the block, if it has any.
    fn child_indent(&self, at: usize, end: usize) -> Option<usize> {
        (at + 1..end)
            .find(|&j| self.is_content(j))
            .map(|j| indent_of(&self.lines[j]))
    }

    /// The line in `start..end` holding `key:` at exactly `indent`.
    fn find_key(&self, start: usize, end: usize, indent: usize, key: &str) -> Option<usize> {
        (start..end)
            .find(|&j| key_line(&self.lines[j]).is_some_and(|(i, k, _)| i == indent && k == key))
    }

    /// The indentation step the file uses (the first nested block's), 2 if none.
    fn indent_unit(&self) -> usize {
        for (i, line) in self.lines.iter().enumerate() {
            let Some((indent, _, after_colon)) = key_line(line) else {
                continue;
            };
            if !matches!(value_span(line, after_colon), ValueSpan::Empty) {
                continue;
            }
            if let Some(j) = (i + 1..self.len()).find(|&j| self.is_content(j)) {
                let child = indent_of(&self.lines[j]);
                if child > indent {
                    return child - indent;
                }
            }
        }
        2
    }

    /// Checks that the key on line `at` opens an indented block (nothing after the colon).
    fn ensure_block(&self, at: usize) -> std::result::Result<(), String> {
        let line = &self.lines[at];
        let Some((_, key, after_colon)) = key_line(line) else {
            return Err(format!("line {} is not a `key:` line", at + 1));
        };
        match value_span(line, after_colon) {
            ValueSpan::Empty => Ok(()),
            _ => Err(format!(
                "line {}: `{key}:` has its value on the same line, not as indented lines below",
                at + 1
            )),
        }
    }

    /// Replaces the one-line scalar value of the key on line `at` (indented `indent`), keeping
    /// the spacing and any trailing comment.
    fn replace_scalar(
        &mut self,
        at: usize,
        indent: usize,
        scalar: &str,
    ) -> std::result::Result<(), String> {
        let end = self.block_end(at, indent);
        if (at + 1..end).any(|j| self.is_content(j)) {
            return Err(format!(
                "line {}: the current value spans several lines",
                at + 1
            ));
        }
        let line = &self.lines[at];
        let Some((_, _, after_colon)) = key_line(line) else {
            return Err(format!("line {} is not a `key:` line", at + 1));
        };
        let new_line = match value_span(line, after_colon) {
            ValueSpan::Empty => {
                format!("{} {scalar}{}", &line[..after_colon], &line[after_colon..])
            }
            ValueSpan::Scalar { start, end } => {
                format!("{}{scalar}{}", &line[..start], &line[end..])
            }
            ValueSpan::Unsupported(what) => {
                return Err(format!("line {}: the current value is {what}", at + 1));
            }
        };
        self.lines[at] = new_line;
        Ok(())
    }

    fn insert(&mut self, at: usize, new_lines: Vec<String>) {
        let at = at.min(self.len());
        self.lines.splice(at..at, new_lines);
    }

    /// Where a new top-level block goes: before keryx's managed `stored_secrets` block (so that
    /// stays last, under its comment), else at the end.
    fn top_level_insert_point(&self) -> (usize, bool) {
        match self.find_key(0, self.len(), 0, STORED_SECRETS_KEY) {
            Some(si) => {
                let at = if si > 0 && self.lines[si - 1].trim() == STORED_SECRETS_COMMENT {
                    si - 1
                } else {
                    si
                };
                (at, true)
            }
            None => (self.len(), false),
        }
    }
}

/// The 1-based line and column of the `<platform>:` key under `platforms:`.
fn locate_section(text: &str, platform: &str) -> Option<(usize, usize)> {
    let lines = Lines::parse(text);
    let pi = lines.find_key(0, lines.len(), 0, "platforms")?;
    let end = lines.block_end(pi, 0);
    let indent = lines.child_indent(pi, end)?;
    let qi = lines.find_key(pi + 1, end, indent, platform)?;
    Some((qi + 1, indent + 1))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_content(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

fn pad(indent: usize) -> String {
    " ".repeat(indent)
}

/// A `key:` line with a plain key: its indentation, the key, and the byte after the colon.
fn key_line(line: &str) -> Option<(usize, &str, usize)> {
    let indent = indent_of(line);
    let rest = &line[indent..];
    let first = rest.chars().next()?;
    if "-?:,[]{}#&*!|>'\"%@`\t".contains(first) {
        return None;
    }
    let bytes = rest.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let after_blank = i > 0 && matches!(bytes[i - 1], b' ' | b'\t');
        if b == b'#' && after_blank {
            return None;
        }
        if b == b':' && bytes.get(i + 1).is_none_or(|n| matches!(n, b' ' | b'\t')) {
            let key = rest[..i].trim_end();
            return (!key.is_empty()).then_some((indent, key, indent + i + 1));
        }
    }
    None
}

/// What follows the colon of a `key:` line.
#[derive(Debug, PartialEq)]
enum ValueSpan {
    /// Nothing but blanks and perhaps a comment: the value is null or an indented block.
    Empty,
    /// A one-line scalar at `start..end`; after it only blanks and perhaps a comment.
    Scalar { start: usize, end: usize },
    /// Something a line edit must not touch.
    Unsupported(&'static str),
}

fn value_span(line: &str, after_colon: usize) -> ValueSpan {
    let bytes = line.as_bytes();
    let mut start = after_colon;
    while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
        start += 1;
    }
    let Some(&first) = bytes.get(start) else {
        return ValueSpan::Empty;
    };
    let end = match first {
        b'#' => return ValueSpan::Empty,
        b'"' => {
            let mut i = start + 1;
            loop {
                match bytes.get(i) {
                    None => return ValueSpan::Unsupported("a quoted string that goes on"),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break i + 1,
                    Some(_) => i += 1,
                }
            }
        }
        b'\'' => {
            let mut i = start + 1;
            loop {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (None, _) => return ValueSpan::Unsupported("a quoted string that goes on"),
                    (Some(b'\''), Some(b'\'')) => i += 2,
                    (Some(b'\''), _) => break i + 1,
                    _ => i += 1,
                }
            }
        }
        b'|' | b'>' => return ValueSpan::Unsupported("a block scalar (| or >)"),
        b'[' | b'{' => return ValueSpan::Unsupported("in flow style ([...] or {...})"),
        b'&' => return ValueSpan::Unsupported("an anchor (&name)"),
        b'*' => return ValueSpan::Unsupported("an alias (*name)"),
        b'!' => return ValueSpan::Unsupported("tagged (!tag)"),
        _ => {
            // A plain scalar ends where a comment starts: `#` after a blank.
            let rest = &line[start..];
            let comment = rest
                .match_indices('#')
                .map(|(i, _)| i)
                .find(|&i| i > 0 && matches!(rest.as_bytes()[i - 1], b' ' | b'\t'))
                .unwrap_or(rest.len());
            start + rest[..comment].trim_end().len()
        }
    };
    let after = line[end..].trim_start();
    if after.is_empty() || (after.starts_with('#') && line[end..].starts_with([' ', '\t'])) {
        ValueSpan::Scalar { start, end }
    } else {
        ValueSpan::Unsupported("followed by more text on the same line")
    }
}

/// The line edit behind [`set_platform_key`].
fn edit_platform_key(
    lines: &mut Lines,
    platform: &str,
    key: &str,
    scalar: &str,
) -> std::result::Result<(), String> {
    let unit = lines.indent_unit();
    let entry = format!("{key}: {scalar}");
    let Some(pi) = lines.find_key(0, lines.len(), 0, "platforms") else {
        let (at, before_managed) = lines.top_level_insert_point();
        let mut block = vec![
            "platforms:".to_owned(),
            format!("{}{platform}:", pad(unit)),
            format!("{}{entry}", pad(2 * unit)),
        ];
        if before_managed {
            block.push(String::new());
        }
        lines.insert(at, block);
        return Ok(());
    };
    lines.ensure_block(pi)?;
    let platforms_end = lines.block_end(pi, 0);
    let section_indent = lines.child_indent(pi, platforms_end);
    let found = section_indent.and_then(|ind| lines.find_key(pi + 1, platforms_end, ind, platform));
    let section_indent = section_indent.unwrap_or(unit);
    let Some(qi) = found else {
        let at = lines
            .last_body_line(pi, platforms_end, 0)
            .map_or(pi + 1, |j| j + 1);
        lines.insert(
            at,
            vec![
                format!("{}{platform}:", pad(section_indent)),
                format!("{}{entry}", pad(section_indent + unit)),
            ],
        );
        return Ok(());
    };
    lines.ensure_block(qi)?;
    let section_end = lines.block_end(qi, section_indent);
    let key_indent = lines.child_indent(qi, section_end);
    match key_indent.and_then(|ind| lines.find_key(qi + 1, section_end, ind, key)) {
        Some(ki) => lines.replace_scalar(ki, key_indent.unwrap_or_default(), scalar),
        None => {
            let at = lines
                .last_body_line(qi, section_end, section_indent)
                .map_or(qi + 1, |j| j + 1);
            let indent = key_indent.unwrap_or(section_indent + unit);
            lines.insert(at, vec![format!("{}{entry}", pad(indent))]);
            Ok(())
        }
    }
}

/// The line edit behind [`write_stored_secret`]; `quoted` is the new value, `None` removes.
fn edit_stored_secret(
    lines: &mut Lines,
    name: &str,
    quoted: Option<&str>,
) -> std::result::Result<(), String> {
    let unit = lines.indent_unit();
    let Some(si) = lines.find_key(0, lines.len(), 0, STORED_SECRETS_KEY) else {
        let Some(quoted) = quoted else { return Ok(()) };
        if lines.lines.last().is_some_and(|l| !is_blank(l)) {
            lines.lines.push(String::new());
        }
        lines.lines.push(STORED_SECRETS_COMMENT.to_owned());
        lines.lines.push(format!("{STORED_SECRETS_KEY}:"));
        lines.lines.push(format!("{}{name}: {quoted}", pad(unit)));
        return Ok(());
    };
    lines.ensure_block(si)?;
    let end = lines.block_end(si, 0);
    let entry_indent = lines.child_indent(si, end);
    let entry = entry_indent.and_then(|ind| lines.find_key(si + 1, end, ind, name));
    match (quoted, entry) {
        (Some(quoted), Some(ei)) => {
            lines.replace_scalar(ei, entry_indent.unwrap_or_default(), quoted)
        }
        (Some(quoted), None) => {
            let at = lines.last_body_line(si, end, 0).map_or(si + 1, |j| j + 1);
            let indent = entry_indent.unwrap_or(unit);
            lines.insert(at, vec![format!("{}{name}: {quoted}", pad(indent))]);
            Ok(())
        }
        (None, Some(ei)) => {
            let entry_end = lines.block_end(ei, entry_indent.unwrap_or_default());
            if (ei + 1..entry_end).any(|j| lines.is_content(j)) {
                return Err(format!("line {}: the value spans several lines", ei + 1));
            }
            let others = (si + 1..end).any(|j| j != ei && lines.is_content(j));
            if others {
                lines.lines.remove(ei);
                return Ok(());
            }
            // The last entry: the block, its comment and the blank line keryx put before them go.
            let mut start = si;
            if si > 0 && lines.lines[si - 1].trim() == STORED_SECRETS_COMMENT {
                start = si - 1;
            }
            let stop = lines.last_body_line(si, end, 0).map_or(si + 1, |j| j + 1);
            if start > 0
                && is_blank(&lines.lines[start - 1])
                && (stop == lines.len() || is_blank(&lines.lines[stop]))
            {
                start -= 1;
            }
            lines.lines.drain(start..stop);
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_are_recognised() {
        assert_eq!(key_line("platforms:"), Some((0, "platforms", 10)));
        assert_eq!(
            key_line("  base_url: http://x:1 # c"),
            Some((2, "base_url", 11))
        );
        assert_eq!(
            key_line("    tiktok/token: \"a\""),
            Some((4, "tiktok/token", 17))
        );
        assert_eq!(key_line("  - item: 1"), None);
        assert_eq!(key_line("# platforms:"), None);
        assert_eq!(key_line("  just text"), None);
        assert_eq!(key_line("  a #b: c"), None);
    }

    #[test]
    fn value_spans_cover_exactly_the_scalar() {
        let span = |l: &str| value_span(l, key_line(l).map(|k| k.2).unwrap_or(0));
        assert_eq!(span("k: v"), ValueSpan::Scalar { start: 3, end: 4 });
        assert_eq!(
            span("k: v   # note"),
            ValueSpan::Scalar { start: 3, end: 4 }
        );
        assert_eq!(span("k: a#b c"), ValueSpan::Scalar { start: 3, end: 8 });
        assert_eq!(
            span(r#"k: "a \" # b"  # c"#),
            ValueSpan::Scalar { start: 3, end: 13 }
        );
        assert_eq!(
            span("k: 'it''s' # c"),
            ValueSpan::Scalar { start: 3, end: 10 }
        );
        assert_eq!(span("k:"), ValueSpan::Empty);
        assert_eq!(span("k:   # c"), ValueSpan::Empty);
        assert!(matches!(span("k: {a: 1}"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: |"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: &x 1"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: \"open"), ValueSpan::Unsupported(_)));
        assert!(matches!(span("k: \"a\"b"), ValueSpan::Unsupported(_)));
    }

    #[test]
    fn lines_round_trip() {
        for text in ["", "a: 1\n", "a: 1\n\n# c\n", "\u{feff}a: 1\r\nb: 2\r\n"] {
            assert_eq!(Lines::parse(text).render(), text);
        }
        assert_eq!(Lines::parse("a: 1").render(), "a: 1\n");
    }

    #[test]
    fn quoted_strings_read_back_exactly() {
        for s in [
            "",
            "plain",
            "{\"json\": [1, \"x\\y\"]}",
            "tab\tnl\ncr\r",
            "\u{2028}\u{85}é🙂",
        ] {
            let quoted = quote_yaml_string(s);
            assert!(!quoted.contains('\n'));
            let back: String = serde_yaml::from_str(&quoted).expect("parses");
            assert_eq!(back, s);
        }
    }

    #[test]
    fn serde_wording_is_reworded() {
        assert_eq!(
            reword_serde_message(
                "platforms.tiktok: unknown field `privcy`, expected one of `enabled`, `privacy`"
            ),
            "platforms.tiktok: unknown key \"privcy\"; allowed: enabled, privacy"
        );
        assert_eq!(
            reword_serde_message("secrets: unknown variant `x`, expected `auto` or `file`"),
            "secrets: unknown value \"x\"; allowed: auto, file"
        );
        assert_eq!(
            reword_serde_message("p: missing field `client_key`"),
            "p: missing key \"client_key\""
        );
        assert_eq!(reword_serde_message("invalid type: x"), "invalid type: x");
    }

    #[test]
    fn secret_names_are_checked() {
        assert!(validate_secret_name("tiktok/token").is_ok());
        assert!(validate_secret_name("youtube/client_secret").is_ok());
        for bad in ["", "/x", "a b", "a:b", "a\n"] {
            assert!(validate_secret_name(bad).is_err(), "{bad:?}");
        }
    }
}
