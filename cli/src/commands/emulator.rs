//! `keryx emulator`: every platform's strict fake on one loopback port, until stopped.
//!
//! Prints where it listens and the config that points keryx at it (or, with `--json`, one line
//! `{"base_url": ..., "platforms": [...]}`), then one line per request on stderr (`-q` hides
//! them). Knobs come from `--knobs FILE` and `--knob PLATFORM.KNOB=VALUE`, the same documents
//! the tests send to `/__emulator/<id>/configure`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use keryx_core::emulator::{RequestLine, RequestLog};
use keryx_core::{Emulator, Error, Result, Secret};

use crate::args::EmulatorArgs;
use crate::ui::OutputMode;

/// The first line of a config written by `--write-config`; only such a file is overwritten.
const WRITTEN_MARK: &str = "# Written by `keryx emulator`";

pub async fn run(mode: OutputMode, args: EmulatorArgs) -> Result<()> {
    let mut emulators: Vec<Arc<dyn Emulator>> = Vec::new();
    for id in &args.only {
        crate::platform(id)?;
    }
    for platform in keryx_core::registry() {
        if args.only.is_empty() || args.only.iter().any(|id| id == platform.id()) {
            emulators.push(platform.emulator());
        }
    }
    if let Some(path) = &args.knobs {
        apply_knobs(path, &emulators)?;
    }
    for knob in &args.knob {
        apply_knob(knob, &emulators)?;
    }
    if let Some(path) = &args.write_config {
        check_overwritable(path)?;
    }
    let log: Option<RequestLog> =
        (!mode.quiet).then(|| Arc::new(|line: &RequestLine| eprintln!("{line}")) as RequestLog);
    let running = keryx_core::emulator::serve_with_log(emulators, args.port, log).await?;
    if let Some(path) = &args.write_config {
        write_config(path, &running.base_url, &running.emulators)?;
    }

    if mode.json {
        let platforms: Vec<_> = running.emulators.iter().map(|e| e.platform_id()).collect();
        println!(
            "{}",
            serde_json::json!({"base_url": running.base_url, "platforms": platforms})
        );
    } else {
        println!("keryx emulator listening on {}", running.base_url);
        match &args.write_config {
            Some(path) => println!(
                "Wrote a config for it to {} (use it with --config or KERYX_CONFIG).",
                path.display()
            ),
            None => {
                println!("Put this in a config to use it (client secrets in the environment):");
                println!("platforms:");
                for emulator in &running.emulators {
                    println!("  {}:", emulator.platform_id());
                    print!("{}", emulator.client_config(&running.base_url));
                }
                // These secrets open only the emulator; they are public on purpose.
                for emulator in &running.emulators {
                    let (env, value) = emulator.client_secret();
                    println!("export {env}={value}");
                }
            }
        }
        println!("Each request is logged on stderr. Stop with Ctrl-C.");
    }
    let _ = std::io::stdout().flush();

    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = running.wait() => {}
    }
    Ok(())
}

/// A knobs file maps platform ids to that emulator's knobs: `tiktok: {fail_chunk_with_5xx: [2]}`.
fn apply_knobs(path: &Path, emulators: &[Arc<dyn Emulator>]) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(format!("cannot read the knobs file {}", path.display())).with_source(e)
    })?;
    let knobs: serde_yaml::Mapping = serde_yaml::from_str(&text).map_err(|e| {
        Error::input(format!(
            "{}: not a YAML mapping of platform ids to knobs",
            path.display()
        ))
        .with_source(e)
    })?;
    for (key, value) in knobs {
        let id = key.as_str().unwrap_or_default();
        let emulator = served(emulators, id).map_err(|e| e.context(path.display()))?;
        emulator
            .configure(&value)
            .map_err(|e| e.context(format!("{}: {id}", path.display())))?;
    }
    Ok(())
}

/// `--knob tiktok.fail_chunk_with_5xx=[2]`: one knob, its value read as YAML.
fn apply_knob(knob: &str, emulators: &[Arc<dyn Emulator>]) -> Result<()> {
    let usage = || {
        Error::input(format!("--knob {knob}: expected PLATFORM.KNOB=VALUE")).with_hint(
            "e.g. --knob tiktok.fail_chunk_with_5xx=[2] or --knob youtube.deny_authorization=true",
        )
    };
    let (name, value) = knob.split_once('=').ok_or_else(usage)?;
    let (id, key) = name.split_once('.').ok_or_else(usage)?;
    if id.is_empty() || key.is_empty() {
        return Err(usage());
    }
    let value: serde_yaml::Value = serde_yaml::from_str(value).map_err(|e| {
        Error::input(format!("--knob {knob}: the value is not YAML")).with_source(e)
    })?;
    let mut document = serde_yaml::Mapping::new();
    document.insert(serde_yaml::Value::String(key.to_owned()), value);
    served(emulators, id)?
        .configure(&serde_yaml::Value::Mapping(document))
        .map_err(|e| e.context(format!("--knob {knob}")))
}

fn served<'a>(emulators: &'a [Arc<dyn Emulator>], id: &str) -> Result<&'a Arc<dyn Emulator>> {
    emulators
        .iter()
        .find(|e| e.platform_id() == id)
        .ok_or_else(|| {
            let served: Vec<&str> = emulators.iter().map(|e| e.platform_id()).collect();
            Error::input(format!("no emulator called `{id}` is being served"))
                .with_hint(format!("served: {}", served.join(", ")))
        })
}

/// `--write-config` replaces only a file it wrote itself: pointed at a real config by mistake,
/// it would otherwise destroy the tokens kept there.
fn check_overwritable(path: &Path) -> Result<()> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Ok(text) if text.starts_with(WRITTEN_MARK) => Ok(()),
        Ok(_) => Err(Error::input(format!(
            "--write-config: {} exists and was not written by `keryx emulator`",
            path.display()
        ))
        .with_hint("choose a new file, or remove this one if it is yours to lose")),
        Err(e) => Err(
            Error::input(format!("--write-config: cannot read {}", path.display())).with_source(e),
        ),
    }
}

/// Writes a config pointing every served platform at `base_url`, with `secrets: file` and the
/// emulators' client secrets stored the way `keryx auth <p> --store-secret` stores them. The file
/// appears whole (built in a private temporary directory beside it, then renamed), so a script
/// can wait for it to exist.
fn write_config(path: &Path, base_url: &str, emulators: &[Arc<dyn Emulator>]) -> Result<()> {
    let mut text = format!(
        "{WRITTEN_MARK} for the emulators at {base_url}.\n\
         # Their client secrets below open only those emulators.\n\
         secrets: file\nplatforms:\n"
    );
    for emulator in emulators {
        text.push_str(&format!("  {}:\n", emulator.platform_id()));
        text.push_str(&emulator.client_config(base_url));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let cannot = |e: std::io::Error| {
        Error::input(format!("--write-config: cannot write {}", path.display())).with_source(e)
    };
    let staging = tempfile::Builder::new()
        .prefix(".keryx-emulator-")
        .tempdir_in(dir)
        .map_err(cannot)?;
    let staged = staging.path().join("config.yaml");
    std::fs::write(&staged, text).map_err(cannot)?;
    for emulator in emulators {
        let (_, secret) = emulator.client_secret();
        let name = emulator.secret_name();
        keryx_core::config::write_stored_secret(&staged, &name, Some(&Secret::new(secret)))?;
    }
    std::fs::rename(&staged, path).map_err(cannot)
}
