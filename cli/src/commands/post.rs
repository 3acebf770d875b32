//! `keryx post <platform> VIDEO`: check everything, then upload and publish.
//!
//! `keryx post all VIDEO` is in [`super::post_all`]. Both take their metadata from flags over
//! the sidecar (`--meta FILE`, else `VIDEO.keryx.yaml` beside the video), and both record every
//! attempt in the ledger. An explicit `keryx post <platform>` always posts, and says so when the
//! ledger already holds the same content there.

use keryx_core::ledger::Record;
use keryx_core::post::{self, Ending, Plan, Refused, Sidecar, Tracker};
use keryx_core::target::{self, Target};
use keryx_core::{Context, Error, Metadata, PostReport, Result, VideoFile};

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
    let target = single_target(ctx, &args.platform)?;
    let platform = target.platform;
    platform.check_config(&target.context(ctx))?;
    // An explicit post uploads whatever the ledger says (`skip_posted: false`), so the hash
    // never delays it: it is computed while the upload runs.
    let request = request(&args, vec![target.clone()], false);
    let job = match post::preflight(ctx, &request).await {
        Ok(job) => job,
        Err(refused) => return Err(refused_single(refused, &target, mode)),
    };

    if args.dry_run {
        let previous = job.previous_post(&target).await?;
        if let Some(previous) = &previous {
            ctx.ui.info(&format!(
                "note: the ledger already held this video on {}: {}; would post again as asked",
                target.label(),
                post::posted_where(previous)
            ));
        }
        let plan = match job.plans().first() {
            Some((_, Plan::Ready(prepared))) => prepared.describe(),
            _ => Vec::new(),
        };
        if mode.json {
            println!(
                "{}",
                serde_json::json!({
                    "ok": true,
                    "dry_run": true,
                    "platform": platform.id(),
                    "account_name": target.account,
                    "video": video_json(job.video()),
                    "plan": plan_json(&plan),
                    "already_posted": previous.as_ref().map(already_posted_json),
                })
            );
        } else {
            println!("Dry run: nothing was sent.");
            println!("  video: {}", video_summary(job.video()));
            println!("{} would get:", display(&target));
            for (key, value) in plan {
                println!("  {key}: {value}");
            }
        }
        return Ok(());
    }

    let multi = progress::display();
    let track = |target: &Target| -> Box<dyn Tracker> {
        Box::new(progress::tracker(mode, multi, &target.label()))
    };
    let outcome = job.publish(ctx, &track).await.into_iter().next();
    match outcome.map(|o| o.ending) {
        Some(Ending::Posted(report)) => {
            print_report(&report, &target.account, mode);
            Ok(())
        }
        Some(Ending::Failed(e)) => Err(e),
        Some(Ending::AlreadyPosted(_)) | None => Err(Error::platform(format!(
            "keryx did not post to {}",
            display(&target)
        ))),
    }
}

/// The target `keryx post <platform>[:<account>]` means: a named account, else the platform's
/// only enabled account, else (on a terminal) the one the user picks.
pub(crate) fn single_target(ctx: &Context, text: &str) -> Result<Target> {
    let (platform, account) = target::parse(text)?;
    let mut asked = None;
    let choose = |accounts: &[String]| {
        let prompter = ctx.ui.prompter()?;
        let prompt = format!("{} has several enabled accounts; post to", platform.id());
        match prompter.select(&prompt, accounts) {
            Ok(i) => accounts.get(i).cloned(),
            Err(e) => {
                asked = Some(e);
                None
            }
        }
    };
    let resolved = target::resolve(&ctx.config, platform, account.as_deref(), choose);
    match asked {
        Some(e) => Err(e),
        None => resolved,
    }
}

/// `YouTube`, or `YouTube (account shorts)`, for sentences.
pub(crate) fn display(target: &Target) -> String {
    match ctx_default(target) {
        true => target.platform.display_name().to_owned(),
        false => format!(
            "{} (account {})",
            target.platform.display_name(),
            target.account
        ),
    }
}

fn ctx_default(target: &Target) -> bool {
    target.account == keryx_core::config::DEFAULT_ACCOUNT
}

/// The post job for `args` to `targets`: sidecar, flags and each platform's options.
pub(crate) fn request(args: &PostArgs, targets: Vec<Target>, skip_posted: bool) -> post::Request {
    let sidecar = match (&args.meta, args.no_meta) {
        (_, true) => Sidecar::Skip,
        (Some(path), false) => Sidecar::File(path.clone()),
        (None, false) => Sidecar::Beside,
    };
    post::Request {
        video: args.video.clone(),
        sidecar,
        flags: metadata_from_flags(&args.metadata, None),
        options: args.platform_options.clone(),
        targets,
        skip_posted,
        dry_run: args.dry_run,
    }
}

/// A single post's preflight problem is the command's error. A refusal in preflight often
/// comes from what the file is: with --json, say what keryx read from it next to the error.
fn refused_single(refused: Refused, target: &Target, mode: OutputMode) -> Error {
    let video = refused.video.as_ref().map(video_json);
    let mut errors = refused
        .general
        .into_iter()
        .chain(refused.targets.into_iter().map(|(_, e)| e));
    let Some(error) = errors.next() else {
        return Error::input("the video could not be checked");
    };
    if mode.json && video.is_some() {
        println!(
            "{}",
            serde_json::json!({
                "ok": false,
                "error": error.to_string(),
                "hint": error.hint(),
                "exit_code": error.exit_code(),
                "platform": target.platform.id(),
                "account_name": target.account,
                "video": video,
            })
        );
        crate::ui::print_error(&error, false);
        return super::reported(error);
    }
    error
}

/// `account_name`: the config's name for the account (`report.account` is the platform's).
fn print_report(report: &PostReport, account_name: &str, mode: OutputMode) {
    if mode.json {
        let mut value = serde_json::to_value(report).unwrap_or_default();
        value["ok"] = serde_json::Value::Bool(true);
        value["account_name"] = account_name.into();
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

/// What keryx read from the video's header, for `--dry-run --json`: what a platform's
/// refusal can be checked against.
pub(crate) fn video_json(video: &VideoFile) -> serde_json::Value {
    serde_json::json!({
        "path": video.path,
        "size": video.size,
        "container": video.container.name(),
        "mime": video.container.mime(),
        "duration_secs": video.duration.map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0),
        "duration_source": video.duration_source.map(|s| s.as_str()),
        "width": video.width,
        "height": video.height,
        "coded_width": video.coded_width,
        "coded_height": video.coded_height,
        "rotation": video.rotation,
        "frame_rate": video.frame_rate.map(|f| (f * 1000.0).round() / 1000.0),
        "video_codec": video.video_codec.as_ref().map(|c| c.to_string()),
        "audio_codec": video.audio_codec,
        "moov_before_mdat": video.moov_before_mdat,
        "edit_list": video.edit_list,
        "fragmented": video.fragmented,
    })
}

/// The same in one line for people: `MP4, 12.0 s, 1080x1920 (coded 1920x1080, rotated 90°),
/// H.264 + AAC, fragmented`.
pub(crate) fn video_summary(video: &VideoFile) -> String {
    let mut parts = vec![video.container.name().to_string()];
    parts.push(match video.duration {
        Some(d) => format!("{:.1} s", d.as_secs_f64()),
        None => "duration unknown".to_string(),
    });
    let size = |w: Option<u32>, h: Option<u32>| match (w, h) {
        (Some(w), Some(h)) => format!("{w}x{h}"),
        _ => "?x?".to_string(),
    };
    let mut shape = size(video.width, video.height);
    let coded = size(video.coded_width, video.coded_height);
    let rotated = video.rotation.filter(|&r| r != 0);
    if coded != shape || rotated.is_some() {
        shape.push_str(&format!(" (coded {coded}"));
        if let Some(r) = rotated {
            shape.push_str(&format!(", rotated {r}°"));
        }
        shape.push(')');
    }
    parts.push(shape);
    let codecs: Vec<String> = video
        .video_codec
        .iter()
        .map(|c| c.to_string())
        .chain(video.audio_codec.clone())
        .collect();
    if !codecs.is_empty() {
        parts.push(codecs.join(" + "));
    }
    if video.fragmented {
        parts.push("fragmented".into());
    }
    if video.moov_before_mdat == Some(false) {
        parts.push("index (moov) after the media".into());
    }
    parts.join(", ")
}

pub(crate) fn plan_json(plan: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        plan.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}
