//! The YouTube emulator over HTTP, as a client sees it: Google's OAuth checks, the API's error
//! envelope and the resumable-upload protocol (shared/reference/youtube-api.md §9).

mod api_auth;
mod bytes;
mod knobs;
mod oauth;
mod sessions;
mod users;

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
