//! Shell integration: `keryx completions <shell>` and `keryx man`, checked by the shells and the
//! roff formatter that will read them. A missing shell skips locally with a message; bash and
//! groff (or man) are required under CI.

use std::path::Path;
use std::process::Command;

use crate::support::*;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn require(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{tool} is required under CI"
    );
    eprintln!("SKIPPED: {tool} is not installed");
    false
}

fn write(home: &Home, name: &str, text: &str) -> std::path::PathBuf {
    let path = home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `tool args... file` and fails with its stderr when it refuses the file.
fn accepts(tool: &str, args: &[&str], file: &Path) {
    let output = Command::new(tool).args(args).arg(file).output().unwrap();
    assert!(
        output.status.success(),
        "{tool} refused {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn bash_completion_parses_and_completes_subcommands_and_platforms() {
    let home = Home::new();
    let run = home.run(&["completions", "bash"]);
    run.expect_code(0);
    assert!(run.stdout.contains("complete -F"), "{}", run.stdout);
    let script = write(&home, "keryx.bash", &run.stdout);
    if !require("bash") {
        return;
    }
    accepts("bash", &["-n"], &script);
    // Load it into a shell and ask it what it completes.
    let complete = |words: &str, index: usize| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={index}; COMP_LINE='{words}'; \
             COMP_POINT=${{#COMP_LINE}}; _keryx keryx; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let output = Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let subcommands = complete("keryx d", 1);
    assert!(subcommands.lines().any(|l| l == "demo"), "{subcommands}");
    let platforms = complete("keryx auth ''", 2);
    assert!(platforms.lines().any(|l| l == "tiktok"), "{platforms}");
    assert!(platforms.lines().any(|l| l == "youtube"), "{platforms}");
    let post = complete("keryx post ''", 2);
    assert!(post.lines().any(|l| l == "all"), "{post}");
}

#[test]
fn zsh_fish_and_powershell_completions() {
    let home = Home::new();
    for (shell, tool, args, marker) in [
        ("zsh", "zsh", &["-n"][..], "#compdef keryx"),
        ("fish", "fish", &["--no-execute"][..], "complete -c keryx"),
        (
            "powershell",
            "pwsh",
            &["-NoProfile", "-File"][..],
            "Register-ArgumentCompleter",
        ),
        ("elvish", "elvish", &["-compileonly"][..], "edit:completion"),
    ] {
        let run = home.run(&["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        let script = write(&home, &format!("keryx.{shell}"), &run.stdout);
        if have(tool) && shell != "powershell" {
            accepts(tool, args, &script);
        } else {
            eprintln!("not checked by {tool} (not installed, or it would run the script)");
        }
    }
    home.run(&["completions", "tcsh"]).expect_code(2);
}

#[test]
fn man_page_is_roff_that_formats_cleanly() {
    let home = Home::new();
    let run = home.run(&["man"]);
    run.expect_code(0);
    let page = &run.stdout;
    assert!(page.starts_with(".ie") || page.contains("\n.TH"), "{page}");
    assert!(page.contains(".TH keryx 1"), "{page}");
    for subcommand in ["auth", "post", "demo", "emulator", "completions"] {
        assert!(
            page.contains(subcommand),
            "{subcommand} missing from the man page"
        );
    }
    let file = write(&home, "keryx.1", page);
    if have("groff") {
        let output = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(output.status.success());
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "",
            "groff warned about the man page"
        );
    } else if require("man") {
        accepts("man", &["-l"], &file);
    }

    let dir = home.path().join("man1");
    home.run(&["man", "--out-dir", dir.to_str().unwrap()])
        .expect_code(0);
    for name in ["keryx.1", "keryx-post.1", "keryx-auth.1", "keryx-demo.1"] {
        let page = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(page.contains(".TH"), "{name}: {page}");
    }
}
