//! The TikTok emulator over real HTTP: every rule of the reference's "What a faithful fake server
//! must enforce" that a client can trip over, with TikTok's error shapes.

mod api;
mod oauth;
mod status;
mod upload;

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
