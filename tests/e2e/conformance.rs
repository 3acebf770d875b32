//! The conformance suite (the `keryx-conformance` crate) for every built-in platform, through
//! the workspace's `keryx` binary. A new platform adds its id to `conformance!(...)`.

use crate::support::{EmulatorProcess, Home};

/// [`keryx_conformance::suite::setup`] with the built-in platforms linked into this binary.
pub fn setup(platform: &str) -> (Home, EmulatorProcess) {
    keryx_cli::link_platforms();
    keryx_conformance::suite::setup(platform)
}

keryx_conformance::conformance!(
    binary = env!("CARGO_BIN_EXE_keryx"),
    link = keryx_cli::link_platforms;
    bluesky, instagram, tiktok, youtube
);

/// Every registered platform runs the suite.
#[test]
fn every_platform_runs_the_suite() {
    keryx_cli::link_platforms();
    for platform in keryx_core::registry() {
        assert!(
            COVERED.contains(&platform.id()),
            "add {} to `conformance!(...)` in tests/e2e/conformance.rs",
            platform.id()
        );
    }
}
