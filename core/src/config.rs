//! The YAML config file. (Stub: the API below is the contract; being implemented.)

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::secret::Secret;

/// Where secrets and tokens are kept (`secrets:` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretsMode {
    /// The OS keychain when one answers, else the config file (said once).
    #[default]
    Auto,
    Keychain,
    File,
}

/// The config as loaded at start of a command.
#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
}

impl Config {
    /// Loads and checks the common keys (`secrets`, `platforms`, and that every key under
    /// `platforms` is one of `known_platforms`). A missing file is an empty config.
    pub fn load(path: &Path, known_platforms: &[&str]) -> Result<Config> {
        let _ = known_platforms;
        Ok(Config { path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file exists on disk.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    pub fn secrets_mode(&self) -> SecretsMode {
        SecretsMode::Auto
    }

    /// `platforms.<platform>.enabled`, false when absent.
    pub fn is_enabled(&self, platform: &str) -> bool {
        let _ = platform;
        false
    }

    /// Deserialises `platforms.<platform>` into `T` (which should `deny_unknown_fields`).
    /// `Ok(None)` when the section is absent. Errors name the file, line and key and say what
    /// is allowed; a secret-looking key (`client_secret`, `*token*`, `password`) is refused
    /// with where it belongs instead.
    pub fn section<T: DeserializeOwned>(&self, platform: &str) -> Result<Option<T>> {
        let _ = platform;
        Ok(None)
    }
}

/// Sets `platforms.<platform>.<key>` to `yaml_scalar` in the file on disk, creating the file and
/// sections if missing, keeping comments and key order; written atomically (temp + rename) with
/// the file's mode kept (0600 for a new file).
pub fn set_platform_key(path: &Path, platform: &str, key: &str, yaml_scalar: &str) -> Result<()> {
    let _ = (path, platform, key, yaml_scalar);
    Ok(())
}

/// The file secret backend: reads `name` from the keryx-managed `stored_secrets:` mapping.
pub fn read_stored_secret(path: &Path, name: &str) -> Result<Option<Secret>> {
    let _ = (path, name);
    Ok(None)
}

/// The file secret backend: sets (or with `None` removes) `name` in `stored_secrets:`; atomic,
/// comments kept, file left 0600.
pub fn write_stored_secret(path: &Path, name: &str, value: Option<&Secret>) -> Result<()> {
    let _ = (path, name, value);
    Ok(())
}
