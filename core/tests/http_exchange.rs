//! `http::exchange` against real sockets: a server that accepts and never answers costs one
//! reply timeout per attempt, a call retries within its budget, and giving up says why.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keryx_core::Cause;
use keryx_core::http::{Policy, Reply, Verdict, exchange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn quick() -> Policy {
    Policy::new(
        Duration::from_millis(200),
        Duration::from_secs(2),
        Duration::from_millis(5),
        Duration::from_millis(40),
    )
}

/// Serves on a free port: the first `stalls` connections are accepted, read and never answered;
/// later ones get `reply` (a whole HTTP/1.1 response). Returns the URL and the connection count.
async fn server(stalls: u32, reply: &'static str) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicU32::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                if n <= stalls {
                    // Accepted and read, never answered: hold the connection open.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                } else {
                    let _ = socket.write_all(reply.as_bytes()).await;
                }
            });
        }
    });
    (url, seen)
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
const BUSY: &str =
    "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy";

fn by_status(reply: &Reply) -> Verdict {
    match reply.status.as_u16() {
        200 => Verdict::Ok,
        429 => Verdict::RateLimited {
            retry_after: None,
            window: Some(Duration::from_millis(50)),
            error: keryx_core::Error::platform("the fake is rate limiting keryx (busy)"),
        },
        _ => Verdict::Failed(keryx_core::Error::platform("unexpected")),
    }
}

#[tokio::test]
async fn a_stalled_reply_is_retried_and_then_succeeds() {
    let (url, seen) = server(2, OK).await;
    let http = reqwest::Client::new();
    let reply = exchange(&quick(), "the fake", || http.get(&url), by_status)
        .await
        .expect("the third attempt is answered");
    assert_eq!(&reply.body[..], b"ok");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_server_that_never_answers_ends_in_a_timeout_error() {
    let (url, seen) = server(u32::MAX, OK).await;
    let http = reqwest::Client::new();
    let error = exchange(&quick(), "the fake", || http.get(&url), by_status)
        .await
        .expect_err("never answered");
    assert_eq!(error.cause(), Some(Cause::Timeout));
    assert!(
        error
            .message()
            .starts_with("no reply from the fake within 200 ms"),
        "{error}"
    );
    assert!(error.message().contains("gave up after"), "{error}");
    assert!(seen.load(Ordering::SeqCst) >= 2, "it was not retried");
}

#[tokio::test]
async fn a_persistent_rate_limit_ends_naming_the_limit() {
    let (url, seen) = server(0, BUSY).await;
    let http = reqwest::Client::new();
    let error = exchange(&quick(), "the fake", || http.get(&url), by_status)
        .await
        .expect_err("always busy");
    assert_eq!(error.cause(), Some(Cause::RateLimited));
    assert!(
        error.message().contains("rate limiting keryx (busy)"),
        "{error}"
    );
    // Each wait outlasts the 50 ms window, so a 2 s budget allows at most 40 attempts.
    let attempts = seen.load(Ordering::SeqCst);
    assert!((2..=40).contains(&attempts), "{attempts} attempts");
}
