//! keryx, plus the fixture platform: a private build of keryx with one more platform is this
//! file. `link()` keeps the platform's registration in the binary; the CLI finds it in the
//! registry like any other.

fn main() {
    keryx_fixture_platform::link();
    keryx_cli::main()
}
