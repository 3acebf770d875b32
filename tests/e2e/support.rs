//! The end-to-end harness is the conformance crate's ([`keryx_conformance::support`]): a
//! throwaway home, the real `keryx` binary, and a running `keryx emulator` process. This module
//! adds what only the workspace's own binary has.

pub use keryx_conformance::support::*;

/// The binary these tests run: keryx with every built-in platform.
pub const KERYX: &str = env!("CARGO_BIN_EXE_keryx");

/// [`keryx_conformance::support::configure_for_emulator`], with the built-in platforms linked
/// into this test binary so their emulators' client configs can be read.
pub fn configure_for_emulator(
    home: &mut Home,
    emulator: &EmulatorProcess,
    platforms: &[&str],
    extra: &str,
) {
    keryx_cli::link_platforms();
    keryx_conformance::support::configure_for_emulator(home, emulator, platforms, extra);
}
