//! The TikTok emulator over real HTTP: every rule of the reference's "What a faithful fake server
//! must enforce" that a client can trip over, with TikTok's error shapes.

use std::sync::Arc;
use std::time::Duration;

use keryx_core::emulator::{Emulator, Running, serve};
use keryx_tiktok::emulator::{CLIENT_KEY, CLIENT_SECRET, TikTokEmulator};
use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The test vector of reference §1.1 (from TikTok's Android SDK).
const VERIFIER: &str = "gaeCq5mVvbhA8Ce6w5O9XBVIKMkySgv-_9A-rnhm9Ns";
const HEX_CHALLENGE: &str = "e6a178b120743d08509508f269652b0bdf91e29332921bc9e9744fd3dd41bfef";
const B64_CHALLENGE: &str = "5qF4sSB0PQhQlQjyaWUrC9-R4pMykhvJ6XRP091Bv-8";
const REDIRECT: &str = "http://127.0.0.1:53682/callback/";
const ALL_SCOPES: &str = "user.info.basic,video.publish,video.upload";
const JSON_UTF8: &str = "application/json; charset=UTF-8";
const MIB: u64 = 1024 * 1024;

struct Fake {
    running: Running,
    http: reqwest::Client,
}

struct Tokens {
    access: String,
    refresh: String,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

async fn start() -> Fake {
    let emulator: Arc<dyn Emulator> = TikTokEmulator::new();
    let running = serve(vec![emulator], 0).await.expect("serve");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Fake { running, http }
}

fn video(size: u64) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

impl Fake {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    async fn configure(&self, knobs: &str) -> (StatusCode, String) {
        let resp = self
            .http
            .post(self.url("/__emulator/tiktok/configure"))
            .body(knobs.to_string())
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    async fn knobs(&self, knobs: &str) {
        let (status, text) = self.configure(knobs).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }

    async fn stats(&self) -> Value {
        self.http
            .get(self.url("/__emulator/tiktok/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn authorize(&self, overrides: &[(&str, &str)]) -> reqwest::Response {
        let mut params: Vec<(&str, &str)> = vec![
            ("client_key", CLIENT_KEY),
            ("response_type", "code"),
            ("scope", ALL_SCOPES),
            ("redirect_uri", REDIRECT),
            ("state", "st-123"),
            ("code_challenge", HEX_CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in overrides {
            params.retain(|(n, _)| n != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        let url = url::Url::parse_with_params(&self.url("/v2/auth/authorize/"), &params).unwrap();
        self.http.get(url).send().await.unwrap()
    }

    /// The redirect's query, decoded once.
    async fn approve(&self, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let resp = self.authorize(overrides).await;
        assert_eq!(
            resp.status(),
            StatusCode::FOUND,
            "{}",
            resp.text().await.unwrap()
        );
        let location = resp.headers()[LOCATION].to_str().unwrap().to_string();
        url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }

    async fn token(&self, form: &[(&str, &str)]) -> Reply {
        let mut full: Vec<(&str, &str)> =
            vec![("client_key", CLIENT_KEY), ("client_secret", CLIENT_SECRET)];
        for (k, v) in form {
            full.retain(|(n, _)| n != k);
            full.push((k, v));
        }
        reply(
            self.http
                .post(self.url("/v2/oauth/token/"))
                .form(&full)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn exchange(&self, code: &str, verifier: &str) -> Reply {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .await
    }

    async fn login(&self) -> Tokens {
        let query = self.approve(&[]).await;
        let code = param(&query, "code");
        let r = self.exchange(&code, VERIFIER).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        Tokens {
            access: r.body["access_token"].as_str().unwrap().to_string(),
            refresh: r.body["refresh_token"].as_str().unwrap().to_string(),
        }
    }

    async fn api(&self, path: &str, token: &str, body: Value) -> Reply {
        let req = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header(CONTENT_TYPE, JSON_UTF8)
            .body(body.to_string());
        reply(req.send().await.unwrap()).await
    }

    async fn creator_info(&self, token: &str) -> Reply {
        self.api("/v2/post/publish/creator_info/query/", token, json!({}))
            .await
    }

    async fn init(&self, token: &str, privacy: &str, size: u64, chunk: u64, count: u64) -> Reply {
        let body = json!({
            "post_info": {
                "title": "a #test",
                "privacy_level": privacy,
                "disable_comment": false,
                "disable_duet": false,
                "disable_stitch": false,
                "brand_content_toggle": false,
                "brand_organic_toggle": false,
            },
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count},
        });
        self.api("/v2/post/publish/video/init/", token, body).await
    }

    /// creator_info then a SELF_ONLY init; returns (publish_id, upload_url).
    async fn start_post(&self, token: &str, size: u64, chunk: u64) -> (String, String) {
        let info = self.creator_info(token).await;
        assert_eq!(info.code(), "ok", "{}", info.body);
        let r = self
            .init(token, "SELF_ONLY", size, chunk, size / chunk)
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::OK, "ok"), "{}", r.body);
        let data = &r.body["data"];
        (
            data["publish_id"].as_str().unwrap().to_string(),
            data["upload_url"].as_str().unwrap().to_string(),
        )
    }

    async fn put(
        &self,
        url: &str,
        data: &[u8],
        first: u64,
        total: u64,
    ) -> reqwest::Result<reqwest::Response> {
        let last = first + data.len() as u64 - 1;
        self.http
            .put(url)
            .header(CONTENT_TYPE, "video/mp4")
            .header(CONTENT_RANGE, format!("bytes {first}-{last}/{total}"))
            .body(data.to_vec())
            .send()
            .await
    }

    async fn status(&self, token: &str, publish_id: &str) -> Reply {
        self.api(
            "/v2/post/publish/status/fetch/",
            token,
            json!({"publish_id": publish_id}),
        )
        .await
    }

    /// Sends raw bytes over TCP and returns the raw response (for what reqwest will not send).
    async fn raw(&self, request: &[u8], half_close: bool) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.running.addr)
            .await
            .unwrap();
        stream.write_all(request).await.unwrap();
        if half_close {
            stream.shutdown().await.unwrap();
        }
        let mut out = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "no response within 10 s");
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn param(query: &[(String, String)], name: &str) -> String {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn assert_oauth_error(r: &Reply, status: StatusCode, error: &str, description: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], error, "{}", r.body);
    if let Some(d) = description {
        assert_eq!(r.body["error_description"], d);
    }
    assert!(
        r.body["log_id"].as_str().is_some_and(|l| l.len() >= 20),
        "flat OAuth errors carry log_id: {}",
        r.body
    );
    assert!(
        r.body.get("data").is_none(),
        "OAuth errors are flat: {}",
        r.body
    );
}

fn assert_api_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.code(), code, "{}", r.body);
    assert!(r.body["error"]["message"].is_string());
    assert!(
        r.body["error"]["log_id"]
            .as_str()
            .is_some_and(|l| !l.is_empty())
    );
}

// ---------------------------------------------------------------- authorize and tokens

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

// ---------------------------------------------------------------- v2 API

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

// ---------------------------------------------------------------- upload

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

// ---------------------------------------------------------------- status, inbox, knobs

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
