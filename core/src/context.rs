//! What a platform gets from the CLI for one command: config, paths, secrets, HTTP, and a way
//! to talk to the user. Built once per process by the CLI.

use std::sync::Arc;

use crate::config::Config;
use crate::error::Result;
use crate::paths::Paths;
use crate::secrets::SecretStore;

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

/// How a platform talks to the user. The CLI implements it for terminals, logs and `--json`.
pub trait Ui: Send + Sync {
    /// A line of information for humans (stderr under `--json`; hidden by `-q`).
    fn info(&self, message: &str);
    /// Something the user must see to go on, e.g. the URL to open to authorise (never hidden).
    fn show(&self, message: &str);
    /// Something the user should act on; shown even with `-q`.
    fn warn(&self, message: &str);
    /// Questions, when a person is there to answer: `None` with `--yes`, `--json` or no terminal.
    fn prompter(&self) -> Option<&dyn Prompter>;
}

/// Interactive questions on a terminal.
pub trait Prompter: Send + Sync {
    /// Picks one of `options`; there is no default, the user must choose.
    fn select(&self, prompt: &str, options: &[String]) -> Result<usize>;
    /// A yes/no question with the given default.
    fn confirm(&self, prompt: &str, default: bool) -> Result<bool>;
    /// A line of text, `default` when the user just presses Enter.
    fn input(&self, prompt: &str, default: &str) -> Result<String>;
}

/// Progress of one platform's post: bytes while uploading, then named phases.
pub trait Progress: Send + Sync {
    /// A new phase, e.g. `uploading`, `processing`. `total` is the byte count for byte phases.
    fn phase(&self, name: &str, total: Option<u64>);
    /// Bytes confirmed by the server so far in the current phase.
    fn set_position(&self, bytes: u64);
    /// A short status word during a non-byte phase (e.g. TikTok's `PROCESSING_UPLOAD`).
    fn status(&self, message: &str);
}

/// Progress that goes nowhere, for library use and tests.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _name: &str, _total: Option<u64>) {}
    fn set_position(&self, _bytes: u64) {}
    fn status(&self, _message: &str) {}
}
