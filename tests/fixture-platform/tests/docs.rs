//! The examples of docs/adding-a-platform.md marked `sh test-fixture` run with
//! `keryx-with-fixture` on PATH, so the walkthrough stays true.

use std::path::Path;

// Shared with tests/e2e/docs.rs, which also uses its command-line scan.
#[allow(dead_code)]
#[path = "../../e2e/doc_blocks.rs"]
mod doc_blocks;

#[test]
fn adding_a_platform_examples_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = root.join("docs/adding-a-platform.md");
    let blocks = doc_blocks::blocks(&doc, "test-fixture");
    assert!(
        !blocks.is_empty(),
        "no `sh test-fixture` block in {}",
        doc.display()
    );
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_keryx-with-fixture"))
        .parent()
        .unwrap();
    for block in &blocks {
        doc_blocks::run(block, bin_dir, &root.join("assets/sample.mp4"));
    }
}
