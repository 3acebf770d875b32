//! `upload::file_range_body` on the wire: a raw TCP server records exactly what reqwest sends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keryx_core::ErrorKind;
use keryx_core::http::{is_transient, local_cause};
use keryx_core::upload::{BLOCK_SIZE, file_range_body};
use reqwest::header::CONTENT_LENGTH;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server saw: the request head (lowercased) and the body bytes.
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim())
        })
    }
}

/// Accepts one HTTP/1.1 request, reads its head and `Content-Length` bytes of body (or until
/// the client gives up), answers `201 Created`.
async fn one_request_server() -> (String, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/upload", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the request head ended");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let mut body = buf[head_end..].to_vec();
        let expected = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse::<usize>().unwrap());
        loop {
            if expected.is_some_and(|len| body.len() >= len) {
                break;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = socket
            .write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
            .await;
        Seen { head, body }
    });
    (url, handle)
}

/// A file whose every byte depends on its position, so a shifted range is caught.
fn patterned_file(dir: &Path, len: usize) -> (PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let path = dir.join("video.mp4");
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

fn counter() -> (
    Arc<AtomicU64>,
    Arc<Mutex<Vec<u64>>>,
    keryx_core::upload::OnBytes,
) {
    let total = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(Mutex::new(Vec::new()));
    let (t, c) = (total.clone(), calls.clone());
    let on_bytes: keryx_core::upload::OnBytes = Arc::new(move |n| {
        t.fetch_add(n, Ordering::Relaxed);
        c.lock().unwrap().push(n);
    });
    (total, calls, on_bytes)
}

#[tokio::test]
async fn explicit_content_length_and_no_chunked_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = patterned_file(dir.path(), 2_000_000);
    let (offset, len) = (123_457u64, 1_000_003u64);
    let (total, calls, on_bytes) = counter();
    let body = file_range_body(&path, offset, len, Some(on_bytes)).unwrap();

    let (url, server) = one_request_server().await;
    let reply = keryx_core::http::client()
        .unwrap()
        .put(&url)
        .header(CONTENT_LENGTH, len)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let seen = server.await.unwrap();

    assert_eq!(
        seen.header("content-length"),
        Some("1000003"),
        "{}",
        seen.head
    );
    assert_eq!(seen.header("transfer-encoding"), None, "{}", seen.head);
    assert_eq!(seen.body.len() as u64, len);
    assert!(
        seen.body == bytes[offset as usize..(offset + len) as usize],
        "wrong bytes sent"
    );

    assert_eq!(total.load(Ordering::Relaxed), len);
    let calls = calls.lock().unwrap();
    assert!(calls.len() >= 4, "{calls:?}");
    assert!(
        calls.iter().all(|&n| n > 0 && n <= BLOCK_SIZE as u64),
        "{calls:?}"
    );
}

#[tokio::test]
async fn exact_size_even_without_an_explicit_header() {
    // A caller who forgets Content-Length still gets one from the body's size hint.
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = patterned_file(dir.path(), 300_000);
    let body = file_range_body(&path, 0, 300_000, None).unwrap();
    let (url, server) = one_request_server().await;
    let client = keryx_core::http::client().unwrap();
    client.put(&url).body(body).send().await.unwrap();
    let seen = server.await.unwrap();
    assert_eq!(
        seen.header("content-length"),
        Some("300000"),
        "{}",
        seen.head
    );
    assert_eq!(seen.header("transfer-encoding"), None, "{}", seen.head);
    assert!(seen.body == bytes);
}

#[tokio::test]
async fn empty_range_sends_content_length_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = patterned_file(dir.path(), 10);
    let (total, _, on_bytes) = counter();
    let body = file_range_body(&path, 10, 0, Some(on_bytes)).unwrap();
    let (url, server) = one_request_server().await;
    let client = keryx_core::http::client().unwrap();
    client
        .put(&url)
        .header(CONTENT_LENGTH, 0)
        .body(body)
        .send()
        .await
        .unwrap();
    let seen = server.await.unwrap();
    assert_eq!(seen.header("content-length"), Some("0"), "{}", seen.head);
    assert_eq!(seen.header("transfer-encoding"), None);
    assert!(seen.body.is_empty());
    assert_eq!(total.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn range_past_the_end_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = patterned_file(dir.path(), 1000);
    let err = file_range_body(&path, 900, 101, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.message().contains("changed during the upload"), "{err}");
    assert!(
        err.message()
            .contains("it is now 1000 bytes, but keryx needs 1001"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("Do not edit, move or replace"));

    let err = file_range_body(&path, u64::MAX, 2, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);

    let err = file_range_body(&dir.path().join("gone.mp4"), 0, 1, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.message().contains("gone.mp4"), "{err}");
}

#[tokio::test]
async fn file_cut_short_during_the_upload_fails_without_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = patterned_file(dir.path(), 1_000_000);
    let body = file_range_body(&path, 0, 1_000_000, None).unwrap();
    // The file shrinks after the body was made, before the bytes are read.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(400_000)
        .unwrap();

    let (url, server) = one_request_server().await;
    let client = keryx_core::http::client().unwrap();
    let err = client
        .put(&url)
        .header(CONTENT_LENGTH, 1_000_000u64)
        .body(body)
        .send()
        .await
        .unwrap_err();
    assert!(!is_transient(&err), "{err:?}");
    let cause = local_cause(&err).expect("the keryx error behind the failure");
    assert_eq!(cause.kind(), ErrorKind::Input);
    assert!(
        cause.message().contains("changed during the upload"),
        "{cause}"
    );
    assert!(
        cause.message().contains("it is now 400000 bytes"),
        "{cause}"
    );
    // The server got the bytes that existed, never a complete request.
    let seen = server.await.unwrap();
    assert!(seen.body.len() <= 400_000, "{}", seen.body.len());
}
