//! `keryx history`: what the ledger says was posted where, one line per attempt.

use keryx_core::Result;
use keryx_core::ledger::{Ledger, Outcome, display_time};
use keryx_core::paths::Paths;

use crate::args::HistoryArgs;
use crate::ui::OutputMode;

/// Needs only the state dir: the history stays readable when the config is broken.
pub fn run(paths: &Paths, mode: OutputMode, args: HistoryArgs) -> Result<()> {
    let ledger = Ledger::new(paths);
    let history = ledger.read()?;
    for warning in history.warnings(ledger.path()) {
        eprintln!("warning: {warning}");
    }
    let mut attempts = history.attempts();
    if let Some(account) = &args.account {
        // `shorts`, or `youtube:shorts` for one platform's.
        attempts.retain(|r| match account.split_once(':') {
            Some((platform, name)) => r.is_for(platform, name),
            None => r.account_name == *account,
        });
    }
    if mode.json {
        // The attempts as the ledger records them (the final record of each, or its `started`
        // record if it never finished); see `keryx_core::ledger` for the fields.
        match serde_json::to_string(&attempts) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot encode the history as JSON: {e}"),
        }
        return Ok(());
    }
    if attempts.is_empty() {
        println!(
            "Nothing posted yet (the ledger is {}).",
            ledger.path().display()
        );
        return Ok(());
    }
    let rows: Vec<[String; 6]> = attempts
        .iter()
        .map(|r| {
            let result = match r.result {
                Outcome::Started => "unfinished".to_string(),
                other => other.as_str().to_string(),
            };
            let detail = match r.result {
                Outcome::Failed => r.error.clone().unwrap_or_default(),
                _ => r.location().unwrap_or_default(),
            };
            let video = std::path::Path::new(&r.video)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| r.video.clone());
            [
                display_time(&r.started_at),
                r.target(),
                result,
                r.account.clone().unwrap_or_else(|| "-".into()),
                format!(
                    "{video} ({})",
                    r.fingerprint.chars().take(12).collect::<String>()
                ),
                detail,
            ]
        })
        .collect();
    let header = [
        "STARTED",
        "PLATFORM",
        "RESULT",
        "ACCOUNT",
        "VIDEO",
        "URL / ERROR",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()).take(5) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    println!("Ledger: {}", ledger.path().display());
    Ok(())
}
