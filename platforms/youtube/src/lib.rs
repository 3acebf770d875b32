//! keryx platform: YouTube.

pub mod emulator;

/// Referenced by the keryx binary so the linker keeps this crate's registration.
pub fn link() {}
