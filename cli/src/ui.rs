//! How keryx talks to a person: stderr lines, terminal questions, and where results go.
//!
//! Results (what a command produced) go to stdout, as text or as one JSON value with `--json`.
//! Everything else (progress, information, warnings, errors) goes to stderr, so a pipeline can
//! read stdout and a person still sees what happens.

use std::io::{BufRead, IsTerminal, Write};

use keryx_core::{Error, Prompter, Result, Secret, Ui};

use crate::progress::print_line;

/// What the global flags and the terminal say about output.
#[derive(Debug, Clone, Copy)]
pub struct OutputMode {
    pub json: bool,
    pub quiet: bool,
    /// stdin and stderr are terminals, so questions can be asked and bars drawn.
    pub terminal: bool,
    /// `NO_COLOR` is set (https://no-color.org).
    pub no_color: bool,
}

impl OutputMode {
    pub fn detect(json: bool, quiet: bool) -> Self {
        OutputMode {
            json,
            quiet,
            terminal: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }
}

/// The CLI's [`Ui`]: stderr lines plus, when allowed, terminal questions.
pub struct TerminalUi {
    mode: OutputMode,
    prompter: Option<StdinPrompter>,
}

impl TerminalUi {
    /// `ask` is false with `--yes`; questions are also off under `--json` or without a terminal.
    pub fn new(mode: OutputMode, ask: bool) -> Self {
        let prompter = (ask && mode.terminal && !mode.json).then_some(StdinPrompter);
        TerminalUi { mode, prompter }
    }
}

impl Ui for TerminalUi {
    fn info(&self, message: &str) {
        if !self.mode.quiet {
            print_line(message);
        }
    }

    fn show(&self, message: &str) {
        print_line(message);
    }

    fn warn(&self, message: &str) {
        print_line(&format!("warning: {message}"));
    }

    fn prompter(&self) -> Option<&dyn Prompter> {
        self.prompter.as_ref().map(|p| p as &dyn Prompter)
    }
}

/// Questions on the terminal, answered on stdin.
pub struct StdinPrompter;

impl StdinPrompter {
    fn read_line(&self) -> Result<String> {
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::input("cannot read the answer from the terminal").with_source(e))?;
        if read == 0 {
            return Err(Error::input("no answer: standard input was closed")
                .with_hint("pass the choices as flags with --yes"));
        }
        Ok(line.trim().to_string())
    }
}

impl Prompter for StdinPrompter {
    fn select(&self, prompt: &str, options: &[String]) -> Result<usize> {
        loop {
            eprintln!("{prompt}");
            for (i, option) in options.iter().enumerate() {
                eprintln!("  {}) {option}", i + 1);
            }
            eprint!("Choose 1-{}: ", options.len());
            let _ = std::io::stderr().flush();
            let answer = self.read_line()?;
            if let Some(i) = answer
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=options.len()).contains(n))
            {
                return Ok(i - 1);
            }
            if let Some(i) = options.iter().position(|o| o.eq_ignore_ascii_case(&answer)) {
                return Ok(i);
            }
            eprintln!("Please type a number from 1 to {}.", options.len());
        }
    }

    fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        loop {
            eprint!("{prompt} [{}] ", if default { "Y/n" } else { "y/N" });
            let _ = std::io::stderr().flush();
            match self.read_line()?.to_ascii_lowercase().as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("Please answer y or n."),
            }
        }
    }

    fn input(&self, prompt: &str, default: &str) -> Result<String> {
        if default.is_empty() {
            eprint!("{prompt}: ");
        } else {
            eprint!("{prompt} [{default}]: ");
        }
        let _ = std::io::stderr().flush();
        let answer = self.read_line()?;
        Ok(if answer.is_empty() {
            default.to_string()
        } else {
            answer
        })
    }

    fn secret(&self, prompt: &str) -> Result<Secret> {
        // Read from the terminal with echo off, so the secret is neither shown nor kept in the
        // scrollback.
        let typed = rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|e| Error::input("cannot read the secret from the terminal").with_source(e))?;
        Ok(Secret::new(typed.trim()))
    }
}

/// Prints a failed command's error on stderr (or as JSON on stdout with `--json`).
pub fn print_error(error: &Error, json: bool) {
    if json {
        let value = serde_json::json!({
            "ok": false,
            "error": error.to_string(),
            "hint": error.hint(),
            "exit_code": error.exit_code(),
        });
        println!("{value}");
    }
    eprintln!("error: {error}");
    if let Some(hint) = error.hint() {
        eprintln!("  hint: {hint}");
    }
}
