//! The shared HTTP client, and the pieces every platform's retry loop is made of.
//!
//! - [`client`]: redirects are answers, not directions; timeouts for connecting and for a
//!   dead connection, never for a whole request (an upload of gigabytes takes as long as it
//!   takes).
//! - [`until_silent`] with an [`Activity`]: the "nothing moved for 60 s" timeout for uploads,
//!   which reqwest cannot express (see [`client`]).
//! - [`Backoff`], [`retry_after`], [`is_transient`], [`is_transient_status`]: when and how long
//!   to wait before trying again.
//!
//! Environment: `KERYX_RETRY_BASE_MS` replaces the first backoff delay (default 1000 ms); the
//! cap scales with it (32 × base) and `Retry-After` is clamped to that cap. Fault-recovery
//! tests set it to a few milliseconds so they never sleep for long.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{Error, Result};

/// How long to wait for a TCP (and TLS) connection to be set up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long an exchange may go without any progress before it counts as dead.
pub const SILENCE: Duration = Duration::from_secs(60);

/// A whole-request limit for small API calls (JSON in, JSON out), set per request with
/// `RequestBuilder::timeout(API_TIMEOUT)`. Never use it on an upload.
pub const API_TIMEOUT: Duration = Duration::from_secs(60);

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
///   calls set [`API_TIMEOUT`] per request, and uploads wrap their exchange in
///   [`until_silent`].
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
/// `silence`. Once the body is sent, the wait for the reply counts as idle time.
///
/// ```ignore
/// let activity = Activity::new();
/// let touch = activity.clone();
/// let body = upload::file_range_body(path, offset, len, Some(Arc::new(move |n| {
///     touch.touch();
///     progress.set_position(offset + n);
/// })))?;
/// let reply = http::until_silent(&activity, http::SILENCE, request.body(body).send()).await;
/// ```
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
        if let Some(value) = value {
            match value.trim().parse::<u64>() {
                Ok(ms) => {
                    backoff.base = Duration::from_millis(ms);
                    backoff.cap = Duration::from_millis(ms.saturating_mul(32));
                    backoff.clamp_retry_after = true;
                }
                Err(_) => tracing::warn!(
                    "{RETRY_BASE_ENV}={value:?} is not a whole number of milliseconds; ignored"
                ),
            }
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
        let exponent = (self.failures - 1).min(31);
        let ceiling = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        let ceiling_ns = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let jittered = Duration::from_nanos(rand::rng().random_range(0..=ceiling_ns));
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
/// platform-specific and handled by each platform, with [`retry_after`].)
pub fn is_transient_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// Sends a request until its answer is worth reading: a dropped or refused connection, a 5xx
/// or a 429 is retried after `backoff` (honouring `Retry-After`), rebuilding the request with
/// `request` each time. Returns the first other answer, or the last one when `backoff` gives
/// up; a transport error only when the last try had no answer at all. `what` names the
/// endpoint in log lines. For small API calls: uploads have their own resume logic.
pub async fn send_retrying(
    what: &str,
    backoff: &mut Backoff,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> std::result::Result<reqwest::Response, reqwest::Error> {
    loop {
        match request().send().await {
            Ok(response) => {
                let status = response.status();
                if !(is_transient_status(status) || status == StatusCode::TOO_MANY_REQUESTS) {
                    return Ok(response);
                }
                match backoff.next_delay(retry_after(response.headers())) {
                    Some(delay) => {
                        tracing::info!("{what} answered {status}; retrying in {delay:?}");
                        tokio::time::sleep(delay).await;
                    }
                    None => return Ok(response),
                }
            }
            Err(e) if is_transient(&e) => match backoff.next_delay(None) {
                Some(delay) => {
                    tracing::info!("{what} unreachable ({e}); retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
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
