//! The secret store: OS keychain or config-file fallback. (Stub: the API is the contract.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::SecretsMode;
use crate::context::Ui;
use crate::error::Result;
use crate::secret::Secret;

/// The keychain service name every keryx secret is stored under.
pub const KEYCHAIN_SERVICE: &str = "keryx";

/// Where a secret store keeps its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Keychain,
    ConfigFile,
}

pub struct SecretStore {
    mode: SecretsMode,
    config_path: PathBuf,
    ui: Arc<dyn Ui>,
}

impl SecretStore {
    pub fn new(mode: SecretsMode, config_path: &Path, ui: Arc<dyn Ui>) -> Self {
        SecretStore { mode, config_path: config_path.to_path_buf(), ui }
    }

    /// Which backend answers (auto mode probes the keychain once and says once when it falls back).
    pub fn backend(&self) -> Backend {
        let _ = (&self.mode, &self.config_path, &self.ui);
        Backend::ConfigFile
    }

    pub fn get(&self, name: &str) -> Result<Option<Secret>> {
        let _ = name;
        Ok(None)
    }

    pub fn set(&self, name: &str, value: &Secret) -> Result<()> {
        let _ = (name, value);
        Ok(())
    }

    pub fn delete(&self, name: &str) -> Result<()> {
        let _ = name;
        Ok(())
    }
}

/// The environment variable for a platform's client secret: `TIKTOK_CLIENT_SECRET` for `tiktok`.
pub fn client_secret_env(platform: &str) -> String {
    format!("{}_CLIENT_SECRET", platform.to_ascii_uppercase())
}
