//! A platform's own posting options, declared as data (as rclone's backends declare theirs).
//!
//! Core's [`crate::Metadata`] holds only what every platform understands (title, description,
//! tags, privacy, AI-generated). Anything else — TikTok's branded-content disclosure, YouTube's
//! category or thumbnail — is a [`PostOption`] the platform lists in
//! [`crate::Platform::options`]. The CLI turns each into a flag named after the platform
//! (`branded-content` of `tiktok` → `--tiktok-branded-content`), the sidecar accepts it in the
//! platform's section (`tiktok: { branded_content: true }`), and the platform reads the value
//! back with [`crate::Metadata::flag`] and friends. Core and the CLI name no option; a new
//! platform adds its own without touching them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One option a platform takes when posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostOption {
    /// Lowercase words joined by `-`: `branded-content`. The flag is `--<platform>-<name>`;
    /// the sidecar key is the name with `_` for `-` (`branded_content`).
    pub name: &'static str,
    pub kind: OptionKind,
    /// One line for `--help`.
    pub help: &'static str,
}

impl PostOption {
    pub const fn flag(name: &'static str, help: &'static str) -> PostOption {
        PostOption {
            name,
            kind: OptionKind::Flag,
            help,
        }
    }

    pub const fn text(
        name: &'static str,
        value_name: &'static str,
        help: &'static str,
    ) -> PostOption {
        PostOption {
            name,
            kind: OptionKind::Text { value_name },
            help,
        }
    }

    pub const fn path(
        name: &'static str,
        value_name: &'static str,
        help: &'static str,
    ) -> PostOption {
        PostOption {
            name,
            kind: OptionKind::Path { value_name },
            help,
        }
    }

    pub const fn duration(name: &'static str, help: &'static str) -> PostOption {
        PostOption {
            name,
            kind: OptionKind::Duration,
            help,
        }
    }

    /// The command-line flag without its dashes: `tiktok-branded-content`.
    pub fn flag_name(&self, platform: &str) -> String {
        format!("{platform}-{}", self.name)
    }

    /// The key in a sidecar: `branded_content`.
    pub fn sidecar_key(&self) -> String {
        self.name.replace('-', "_")
    }

    /// Reads a value written on the command line or in a sidecar (as text).
    pub fn parse(&self, text: &str) -> std::result::Result<OptionValue, String> {
        match self.kind {
            OptionKind::Flag => match text.trim() {
                "true" => Ok(OptionValue::Flag(true)),
                "false" => Ok(OptionValue::Flag(false)),
                other => Err(format!("`{other}` is not true or false")),
            },
            OptionKind::Text { .. } => Ok(OptionValue::Text(text.to_owned())),
            OptionKind::Path { .. } if text.is_empty() => Err("the path is empty".to_owned()),
            OptionKind::Path { .. } => Ok(OptionValue::Path(PathBuf::from(text))),
            OptionKind::Duration => parse_duration(text).map(OptionValue::Duration),
        }
    }
}

/// What kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// On when given (`--tiktok-branded-content`); `true`/`false` in a sidecar.
    Flag,
    /// A string, e.g. a category id; `value_name` shows in `--help`.
    Text { value_name: &'static str },
    /// A file; relative paths in a sidecar are taken from the sidecar's directory.
    Path { value_name: &'static str },
    /// A point or span in the video: `2.5s`, `2500ms`, `1m30s`, or plain seconds (`2.5`).
    Duration,
}

impl OptionKind {
    /// What `--help` shows after the flag; `None` for a flag that takes no value.
    pub fn value_name(&self) -> Option<&'static str> {
        match self {
            OptionKind::Flag => None,
            OptionKind::Text { value_name } | OptionKind::Path { value_name } => Some(value_name),
            OptionKind::Duration => Some("TIME"),
        }
    }
}

/// A value given for an option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    Flag(bool),
    Text(String),
    Path(PathBuf),
    Duration(Duration),
}

impl From<bool> for OptionValue {
    fn from(on: bool) -> Self {
        OptionValue::Flag(on)
    }
}

impl From<&str> for OptionValue {
    fn from(text: &str) -> Self {
        OptionValue::Text(text.to_owned())
    }
}

impl From<PathBuf> for OptionValue {
    fn from(path: PathBuf) -> Self {
        OptionValue::Path(path)
    }
}

impl From<Duration> for OptionValue {
    fn from(d: Duration) -> Self {
        OptionValue::Duration(d)
    }
}

/// `2.5s`, `2500ms`, `1m30s`, `90` (seconds). Never negative.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a time like 2.5s, 2500ms, 1m30s or 90");
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" | "min" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(bad()),
        };
        total += Duration::try_from_secs_f64(seconds).map_err(|_| bad())?;
        rest = next;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, ms) in [
            ("2.5s", 2500),
            ("2500ms", 2500),
            ("1m30s", 90_000),
            ("90", 90_000),
            ("0.25", 250),
            ("1h", 3_600_000),
        ] {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for bad in ["", "abc", "-1", "2x", "s", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_values() {
        let option = PostOption::flag("branded-content", "Paid partnership.");
        assert_eq!(option.flag_name("tiktok"), "tiktok-branded-content");
        assert_eq!(option.sidecar_key(), "branded_content");
        assert_eq!(option.parse("true"), Ok(OptionValue::Flag(true)));
        assert!(option.parse("yes").is_err());
        let cover = PostOption::duration("cover-at", "Cover frame.");
        assert_eq!(
            cover.parse("2.5s"),
            Ok(OptionValue::Duration(Duration::from_millis(2500)))
        );
        assert_eq!(cover.kind.value_name(), Some("TIME"));
    }
}
