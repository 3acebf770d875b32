//! `keryx post <platform> VIDEO`: check everything, then upload and publish.
//!
//! `keryx post all VIDEO` is in [`super::post_all`]. Both take their metadata from flags over
//! the sidecar (`--meta FILE`, else `VIDEO.keryx.yaml` beside the video), and both record every
//! attempt in the ledger. An explicit `keryx post <platform>` always posts, and says so when the
//! ledger already holds the same content there.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keryx_core::fingerprints::Fingerprints;
use keryx_core::ledger::{History, Ledger, Record};
use keryx_core::{
    Context, Error, Metadata, MetadataFile, Platform, PostReport, PreparedPost, Result, VideoFile,
};
use tokio::sync::OnceCell;
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
    let metadata = metadata_for(sidecar.as_ref(), platform.id(), &args);
    let ledger = Ledger::new(&ctx.paths);
    let history = read_ledger(ctx, &ledger).await?;
    if !args.dry_run {
        ledger.check_writable()?;
    }
    // An explicit post uploads whatever the ledger says, so the hash never delays it: it is
    // computed while the upload runs, and only a dry run whose ledger has a post of this size
    // here waits for it, to say so.
    let known = history.has_posted_size(platform.id(), video.size);
    let fingerprint = Fingerprint::new(ctx, &video, known || !args.dry_run);
    let prepared = platform.prepare(ctx, &video, &metadata).await?;
    let previous_post = || async {
        if !known {
            return Ok(None);
        }
        let hash = fingerprint.get().await?;
        let previous = history.posted(&hash, platform.id()).cloned();
        if let Some(previous) = &previous {
            let again = if args.dry_run { "would post" } else { "posted" };
            ctx.ui.info(&format!(
                "note: the ledger already held this video on {}: {}; {again} again as asked",
                platform.display_name(),
                posted_where(previous)
            ));
        }
        Ok::<_, Error>(previous)
    };

    if args.dry_run {
        let previous = previous_post().await?;
        let plan = prepared.describe();
        if mode.json {
            println!(
                "{}",
                serde_json::json!({
                    "ok": true,
                    "dry_run": true,
                    "platform": platform.id(),
                    "plan": plan_json(&plan),
                    "already_posted": previous.as_ref().map(already_posted_json),
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

    let multi = progress::display();
    let tracker = progress::tracker(mode, multi, platform.id());
    let (result, _) = publish_recorded(
        ctx,
        &ledger,
        &fingerprint,
        platform,
        &video,
        prepared,
        &tracker,
    )
    .await;
    drop(tracker);
    let previous = match previous_post().await {
        Ok(previous) => previous,
        Err(e) => {
            ctx.ui.warn(&format!(
                "cannot tell whether the ledger held this video: {e}"
            ));
            None
        }
    };
    if previous.is_none()
        && let Some(note) = retried_note(&history, &fingerprint, platform).await
    {
        ctx.ui.info(&format!("note: {note}"));
    }
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
/// platform's defaults apply. `options` are this platform's `--<platform>-<option>` flags.
pub fn metadata_from_flags(
    flags: &MetadataArgs,
    options: Option<&std::collections::BTreeMap<String, keryx_core::OptionValue>>,
) -> Metadata {
    Metadata {
        title: flags.title.clone(),
        description: flags.description.clone(),
        tags: flags.tags.clone(),
        privacy: flags.privacy.clone(),
        ai_generated: flags.ai_generated.then_some(true),
        options: options.cloned().unwrap_or_default(),
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
    let schema: Vec<(&str, &[keryx_core::PostOption])> = keryx_core::registry()
        .iter()
        .map(|p| (p.id(), p.options()))
        .collect();
    let file = MetadataFile::load(&path, &schema)?;
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
    args: &PostArgs,
) -> Metadata {
    let flags = metadata_from_flags(&args.metadata, args.platform_options.get(platform));
    sidecar
        .map(|file| file.for_platform(platform))
        .unwrap_or_default()
        .overridden_by(&flags)
}

/// The video's SHA-256, the ledger's identity of it. Computed on the blocking pool while the
/// platforms prepare and upload, and awaited only where a decision needs it: when the ledger
/// may already hold this video on a platform (a post, or an attempt that never finished, of
/// the same size), or to write a record.
pub(crate) struct Fingerprint {
    cache: Fingerprints,
    path: PathBuf,
    task: Mutex<Option<Hashing>>,
    /// The hash, or the error's message and hint (an `Error` cannot be cloned to every waiter).
    value: OnceCell<std::result::Result<String, (String, Option<String>)>>,
}

/// The hashing task: the result and how long it took.
type Hashing = JoinHandle<(Result<String>, Duration)>;

impl Fingerprint {
    /// Starts hashing now if `eager`, else on the first [`Fingerprint::get`]. A version of the
    /// file hashed by an earlier run is not hashed again ([`Fingerprints`]).
    pub(crate) fn new(ctx: &Context, video: &VideoFile, eager: bool) -> Fingerprint {
        let fingerprint = Fingerprint {
            cache: Fingerprints::new(&ctx.paths),
            path: video.path.clone(),
            task: Mutex::new(None),
            value: OnceCell::new(),
        };
        if eager {
            fingerprint.spawn();
        }
        fingerprint
    }

    fn spawn(&self) {
        let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if task.is_none() {
            let (path, cache) = (self.path.clone(), self.cache.clone());
            *task = Some(tokio::spawn(async move {
                let started = Instant::now();
                let result = cache.get(&path).await.map(|(hash, cached)| {
                    if cached {
                        tracing::info!(
                            "fingerprint of {} remembered from an earlier run",
                            path.display()
                        );
                    }
                    hash
                });
                (result, started.elapsed())
            }));
        }
    }

    /// The hash, waiting for it the first time.
    pub(crate) async fn get(&self) -> Result<String> {
        let value = self
            .value
            .get_or_init(|| async {
                self.spawn();
                let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
                let Some(task) = task else {
                    return Err(("hashing the video did not start".to_string(), None));
                };
                let (result, elapsed) = match task.await {
                    Ok(done) => done,
                    Err(e) => {
                        return Err((format!("hashing the video stopped unexpectedly: {e}"), None));
                    }
                };
                let hash = result.map_err(|e| (e.to_string(), e.hint().map(str::to_string)))?;
                tracing::info!(
                    "fingerprint {}… in {:.3} s",
                    hash.chars().take(12).collect::<String>(),
                    elapsed.as_secs_f64()
                );
                Ok(hash)
            })
            .await;
        value.clone().map_err(|(message, hint)| {
            let error = Error::input(message);
            match hint {
                Some(hint) => error.with_hint(hint),
                None => error,
            }
        })
    }
}

/// The ledger's records; damaged lines are skipped with a warning.
pub(crate) async fn read_ledger(ctx: &Context, ledger: &Ledger) -> Result<History> {
    let history = ledger.read_async().await?;
    for warning in history.warnings(ledger.path()) {
        ctx.ui.warn(&warning);
    }
    Ok(history)
}

/// Publishes one prepared post and records the attempt in the ledger: `started` as soon as the
/// fingerprint is known (at once if it is, else while the upload runs, so hashing never delays
/// the first byte), and the final record the moment the post ends, before the others finish.
pub(crate) async fn publish_recorded(
    ctx: &Context,
    ledger: &Ledger,
    fingerprint: &Fingerprint,
    platform: &dyn Platform,
    video: &VideoFile,
    prepared: Box<dyn PreparedPost>,
    tracker: &progress::Tracker,
) -> (Result<PostReport>, Duration) {
    let account = prepared
        .describe()
        .into_iter()
        .find(|(key, _)| key == "account")
        .map(|(_, value)| value);
    let started_at = keryx_core::ledger::now();
    let started = Instant::now();
    let record_start = async {
        let hash = fingerprint.get().await?;
        let mut record = Record::started(&hash, &video.path, video.size, platform.id(), account);
        record.started_at = started_at;
        ledger.append_async(record.clone()).await?;
        Ok::<Record, Error>(record)
    };
    let (result, attempt) = tokio::join!(prepared.publish(ctx, tracker), record_start);
    let elapsed = started.elapsed();
    end_progress(tracker, &result, elapsed);
    match attempt {
        Ok(attempt) => finish_attempt(ctx, ledger, &attempt, &result).await,
        Err(e) => ctx.ui.warn(&format!(
            "the ledger could not record this {} post: {e}; a rerun of `keryx post all` \
             cannot know about it",
            platform.id()
        )),
    }
    (result, elapsed)
}

/// Writes the attempt's final record. The post has happened (or not) whatever the ledger says,
/// so a failure here is a loud warning, not a failed post.
async fn finish_attempt(
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
fn end_progress(tracker: &progress::Tracker, result: &Result<PostReport>, elapsed: Duration) {
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

/// What the ledger said about this post, once the hash is known (after the upload, so that
/// hashing never delays it): it took over an attempt that never finished, or it is a repeat.
pub(crate) async fn retried_note(
    history: &History,
    fingerprint: &Fingerprint,
    platform: &dyn Platform,
) -> Option<String> {
    let hash = fingerprint.get().await.ok()?;
    if let Some(record) = history.posted(&hash, platform.id()) {
        return Some(format!(
            "the ledger already held this video here ({}); posted again (--force)",
            posted_where(record)
        ));
    }
    history.unfinished(&hash, platform.id()).map(|record| {
        format!(
            "a post of this video started on {} never finished (keryx was stopped); this one \
             took over, resuming the upload where {} allows it",
            record.when(),
            platform.display_name()
        )
    })
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
