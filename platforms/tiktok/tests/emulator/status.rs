//! Status, inbox, knobs.

use super::*;

#[tokio::test]
async fn status_checks_ownership() {
    let fake = start().await;
    let t = fake.login().await;
    let (publish_id, _) = fake.start_post(&t.access, MIB, MIB).await;
    assert_api_error(
        &fake.status(&t.access, "v_pub_file~v2-1.1").await,
        StatusCode::BAD_REQUEST,
        "invalid_publish_id",
    );
    fake.knobs("browser_user: someone_else").await;
    let other = fake.login().await;
    let r = fake.status(&other.access, &publish_id).await;
    assert_api_error(
        &r,
        StatusCode::BAD_REQUEST,
        "token_not_authorized_for_specified_publish_id",
    );
    // The owner's refreshed token still may.
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .await;
    let st = fake
        .status(r.body["access_token"].as_str().unwrap(), &publish_id)
        .await;
    assert_eq!(st.code(), "ok");
}

#[tokio::test]
async fn inbox_flow_ends_at_send_to_user_inbox() {
    let fake = start().await;
    let t = fake.login().await;
    let source = json!({"source": "FILE_UPLOAD", "video_size": MIB, "chunk_size": MIB, "total_chunk_count": 1});
    let with_post_info =
        json!({"post_info": {"privacy_level": "SELF_ONLY"}, "source_info": source});
    let r = fake
        .api(
            "/v2/post/publish/inbox/video/init/",
            &t.access,
            with_post_info,
        )
        .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_params");
    let r = fake
        .api(
            "/v2/post/publish/inbox/video/init/",
            &t.access,
            json!({"source_info": source}),
        )
        .await;
    assert_eq!(r.code(), "ok", "{}", r.body);
    let publish_id = r.body["data"]["publish_id"].as_str().unwrap().to_string();
    assert!(publish_id.starts_with("v_inbox_file~"));
    let url = r.body["data"]["upload_url"].as_str().unwrap();
    assert_eq!(
        fake.put(url, &video(MIB), 0, MIB).await.unwrap().status(),
        StatusCode::CREATED
    );
    let mut last = Value::Null;
    for _ in 0..4 {
        last = fake.status(&t.access, &publish_id).await.body["data"]["status"].clone();
    }
    assert_eq!(last, "SEND_TO_USER_INBOX");
    assert_eq!(fake.stats().await["inbox_delivered"], 1);
}

#[tokio::test]
async fn knobs_are_validated() {
    let fake = start().await;
    let (status, text) = fake.configure("no_such_knob: true").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("no_such_knob"), "{text}");
    assert_eq!(
        fake.configure("error_http_status: 302").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        fake.configure("fail_chunk_with_5xx: [0]").await.0,
        StatusCode::BAD_REQUEST
    );
    // JSON is YAML too.
    assert_eq!(
        fake.configure(r#"{"polls_until_complete": 3, "fail_reason": null}"#)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn client_config_and_secret() {
    let emulator = TikTokEmulator::new();
    let yaml = emulator.client_config("http://127.0.0.1:9");
    let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(parsed["client_key"].as_str(), Some(CLIENT_KEY));
    assert_eq!(parsed["base_url"].as_str(), Some("http://127.0.0.1:9"));
    let keys: Vec<_> = parsed
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["enabled", "client_key", "privacy", "base_url"]);
    assert!(yaml.lines().all(|l| l.starts_with("    ")));
    assert_eq!(
        emulator.client_secret(),
        ("TIKTOK_CLIENT_SECRET", CLIENT_SECRET.to_string())
    );
    assert_eq!(emulator.platform_id(), "tiktok");
}

#[tokio::test]
async fn unaudited_user_cap_pending_drafts_and_pull_from_url() {
    let fake = start().await;
    fake.knobs("unaudited_user_cap: 1\npending_share_cap: 1")
        .await;
    let first = fake.login().await;
    fake.start_post(&first.access, MIB, MIB).await;
    // A second creator is one posting user too many for an unaudited client.
    fake.knobs("browser_user: second_creator").await;
    let second = fake.login().await;
    let info = fake.creator_info(&second.access).await;
    assert_api_error(&info, StatusCode::OK, "reached_active_user_cap");
    let r = fake.init(&second.access, "SELF_ONLY", MIB, MIB, 1).await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "reached_active_user_cap");
    // The first creator may go on posting.
    assert_eq!(fake.creator_info(&first.access).await.code(), "ok");

    let source = json!({"source": "FILE_UPLOAD", "video_size": MIB, "chunk_size": MIB, "total_chunk_count": 1});
    let inbox = "/v2/post/publish/inbox/video/init/";
    assert_eq!(
        fake.api(inbox, &first.access, json!({"source_info": source}))
            .await
            .code(),
        "ok"
    );
    let r = fake
        .api(inbox, &first.access, json!({"source_info": source}))
        .await;
    assert_api_error(
        &r,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_pending_share",
    );

    let pull = json!({
        "post_info": {"privacy_level": "SELF_ONLY", "brand_content_toggle": false},
        "source_info": {"source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4"},
    });
    let r = fake
        .api("/v2/post/publish/video/init/", &first.access, pull)
        .await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "url_ownership_unverified");
}

#[tokio::test]
async fn revoking_mid_upload_fails_the_post_with_auth_removed() {
    let fake = start().await;
    let t = fake.login().await;
    let (size, chunk) = (11 * MIB, 5 * MIB);
    let data = video(size);
    let (publish_id, url) = fake.start_post(&t.access, size, chunk).await;
    let first = fake
        .put(&url, &data[..chunk as usize], 0, size)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    let form = [
        ("client_key", CLIENT_KEY),
        ("client_secret", CLIENT_SECRET),
        ("token", t.access.as_str()),
    ];
    let resp = fake
        .http
        .post(fake.url("/v2/oauth/revoke/"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let rest = fake
        .put(&url, &data[chunk as usize..], chunk, size)
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::NOT_FOUND, "the task is gone");
    let again = fake.login().await;
    let st = fake.status(&again.access, &publish_id).await;
    assert_eq!(st.body["data"]["status"], "FAILED");
    assert_eq!(st.body["data"]["fail_reason"], "auth_removed");
}
