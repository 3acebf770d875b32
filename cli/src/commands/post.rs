//! `keryx post <platform> VIDEO`: check everything, then upload and publish.

use indicatif::MultiProgress;
use keryx_core::{Context, Error, Metadata, PostReport, Result, VideoFile};

use crate::args::{MetadataArgs, PostArgs};
use crate::progress;
use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode, args: PostArgs) -> Result<()> {
    if args.platform == "all" {
        return Err(
            Error::input("`keryx post all` is not available in this version")
                .with_hint("post to each platform with `keryx post <platform> VIDEO`"),
        );
    }
    let platform = crate::platform(&args.platform)?;
    platform.check_config(ctx)?;
    let video = VideoFile::open(&args.video)?;
    let metadata = metadata_from_flags(&args.metadata);
    let prepared = platform.prepare(ctx, &video, &metadata).await?;

    if args.dry_run {
        let plan = prepared.describe();
        if mode.json {
            let plan: serde_json::Map<String, serde_json::Value> = plan
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            println!(
                "{}",
                serde_json::json!({"ok": true, "dry_run": true, "platform": platform.id(), "plan": plan})
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

    let multi = MultiProgress::new();
    let progress = progress::for_platform(mode, &multi, platform.id());
    let result = prepared.publish(ctx, progress.as_ref()).await;
    drop(progress);
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

/// Flags become metadata; a flag not given stays `None`, so config and platform defaults apply.
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
