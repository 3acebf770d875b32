//! The keryx command line, as a library so that a binary linking extra platform crates (a
//! private platform, the test platform in `tests/`) gets the same CLI: call [`main`].

mod args;
mod commands;
mod progress;
mod ui;

use std::ffi::OsString;
use std::sync::Arc;

use keryx_core::config::Config;
use keryx_core::paths::Paths;
use keryx_core::secrets::SecretStore;
use keryx_core::{Context, Error, Result};

use crate::args::{Cli, Command};
use crate::ui::{OutputMode, TerminalUi};

include!(concat!(env!("OUT_DIR"), "/linked_platforms.rs"));

/// Runs keryx with the process's arguments and exits with its exit code.
pub fn main() -> ! {
    std::process::exit(run(std::env::args_os()))
}

/// Runs keryx with `args` (the first is the program name) and returns the exit code:
/// 0 done, 1 a platform refused or failed, 2 bad usage, config or input, 4 authorisation
/// required.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    link_platforms();
    let cli = match args::parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let json = cli.json;
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => 0,
        Err(error) => {
            // A command that printed its own results (e.g. `post all`'s table) only exits.
            if !commands::is_reported(&error) {
                ui::print_error(&error, json);
            }
            error.exit_code()
        }
    }
}

async fn dispatch(cli: Cli) -> Result<()> {
    let mode = OutputMode::detect(cli.json, cli.quiet);
    match cli.command {
        Command::Auth(args) => {
            let ctx = context(cli.config.as_deref(), mode, true)?;
            commands::auth::run(&ctx, mode, args).await
        }
        Command::Post(args) => {
            let ctx = context(cli.config.as_deref(), mode, !args.yes)?;
            commands::post::run(&ctx, mode, args).await
        }
        Command::Platforms => {
            let ctx = context(cli.config.as_deref(), mode, false)?;
            commands::platforms::run(&ctx, mode).await
        }
        Command::Status => {
            let ctx = context(cli.config.as_deref(), mode, false)?;
            commands::status::run(&ctx, mode).await
        }
        Command::History(args) => {
            commands::history::run(&Paths::resolve(cli.config.as_deref())?, mode, args)
        }
        Command::Emulator(args) => commands::emulator::run(mode, args).await,
        Command::Demo(args) => commands::demo::run(mode, args).await,
        Command::Completions(args) => commands::completions::run(args),
        Command::Man(args) => commands::man::run(mode, args),
    }
}

/// Builds what every platform method gets. `ask`: questions allowed (not under `--yes`).
fn context(config: Option<&std::path::Path>, mode: OutputMode, ask: bool) -> Result<Context> {
    let ui: Arc<dyn keryx_core::Ui> = Arc::new(TerminalUi::new(mode, ask));
    let paths = Paths::resolve(config)?;
    let ids: Vec<&str> = keryx_core::registry().iter().map(|p| p.id()).collect();
    let config = Config::load(&paths.config_file, &ids)?;
    let secrets = SecretStore::new(config.secrets_mode(), config.path(), ui.clone());
    let http = keryx_core::http::client()?;
    Ok(Context::new(config, paths, secrets, http, ui))
}

/// Logs go to stderr; `-v` shows keryx's own info, `-vv` debug, `-vvv` everything.
/// `RUST_LOG` overrides. Nothing logged ever carries a secret: they are `Secret`s.
fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error".to_string(),
        (_, 0) => "warn".to_string(),
        (_, 1) => info_filter(),
        (_, 2) => "debug,hyper=info,h2=info,rustls=info".to_string(),
        _ => "trace".to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// `-v`: info from keryx itself, core and every registered platform's crate; warnings from
/// everything else.
fn info_filter() -> String {
    let mut targets = vec!["keryx_cli", "keryx_core"];
    for platform in keryx_core::registry() {
        if !targets.contains(&platform.log_target()) {
            targets.push(platform.log_target());
        }
    }
    let mut filter: Vec<String> = targets.iter().map(|t| format!("{t}=info")).collect();
    filter.push("warn".to_string());
    filter.join(",")
}

/// The registered platform called `id`, or an error listing the ones there are.
fn platform(id: &str) -> Result<&'static dyn keryx_core::Platform> {
    keryx_core::find(id).ok_or_else(|| {
        let known: Vec<&str> = keryx_core::registry().iter().map(|p| p.id()).collect();
        Error::input(format!("unknown platform `{id}`"))
            .with_hint(format!("keryx knows: {}", known.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when a platform crate is a dependency of the CLI but its registration was lost
    /// (e.g. the crate forgot `inventory::submit!`).
    #[test]
    fn the_info_filter_names_every_registered_platform_crate() {
        link_platforms();
        let filter = info_filter();
        for name in LINKED_PLATFORM_CRATES {
            let target = name.replace('-', "_");
            assert!(
                filter.split(',').any(|d| d == format!("{target}=info")),
                "{target} missing from {filter}"
            );
        }
        assert!(filter.ends_with(",warn"), "{filter}");
    }

    #[test]
    fn every_linked_platform_is_registered() {
        link_platforms();
        let registered: Vec<String> = keryx_core::registry()
            .iter()
            .map(|p| format!("keryx-{}", p.id()))
            .collect();
        for name in LINKED_PLATFORM_CRATES {
            assert!(
                registered.contains(&name.to_string()),
                "{name} is linked but not registered"
            );
        }
        assert!(!LINKED_PLATFORM_CRATES.is_empty());
    }
}
