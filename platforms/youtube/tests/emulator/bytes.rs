//! Bytes (reference §9.6).

use super::*;

#[tokio::test]
async fn three_chunk_upload_with_308_and_range() {
    let fake = start().await;
    let token = fake
        .login(format!("{UPLOAD} {READONLY}").as_str())
        .await
        .access;
    let data = content(2 * CHUNK + 1000);
    let uri = fake.session(&token, data.len()).await;

    let response = fake.status_query(&uri, &token, data.len()).await;
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(range(&response), None, "no Range when nothing is stored");
    assert_eq!(response.headers()["content-length"], "0");

    let response = fake.chunk(&uri, &token, &data, 0, CHUNK).await;
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(range(&response).as_deref(), Some("bytes=0-262143"));
    let response = fake.chunk(&uri, &token, &data, CHUNK, CHUNK).await;
    assert_eq!(range(&response).as_deref(), Some("bytes=0-524287"));
    let response = fake.status_query(&uri, &token, data.len()).await;
    assert_eq!(range(&response).as_deref(), Some("bytes=0-524287"));

    let response = fake.chunk(&uri, &token, &data, 2 * CHUNK, 1000).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    let video: Value = serde_json::from_str(&text).unwrap();
    let id = video["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 11);
    assert_eq!(video["kind"], "youtube#video");
    assert!(video["etag"].is_string());
    assert_eq!(video["snippet"]["title"], "a video");
    assert_eq!(video["snippet"]["tags"], json!(["keryx", "demo video"]));
    assert!(
        video["snippet"]["channelId"]
            .as_str()
            .unwrap()
            .starts_with("UC")
    );
    assert_eq!(video["snippet"]["channelTitle"], CHANNEL_TITLE);
    assert!(
        video["snippet"]["publishedAt"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(video["snippet"]["liveBroadcastContent"], "none");
    assert_eq!(video["status"]["uploadStatus"], "uploaded");
    assert_eq!(video["status"]["privacyStatus"], "private");
    assert!(
        video.get("contentDetails").is_none(),
        "only the requested parts"
    );

    // The final reply is replayed for any later PUT: no second video.
    let replay = fake.status_query(&uri, &token, data.len()).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.text().await.unwrap(), text);
    let again = fake.chunk(&uri, &token, &data, 2 * CHUNK, 1000).await;
    assert_eq!(again.text().await.unwrap(), text);

    let stats = fake.stats().await;
    assert_eq!(stats["videos"]["count"], 1);
    assert_eq!(stats["videos"]["items"][0]["id"], id.as_str());
    assert_eq!(stats["videos"]["items"][0]["sha256"], sha256_hex(&data));
    assert_eq!(stats["bytes_committed"], data.len());
    assert_eq!(stats["upload_puts"], 7);
    assert_eq!(stats["status_queries"], 3);

    // videos.list: processing, then processed (reference §9.7).
    let list = format!(
        "{}/youtube/v3/videos?part=status,processingDetails&id={id}",
        fake.base
    );
    let first: Value = fake
        .http
        .get(&list)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        first["items"][0]["processingDetails"]["processingStatus"],
        "processing"
    );
    assert_eq!(first["items"][0]["status"]["uploadStatus"], "uploaded");
    fake.http
        .get(&list)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let done: Value = fake
        .http
        .get(&list)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        done["items"][0]["processingDetails"]["processingStatus"],
        "succeeded"
    );
    assert_eq!(done["items"][0]["status"]["uploadStatus"], "processed");
}

#[tokio::test]
async fn whole_file_in_one_put_and_completion_status_200() {
    let fake = start().await;
    fake.configure("completion_status: 200").await;
    let token = fake.login(UPLOAD).await.access;
    let data = content(5000);
    let uri = fake.session(&token, data.len()).await;
    let response = fake.put(&uri, &token, None, data.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let video: Value = response.json().await.unwrap();
    assert_eq!(video["status"]["uploadStatus"], "uploaded");
    // A body that is not the declared size is refused.
    let uri = fake.session(&token, data.len()).await;
    assert_eq!(
        fake.put(&uri, &token, None, data[..4000].to_vec())
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        range(&fake.status_query(&uri, &token, data.len()).await),
        None
    );
}

#[tokio::test]
async fn non_final_chunks_must_be_multiples_of_256_kib() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let data = content(3 * CHUNK);
    let uri = fake.session(&token, data.len()).await;

    let response = fake.chunk(&uri, &token, &data, 0, 100_000).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("The number of bytes uploaded is required to be equal or greater than 262144, except for the final request")
            && text.contains("The received request contained 100000 bytes"),
        "{text}"
    );
    let response = fake.chunk(&uri, &token, &data, 0, CHUNK + 1).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("multiple of 262144")
    );
    assert_eq!(
        range(&fake.status_query(&uri, &token, data.len()).await),
        None,
        "nothing stored"
    );

    // Lenient mode keeps the aligned prefix, as Google Cloud Storage does.
    fake.configure("lenient_chunk_sizes: true").await;
    let response = fake.chunk(&uri, &token, &data, 0, CHUNK + 1).await;
    assert_eq!(range(&response).as_deref(), Some("bytes=0-262143"));
}

#[tokio::test]
async fn content_range_is_parsed_strictly() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let data = content(2 * CHUNK);
    let uri = fake.session(&token, data.len()).await;
    for header in [
        "bytes=0-262143/524288",
        "bytes 0-262143",
        "bytes  0-262143/524288",
        "bytes 262143-0/524288",
        "bytes */*",
    ] {
        let response = fake
            .put(
                &uri,
                &token,
                Some(header.to_string()),
                data[..CHUNK].to_vec(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{header}");
        assert_eq!(
            response.text().await.unwrap(),
            "Failed to parse Content-Range header."
        );
    }
    // TOTAL must be the declared size.
    let response = fake
        .put(
            &uri,
            &token,
            Some("bytes 0-262143/600000".into()),
            data[..CHUNK].to_vec(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The body must be B-A+1 bytes.
    let response = fake
        .put(
            &uri,
            &token,
            Some("bytes 0-262143/524288".into()),
            data[..CHUNK - 1].to_vec(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The final request must name the total.
    let response = fake
        .put(&uri, &token, Some("bytes 0-524287/*".into()), data.clone())
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fake.stats().await["bytes_committed"], 0);
}

#[tokio::test]
async fn gaps_and_overlaps_store_nothing() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let data = content(3 * CHUNK);
    let uri = fake.session(&token, data.len()).await;
    fake.chunk(&uri, &token, &data, 0, CHUNK).await;
    for first in [2 * CHUNK, 0] {
        let response = fake.chunk(&uri, &token, &data, first, CHUNK).await;
        assert_eq!(response.status().as_u16(), 308, "first byte {first}");
        assert_eq!(
            range(&response).as_deref(),
            Some("bytes=0-262143"),
            "unchanged Range"
        );
    }
    assert_eq!(fake.stats().await["bytes_committed"], CHUNK);
    // Switchable to 400.
    fake.configure("misaligned_offset_status: 400").await;
    let response = fake.chunk(&uri, &token, &data, 2 * CHUNK, CHUNK).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("exceeds already uploaded size of 262144 byte(s)")
    );
}

#[tokio::test]
async fn injected_5xx_then_status_query_and_resume() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    fake.configure("fail_requests_with_5xx: [2, {request: 3, status: 500, retry_after: 2}]")
        .await;
    let data = content(2 * CHUNK + 10);
    let uri = fake.session(&token, data.len()).await;
    assert_eq!(
        fake.chunk(&uri, &token, &data, 0, CHUNK)
            .await
            .status()
            .as_u16(),
        308
    );
    let (status, reason, _, body) =
        api_error(fake.chunk(&uri, &token, &data, CHUNK, CHUNK).await).await;
    assert_eq!((status, reason.as_str()), (503, "backendError"));
    assert_eq!(body["error"]["status"], "UNAVAILABLE");
    let response = fake.status_query(&uri, &token, data.len()).await;
    assert_eq!(response.status().as_u16(), 500);
    assert_eq!(response.headers()["retry-after"], "2");
    let response = fake.status_query(&uri, &token, data.len()).await;
    assert_eq!(
        range(&response).as_deref(),
        Some("bytes=0-262143"),
        "the failed chunk stored nothing"
    );
    assert_eq!(
        fake.chunk(&uri, &token, &data, CHUNK, CHUNK)
            .await
            .status()
            .as_u16(),
        308
    );
    assert_eq!(
        fake.chunk(&uri, &token, &data, 2 * CHUNK, 10)
            .await
            .status(),
        StatusCode::CREATED
    );
    let stats = fake.stats().await;
    assert_eq!(stats["injected_5xx"], 2);
    assert_eq!(stats["videos"]["items"][0]["sha256"], sha256_hex(&data));
}

#[tokio::test]
async fn a_cut_connection_keeps_an_aligned_prefix() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let data = content(4 * CHUNK + 500);
    let uri = fake.session(&token, data.len()).await;
    assert_eq!(
        fake.chunk(&uri, &token, &data, 0, CHUNK)
            .await
            .status()
            .as_u16(),
        308
    );
    // The 2nd PUT sends everything that is left; the server reads 2 chunks and a bit, then hangs up.
    fake.configure(&format!(
        "cut_connection: [{{request: 2, after_bytes: {}}}]",
        2 * CHUNK + 1000
    ))
    .await;
    let range_header = format!("bytes {CHUNK}-{}/{}", data.len() - 1, data.len());
    let sent = fake
        .http
        .put(&uri)
        .bearer_auth(&token)
        .header("content-range", range_header)
        .body(data[CHUNK..].to_vec())
        .send()
        .await;
    let error = sent.expect_err("the connection was dropped without a reply");
    // A reset or a closed connection while sending: a request error, not an HTTP status.
    assert!(error.is_request() && !error.is_status(), "{error:?}");

    let response = fake.status_query(&uri, &token, data.len()).await;
    assert_eq!(
        range(&response).as_deref(),
        Some(format!("bytes=0-{}", 3 * CHUNK - 1).as_str())
    );
    let response = fake
        .chunk(&uri, &token, &data, 3 * CHUNK, CHUNK + 500)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let stats = fake.stats().await;
    assert_eq!(stats["connections_cut"], 1);
    assert_eq!(stats["videos"]["items"][0]["sha256"], sha256_hex(&data));
    // What was re-sent is bounded: the first chunk, the cut request's k bytes, the rest.
    assert_eq!(
        stats["bytes_received"],
        CHUNK + (2 * CHUNK + 1000) + (CHUNK + 500)
    );
}

#[tokio::test]
async fn access_token_expiry_mid_upload_keeps_the_session() {
    let fake = start().await;
    let tokens = fake.login(UPLOAD).await;
    fake.configure("expire_access_token_after_requests: 1")
        .await;
    let data = content(2 * CHUNK);
    let uri = fake.session(&tokens.access, data.len()).await;
    assert_eq!(
        fake.chunk(&uri, &tokens.access, &data, 0, CHUNK)
            .await
            .status()
            .as_u16(),
        308
    );
    let (status, reason, _, _) =
        api_error(fake.chunk(&uri, &tokens.access, &data, CHUNK, CHUNK).await).await;
    assert_eq!((status, reason.as_str()), (401, "authError"));
    let reply: Value = fake
        .refresh(tokens.refresh.as_deref().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let fresh = reply["access_token"].as_str().unwrap();
    let response = fake.status_query(&uri, fresh, data.len()).await;
    assert_eq!(range(&response).as_deref(), Some("bytes=0-262143"));
    assert_eq!(
        fake.chunk(&uri, fresh, &data, CHUNK, CHUNK).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn expired_sessions_answer_404() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let data = content(2 * CHUNK);
    let uri = fake.session(&token, data.len()).await;
    fake.chunk(&uri, &token, &data, 0, CHUNK).await;
    fake.configure("expire_sessions: true").await;
    assert_eq!(
        fake.chunk(&uri, &token, &data, CHUNK, CHUNK).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fake.status_query(&uri, &token, data.len()).await.status(),
        StatusCode::NOT_FOUND
    );

    // By age, on the fake clock (about a week).
    let uri = fake.session(&token, data.len()).await;
    fake.configure("advance_clock_secs: 604800").await;
    let token = fake.login(UPLOAD).await.access;
    assert_eq!(
        fake.status_query(&uri, &token, data.len()).await.status(),
        StatusCode::NOT_FOUND
    );
    let unknown = format!(
        "{}/upload/youtube/v3/videos?uploadType=resumable&upload_id=nope&part=snippet",
        fake.base
    );
    assert_eq!(
        fake.status_query(&unknown, &token, 10).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn privacy_is_applied_as_asked_unless_account_settings_make_it_private() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let upload = |metadata: Value| {
        let fake = &fake;
        let token = token.clone();
        async move {
            let response = fake.initiate(&token, 10, &metadata).await;
            let uri = location(&response);
            let video: Value = fake
                .put(&uri, &token, None, content(10))
                .await
                .json()
                .await
                .unwrap();
            video["status"]["privacyStatus"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // Unaudited projects are no longer forced private (reference §5.1, 2026-11-02).
    assert_eq!(upload(metadata("t", "public")).await, "public");
    assert_eq!(upload(metadata("t", "unlisted")).await, "unlisted");
    let mut omitted = metadata("t", "public");
    omitted["status"]
        .as_object_mut()
        .unwrap()
        .remove("privacyStatus");
    assert_eq!(
        upload(omitted).await,
        "public",
        "an omitted privacy is public"
    );
    fake.configure("private_by_account_settings: true").await;
    assert_eq!(upload(metadata("t", "public")).await, "private");
    let stats = fake.stats().await;
    assert_eq!(stats["videos"]["items"][3]["privacy_status"], "private");
    assert_eq!(
        stats["videos"]["items"][3]["requested_privacy_status"],
        "public"
    );
}

#[tokio::test]
async fn thumbnails_set_checks() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let uri = fake.session(&token, 10).await;
    let video: Value = fake
        .put(&uri, &token, None, content(10))
        .await
        .json()
        .await
        .unwrap();
    let id = video["id"].as_str().unwrap();
    let png = [
        &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..],
        &[0u8; 100],
    ]
    .concat();
    let set = |video_id: &str, content_type: &'static str, body: Vec<u8>| {
        let url = format!(
            "{}/upload/youtube/v3/thumbnails/set?videoId={video_id}",
            fake.base
        );
        fake.http
            .post(url)
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let reply: Value = set(id, "image/png", png.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["kind"], "youtube#thumbnailSetResponse");
    assert_eq!(reply["items"][0]["maxres"]["width"], 1280);
    assert_eq!(
        api_error(set("nope", "image/png", png.clone()).await.unwrap())
            .await
            .1,
        "videoNotFound"
    );
    assert_eq!(
        api_error(set(id, "text/plain", png.clone()).await.unwrap())
            .await
            .0,
        400
    );
    assert_eq!(
        api_error(
            set(id, "image/png", b"not an image".to_vec())
                .await
                .unwrap()
        )
        .await
        .1,
        "invalidImage"
    );
    // 50 MiB since 2026-09-14 (reference §7): the old 2 MiB limit is long gone.
    let big = |len: usize| [&png[..8], &vec![0u8; len - 8][..]].concat();
    let reply = set(id, "image/png", big(50 * 1024 * 1024)).await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(
        api_error(
            set(id, "image/png", big(50 * 1024 * 1024 + 1))
                .await
                .unwrap()
        )
        .await
        .0,
        413
    );
    fake.configure("thumbnail_unverified_channel: true").await;
    let (status, reason, _, _) = api_error(set(id, "image/png", png.clone()).await.unwrap()).await;
    assert_eq!((status, reason.as_str()), (403, "forbidden"));
    fake.configure("thumbnail_unverified_channel: false\nthumbnail_rate_limited: true")
        .await;
    let (status, reason, _, _) = api_error(set(id, "image/png", png).await.unwrap()).await;
    assert_eq!((status, reason.as_str()), (429, "uploadRateLimitExceeded"));
    assert_eq!(fake.stats().await["quota_used"]["units"], 50 * 8);
}

#[tokio::test]
async fn a_shorts_thumbnail_waits_for_processing() {
    let fake = start().await;
    fake.configure("uploads_are_shorts: true\nprocessing_polls: 2")
        .await;
    let token = fake.login(&format!("{UPLOAD} {READONLY}")).await.access;
    let uri = fake.session(&token, 10).await;
    let video: Value = fake
        .put(&uri, &token, None, content(10))
        .await
        .json()
        .await
        .unwrap();
    let id = video["id"].as_str().unwrap();
    let png = [
        &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..],
        &[0u8; 100],
    ]
    .concat();
    let set = || {
        fake.http
            .post(format!(
                "{}/upload/youtube/v3/thumbnails/set?videoId={id}",
                fake.base
            ))
            .bearer_auth(&token)
            .header("content-type", "image/png")
            .body(png.clone())
            .send()
    };
    let poll = || async {
        let list: Value = fake
            .http
            .get(format!(
                "{}/youtube/v3/videos?part=processingDetails&id={id}",
                fake.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["items"][0]["processingDetails"]["processingStatus"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Refused while processing (reference §6); time alone does not help, polls drive it.
    let (status, reason, _, _) = api_error(set().await.unwrap()).await;
    assert_eq!((status, reason.as_str()), (400, "failedPrecondition"));
    assert_eq!(poll().await, "processing");
    // A stuck transcode never finishes.
    fake.configure("processing_stuck: true").await;
    for _ in 0..3 {
        assert_eq!(poll().await, "processing");
    }
    assert_eq!(
        api_error(set().await.unwrap()).await.1,
        "failedPrecondition"
    );
    fake.configure("processing_stuck: false").await;
    assert_eq!(poll().await, "processing");
    assert_eq!(poll().await, "succeeded");
    assert_eq!(set().await.unwrap().status(), StatusCode::OK);
    let stats = fake.stats().await;
    assert_eq!(stats["videos"]["items"][0]["short"], true, "{stats}");
    assert_eq!(stats["thumbnails_set"], 1, "{stats}");
}
