//! The docs stay true: their runnable examples run (see `doc_blocks.rs` for the marker), and
//! every `keryx` command line they show names a real subcommand with real flags.

use std::path::{Path, PathBuf};

use crate::support::*;

#[path = "doc_blocks.rs"]
mod doc_blocks;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// README.md and every docs/*.md.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files.retain(|f| f.exists());
    files
}

#[test]
fn runnable_examples_in_the_docs_work() {
    let bin_dir = Path::new(KERYX).parent().unwrap();
    let sample = root().join("assets/sample.mp4");
    let mut ran = Vec::new();
    for file in documents() {
        for block in doc_blocks::blocks(&file, "test") {
            doc_blocks::run(&block, bin_dir, &sample);
            ran.push(format!("{}:{}", file.display(), block.line));
        }
    }
    // The three docs written for newcomers carry runnable examples; losing them all by a
    // marker typo must not pass silently.
    for doc in ["configuration.md", "architecture.md"] {
        assert!(
            ran.iter().any(|place| place.contains(doc)),
            "no runnable example ran in docs/{doc}: {ran:?}"
        );
    }
    eprintln!("ran {} doc examples: {ran:#?}", ran.len());
}

/// The subcommands `keryx --help` lists.
fn subcommands(home: &Home) -> Vec<String> {
    let help = home.run(&["--help"]);
    help.expect_code(0);
    help.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn docs_name_only_real_subcommands_and_flags() {
    let home = Home::new();
    let known = subcommands(&home);
    assert!(known.contains(&"post".to_string()), "{known:?}");
    let global = home.run(&["--help"]).stdout.clone();
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in documents() {
        for (line, command) in doc_blocks::command_lines(&file, "keryx") {
            let words: Vec<&str> = command.split_whitespace().collect();
            // Global options may come before the subcommand.
            let mut rest = words[1..].iter().copied().peekable();
            while let Some(word) = rest.peek() {
                match *word {
                    "--config" => {
                        rest.next();
                        rest.next();
                    }
                    w if w.starts_with('-') => {
                        rest.next();
                    }
                    _ => break,
                }
            }
            let Some(subcommand) = rest.next() else {
                continue;
            };
            let place = format!("{}:{line}", file.display());
            if !known.iter().any(|k| k == subcommand) {
                problems.push(format!("{place}: `keryx {subcommand}` is not a subcommand"));
                continue;
            }
            let help = home.run(&[subcommand, "--help"]).stdout;
            for word in &words {
                let Some(flag) = word.strip_prefix("--") else {
                    continue;
                };
                let flag = format!("--{}", flag.split('=').next().unwrap_or(flag));
                let flag = flag.trim_end_matches([';', ')', '`']).to_string();
                if flag.len() > 2 && !help.contains(&flag) && !global.contains(&flag) {
                    problems.push(format!("{place}: `keryx {subcommand}` has no {flag}"));
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} keryx command lines found in the docs"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}
