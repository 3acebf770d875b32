//! OAuth (reference §9.1-§9.3).

use super::*;

#[tokio::test]
async fn rfc7636_vector_through_authorize_and_token() {
    let fake = start().await;
    let state = "opaque/state +=&x";
    let scope = format!("{UPLOAD} {READONLY}");
    let response = fake
        .authorize(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", &scope),
            ("state", state),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("access_type", "offline"),
            ("prompt", "consent"),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert!(target.starts_with(&format!("{REDIRECT}?")), "{target}");
    let raw_query = target.split_once('?').unwrap().1;
    assert!(
        raw_query.contains("code=4%2F0A"),
        "the code's `/` arrives encoded: {raw_query}"
    );
    let pairs = query_of(&target);
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["state", "code", "scope", "authuser", "prompt"]);
    assert_eq!(
        param(&pairs, "state").unwrap(),
        state,
        "state is echoed byte for byte"
    );
    assert_eq!(param(&pairs, "scope").unwrap(), scope);
    assert_eq!(param(&pairs, "authuser").unwrap(), "0");
    assert_eq!(param(&pairs, "prompt").unwrap(), "consent");
    let code = param(&pairs, "code").unwrap();
    assert!(code.starts_with("4/0A") && code.len() <= 256);

    let response = fake.exchange(&code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    let reply: Value = response.json().await.unwrap();
    assert!(reply["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(reply["expires_in"], 3599);
    assert_eq!(reply["token_type"], "Bearer");
    assert_eq!(reply["scope"], scope.as_str());
    assert!(reply["refresh_token"].as_str().unwrap().starts_with("1//"));
    assert!(
        reply.get("refresh_token_expires_in").is_none(),
        "not in Testing mode: {reply}"
    );

    // The vector itself: the challenge is BASE64URL(SHA256(verifier)).
    assert_eq!(
        URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes())),
        CHALLENGE
    );
    let stats = fake.stats().await;
    assert_eq!(stats["live_refresh_tokens"], 1);
    assert_eq!(stats["token_requests"], 1);
}

#[tokio::test]
async fn authorize_refuses_bad_requests_on_its_own_page() {
    let fake = start().await;
    let good = [
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", UPLOAD),
        ("state", "s"),
    ];
    let with = |key: &'static str, value: &'static str| {
        let mut params: Vec<(&str, &str)> =
            good.iter().filter(|(k, _)| *k != key).copied().collect();
        params.push((key, value));
        params
    };
    for (params, error) in [
        (
            with("client_id", "999-other.apps.googleusercontent.com"),
            "invalid_client",
        ),
        (
            with("redirect_uri", "https://127.0.0.1:4567/"),
            "redirect_uri_mismatch",
        ),
        (
            with("redirect_uri", "http://example.com/callback"),
            "redirect_uri_mismatch",
        ),
        (
            with("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
            "invalid_request",
        ),
        (with("response_type", "token"), "unsupported_response_type"),
        (
            with("scope", "https://www.googleapis.com/auth/drive"),
            "invalid_scope",
        ),
        (with("scope", ""), "invalid_request"),
        (with("code_challenge", "tooshort"), "invalid_request"),
        (with("prompt", "none consent"), "invalid_request"),
        (with("prompt", "login"), "invalid_request"),
    ] {
        let response = fake.authorize(&params).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
        assert!(
            response.headers().get("location").is_none(),
            "an error page never redirects"
        );
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!("<span id=\"error\">{error}</span>")),
            "{params:?}: {page}"
        );
    }
    // S256 challenges are 43 base64url characters without padding.
    let mut params = good.to_vec();
    params.push((
        "code_challenge",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=",
    ));
    params.push(("code_challenge_method", "S256"));
    assert_eq!(
        fake.authorize(&params).await.status(),
        StatusCode::BAD_REQUEST
    );

    // The user declines: back to the app with access_denied and the state.
    fake.configure("deny_authorization: true").await;
    let response = fake.authorize(&good).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let pairs = query_of(&location(&response));
    assert_eq!(param(&pairs, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&pairs, "state").as_deref(), Some("s"));
    assert_eq!(param(&pairs, "code"), None);
}

#[tokio::test]
async fn token_endpoint_requires_the_client_secret() {
    let fake = start().await;
    let code = fake.code(UPLOAD).await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, error, description) = oauth_error(fake.token(&base).await).await;
    assert_eq!(
        (status, error.as_str(), description.as_str()),
        (400, "invalid_request", "client_secret is missing.")
    );
    let mut wrong = base.to_vec();
    wrong.push(("client_secret", "GOCSPX-wrong"));
    let (status, error, _) = oauth_error(fake.token(&wrong).await).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    let mut other_client = base.to_vec();
    other_client[2] = ("client_id", "42-x.apps.googleusercontent.com");
    other_client.push(("client_secret", CLIENT_SECRET));
    let (status, error, description) = oauth_error(fake.token(&other_client).await).await;
    assert_eq!(
        (status, error.as_str(), description.as_str()),
        (401, "invalid_client", "The OAuth client was not found.")
    );
    // JSON is not the documented encoding.
    let response = fake
        .http
        .post(format!("{}/token", fake.base))
        .json(&json!({"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(response).await.1, "invalid_request");
    // Unknown grant types.
    let (status, error, _) = oauth_error(
        fake.token(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await,
    )
    .await;
    assert_eq!((status, error.as_str()), (400, "unsupported_grant_type"));
    // Nothing spent the code: it still works.
    assert_eq!(fake.exchange(&code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn code_verifier_rules_and_single_use_codes() {
    let fake = start().await;
    let code = fake.code(UPLOAD).await;
    let exchange = |code: String, verifier: Option<&'static str>, redirect: &'static str| {
        let fake = &fake;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code".to_string()),
                ("code", code),
                ("client_id", CLIENT_ID.to_string()),
                ("client_secret", CLIENT_SECRET.to_string()),
                ("redirect_uri", redirect.to_string()),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v.to_string()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            oauth_error(fake.token(&form).await).await
        }
    };
    assert_eq!(
        exchange(code.clone(), None, REDIRECT).await.2,
        "Missing code verifier."
    );
    let wrong = "aBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert_eq!(
        exchange(code.clone(), Some(wrong), REDIRECT).await.2,
        "Invalid code verifier."
    );
    // redirect_uri must repeat the authorize request's value byte for byte.
    let (status, error, _) = exchange(
        code.clone(),
        Some(VERIFIER),
        "http://127.0.0.1:4567/callback/",
    )
    .await;
    assert_eq!((status, error.as_str()), (400, "redirect_uri_mismatch"));
    // A code that was never percent-decoded is "malformed".
    let encoded = code.replace('/', "%2F");
    assert_eq!(
        exchange(encoded, Some(VERIFIER), REDIRECT).await.2,
        "Malformed auth code."
    );

    assert_eq!(fake.exchange(&code).await.status(), StatusCode::OK);
    let (status, error, description) = oauth_error(fake.exchange(&code).await).await;
    assert_eq!(
        (status, error.as_str(), description.as_str()),
        (400, "invalid_grant", "Bad Request"),
        "codes are single-use"
    );

    // No challenge at authorize time: a verifier is an error.
    let response = fake
        .authorize(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", UPLOAD),
        ])
        .await;
    let plain_code = param(&query_of(&location(&response)), "code").unwrap();
    assert_eq!(
        exchange(plain_code.clone(), Some(VERIFIER), REDIRECT)
            .await
            .2,
        "code_verifier or verifier is not needed."
    );
    let (status, _, _) = exchange(plain_code, None, REDIRECT).await;
    assert_eq!(status, 200);

    // Codes expire.
    let code = fake.code(UPLOAD).await;
    fake.configure("advance_clock_secs: 601").await;
    assert_eq!(
        oauth_error(fake.exchange(&code).await).await.2,
        "Bad Request"
    );
}

#[tokio::test]
async fn refresh_rotation_testing_mode_and_revoke() {
    let fake = start().await;
    let tokens = fake.login(UPLOAD).await;
    let refresh_token = tokens.refresh.clone().unwrap();
    let response = fake.refresh(&refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["expires_in"], 3599);
    assert!(
        reply.get("refresh_token").is_none(),
        "no rotation by default: {reply}"
    );
    assert_eq!(fake.stats().await["refresh_requests"], 1);

    fake.configure("rotate_refresh_tokens: true").await;
    let reply: Value = fake.refresh(&refresh_token).await.json().await.unwrap();
    let rotated = reply["refresh_token"].as_str().unwrap().to_string();
    let (_, error, description) = oauth_error(fake.refresh(&refresh_token).await).await;
    assert_eq!(
        (error.as_str(), description.as_str()),
        ("invalid_grant", "Token has been expired or revoked.")
    );

    // Revoking an access token kills its refresh token too (reference §2.5).
    let access = reply["access_token"].as_str().unwrap().to_string();
    let revoke = |token: String| {
        let fake = &fake;
        async move {
            fake.http
                .post(format!("{}/revoke", fake.base))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(revoke(access.clone()).await.status(), StatusCode::OK);
    assert_eq!(
        oauth_error(fake.refresh(&rotated).await).await.1,
        "invalid_grant"
    );
    let (status, error, description) = oauth_error(revoke(access).await).await;
    assert_eq!(
        (status, error.as_str(), description.as_str()),
        (400, "invalid_token", "Token expired or revoked")
    );

    // Testing mode: 7-day refresh tokens on the fake clock.
    fake.configure("testing_mode: true\nrotate_refresh_tokens: false")
        .await;
    let tokens = fake.login(UPLOAD).await;
    assert_eq!(tokens.reply["refresh_token_expires_in"], 604_799);
    let refresh_token = tokens.refresh.unwrap();
    fake.configure("advance_clock_secs: 604000").await;
    assert_eq!(fake.refresh(&refresh_token).await.status(), StatusCode::OK);
    fake.configure("advance_clock_secs: 800").await;
    assert_eq!(
        oauth_error(fake.refresh(&refresh_token).await).await.2,
        "Token has been expired or revoked."
    );
}

#[tokio::test]
async fn the_101st_refresh_token_kills_the_oldest() {
    let fake = start().await;
    fake.configure("max_refresh_tokens: 3").await;
    let first = fake.login(UPLOAD).await.refresh.unwrap();
    for _ in 0..3 {
        fake.login(UPLOAD).await;
    }
    assert_eq!(fake.stats().await["live_refresh_tokens"], 3);
    assert_eq!(
        oauth_error(fake.refresh(&first).await).await.1,
        "invalid_grant"
    );
}
