//! Runs the shell examples of the docs, so the docs stay true.
//!
//! A fenced block whose info string is `sh test` (GitHub shows it as plain `sh`) is run by
//! `bash -eo pipefail`, alone, in a fresh directory holding `reel.mp4` (the sample video), with
//! a fresh HOME and XDG directories, no client secrets, and the keryx binaries first on PATH.
//! It passes when bash exits 0 within two minutes; whatever it starts in the background is
//! killed afterwards. Blocks marked `sh test-fixture` are run the same way by the fixture
//! platform's tests, which have `keryx-with-fixture`.
//!
//! Shared by `tests/e2e/docs.rs` and `tests/fixture-platform/tests/docs.rs` (`#[path]`), so it
//! names no binary itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One runnable example.
pub struct Block {
    pub file: PathBuf,
    /// 1-based line of the opening fence.
    pub line: usize,
    pub script: String,
}

/// Every block in `markdown` whose info string is exactly `sh <marker>`.
pub fn blocks(file: &Path, marker: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let mut found = Vec::new();
    let mut open: Option<(usize, bool, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None if trimmed.starts_with("```") => {
                let info: Vec<&str> = trimmed.trim_start_matches('`').split_whitespace().collect();
                let runnable = info.len() == 2 && info[0] == "sh" && info[1] == marker;
                open = Some((index + 1, runnable, String::new()));
            }
            None => {}
            Some((start, runnable, script)) => {
                if trimmed.starts_with("```") {
                    if *runnable {
                        found.push(Block {
                            file: file.to_path_buf(),
                            line: *start,
                            script: std::mem::take(script),
                        });
                    }
                    open = None;
                } else {
                    script.push_str(line);
                    script.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "{}: a code fence is not closed",
        file.display()
    );
    found
}

/// Every command line in the `sh` blocks of `markdown` (runnable or not) that starts with
/// `program `: for checking that the docs only use subcommands that exist.
pub fn command_lines(file: &Path, program: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut lines = Vec::new();
    let mut in_sh = false;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && info.split_whitespace().next() == Some("sh");
            continue;
        }
        if in_sh {
            // `VAR=value keryx ...`, `$ keryx ...`, `keryx ...`
            let command = trimmed
                .split_whitespace()
                .skip_while(|w| w.contains('=') || *w == "$")
                .collect::<Vec<_>>()
                .join(" ");
            if command.starts_with(&format!("{program} ")) || command == program {
                lines.push((index + 1, command));
            }
        }
    }
    lines
}

/// Runs `block` with the binaries in `bin_dir` first on PATH and the sample video as
/// `reel.mp4`. Panics with the block's place and output when it fails.
pub fn run(block: &Block, bin_dir: &Path, sample: &Path) {
    let home = tempfile::tempdir().unwrap();
    let work = home.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(sample, work.join("reel.mp4")).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = format!("set -eo pipefail\n{}", block.script);
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("TMPDIR", home.path())
        .env("KERYX_RETRY_BASE_MS", "20")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keryx-test-bus",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so background jobs it starts can be killed with it.
        command.process_group(0);
    }
    let mut child = command.spawn().expect("bash");
    let pid = child.id();
    // Read on threads, so a chatty block cannot fill a pipe and stall.
    let read = |stream: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut stream = stream;
            let _ = stream.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Whatever the block left running (an emulator in the background) goes too.
    let _ = Command::new("kill")
        .args(["-9", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let place = format!("{}:{}", block.file.display(), block.line);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "the example at {place} failed ({status})\n--- script\n{}--- stdout\n{stdout}\n--- stderr\n{stderr}",
            block.script
        ),
        None => panic!(
            "the example at {place} did not finish within 2 minutes\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        ),
    }
    assert!(
        !stderr.contains("panicked"),
        "keryx panicked in the example at {place}:\n{stderr}"
    );
}
