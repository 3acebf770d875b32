//! The shared HTTP client, the one retry policy, and the exchange every API call goes through.
//!
//! - [`client`]: redirects are answers, not directions; timeouts for connecting and for a
//!   dead connection, never for a whole request (an upload of gigabytes takes as long as it
//!   takes).
//! - [`Policy`] and [`exchange`]: every small API call (JSON in, JSON out, token requests) gets
//!   a reply timeout and the one retry policy: 5xx, rate limits (with `Retry-After`, or a wait
//!   that outlasts the platform's documented window), dropped connections and timeouts are
//!   retried with exponential backoff and full jitter, within a total budget per call. The
//!   platform only classifies each reply ([`Verdict`]); [`crate::session::Session`] adds the
//!   access token and its replacement.
//! - [`until_silent`] with an [`Activity`]: the "nothing moved for 60 s" timeout for uploads,
//!   which reqwest cannot express (see [`client`]).
//! - [`Backoff`], [`retry_after`], [`is_transient`], [`is_transient_status`]: the pieces upload
//!   loops are made of.
//!
//! Environment (for tests; each a whole number of milliseconds):
//! - `KERYX_RETRY_BASE_MS` replaces the first backoff delay (default 1000 ms); the cap scales
//!   with it (32 × base), and `Retry-After` and rate-limit windows are clamped to that cap, so
//!   fault-recovery tests never sleep for long.
//! - `KERYX_REPLY_TIMEOUT_MS`: how long a reply may take (default 30 000 ms).
//! - `KERYX_RETRY_BUDGET_MS`: how long one call may keep retrying (default 300 000 ms).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{Cause, Error, Result};

/// How long to wait for a TCP (and TLS) connection to be set up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long an exchange may go without any progress before it counts as dead.
pub const SILENCE: Duration = Duration::from_secs(60);

/// How long a small API call may wait for its reply (headers, then again for the body) before
/// the attempt counts as failed and is retried. Never applied to an upload's body.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one call keeps retrying before it gives up and reports the last failure: long
/// enough to wait out a per-minute rate limit a few times over.
pub const RETRY_BUDGET: Duration = Duration::from_secs(300);

/// The environment variable that replaces [`REPLY_TIMEOUT`] (milliseconds), for tests.
pub const REPLY_TIMEOUT_ENV: &str = "KERYX_REPLY_TIMEOUT_MS";

/// The environment variable that replaces [`RETRY_BUDGET`] (milliseconds), for tests.
pub const RETRY_BUDGET_ENV: &str = "KERYX_RETRY_BUDGET_MS";

/// The client shared by every platform through [`crate::Context::http`].
///
/// - Redirects are not followed: TikTok answers with 3xx and Google's resumable upload with
///   `308 Resume Incomplete`, and both are replies for the caller to read.
/// - `User-Agent: keryx/<version>`.
/// - A connect timeout of [`CONNECT_TIMEOUT`], and no total timeout.
/// - No reqwest `read_timeout`: in reqwest 0.13 it is one deadline from sending the request to
///   the response headers, not reset while the request body is being written, so it would
///   abort every upload that takes longer than the timeout (seanmonstar/reqwest#2784).
///   Instead, a connection whose sent bytes stay unacknowledged for [`SILENCE`] is closed by
///   the kernel (`TCP_USER_TIMEOUT`, Linux), keepalive probes find dead idle peers, small API
///   calls go through [`exchange`] (a [`Policy::reply_timeout`] per attempt), and uploads wrap
///   their exchange in [`until_silent`].
pub fn client() -> Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("keryx/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_keepalive(Duration::from_secs(30));
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let builder = builder.tcp_user_timeout(SILENCE);
    builder.build().map_err(|err| {
        Error::platform("cannot set up the HTTPS client")
            .with_hint("This is a problem with keryx's TLS setup; please report it.")
            .with_source(err)
    })
}

/// When an exchange last made progress: shared between an upload body's `on_bytes` callback
/// (which calls [`Activity::touch`]) and [`until_silent`], which watches it.
#[derive(Debug, Clone)]
pub struct Activity {
    origin: Instant,
    /// Milliseconds since `origin` of the last progress.
    last: Arc<AtomicU64>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

impl Activity {
    /// Starts counting from now.
    pub fn new() -> Self {
        Activity {
            origin: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records progress now.
    pub fn touch(&self) {
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// How long since the last progress (or since creation).
    pub fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }
}

/// `fut` went `silence` without progress: the connection is presumed dead. Transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stalled {
    pub silence: Duration,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no progress for {} s; the connection looks dead",
            self.silence.as_secs()
        )
    }
}

impl std::error::Error for Stalled {}

/// Runs `fut` to completion unless `activity` stays idle for `silence`, whatever the total
/// time: an upload that keeps moving is never cut off, one that stops is abandoned after
/// `silence`. Once the body is sent, the wait for the reply counts as idle time. The upload
/// engine ([`crate::upload::engine`]) touches `activity` from its body's `on_bytes` callback.
pub async fn until_silent<F: Future>(
    activity: &Activity,
    silence: Duration,
    fut: F,
) -> std::result::Result<F::Output, Stalled> {
    activity.touch();
    tokio::pin!(fut);
    loop {
        let wait = silence.saturating_sub(activity.idle());
        tokio::select! {
            output = &mut fut => return Ok(output),
            () = tokio::time::sleep(wait) => {
                if activity.idle() >= silence {
                    return Err(Stalled { silence });
                }
            }
        }
    }
}

/// Exponential backoff with full jitter: attempt *n* (0-based) waits a uniformly random time
/// in `[0, min(cap, base × 2^n)]`, which spreads clients out after a shared outage (AWS
/// Architecture Blog, "Exponential Backoff And Jitter").
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    max_attempts: u32,
    /// Retry-After values above this are not waited out: the caller gives up instead.
    max_retry_after: Duration,
    /// Clamp Retry-After to `cap` (test mode, see `KERYX_RETRY_BASE_MS`).
    clamp_retry_after: bool,
    failures: u32,
}

/// The environment variable that shrinks [`Backoff::default`] for tests.
pub const RETRY_BASE_ENV: &str = "KERYX_RETRY_BASE_MS";

impl Default for Backoff {
    /// Base 1 s, cap 32 s, 6 attempts; `KERYX_RETRY_BASE_MS` replaces the base and scales the
    /// cap (32 × base), and then also clamps `Retry-After` to the cap.
    fn default() -> Self {
        Backoff::with_base_override(std::env::var(RETRY_BASE_ENV).ok().as_deref())
    }
}

impl Backoff {
    /// The default schedule, or the shrunk one `KERYX_RETRY_BASE_MS` asks for.
    fn with_base_override(value: Option<&str>) -> Self {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(32), 6);
        if let Some(base) = millis(RETRY_BASE_ENV, value) {
            backoff.base = base;
            backoff.cap = base.saturating_mul(32);
            backoff.clamp_retry_after = true;
        }
        backoff
    }
}

impl Backoff {
    /// `max_attempts` counts every try, the first included: `next_delay` allows
    /// `max_attempts - 1` retries. Not affected by `KERYX_RETRY_BASE_MS`.
    pub fn new(base: Duration, cap: Duration, max_attempts: u32) -> Self {
        Backoff {
            base,
            cap: cap.max(base),
            max_attempts,
            max_retry_after: Duration::from_secs(300),
            clamp_retry_after: false,
            failures: 0,
        }
    }

    /// Longest `Retry-After` to wait out (default 5 minutes); a server asking for more makes
    /// [`Backoff::next_delay`] give up, so the user hears about it instead of a silent hang.
    pub fn with_max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// After a failed attempt: how long to wait before the next one, or `None` to give up.
    /// A server's `Retry-After` is honoured as given (the jittered delay if that is longer).
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.max_attempts {
            return None;
        }
        let jittered = jitter(self.base, self.cap, self.failures);
        match retry_after {
            Some(asked) if self.clamp_retry_after => Some(asked.min(self.cap).max(jittered)),
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked.max(jittered)),
            None => Some(jittered),
        }
    }

    /// Failed attempts so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Starts over, e.g. after an attempt that made progress.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Full jitter after the `failures`-th failure (1-based): uniform in
/// `[0, min(cap, base × 2^(failures-1))]`.
fn jitter(base: Duration, cap: Duration, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(31);
    let ceiling = base.saturating_mul(1u32 << exponent).min(cap);
    let ceiling_ns = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=ceiling_ns))
}

/// A `Retry-After` header as a delay from now: delta-seconds or an HTTP-date (a date in the
/// past means "now"). `None` if absent or unreadable.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // An absurdly long number is still "wait very long", not "no header".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Whether a failed request is worth repeating: the connection could not be made, timed out,
/// or broke while the request or reply was in flight.
///
/// Not transient: a bad request built by keryx, a redirect-policy refusal, a reply that is
/// not the expected JSON, a TLS/protocol failure (an invalid certificate stays invalid), and a
/// local failure such as the upload file changing ([`local_cause`]).
pub fn is_transient(err: &reqwest::Error) -> bool {
    if local_cause(err).is_some() || err.is_builder() || err.is_redirect() || err.is_status() {
        return false;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                // TLS failures (bad certificate, handshake alert) surface as InvalidData.
                InvalidData | InvalidInput | PermissionDenied | Unsupported => false,
                _ => true,
            };
        }
        source = cause.source();
    }
    if err.is_decode() {
        // A reply that arrived whole but is not what was expected will not improve.
        return false;
    }
    err.is_connect() || err.is_timeout() || err.is_request() || err.is_body()
}

/// The keryx error behind a failed request, if the failure was local: e.g. the upload file
/// changed while its body was being sent. Show its message rather than a network error.
pub fn local_cause(err: &reqwest::Error) -> Option<&Error> {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(local) = cause.downcast_ref::<Error>() {
            return Some(local);
        }
        source = cause.source();
    }
    None
}

/// Server-side failures that usually pass: 500, 502, 503, 504. (429 and quota errors are
/// platform-specific: the platform's [`Verdict`] says [`Verdict::RateLimited`].)
pub fn is_transient_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The one retry policy for small API calls: how long a reply may take, how the waits between
/// attempts grow, and how long one call may keep trying. See the module doc for the
/// environment variables that shrink it in tests.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Per attempt: the reply's headers must arrive this soon after sending, and its body this
    /// soon after them. A server that accepts a request and never answers costs one timeout.
    pub reply_timeout: Duration,
    /// Per call: no retry is started once this much time has passed since the first attempt
    /// (the wait before it included).
    pub budget: Duration,
    base: Duration,
    cap: Duration,
    /// Clamp `Retry-After` and rate-limit windows to `cap` (test mode, `KERYX_RETRY_BASE_MS`).
    clamp_waits: bool,
}

impl Default for Policy {
    /// [`Policy::from_env`].
    fn default() -> Self {
        Policy::from_env()
    }
}

impl Policy {
    /// Reply timeout [`REPLY_TIMEOUT`], budget [`RETRY_BUDGET`], backoff from 1 s doubling up
    /// to 32 s; each replaced by its environment variable when set.
    pub fn from_env() -> Policy {
        let var = |name: &str| std::env::var(name).ok();
        Policy::with_overrides(
            var(RETRY_BASE_ENV).as_deref(),
            var(REPLY_TIMEOUT_ENV).as_deref(),
            var(RETRY_BUDGET_ENV).as_deref(),
        )
    }

    /// A policy with these values, whatever the environment says.
    pub fn new(reply_timeout: Duration, budget: Duration, base: Duration, cap: Duration) -> Policy {
        Policy {
            reply_timeout,
            budget,
            base,
            cap: cap.max(base),
            clamp_waits: false,
        }
    }

    fn with_overrides(base: Option<&str>, timeout: Option<&str>, budget: Option<&str>) -> Policy {
        let mut policy = Policy::new(
            REPLY_TIMEOUT,
            RETRY_BUDGET,
            Duration::from_secs(1),
            Duration::from_secs(32),
        );
        if let Some(base) = millis(RETRY_BASE_ENV, base) {
            policy.base = base;
            policy.cap = base.saturating_mul(32);
            policy.clamp_waits = true;
        }
        if let Some(timeout) = millis(REPLY_TIMEOUT_ENV, timeout) {
            policy.reply_timeout = timeout.max(Duration::from_millis(1));
        }
        if let Some(budget) = millis(RETRY_BUDGET_ENV, budget) {
            policy.budget = budget;
        }
        policy
    }

    /// The wait before the `failures`-th retry (1-based): full jitter, and at least what the
    /// server asked for. A `Retry-After` is precise, so it is honoured as given; without one, a
    /// documented rate-limit window is waited out whole (a sliding window has then dropped the
    /// request that filled it) plus the jitter, so clients that met the limit together do not
    /// all come back at the same moment.
    pub(crate) fn delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        window: Option<Duration>,
    ) -> Duration {
        let jittered = jitter(self.base, self.cap, failures);
        let clamp = |asked: Duration| {
            if self.clamp_waits {
                asked.min(self.cap)
            } else {
                asked
            }
        };
        match (retry_after, window) {
            (Some(asked), _) => clamp(asked).max(jittered),
            (None, Some(window)) => clamp(window).saturating_add(jittered),
            (None, None) => jittered,
        }
    }
}

/// A whole number of milliseconds from `var`, or `None` (with a warning when it is not one).
fn millis(var: &str, value: Option<&str>) -> Option<Duration> {
    let value = value?;
    match value.trim().parse::<u64>() {
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(_) => {
            tracing::warn!("{var}={value:?} is not a whole number of milliseconds; ignored");
            None
        }
    }
}

/// A reply read whole: what a platform classifies and, once it is [`Verdict::Ok`], decodes.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The reply's `Retry-After`, if it has a readable one.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// The body as text, for error messages (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// What a platform makes of one reply. Transport failures (no connection, a dropped one, no
/// reply in time) never reach the platform: [`exchange`] treats them as transient itself.
#[derive(Debug)]
pub enum Verdict {
    /// The call succeeded; the caller decodes the reply.
    Ok,
    /// The access token was refused: a [`crate::session::Session`] takes a newer one or
    /// refreshes, then repeats the call. The error is reported when that does not help, or
    /// when the call had no token to replace.
    TokenInvalid(Error),
    /// Slow down: wait `retry_after` when the server said, else the platform's documented
    /// `window` (e.g. TikTok's per-minute limits), then try again within the budget.
    RateLimited {
        retry_after: Option<Duration>,
        window: Option<Duration>,
        error: Error,
    },
    /// A failure that usually passes (a 5xx): try again after backoff (or `retry_after`).
    Transient {
        retry_after: Option<Duration>,
        error: Error,
    },
    /// A final answer: the error, with the platform's code, message and ids, is the result.
    Failed(Error),
}

/// Sends a small API call (JSON or a form in, a short reply out) under `policy` until its reply
/// is worth reading: every attempt gets the reply timeout, and every failure `classify` calls
/// transient, every rate limit and every transport failure is retried after the policy's wait
/// while the budget lasts. Returns the reply `classify` accepted, or the final error (on giving
/// up, the last failure, saying how long keryx tried). `what` names the endpoint in messages
/// ("no reply from {what} within 30 s"), e.g. "TikTok's token endpoint". Unauthenticated calls (token requests); calls with an access
/// token go through [`crate::session::Session::send`].
pub async fn exchange(
    policy: &Policy,
    what: &str,
    request: impl Fn() -> reqwest::RequestBuilder,
    classify: impl Fn(&Reply) -> Verdict,
) -> Result<Reply> {
    match Call::new(policy, what).run(request, &classify).await? {
        Answer::Reply(reply) => Ok(reply),
        Answer::TokenInvalid(error) => Err(error),
    }
}

/// How [`Call::run`] ended, when it did not fail.
pub(crate) enum Answer {
    Reply(Reply),
    TokenInvalid(Error),
}

/// One call's attempts so far, across token replacements.
pub(crate) struct Call<'a> {
    policy: &'a Policy,
    what: &'a str,
    started: Instant,
    failures: u32,
}

impl<'a> Call<'a> {
    pub(crate) fn new(policy: &'a Policy, what: &'a str) -> Call<'a> {
        Call {
            policy,
            what,
            started: Instant::now(),
            failures: 0,
        }
    }

    /// Attempts until a reply is accepted, the token is refused, or a final error.
    pub(crate) async fn run(
        &mut self,
        request: impl Fn() -> reqwest::RequestBuilder,
        classify: &impl Fn(&Reply) -> Verdict,
    ) -> Result<Answer> {
        loop {
            let (retry_after, window, error) = match self.attempt(request(), classify).await {
                Ok(reply) => return Ok(Answer::Reply(reply)),
                Err(Verdict::Ok) => unreachable!("an accepted reply is returned as Ok"),
                Err(Verdict::TokenInvalid(error)) => return Ok(Answer::TokenInvalid(error)),
                Err(Verdict::Failed(error)) => return Err(error),
                Err(Verdict::Transient { retry_after, error }) => (retry_after, None, error),
                Err(Verdict::RateLimited {
                    retry_after,
                    window,
                    error,
                }) => {
                    let error = match error.cause() {
                        Some(_) => error,
                        None => error.with_cause(Cause::RateLimited),
                    };
                    (retry_after, window, error)
                }
            };
            self.failures += 1;
            let delay = self.policy.delay(self.failures, retry_after, window);
            if self.started.elapsed().saturating_add(delay) > self.policy.budget {
                return Err(self.give_up(error));
            }
            tracing::info!("{}: {error}; retrying in {delay:?}", self.what);
            tokio::time::sleep(delay).await;
        }
    }

    /// One request: the reply read whole within the timeouts and accepted, or why not.
    async fn attempt(
        &self,
        request: reqwest::RequestBuilder,
        classify: &impl Fn(&Reply) -> Verdict,
    ) -> std::result::Result<Reply, Verdict> {
        let timeout = self.policy.reply_timeout;
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return Err(self.no_reply(timeout)),
            Ok(Err(e)) => return Err(self.transport_failure(e)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match tokio::time::timeout(timeout, response.bytes()).await {
            Err(_) => return Err(self.no_reply(timeout)),
            Ok(Err(e)) => return Err(self.transport_failure(e)),
            Ok(Ok(body)) => body,
        };
        let reply = Reply {
            status,
            headers,
            body,
        };
        match classify(&reply) {
            Verdict::Ok => Ok(reply),
            other => Err(other),
        }
    }

    fn no_reply(&self, timeout: Duration) -> Verdict {
        Verdict::Transient {
            retry_after: None,
            error: Error::platform(format!(
                "no reply from {} within {}",
                self.what,
                human(timeout)
            ))
            .with_cause(Cause::Timeout)
            .with_hint("check the network connection and try again; the service may be overloaded"),
        }
    }

    fn transport_failure(&self, e: reqwest::Error) -> Verdict {
        if let Some(local) = local_cause(&e) {
            let mut error = Error::input(local.message().to_string());
            if let Some(hint) = local.hint() {
                error = error.with_hint(hint.to_string());
            }
            return Verdict::Failed(error);
        }
        let cause = if e.is_timeout() {
            Cause::Timeout
        } else {
            Cause::Unreachable
        };
        let transient = is_transient(&e);
        let error = Error::platform(format!("cannot reach {}", self.what))
            .with_cause(cause)
            .with_source(e)
            .with_hint(
                "check the network connection (and the platform's base_url, if set) and try again",
            );
        if transient {
            Verdict::Transient {
                retry_after: None,
                error,
            }
        } else {
            Verdict::Failed(error)
        }
    }

    /// The last failure, saying how long keryx kept trying.
    fn give_up(&self, error: Error) -> Error {
        let tries = self.failures;
        let elapsed = human(self.started.elapsed());
        error.with_note(format!("gave up after {tries} tries in {elapsed}"))
    }
}

/// `250 ms`, `12 s`, `4.5 min`: how long, for people.
fn human(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        let secs = duration.as_secs_f64();
        if secs.fract() < 0.05 {
            format!("{secs:.0} s")
        } else {
            format!("{secs:.1} s")
        }
    } else {
        format!("{:.1} min", duration.as_secs_f64() / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn backoff_grows_within_bounds_then_gives_up() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(1000);
        for _ in 0..200 {
            let mut backoff = Backoff::new(base, cap, 6);
            for retry in 0..5u32 {
                let delay = backoff.next_delay(None).expect("a retry is left");
                let ceiling = (base * 2u32.pow(retry)).min(cap);
                assert!(delay <= ceiling, "retry {retry}: {delay:?} > {ceiling:?}");
            }
            assert_eq!(backoff.failures(), 5);
            assert_eq!(backoff.next_delay(None), None, "6 attempts = 5 retries");
            assert_eq!(backoff.next_delay(None), None);
        }
    }

    #[test]
    fn backoff_jitter_spreads_delays() {
        // Full jitter: the 4th delay is uniform in [0, 800 ms]; 100 draws cannot all agree
        // or all sit in the top half.
        let draws: Vec<Duration> = (0..100)
            .map(|_| {
                let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10), 10);
                (0..3).for_each(|_| {
                    b.next_delay(None);
                });
                b.next_delay(None).unwrap()
            })
            .collect();
        let low = draws
            .iter()
            .filter(|d| **d < Duration::from_millis(400))
            .count();
        assert!((10..=90).contains(&low), "{low} of 100 below the middle");
        assert!(draws.iter().any(|d| *d != draws[0]));
    }

    #[test]
    fn backoff_honours_retry_after() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(20), 6);
        let delay = backoff.next_delay(Some(Duration::from_secs(7))).unwrap();
        assert_eq!(delay, Duration::from_secs(7));
        // Beyond the longest wait it accepts, give up rather than hang.
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(20), 6)
            .with_max_retry_after(Duration::from_secs(60));
        assert_eq!(backoff.next_delay(Some(Duration::from_secs(61))), None);
    }

    #[test]
    fn backoff_reset_and_single_attempt() {
        let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 2);
        assert!(backoff.next_delay(None).is_some());
        assert_eq!(backoff.next_delay(None), None);
        backoff.reset();
        assert!(backoff.next_delay(None).is_some());
        let mut once = Backoff::new(Duration::from_secs(1), Duration::from_secs(2), 1);
        assert_eq!(once.next_delay(None), None);
    }

    #[test]
    fn env_override_shrinks_everything() {
        let mut backoff = Backoff::with_base_override(Some(" 5 "));
        for _ in 0..5 {
            assert!(backoff.next_delay(None).unwrap() <= Duration::from_millis(160));
        }
        assert_eq!(backoff.next_delay(None), None);
        // Retry-After is clamped to the shrunk cap, so fault tests never sleep long.
        let mut backoff = Backoff::with_base_override(Some("5"));
        let delay = backoff.next_delay(Some(Duration::from_secs(3600))).unwrap();
        assert_eq!(delay, Duration::from_millis(160));

        let default = Backoff::with_base_override(None);
        assert_eq!(
            (default.base, default.cap, default.max_attempts),
            (Duration::from_secs(1), Duration::from_secs(32), 6)
        );
        let garbage = Backoff::with_base_override(Some("fast"));
        assert_eq!(garbage.base, Duration::from_secs(1));
        assert!(!garbage.clamp_retry_after);
    }

    fn policy() -> Policy {
        Policy::new(
            Duration::from_secs(30),
            Duration::from_secs(300),
            Duration::from_millis(100),
            Duration::from_millis(3200),
        )
    }

    #[test]
    fn a_documented_window_is_waited_out_whole() {
        let policy = policy();
        for failures in 1..8 {
            let delay = policy.delay(failures, None, Some(Duration::from_secs(60)));
            assert!(delay >= Duration::from_secs(60), "{delay:?}");
            assert!(delay <= Duration::from_millis(63_200), "{delay:?}");
        }
        // A Retry-After is precise: it wins over the window.
        let delay = policy.delay(
            1,
            Some(Duration::from_secs(7)),
            Some(Duration::from_secs(60)),
        );
        assert!(
            delay >= Duration::from_secs(7) && delay < Duration::from_secs(8),
            "{delay:?}"
        );
        // Without either, plain jitter under the exponential ceiling.
        assert!(policy.delay(3, None, None) <= Duration::from_millis(400));
    }

    #[test]
    fn environment_overrides_shrink_the_policy() {
        let policy = Policy::with_overrides(Some("10"), Some("250"), Some("2000"));
        assert_eq!(policy.reply_timeout, Duration::from_millis(250));
        assert_eq!(policy.budget, Duration::from_secs(2));
        // Test mode clamps what servers ask for to the shrunk cap (320 ms).
        let delay = policy.delay(1, None, Some(Duration::from_secs(60)));
        assert!(delay <= Duration::from_millis(330), "{delay:?}");
        let delay = policy.delay(1, Some(Duration::from_secs(3600)), None);
        assert_eq!(delay, Duration::from_millis(320));

        let default = Policy::with_overrides(None, None, Some("soon"));
        assert_eq!(default.reply_timeout, REPLY_TIMEOUT);
        assert_eq!(default.budget, RETRY_BUDGET);
        assert!(!default.clamp_waits);
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_secs(30)), "30 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_secs(300)), "5.0 min");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(&HeaderMap::new()), None);
        assert_eq!(retry_after(&headers("120")), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&headers(" 0 ")), Some(Duration::ZERO));
        assert_eq!(
            retry_after(&headers("99999999999999999999999")),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(retry_after(&headers("-5")), None);
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("1.5")), None);

        let later = SystemTime::now() + Duration::from_secs(30);
        let wait = retry_after(&headers(&httpdate::fmt_http_date(later))).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        // Dates in the past mean now; the obsolete RFC 850 and asctime forms are accepted.
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(&headers("Sunday, 06-Nov-94 08:49:37 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(&headers("Sun Nov  6 08:49:37 1994")),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn transient_statuses() {
        for code in [500, 502, 503, 504] {
            assert!(
                is_transient_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [
            200, 201, 206, 308, 400, 401, 403, 404, 408, 416, 429, 501, 505,
        ] {
            assert!(
                !is_transient_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn activity_tracks_idle_time() {
        let activity = Activity::new();
        std::thread::sleep(Duration::from_millis(30));
        assert!(activity.idle() >= Duration::from_millis(30));
        activity.clone().touch();
        assert!(activity.idle() < Duration::from_millis(30));
    }
}
