//! The range-upload engine against a small range server on loopback with scripted faults: what
//! arrives is the file, byte for byte; faults cost at most the range in flight; a stall, a 5xx
//! and a forgotten session are recovered; a server that keeps failing ends in a clear error.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use keryx_core::http::Policy;
use keryx_core::upload::engine::transport_failure;
use keryx_core::upload::{Begin, Limits, RangeProtocol, RangeReply, upload_with};
use keryx_core::{ErrorKind, NoProgress};

/// What the server does with one request instead of its normal answer.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The normal answer.
    None,
    Unavailable,
    /// Reads the body, then never answers.
    Stall,
    /// Forgets the upload (404); the next range must start at byte 0.
    Forget,
    /// Stores the range but answers 503 (the reply was lost).
    StoreThenFail,
}

#[derive(Default)]
struct Server {
    stored: Vec<u8>,
    faults: VecDeque<Fault>,
    /// Bytes of every range body received, faults included.
    received: u64,
    requests: u32,
    bad_length: bool,
}

type Shared = Arc<Mutex<Server>>;

/// `PUT /up` with `Content-Range: bytes A-B/T` (a range) or `bytes */T` (where do we stand).
/// `200` + `x-stored` while incomplete, `201` + `done` when complete, `416` + `x-stored` for a
/// range that does not start where the server is.
async fn put(State(server): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let declared: Option<usize> = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let fault = {
        let mut s = server.lock().unwrap();
        s.requests += 1;
        s.received += body.len() as u64;
        if declared != Some(body.len()) {
            s.bad_length = true;
        }
        s.faults.pop_front()
    };
    let (spec, total) = range
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('/'))
        .unwrap_or(("", ""));
    let total: usize = total.parse().unwrap_or(0);
    match fault {
        Some(Fault::Unavailable) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Some(Fault::Stall) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::OK.into_response();
        }
        Some(Fault::Forget) => {
            server.lock().unwrap().stored.clear();
            return StatusCode::NOT_FOUND.into_response();
        }
        Some(Fault::StoreThenFail | Fault::None) | None => {}
    }
    let mut s = server.lock().unwrap();
    if spec != "*" {
        let start: usize = spec
            .split('-')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(usize::MAX);
        if start != s.stored.len() {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [("x-stored", s.stored.len().to_string())],
            )
                .into_response();
        }
        s.stored.extend_from_slice(&body);
    }
    if matches!(fault, Some(Fault::StoreThenFail)) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if s.stored.len() == total && total > 0 {
        (StatusCode::CREATED, "done").into_response()
    } else {
        (StatusCode::OK, [("x-stored", s.stored.len().to_string())]).into_response()
    }
}

struct Harness {
    server: Shared,
    url: String,
    file: PathBuf,
    content: Vec<u8>,
    _dir: tempfile::TempDir,
}

async fn harness(size: usize, faults: &[Fault]) -> Harness {
    let server: Shared = Arc::new(Mutex::new(Server {
        faults: faults.iter().copied().collect(),
        ..Server::default()
    }));
    let app = axum::Router::new()
        .route("/up", axum::routing::put(put))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/up", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reel.mp4");
    let content: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    Harness {
        server,
        url,
        file,
        content,
        _dir: dir,
    }
}

struct Protocol {
    http: reqwest::Client,
    url: String,
    chunk: u64,
    can_ask: bool,
    restarts: Mutex<u32>,
}

#[async_trait]
impl RangeProtocol for Protocol {
    type Done = String;

    fn server(&self) -> String {
        "the test range server".into()
    }

    fn range_len(&self, offset: u64, total: u64) -> u64 {
        self.chunk.min(total - offset)
    }

    fn send_range(&self, offset: u64, len: u64, total: u64) -> reqwest::RequestBuilder {
        self.http.put(&self.url).header(
            "content-range",
            format!("bytes {}-{}/{total}", offset, offset + len - 1),
        )
    }

    fn status_request(&self, total: u64) -> Option<reqwest::RequestBuilder> {
        self.can_ask.then(|| {
            self.http
                .put(&self.url)
                .header("content-range", format!("bytes */{total}"))
                .header("content-length", 0)
        })
    }

    async fn read(
        &self,
        _sent: Option<(u64, u64)>,
        response: reqwest::Response,
    ) -> RangeReply<String> {
        let status = response.status();
        let stored = response
            .headers()
            .get("x-stored")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        match (status.as_u16(), stored) {
            (201, _) => match response.text().await {
                Ok(text) => RangeReply::Done(text),
                Err(e) => transport_failure(self, e),
            },
            (200 | 416, Some(stored)) => RangeReply::Stored {
                stored,
                retry_after: None,
            },
            (404, _) => RangeReply::Expired,
            (s, _) if s >= 500 => RangeReply::Retry {
                retry_after: None,
                why: format!("HTTP {s}"),
            },
            (s, _) => RangeReply::Failed(keryx_core::Error::platform(format!("HTTP {s}"))),
        }
    }

    async fn restart(&self) -> keryx_core::Result<()> {
        *self.restarts.lock().unwrap() += 1;
        Ok(())
    }
}

fn protocol(h: &Harness, chunk: u64, can_ask: bool) -> Protocol {
    Protocol {
        http: keryx_core::http::client().unwrap(),
        url: h.url.clone(),
        chunk,
        can_ask,
        restarts: Mutex::new(0),
    }
}

fn fast() -> Limits {
    Limits {
        policy: Policy::new(
            Duration::from_secs(5),
            Duration::from_secs(20),
            Duration::from_millis(5),
            Duration::from_millis(20),
        ),
        silence: Duration::from_millis(400),
    }
}

async fn run(h: &Harness, p: &Protocol) -> keryx_core::Result<String> {
    upload_with(
        p,
        &h.file,
        h.content.len() as u64,
        Begin::Fresh,
        &NoProgress,
        fast(),
    )
    .await
}

#[tokio::test]
async fn ranges_arrive_in_order_with_exact_lengths() {
    let h = harness(1_000_003, &[]).await;
    let done = run(&h, &protocol(&h, 262_144, true)).await.unwrap();
    assert_eq!(done, "done");
    let s = h.server.lock().unwrap();
    assert_eq!(
        s.stored, h.content,
        "the server holds the file, byte for byte"
    );
    assert!(!s.bad_length, "every Content-Length matched its body");
    assert_eq!(s.requests, 4, "four ranges, no extra request");
}

#[tokio::test]
async fn a_5xx_and_a_lost_reply_cost_at_most_the_range_in_flight() {
    let chunk = 100_000;
    let h = harness(450_000, &[Fault::StoreThenFail, Fault::Unavailable]).await;
    run(&h, &protocol(&h, chunk, true)).await.unwrap();
    let s = h.server.lock().unwrap();
    assert_eq!(s.stored, h.content);
    // The lost reply's chunk was stored; asking where the upload stands avoids sending it again.
    assert!(
        s.received <= h.content.len() as u64 + chunk,
        "{} bytes received for {}",
        s.received,
        h.content.len()
    );
}

#[tokio::test]
async fn without_a_status_request_a_fault_resends_the_range_and_416_says_where_to_go_on() {
    let chunk = 100_000;
    let h = harness(300_000, &[Fault::Unavailable, Fault::StoreThenFail]).await;
    run(&h, &protocol(&h, chunk, false)).await.unwrap();
    let s = h.server.lock().unwrap();
    assert_eq!(s.stored, h.content);
    assert!(s.received <= h.content.len() as u64 + 2 * chunk);
}

#[tokio::test]
async fn a_server_that_stops_answering_is_left_after_the_silence_and_the_upload_goes_on() {
    let h = harness(250_000, &[Fault::Stall]).await;
    let started = std::time::Instant::now();
    run(&h, &protocol(&h, 100_000, true)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the stall cost about one silence (0.4 s), not an hour"
    );
    assert_eq!(h.server.lock().unwrap().stored, h.content);
}

#[tokio::test]
async fn a_forgotten_session_starts_again_from_byte_zero() {
    let h = harness(300_000, &[Fault::StoreThenFail, Fault::Forget]).await;
    let p = protocol(&h, 100_000, true);
    run(&h, &p).await.unwrap();
    assert_eq!(*p.restarts.lock().unwrap(), 1);
    assert_eq!(h.server.lock().unwrap().stored, h.content);
}

#[tokio::test]
async fn a_server_that_keeps_failing_ends_in_an_error_that_says_how_far_it_got() {
    let faults = vec![Fault::Unavailable; 64];
    let h = harness(200_000, &[&[Fault::None][..], &faults].concat()).await;
    let error = run(&h, &protocol(&h, 100_000, true)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Platform);
    let text = error.to_string();
    assert!(text.contains("the test range server"), "{text}");
    assert!(text.contains("HTTP 503"), "names the last failure: {text}");
    assert!(
        text.contains("100000 of 200000 bytes"),
        "says how far it got: {text}"
    );
}
