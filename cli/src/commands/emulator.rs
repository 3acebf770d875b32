//! `keryx emulator`: every platform's strict fake on one loopback port, until stopped.

use std::sync::Arc;

use keryx_core::{Emulator, Error, Result};

use crate::args::EmulatorArgs;
use crate::ui::OutputMode;

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
    let running = keryx_core::emulator::serve(emulators, args.port).await?;

    if mode.json {
        let platforms: Vec<_> = running.emulators.iter().map(|e| e.platform_id()).collect();
        println!(
            "{}",
            serde_json::json!({"base_url": running.base_url, "platforms": platforms})
        );
    } else {
        println!("keryx emulator listening on {}", running.base_url);
        println!("Put this in a config to use it (client secrets in the environment):");
        println!("platforms:");
        for emulator in &running.emulators {
            println!("  {}:", emulator.platform_id());
            print!("{}", emulator.client_config(&running.base_url));
        }
        for emulator in &running.emulators {
            let (env, value) = emulator.client_secret();
            println!("export {env}={value}");
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();

    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = running.wait() => {}
    }
    Ok(())
}

/// A knobs file maps platform ids to that emulator's knobs: `tiktok: {fail_chunk_with_5xx: [2]}`.
fn apply_knobs(path: &std::path::Path, emulators: &[Arc<dyn Emulator>]) -> Result<()> {
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
        let emulator = emulators
            .iter()
            .find(|e| e.platform_id() == id)
            .ok_or_else(|| {
                Error::input(format!(
                    "{}: no emulator called `{id}` is being served",
                    path.display()
                ))
            })?;
        emulator
            .configure(&value)
            .map_err(|e| e.context(format!("{}: {id}", path.display())))?;
    }
    Ok(())
}
