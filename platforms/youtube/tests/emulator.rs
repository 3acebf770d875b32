//! The YouTube emulator over HTTP, as a client sees it: Google's OAuth checks, the API's error
//! envelope and the resumable-upload protocol (shared/reference/youtube-api.md §9).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use keryx_core::emulator::{Emulator, Running, serve};
use keryx_youtube::emulator::{CHANNEL_TITLE, CLIENT_ID, CLIENT_SECRET, YouTubeEmulator};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CHUNK: usize = 262_144;
const UPLOAD: &str = "https://www.googleapis.com/auth/youtube.upload";
const READONLY: &str = "https://www.googleapis.com/auth/youtube.readonly";
const REDIRECT: &str = "http://127.0.0.1:4567/callback";
/// RFC 7636 appendix B (reference §1.3).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Fake {
    base: String,
    http: reqwest::Client,
    emulator: Arc<YouTubeEmulator>,
    running: Running,
}

fn client() -> reqwest::Client {
    // 308 is Google's "Resume Incomplete", not a redirect to follow (reference §3.4).
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start() -> Fake {
    start_with(YouTubeEmulator::new(), 0).await
}

async fn start_with(emulator: Arc<YouTubeEmulator>, port: u16) -> Fake {
    let mut tries = 0;
    let running = loop {
        match serve(vec![emulator.clone() as Arc<dyn Emulator>], port).await {
            Ok(running) => break running,
            // A restarted server may have to wait for the old listener to close.
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("serve: {e}"),
        }
    };
    Fake {
        base: running.base_url.clone(),
        http: client(),
        emulator,
        running,
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("Location")
        .to_str()
        .unwrap()
        .to_string()
}

fn range(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("range")
        .map(|v| v.to_str().unwrap().to_string())
}

/// The API error envelope of reference §5.3, checked and returned as (code, reason, domain).
async fn api_error(response: reqwest::Response) -> (u16, String, String, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error body");
    let error = &body["error"];
    assert_eq!(error["code"], status, "code repeats the status: {body}");
    assert!(error["message"].is_string(), "{body}");
    let item = &error["errors"][0];
    assert!(item["message"].is_string(), "{body}");
    (
        status,
        item["reason"].as_str().unwrap().to_string(),
        item["domain"].as_str().unwrap().to_string(),
        body.clone(),
    )
}

async fn oauth_error(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON OAuth error");
    let text = |key: &str| body[key].as_str().unwrap_or("").to_string();
    (status, text("error"), text("error_description"))
}

struct Tokens {
    access: String,
    refresh: Option<String>,
    reply: Value,
}

impl Fake {
    async fn configure(&self, yaml: &str) {
        let response = self
            .http
            .post(format!("{}/__emulator/youtube/configure", self.base))
            .body(yaml.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "knobs refused: {}",
            response.text().await.unwrap()
        );
    }

    async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/__emulator/youtube/stats", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(format!("{}/o/oauth2/v2/auth", self.base))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// Authorize with PKCE S256 and return the code from the redirect.
    async fn code(&self, scope: &str) -> String {
        let response = self
            .authorize(&[
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", scope),
                ("state", "s"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("access_type", "offline"),
                ("prompt", "consent"),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        param(&query_of(&location(&response)), "code").unwrap()
    }

    async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/token", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn exchange(&self, code: &str) -> reqwest::Response {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    async fn login(&self, scope: &str) -> Tokens {
        let code = self.code(scope).await;
        let response = self.exchange(&code).await;
        assert_eq!(response.status(), StatusCode::OK);
        let reply: Value = response.json().await.unwrap();
        Tokens {
            access: reply["access_token"].as_str().unwrap().to_string(),
            refresh: reply["refresh_token"].as_str().map(str::to_string),
            reply,
        }
    }

    async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await
    }

    async fn initiate(&self, token: &str, total: usize, metadata: &Value) -> reqwest::Response {
        self.http
            .post(format!(
                "{}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
                self.base
            ))
            .bearer_auth(token)
            .header("content-type", "application/json; charset=UTF-8")
            .header("x-upload-content-length", total.to_string())
            .header("x-upload-content-type", "video/mp4")
            .body(metadata.to_string())
            .send()
            .await
            .unwrap()
    }

    async fn session(&self, token: &str, total: usize) -> String {
        let response = self
            .initiate(token, total, &metadata("a video", "private"))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            response.text().await
        );
        location(&response)
    }

    async fn put(
        &self,
        uri: &str,
        token: &str,
        content_range: Option<String>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = self.http.put(uri).bearer_auth(token).body(body);
        if let Some(range) = content_range {
            request = request.header("content-range", range);
        }
        request.send().await.unwrap()
    }

    async fn chunk(
        &self,
        uri: &str,
        token: &str,
        data: &[u8],
        first: usize,
        len: usize,
    ) -> reqwest::Response {
        let range = format!("bytes {first}-{}/{}", first + len - 1, data.len());
        self.put(uri, token, Some(range), data[first..first + len].to_vec())
            .await
    }

    async fn status_query(&self, uri: &str, token: &str, total: usize) -> reqwest::Response {
        self.put(uri, token, Some(format!("bytes */{total}")), Vec::new())
            .await
    }
}

fn metadata(title: &str, privacy: &str) -> Value {
    json!({
        "snippet": { "title": title, "description": "made by keryx", "tags": ["keryx", "demo video"], "categoryId": "22" },
        "status": { "privacyStatus": privacy, "selfDeclaredMadeForKids": false },
    })
}

// ---------------------------------------------------------------- OAuth (reference §9.1-§9.3)

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

// ------------------------------------------------------ API auth and scopes (reference §9.4)

#[tokio::test]
async fn api_authentication_and_scopes() {
    let fake = start().await;
    let channels = format!(
        "{}/youtube/v3/channels?part=snippet,contentDetails&mine=true",
        fake.base
    );
    let (status, reason, domain, _) =
        api_error(fake.http.get(&channels).send().await.unwrap()).await;
    assert_eq!(
        (status, reason.as_str(), domain.as_str()),
        (401, "required", "global")
    );
    let response = fake
        .http
        .get(&channels)
        .bearer_auth("ya29.not-a-token")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (status, reason, _, body) = api_error(response).await;
    assert_eq!((status, reason.as_str()), (401, "authError"));
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["message"], "Invalid Credentials");

    // youtube.upload cannot list channels (reference fact 2)...
    let upload_only = fake.login(UPLOAD).await.access;
    let (status, reason, _, body) = api_error(
        fake.http
            .get(&channels)
            .bearer_auth(&upload_only)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, reason.as_str()), (403, "insufficientPermissions"));
    assert_eq!(
        body["error"]["message"],
        "Request had insufficient authentication scopes."
    );
    // ...and youtube.readonly cannot upload.
    let readonly = fake.login(READONLY).await.access;
    let (status, reason, _, _) = api_error(
        fake.initiate(&readonly, 1000, &metadata("t", "private"))
            .await,
    )
    .await;
    assert_eq!((status, reason.as_str()), (403, "insufficientPermissions"));

    let reply: Value = fake
        .http
        .get(&channels)
        .bearer_auth(&readonly)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = &reply["items"][0];
    assert!(channel["id"].as_str().unwrap().starts_with("UC"));
    assert_eq!(channel["snippet"]["title"], CHANNEL_TITLE);
    assert_eq!(channel["snippet"]["customUrl"], "@keryxdemo");
    assert!(
        channel["contentDetails"]["relatedPlaylists"]["uploads"]
            .as_str()
            .unwrap()
            .starts_with("UU")
    );
    // Exactly one filter.
    let none = format!("{}/youtube/v3/channels?part=snippet", fake.base);
    let (status, reason, _, _) = api_error(
        fake.http
            .get(&none)
            .bearer_auth(&readonly)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, reason.as_str()), (400, "invalidCriteria"));
    let two = format!(
        "{}/youtube/v3/channels?part=snippet&mine=true&forHandle=@keryxdemo",
        fake.base
    );
    assert_eq!(
        api_error(
            fake.http
                .get(&two)
                .bearer_auth(&readonly)
                .send()
                .await
                .unwrap()
        )
        .await
        .1,
        "invalidCriteria"
    );
    let no_part = format!("{}/youtube/v3/channels?mine=true", fake.base);
    assert_eq!(
        api_error(
            fake.http
                .get(&no_part)
                .bearer_auth(&readonly)
                .send()
                .await
                .unwrap()
        )
        .await
        .1,
        "required"
    );

    // An account without a channel.
    fake.configure("no_channel: true").await;
    let reply: Value = fake
        .http
        .get(&channels)
        .bearer_auth(&readonly)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["items"], json!([]));
    fake.configure("no_channel_reply: signup_required").await;
    let (status, reason, domain, _) = api_error(
        fake.http
            .get(&channels)
            .bearer_auth(&readonly)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, reason.as_str(), domain.as_str()),
        (401, "youtubeSignupRequired", "youtube.header")
    );
    let (status, reason, _, _) = api_error(
        fake.initiate(&upload_only, 1000, &metadata("t", "private"))
            .await,
    )
    .await;
    assert_eq!((status, reason.as_str()), (401, "youtubeSignupRequired"));

    // Access tokens really expire.
    fake.configure("no_channel: false\nadvance_clock_secs: 3599")
        .await;
    let (status, reason, _, _) = api_error(
        fake.http
            .get(&channels)
            .bearer_auth(&readonly)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, reason.as_str()), (401, "authError"));
}

// ------------------------------------------------------ session initiation (reference §9.5)

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

// ------------------------------------------------------ bytes (reference §9.6)

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

// ------------------------------------------------------ knobs and persistence

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
