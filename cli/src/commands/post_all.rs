//! `keryx post all VIDEO`: the same video on every enabled platform, in parallel, once.
//!
//! The job itself (preflight of every target, the ledger rules, parallel publishing with
//! cross-process claims, the record of every attempt) is [`keryx_core::post`]; this command
//! picks the targets (`--only`, `--skip`), and renders: the one list of preflight problems,
//! the dry run's plans, the progress bars, and the summary table (or, with `--json`, one array
//! of results). Exit 0 when every target is posted or already posted, else the most serious
//! failure's: 2 bad input, 4 authorisation required, 1 a platform failed.

use keryx_core::post::{self, Ending, Outcome, Plan, Refused, Tracker};
use keryx_core::{Context, Error, Platform, Result, VideoFile};
use serde::Serialize;

use super::post::{plan_json, request, video_json, video_summary};
use crate::args::PostArgs;
use crate::progress;
use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode, args: PostArgs) -> Result<()> {
    let targets = targets(ctx, &args)?;
    let request = request(&args, targets.clone(), !args.force);
    let job = match post::preflight(ctx, &request).await {
        Ok(job) => job,
        Err(refused) => {
            report_problems(mode, &targets, &refused);
            let kind = post::most_serious(refused.errors());
            return Err(super::reported(Error::of_kind(
                kind,
                format!(
                    "preflight found {} problem(s); nothing was sent",
                    refused.count()
                ),
            )));
        }
    };
    if mode.json {
        // The summary table says it too; under --json this is the only line for people.
        for (platform, plan) in job.plans() {
            if let Plan::AlreadyPosted(record) = plan {
                ctx.ui.info(&format!(
                    "{}: already {} (use --force to post again)",
                    platform.id(),
                    post::posted_where(record)
                ));
            }
        }
    }
    if args.dry_run {
        print_dry_run(mode, job.plans(), job.video());
        return Ok(());
    }

    let multi = progress::display();
    let track = |platform: &'static dyn Platform| -> Box<dyn Tracker> {
        Box::new(progress::tracker(mode, multi, platform.id()))
    };
    let outcomes = job.publish(ctx, &track).await;

    print_summary(mode, &outcomes);
    let failures: Vec<&Error> = outcomes
        .iter()
        .filter_map(|o| match &o.ending {
            Ending::Failed(e) => Some(e),
            _ => None,
        })
        .collect();
    let failed = failures.len();
    if failed > 0 {
        let message = format!(
            "{failed} of {} platform(s) failed; run the same command again to retry only those",
            outcomes.len()
        );
        if !mode.json {
            eprintln!("error: {message}");
        }
        return Err(super::reported(Error::of_kind(
            post::most_serious(failures),
            message,
        )));
    }
    Ok(())
}

/// Every enabled platform, or those named by `--only`, minus `--skip`.
fn targets(ctx: &Context, args: &PostArgs) -> Result<Vec<&'static dyn Platform>> {
    for id in args.only.iter().chain(&args.skip) {
        crate::platform(id)?;
    }
    let selected: Vec<&'static dyn Platform> = keryx_core::registry()
        .into_iter()
        .filter(|p| {
            if args.only.is_empty() {
                ctx.config.is_enabled(p.id())
            } else {
                args.only.iter().any(|id| id == p.id())
            }
        })
        .filter(|p| !args.skip.iter().any(|id| id == p.id()))
        .collect();
    if selected.is_empty() {
        let error = if args.only.is_empty() && args.skip.is_empty() {
            Error::input("no platform is enabled, so `keryx post all` has nowhere to post")
                .with_hint(
                    "run `keryx auth <platform>` for each platform you post to (it enables it); \
                 `keryx platforms` lists them",
                )
        } else {
            Error::input("--only and --skip leave no platform to post to")
                .with_hint("`keryx platforms` lists the platforms and which are enabled")
        };
        return Err(error);
    }
    Ok(selected)
}

/// One element of `--json`'s array. Every key is always present.
#[derive(Serialize)]
struct Entry {
    platform: &'static str,
    /// `posted`, `already_posted`, `failed`, `dry_run`; after failed preflight, `invalid` (its
    /// problems in `errors`) or `not_sent` (fine, but nothing was sent because of the others).
    result: &'static str,
    /// The platform's status word (`PUBLISH_COMPLETE`, `uploaded`, ...).
    status: Option<String>,
    id: Option<String>,
    post_id: Option<String>,
    url: Option<String>,
    privacy: Option<String>,
    account: Option<String>,
    /// Seconds spent publishing (not preflight).
    elapsed_secs: Option<f64>,
    /// For `already_posted`: when the ledger recorded it.
    posted_at: Option<String>,
    notes: Vec<String>,
    errors: Vec<ErrorEntry>,
    /// For `dry_run`: what would be sent.
    plan: Option<serde_json::Value>,
    /// What keryx read from the video's header (null when the file could not be read).
    video: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ErrorEntry {
    message: String,
    hint: Option<String>,
}

impl ErrorEntry {
    fn from(error: &Error) -> Self {
        ErrorEntry {
            message: error.to_string(),
            hint: error.hint().map(str::to_string),
        }
    }
}

impl Entry {
    fn new(platform: &'static dyn Platform, result: &'static str) -> Entry {
        Entry {
            platform: platform.id(),
            result,
            status: None,
            id: None,
            post_id: None,
            url: None,
            privacy: None,
            account: None,
            elapsed_secs: None,
            posted_at: None,
            notes: Vec::new(),
            errors: Vec::new(),
            plan: None,
            video: None,
        }
    }

    fn from_outcome(finished: &Outcome) -> Entry {
        let mut entry = match &finished.ending {
            Ending::Posted(report) => Entry {
                status: Some(report.status.clone()),
                id: report.id.clone(),
                post_id: report.post_id.clone(),
                url: report.url.clone(),
                privacy: report.privacy.clone(),
                account: report.account.clone(),
                notes: report.notes.clone(),
                ..Entry::new(finished.platform, "posted")
            },
            Ending::AlreadyPosted(record) => Entry {
                status: record.status.clone(),
                id: record.id.clone(),
                post_id: record.post_id.clone(),
                url: record.url.clone(),
                privacy: record.privacy.clone(),
                account: record.account.clone(),
                posted_at: record.finished_at.clone(),
                ..Entry::new(finished.platform, "already_posted")
            },
            Ending::Failed(error) => Entry {
                errors: vec![ErrorEntry::from(error)],
                ..Entry::new(finished.platform, "failed")
            },
        };
        entry.elapsed_secs = finished
            .elapsed
            .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0);
        entry
    }
}

fn print_json(entries: &[Entry]) {
    match serde_json::to_string(entries) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot encode the results as JSON: {e}"),
    }
}

/// The one list of everything preflight found (stderr), and with `--json` the array (stdout).
fn report_problems(mode: OutputMode, targets: &[&'static dyn Platform], problems: &Refused) {
    let video = problems.video.as_ref();
    eprintln!(
        "error: preflight found {} problem(s); nothing was sent:",
        problems.count()
    );
    let print = |prefix: &str, error: &Error| {
        eprintln!("  - {prefix}{error}");
        if let Some(hint) = error.hint() {
            eprintln!("      hint: {hint}");
        }
    };
    for error in &problems.general {
        print("", error);
    }
    for (platform, error) in &problems.platforms {
        print(&format!("{}: ", platform.id()), error);
    }
    if mode.json {
        let entries: Vec<Entry> = targets
            .iter()
            .map(|&platform| {
                let mut errors: Vec<ErrorEntry> =
                    problems.general.iter().map(ErrorEntry::from).collect();
                errors.extend(
                    problems
                        .platforms
                        .iter()
                        .filter(|(p, _)| p.id() == platform.id())
                        .map(|(_, e)| ErrorEntry::from(e)),
                );
                let result = if errors.is_empty() {
                    "not_sent"
                } else {
                    "invalid"
                };
                Entry {
                    errors,
                    video: video.map(video_json),
                    ..Entry::new(platform, result)
                }
            })
            .collect();
        print_json(&entries);
    }
}

fn print_dry_run(mode: OutputMode, plans: &[(&'static dyn Platform, Plan)], video: &VideoFile) {
    if mode.json {
        let entries: Vec<Entry> = plans
            .iter()
            .map(|(platform, plan)| match plan {
                Plan::Ready(prepared) => Entry {
                    plan: Some(plan_json(&prepared.describe())),
                    video: Some(video_json(video)),
                    ..Entry::new(*platform, "dry_run")
                },
                Plan::AlreadyPosted(record) => Entry {
                    video: Some(video_json(video)),
                    ..Entry::from_outcome(&Outcome {
                        platform: *platform,
                        ending: Ending::AlreadyPosted((**record).clone()),
                        elapsed: None,
                    })
                },
            })
            .collect();
        print_json(&entries);
        return;
    }
    println!("Dry run: nothing was sent.");
    println!("  video: {}", video_summary(video));
    for (platform, plan) in plans {
        match plan {
            Plan::Ready(prepared) => {
                println!("{} would get:", platform.display_name());
                for (key, value) in prepared.describe() {
                    println!("  {key}: {value}");
                }
            }
            Plan::AlreadyPosted(record) => println!(
                "{}: already {}; would be skipped (use --force to post again)",
                platform.display_name(),
                post::posted_where(record)
            ),
        }
    }
}

/// The table on stdout, then what to know and what to do, platform by platform.
fn print_summary(mode: OutputMode, finished: &[Outcome]) {
    if mode.json {
        let entries: Vec<Entry> = finished.iter().map(Entry::from_outcome).collect();
        print_json(&entries);
        return;
    }
    let rows: Vec<[String; 5]> = finished
        .iter()
        .map(|f| {
            let dash = || "-".to_string();
            let elapsed = f
                .elapsed
                .map(|d| format!("{:.1} s", d.as_secs_f64()))
                .unwrap_or_else(dash);
            match &f.ending {
                Ending::Posted(report) => [
                    f.platform.id().to_string(),
                    "posted".to_string(),
                    report
                        .url
                        .clone()
                        .or_else(|| report.id.clone())
                        .unwrap_or_else(dash),
                    report.privacy.clone().unwrap_or_else(dash),
                    elapsed,
                ],
                Ending::AlreadyPosted(record) => [
                    f.platform.id().to_string(),
                    "already posted".to_string(),
                    record
                        .url
                        .clone()
                        .or_else(|| record.id.clone())
                        .unwrap_or_else(dash),
                    record.privacy.clone().unwrap_or_else(dash),
                    elapsed,
                ],
                Ending::Failed(_) => [
                    f.platform.id().to_string(),
                    "FAILED".to_string(),
                    dash(),
                    dash(),
                    elapsed,
                ],
            }
        })
        .collect();
    let header = ["PLATFORM", "RESULT", "ID / URL", "PRIVACY", "ELAPSED"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
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
    for f in finished {
        let id = f.platform.id();
        match &f.ending {
            Ending::Posted(report) => {
                for note in &report.notes {
                    println!("{id}: note: {note}");
                }
            }
            Ending::AlreadyPosted(record) => println!(
                "{id}: already {} (use --force to post again)",
                post::posted_where(record)
            ),
            Ending::Failed(error) => {
                println!("{id}: error: {error}");
                if let Some(hint) = error.hint() {
                    println!("{id}:   hint: {hint}");
                }
            }
        }
    }
}
