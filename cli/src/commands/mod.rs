//! One module per subcommand. Each takes its parsed arguments and a [`keryx_core::Context`].

pub mod auth;
pub mod completions;
pub mod demo;
pub mod emulator;
pub mod history;
pub mod man;
pub mod platforms;
pub mod post;
pub mod post_all;
pub mod status;

/// Marks an error whose details the command has already printed (a summary table, a list of
/// problems, a JSON array): [`crate::run`] then only turns it into the exit code.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported above")
    }
}

impl std::error::Error for Reported {}

/// `error`, marked as already printed; its kind still decides the exit code.
pub fn reported(error: keryx_core::Error) -> keryx_core::Error {
    error.with_source(Reported)
}

/// Whether `error` was printed by the command itself.
pub fn is_reported(error: &keryx_core::Error) -> bool {
    std::error::Error::source(error).is_some_and(|source| source.is::<Reported>())
}
