//! What a platform gets from the CLI for one command: config, paths, secrets, HTTP, and a way
//! to talk to the user. Built once per process by the CLI.

use std::sync::Arc;

use crate::config::Config;
use crate::paths::Paths;
use crate::secrets::SecretStore;
pub use crate::ui::{NoProgress, Progress, Prompter, Ui};

/// Everything a platform method needs besides its own arguments.
pub struct Context {
    /// The config file as loaded at start. Writers re-read the file on disk (see `config`).
    pub config: Config,
    pub paths: Paths,
    pub secrets: SecretStore,
    /// Shared HTTP client: redirects are not followed (TikTok's 3xx and Google's 308 are answers,
    /// not directions), timeouts apply to connecting and to silence, never to a whole upload.
    pub http: reqwest::Client,
    pub ui: Arc<dyn Ui>,
}
