//! Resumable upload for `videos.insert`: the PUTs that carry bytes or ask where the upload
//! stands (§3.2-§3.6, §9.6), with the faults of §9.6. Opening the session is [`super::session`].

use axum::body::Body;
use axum::extract::{RawQuery, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::api::{Need, authenticate, fail, video_json};
use super::session::digits;
use super::state::{Fault, FinalReply, MAX_UPLOAD_BYTES, State, Video, random_b64, video_id};
use super::wire::{ApiError, Params, plain, raw_json};
use super::{App, CHUNK_GRANULARITY as CHUNK};

pub(crate) const UPLOAD_ID_HEADER: HeaderName = HeaderName::from_static("x-guploader-uploadid");

pub(crate) fn session_uri(base_url: &str, upload_id: &str, parts: &[String]) -> String {
    format!(
        "{base_url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}&part={}",
        parts.join(",")
    )
}

/// A `Content-Range` request header (reference §9.6: `bytes A-B/TOTAL`, `bytes A-B/*`,
/// `bytes */TOTAL`; zero-based, inclusive, one space, no `=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentRange {
    Query {
        total: u64,
    },
    Bytes {
        first: u64,
        last: u64,
        total: Option<u64>,
    },
}

pub(crate) fn parse_content_range(text: &str) -> Option<ContentRange> {
    let rest = text.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let total = if total == "*" {
        None
    } else {
        Some(digits(total)?)
    };
    if range == "*" {
        return Some(ContentRange::Query { total: total? });
    }
    let (first, last) = range.split_once('-')?;
    let (first, last) = (digits(first)?, digits(last)?);
    // Nothing can lie beyond maxSize (reference §3.1), which also keeps `last + 1` in range.
    if first > last || last >= MAX_UPLOAD_BYTES || total.is_some_and(|t| last >= t) {
        return None;
    }
    Some(ContentRange::Bytes { first, last, total })
}

/// Runs after every PUT, even one whose connection was cut: the one-shot "access tokens die
/// after the n-th upload PUT" knob.
struct AfterPut {
    app: App,
    number: u64,
}

impl Drop for AfterPut {
    fn drop(&mut self) {
        let mut st = self.app.lock();
        if st.settings.expire_tokens_after_put == Some(self.number) {
            st.settings.expire_tokens_after_put = None;
            st.expire_access_tokens();
            st.persist();
        }
    }
}

/// Counts a PUT reading its body, for `peak_concurrent_uploads`.
struct InFlight(App);

impl InFlight {
    fn start(app: &App) -> InFlight {
        let mut st = app.lock();
        st.counters.concurrent_uploads += 1;
        st.counters.peak_concurrent_uploads = st
            .counters
            .peak_concurrent_uploads
            .max(st.counters.concurrent_uploads);
        InFlight(app.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.counters.concurrent_uploads = st.counters.concurrent_uploads.saturating_sub(1);
    }
}

/// The knobs that act on one numbered PUT.
struct Faults {
    fault: Option<Fault>,
    cut: Option<u64>,
    relocate: bool,
}

/// `PUT <session URI>` (reference §9.6).
pub(crate) async fn put(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let (number, faults) = {
        let mut st = app.lock();
        st.counters.upload_puts += 1;
        let n = st.counters.upload_puts;
        let query = headers
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_content_range);
        if matches!(query, Some(ContentRange::Query { .. })) {
            st.counters.status_queries += 1;
        }
        let faults = Faults {
            fault: st.settings.faults.remove(&n),
            cut: st.settings.cuts.remove(&n),
            relocate: st.settings.relocate.remove(&n),
        };
        (n, faults)
    };
    let _after = AfterPut {
        app: app.clone(),
        number,
    };
    let response = handle_put(&app, &params, &headers, body, faults).await;
    *app.lock()
        .counters
        .put_replies
        .entry(response.status().as_u16())
        .or_default() += 1;
    response
}

/// Reads (and drops) the body so the client gets the reply instead of a broken pipe, then
/// replies; or, when this PUT's connection is to be cut, reads `limit` bytes and drops it.
async fn finish(app: &App, body: Body, cut: Option<u64>, response: Response) -> Response {
    let received = receive(body, cut, None).await;
    app.lock().counters.bytes_received += received.read;
    if cut.is_some() {
        drop_connection(app);
    }
    response
}

/// Ends the request without a reply: unwinding the handler makes hyper drop the connection;
/// `resume_unwind` does not run the panic hook, so nothing is printed (needs panic=unwind).
fn drop_connection(app: &App) -> ! {
    {
        let mut st = app.lock();
        st.counters.connections_cut += 1;
        st.persist();
    }
    std::panic::resume_unwind(Box::new(()))
}

/// What a PUT body delivered: its length and the content hash, also as of the last
/// 256 KiB boundary (what a cut connection commits).
struct Received {
    read: u64,
    complete: bool,
    hasher: Option<Sha256>,
    aligned: Option<Sha256>,
    aligned_len: u64,
}

/// Reads a body, hashing it when `hasher` is given, stopping after `limit` bytes.
async fn receive(body: Body, limit: Option<u64>, hasher: Option<Sha256>) -> Received {
    let mut out = Received {
        read: 0,
        complete: true,
        aligned: hasher.clone(),
        hasher,
        aligned_len: 0,
    };
    let mut stream = body.into_data_stream();
    loop {
        if limit.is_some_and(|l| out.read >= l) {
            out.complete = false;
            break;
        }
        let Some(frame) = stream.next().await else {
            break;
        };
        let Ok(data) = frame else {
            // The client went away mid-body.
            out.complete = false;
            break;
        };
        let room = limit.map_or(data.len(), |l| {
            (l - out.read).min(data.len() as u64) as usize
        });
        let mut data = &data[..room];
        while !data.is_empty() {
            let to_boundary = (CHUNK - out.read % CHUNK) as usize;
            let take = to_boundary.min(data.len());
            if let Some(h) = out.hasher.as_mut() {
                h.update(&data[..take]);
            }
            out.read += take as u64;
            data = &data[take..];
            if out.read.is_multiple_of(CHUNK) {
                out.aligned = out.hasher.clone();
                out.aligned_len = out.read;
            }
        }
    }
    out
}

enum Snapshot {
    Gone,
    Done(FinalReply),
    Open {
        committed: u64,
        total: Option<u64>,
        hasher: Option<Sha256>,
    },
}

fn snapshot(st: &State, upload_id: &str) -> Snapshot {
    match st.store.sessions.get(upload_id) {
        None => Snapshot::Gone,
        Some(s) if st.session_gone(s) => Snapshot::Gone,
        Some(s) => match &s.final_reply {
            Some(reply) => Snapshot::Done(reply.clone()),
            None => Snapshot::Open {
                committed: s.committed,
                total: s.total,
                hasher: s.hasher.clone(),
            },
        },
    }
}

fn replay(reply: &FinalReply) -> Response {
    raw_json(reply.status, reply.body.clone())
}

/// A 5xx from the upload front end (reference §3.7). Nothing of the request is stored.
fn fault_response(fault: Fault) -> Response {
    let mut response = match fault.status {
        500 => ApiError::new(500, "global", "internalError", "Internal Error").response(),
        503 => ApiError::new(503, "global", "backendError", "Backend Error").response(),
        status => {
            // Google's front end answers 502 and 504 with an HTML page, not JSON.
            let html = format!(
                "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error {status} (Server Error)!!1</title>\
                 <p><b>{status}.</b> <ins>That's an error.</ins><p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds. <ins>That's all we know.</ins>\n"
            );
            let mut r = (super::wire::status(status), html).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=UTF-8"),
            );
            r
        }
    };
    if let Some(secs) = fault.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// `308` with `Range: bytes=0-N`, or no `Range` when nothing is stored (reference §3.4).
fn incomplete(app: &App, upload_id: &str, relocate: bool) -> Response {
    let mut st = app.lock();
    let Some(session) = st.store.sessions.get(upload_id) else {
        return plain(st.settings.session_gone_status, "Not Found");
    };
    let committed = session.committed;
    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
    let headers = response.headers_mut();
    if committed > 0
        && let Ok(value) = HeaderValue::from_str(&format!("bytes=0-{}", committed - 1))
    {
        headers.insert(header::RANGE, value);
    }
    if let Some(secs) = st.settings.retry_after_on_308 {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    let mut id = upload_id.to_string();
    if relocate {
        // A new session URI; the old one stops working so a client that ignores it fails.
        if let Some(session) = st.store.sessions.remove(upload_id) {
            id = format!("AUEx{}", random_b64(60));
            let location = session_uri(&app.base_url, &id, &session.parts);
            st.store.sessions.insert(id.clone(), session);
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            st.persist();
        }
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(UPLOAD_ID_HEADER, value);
    }
    response
}

/// A chunk that does not start at the committed offset stores nothing (reference §3.4, §9.6).
fn misaligned(app: &App, upload_id: &str, first: u64, committed: u64, relocate: bool) -> Response {
    let status = app.lock().settings.misaligned_offset_status;
    if status == 400 {
        let relation = if first > committed {
            "exceeds"
        } else {
            "is below"
        };
        return plain(
            400,
            format!(
                "Invalid request.  According to the Content-Range header, the upload offset is {first} byte(s), which {relation} already uploaded size of {committed} byte(s)."
            ),
        );
    }
    incomplete(app, upload_id, relocate)
}

/// Where the bytes of a data PUT go.
struct Plan {
    first: u64,
    /// The body length the headers announce (`None`: a whole-file PUT without Content-Length).
    expected: Option<u64>,
    /// The total this request completes the upload at, if it is the final one.
    final_total: Option<u64>,
    /// Lenient mode: commit only this many bytes of a non-final chunk.
    commit_len: Option<u64>,
}

async fn handle_put(
    app: &App,
    params: &Params,
    headers: &HeaderMap,
    body: Body,
    faults: Faults,
) -> Response {
    let Faults {
        fault,
        cut,
        relocate,
    } = faults;
    if let Some(fault) = fault {
        app.lock().counters.injected_5xx += 1;
        return finish(app, body, None, fault_response(fault)).await;
    }
    let refused = {
        let mut st = app.lock();
        let owner = params
            .get("upload_id")
            .and_then(|id| st.store.sessions.get(id))
            .map(|s| s.user.clone());
        match authenticate(&st, headers, params, Need::Upload) {
            Err(e) => Some(fail(&mut st, e)),
            // A session is its account's: another account's token sends nothing into it (the
            // exact reply is unverified; `forbidden` is the reference's "not allowed", §5.4).
            Ok(user) if owner.is_some_and(|owner| owner != user) => Some(fail(
                &mut st,
                ApiError::new(
                    403,
                    "global",
                    "forbidden",
                    "The upload session belongs to another user.",
                ),
            )),
            Ok(_) => None,
        }
    };
    if let Some(response) = refused {
        // 401 on a PUT: refresh, then query status; the session survives (reference §3.7).
        return finish(app, body, cut, response).await;
    }
    let Some(upload_id) = params.get("upload_id").filter(|id| !id.is_empty()) else {
        let response = plain(
            400,
            "Missing upload_id: PUT the bytes to the session URI from the Location header.",
        );
        return finish(app, body, cut, response).await;
    };
    let (current, gone_status) = {
        let st = app.lock();
        (snapshot(&st, upload_id), st.settings.session_gone_status)
    };
    let (committed, total, hasher) = match current {
        Snapshot::Gone => {
            let response = plain(
                gone_status,
                if gone_status == 410 {
                    "Gone"
                } else {
                    "Not Found"
                },
            );
            return finish(app, body, cut, response).await;
        }
        // A finished session replays its final reply to any PUT (reference §3.5, §9.6).
        Snapshot::Done(reply) => return finish(app, body, cut, replay(&reply)).await,
        Snapshot::Open {
            committed,
            total,
            hasher,
        } => (committed, total, hasher),
    };
    let range = match headers.get(header::CONTENT_RANGE) {
        None => None,
        Some(value) => match value.to_str().ok().and_then(parse_content_range) {
            Some(range) => Some(range),
            None => {
                return finish(
                    app,
                    body,
                    cut,
                    plain(400, "Failed to parse Content-Range header."),
                )
                .await;
            }
        },
    };
    let content_length = match headers.get(header::CONTENT_LENGTH) {
        None => None,
        Some(value) => match value.to_str().ok().and_then(digits) {
            Some(n) => Some(n),
            None => {
                return finish(app, body, cut, plain(400, "Invalid Content-Length header.")).await;
            }
        },
    };
    let total_mismatch = |given: u64, known: u64| {
        plain(
            400,
            format!(
                "Invalid request. The total size in the Content-Range header ({given}) does not match the upload size declared when the session was opened ({known})."
            ),
        )
    };
    let plan = match range {
        // A status query (reference §3.5).
        Some(ContentRange::Query { total: asked }) => {
            if let Some(known) = total.filter(|known| *known != asked) {
                return finish(app, body, cut, total_mismatch(asked, known)).await;
            }
            if content_length.is_some_and(|n| n > 0) {
                let response = plain(
                    400,
                    "Invalid request. A status query (Content-Range: bytes */TOTAL) has an empty body.",
                );
                return finish(app, body, cut, response).await;
            }
            let received = receive(body, cut, None).await;
            app.lock().counters.bytes_received += received.read;
            if cut.is_some() {
                drop_connection(app);
            }
            if received.read > 0 {
                return plain(
                    400,
                    "Invalid request. A status query (Content-Range: bytes */TOTAL) has an empty body.",
                );
            }
            if total.is_none() && committed > 0 && asked == committed {
                // Size unknown at the start (`bytes A-B/*` chunks): naming the total that is
                // already stored finishes the upload.
                let mut st = app.lock();
                if let Committed::Finished(reply) =
                    commit(&mut st, upload_id, committed, 0, hasher, Some(asked))
                {
                    st.persist();
                    return replay(&reply);
                }
            }
            return incomplete(app, upload_id, relocate);
        }
        Some(ContentRange::Bytes {
            first,
            last,
            total: given,
        }) => {
            let len = last - first + 1;
            match (given, total) {
                (Some(given), Some(known)) if given != known => {
                    return finish(app, body, cut, total_mismatch(given, known)).await;
                }
                // `bytes A-B/*` is for chunks before the last; the final one names the total.
                (None, Some(known)) if last + 1 >= known => {
                    let response = plain(
                        400,
                        format!(
                            "Invalid request. The chunk ends at byte {last} of a {known}-byte upload; the final request must state the total size (bytes {first}-{last}/{known})."
                        ),
                    );
                    return finish(app, body, cut, response).await;
                }
                _ => {}
            }
            if let Some(n) = content_length.filter(|n| *n != len) {
                let response = plain(
                    400,
                    format!(
                        "Invalid request. The Content-Length ({n}) does not match the Content-Range header ({len} bytes)."
                    ),
                );
                return finish(app, body, cut, response).await;
            }
            let final_total = given.filter(|t| last + 1 == *t);
            let mut commit_len = None;
            if final_total.is_none() {
                // Non-final chunks: at least, and a multiple of, 256 KiB (reference §3.3).
                if len < CHUNK {
                    let response = plain(
                        400,
                        format!(
                            "Invalid request. The number of bytes uploaded is required to be equal or greater than 262144, except for the final request (it's recommended to be the exact multiple of 262144). The received request contained {len} bytes, which does not meet this requirement."
                        ),
                    );
                    return finish(app, body, cut, response).await;
                }
                if len % CHUNK != 0 {
                    if !app.lock().settings.lenient_chunk_sizes {
                        let response = plain(
                            400,
                            format!(
                                "Invalid request. The number of bytes uploaded is required to be a multiple of 262144, except for the final request. The received request contained {len} bytes, which does not meet this requirement."
                            ),
                        );
                        return finish(app, body, cut, response).await;
                    }
                    commit_len = Some(len / CHUNK * CHUNK);
                }
            }
            if first != committed {
                let response = misaligned(app, upload_id, first, committed, relocate);
                return finish(app, body, cut, response).await;
            }
            Plan {
                first,
                expected: Some(len),
                final_total,
                commit_len,
            }
        }
        // No Content-Range: the whole file in one request (reference §3.2, §9.6).
        None => {
            if let (Some(n), Some(known)) = (content_length, total)
                && n != known
            {
                let response = plain(
                    400,
                    format!(
                        "Invalid request. The request body ({n} bytes) is not the whole upload ({known} bytes); send Content-Range for part of it."
                    ),
                );
                return finish(app, body, cut, response).await;
            }
            if committed != 0 {
                let response = misaligned(app, upload_id, 0, committed, relocate);
                return finish(app, body, cut, response).await;
            }
            Plan {
                first: 0,
                expected: content_length.or(total),
                final_total: None,
                commit_len: None,
            }
        }
    };
    transfer(
        app,
        upload_id,
        body,
        plan,
        total,
        hasher,
        cut,
        relocate,
        range.is_none(),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn transfer(
    app: &App,
    upload_id: &str,
    body: Body,
    plan: Plan,
    known_total: Option<u64>,
    hasher: Option<Sha256>,
    cut: Option<u64>,
    relocate: bool,
    whole_file: bool,
) -> Response {
    let in_flight = InFlight::start(app);
    let received = receive(body, cut, hasher).await;
    drop(in_flight);
    app.lock().counters.bytes_received += received.read;
    let arrived_all = received.complete && plan.expected.is_none_or(|n| received.read == n);
    if cut.is_some() || !received.complete {
        // The connection broke (by the knob or the client): keep only the 256 KiB-aligned
        // prefix of what arrived, so clients must ask rather than assume (reference §9.6).
        let keep = received.aligned_len.min(plan.expected.unwrap_or(u64::MAX));
        let completes = plan.final_total.is_some_and(|t| plan.first + keep == t);
        if keep > 0 {
            let mut st = app.lock();
            commit(
                &mut st,
                upload_id,
                plan.first,
                keep,
                received.aligned,
                completes.then_some(plan.first + keep),
            );
            st.persist();
        }
        if cut.is_some() {
            drop_connection(app);
        }
        return plain(400, "Invalid request. The request body ended early.");
    }
    if !arrived_all {
        let expected = plan.expected.unwrap_or_default();
        return plain(
            400,
            format!(
                "Invalid request. The request body has {} bytes but the headers announce {expected}.",
                received.read
            ),
        );
    }
    let (len, final_total) = if whole_file {
        if received.read == 0 {
            return plain(
                400,
                "Invalid request. The request does not include the video content.",
            );
        }
        if let Some(known) = known_total.filter(|known| *known != received.read) {
            return plain(
                400,
                format!(
                    "Invalid request. The request body ({} bytes) is not the whole upload ({known} bytes).",
                    received.read
                ),
            );
        }
        (received.read, Some(received.read))
    } else {
        (plan.commit_len.unwrap_or(received.read), plan.final_total)
    };
    let hasher = if plan.commit_len.is_some() {
        received.aligned
    } else {
        received.hasher
    };
    let outcome = {
        let mut st = app.lock();
        let outcome = commit(&mut st, upload_id, plan.first, len, hasher, final_total);
        st.persist();
        outcome
    };
    match outcome {
        Committed::Finished(reply) => replay(&reply),
        Committed::Stored | Committed::Refused => incomplete(app, upload_id, relocate),
    }
}

enum Committed {
    /// Stored; the upload is still incomplete.
    Stored,
    /// Stored the last byte: the video exists.
    Finished(FinalReply),
    /// Not stored: the session moved on meanwhile (a concurrent PUT), expired or finished.
    Refused,
}

/// Stores `len` bytes at `first`, if that is still the committed offset; completes the upload
/// when the last byte arrives.
fn commit(
    st: &mut State,
    upload_id: &str,
    first: u64,
    len: u64,
    hasher: Option<Sha256>,
    final_total: Option<u64>,
) -> Committed {
    let gone = st
        .store
        .sessions
        .get(upload_id)
        .is_none_or(|s| st.session_gone(s));
    let Some(session) = st.store.sessions.get_mut(upload_id).filter(|_| !gone) else {
        return Committed::Refused;
    };
    if session.final_reply.is_some() || session.committed != first {
        return Committed::Refused;
    }
    if let (Some(t), None) = (final_total, session.total) {
        session.total = Some(t);
    }
    session.committed += len;
    session.hasher = hasher;
    st.counters.bytes_committed += len;
    if session.total == Some(session.committed) {
        return Committed::Finished(complete(st, upload_id));
    }
    Committed::Stored
}

/// Creates the video and the session's final reply (reference §3.6, §9.6 "Completion").
fn complete(st: &mut State, upload_id: &str) -> FinalReply {
    let now = st.now();
    let settings = st.settings.clone();
    let Some(session) = st.store.sessions.get_mut(upload_id) else {
        return FinalReply {
            status: 404,
            body: String::new(),
        };
    };
    // The creator's account settings can make an upload private, whatever was asked (§5.1).
    let privacy = if settings.private_by_account_settings {
        "private".to_string()
    } else {
        session.meta.requested_privacy().to_string()
    };
    let video = Video {
        user: session.user.clone(),
        id: video_id(),
        etag: random_b64(20),
        published_at: now,
        meta: session.meta.clone(),
        privacy_status: privacy,
        file_name: session.file_name.clone(),
        bytes: session.committed,
        sha256: session.hasher.take().map(|h| hex::encode(h.finalize())),
        polls: 0,
        thumbnail_bytes: None,
        short: settings.uploads_are_shorts,
    };
    let body = serde_json::to_string_pretty(&video_json(&video, &session.parts, &settings, true))
        .unwrap_or_default();
    let reply = FinalReply {
        status: settings.completion_status,
        body,
    };
    session.final_reply = Some(reply.clone());
    session.video_id = Some(video.id.clone());
    st.store.videos.push(video);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        use ContentRange::*;
        assert_eq!(
            parse_content_range("bytes 0-262143/1000000"),
            Some(Bytes {
                first: 0,
                last: 262_143,
                total: Some(1_000_000)
            })
        );
        assert_eq!(
            parse_content_range("bytes 0-524287/*"),
            Some(Bytes {
                first: 0,
                last: 524_287,
                total: None
            })
        );
        assert_eq!(
            parse_content_range("bytes */1000"),
            Some(Query { total: 1000 })
        );
        for bad in [
            "bytes=0-9/10",
            "bytes 0-9/10 ",
            " bytes 0-9/10",
            "bytes  0-9/10",
            "bytes 9-0/10",
            "bytes 0-10/10",
            "bytes */*",
            "bytes 0-9",
            "bytes -9/10",
            "bytes +0-9/10",
            "bytes 0x0-9/10",
            "Bytes 0-9/10",
            "bytes 0-9/ten",
            "bytes 0-99999999999999999999999/*",
            "bytes 0-18446744073709551615/*",
            "bytes 274877906944-274877906944/*",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }
}
