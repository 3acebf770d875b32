//! `PUT {base_url}/video/?upload_id=…&upload_token=…`: the chunk receiver (reference §6 and
//! "Upload PUT" in "What a faithful fake server must enforce").
//!
//! The body is streamed, never buffered: only a running SHA-256 of the accepted bytes is kept,
//! so `keryx emulator` can take real multi-gigabyte uploads. A chunk counts only once its last
//! byte has arrived and matched `Content-Length`; a failed or cut chunk leaves no trace.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::knobs::ProgressRange;
use super::state::State as EmuState;
use super::{App, Shared};

/// Media types the upload accepts (reference §6).
const VIDEO_TYPES: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];

/// Bodies of refused requests are still read (so the client sees the status, not a reset while
/// it is still sending), but never more than this.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;

/// Counts PUTs in flight for `peak_concurrent_uploads`; the count drops however the handler
/// ends (reply, client gone, or the deliberate connection drop).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> Self {
        let mut st = shared.lock();
        st.in_flight += 1;
        st.peak_in_flight = st.peak_in_flight.max(st.in_flight);
        InFlight(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

/// A validated chunk, waiting for its bytes.
struct Plan {
    index: usize,
    offset: u64,
    len: u64,
    hasher: Sha256,
}

fn reply(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// The progress header of reference §6.2, always in its documented shape `bytes 0-{N}/{TOTAL}`.
/// Whether N is the last byte index or a count is unverified, so it is the `progress_range`
/// knob. With nothing received both styles say `bytes 0-0/{TOTAL}`: the documented shape has
/// no form for "nothing", and a client resuming at a chunk boundary reads it as offset 0.
fn progress(style: ProgressRange, received: u64, total: u64) -> String {
    match (style, received) {
        (ProgressRange::LastIndex, 0) => format!("bytes 0-0/{total}"),
        (ProgressRange::LastIndex, n) => format!("bytes 0-{}/{total}", n - 1),
        (ProgressRange::ByteCount, n) => format!("bytes 0-{n}/{total}"),
    }
}

fn with_progress(st: &EmuState, index: usize, status: StatusCode, message: &str) -> Response {
    let p = &st.publishes[index];
    let mut resp = reply(status, message);
    if let Ok(v) = progress(st.settings.progress_range, p.received, p.video_size).parse() {
        resp.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    resp
}

/// `bytes FIRST-LAST/TOTAL`, digits only, FIRST ≤ LAST < TOTAL.
fn parse_content_range(raw: &str) -> Option<(u64, u64, u64)> {
    let rest = raw.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (first, last, total) = (num(first)?, num(last)?, num(total)?);
    (first <= last && last < total).then_some((first, last, total))
}

async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut seen = 0u64;
    while let Some(Ok(bytes)) = stream.next().await {
        seen += bytes.len() as u64;
        if seen > DRAIN_LIMIT {
            break;
        }
    }
}

pub(crate) async fn upload(
    State(app): State<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let flight = InFlight::enter(&app.shared);
    let (drop_connection, fail_5xx) = {
        let mut st = app.shared.lock();
        st.counters.upload_puts += 1;
        let n = st.counters.upload_puts;
        (
            st.settings.drop_connection_on_chunk.contains(&n),
            st.settings.fail_chunk_with_5xx.contains(&n),
        )
    };
    if drop_connection {
        // Read a little, then end the connection without a reply, like a proxy that dies
        // mid-chunk. Unwinding out of the handler makes hyper drop the connection;
        // `resume_unwind` skips the panic hook, so nothing is printed. No lock is held.
        let mut stream = body.into_data_stream();
        let _ = stream.next().await;
        drop(flight);
        std::panic::resume_unwind(Box::new(()));
    }
    if fail_5xx {
        // A gateway error: nothing is stored, and the identical retry must succeed.
        drain(body).await;
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected internal error (fail_chunk_with_5xx)",
        );
    }
    let plan = {
        let mut st = app.shared.lock();
        validate(&mut st, query.as_deref().unwrap_or(""), &headers)
    };
    let plan = match plan {
        Ok(plan) => plan,
        Err(resp) => {
            drain(body).await;
            return resp;
        }
    };

    let Plan {
        index,
        offset,
        len,
        mut hasher,
    } = plan;
    let mut stream = body.into_data_stream();
    let mut got = 0u64;
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(bytes) => {
                got += bytes.len() as u64;
                if got > len {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        "The body is longer than Content-Length.",
                    );
                }
                hasher.update(&bytes);
            }
            Err(_) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    "The body ended before Content-Length bytes arrived.",
                );
            }
        }
    }
    if got != len {
        return reply(
            StatusCode::BAD_REQUEST,
            "Content-Length does not match the body length.",
        );
    }

    let mut guard = app.shared.lock();
    let st = &mut *guard;
    // Another PUT to the same URL may have finished meanwhile (chunks must be sequential,
    // reference §6.1): then this one no longer fits the progress.
    if st.publishes[index].received != offset {
        return with_progress(
            st,
            index,
            StatusCode::RANGE_NOT_SATISFIABLE,
            "Content-Range does not match the upload progress.",
        );
    }
    st.counters.bytes_received += len;
    let p = &mut st.publishes[index];
    p.received += len;
    p.hasher = hasher;
    if p.received == p.video_size {
        p.sha256 = Some(hex::encode(std::mem::take(&mut p.hasher).finalize()));
        st.counters.uploads_completed += 1;
        with_progress(st, index, StatusCode::CREATED, "Upload complete.")
    } else {
        with_progress(st, index, StatusCode::PARTIAL_CONTENT, "Chunk stored.")
    }
}

/// The header and progress rules, checked before any byte is read.
fn validate(st: &mut EmuState, query: &str, headers: &HeaderMap) -> Result<Plan, Response> {
    let mut upload_id = None;
    let mut upload_token = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "upload_id" => upload_id = Some(v.into_owned()),
            "upload_token" => upload_token = Some(v.into_owned()),
            _ => {}
        }
    }
    let not_found = || reply(StatusCode::NOT_FOUND, "No upload task for this URL.");
    let index = upload_id
        .and_then(|id| st.by_upload_id.get(&id).copied())
        .ok_or_else(not_found)?;
    let now = st.now();
    let ttl = std::time::Duration::from_secs(st.settings.upload_url_ttl_secs);
    let p = &st.publishes[index];
    if upload_token.as_deref() != Some(p.upload_token.as_str()) {
        return Err(not_found());
    }
    // A task that failed (e.g. the user revoked access) takes no more bytes.
    if matches!(p.outcome, Some(super::state::Outcome::Failed(_))) && p.received < p.video_size {
        return Err(not_found());
    }
    // The whole upload must finish within an hour of init (reference §5.2).
    if p.url_issued_at + ttl <= now {
        return Err(reply(StatusCode::FORBIDDEN, "The upload URL has expired."));
    }
    let media = super::wire::content_type(headers).map(|(m, _)| m);
    if !media.as_deref().is_some_and(|m| VIDEO_TYPES.contains(&m)) {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            "Content-Type must be video/mp4, video/quicktime or video/webm.",
        ));
    }
    // A streamed (chunked) body has no Content-Length; TikTok needs one (reference §6).
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            "Chunked transfer encoding is not accepted; send Content-Length.",
        ));
    }
    let Some(content_length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            "Content-Length is required.",
        ));
    };
    let Some((first, last, total)) = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
    else {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            "Content-Range must be `bytes FIRST-LAST/TOTAL`.",
        ));
    };
    if total != p.video_size {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            "The Content-Range total is not the video_size given at init.",
        ));
    }
    if p.received == p.video_size {
        return Err(with_progress(
            st,
            index,
            StatusCode::RANGE_NOT_SATISFIABLE,
            "The upload is already complete.",
        ));
    }
    if first != p.received {
        return Err(with_progress(
            st,
            index,
            StatusCode::RANGE_NOT_SATISFIABLE,
            "Content-Range does not match the upload progress; chunks go in order.",
        ));
    }
    let expected = p.chunk_len_at(first);
    if last - first + 1 != expected {
        let message = format!(
            "This chunk must be exactly {expected} bytes (chunk_size, or the remainder for the last)."
        );
        return Err(reply(StatusCode::BAD_REQUEST, &message));
    }
    if content_length != expected {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            "Content-Length does not match Content-Range.",
        ));
    }
    Ok(Plan {
        index,
        offset: first,
        len: expected,
        hasher: p.hasher.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, 10)));
        for bad in [
            "bytes 0-10/10",
            "bytes 5-4/10",
            "bytes=0-9/10",
            "bytes 0-9/*",
            "bytes -9/10",
            "bytes 0-+9/10",
            "bytes */10",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn progress_styles() {
        assert_eq!(progress(ProgressRange::LastIndex, 0, 10), "bytes 0-0/10");
        assert_eq!(progress(ProgressRange::LastIndex, 5, 10), "bytes 0-4/10");
        assert_eq!(progress(ProgressRange::ByteCount, 5, 10), "bytes 0-5/10");
    }
}
