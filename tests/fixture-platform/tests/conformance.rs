//! The conformance suite for the fixture platform, as any platform crate outside the workspace
//! would run it: one macro call, with a binary that is keryx plus this platform.

keryx_conformance::conformance!(
    binary = env!("CARGO_BIN_EXE_keryx-with-fixture"),
    link = keryx_fixture_platform::link;
    fixture
);

#[test]
fn the_suite_covers_this_platform() {
    assert_eq!(COVERED, ["fixture"]);
}
