//! `keryx post all VIDEO`: the same video on every enabled platform, in parallel, once.
//!
//! 1. Preflight, for every target, before a byte leaves the machine: the file (container from
//!    its first bytes), the sidecar, the ledger, each platform's config, then each platform's
//!    `prepare` (its limits, metadata rules, credentials and, on a terminal without `--yes`, its
//!    questions). Every platform prepares at once, unless questions may be asked on a terminal:
//!    then one platform after another, so two never ask at the same time. Every problem is collected; any problem stops
//!    everything with one list and the most serious problem's exit code (2 bad input, else 4
//!    authorisation required, else 1). `--dry-run` stops here and prints the plans.
//! 2. The ledger: a platform that already holds a successful post of the same bytes (SHA-256)
//!    is skipped ("already posted ... use --force"); one whose last attempt never finished is
//!    posted again (YouTube resumes its saved session), and the summary says so. The hash is
//!    computed on the blocking pool from the start; only platforms whose ledger has a post of
//!    the same *size* wait for it (to be skipped, or not), so a first post, a retry and
//!    `--force` never do: their hash overlaps the upload.
//! 3. Every prepared post is published concurrently, each streaming the file on its own, each
//!    with its own progress bar (or log lines). A failure does not stop the others. Each attempt
//!    is written to the ledger (`started`) as soon as the hash is known, and again the moment it
//!    ends, so a crash later in another platform's upload keeps what was already posted.
//! 4. A summary table (or, with `--json`, one array of results). Exit 0 when every target is
//!    posted or already posted, else the most serious failure's: 2 bad input, 4 authorisation
//!    required, 1 a platform failed.

use std::future::Future;
use std::time::Duration;

use futures_util::future::join_all;

use keryx_core::claim::{Claim, Claims};
use keryx_core::ledger::{History, Ledger, Record};
use keryx_core::{
    Context, Error, ErrorKind, Platform, PostReport, PreparedPost, Result, VideoFile,
};
use serde::Serialize;

use super::post::{
    Fingerprint, load_sidecar, metadata_for, plan_json, posted_where, publish_recorded,
    read_ledger, retried_note, video_json, video_summary,
};
use crate::args::PostArgs;
use crate::progress;
use crate::ui::OutputMode;

/// What preflight decided for one platform.
enum Plan {
    Ready(Box<dyn PreparedPost>),
    AlreadyPosted(Box<Record>),
}

/// How one platform ended.
enum Ending {
    Posted(PostReport),
    AlreadyPosted(Record),
    Failed(Error),
}

struct Finished {
    platform: &'static dyn Platform,
    result: Ending,
    elapsed: Option<Duration>,
}

/// Problems found by preflight: about the file or the sidecar (every target), or one platform's.
#[derive(Default)]
struct Problems {
    general: Vec<Error>,
    platforms: Vec<(&'static dyn Platform, Error)>,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.general.is_empty() && self.platforms.is_empty()
    }

    fn count(&self) -> usize {
        self.general.len() + self.platforms.len()
    }
}

pub async fn run(ctx: &Context, mode: OutputMode, args: PostArgs) -> Result<()> {
    let targets = targets(ctx, &args)?;
    let mut problems = Problems::default();

    // The file, the sidecar and the ledger concern every platform.
    let video = VideoFile::open(&args.video)
        .map_err(|e| problems.general.push(e))
        .ok();
    let sidecar = match load_sidecar(ctx, &args) {
        Ok(sidecar) => Some(sidecar),
        Err(e) => {
            problems.general.push(e);
            None
        }
    };
    let ledger = Ledger::new(&ctx.paths);
    let history = match read_ledger(ctx, &ledger).await {
        Ok(history) => history,
        Err(e) => {
            problems.general.push(e);
            History::default()
        }
    };
    if !args.dry_run
        && let Err(e) = ledger.check_writable()
    {
        problems.general.push(e);
    }

    let mut configured = Vec::new();
    for &platform in &targets {
        match platform.check_config(ctx) {
            Ok(()) => configured.push(platform),
            Err(e) => problems.platforms.push((platform, e)),
        }
    }

    let mut plans: Vec<(&'static dyn Platform, Plan)> = Vec::new();
    let mut fingerprint = None;
    // Without a readable file or sidecar there is nothing to check the platforms' rules against.
    if let (Some(video), Some(sidecar)) = (&video, &sidecar) {
        let prepare = |platform: &'static dyn Platform| {
            let metadata = metadata_for(sidecar.as_ref(), platform.id(), &args);
            async move { platform.prepare(ctx, video, &metadata).await }
        };
        // Only platforms with a post of this size in the ledger can be skipped, so only they
        // wait for the hash; the others prepare, and later upload, while it is computed.
        let (known, fresh): (Vec<_>, Vec<_>) = configured
            .iter()
            .partition(|p| !args.force && history.has_posted_size(p.id(), video.size));
        let hash = Fingerprint::new(ctx, video, !known.is_empty() || !args.dry_run);
        // Questions on a terminal are asked one platform at a time; without them every
        // platform's checks (token refresh, account lookups) run at once.
        let one_at_a_time = ctx.ui.prompter().is_some();
        let (prepared, known_hash) =
            tokio::join!(prepare_each(&fresh, one_at_a_time, &prepare), async {
                match known.is_empty() {
                    true => None,
                    false => Some(hash.get().await),
                }
            });
        for (platform, result) in prepared {
            match result {
                Ok(prepared) => plans.push((platform, Plan::Ready(prepared))),
                Err(e) => problems.platforms.push((platform, e)),
            }
        }
        let known_hash = match known_hash {
            None => None,
            Some(Ok(hash)) => Some(hash),
            Some(Err(e)) => {
                problems.general.push(e);
                None
            }
        };
        if let Some(known_hash) = &known_hash {
            let mut unposted = Vec::new();
            for &platform in &known {
                if let Some(record) = history.posted(known_hash, platform.id()) {
                    // The summary table says it too; under --json it is the only line for people.
                    if mode.json {
                        ctx.ui.info(&format!(
                            "{}: already {} (use --force to post again)",
                            platform.id(),
                            posted_where(record)
                        ));
                    }
                    plans.push((platform, Plan::AlreadyPosted(Box::new(record.clone()))));
                } else {
                    unposted.push(platform);
                }
            }
            for (platform, result) in prepare_each(&unposted, one_at_a_time, &prepare).await {
                match result {
                    Ok(prepared) => plans.push((platform, Plan::Ready(prepared))),
                    Err(e) => problems.platforms.push((platform, e)),
                }
            }
        }
        fingerprint = Some(hash);
    }
    plans.sort_by_key(|(p, _)| p.id());

    if !problems.is_empty() {
        report_problems(mode, &targets, &problems, video.as_ref());
        let kind = most_serious(
            problems
                .general
                .iter()
                .chain(problems.platforms.iter().map(|(_, e)| e)),
        );
        return Err(super::reported(Error::of_kind(
            kind,
            format!(
                "preflight found {} problem(s); nothing was sent",
                problems.count()
            ),
        )));
    }
    let (Some(video), Some(fingerprint)) = (video, fingerprint) else {
        // Unreachable: without a video or sidecar there would be a problem above.
        return Err(Error::input("the video could not be checked"));
    };

    if args.dry_run {
        print_dry_run(mode, &plans, &video);
        return Ok(());
    }

    let mut ready = Vec::new();
    let mut finished = Vec::new();
    for (platform, plan) in plans {
        match plan {
            Plan::Ready(prepared) => ready.push((platform, prepared)),
            Plan::AlreadyPosted(record) => finished.push(Finished {
                platform,
                result: Ending::AlreadyPosted(*record),
                elapsed: None,
            }),
        }
    }

    let multi = progress::display();
    let (ledger, fingerprint, video) = (&ledger, &fingerprint, &video);
    let history = &history;
    let claims = Claims::new(&ctx.paths);
    let (claims, force) = (&claims, args.force);
    let posts = ready.into_iter().map(|(platform, prepared)| async move {
        let tracker = progress::tracker(mode, multi, platform.id());
        // Held until the attempt's final record is written, so a concurrent run of the same
        // file waits here and then finds this run's result in the ledger.
        let _claim = match claim(ctx, claims, video, platform, fingerprint, force).await {
            Ok(Claimed::Free(claim)) => claim,
            Ok(Claimed::PostedMeanwhile(record)) => {
                drop(tracker);
                return Finished {
                    platform,
                    result: Ending::AlreadyPosted(*record),
                    elapsed: None,
                };
            }
            Err(e) => {
                drop(tracker);
                return Finished {
                    platform,
                    result: Ending::Failed(e),
                    elapsed: None,
                };
            }
        };
        let (result, elapsed) = publish_recorded(
            ctx,
            ledger,
            fingerprint,
            platform,
            video,
            prepared,
            &tracker,
        )
        .await;
        drop(tracker);
        let result = match result {
            Ok(mut report) => {
                if let Some(note) = retried_note(history, fingerprint, platform).await {
                    report.notes.push(note);
                }
                Ending::Posted(report)
            }
            Err(e) => Ending::Failed(e),
        };
        Finished {
            platform,
            result,
            elapsed: Some(elapsed),
        }
    });
    finished.extend(join_all(posts).await);
    finished.sort_by_key(|f| f.platform.id());

    print_summary(mode, &finished);
    let failures: Vec<&Error> = finished
        .iter()
        .filter_map(|f| match &f.result {
            Ending::Failed(e) => Some(e),
            _ => None,
        })
        .collect();
    let failed = failures.len();
    if failed > 0 {
        let message = format!(
            "{failed} of {} platform(s) failed; run the same command again to retry only those",
            finished.len()
        );
        if !mode.json {
            eprintln!("error: {message}");
        }
        return Err(super::reported(Error::of_kind(
            most_serious(failures),
            message,
        )));
    }
    Ok(())
}

/// The kind whose exit code speaks for all of `errors`: bad input (2) over authorisation
/// required (4) over a platform failure (1).
fn most_serious<'a>(errors: impl IntoIterator<Item = &'a Error>) -> ErrorKind {
    errors
        .into_iter()
        .map(Error::kind)
        .max_by_key(|kind| kind.severity())
        .unwrap_or(ErrorKind::Platform)
}

/// What taking a target's claim found.
enum Claimed {
    /// Nobody else is publishing this file there: go ahead.
    Free(Claim),
    /// Another run held the claim and posted this file there meanwhile.
    PostedMeanwhile(Box<Record>),
}

/// Takes the claim on publishing `video` to `platform`; if another run held it, reads the
/// ledger again once it is free, because that run may have posted the same bytes there.
async fn claim(
    ctx: &Context,
    claims: &Claims,
    video: &VideoFile,
    platform: &dyn Platform,
    fingerprint: &Fingerprint,
    force: bool,
) -> Result<Claimed> {
    let mut waited = false;
    let claim = claims
        .take(&video.path, platform.id(), |holder| {
            waited = true;
            let who = match holder.described.as_str() {
                "" => "another keryx run".to_owned(),
                described => format!("another keryx run ({described})"),
            };
            ctx.ui.info(&format!(
                "{}: waiting for {who}, which is posting this video there",
                platform.id()
            ));
        })
        .await?;
    if force {
        return Ok(Claimed::Free(claim));
    }
    // Read again even when the claim was free: a run that finished between this run's first
    // read of the ledger and now has released its claim already.
    let history = read_ledger(ctx, &Ledger::new(&ctx.paths)).await?;
    if history.has_posted_size(platform.id(), video.size) {
        let hash = fingerprint.get().await?;
        if let Some(record) = history.posted(&hash, platform.id()) {
            let by = if waited {
                "the other run"
            } else {
                "another run"
            };
            ctx.ui
                .info(&format!("{}: {by} {}", platform.id(), posted_where(record)));
            return Ok(Claimed::PostedMeanwhile(Box::new(record.clone())));
        }
    }
    Ok(Claimed::Free(claim))
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

/// Runs `prepare` for each platform: all at once, or one after another when questions may be
/// asked. Results in the platforms' order.
async fn prepare_each<'a, F, Fut>(
    platforms: &[&'static dyn Platform],
    one_at_a_time: bool,
    prepare: &F,
) -> Vec<(&'static dyn Platform, Result<Box<dyn PreparedPost>>)>
where
    F: Fn(&'static dyn Platform) -> Fut,
    Fut: Future<Output = Result<Box<dyn PreparedPost>>> + 'a,
{
    if one_at_a_time {
        let mut results = Vec::new();
        for &platform in platforms {
            results.push((platform, prepare(platform).await));
        }
        return results;
    }
    join_all(
        platforms
            .iter()
            .map(|&platform| async move { (platform, prepare(platform).await) }),
    )
    .await
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

    fn from_finished(finished: &Finished) -> Entry {
        let mut entry = match &finished.result {
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
fn report_problems(
    mode: OutputMode,
    targets: &[&'static dyn Platform],
    problems: &Problems,
    video: Option<&VideoFile>,
) {
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
                    ..Entry::from_finished(&Finished {
                        platform: *platform,
                        result: Ending::AlreadyPosted((**record).clone()),
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
                posted_where(record)
            ),
        }
    }
}

/// The table on stdout, then what to know and what to do, platform by platform.
fn print_summary(mode: OutputMode, finished: &[Finished]) {
    if mode.json {
        let entries: Vec<Entry> = finished.iter().map(Entry::from_finished).collect();
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
            match &f.result {
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
        match &f.result {
            Ending::Posted(report) => {
                for note in &report.notes {
                    println!("{id}: note: {note}");
                }
            }
            Ending::AlreadyPosted(record) => println!(
                "{id}: already {} (use --force to post again)",
                posted_where(record)
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
