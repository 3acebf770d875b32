//! Generates the one place that references every platform crate.
//!
//! A platform registers itself with `inventory`, but the linker drops a crate the binary never
//! references, and its registration with it. So every `keryx-*` dependency in this crate's
//! Cargo.toml (except core) is a platform, and this script writes a function that calls each
//! one's `link()`. Adding a platform is therefore one dependency line in `cli/Cargo.toml`.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let manifest_path = Path::new(&manifest_dir).join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest_path.display());
    let manifest = fs::read_to_string(&manifest_path).expect("cli/Cargo.toml is readable");

    let mut crates = Vec::new();
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if !in_dependencies {
            continue;
        }
        let name = line.split(['=', ' ', '.']).next().unwrap_or("");
        if name.starts_with("keryx-") && name != "keryx-core" {
            crates.push(name.to_string());
        }
    }

    let calls: String = crates
        .iter()
        .map(|name| format!("    {}::link();\n", name.replace('-', "_")))
        .collect();
    let names: String = crates.iter().map(|name| format!("\"{name}\", ")).collect();
    let generated = format!(
        "/// Calls every platform crate's `link()` so the linker keeps its registration.\n\
         pub fn link_platforms() {{\n{calls}}}\n\n\
         /// The platform crates this binary was built with, from cli/Cargo.toml.\n\
         pub const LINKED_PLATFORM_CRATES: &[&str] = &[{names}];\n"
    );
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out_dir).join("linked_platforms.rs"), generated)
        .expect("OUT_DIR is writable");
}
