//! keryx platform: YouTube.

/// Referenced by the keryx binary so the linker keeps this crate's registration.
pub fn link() {}
