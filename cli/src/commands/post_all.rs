//! `keryx post all VIDEO`: the same video on every enabled platform, in parallel, once.
//!
//! The job itself (preflight of every target, the ledger rules, parallel publishing with
//! cross-process claims, the record of every attempt) is [`keryx_core::post`]; this command
//! picks the targets (`--only`, `--skip`), and renders: the one list of preflight problems,
//! the dry run's plans, the progress bars, and the summary table (or, with `--json`, one array
//! of results). Exit 0 when every target is posted or already posted, else the most serious
//! failure's: 2 bad input, 4 authorisation required, 1 a platform failed.

use keryx_core::post::{self, Ending, Outcome, Plan, Refused, Tracker};
use keryx_core::target::{self, Target};
use keryx_core::{Context, Error, Result, VideoFile};
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
        for (target, plan) in job.plans() {
            if let Plan::AlreadyPosted(record) = plan {
                ctx.ui.info(&format!(
                    "{}: already {} (use --force to post again)",
                    target.label(),
                    post::posted_where(record)
                ));
            }
        }
    }
    if args.dry_run {
        print_dry_run(mode, job.plans(), job.video());
        let unauthorised: Vec<&Error> = job
            .plans()
            .iter()
            .filter_map(|(_, plan)| match plan {
                Plan::NeedsAuthorisation(e) => Some(e),
                _ => None,
            })
            .collect();
        if !unauthorised.is_empty() {
            return Err(super::reported(Error::of_kind(
                post::most_serious(unauthorised),
                "a target needs authorising again",
            )));
        }
        return Ok(());
    }

    let multi = progress::display();
    let track = |target: &Target| -> Box<dyn Tracker> {
        Box::new(progress::tracker(mode, multi, &target.label()))
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
            "{failed} of {} target(s) failed; run the same command again to retry only those",
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

/// Every enabled account of every enabled platform, or those `--only` names, minus those
/// `--skip` names. `youtube` in either means all of YouTube's accounts (with `--only`: its
/// enabled ones), `youtube:shorts` just that one.
fn targets(ctx: &Context, args: &PostArgs) -> Result<Vec<Target>> {
    let config = &ctx.config;
    let mut only = Vec::new();
    for text in &args.only {
        let (platform, account) = target::parse(text)?;
        match account {
            Some(account) => {
                only.push(target::resolve(config, platform, Some(&account), |_| None)?)
            }
            None => only.extend(
                target::enabled(config)
                    .into_iter()
                    .filter(|t| t.platform.id() == platform.id()),
            ),
        }
    }
    let mut skip = Vec::new();
    for text in &args.skip {
        let (platform, account) = target::parse(text)?;
        if let Some(account) = &account {
            target::resolve(config, platform, Some(account), |_| None)?;
        }
        skip.push((platform.id(), account));
    }
    let chosen = match args.only.is_empty() {
        true => target::enabled(config),
        false => only,
    };
    let mut selected: Vec<Target> = Vec::new();
    for candidate in chosen {
        let skipped = skip.iter().any(|(id, account)| {
            *id == candidate.platform.id()
                && account.as_ref().is_none_or(|a| *a == candidate.account)
        });
        let repeated = selected.iter().any(|t| t.label() == candidate.label());
        if !skipped && !repeated {
            selected.push(candidate);
        }
    }
    if selected.is_empty() {
        let error = if args.only.is_empty() && args.skip.is_empty() {
            Error::input("no platform is enabled, so `keryx post all` has nowhere to post")
                .with_hint(
                    "run `keryx auth <platform>` for each platform you post to (it enables it); \
                 `keryx platforms` lists them",
                )
        } else {
            Error::input("--only and --skip leave no platform to post to").with_hint(
                "`keryx platforms` lists the platforms, their accounts and which are enabled",
            )
        };
        return Err(error);
    }
    selected.sort_by_key(Target::sort_key);
    Ok(selected)
}

/// One element of `--json`'s array. Every key is always present.
#[derive(Serialize)]
struct Entry {
    platform: &'static str,
    /// The platform's account, as the config names it (`default` without `accounts:`), as in
    /// the ledger.
    account_name: String,
    /// `posted`, `already_posted`, `failed`, `dry_run`; after failed preflight, `invalid` (its
    /// problems in `errors`) or `not_sent` (fine, but nothing was sent because of the others).
    result: &'static str,
    /// The platform's status word (`PUBLISH_COMPLETE`, `uploaded`, ...).
    status: Option<String>,
    id: Option<String>,
    post_id: Option<String>,
    url: Option<String>,
    privacy: Option<String>,
    /// Who the platform says posted (display name, channel), when known.
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
    fn new(target: &Target, result: &'static str) -> Entry {
        Entry {
            platform: target.platform.id(),
            account_name: target.account.clone(),
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
                ..Entry::new(&finished.target, "posted")
            },
            Ending::AlreadyPosted(record) => Entry {
                status: record.status.clone(),
                id: record.id.clone(),
                post_id: record.post_id.clone(),
                url: record.url.clone(),
                privacy: record.privacy.clone(),
                account: record.account.clone(),
                posted_at: record.finished_at.clone(),
                ..Entry::new(&finished.target, "already_posted")
            },
            Ending::Failed(error) => Entry {
                errors: vec![ErrorEntry::from(error)],
                ..Entry::new(&finished.target, "failed")
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
fn report_problems(mode: OutputMode, targets: &[Target], problems: &Refused) {
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
    for (target, error) in &problems.targets {
        print(&format!("{}: ", target.label()), error);
    }
    if mode.json {
        let entries: Vec<Entry> = targets
            .iter()
            .map(|target| {
                let mut errors: Vec<ErrorEntry> =
                    problems.general.iter().map(ErrorEntry::from).collect();
                errors.extend(
                    problems
                        .targets
                        .iter()
                        .filter(|(t, _)| t.label() == target.label())
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
                    ..Entry::new(target, result)
                }
            })
            .collect();
        print_json(&entries);
    }
}

fn print_dry_run(mode: OutputMode, plans: &[(Target, Plan)], video: &VideoFile) {
    if mode.json {
        let entries: Vec<Entry> = plans
            .iter()
            .map(|(target, plan)| match plan {
                Plan::Ready(prepared) => Entry {
                    plan: Some(plan_json(&prepared.describe())),
                    video: Some(video_json(video)),
                    ..Entry::new(target, "dry_run")
                },
                Plan::AlreadyPosted(record) => Entry {
                    video: Some(video_json(video)),
                    ..Entry::from_outcome(&Outcome {
                        target: target.clone(),
                        ending: Ending::AlreadyPosted((**record).clone()),
                        elapsed: None,
                    })
                },
                Plan::NeedsAuthorisation(error) => Entry {
                    errors: vec![ErrorEntry::from(error)],
                    ..Entry::new(target, "invalid")
                },
            })
            .collect();
        print_json(&entries);
        return;
    }
    println!("Dry run: nothing was sent.");
    println!("  video: {}", video_summary(video));
    for (target, plan) in plans {
        match plan {
            Plan::Ready(prepared) => {
                println!("{} would get:", super::post::display(target));
                for (key, value) in prepared.describe() {
                    println!("  {key}: {value}");
                }
            }
            Plan::AlreadyPosted(record) => println!(
                "{}: already {}; would be skipped (use --force to post again)",
                super::post::display(target),
                post::posted_where(record)
            ),
            Plan::NeedsAuthorisation(error) => {
                println!("{}: would fail: {error}", super::post::display(target));
                if let Some(hint) = error.hint() {
                    println!("  hint: {hint}");
                }
            }
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
    let rows: Vec<[String; 6]> = finished
        .iter()
        .map(|f| {
            let dash = || "-".to_string();
            let elapsed = f
                .elapsed
                .map(|d| format!("{:.1} s", d.as_secs_f64()))
                .unwrap_or_else(dash);
            match &f.ending {
                Ending::Posted(report) => [
                    f.target.platform.id().to_string(),
                    f.target.account.clone(),
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
                    f.target.platform.id().to_string(),
                    f.target.account.clone(),
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
                    f.target.platform.id().to_string(),
                    f.target.account.clone(),
                    "FAILED".to_string(),
                    dash(),
                    dash(),
                    elapsed,
                ],
            }
        })
        .collect();
    let header = [
        "PLATFORM", "ACCOUNT", "RESULT", "ID / URL", "PRIVACY", "ELAPSED",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    // The ACCOUNT column only when an account is named: one account per platform reads as
    // it always did.
    let named = finished
        .iter()
        .any(|f| f.target.account != keryx_core::config::DEFAULT_ACCOUNT);
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .filter(|(column, _)| named || *column != 1)
            .map(|(_, (cell, width))| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    for f in finished {
        let id = f.target.label();
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
