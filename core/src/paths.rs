//! Where keryx keeps its files.
//!
//! Config (what the user writes) and state (what keryx writes: pending authorisations, locks,
//! upload sessions, the post ledger) live apart, as the XDG base directory spec asks, so a user
//! can keep the config in version control without ever committing state.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that names the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "KERYX_CONFIG";

#[derive(Debug, Clone)]
pub struct Paths {
    /// The YAML config file (it may not exist yet).
    pub config_file: PathBuf,
    /// keryx's own state: `~/.local/state/keryx` on Linux.
    pub state_dir: PathBuf,
}

impl Paths {
    /// `--config PATH`, else `$KERYX_CONFIG`, else the platform's config dir. The state dir
    /// honours `XDG_STATE_HOME` (on Linux; elsewhere the platform's local data dir).
    pub fn resolve(explicit_config: Option<&Path>) -> Result<Paths> {
        let dirs = directories::ProjectDirs::from("", "", "keryx").ok_or_else(|| {
            Error::input("cannot find a home directory for keryx's files")
                .with_hint("set HOME, or pass --config PATH and set XDG_STATE_HOME")
        })?;
        let config_file = match explicit_config {
            Some(path) => path.to_path_buf(),
            None => match std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
                Some(path) => PathBuf::from(path),
                None => dirs.config_dir().join("config.yaml"),
            },
        };
        let state_dir = dirs
            .state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf();
        Ok(Paths {
            config_file,
            state_dir,
        })
    }

    /// A subdirectory of the state dir, created (mode 0700) if missing.
    pub fn state_subdir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.state_dir.join(name);
        create_private_dir(&dir)?;
        Ok(dir)
    }
}

/// Creates `dir` and its parents; the leaf gets mode 0700 on Unix because it may hold secrets.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::input(format!("cannot create directory {}", dir.display()))
            .with_source(e)
            .with_hint("check that the parent directory exists and is writable")
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}
