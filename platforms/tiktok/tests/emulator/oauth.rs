//! Authorize and tokens.

use super::*;

#[tokio::test]
async fn pkce_test_vector_end_to_end() {
    let fake = start().await;
    let resp = fake.authorize(&[]).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    // `*` and `!` arrive percent-encoded, so a client must decode exactly once.
    assert!(
        location.contains("%2A") && location.contains("%21"),
        "{location}"
    );
    let query: Vec<(String, String)> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let code = param(&query, "code");
    assert!(
        code.contains('*') && code.contains('!') && code.contains('.'),
        "{code}"
    );
    assert_eq!(param(&query, "scopes"), ALL_SCOPES);
    assert_eq!(param(&query, "state"), "st-123");

    let r = fake.exchange(&code, VERIFIER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert!(b["access_token"].as_str().unwrap().starts_with("act."));
    assert!(b["refresh_token"].as_str().unwrap().starts_with("rft."));
    assert_eq!(b["expires_in"], 86_400);
    assert_eq!(b["refresh_expires_in"], 31_536_000);
    assert_eq!(b["scope"], ALL_SCOPES);
    assert_eq!(b["token_type"], "Bearer");
    let open_id = b["open_id"].as_str().unwrap().to_string();

    let info = reply(
        fake.http
            .get(fake.url("/v2/user/info/?fields=open_id,display_name"))
            .bearer_auth(b["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (info.status, info.code()),
        (StatusCode::OK, "ok"),
        "{}",
        info.body
    );
    assert_eq!(info.body["data"]["user"]["open_id"], open_id.as_str());
    let stats = fake.stats().await;
    assert_eq!(stats["authorizations"], 1);
    assert_eq!(stats["live_access_tokens"], 1);
    assert_eq!(stats["live_refresh_tokens"], 1);
}

#[tokio::test]
async fn base64url_challenge_passes_authorize_but_fails_at_token() {
    let fake = start().await;
    let query = fake.approve(&[("code_challenge", B64_CHALLENGE)]).await;
    let r = fake.exchange(&param(&query, "code"), VERIFIER).await;
    assert_oauth_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Code verifier or code challenge is invalid."),
    );
    // Uppercase hex is not TikTok's format either.
    let query = fake
        .approve(&[("code_challenge", &HEX_CHALLENGE.to_uppercase())])
        .await;
    let r = fake.exchange(&param(&query, "code"), VERIFIER).await;
    assert_oauth_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Code verifier or code challenge is invalid."),
    );
    // A verifier that does not hash to the challenge.
    let query = fake.approve(&[]).await;
    let r = fake.exchange(&param(&query, "code"), &"a".repeat(43)).await;
    assert_oauth_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Code verifier or code challenge is invalid."),
    );
}

#[tokio::test]
async fn codes_are_single_use() {
    let fake = start().await;
    let query = fake.approve(&[]).await;
    let code = param(&query, "code");
    assert_eq!(fake.exchange(&code, VERIFIER).await.status, StatusCode::OK);
    let again = fake.exchange(&code, VERIFIER).await;
    assert_oauth_error(&again, StatusCode::BAD_REQUEST, "invalid_grant", None);
    // A code that was never issued, and one past its lifetime.
    assert_oauth_error(
        &fake.exchange("nope*0!0000.u1", VERIFIER).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        None,
    );
    let query = fake.approve(&[]).await;
    fake.knobs("advance_clock_secs: 601").await;
    let late = fake.exchange(&param(&query, "code"), VERIFIER).await;
    assert_oauth_error(&late, StatusCode::BAD_REQUEST, "invalid_grant", None);
}

#[tokio::test]
async fn redirect_uri_rules() {
    let fake = start().await;
    // At token time the URI must repeat the authorize one exactly.
    let query = fake.approve(&[]).await;
    let r = fake
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &param(&query, "code")),
            ("redirect_uri", "http://127.0.0.1:53683/callback/"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_oauth_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some("Redirect_uri is not matched with the uri when requesting code."),
    );
    // localhost is registered too; any port matches the wildcard.
    let q = fake
        .approve(&[("redirect_uri", "http://localhost:40000/callback/")])
        .await;
    assert!(!param(&q, "code").is_empty());
    // Unregistered redirects and unknown keys stop on an HTML error page, no redirect.
    for overrides in [
        [("redirect_uri", "http://127.0.0.1:53682/callback")],
        [("redirect_uri", "http://127.0.0.1/callback/")],
        [("redirect_uri", "http://127.0.0.1:53682/callback/?x=1")],
        [("redirect_uri", "http://[::1]:53682/callback/")],
        [("client_key", "awwrongkey")],
    ] {
        let resp = fake.authorize(&overrides).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{overrides:?}");
        assert!(resp.headers().get(LOCATION).is_none());
        assert!(
            resp.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = resp.text().await.unwrap();
        assert!(page.contains("error_type"), "{page}");
    }
}

#[tokio::test]
async fn authorize_validates_its_parameters() {
    let fake = start().await;
    for (overrides, error) in [
        (
            vec![("scope", "user.info.basic video.publish")],
            "invalid_scope",
        ),
        (
            vec![("scope", "user.info.basic,video.list")],
            "invalid_scope",
        ),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("state", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
    ] {
        let query = fake.approve(&overrides).await;
        assert_eq!(param(&query, "error"), error, "{overrides:?}");
        assert!(!param(&query, "error_description").is_empty());
        assert!(param(&query, "code").is_empty());
    }
    assert_eq!(fake.stats().await["authorizations"], 0);
}

#[tokio::test]
async fn denial_modes() {
    let fake = start().await;
    fake.knobs("deny_authorization: true\nerror_type: user_cancel")
        .await;
    let q = fake.approve(&[]).await;
    assert_eq!(param(&q, "error"), "access_denied");
    assert_eq!(param(&q, "error_type"), "user_cancel");
    assert!(param(&q, "code").is_empty() && param(&q, "state").is_empty());
    fake.knobs("deny_authorization: false\nnon_sandbox_target: true\necho_state_on_error: true")
        .await;
    let q = fake.approve(&[]).await;
    assert_eq!(
        (
            param(&q, "error").as_str(),
            param(&q, "error_type").as_str()
        ),
        ("access_denied", "non_sandbox_target")
    );
    assert_eq!(param(&q, "state"), "st-123");
    // A partial grant: the user unticks video.publish, and posting needs it.
    fake.knobs("non_sandbox_target: false\nwithhold_scope: video.publish")
        .await;
    let q = fake.approve(&[]).await;
    assert_eq!(param(&q, "scopes"), "user.info.basic,video.upload");
    let r = fake.exchange(&param(&q, "code"), VERIFIER).await;
    assert_eq!(r.body["scope"], "user.info.basic,video.upload");
    let info = fake
        .creator_info(r.body["access_token"].as_str().unwrap())
        .await;
    assert_api_error(&info, StatusCode::UNAUTHORIZED, "scope_not_authorized");
}

#[tokio::test]
async fn client_authentication_and_error_status_knob() {
    let fake = start().await;
    let query = fake.approve(&[]).await;
    let code = param(&query, "code");
    let r = fake
        .token(&[
            ("client_secret", "wrong"),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_client", None);
    // TikTok's error status is undocumented; with 200 the body alone says it failed.
    fake.knobs("error_http_status: 200").await;
    let r = fake
        .token(&[
            ("client_key", "awother"),
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
        ])
        .await;
    assert_oauth_error(&r, StatusCode::OK, "invalid_client", None);
    let r = fake.token(&[("grant_type", "password")]).await;
    assert_oauth_error(&r, StatusCode::OK, "unsupported_grant_type", None);
    // The body must be form-encoded.
    let resp = fake
        .http
        .post(fake.url("/v2/oauth/token/"))
        .json(&json!({"client_key": CLIENT_KEY, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(
        &reply(resp).await,
        StatusCode::OK,
        "invalid_request",
        Some("The request parameters are malformed."),
    );
}

#[tokio::test]
async fn refresh_rotates_and_kills_the_old_tokens() {
    let fake = start().await;
    let t = fake.login().await;
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new_refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    let new_access = r.body["access_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, t.refresh);
    assert_eq!(r.body["scope"], ALL_SCOPES);
    // The old refresh token dies at once; the old access token too.
    let again = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .await;
    assert_oauth_error(&again, StatusCode::BAD_REQUEST, "invalid_grant", None);
    assert_api_error(
        &fake.creator_info(&t.access).await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    assert_eq!(fake.creator_info(&new_access).await.code(), "ok");
    let stats = fake.stats().await;
    assert_eq!(
        (
            stats["live_refresh_tokens"].as_u64(),
            stats["live_access_tokens"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(stats["refresh_requests"], 2);

    // Grace period: the rotated-out token works for a while, then not.
    fake.knobs("refresh_grace_secs: 30").await;
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &new_refresh),
        ])
        .await;
    let newest = r.body["refresh_token"].as_str().unwrap().to_string();
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &new_refresh),
        ])
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "inside the grace period: {}",
        r.body
    );
    fake.knobs("advance_clock_secs: 31").await;
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &new_refresh),
        ])
        .await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_grant", None);
    assert_eq!(
        fake.token(&[("grant_type", "refresh_token"), ("refresh_token", &newest)])
            .await
            .status,
        StatusCode::OK
    );

    // No rotation: the same token comes back.
    fake.knobs("rotate_refresh_tokens: false\nrefresh_grace_secs: 0")
        .await;
    let t2 = fake.login().await;
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t2.refresh),
        ])
        .await;
    assert_eq!(r.body["refresh_token"], t2.refresh.as_str());
}

#[tokio::test]
async fn fake_clock_expires_tokens() {
    let fake = start().await;
    let t = fake.login().await;
    fake.knobs("advance_clock_secs: 86400").await;
    assert_api_error(
        &fake.creator_info(&t.access).await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The 365-day window counts from first issuance, refreshes do not restart it.
    let left = r.body["refresh_expires_in"].as_u64().unwrap();
    assert!((31_449_000..=31_449_600).contains(&left), "{left}");
    let refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    fake.knobs("advance_clock_secs: 31449600").await;
    let r = fake
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_grant", None);
    assert_eq!(fake.stats().await["live_refresh_tokens"], 0);
}

#[tokio::test]
async fn revoke_ends_the_grant() {
    let fake = start().await;
    let t = fake.login().await;
    let form = [
        ("client_key", CLIENT_KEY),
        ("client_secret", CLIENT_SECRET),
        ("token", t.refresh.as_str()),
    ];
    let r = reply(
        fake.http
            .post(fake.url("/v2/oauth/revoke/"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_request", None);
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
    assert!(resp.text().await.unwrap().is_empty());
    assert_api_error(
        &fake.creator_info(&t.access).await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_grant", None);
    let stats = fake.stats().await;
    assert_eq!(
        (
            stats["live_access_tokens"].as_u64(),
            stats["revocations"].as_u64()
        ),
        (Some(0), Some(1))
    );
}

#[tokio::test]
async fn token_endpoint_5xx_once() {
    let fake = start().await;
    let t = fake.login().await;
    fake.knobs("token_5xx_once: true").await;
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .await;
    assert_oauth_error(
        &r,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        None,
    );
    let r = fake
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t.refresh),
        ])
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the fault is one-shot and the token survives it: {}",
        r.body
    );
}
