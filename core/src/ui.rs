//! How core and the platforms talk to the user, implemented by the CLI for terminals, logs and
//! `--json`. Its own module so that the secret store (which warns through it) and the context
//! (which carries it) do not import each other.

use crate::error::Result;

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
    /// A secret typed without echo (a password). Provided: refuses, for prompters that cannot
    /// hide what is typed; the caller's error then says where else the secret can come from.
    fn secret(&self, prompt: &str) -> Result<crate::secret::Secret> {
        Err(crate::error::Error::input(format!(
            "cannot ask for a secret here ({prompt})"
        )))
    }
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
