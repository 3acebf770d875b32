//! `keryx demo`: the whole job against built-in emulators, with no accounts, no set-up and
//! nothing leaving the machine.
//!
//! Every registered platform's emulator is served on a loopback port; a throwaway directory
//! holds the config (`secrets: file`, client secrets stored as `--store-secret` stores them) and
//! the state. Each platform then runs its real `authorize` — the loopback OAuth flow — with a
//! stand-in browser: a [`Ui`] that recognises the authorisation URL when the flow shows it and
//! does what a browser does with it (open it, get redirected to keryx's loopback listener, load
//! that). Then `keryx post all` runs — the command's own code, given the arguments a user would
//! type — on the sample video that ships inside the binary, with its progress bars and summary
//! table, and the demo ends by saying what happened and how to do it for real.
//!
//! With `--json`, stdout carries exactly what `keryx post all --json` prints (one array); the
//! rest goes to stderr.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use keryx_core::config::{Config, SecretsMode};
use keryx_core::paths::Paths;
use keryx_core::secrets::SecretStore;
use keryx_core::{
    AuthOptions, Context, Emulator, Error, Platform, Prompter, Result, Secret, Ui, VideoFile,
};

use crate::args::{Cli, Command, DemoArgs, PostArgs};
use crate::progress;
use crate::ui::{OutputMode, TerminalUi};

/// A real, valid H.264 MP4 (3 s, vertical; see assets/README.md) that ships inside the binary.
const SAMPLE_VIDEO: &[u8] = include_bytes!("../../../assets/sample.mp4");

/// How long each platform's authorisation may take: the stand-in browser answers at once.
const AUTH_TIMEOUT: Duration = Duration::from_secs(30);

/// What the demo passes to `keryx post all VIDEO` besides the video.
const POST_WORDS: &[&str] = &[
    "--yes",
    "--title",
    "Hello from keryx demo",
    "--description",
    "Posted by keryx demo to a local emulator; no real account.",
    "--tag",
    "keryx",
];

pub async fn run(mode: OutputMode, args: DemoArgs) -> Result<()> {
    let platforms = keryx_core::registry();
    if platforms.is_empty() {
        return Err(Error::input("this keryx was built without any platform"));
    }
    let emulators: Vec<Arc<dyn Emulator>> = platforms.iter().map(|p| p.emulator()).collect();
    check_environment(&emulators)?;

    let dir = tempfile::Builder::new()
        .prefix("keryx-demo-")
        .tempdir()
        .map_err(|e| Error::input("cannot create a temporary directory").with_source(e))?;
    // It will hold tokens (for emulators only, but tokens all the same).
    keryx_core::paths::create_private_dir(dir.path())?;
    let video_path = match &args.video {
        Some(path) => path.clone(),
        None => {
            let path = dir.path().join("sample.mp4");
            std::fs::write(&path, SAMPLE_VIDEO).map_err(|e| {
                Error::input(format!("cannot write {}", path.display())).with_source(e)
            })?;
            path
        }
    };
    // Checked before anything starts, so a wrong --video fails at once.
    let video = VideoFile::open(&video_path)?;

    let running = keryx_core::emulator::serve(emulators, 0).await?;
    let outcome = demo(mode, dir.path(), &running, &video).await;
    running.stop();

    let kept = if args.keep {
        Some(dir.keep())
    } else {
        drop(dir);
        None
    };
    let outcome = outcome?;
    if !mode.json {
        let own_video = args.video.is_some();
        print_summary(
            &outcome,
            &running.base_url,
            &video,
            own_video,
            kept.as_deref(),
        );
    } else if let Some(dir) = &kept {
        eprintln!("keryx demo: config and state kept in {}", dir.display());
    }
    // `post all` printed its table (or its JSON array); a failure there is only an exit code now.
    outcome.posted
}

/// What the demo did, for the summary.
struct Outcome {
    /// Per platform: who `auth` authorised.
    accounts: Vec<(&'static dyn Platform, String)>,
    /// What `keryx post all` returned.
    posted: Result<()>,
    /// Per platform: the emulator's count of upload requests it received.
    upload_requests: Vec<(&'static str, u64)>,
}

/// Client secrets come from the environment before the secret store (see
/// `keryx_core::secrets::client_secret`), so a real one exported in this shell would be sent to
/// the emulator, which refuses it. Said plainly instead of failing halfway.
fn check_environment(emulators: &[Arc<dyn Emulator>]) -> Result<()> {
    for emulator in emulators {
        let (env, accepted) = emulator.client_secret();
        if let Ok(value) = std::env::var(env)
            && !value.trim().is_empty()
            && value.trim() != accepted
        {
            return Err(Error::input(format!(
                "{env} is set in this shell; keryx would send it to the demo's emulator, which only accepts its own"
            ))
            .with_hint(format!("run the demo without it: env -u {env} keryx demo")));
        }
    }
    Ok(())
}

async fn demo(
    mode: OutputMode,
    dir: &Path,
    running: &keryx_core::emulator::Running,
    video: &VideoFile,
) -> Result<Outcome> {
    let base_url = running.base_url.as_str();
    let paths = Paths {
        config_file: dir.join("config.yaml"),
        state_dir: dir.join("state"),
    };
    let mut config = String::from(
        "# keryx demo: every platform points at the emulators on the loopback interface.\n\
         secrets: file\nplatforms:\n",
    );
    for emulator in &running.emulators {
        config.push_str(&format!("  {}:\n", emulator.platform_id()));
        config.push_str(&emulator.client_config(base_url));
    }
    std::fs::write(&paths.config_file, config).map_err(|e| {
        Error::input(format!("cannot write {}", paths.config_file.display())).with_source(e)
    })?;
    let ui: Arc<dyn Ui> = Arc::new(DemoBrowser::new(mode, base_url)?);
    let ctx = context(&paths, ui.clone())?;
    for emulator in &running.emulators {
        let (_, secret) = emulator.client_secret();
        let name = emulator.secret_name();
        ctx.secrets.set(&name, &Secret::new(secret))?;
    }
    let names: Vec<&str> = running.emulators.iter().map(|e| e.platform_id()).collect();
    ctx.ui.info(&format!(
        "keryx demo: emulators of {} are listening on {base_url} (loopback only); config and \
         state live in a throwaway directory.",
        names.join(", ")
    ));

    let mut accounts = Vec::new();
    for platform in keryx_core::registry() {
        ctx.ui.info("");
        ctx.ui.info(&format!("$ keryx auth {}", platform.id()));
        platform.check_config(&ctx)?;
        let options = AuthOptions {
            code: None,
            redirect: None,
            no_browser: true,
            timeout: AUTH_TIMEOUT,
            client_secrets: None,
            platform_options: Default::default(),
            app_password: false,
        };
        let report = platform
            .authorize(&ctx, &options)
            .await
            .map_err(|e| e.context(format!("demo: keryx auth {}", platform.id())))?;
        let line = format!(
            "Authorised {} as {}.",
            platform.display_name(),
            report.account
        );
        if mode.json {
            ctx.ui.info(&line);
        } else {
            println!("{line}");
        }
        accounts.push((platform, report.account));
    }

    // A new context, as the next command would build: `auth` changed the config on disk.
    let ctx = context(&paths, ui)?;
    let shown: Vec<String> = POST_WORDS
        .iter()
        .map(|w| {
            if w.contains(' ') {
                format!("\"{w}\"")
            } else {
                w.to_string()
            }
        })
        .collect();
    let name = video
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| video.path.display().to_string());
    ctx.ui.info("");
    ctx.ui
        .info(&format!("$ keryx post all {name} {}", shown.join(" ")));
    let args = post_all_args(&video.path, POST_WORDS)?;
    let posted = super::post_all::run(&ctx, mode, args).await;

    let upload_requests = running
        .emulators
        .iter()
        .map(|e| {
            let field = e.conformance().upload_requests_stat;
            (
                e.platform_id(),
                e.stats()[field].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    Ok(Outcome {
        accounts,
        posted,
        upload_requests,
    })
}

/// `keryx post all VIDEO WORDS...`, parsed by the CLI's own parser: the demo runs exactly what a
/// user would type.
fn post_all_args(video: &Path, words: &[&str]) -> Result<PostArgs> {
    let mut line: Vec<OsString> = vec!["keryx".into(), "post".into(), "all".into()];
    line.push(video.as_os_str().to_owned());
    line.extend(words.iter().map(OsString::from));
    match Cli::try_parse_from(line) {
        Ok(Cli {
            command: Command::Post(args),
            ..
        }) => Ok(args),
        Ok(_) => Err(Error::platform(
            "the demo's post command did not parse as `post`",
        )),
        Err(e) => Err(Error::platform("the demo's post command does not parse").with_source(e)),
    }
}

/// The context of one command, as the CLI builds it, on the demo's own files.
fn context(paths: &Paths, ui: Arc<dyn Ui>) -> Result<Context> {
    let ids: Vec<&str> = keryx_core::registry().iter().map(|p| p.id()).collect();
    let config = Config::load(&paths.config_file, &ids)?;
    let secrets = SecretStore::new(SecretsMode::File, config.path(), ui.clone());
    Ok(Context::new(
        config,
        paths.clone(),
        secrets,
        keryx_core::http::client()?,
        ui,
    ))
}

fn print_summary(
    outcome: &Outcome,
    base_url: &str,
    video: &VideoFile,
    own_video: bool,
    kept: Option<&Path>,
) {
    let mut out = std::io::stdout().lock();
    let names: Vec<&str> = outcome
        .accounts
        .iter()
        .map(|(p, _)| p.display_name())
        .collect();
    let requests: Vec<String> = outcome
        .upload_requests
        .iter()
        .map(|(id, n)| format!("{id} {n}"))
        .collect();
    let what = if own_video {
        video.path.display().to_string()
    } else {
        "the sample video that ships with keryx".to_string()
    };
    let _ = writeln!(out);
    let _ = writeln!(out, "What happened:");
    let _ = writeln!(
        out,
        "  - keryx served strict emulators of {} on {base_url}: the platforms' real API paths, \
         on the loopback interface only.",
        names.join(", ")
    );
    let _ = writeln!(
        out,
        "  - `keryx auth` ran for each: keryx opened its loopback listener, a stand-in browser \
         opened the authorisation URL and followed the redirect back, and keryx exchanged the \
         code and stored the token."
    );
    let _ = writeln!(
        out,
        "  - `keryx post all` checked {what} ({}) against each platform's rules, then posted it \
         to all of them at once (upload requests the emulators received: {}).",
        progress::human_bytes(video.size),
        requests.join(", ")
    );
    if outcome.posted.is_err() {
        let _ = writeln!(
            out,
            "  - Some posts failed (see above). Against the emulators that is a bug in keryx: \
             please report it with the output of `keryx demo -vv`."
        );
    }
    match kept {
        Some(dir) => {
            let _ = writeln!(
                out,
                "  - Config and state are kept in {} (`keryx --config {} status`; the emulators \
                 are gone).",
                dir.display(),
                dir.join("config.yaml").display()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  - Config, tokens and state lived in a throwaway directory, now deleted. \
                 Nothing was posted anywhere real."
            );
        }
    }
    // Which platforms need an app of the user's own (a client id and secret), from each
    // platform's own answer: the guide never names a platform itself.
    let (registered, public): (Vec<_>, Vec<_>) = outcome
        .accounts
        .iter()
        .map(|(p, _)| *p)
        .partition(|p| p.needs_registered_app());
    let names = |ps: &[&dyn Platform]| {
        let names: Vec<&str> = ps.iter().map(|p| p.display_name()).collect();
        match names.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    };
    let guides = |ps: &[&dyn Platform]| {
        ps.iter()
            .map(|p| format!("docs/{}.md", p.id()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ids: Vec<&str> = outcome.accounts.iter().map(|(p, _)| p.id()).collect();
    let _ = writeln!(out);
    let _ = writeln!(out, "Doing it for real:");
    if !registered.is_empty() {
        let _ = writeln!(
            out,
            "  1. Register an app with {}{} and note its client id and secret: {}.",
            if registered.len() > 1 { "each of " } else { "" },
            names(&registered),
            guides(&registered)
        );
    }
    if !public.is_empty() {
        let step = if registered.is_empty() {
            "  1. "
        } else {
            "     "
        };
        let _ = writeln!(
            out,
            "{step}{} {} no app of your own: you sign in with your account ({}).",
            names(&public),
            if public.len() == 1 { "needs" } else { "need" },
            guides(&public)
        );
    }
    let secrets = if registered.is_empty() {
        ""
    } else {
        " and export the client secrets"
    };
    let _ = writeln!(
        out,
        "  2. Write ~/.config/keryx/config.yaml (every key: docs/configuration.md){secrets}."
    );
    let _ = writeln!(
        out,
        "  3. Authorise once per platform: keryx auth {}",
        ids.join(" / ")
    );
    let _ = writeln!(out, "  4. Post everywhere: keryx post all reel.mp4");
    let _ = writeln!(
        out,
        "  Several channels on one platform: keryx auth <platform> --account NAME, once per \
         account (docs/configuration.md)"
    );
    let _ = writeln!(
        out,
        "To test your own pipeline against these emulators (e.g. in CI): keryx emulator --help"
    );
    let _ = out.flush();
}

/// The terminal UI plus a stand-in browser: when the OAuth flow shows the authorisation URL
/// (a line starting with the emulators' address), it is opened the way a browser opens it.
struct DemoBrowser {
    inner: TerminalUi,
    base_url: String,
    /// Like a browser's first request: no redirect is followed automatically.
    http: reqwest::Client,
}

impl DemoBrowser {
    fn new(mode: OutputMode, base_url: &str) -> Result<DemoBrowser> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| Error::platform("cannot build an HTTP client").with_source(e))?;
        Ok(DemoBrowser {
            inner: TerminalUi::new(mode, false),
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
        })
    }

    fn open(&self, url: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.inner.warn(
                "the demo's browser needs the async runtime; the authorisation will time out",
            );
            return;
        };
        self.inner
            .info("(demo: a stand-in browser opens that URL, approves, and follows the redirect)");
        let http = self.http.clone();
        let url = url.to_string();
        runtime.spawn(async move {
            if let Err(why) = approve(&http, &url).await {
                // The flow keeps waiting until its timeout; say why now.
                eprintln!("warning: the demo's browser failed: {why}");
            }
        });
    }
}

/// What a browser does: load the authorisation page, which (auto-approving) redirects to
/// keryx's loopback listener, and load that.
async fn approve(http: &reqwest::Client, url: &str) -> std::result::Result<(), String> {
    let page = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot load the authorisation page ({e})"))?;
    if !page.status().is_redirection() {
        return Err(format!(
            "the authorisation page answered {} instead of redirecting",
            page.status()
        ));
    }
    let location = page
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or("the authorisation page redirected nowhere")?;
    let target = page
        .url()
        .join(location)
        .map_err(|e| format!("the redirect is not a URL ({e})"))?;
    let landing = http
        .get(target)
        .send()
        .await
        .map_err(|e| format!("cannot reach keryx's loopback listener ({e})"))?;
    if !landing.status().is_success() {
        return Err(format!(
            "keryx's loopback listener answered {}",
            landing.status()
        ));
    }
    Ok(())
}

impl Ui for DemoBrowser {
    fn info(&self, message: &str) {
        self.inner.info(message);
    }

    fn show(&self, message: &str) {
        self.inner.show(message);
        if message.trim().starts_with(&self.base_url) {
            self.open(message.trim());
        }
    }

    fn warn(&self, message: &str) {
        self.inner.warn(message);
    }

    fn prompter(&self) -> Option<&dyn Prompter> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_sample_is_a_video_keryx_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("sample.mp4");
        std::fs::write(&path, SAMPLE_VIDEO).unwrap();
        let video = VideoFile::open(&path).unwrap();
        assert_eq!(video.container, keryx_core::media::Container::Mp4);
        // Vertical, so every platform takes it as a short-form video (assets/README.md).
        assert_eq!(video.is_vertical_or_square(), Some(true));
        let seconds = video.duration.unwrap().as_secs_f64();
        assert!((2.9..=3.1).contains(&seconds), "{seconds}");
    }
}
