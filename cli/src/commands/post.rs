//! `keryx post <platform> VIDEO`: check everything, then upload and publish.
//!
//! `keryx post all VIDEO` is in [`super::post_all`]. Both take their metadata from flags over
//! the sidecar (`--meta FILE`, else `VIDEO.keryx.yaml` beside the video), and both record every
//! attempt in the ledger. An explicit `keryx post <platform>` always posts, and says so when the
//! ledger already holds the same content there.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::MultiProgress;
use keryx_core::ledger::{History, Ledger, Record};
use keryx_core::{
    Context, Error, Metadata, MetadataFile, Platform, PostReport, PreparedPost, Result, VideoFile,
};
use tokio::task::JoinHandle;

use crate::args::{MetadataArgs, PostArgs};
use crate::progress;
use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode, args: PostArgs) -> Result<()> {
    if args.platform == "all" {
        return super::post_all::run(ctx, mode, args).await;
    }
    if !args.only.is_empty() || !args.skip.is_empty() || args.force {
        return Err(Error::input(
            "--only, --skip and --force go with `keryx post all`",
        )
        .with_hint(format!(
            "`keryx post {}` always posts to {} (even when the ledger says it is there already)",
            args.platform, args.platform
        )));
    }
    let platform = crate::platform(&args.platform)?;
    platform.check_config(ctx)?;
    let video = VideoFile::open(&args.video)?;
    let sidecar = load_sidecar(ctx, &args)?;
    let metadata = metadata_for(sidecar.as_ref(), platform.id(), &args.metadata);
    let hashing = start_fingerprint(&video);
    let ledger = Ledger::new(&ctx.paths);
    let history = read_ledger(ctx, &ledger).await?;
    let prepared = platform.prepare(ctx, &video, &metadata).await?;
    let fingerprint = finish_fingerprint(hashing).await?;

    let previous = history.posted(&fingerprint, platform.id());
    if let Some(previous) = previous {
        ctx.ui.info(&format!(
            "note: the ledger already holds this video on {}: {}; posting again as asked",
            platform.display_name(),
            posted_where(previous)
        ));
    } else if let Some(unfinished) = history.unfinished(&fingerprint, platform.id()) {
        ctx.ui.info(&unfinished_note(platform, unfinished));
    }

    if args.dry_run {
        let plan = prepared.describe();
        if mode.json {
            println!(
                "{}",
                serde_json::json!({
                    "ok": true,
                    "dry_run": true,
                    "platform": platform.id(),
                    "plan": plan_json(&plan),
                    "already_posted": previous.map(already_posted_json),
                })
            );
        } else {
            println!(
                "Dry run: nothing was sent. {} would get:",
                platform.display_name()
            );
            for (key, value) in plan {
                println!("  {key}: {value}");
            }
        }
        return Ok(());
    }

    let attempt = start_attempt(&ledger, &fingerprint, &video, platform, prepared.as_ref()).await?;
    let multi = MultiProgress::new();
    let tracker = progress::tracker(mode, &multi, platform.id());
    let started = Instant::now();
    let result = prepared.publish(ctx, &tracker).await;
    end_progress(&tracker, &result, started.elapsed());
    drop(tracker);
    finish_attempt(ctx, &ledger, &attempt, &result).await;
    let report = result?;
    print_report(&report, mode);
    Ok(())
}

fn print_report(report: &PostReport, mode: OutputMode) {
    if mode.json {
        let mut value = serde_json::to_value(report).unwrap_or_default();
        value["ok"] = serde_json::Value::Bool(true);
        println!("{value}");
        return;
    }
    println!("Posted to {}: {}", report.platform, report.status);
    let fields = [
        ("id", &report.id),
        ("post id", &report.post_id),
        ("url", &report.url),
        ("privacy", &report.privacy),
        ("account", &report.account),
    ];
    for (label, value) in fields {
        if let Some(value) = value {
            println!("  {label}: {value}");
        }
    }
    for note in &report.notes {
        println!("  note: {note}");
    }
}

/// Flags become metadata; a flag not given stays `None`, so the sidecar, the config and the
/// platform's defaults apply.
pub fn metadata_from_flags(flags: &MetadataArgs) -> Metadata {
    let set = |on: bool| on.then_some(true);
    Metadata {
        title: flags.title.clone(),
        description: flags.description.clone(),
        tags: flags.tags.clone(),
        privacy: flags.privacy.clone(),
        ai_generated: set(flags.ai_generated),
        category: flags.category.clone(),
        made_for_kids: set(flags.made_for_kids),
        publish_at: flags.publish_at.clone(),
        thumbnail: flags.thumbnail.clone(),
        allow_comments: set(flags.allow_comments),
        allow_duet: set(flags.allow_duet),
        allow_stitch: set(flags.allow_stitch),
        branded_content: set(flags.branded_content),
        your_brand: set(flags.your_brand),
    }
}

/// The sidecar: `--meta FILE`, else `VIDEO.keryx.yaml` beside the video, unless `--no-meta`.
pub(crate) fn load_sidecar(ctx: &Context, args: &PostArgs) -> Result<Option<MetadataFile>> {
    if args.no_meta {
        return Ok(None);
    }
    let path: Option<PathBuf> = match &args.meta {
        Some(path) => Some(path.clone()),
        None => MetadataFile::beside(&args.video)?,
    };
    let Some(path) = path else {
        return Ok(None);
    };
    let ids: Vec<&str> = keryx_core::registry().iter().map(|p| p.id()).collect();
    let file = MetadataFile::load(&path, &ids)?;
    ctx.ui.info(&format!(
        "Metadata from {} (flags override it)",
        path.display()
    ));
    Ok(Some(file))
}

/// What `platform` gets: the sidecar's shared fields, its section for `platform`, then flags.
pub(crate) fn metadata_for(
    sidecar: Option<&MetadataFile>,
    platform: &str,
    flags: &MetadataArgs,
) -> Metadata {
    sidecar
        .map(|file| file.for_platform(platform))
        .unwrap_or_default()
        .overridden_by(&metadata_from_flags(flags))
}

/// Hashing the video for the ledger, started now so it overlaps the platforms' preflight.
pub(crate) type Hashing = JoinHandle<(Result<String>, Duration)>;

pub(crate) fn start_fingerprint(video: &VideoFile) -> Hashing {
    let path = video.path.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let result = keryx_core::media::fingerprint(&path).await;
        (result, started.elapsed())
    })
}

pub(crate) async fn finish_fingerprint(hashing: Hashing) -> Result<String> {
    let (result, elapsed) = hashing
        .await
        .map_err(|e| Error::platform("hashing the video stopped unexpectedly").with_source(e))?;
    let fingerprint = result?;
    tracing::info!(
        "fingerprint {}… in {:.3} s",
        &fingerprint[..12.min(fingerprint.len())],
        elapsed.as_secs_f64()
    );
    Ok(fingerprint)
}

/// The ledger's records; damaged lines are skipped with a warning.
pub(crate) async fn read_ledger(ctx: &Context, ledger: &Ledger) -> Result<History> {
    let history = ledger.read_async().await?;
    for warning in history.warnings(ledger.path()) {
        ctx.ui.warn(&warning);
    }
    Ok(history)
}

/// Writes the `started` record; failing here stops the post before any byte is sent, since an
/// attempt the ledger does not know about could later be posted twice.
pub(crate) async fn start_attempt(
    ledger: &Ledger,
    fingerprint: &str,
    video: &VideoFile,
    platform: &dyn Platform,
    prepared: &dyn PreparedPost,
) -> Result<Record> {
    let account = prepared
        .describe()
        .into_iter()
        .find(|(key, _)| key == "account")
        .map(|(_, value)| value);
    let record = Record::started(fingerprint, &video.path, video.size, platform.id(), account);
    ledger.append_async(record.clone()).await?;
    Ok(record)
}

/// Writes the attempt's final record. The post has happened (or not) whatever the ledger says,
/// so a failure here is a loud warning, not a failed post.
pub(crate) async fn finish_attempt(
    ctx: &Context,
    ledger: &Ledger,
    attempt: &Record,
    result: &Result<PostReport>,
) {
    let record = attempt.finished(result.as_ref());
    if let Err(e) = ledger.append_async(record).await {
        let what = match result {
            Ok(report) => format!(
                "{} posted it ({}) but the ledger could not record that: {e}; a rerun of \
                 `keryx post all` would post it again",
                attempt.platform,
                report
                    .url
                    .as_deref()
                    .or(report.id.as_deref())
                    .unwrap_or("no id")
            ),
            Err(_) => format!("the ledger could not record the failed attempt: {e}"),
        };
        ctx.ui.warn(&what);
    }
}

/// The last line of a platform's progress: the result and how long it took.
pub(crate) fn end_progress(
    tracker: &progress::Tracker,
    result: &Result<PostReport>,
    elapsed: Duration,
) {
    let seconds = elapsed.as_secs_f64();
    match result {
        Ok(report) => tracker.succeeded(&format!(
            "posted ({}) in {seconds:.1} s{}",
            report.status,
            report
                .url
                .as_deref()
                .map(|u| format!(": {u}"))
                .unwrap_or_default()
        )),
        Err(e) => tracker.failed(&format!("failed after {seconds:.1} s: {e}")),
    }
}

/// `posted at https://… on 2026-05-01 18:00 UTC`, or `posted on … (id …)` without a URL.
pub(crate) fn posted_where(record: &Record) -> String {
    match (&record.url, record.post_id.as_ref().or(record.id.as_ref())) {
        (Some(url), _) => format!("posted at {url} on {}", record.when()),
        (None, Some(id)) => format!("posted on {} (id {id})", record.when()),
        (None, None) => format!("posted on {}", record.when()),
    }
}

pub(crate) fn unfinished_note(platform: &dyn Platform, record: &Record) -> String {
    format!(
        "{}: a post of this video started on {} never finished (keryx was stopped); posting \
         again, resuming the upload where {} allows it",
        platform.id(),
        record.when(),
        platform.display_name()
    )
}

pub(crate) fn already_posted_json(record: &Record) -> serde_json::Value {
    serde_json::json!({
        "url": record.url,
        "id": record.id,
        "post_id": record.post_id,
        "posted_at": record.finished_at,
        "account": record.account,
        "privacy": record.privacy,
    })
}

pub(crate) fn plan_json(plan: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        plan.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}
