//! One module per subcommand. Each takes its parsed arguments and a [`keryx_core::Context`].

pub mod auth;
pub mod emulator;
pub mod platforms;
pub mod post;
pub mod status;
