//! Upload.

use super::*;

#[tokio::test]
async fn three_chunks_with_exact_ranges_then_status_progression() {
    let fake = start().await;
    let t = fake.login().await;
    let (size, chunk) = (16 * MIB, 5 * MIB);
    let data = video(size);
    let (publish_id, url) = fake.start_post(&t.access, size, chunk).await;
    let st = fake.status(&t.access, &publish_id).await;
    assert_eq!(st.body["data"]["status"], "PROCESSING_UPLOAD");
    assert_eq!(st.body["data"]["uploaded_bytes"], 0);

    let ranges = [(0, chunk), (chunk, 2 * chunk), (2 * chunk, size)];
    let expected = [
        StatusCode::PARTIAL_CONTENT,
        StatusCode::PARTIAL_CONTENT,
        StatusCode::CREATED,
    ];
    for ((a, b), want) in ranges.into_iter().zip(expected) {
        let resp = fake
            .put(&url, &data[a as usize..b as usize], a, size)
            .await
            .unwrap();
        assert_eq!(resp.status(), want);
        assert_eq!(
            resp.headers()[CONTENT_RANGE].to_str().unwrap(),
            format!("bytes 0-{}/{size}", b - 1)
        );
    }
    // The Nth poll after the last chunk completes (default 2): one more PROCESSING_UPLOAD first.
    let st = fake.status(&t.access, &publish_id).await;
    assert_eq!(st.body["data"]["status"], "PROCESSING_UPLOAD");
    assert_eq!(st.body["data"]["uploaded_bytes"], size);
    let st = fake.status(&t.access, &publish_id).await;
    assert_eq!(st.body["data"]["status"], "PUBLISH_COMPLETE", "{}", st.body);
    // SELF_ONLY posts never get a public id.
    assert_eq!(st.body["data"]["publicaly_available_post_id"], json!([]));

    let stats = fake.stats().await;
    assert_eq!(stats["bytes_received"], size);
    assert_eq!(stats["posts_completed"], 1);
    assert_eq!(stats["upload_puts"], 3);
    use sha2::Digest;
    assert_eq!(
        stats["publishes"][0]["sha256"],
        hex::encode(sha2::Sha256::digest(&data))
    );
    assert_eq!(stats["publishes"][0]["post_info"]["title"], "a #test");

    // Nothing more is taken after completion.
    let resp = fake
        .put(&url, &data[..chunk as usize], 0, size)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn public_post_gets_a_19_digit_id_and_failures_carry_a_reason() {
    let fake = start().await;
    fake.knobs("unaudited: false\naccount_private: false\npolls_until_complete: 1")
        .await;
    let t = fake.login().await;
    fake.creator_info(&t.access).await;
    let r = fake
        .init(&t.access, "PUBLIC_TO_EVERYONE", MIB, MIB, 1)
        .await;
    let publish_id = r.body["data"]["publish_id"].as_str().unwrap().to_string();
    let url = r.body["data"]["upload_url"].as_str().unwrap().to_string();
    assert_eq!(
        fake.put(&url, &video(MIB), 0, MIB).await.unwrap().status(),
        StatusCode::CREATED
    );
    let resp = fake
        .http
        .post(fake.url("/v2/post/publish/status/fetch/"))
        .bearer_auth(&t.access)
        .header(CONTENT_TYPE, JSON_UTF8)
        .body(json!({"publish_id": publish_id}).to_string())
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["data"]["status"], "PUBLISH_COMPLETE");
    let id = body["data"]["publicaly_available_post_id"][0]
        .as_u64()
        .expect("an integer id");
    assert_eq!(id.to_string().len(), 19);
    assert!(
        text.contains(&id.to_string()),
        "sent as a JSON integer: {text}"
    );

    fake.knobs("fail_reason: duration_check_failed").await;
    let (publish_id, url) = fake.start_post(&t.access, MIB, MIB).await;
    fake.put(&url, &video(MIB), 0, MIB).await.unwrap();
    let st = fake.status(&t.access, &publish_id).await;
    assert_eq!(st.body["data"]["status"], "FAILED");
    assert_eq!(st.body["data"]["fail_reason"], "duration_check_failed");
}

#[tokio::test]
async fn out_of_order_chunk_gets_416_with_progress() {
    let fake = start().await;
    let t = fake.login().await;
    let (size, chunk) = (11 * MIB, 5 * MIB);
    let data = video(size);
    let (_, url) = fake.start_post(&t.access, size, chunk).await;
    let resp = fake
        .put(&url, &data[chunk as usize..], chunk, size)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        resp.headers()[CONTENT_RANGE].to_str().unwrap(),
        format!("bytes 0-0/{size}")
    );
    assert_eq!(
        fake.put(&url, &data[..chunk as usize], 0, size)
            .await
            .unwrap()
            .status(),
        StatusCode::PARTIAL_CONTENT
    );
    let resp = fake
        .put(&url, &data[..chunk as usize], 0, size)
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::RANGE_NOT_SATISFIABLE,
        "a repeated chunk is out of order too"
    );
    assert_eq!(
        resp.headers()[CONTENT_RANGE].to_str().unwrap(),
        format!("bytes 0-{}/{size}", chunk - 1)
    );
    // The last chunk swallows the remainder; a chunk_size-long last chunk is wrong.
    let resp = fake
        .put(&url, &data[chunk as usize..2 * chunk as usize], chunk, size)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        fake.put(&url, &data[chunk as usize..], chunk, size)
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(fake.stats().await["bytes_received"], size);
}

#[tokio::test]
async fn upload_header_rules() {
    let fake = start().await;
    let t = fake.login().await;
    let size = MIB;
    let data = video(size);
    let (_, url) = fake.start_post(&t.access, size, size).await;
    let send = |ct: &'static str, range: String| {
        fake.http
            .put(&url)
            .header(CONTENT_TYPE, ct)
            .header(CONTENT_RANGE, range)
            .body(data.clone())
            .send()
    };
    let full = format!("bytes 0-{}/{size}", size - 1);
    assert_eq!(
        send("application/octet-stream", full.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send("video/mp4", format!("bytes 0-{}/{}", size - 1, size + 1))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send("video/mp4", format!("bytes=0-{}/{size}", size - 1))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    // Content-Length must equal the range length.
    let short = fake.put(&url, &data[..1000], 0, size).await.unwrap();
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    // A streamed body without Content-Length.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(data.clone())]);
    let chunked = fake
        .http
        .put(&url)
        .header(CONTENT_TYPE, "video/mp4")
        .header(CONTENT_RANGE, full.clone())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), StatusCode::BAD_REQUEST);
    // Unknown URL, wrong token.
    let bad = fake
        .put(
            &fake.url("/video/?upload_id=1&upload_token=x"),
            &data,
            0,
            size,
        )
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::NOT_FOUND);
    let forged = url.replace("upload_token=", "upload_token=x");
    assert_eq!(
        fake.put(&forged, &data, 0, size).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(fake.stats().await["bytes_received"], 0);
    // A streamed body is fine when it declares its length (as a client reading from disk does).
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(data.clone())]);
    let streamed = fake
        .http
        .put(&url)
        .header(CONTENT_TYPE, "video/quicktime")
        .header(CONTENT_LENGTH, size)
        .header(CONTENT_RANGE, full.clone())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), StatusCode::CREATED);
    assert_eq!(fake.stats().await["bytes_received"], size);
}

#[tokio::test]
async fn content_length_longer_than_the_body_is_400() {
    let fake = start().await;
    let t = fake.login().await;
    let size = 100u64;
    let (_, url) = fake.start_post(&t.access, size, size).await;
    let path = url.strip_prefix(&fake.running.base_url).unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: video/mp4\r\nContent-Range: bytes 0-99/100\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\n",
        fake.running.addr
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(&[7u8; 60]);
    let response = fake.raw(&request, true).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert_eq!(fake.stats().await["bytes_received"], 0);
}

#[tokio::test]
async fn injected_5xx_then_identical_retry_is_accepted() {
    let fake = start().await;
    let t = fake.login().await;
    let (size, chunk) = (11 * MIB, 5 * MIB);
    let data = video(size);
    let (_, url) = fake.start_post(&t.access, size, chunk).await;
    fake.knobs("fail_chunk_with_5xx: [2]").await;
    assert_eq!(
        fake.put(&url, &data[..chunk as usize], 0, size)
            .await
            .unwrap()
            .status(),
        StatusCode::PARTIAL_CONTENT
    );
    let second = &data[chunk as usize..];
    assert_eq!(
        fake.put(&url, second, chunk, size).await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(fake.stats().await["bytes_received"], chunk);
    assert_eq!(
        fake.put(&url, second, chunk, size).await.unwrap().status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn dropped_connection_stores_nothing_and_the_retry_works() {
    let fake = start().await;
    let t = fake.login().await;
    let (size, chunk) = (11 * MIB, 5 * MIB);
    let data = video(size);
    let (_, url) = fake.start_post(&t.access, size, chunk).await;
    let next = fake.stats().await["upload_puts"].as_u64().unwrap() + 1;
    fake.knobs(&format!("drop_connection_on_chunk: [{next}]"))
        .await;
    let err = fake
        .put(&url, &data[..chunk as usize], 0, size)
        .await
        .expect_err("the connection is cut, no reply");
    assert!(!err.is_status(), "{err}");
    let stats = fake.stats().await;
    assert_eq!(stats["bytes_received"], 0);
    assert_eq!(stats["uploads_in_flight"], 0);
    assert_eq!(
        fake.put(&url, &data[..chunk as usize], 0, size)
            .await
            .unwrap()
            .status(),
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(
        fake.put(&url, &data[chunk as usize..], chunk, size)
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn upload_url_expires_after_an_hour() {
    let fake = start().await;
    let t = fake.login().await;
    let (_, url) = fake.start_post(&t.access, MIB, MIB).await;
    fake.knobs("advance_clock_secs: 3600").await;
    assert_eq!(
        fake.put(&url, &video(MIB), 0, MIB).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn concurrent_puts_are_counted() {
    let fake = start().await;
    let t = fake.login().await;
    let (_, url_a) = fake.start_post(&t.access, 1000, 1000).await;
    let (_, url_b) = fake.start_post(&t.access, 1000, 1000).await;
    // Two raw PUTs that have sent only half their bodies are both in flight.
    let mut streams = Vec::new();
    for url in [&url_a, &url_b] {
        let path = url.strip_prefix(&fake.running.base_url).unwrap();
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\nContent-Range: bytes 0-999/1000\r\n\
             Content-Length: 1000\r\n\r\n"
        );
        let mut s = tokio::net::TcpStream::connect(fake.running.addr)
            .await
            .unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&[1u8; 500]).await.unwrap();
        streams.push(s);
    }
    let mut peak = 0;
    for _ in 0..100 {
        peak = fake.stats().await["peak_concurrent_uploads"]
            .as_u64()
            .unwrap();
        if peak >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(peak, 2);
    for mut s in streams {
        s.write_all(&[1u8; 500]).await.unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 201");
    }
    assert_eq!(fake.stats().await["uploads_completed"], 2);
}
