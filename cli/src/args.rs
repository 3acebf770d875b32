//! The command line, as clap parses it. No work happens here: each subcommand's module in
//! `commands/` takes its arguments struct and does the job.

use std::path::PathBuf;
use std::time::Duration;

use std::collections::BTreeMap;

use clap::{ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use keryx_core::{OptionKind, OptionValue};

/// Options given on the command line, by platform id, then option name.
pub type PlatformOptions = BTreeMap<String, BTreeMap<String, OptionValue>>;

/// The whole command line: [`Cli`]'s definition plus, on `post`, every registered platform's
/// options as `--<platform>-<option>` flags under a heading of their own (as rclone prefixes
/// its backends' options). Completions and the man page are made from this too.
pub fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("post", |post| {
            with_platform_args(post, |platform| platform.options())
        })
        .mut_subcommand("auth", |auth| {
            with_platform_args(auth, |platform| platform.auth_options())
        })
}

/// `command` with each registered platform's `options` as `--<platform>-<option>` flags.
fn with_platform_args(
    mut command: clap::Command,
    options: impl Fn(&dyn keryx_core::Platform) -> &'static [keryx_core::PostOption],
) -> clap::Command {
    for platform in keryx_core::registry() {
        let heading = format!("{} options", platform.display_name());
        for option in options(platform) {
            let name = option.flag_name(platform.id());
            let mut arg = clap::Arg::new(name.clone())
                .long(name)
                .help(option.help)
                .help_heading(heading.clone());
            arg = match option.kind.value_name() {
                None => arg.action(ArgAction::SetTrue),
                Some(value_name) => {
                    let option = *option;
                    arg.value_name(value_name)
                        .value_parser(move |text: &str| option.parse(text))
                }
            };
            command = command.arg(arg);
        }
    }
    command
}

/// Parses `args` with [`command`], keeping the platform options' values in [`PostArgs`].
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    match (&mut cli.command, matches.subcommand()) {
        (Command::Post(post), Some(("post", post_matches))) => {
            post.platform_options = platform_options(post_matches, |p| p.options());
        }
        (Command::Auth(auth), Some(("auth", auth_matches))) => {
            auth.platform_options = platform_options(auth_matches, |p| p.auth_options());
        }
        _ => {}
    }
    Ok(cli)
}

fn platform_options(
    matches: &ArgMatches,
    options: impl Fn(&dyn keryx_core::Platform) -> &'static [keryx_core::PostOption],
) -> PlatformOptions {
    let mut given = PlatformOptions::new();
    for platform in keryx_core::registry() {
        for option in options(platform) {
            let id = option.flag_name(platform.id());
            let value = match option.kind {
                // A flag not given stays unset, so the sidecar and the platform's defaults apply.
                OptionKind::Flag => matches.get_flag(&id).then_some(OptionValue::Flag(true)),
                _ => matches.get_one::<OptionValue>(&id).cloned(),
            };
            if let Some(value) = value {
                given
                    .entry(platform.id().to_owned())
                    .or_default()
                    .insert(option.name.to_owned(), value);
            }
        }
    }
    given
}

#[derive(Debug, Parser)]
#[command(
    name = "keryx",
    version,
    about = "Publish a finished video to several platforms at once.",
    long_about = "Publish a finished video to several platforms at once.\n\n\
        Set up each platform once with `keryx auth <platform>`, then `keryx post all VIDEO`\n\
        (or `keryx post <platform> VIDEO`). Try it first with `keryx demo`.\n\
        Config: --config, else $KERYX_CONFIG, else ~/.config/keryx/config.yaml.",
    after_help = "Exit codes: 0 done, 1 a platform refused or failed, 2 bad usage, config or input,\n\
        4 authorisation required (run the `keryx auth <platform>` the message names).\n\
        `post all`: 2 if anything was wrong before sending, else 4 if a target needs\n\
        authorising, else 1 if one failed."
)]
pub struct Cli {
    /// The config file (default: $KERYX_CONFIG, else ~/.config/keryx/config.yaml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// More detail on stderr (-v, -vv, -vvv). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors and warnings on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print one machine-readable JSON result on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Authorise keryx to post for you on a platform (once per platform).
    Auth(AuthArgs),
    /// Publish a video to a platform, or to every enabled platform at once with `post all`.
    Post(PostArgs),
    /// What was posted where: every attempt in the post ledger.
    History(HistoryArgs),
    /// List the platforms keryx knows and whether each is set up.
    Platforms,
    /// Check the config, secrets and tokens of every platform.
    Status,
    /// Serve every platform's strict emulator on one loopback port, for testing pipelines.
    Emulator(EmulatorArgs),
    /// Try everything against built-in emulators: no accounts, no set-up, nothing leaves this machine.
    Demo(DemoArgs),
    /// Print a shell completion script: `keryx completions bash > /etc/bash_completion.d/keryx`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per subcommand with --out-dir.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this account's attempts: `shorts`, or `youtube:shorts` for one platform's.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuthArgs {
    /// The platform, e.g. tiktok (see `keryx platforms`), or `platform:account` for one of
    /// its accounts (`youtube:shorts`).
    pub platform: String,

    /// The platform's account to authorise (a name of your choosing: lowercase letters, digits
    /// and `-`); created in the config if missing. Without it, the platform's one account.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Finish the authorisation started last, with the code or the whole redirect URL.
    #[arg(long, value_name = "CODE_OR_URL")]
    pub code: Option<String>,

    /// Loopback redirect URI with a fixed port, e.g. http://127.0.0.1:53682/callback/.
    #[arg(long, value_name = "URI")]
    pub redirect: Option<String>,

    /// Print the URL to open instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,

    /// How long to wait for the browser or a pasted URL, e.g. 300, 90s, 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// A credentials file downloaded from the platform's developer console.
    #[arg(long, value_name = "FILE")]
    pub client_secrets: Option<PathBuf>,

    /// Read the client secret from standard input and keep it in the secret store.
    #[arg(long, conflicts_with_all = ["code", "client_secrets"])]
    pub store_secret: bool,

    /// Revoke the stored authorisation at the platform, forget its token and disable the
    /// platform in the config.
    #[arg(long, conflicts_with_all = ["code", "redirect", "no_browser", "client_secrets", "store_secret", "app_password"])]
    pub remove: bool,

    /// The platforms' own auth options given as `--<platform>-<option>`, by platform id (see
    /// [`PostArgs::platform_options`]).
    #[arg(skip)]
    pub platform_options: PlatformOptions,

    /// Sign in with an app password instead of the browser (platforms that have them, e.g.
    /// for CI): read from the platform's environment variable or a hidden prompt, never an argument.
    #[arg(long, conflicts_with_all = ["code", "redirect", "client_secrets", "store_secret"])]
    pub app_password: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "`keryx post all VIDEO` posts to every enabled platform in parallel, \
    skipping those the ledger says already hold this video; run it again after a failure to \
    finish the job. Metadata: flags override VIDEO.keryx.yaml (or --meta FILE), whose \
    per-platform sections override its shared fields."
)]
pub struct PostArgs {
    /// The platform to post to (see `keryx platforms`), `platform:account` for one of its
    /// accounts, or `all` for every enabled account of every enabled platform.
    pub platform: String,

    /// The video file (MP4, MOV or WebM).
    pub video: PathBuf,

    #[command(flatten)]
    pub metadata: MetadataArgs,

    /// The platforms' own options given as `--<platform>-<option>`, by platform id. Not a clap
    /// field: the flags are declared by the registered platforms ([`command`]).
    #[arg(skip)]
    pub platform_options: PlatformOptions,

    /// Metadata file (YAML): shared fields and per-platform sections [default: VIDEO.keryx.yaml
    /// beside the video].
    #[arg(long, value_name = "FILE")]
    pub meta: Option<PathBuf>,

    /// Ignore VIDEO.keryx.yaml beside the video.
    #[arg(long, conflicts_with = "meta")]
    pub no_meta: bool,

    /// With `all`: only these targets, comma-separated (`youtube:main,tiktok`).
    #[arg(long, value_delimiter = ',', value_name = "TARGETS")]
    pub only: Vec<String>,

    /// With `all`: leave out these targets, comma-separated (`youtube:archive`).
    #[arg(long, value_delimiter = ',', value_name = "TARGETS")]
    pub skip: Vec<String>,

    /// With `all`: post again where the ledger says this video is already posted.
    #[arg(long)]
    pub force: bool,

    /// Take every choice from flags and config; ask nothing.
    #[arg(short, long)]
    pub yes: bool,

    /// Check everything and print what would be sent, but send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// What to say about the video. Each platform uses what it has and refuses what it cannot honour.
#[derive(Debug, Args, Default)]
pub struct MetadataArgs {
    /// Title (or caption, where the platform has no separate title).
    #[arg(long)]
    pub title: Option<String>,

    /// Description (where a platform has only a caption, it follows the title there).
    #[arg(long)]
    pub description: Option<String>,

    /// A tag; repeat for more.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// Privacy in the platform's words (e.g. SELF_ONLY, private); within the config's cap.
    #[arg(long)]
    pub privacy: Option<String>,

    /// Label the video as AI-generated or realistically altered.
    #[arg(long)]
    pub ai_generated: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Each request is logged on stderr (method, path, status, duration; never \
    the query string). Knobs, fault injection and a CI recipe: docs/configuration.md, \
    \"Pointing keryx at the emulators\"."
)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 7878)]
    pub port: u16,

    /// Only these platforms, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "PLATFORMS")]
    pub only: Vec<String>,

    /// A YAML file of knobs per platform (faults, modes, limits): `tiktok: {fail_chunk_with_5xx: [2]}`.
    #[arg(long, value_name = "FILE")]
    pub knobs: Option<PathBuf>,

    /// One knob, after --knobs: PLATFORM.KNOB=YAML, e.g. `tiktok.fail_chunk_with_5xx=[2]`; repeatable.
    #[arg(long = "knob", value_name = "PLATFORM.KNOB=VALUE")]
    pub knob: Vec<String>,

    /// Also write a ready config for these emulators to FILE (client secrets included, as
    /// `secrets: file` keeps them), once the port is bound.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Post this video instead of the sample that ships with keryx.
    #[arg(long, value_name = "FILE")]
    pub video: Option<PathBuf>,

    /// Keep the demo's throwaway config and state directory, and say where it is.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write keryx.1 and a page per subcommand (keryx-post.1, ...) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Seconds (`300`, `300s`) or minutes (`5m`).
/// A wait: `300`, `90s`, `5m`, `1m30s` (core's duration syntax), never zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    keryx_core::options::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            format!(
                "`{}` is not a duration; use seconds (300, 90s) or minutes (5m)",
                text.trim()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        crate::link_platforms();
        command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
