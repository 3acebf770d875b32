//! The range-upload engine: one loop that takes a file to a platform's upload server, whatever
//! the platform's protocol, through dropped connections, stalls, 5xx, rate limits, refused
//! tokens and forgotten sessions.
//!
//! A platform describes its protocol with [`RangeProtocol`] (how to send bytes
//! `offset..offset+len`, how to ask what the server holds, and what each reply means as a
//! [`RangeReply`]); [`upload`] does the rest:
//!
//! - each range is streamed from disk ([`file_range_body`]) with an exact `Content-Length`;
//! - progress is shown while the bytes go out, and set back to what the server confirmed;
//! - a range whose connection moves no byte for [`crate::http::SILENCE`] (60 s;
//!   `KERYX_STALL_MS` in tests) counts as a dropped connection;
//! - a failure (drop, stall, 5xx, 429) waits as the one policy of [`crate::http::Policy`] says
//!   (backoff with jitter, `Retry-After` honoured), then asks the server where the upload
//!   stands when the protocol can, and goes on from exactly there: bytes re-sent after a fault
//!   are at most the range in flight;
//! - it gives up after [`MAX_FAULTS`] failures in a row without progress, or when the policy's
//!   budget has passed since the last progress, naming the last failure and how far it got;
//! - a refused access token is replaced ([`RangeProtocol::reauthorise`]) and a session the
//!   server forgot is opened again ([`RangeProtocol::restart`]), each a bounded number of times.
//!
//! A platform with a single-request upload (one blob POST) uses the same engine with one range
//! and no status request: a fault re-sends the whole body.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::CONTENT_LENGTH;

use crate::error::{Cause, Error, Result};
use crate::http::{self, Activity, Policy, until_silent};
use crate::ui::Progress;
use crate::upload::body::file_range_body;

/// Failures in a row without a byte of progress before the upload gives up.
pub const MAX_FAULTS: u32 = 8;
/// Refused access tokens in a row before the upload gives up: one refused right after its
/// replacement will not be accepted by replacing it again.
pub const MAX_TOKEN_SWAPS: u32 = 3;
/// New sessions after the server forgot one, before giving up.
pub const MAX_RESTARTS: u32 = 2;
/// The longest pause a server's `Retry-After` on a progress reply is followed for.
const MAX_PAUSE: Duration = Duration::from_secs(300);
/// How often the progress bar is moved while a range is being sent.
const TICK: Duration = Duration::from_millis(200);

/// The environment variable that replaces [`crate::http::SILENCE`] for uploads (milliseconds),
/// for tests of a server that stops answering.
pub const STALL_ENV: &str = "KERYX_STALL_MS";

/// What a platform makes of one reply of its upload server.
#[derive(Debug)]
pub enum RangeReply<T> {
    /// The server holds bytes `0..stored` and expects more (YouTube's `308` with `Range`,
    /// TikTok's `206`, or what a status request reports). `retry_after` is a pause the server
    /// asked for before the next range.
    Stored {
        stored: u64,
        retry_after: Option<Duration>,
    },
    /// The upload is complete; this is the platform's answer (a video resource, a blob).
    Done(T),
    /// A failure that usually passes (5xx, 429, a rate limit): wait, ask where the upload
    /// stands, and go on from there. `why` is said when keryx gives up.
    Retry {
        retry_after: Option<Duration>,
        why: String,
    },
    /// The access token was refused: [`RangeProtocol::reauthorise`], then ask again.
    TokenInvalid,
    /// The server no longer knows the upload: [`RangeProtocol::restart`], from byte 0.
    Expired,
    /// A final refusal: the upload ends with this error.
    Failed(Error),
}

/// How one platform's upload server takes a file in ranges.
#[async_trait]
pub trait RangeProtocol: Send + Sync {
    /// What a finished upload gives back.
    type Done: Send;

    /// The server, for messages: "YouTube's upload server".
    fn server(&self) -> String;

    /// The length of the range to send from `offset` (`offset < total`). The default sends
    /// everything left in one request.
    fn range_len(&self, offset: u64, total: u64) -> u64 {
        total - offset
    }

    /// The request that sends bytes `offset..offset + len` of `total`, with every header but
    /// the body and `Content-Length`, which the engine adds.
    fn send_range(&self, offset: u64, len: u64, total: u64) -> reqwest::RequestBuilder;

    /// The request that asks the server where the upload stands, if the protocol has one
    /// (YouTube: an empty `PUT` with `Content-Range: bytes */TOTAL`). Without one, a fault
    /// re-sends the range that failed.
    fn status_request(&self, _total: u64) -> Option<reqwest::RequestBuilder> {
        None
    }

    /// Reads a reply: to the range `sent` (`Some((offset, len))`) or to the status request.
    async fn read(
        &self,
        sent: Option<(u64, u64)>,
        response: reqwest::Response,
    ) -> RangeReply<Self::Done>;

    /// Replaces a refused access token (e.g. [`crate::session::Session::replace`]).
    async fn reauthorise(&self) -> Result<()> {
        Err(Error::platform(format!(
            "{} refused the upload's authorisation",
            self.server()
        )))
    }

    /// Opens a new upload after the server forgot the old one; the engine starts at byte 0.
    async fn restart(&self) -> Result<()> {
        Err(Error::platform(format!("{} forgot the upload", self.server())).with_hint("post again"))
    }

    /// What to tell the user when the upload gives up after faults: YouTube's sessions can be
    /// resumed by the same command, a TikTok upload must start over.
    fn hint_on_give_up(&self) -> &'static str {
        "check the network and post again"
    }
}

/// Where an upload starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// A new upload: send from byte 0.
    Fresh,
    /// A session saved by an earlier run: ask where it stands before sending a byte.
    Resume,
}

/// How long the engine waits and retries.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The one retry policy: backoff, `Retry-After`, the reply timeout of status requests, and
    /// the budget since the last progress.
    pub policy: Policy,
    /// How long a range may move no byte (nor get its reply) before it counts as dropped.
    pub silence: Duration,
}

impl Limits {
    /// [`Policy::from_env`], and [`http::SILENCE`] or `KERYX_STALL_MS`.
    pub fn from_env() -> Limits {
        let silence = std::env::var(STALL_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(http::SILENCE);
        Limits {
            policy: Policy::from_env(),
            silence,
        }
    }
}

/// Uploads the `total` bytes of `file` through `protocol` and returns its final answer, with
/// [`Limits::from_env`]. See the module documentation for what is retried and when it gives up.
pub async fn upload<P: RangeProtocol>(
    protocol: &P,
    file: &Path,
    total: u64,
    begin: Begin,
    progress: &dyn Progress,
) -> Result<P::Done> {
    upload_with(protocol, file, total, begin, progress, Limits::from_env()).await
}

/// [`upload`] with explicit limits.
pub async fn upload_with<P: RangeProtocol>(
    protocol: &P,
    file: &Path,
    total: u64,
    begin: Begin,
    progress: &dyn Progress,
    limits: Limits,
) -> Result<P::Done> {
    let silence = limits.silence;
    let mut faults = Faults::new(limits.policy);
    let mut offset: u64 = 0;
    let mut ask = begin == Begin::Resume;
    let mut swaps = 0;
    let mut restarts = 0;
    loop {
        let status_request = if ask {
            protocol.status_request(total)
        } else {
            None
        };
        ask = false;
        let (sent, reply) = match status_request {
            Some(request) => (None, ask_status(protocol, request, &faults.policy).await),
            None => {
                let len = protocol.range_len(offset, total).min(total - offset);
                if len == 0 {
                    return Err(Error::platform(format!(
                        "keryx found no bytes to send to {} at offset {offset} of {total}",
                        protocol.server()
                    ))
                    .with_hint("post again; if it persists, report it"));
                }
                let reply = send(protocol, file, offset, len, total, silence, progress).await;
                (Some((offset, len)), reply)
            }
        };
        match reply {
            RangeReply::Done(done) => {
                progress.set_position(total);
                return Ok(done);
            }
            RangeReply::Stored {
                stored,
                retry_after,
            } => {
                if stored > total {
                    return Err(Error::platform(format!(
                        "{} says it holds {stored} bytes of a {total}-byte upload",
                        protocol.server()
                    ))
                    .with_hint("post again; if it persists, report it"));
                }
                let advanced = stored > offset;
                // Never assume a range arrived: go on from exactly what the server holds.
                offset = stored;
                progress.set_position(offset);
                if advanced {
                    faults.progressed();
                    swaps = 0;
                }
                if offset == total && protocol.status_request(total).is_none() {
                    // Nothing left to send and no way to ask for the final answer.
                    return Err(Error::platform(format!(
                        "{} holds every byte of the upload but gave no final answer",
                        protocol.server()
                    ))
                    .with_hint(
                        "check on the platform whether the post exists before posting again",
                    ));
                }
                if offset == total || (sent.is_some() && !advanced) {
                    // Every byte is there but no final answer came (ask for it), or the server
                    // kept none of the range just sent: pause, longer each time, then go on.
                    let why = if offset == total {
                        "it holds every byte but gave no final answer".to_string()
                    } else {
                        "it kept none of the bytes just sent".to_string()
                    };
                    faults
                        .wait(protocol, retry_after, why, offset, total)
                        .await?;
                    ask = offset == total;
                } else if let Some(pause) = retry_after {
                    tokio::time::sleep(pause.min(MAX_PAUSE)).await;
                }
            }
            RangeReply::Retry { retry_after, why } => {
                faults
                    .wait(protocol, retry_after, why, offset, total)
                    .await?;
                ask = true;
            }
            RangeReply::TokenInvalid => {
                swaps += 1;
                if swaps > MAX_TOKEN_SWAPS {
                    // Each refresh worked, yet the server refuses the token it gave: not a
                    // question of authorising again (that would have failed the refresh).
                    return Err(Error::platform(format!(
                        "{} keeps refusing fresh access tokens during the upload",
                        protocol.server()
                    ))
                    .with_hint("post again later; if it persists, report it"));
                }
                protocol.reauthorise().await?;
                ask = true;
            }
            RangeReply::Expired => {
                restarts += 1;
                if restarts > MAX_RESTARTS {
                    return Err(Error::platform(format!(
                        "{} keeps forgetting the upload session",
                        protocol.server()
                    ))
                    .with_hint("post again later"));
                }
                protocol.restart().await?;
                offset = 0;
                progress.set_position(0);
            }
            RangeReply::Failed(error) => return Err(error),
        }
    }
}

/// Failures since the last progress, and the wait before the next attempt.
struct Faults {
    policy: Policy,
    in_a_row: u32,
    since: Instant,
}

impl Faults {
    fn new(policy: Policy) -> Faults {
        Faults {
            policy,
            in_a_row: 0,
            since: Instant::now(),
        }
    }

    fn progressed(&mut self) {
        self.in_a_row = 0;
        self.since = Instant::now();
    }

    /// Sleeps before the next attempt, or gives up (with `why` and how far the upload got).
    async fn wait<P: RangeProtocol>(
        &mut self,
        protocol: &P,
        retry_after: Option<Duration>,
        why: String,
        offset: u64,
        total: u64,
    ) -> Result<()> {
        self.in_a_row += 1;
        let delay = self.policy.delay(self.in_a_row, retry_after, None);
        let over_budget = self.since.elapsed().saturating_add(delay) > self.policy.budget;
        if self.in_a_row >= MAX_FAULTS || over_budget {
            return Err(Error::platform(format!(
                "the upload to {} kept failing ({why}) with {offset} of {total} bytes confirmed",
                protocol.server()
            ))
            .with_note(format!("gave up after {} tries in a row", self.in_a_row))
            .with_hint(protocol.hint_on_give_up()));
        }
        tracing::info!(
            "upload to {}: {why}; going on in {delay:?}",
            protocol.server()
        );
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// Sends one range and reads its reply; transport failures and stalls become
/// [`RangeReply::Retry`] (or [`RangeReply::Failed`] when retrying cannot help).
async fn send<P: RangeProtocol>(
    protocol: &P,
    file: &Path,
    offset: u64,
    len: u64,
    total: u64,
    silence: Duration,
    progress: &dyn Progress,
) -> RangeReply<P::Done> {
    let activity = Activity::new();
    let touch = activity.clone();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let body = match file_range_body(
        file,
        offset,
        len,
        Some(Arc::new(move |n| {
            touch.touch();
            counter.fetch_add(n, Ordering::Relaxed);
        })),
    ) {
        Ok(body) => body,
        Err(e) => return RangeReply::Failed(e),
    };
    let request = protocol
        .send_range(offset, len, total)
        .header(CONTENT_LENGTH, len)
        .body(body)
        .send();
    let exchange = until_silent(&activity, silence, request);
    tokio::pin!(exchange);
    let mut tick = tokio::time::interval(TICK);
    let outcome = loop {
        tokio::select! {
            outcome = &mut exchange => break outcome,
            _ = tick.tick() => progress.set_position(offset + sent.load(Ordering::Relaxed).min(len)),
        }
    };
    let response = match outcome {
        Err(stalled) => {
            return RangeReply::Retry {
                retry_after: None,
                why: stalled.to_string(),
            };
        }
        Ok(Err(e)) => return transport_failure(protocol, e),
        Ok(Ok(response)) => response,
    };
    // The reply's body is small; a server that sends its headers and then nothing is a stall.
    match tokio::time::timeout(silence, protocol.read(Some((offset, len)), response)).await {
        Ok(reply) => reply,
        Err(_) => RangeReply::Retry {
            retry_after: None,
            why: format!("no reply body within {} s", silence.as_secs()),
        },
    }
}

/// Asks where the upload stands, within the policy's reply timeout.
async fn ask_status<P: RangeProtocol>(
    protocol: &P,
    request: reqwest::RequestBuilder,
    policy: &Policy,
) -> RangeReply<P::Done> {
    let timeout = policy.reply_timeout;
    let asked = async {
        match request.send().await {
            Ok(response) => protocol.read(None, response).await,
            Err(e) => transport_failure(protocol, e),
        }
    };
    match tokio::time::timeout(timeout, asked).await {
        Ok(reply) => reply,
        Err(_) => RangeReply::Retry {
            retry_after: None,
            why: format!(
                "no reply within {} s to asking where the upload stands",
                timeout.as_secs()
            ),
        },
    }
}

/// A request that failed before a reply: the file changed (final), a dropped or refused
/// connection (retry), or something retrying cannot fix.
pub fn transport_failure<P: RangeProtocol>(protocol: &P, e: reqwest::Error) -> RangeReply<P::Done> {
    if let Some(local) = http::local_cause(&e) {
        // The file changed under keryx: the next run must start afresh with the final file.
        let mut error = Error::input(local.message().to_string());
        error = error.with_hint(
            local
                .hint()
                .unwrap_or("run the command again once the file is final")
                .to_string(),
        );
        return RangeReply::Failed(error);
    }
    if http::is_transient(&e) {
        RangeReply::Retry {
            retry_after: None,
            why: format!("connection lost: {e}"),
        }
    } else {
        RangeReply::Failed(
            Error::platform(format!("cannot reach {}", protocol.server()))
                .with_cause(Cause::Unreachable)
                .with_source(e)
                .with_hint("check the network connection (and the platform's base_url, if set)"),
        )
    }
}
