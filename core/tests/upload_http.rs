//! `http::client`, `is_transient` and `until_silent` against real sockets: raw TCP servers that
//! answer, refuse, hang up or say nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keryx_core::http::{Activity, Stalled, client, is_transient, until_silent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one connection: reads the request head, then does what `reply` says.
async fn serve_once<F, Fut>(reply: F) -> (String, tokio::task::JoinHandle<String>)
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                break;
            }
            head.push(byte[0]);
        }
        reply(socket).await;
        String::from_utf8_lossy(&head).to_lowercase()
    });
    (url, handle)
}

async fn answer(mut socket: tokio::net::TcpStream, response: &'static str) {
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.flush().await.unwrap();
}

#[tokio::test]
async fn redirects_are_answers_and_user_agent_names_keryx() {
    for response in [
        "HTTP/1.1 308 Permanent Redirect\r\nrange: bytes=0-99\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n",
        "HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n",
    ] {
        let (url, server) = serve_once(move |s| answer(s, response)).await;
        let reply = client()
            .unwrap()
            .get(format!("{url}/start"))
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_redirection(), "{}", reply.status());
        assert_eq!(reply.headers()["location"], "/elsewhere");
        let head = server.await.unwrap();
        assert!(head.starts_with("get /start "), "{head}");
        let agent = concat!("user-agent: keryx/", env!("CARGO_PKG_VERSION"));
        assert!(head.contains(agent), "{head}");
    }
}

#[tokio::test]
async fn refused_connection_is_transient() {
    // Bind, note the port, close: nothing listens there any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client()
        .unwrap()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(is_transient(&err), "{err:?}");
}

#[tokio::test]
async fn connection_closed_before_the_reply_is_transient() {
    let (url, _server) = serve_once(|socket| async move { drop(socket) }).await;
    let err = client()
        .unwrap()
        .put(&url)
        .body("x".repeat(10))
        .send()
        .await
        .unwrap_err();
    assert!(is_transient(&err), "{err:?}");
}

#[tokio::test]
async fn connection_reset_mid_upload_is_transient() {
    // The server takes the head and a little body, then resets the connection.
    let (url, _server) = serve_once(|mut socket| async move {
        let mut some = [0u8; 1024];
        let _ = socket.read(&mut some).await;
        socket.set_zero_linger().unwrap();
        drop(socket);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![7u8; 8 << 20]).unwrap();
    let body = keryx_core::upload::file_range_body(&path, 0, 8 << 20, None).unwrap();
    let err = client()
        .unwrap()
        .put(&url)
        .body(body)
        .send()
        .await
        .unwrap_err();
    assert!(is_transient(&err), "{err:?}");
    assert!(keryx_core::http::local_cause(&err).is_none());
}

#[tokio::test]
async fn reply_timeout_is_transient() {
    let (url, _server) = serve_once(|socket| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(socket);
    })
    .await;
    let err = client()
        .unwrap()
        .get(&url)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(is_transient(&err), "{err:?}");
}

#[tokio::test]
async fn malformed_request_is_not_transient() {
    let err = client()
        .unwrap()
        .get("http://exa mple.invalid/")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert!(!is_transient(&err), "{err:?}");
}

#[tokio::test]
async fn unexpected_reply_body_is_not_transient() {
    let (url, _server) = serve_once(|s| {
        answer(s, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\nnot json")
    })
    .await;
    let reply = client().unwrap().get(&url).send().await.unwrap();
    let err = reply.json::<serde_json::Value>().await.unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert!(!is_transient(&err), "{err:?}");
}

#[tokio::test]
async fn steady_progress_outlasts_the_silence_window() {
    let activity = Activity::new();
    let ticker = activity.clone();
    let silence = Duration::from_millis(200);
    let started = Instant::now();
    let work = async move {
        // Four times the silence window in total, never silent for more than a quarter of it.
        for _ in 0..16 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            ticker.touch();
        }
        "done"
    };
    assert_eq!(until_silent(&activity, silence, work).await, Ok("done"));
    assert!(started.elapsed() >= Duration::from_millis(800));
}

#[tokio::test]
async fn silent_server_is_abandoned_after_the_window() {
    // The body goes out at once; then the server says nothing, ever.
    let (url, _server) = serve_once(|socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.bin");
    std::fs::write(&path, vec![1u8; 1000]).unwrap();
    let activity = Activity::new();
    let touch = activity.clone();
    let body =
        keryx_core::upload::file_range_body(&path, 0, 1000, Some(Arc::new(move |_| touch.touch())))
            .unwrap();
    let silence = Duration::from_millis(300);
    let started = Instant::now();
    let request = client().unwrap().put(&url).body(body).send();
    let outcome = until_silent(&activity, silence, request).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome, Err(Stalled { silence: s }) if s == silence),
        "{outcome:?}"
    );
    assert!(
        elapsed >= silence && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}
