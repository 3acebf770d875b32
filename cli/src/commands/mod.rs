//! One module per subcommand. Each takes its parsed arguments and a [`keryx_core::Context`].

pub mod auth;
pub mod completions;
pub mod demo;
pub mod emulator;
pub mod man;
pub mod platforms;
pub mod post;
pub mod status;
