//! OAuth for installed apps: PKCE, the loopback capture, the pasted-URL fallback and `--code`.
//!
//! A platform describes its authorisation page with a [`FlowSpec`] and calls [`obtain_code`],
//! which returns the authorisation code with the [`AuthRequest`] it belongs to (verifier,
//! redirect URI). The platform exchanges the code, then calls [`forget_pending`].
//!
//! Three ways to finish, because the browser does not always run where keryx runs:
//! - the browser reaches keryx's listener on 127.0.0.1 (the usual case);
//! - the user pastes the address the browser ended on (or the bare code) into the waiting
//!   `keryx auth` (SSH sessions, a browser on another machine);
//! - a later process runs `keryx auth <p> --code <address or code>`, within 10 minutes, using
//!   the request saved in the state directory before the URL was shown.

mod browser;
mod lines;
mod loopback;
mod pending;
mod pkce;
mod redirect;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::process::Child;
use tokio::sync::mpsc::UnboundedReceiver;

pub use browser::Browser;
pub use pending::PENDING_TTL;
pub use pkce::{challenge_hex, challenge_s256, is_valid_verifier, state, verifier};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::platform::AuthOptions;
use crate::secret::Secret;
use lines::{LineSource, Lines};
use redirect::{Pasted, Who};

/// One authorisation attempt: what the token exchange must repeat. Saved (0600) in
/// `<state_dir>/pending/<platform>.json` until the platform calls [`forget_pending`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub platform: String,
    /// Exactly as sent to the authorisation page; the token request must repeat it byte for byte.
    pub redirect_uri: String,
    pub state: String,
    /// The PKCE verifier; the platform derives the challenge in the encoding its provider wants.
    pub verifier: Secret,
    /// Unix seconds.
    pub created_at: i64,
}

/// What came back from the authorisation page.
#[derive(Debug, Clone)]
pub struct Callback {
    /// The authorisation code, percent-decoded exactly once.
    pub code: Secret,
    /// Everything else in the redirect query, decoded (e.g. TikTok's `scopes`, Google's `scope`).
    /// Empty when only a bare code was given.
    pub params: BTreeMap<String, String>,
    pub request: AuthRequest,
    /// The loopback listener, kept answering "already done" until the code is exchanged.
    listener: Option<std::sync::Arc<loopback::Lingering>>,
}

/// What a platform tells [`obtain_code`] about its authorisation page.
pub struct FlowSpec<'a> {
    /// The platform id (`tiktok`): the pending file's name and the word in `keryx auth <p>` hints.
    pub platform: &'a str,
    /// For messages, e.g. `TikTok`.
    pub display_name: &'a str,
    /// The listener's path when no `--redirect` is pinned, e.g. `/callback/`.
    pub callback_path: &'a str,
    /// Builds the URL to open for a request (client id, scopes, the challenge from its verifier).
    pub authorize_url: &'a (dyn Fn(&AuthRequest) -> String + Send + Sync),
}

/// Where the interactive flow gets pasted lines, how it opens the browser and what interrupts
/// it. [`FlowIo::terminal`] is what `keryx auth` uses; tests and embedders replace parts.
pub struct FlowIo {
    lines: LineSource,
    browser: Browser,
    interrupt: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl FlowIo {
    /// Stdin for pasted lines, `$BROWSER` or the desktop's opener, and Ctrl-C.
    pub fn terminal() -> Self {
        FlowIo {
            lines: LineSource::Stdin,
            browser: Browser::System,
            interrupt: Box::pin(async {
                // Without a signal handler there is nothing to wait for; the timeout still ends the flow.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }),
        }
    }

    /// Pasted lines from a channel instead of stdin; dropping the sender is like EOF on stdin,
    /// which does not end the wait.
    pub fn with_lines(mut self, lines: UnboundedReceiver<String>) -> Self {
        self.lines = LineSource::Channel(lines);
        self
    }

    pub fn with_browser(mut self, browser: Browser) -> Self {
        self.browser = browser;
        self
    }

    /// Ends the wait with "interrupted" when `interrupt` completes (instead of Ctrl-C).
    pub fn with_interrupt(mut self, interrupt: impl Future<Output = ()> + Send + 'static) -> Self {
        self.interrupt = Box::pin(interrupt);
        self
    }
}

impl Default for FlowIo {
    fn default() -> Self {
        FlowIo::terminal()
    }
}

/// Gets an authorisation code for `spec`: from `options.code` (finishing the authorisation a
/// previous `keryx auth` saved), else by opening the browser and waiting for the loopback
/// redirect, a pasted address or code on stdin, the timeout or Ctrl-C.
///
/// The pending request stays on disk after success; call [`forget_pending`] once the code
/// was exchanged (or definitively refused).
pub async fn obtain_code(
    ctx: &Context,
    spec: &FlowSpec<'_>,
    options: &AuthOptions,
) -> Result<Callback> {
    obtain_code_with(ctx, spec, options, FlowIo::terminal()).await
}

/// [`obtain_code`] with the terminal replaced by `io`.
pub async fn obtain_code_with(
    ctx: &Context,
    spec: &FlowSpec<'_>,
    options: &AuthOptions,
    io: FlowIo,
) -> Result<Callback> {
    let url_for = |request: AuthRequest| {
        let url = (spec.authorize_url)(&request);
        async move { Ok(url) }
    };
    run_flow(ctx, spec, options, io, url_for).await
}

/// [`obtain_code`] for a provider whose authorisation URL comes from a request to its server
/// (a pushed authorisation request, RFC 9126): `push` gets the request once the listener is
/// bound and the request saved (its redirect URI carries the listener's port), and returns the
/// URL to open. `spec.authorize_url` is not used. An error from `push` ends the flow.
pub async fn obtain_pushed_code<P, F>(
    ctx: &Context,
    spec: &FlowSpec<'_>,
    options: &AuthOptions,
    push: P,
) -> Result<Callback>
where
    P: FnOnce(AuthRequest) -> F,
    F: Future<Output = Result<String>>,
{
    run_flow(ctx, spec, options, FlowIo::terminal(), push).await
}

async fn run_flow<P, F>(
    ctx: &Context,
    spec: &FlowSpec<'_>,
    options: &AuthOptions,
    io: FlowIo,
    url_for: P,
) -> Result<Callback>
where
    P: FnOnce(AuthRequest) -> F,
    F: Future<Output = Result<String>>,
{
    let who = Who {
        platform: spec.platform,
        display_name: spec.display_name,
    };
    if let Some(input) = &options.code {
        return finish_with_code(ctx, who, input);
    }
    // Checked before anything is bound or saved, so a bad --redirect leaves no trace.
    let pinned = options
        .redirect
        .as_deref()
        .map(redirect::parse_pinned)
        .transpose()?;
    let bound = loopback::bind(pinned.as_ref(), spec.callback_path).await?;
    let request = AuthRequest {
        platform: spec.platform.to_owned(),
        redirect_uri: bound.redirect_uri.clone(),
        state: pkce::state(),
        verifier: pkce::verifier(),
        created_at: pending::now(),
    };
    // Saved before the URL is shown: once the user can approve, `--code` must be able to finish.
    pending::save(ctx, &request)?;
    let url = url_for(request.clone()).await?;
    let mut server = loopback::serve(bound, request.clone(), who);

    // Opened before the URL is shown: lines typed earlier are dropped as stale, and a paste that
    // follows the URL at once must not be taken for one of them.
    let lines = io.lines.open();
    // What `keryx auth` is given to finish this one: `youtube` or `youtube:shorts`.
    let target = crate::target::label(spec.platform, &ctx.account);
    let (p, name) = (target.as_str(), spec.display_name);
    ctx.ui.show(&format!(
        "Open this URL in a browser to authorise keryx on {name}:"
    ));
    ctx.ui.show(&url);
    ctx.ui.show(&format!(
        "keryx is waiting for the browser at {} (up to {}). If the browser cannot reach this \
         computer, paste the address it ends on (or just the code) here and press Enter, or run \
         `keryx auth {p} --code '<address>'` within {}.",
        request.redirect_uri,
        human_duration(options.timeout),
        human_duration(PENDING_TTL),
    ));
    let child = if options.no_browser {
        None
    } else {
        match browser::open(&io.browser, &url) {
            Ok(child) => Some(child),
            Err(message) => {
                ctx.ui
                    .warn(&format!("{message}; open the URL above by hand"));
                None
            }
        }
    };

    let result = wait(
        ctx,
        who,
        &request,
        &mut server,
        child,
        options.timeout,
        Inputs {
            lines,
            interrupt: io.interrupt,
        },
    )
    .await;
    match result {
        Ok(mut callback) => {
            server.mark_answered();
            callback.listener = Some(std::sync::Arc::new(loopback::Lingering::new(server)));
            Ok(callback)
        }
        Err(error) => {
            server.shutdown().await;
            Err(error)
        }
    }
}

/// What besides the browser can end the wait: a pasted line, or an interrupt.
struct Inputs {
    lines: Lines,
    interrupt: Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// Races the listener, pasted lines, the browser opener's exit, the timeout and the interrupt.
async fn wait(
    ctx: &Context,
    who: Who<'_>,
    request: &AuthRequest,
    server: &mut loopback::Server,
    mut child: Option<Child>,
    timeout: Duration,
    inputs: Inputs,
) -> Result<Callback> {
    let Inputs {
        mut lines,
        mut interrupt,
    } = inputs;
    let target = crate::target::label(who.platform, &ctx.account);
    let p = target.as_str();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut lines_open = true;
    loop {
        tokio::select! {
            outcome = server.next() => {
                return outcome.unwrap_or_else(|| {
                    Err(Error::input("the loopback listener stopped before the redirect arrived")
                        .with_hint(format!("finish with `keryx auth {p} --code '<address>'`, or run `keryx auth {p}` again")))
                });
            }
            line = lines.recv(), if lines_open => match line {
                // EOF (stdin is /dev/null or a finished pipe) only ends pasting, not the wait.
                None => lines_open = false,
                Some(line) if line.trim().is_empty() => {}
                Some(line) => match redirect::classify(&line, request) {
                    Pasted::Unusable(why) => ctx.ui.warn(&format!(
                        "the pasted line was not used: {why}; keryx is still waiting"
                    )),
                    pasted => return complete(pasted, request, who),
                },
            },
            status = exit_of(&mut child) => {
                child = None;
                let failed = match status {
                    Ok(status) if status.success() => None,
                    Ok(status) => Some(format!("the browser command failed ({status})")),
                    Err(e) => Some(format!("cannot tell whether the browser started ({e})")),
                };
                if let Some(failed) = failed {
                    ctx.ui.warn(&format!("{failed}; open the URL above by hand"));
                }
            }
            () = &mut deadline => {
                let mut message = format!("no authorisation arrived within {}", human_duration(timeout));
                message.push_str(&ignored_summary(&server.ignored()));
                return Err(Error::input(message)
                    .with_hint(format!(
                        "run `keryx auth {p}` again, or finish with `keryx auth {p} --code '<redirect URL>'` within {} of the start",
                        human_duration(PENDING_TTL)
                    )));
            }
            () = &mut interrupt => {
                return Err(Error::input("interrupted").with_hint(format!(
                    "the authorisation is still pending for {}: finish it with `keryx auth {p} --code '<URL or code>'`",
                    human_duration(PENDING_TTL)
                )));
            }
        }
    }
}

/// "; keryx ignored 3 callbacks without this authorisation's `state`: 2 × a callback with
/// `error=access_denied` and no `state`, a callback with a `code` (not shown) and another
/// authorisation's `state`", or nothing when none were ignored.
fn ignored_summary(ignored: &[String]) -> String {
    if ignored.is_empty() {
        return String::new();
    }
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for looks_like in ignored {
        match counted.iter_mut().find(|(seen, _)| seen == looks_like) {
            Some((_, n)) => *n += 1,
            None => counted.push((looks_like, 1)),
        }
    }
    let kinds: Vec<String> = counted
        .iter()
        .map(|(looks_like, n)| match n {
            1 => (*looks_like).to_owned(),
            n => format!("{n} × {looks_like}"),
        })
        .collect();
    let n = ignored.len();
    format!(
        "; keryx ignored {n} callback{} that did not carry this authorisation's `state`: {}",
        if n == 1 { "" } else { "s" },
        kinds.join(", ")
    )
}

/// The exit of the browser opener; never resolves once there is none to watch.
async fn exit_of(child: &mut Option<Child>) -> std::io::Result<std::process::ExitStatus> {
    match child {
        Some(child) => child.wait().await,
        None => std::future::pending().await,
    }
}

/// `--code`: finishes the authorisation saved by an earlier `keryx auth` of this platform.
fn finish_with_code(ctx: &Context, who: Who<'_>, input: &str) -> Result<Callback> {
    let request = pending::load(ctx, who.platform)?;
    match redirect::classify(input, &request) {
        Pasted::Unusable(why) => Err(Error::input(format!("--code was not used: {why}")).with_hint(
            "pass the whole address the browser ended on, in quotes (a shell cuts it at `&`), or just the code",
        )),
        pasted => complete(pasted, &request, who),
    }
}

fn complete(pasted: Pasted, request: &AuthRequest, who: Who<'_>) -> Result<Callback> {
    match pasted {
        Pasted::Code(code) => Ok(Callback {
            code,
            params: BTreeMap::new(),
            request: request.clone(),
            listener: None,
        }),
        Pasted::Redirect(pairs) => redirect::from_query(pairs, request, who)?.ok_or_else(|| {
            Error::input("the address carries no authorisation code")
                .with_hint("paste the whole address the browser ended on after you approved")
        }),
        Pasted::Unusable(why) => Err(Error::input(why)),
    }
}

/// Forgets the pending authorisation of `platform` (its verifier is single-use). Called by the
/// platform once the code was exchanged or definitively refused. Nothing pending is fine.
pub fn forget_pending(ctx: &Context, platform: &str) -> Result<()> {
    pending::forget(ctx, platform)
}

/// "10 minutes", "45 seconds", "2 min 30 s", "300 ms".
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    match secs {
        0 => format!("{} ms", d.as_millis()),
        1..60 => plural(secs, "second"),
        _ if secs.is_multiple_of(3600) => plural(secs / 3600, "hour"),
        _ if secs.is_multiple_of(60) => plural(secs / 60, "minute"),
        _ => format!("{} min {} s", secs / 60, secs % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human_duration(Duration::from_secs(60)), "1 minute");
        assert_eq!(human_duration(Duration::from_secs(45)), "45 seconds");
        assert_eq!(human_duration(Duration::from_secs(150)), "2 min 30 s");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2 hours");
        assert_eq!(human_duration(Duration::from_millis(300)), "300 ms");
    }

    #[test]
    fn the_flow_future_is_send() {
        // Platform::authorize is an async_trait method, whose futures must be Send.
        fn assert_send<T: Send>(_: &T) {}
        fn check(ctx: &Context, spec: &FlowSpec<'_>, options: &AuthOptions) {
            assert_send(&obtain_code(ctx, spec, options));
        }
        let _ = check;
    }
}
