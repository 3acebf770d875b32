//! Knobs and persistence.

use super::*;

#[tokio::test]
async fn unknown_knobs_are_rejected() {
    let fake = start().await;
    let response = fake
        .http
        .post(format!("{}/__emulator/youtube/configure", fake.base))
        .body("fail_chunks: [1]")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("fail_chunks"));
    assert!(
        fake.emulator
            .configure(&serde_yaml::from_str("completion_status: 204").unwrap())
            .is_err()
    );
    // The unaudited-project lock ended on 2026-11-02 (reference §5.1); its knob went with it.
    assert!(
        fake.emulator
            .configure(&serde_yaml::from_str("unaudited: false").unwrap())
            .is_err()
    );
    assert!(
        fake.emulator
            .configure(&serde_yaml::from_str("private_by_account_settings: false").unwrap())
            .is_ok()
    );
}

#[tokio::test]
async fn a_relocated_session_moves_to_its_new_uri() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    fake.configure("relocate_session_on_requests: [1]").await;
    let data = content(2 * CHUNK);
    let uri = fake.session(&token, data.len()).await;
    let response = fake.chunk(&uri, &token, &data, 0, CHUNK).await;
    assert_eq!(response.status().as_u16(), 308);
    let moved = location(&response);
    assert_ne!(moved, uri);
    assert_eq!(
        fake.status_query(&uri, &token, data.len()).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fake.chunk(&moved, &token, &data, CHUNK, CHUNK)
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_restart_with_a_state_file_keeps_sessions_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("youtube-state.json");
    let knobs = format!("state_file: {}", state_file.display());
    let fake = start().await;
    fake.configure(&knobs).await;
    let tokens = fake.login(UPLOAD).await;
    let data = content(2 * CHUNK + 7);
    let uri = fake.session(&tokens.access, data.len()).await;
    assert_eq!(
        fake.chunk(&uri, &tokens.access, &data, 0, CHUNK)
            .await
            .status()
            .as_u16(),
        308
    );
    let port = fake.running.addr.port();
    fake.running.stop();
    drop(fake);

    // A new emulator (a new process) on the same port, loading the file.
    let emulator = YouTubeEmulator::new();
    emulator
        .configure(&serde_yaml::from_str(&knobs).unwrap())
        .unwrap();
    let fake = start_with(emulator, port).await;
    let response = fake.status_query(&uri, &tokens.access, data.len()).await;
    assert_eq!(
        range(&response).as_deref(),
        Some("bytes=0-262143"),
        "the saved session URI still works"
    );
    assert_eq!(
        fake.refresh(tokens.refresh.as_deref().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        fake.chunk(&uri, &tokens.access, &data, CHUNK, CHUNK + 7)
            .await
            .status(),
        StatusCode::CREATED
    );
    let stats = fake.stats().await;
    assert_eq!(stats["videos"]["count"], 1);
    assert_eq!(stats["videos"]["items"][0]["bytes"], data.len());
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    assert_eq!(saved["videos"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn client_config_and_secret() {
    let emulator = YouTubeEmulator::new();
    let text = emulator.client_config("http://127.0.0.1:9/");
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&format!("platforms:\n  youtube:\n{text}")).unwrap();
    let section = &yaml["platforms"]["youtube"];
    assert_eq!(section["enabled"], serde_yaml::Value::Bool(false));
    assert_eq!(section["client_id"].as_str(), Some(CLIENT_ID));
    assert_eq!(section["privacy"].as_str(), Some("private"));
    assert_eq!(section["made_for_kids"], serde_yaml::Value::Bool(false));
    assert_eq!(section["base_url"].as_str(), Some("http://127.0.0.1:9"));
    assert_eq!(
        emulator.client_secret(),
        ("YOUTUBE_CLIENT_SECRET", CLIENT_SECRET.to_string())
    );
    assert_eq!(emulator.platform_id(), "youtube");
}

/// Malformed and extreme requests get 4xx replies, never a crash or a dropped connection.
#[tokio::test]
async fn garbage_never_crashes_the_emulator() {
    let fake = start().await;
    fake.configure(
        "code_ttl_secs: 18446744073709551615\naccess_token_lifetime_secs: 18446744073709551615\n\
         session_ttl_secs: 18446744073709551615\nprocessing_polls: 4294967295\nquota_units_per_day: 18446744073709551615",
    )
    .await;
    let token = fake.login(&format!("{UPLOAD} {READONLY}")).await.access;
    let uri = fake.session(&token, 2 * CHUNK).await;
    let base = fake.base.clone();
    let http = &fake.http;
    let requests = vec![
        http.put(&uri).bearer_auth(&token).header("content-range", "bytes 0-0/18446744073709551615").body(vec![0]),
        http.put(&uri).bearer_auth(&token).header("content-range", "bytes 18446744073709551614-18446744073709551614/*").body(vec![0]),
        http.put(&uri).bearer_auth(&token).header("content-range", reqwest::header::HeaderValue::from_bytes(b"bytes \xff-1/2").unwrap()).body(vec![0]),
        http.put(&uri).bearer_auth(&token).header("content-length", "abc").body(Vec::new()),
        http.put(&uri).header("authorization", "Bearer").body(vec![1, 2]),
        http.put(format!("{base}/upload/youtube/v3/videos?upload_id=%ff%fe")).bearer_auth(&token).body(vec![1]),
        http.put(format!("{base}/upload/youtube/v3/videos")).bearer_auth(&token).body(vec![1]),
        http.get(format!("{base}/o/oauth2/v2/auth?client_id=%ff%fe&redirect_uri=%00")),
        http.get(format!("{base}/o/oauth2/auth?client_id={CLIENT_ID}&redirect_uri=http://127.0.0.1:1/%0d%0aSet-Cookie:x&response_type=code&scope={UPLOAD}")),
        http.post(format!("{base}/token")).header("content-type", "application/x-www-form-urlencoded").body(vec![0xff, b'=', b'&', b'&', b'=']),
        http.post(format!("{base}/token")).header("authorization", "Basic !!!").header("content-type", "application/x-www-form-urlencoded").body("grant_type=refresh_token"),
        http.post(format!("{base}/revoke")).header("content-type", "text/plain").body("token=x"),
        http.post(format!("{base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet"))
            .bearer_auth(&token)
            .header("x-upload-content-length", "99999999999999999999999")
            .header("content-type", "application/json")
            .body("{}"),
        http.post(format!("{base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("[1, 2, 3]"),
        http.post(format!("{base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .header("slug", reqwest::header::HeaderValue::from_bytes(b"\xff.mp4").unwrap())
            .body(r#"{"snippet": {"title": "t"}}"#),
        http.get(format!("{base}/youtube/v3/videos?part=,&id=,,,")).bearer_auth(&token),
        http.get(format!("{base}/youtube/v3/channels?part=snippet&mine=maybe")).bearer_auth(&token),
        http.post(format!("{base}/upload/youtube/v3/thumbnails/set?videoId=")).bearer_auth(&token).body(vec![0; 10]),
        http.post(format!("{base}/youtube/v3/videos?part=snippet")).bearer_auth(&token),
    ];
    for request in requests {
        let response = request
            .send()
            .await
            .expect("a reply, not a dropped connection");
        let status = response.status();
        let url = response.url().clone();
        assert!(
            status.is_client_error() || status.as_u16() == 308,
            "{url}: {status}"
        );
    }
    // The session is untouched and still completes.
    let data = content(2 * CHUNK);
    assert_eq!(
        fake.chunk(&uri, &token, &data, 0, CHUNK)
            .await
            .status()
            .as_u16(),
        308
    );
    assert_eq!(
        fake.chunk(&uri, &token, &data, CHUNK, CHUNK).await.status(),
        StatusCode::CREATED
    );
    let list = format!(
        "{base}/youtube/v3/videos?part=processingDetails&id={}",
        fake.stats().await["videos"]["items"][0]["id"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        fake.http
            .get(&list)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    fake.configure("advance_clock_secs: 18446744073709551615")
        .await;
    assert_eq!(
        fake.http
            .get(&list)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn concurrent_uploads_are_counted() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let slow_put = |uri: String| {
        let fake = &fake;
        let token = token.clone();
        async move {
            // The body arrives in two halves with a pause, so both PUTs are in flight at once.
            let halves: Vec<Result<Vec<u8>, std::io::Error>> =
                vec![Ok(content(CHUNK / 2)), Ok(content(CHUNK / 2))];
            let stream = futures_util::stream::iter(halves).then(|half| async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                half
            });
            fake.http
                .put(&uri)
                .bearer_auth(&token)
                .header(
                    "content-range",
                    format!("bytes 0-{}/{}", CHUNK - 1, 2 * CHUNK),
                )
                .header("content-length", CHUNK.to_string())
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .unwrap()
        }
    };
    let (a, b) = (
        fake.session(&token, 2 * CHUNK).await,
        fake.session(&token, 2 * CHUNK).await,
    );
    let (ra, rb) = tokio::join!(slow_put(a), slow_put(b));
    assert_eq!(range(&ra).as_deref(), Some("bytes=0-262143"));
    assert_eq!(range(&rb).as_deref(), Some("bytes=0-262143"));
    let stats = fake.stats().await;
    assert_eq!(stats["peak_concurrent_uploads"], 2);
    assert_eq!(stats["concurrent_uploads"], 0);
}
