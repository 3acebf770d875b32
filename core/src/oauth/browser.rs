//! Opening the authorisation URL in the user's browser.

use std::process::Stdio;

use tokio::process::{Child, Command};

/// How to open the authorisation URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Browser {
    /// `$BROWSER` when set, else the desktop's opener (`xdg-open`, `open`, Windows' URL handler).
    #[default]
    System,
    /// A shell command run like `$BROWSER`: `sh -c "<command> \"$1\"" sh <url>`, so it can carry
    /// arguments (e.g. `firefox --private-window`).
    Command(String),
}

/// Starts the browser on `url` and returns the child, whose exit the flow watches to tell the
/// user to open the URL by hand when the opener failed. `Err` is a message for the user.
pub(crate) fn open(browser: &Browser, url: &str) -> Result<Child, String> {
    let command = match browser {
        Browser::Command(command) => Some(command.clone()),
        Browser::System => std::env::var("BROWSER")
            .ok()
            .filter(|b| !b.trim().is_empty()),
    };
    let mut cmd = match &command {
        // The URL is passed as "$1", never spliced into the script, so `&` and `;` in it are inert.
        Some(command) => {
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(format!("{command} \"$1\""))
                .arg("sh")
                .arg(url);
            cmd
        }
        None => system_opener(url),
    };
    // The browser must not read the stdin keryx reads pasted URLs from, and its chatter
    // (Chromium's in particular) would bury the URL keryx just printed.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let program = command.unwrap_or_else(|| format!("{:?}", cmd.as_std().get_program()));
    cmd.spawn()
        .map_err(|e| format!("cannot start the browser ({program}: {e})"))
}

#[cfg(target_os = "macos")]
fn system_opener(url: &str) -> Command {
    let mut cmd = Command::new("open");
    cmd.arg(url);
    cmd
}

#[cfg(windows)]
fn system_opener(url: &str) -> Command {
    // Not `cmd /c start`: cmd.exe re-parses its command line, and the `&` between query
    // parameters would end the command there. The URL protocol handler takes it verbatim.
    let mut cmd = Command::new("rundll32");
    cmd.arg("url.dll,FileProtocolHandler").arg(url);
    cmd
}

#[cfg(not(any(target_os = "macos", windows)))]
fn system_opener(url: &str) -> Command {
    let mut cmd = Command::new("xdg-open");
    cmd.arg(url);
    cmd
}
