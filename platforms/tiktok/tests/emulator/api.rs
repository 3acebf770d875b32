//! V2 API.

use super::*;

#[tokio::test]
async fn every_api_call_checks_token_type_and_scope() {
    let fake = start().await;
    let t = fake.login().await;
    let no_token = reply(
        fake.http
            .post(fake.url("/v2/post/publish/creator_info/query/"))
            .header(CONTENT_TYPE, JSON_UTF8)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_api_error(&no_token, StatusCode::UNAUTHORIZED, "access_token_invalid");
    assert_api_error(
        &fake.creator_info("act.unknown").await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    // Content-Type must be application/json; charset=UTF-8.
    let plain = reply(
        fake.http
            .post(fake.url("/v2/post/publish/creator_info/query/"))
            .bearer_auth(&t.access)
            .header(CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_api_error(&plain, StatusCode::BAD_REQUEST, "invalid_params");
    // creator_info without a body is what the docs send.
    let empty = reply(
        fake.http
            .post(fake.url("/v2/post/publish/creator_info/query/"))
            .bearer_auth(&t.access)
            .header(CONTENT_TYPE, JSON_UTF8)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(empty.code(), "ok", "{}", empty.body);
    // user/info: fields are required and limited to the granted scopes.
    let get = |q: &'static str| {
        fake.http
            .get(fake.url(&format!("/v2/user/info/{q}")))
            .bearer_auth(&t.access)
            .send()
    };
    assert_api_error(
        &reply(get("").await.unwrap()).await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    assert_api_error(
        &reply(get("?fields=username").await.unwrap()).await,
        StatusCode::BAD_REQUEST,
        "scope_permission_missed",
    );
    // Paths end with a slash.
    let resp = fake
        .http
        .post(fake.url("/v2/post/publish/creator_info/query"))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn creator_info_reports_account_and_caps_with_http_200() {
    let fake = start().await;
    let t = fake.login().await;
    let info = fake.creator_info(&t.access).await;
    let d = &info.body["data"];
    assert_eq!(
        d["privacy_level_options"],
        json!(["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );
    assert_eq!(
        (d["duet_disabled"].as_bool(), d["stitch_disabled"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(d["max_video_post_duration_sec"], 300);
    assert!(d["creator_nickname"].is_string() && d["creator_username"].is_string());
    fake.knobs("account_private: false\nmax_video_post_duration_sec: 600\ncomment_disabled: true")
        .await;
    let d = fake.creator_info(&t.access).await.body["data"].clone();
    assert_eq!(
        d["privacy_level_options"],
        json!(["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );
    assert_eq!(
        (
            d["comment_disabled"].as_bool(),
            d["duet_disabled"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(d["max_video_post_duration_sec"], 600);

    fake.knobs("account_private: true\ncreator_cannot_post: spam_risk_too_many_posts")
        .await;
    let capped = fake.creator_info(&t.access).await;
    assert_api_error(&capped, StatusCode::OK, "spam_risk_too_many_posts");
    let r = fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "spam_risk_too_many_posts");
    fake.knobs("creator_cannot_post: null").await;
    assert_eq!(fake.creator_info(&t.access).await.code(), "ok");
}

#[tokio::test]
async fn init_checks_privacy_against_creator_info() {
    let fake = start().await;
    fake.knobs("rate_limits: {video_init: 100}").await;
    let t = fake.login().await;
    // No creator_info yet: nothing to match.
    let r = fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "privacy_level_option_mismatch");
    fake.creator_info(&t.access).await;
    // A private account does not offer PUBLIC_TO_EVERYONE.
    let r = fake
        .init(&t.access, "PUBLIC_TO_EVERYONE", MIB, MIB, 1)
        .await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "privacy_level_option_mismatch");
    // Unaudited: offered but not SELF_ONLY is still refused.
    let r = fake
        .init(&t.access, "FOLLOWER_OF_CREATOR", MIB, MIB, 1)
        .await;
    assert_api_error(
        &r,
        StatusCode::FORBIDDEN,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    // Unaudited with a public account: refused even for SELF_ONLY.
    fake.knobs("account_private: false").await;
    fake.creator_info(&t.access).await;
    let r = fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await;
    assert_api_error(
        &r,
        StatusCode::FORBIDDEN,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    // Branded content cannot be private.
    fake.knobs("account_private: true").await;
    fake.creator_info(&t.access).await;
    let body = json!({
        "post_info": {"privacy_level": "SELF_ONLY", "brand_content_toggle": true},
        "source_info": {"source": "FILE_UPLOAD", "video_size": MIB, "chunk_size": MIB, "total_chunk_count": 1},
    });
    let r = fake
        .api("/v2/post/publish/video/init/", &t.access, body)
        .await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "privacy_level_option_mismatch");
    // A typo'd field is refused rather than silently ignored.
    let body = json!({
        "post_info": {"privacy_level": "SELF_ONLY", "brand_content_toggle": false, "disable_comments": true},
        "source_info": {"source": "FILE_UPLOAD", "video_size": MIB, "chunk_size": MIB, "total_chunk_count": 1},
    });
    let r = fake
        .api("/v2/post/publish/video/init/", &t.access, body)
        .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_params");
    // The title limit is in UTF-16 code units: 1,100 emoji are 2,200 units, one more is too many.
    for (n, ok) in [(1100, true), (1101, false)] {
        let body = json!({
            "post_info": {"privacy_level": "SELF_ONLY", "brand_content_toggle": false, "title": "😀".repeat(n)},
            "source_info": {"source": "FILE_UPLOAD", "video_size": MIB, "chunk_size": MIB, "total_chunk_count": 1},
        });
        let r = fake
            .api("/v2/post/publish/video/init/", &t.access, body)
            .await;
        assert_eq!(r.code() == "ok", ok, "{}", r.body);
    }
}

#[tokio::test]
async fn chunk_count_is_floor_not_ceil() {
    let fake = start().await;
    let t = fake.login().await;
    fake.creator_info(&t.access).await;
    let size = 11 * MIB;
    let chunk = 5 * MIB;
    let ceil = fake.init(&t.access, "SELF_ONLY", size, chunk, 3).await;
    assert_api_error(&ceil, StatusCode::BAD_REQUEST, "invalid_params");
    assert_eq!(
        ceil.body["error"]["message"],
        "The total chunk count is invalid"
    );
    let floor = fake.init(&t.access, "SELF_ONLY", size, chunk, 2).await;
    assert_eq!(floor.code(), "ok", "{}", floor.body);
    let data = &floor.body["data"];
    assert!(
        data["publish_id"]
            .as_str()
            .unwrap()
            .starts_with("v_pub_file~")
    );
    assert!(
        data["upload_url"]
            .as_str()
            .unwrap()
            .starts_with(&fake.url("/video/?upload_id="))
    );
    // Chunks under 5 MiB, several chunks for a small file, and 4 GB are refused.
    let small = fake
        .init(&t.access, "SELF_ONLY", 12_000_000, 5_000_000, 2)
        .await;
    assert_eq!(small.body["error"]["message"], "The chunk size is invalid");
    let split = fake.init(&t.access, "SELF_ONLY", 3 * MIB, MIB, 3).await;
    assert_eq!(split.body["error"]["message"], "The chunk size is invalid");
    let huge = fake
        .init(&t.access, "SELF_ONLY", 4_000_000_001, 64_000_000, 62)
        .await;
    assert_api_error(&huge, StatusCode::BAD_REQUEST, "invalid_params");
    let negative = fake.init(&t.access, "SELF_ONLY", MIB, 0, 1).await;
    assert_api_error(&negative, StatusCode::BAD_REQUEST, "invalid_params");
}

#[tokio::test]
async fn init_rate_limit_and_one_shot_429() {
    let fake = start().await;
    let t = fake.login().await;
    fake.creator_info(&t.access).await;
    fake.knobs("rate_limit_init_once: true").await;
    let r = fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await;
    assert_api_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded");
    assert_eq!(r.headers[RETRY_AFTER], "1");
    // 6 per minute per token; the one-shot above counted as one.
    for _ in 0..5 {
        assert_eq!(
            fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await.code(),
            "ok"
        );
    }
    let r = fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await;
    assert_api_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded");
    let wait: u64 = r.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // The window slides on the fake clock.
    fake.knobs("advance_clock_secs: 60").await;
    assert_eq!(
        fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await.code(),
        "ok"
    );
}

#[tokio::test]
async fn creator_info_rate_limit() {
    let fake = start().await;
    let t = fake.login().await;
    for _ in 0..20 {
        assert_eq!(fake.creator_info(&t.access).await.code(), "ok");
    }
    assert_api_error(
        &fake.creator_info(&t.access).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
    );
    fake.knobs("rate_limits: {creator_info: 30}").await;
    assert_eq!(fake.creator_info(&t.access).await.code(), "ok");
    assert!(fake.stats().await["rate_limited"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn daily_post_cap() {
    let fake = start().await;
    let t = fake.login().await;
    fake.knobs("daily_post_cap: 1").await;
    fake.start_post(&t.access, MIB, MIB).await;
    assert_api_error(
        &fake.creator_info(&t.access).await,
        StatusCode::OK,
        "spam_risk_too_many_posts",
    );
    let r = fake.init(&t.access, "SELF_ONLY", MIB, MIB, 1).await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "spam_risk_too_many_posts");
    fake.knobs("advance_clock_secs: 86400").await;
    let t = fake.login().await;
    assert_eq!(fake.creator_info(&t.access).await.code(), "ok");
}
