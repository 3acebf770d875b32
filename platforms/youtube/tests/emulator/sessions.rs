//! Session initiation (reference §9.5).

use super::*;

#[tokio::test]
async fn metadata_is_validated_before_any_byte_moves() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let reject = |body: Value| {
        let fake = &fake;
        let token = token.clone();
        async move { api_error(fake.initiate(&token, 1000, &body).await).await }
    };
    let snippet = |s: Value| json!({ "snippet": s, "status": { "privacyStatus": "private" } });
    for (body, code, reason) in [
        (snippet(json!({})), 400, "invalidTitle"),
        (snippet(json!({"title": ""})), 400, "invalidTitle"),
        (
            snippet(json!({"title": "x".repeat(101)})),
            400,
            "invalidTitle",
        ),
        (snippet(json!({"title": "a <b>"})), 400, "invalidTitle"),
        (
            snippet(json!({"title": "t", "description": "é".repeat(2501)})),
            400,
            "invalidDescription",
        ),
        (
            snippet(json!({"title": "t", "description": "1 < 2"})),
            400,
            "invalidDescription",
        ),
        (
            snippet(json!({"title": "t", "tags": ["a b".repeat(166), "c"]})),
            400,
            "invalidTags",
        ),
        (
            snippet(json!({"title": "t", "categoryId": 22})),
            400,
            "invalidCategoryId",
        ),
        (
            snippet(json!({"title": "t", "categoryId": "99"})),
            400,
            "invalidCategoryId",
        ),
        (
            json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "friends"}}),
            403,
            "forbiddenPrivacySetting",
        ),
        (
            json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "public", "publishAt": "2030-01-01T00:00:00Z"}}),
            400,
            "invalidPublishAt",
        ),
        (
            json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "private", "license": "gpl"}}),
            403,
            "forbiddenLicenseSetting",
        ),
    ] {
        let (status, got, domain, _) = reject(body.clone()).await;
        assert_eq!(
            (status, got.as_str(), domain.as_str()),
            (code, reason, "youtube.video"),
            "{body}"
        );
    }
    // Exactly 5000 bytes and 500 tag characters are fine; publishAt goes with private.
    let ok = json!({
        "snippet": {"title": "t", "description": "é".repeat(2500), "tags": ["a b".repeat(166)]},
        "status": {"privacyStatus": "private", "publishAt": "2030-01-01T00:00:00Z"},
    });
    assert_eq!(
        fake.initiate(&token, 1000, &ok).await.status(),
        StatusCode::OK
    );

    let post = |query: &'static str, headers: Vec<(&'static str, &'static str)>, body: String| {
        let fake = &fake;
        let token = token.clone();
        async move {
            let mut request = fake
                .http
                .post(format!("{}/upload/youtube/v3/videos{query}", fake.base))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body);
            for (k, v) in headers {
                request = request.header(k, v);
            }
            api_error(request.send().await.unwrap()).await
        }
    };
    let good = metadata("t", "private").to_string();
    assert_eq!(
        post("?part=snippet,status", vec![], good.clone()).await.1,
        "wrongUrlForUpload"
    );
    assert_eq!(
        post("?uploadType=resumable", vec![], good.clone()).await.1,
        "required"
    );
    assert_eq!(
        post(
            "?uploadType=resumable&part=snippet,bogus",
            vec![],
            good.clone()
        )
        .await
        .1,
        "unknownPart"
    );
    assert_eq!(
        post(
            "?uploadType=resumable&part=snippet",
            vec![],
            "{\"snippet\": {".into()
        )
        .await
        .1,
        "parseError"
    );
    let (status, reason, _, _) = post(
        "?uploadType=resumable&part=snippet",
        vec![("x-upload-content-type", "text/plain")],
        good.clone(),
    )
    .await;
    assert_eq!((status, reason.as_str()), (400, "badContent"));
    let (status, _, _, _) = post(
        "?uploadType=resumable&part=snippet",
        vec![("x-upload-content-length", "-5")],
        good.clone(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _, _) = post(
        "?uploadType=resumable&part=snippet",
        vec![("x-upload-content-length", "274877906945")],
        good,
    )
    .await;
    assert_eq!(status, 413);

    let stats = fake.stats().await;
    assert_eq!(stats["sessions_started"], 1);
    assert_eq!(stats["api_errors"]["invalidTitle"], 4);
}

#[tokio::test]
async fn session_initiation_reply_and_quota() {
    let fake = start().await;
    let token = fake.login(UPLOAD).await.access;
    let response = fake.initiate(&token, 1000, &metadata("t", "private")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let uri = location(&response);
    assert!(
        uri.starts_with(&format!("{}/upload/youtube/v3/videos?", fake.base)),
        "{uri}"
    );
    let pairs = query_of(&uri);
    assert_eq!(param(&pairs, "uploadType").as_deref(), Some("resumable"));
    assert_eq!(param(&pairs, "part").as_deref(), Some("snippet,status"));
    assert!(param(&pairs, "upload_id").is_some_and(|id| !id.is_empty()));
    assert!(
        response.text().await.unwrap().is_empty(),
        "the reply has an empty body"
    );

    // The upload bucket (reference §5.2); refused requests cost too.
    fake.configure("quota_uploads_per_day: 3").await;
    assert_eq!(
        api_error(fake.initiate(&token, 1000, &metadata("", "private")).await)
            .await
            .1,
        "invalidTitle"
    );
    fake.session(&token, 1000).await;
    let (status, reason, domain, body) =
        api_error(fake.initiate(&token, 1000, &metadata("t", "private")).await).await;
    assert_eq!(
        (status, reason.as_str(), domain.as_str()),
        (403, "quotaExceeded", "youtube.quota")
    );
    assert!(
        body["error"].get("status").is_none(),
        "quotaExceeded comes without status: {body}"
    );
    assert_eq!(fake.stats().await["quota_used"]["upload_calls"], 3);
    // Quota resets at midnight Pacific.
    fake.configure("advance_clock_secs: 86400").await;
    let token = fake.login(UPLOAD).await.access;
    fake.session(&token, 1000).await;

    // The channel's own daily cap.
    fake.configure("channel_upload_cap: 1\nquota_uploads_per_day: 100")
        .await;
    let (status, reason, domain, body) =
        api_error(fake.initiate(&token, 1000, &metadata("t", "private")).await).await;
    assert_eq!(
        (status, reason.as_str(), domain.as_str()),
        (400, "uploadLimitExceeded", "youtube.video")
    );
    assert_eq!(
        body["error"]["message"],
        "The user has exceeded the number of videos they may upload."
    );
}
