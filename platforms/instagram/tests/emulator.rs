//! The emulator over HTTP: each strict rule and knob with plain requests, mistakes included.

use keryx_core::Emulator;
use keryx_instagram::emulator::{APP_ID, APP_SECRET, FIRST_IG_USER, InstagramEmulator};
use serde_json::Value;

struct Meta {
    base: String,
    http: reqwest::Client,
    emulator: std::sync::Arc<InstagramEmulator>,
    _running: keryx_core::emulator::Running,
}

const REDIRECT: &str = "http://localhost:53682/callback";

impl Meta {
    async fn start() -> Meta {
        let emulator = InstagramEmulator::new();
        let running = keryx_core::emulator::serve(vec![emulator.clone()], 0)
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Meta {
            base: running.base_url.clone(),
            http,
            emulator,
            _running: running,
        }
    }

    fn graph(&self, path: &str) -> String {
        format!("{}/graph.facebook.com/v25.0{path}", self.base)
    }

    async fn dialog(&self, pairs: &[(&str, &str)]) -> reqwest::Response {
        let url = format!("{}/www.facebook.com/v25.0/dialog/oauth", self.base);
        self.http.get(url).query(pairs).send().await.unwrap()
    }

    /// A code for the default scopes.
    async fn code(&self) -> String {
        let reply = self
            .dialog(&[("client_id", APP_ID), ("redirect_uri", REDIRECT), ("state", "s"), ("response_type", "code"), ("scope", "instagram_basic,instagram_content_publish,pages_read_engagement,pages_show_list")])
            .await;
        assert_eq!(reply.status(), 302);
        let location = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    async fn token_call(&self, pairs: &[(&str, &str)]) -> (u16, Value) {
        let reply = self
            .http
            .post(self.graph("/oauth/access_token"))
            .query(pairs)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }

    /// A long-lived user token and the first Page's token.
    async fn tokens(&self) -> (String, String) {
        let code = self.code().await;
        let (status, short) = self
            .token_call(&[
                ("client_id", APP_ID),
                ("client_secret", APP_SECRET),
                ("redirect_uri", REDIRECT),
                ("code", &code),
            ])
            .await;
        assert_eq!(status, 200, "{short}");
        let (_, long) = self
            .token_call(&[
                ("grant_type", "fb_exchange_token"),
                ("client_id", APP_ID),
                ("client_secret", APP_SECRET),
                ("fb_exchange_token", short["access_token"].as_str().unwrap()),
            ])
            .await;
        assert_eq!(long["expires_in"], 5183944);
        let user = long["access_token"].as_str().unwrap().to_string();
        let pages: Value = self
            .http
            .get(self.graph("/me/accounts"))
            .query(&[("fields", "id,name,access_token,instagram_business_account")])
            .bearer_auth(&user)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = pages["data"][0]["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        (user, page)
    }

    async fn create(&self, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let reply = self
            .http
            .post(self.graph(&format!("/{FIRST_IG_USER}/media")))
            .bearer_auth(token)
            .form(form)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }
}

const REELS: &[(&str, &str)] = &[
    ("media_type", "REELS"),
    ("upload_type", "resumable"),
    ("caption", "hi"),
];

fn error_code(v: &Value) -> (i64, Option<i64>) {
    (
        v["error"]["code"].as_i64().unwrap(),
        v["error"]["error_subcode"].as_i64(),
    )
}

#[tokio::test]
async fn the_dialog_is_strict_about_app_and_redirect() {
    let meta = Meta::start().await;
    let base = [
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("response_type", "code"),
        ("scope", "instagram_basic"),
    ];
    let wrong_app = meta
        .dialog(&[&[("client_id", "1")][..], &base].concat())
        .await;
    assert_eq!(wrong_app.status(), 400);
    assert!(wrong_app.text().await.unwrap().contains("Invalid App ID"));
    for uri in [
        "http://127.0.0.1:53682/callback",
        "http://localhost:53682/callback/",
        "http://localhost/callback",
        "https://evil.example/callback",
    ] {
        let page = meta
            .dialog(&[
                ("client_id", APP_ID),
                ("redirect_uri", uri),
                ("state", "s"),
                ("response_type", "code"),
                ("scope", "instagram_basic"),
            ])
            .await;
        assert_eq!(page.status(), 400, "{uri}");
        assert!(page.text().await.unwrap().contains("URL Blocked"), "{uri}");
    }
    let bad_scope = meta
        .dialog(&[
            ("client_id", APP_ID),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
            ("response_type", "code"),
            ("scope", "business_content_publish"),
        ])
        .await;
    assert!(bad_scope.text().await.unwrap().contains("Invalid Scopes"));
    meta.emulator
        .configure(&serde_yaml::from_str("dev_mode: false").unwrap())
        .unwrap();
    let live = meta
        .dialog(&[&[("client_id", APP_ID)][..], &base].concat())
        .await;
    assert!(
        live.text()
            .await
            .unwrap()
            .contains("Insecure Login Blocked")
    );
    meta.emulator
        .configure(&serde_yaml::from_str("dev_mode: true\ndeny_authorization: true").unwrap())
        .unwrap();
    let denied = meta
        .dialog(&[&[("client_id", APP_ID)][..], &base].concat())
        .await;
    let location = denied.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("error=access_denied")
            && location.contains("error_reason=user_denied")
            && location.contains("state=s"),
        "{location}"
    );
    assert!(
        meta.emulator
            .configure(&serde_yaml::from_str("no_such_knob: 1").unwrap())
            .is_err()
    );
}

#[tokio::test]
async fn codes_are_single_use_and_need_the_secret_and_redirect() {
    let meta = Meta::start().await;
    let code = meta.code().await;
    let (status, body) = meta
        .token_call(&[
            ("client_id", APP_ID),
            ("client_secret", "wrong"),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .await;
    assert_eq!((status, error_code(&body).0), (400, 1));
    let code = meta.code().await;
    let (_, body) = meta
        .token_call(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("redirect_uri", "http://localhost:1/callback"),
            ("code", &code),
        ])
        .await;
    assert_eq!(error_code(&body), (100, Some(36008)));
    // The mismatch spent the code.
    let (_, body) = meta
        .token_call(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .await;
    assert_eq!(error_code(&body), (100, Some(36009)));
}

#[tokio::test]
async fn tokens_are_checked_on_every_call() {
    let meta = Meta::start().await;
    let (user, page) = meta.tokens().await;
    let forged = meta
        .http
        .get(meta.graph("/me"))
        .bearer_auth("EAAforged")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(&forged.json().await.unwrap()).0, 190);
    let unversioned = meta
        .http
        .get(format!("{}/graph.facebook.com/me", meta.base))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(&unversioned.json().await.unwrap()).0, 2500);
    // The Page token does not expire; the user token does (fake clock).
    meta.emulator
        .configure(&serde_yaml::from_str("advance_clock_secs: 6000000").unwrap())
        .unwrap();
    let expired: Value = meta
        .http
        .get(meta.graph("/me"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&expired), (190, Some(463)));
    let alive = meta
        .http
        .get(meta.graph(&format!("/{FIRST_IG_USER}")))
        .query(&[("fields", "id,username")])
        .bearer_auth(&page)
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);
    meta.emulator
        .configure(&serde_yaml::from_str("invalidate_tokens: true").unwrap())
        .unwrap();
    let dead: Value = meta
        .http
        .get(meta.graph("/me"))
        .bearer_auth(&page)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&dead), (190, Some(460)));
}

#[tokio::test]
async fn containers_rupload_and_publish_follow_the_state_machine() {
    let meta = Meta::start().await;
    let (_, page) = meta.tokens().await;
    let (_, no_type) = meta.create(&page, &[("media_type", "REELS")]).await;
    assert!(
        no_type["error"]["message"]
            .as_str()
            .unwrap()
            .contains("video_url is required")
    );
    let (_, video) = meta
        .create(
            &page,
            &[("media_type", "VIDEO"), ("upload_type", "resumable")],
        )
        .await;
    assert_eq!(error_code(&video), (100, Some(2207023)));
    let long = "x".repeat(2201);
    let (_, too_long) = meta
        .create(
            &page,
            &[
                ("media_type", "REELS"),
                ("upload_type", "resumable"),
                ("caption", &long),
            ],
        )
        .await;
    assert_eq!(error_code(&too_long), (36004, Some(2207010)));
    let (status, created) = meta.create(&page, REELS).await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let uri = created["uri"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.mp4");
    keryx_core::media::synthetic::write_mp4(
        &path,
        std::time::Duration::from_secs(5),
        1080,
        1920,
        100_000,
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let send = |auth: String, offset: usize, body: Vec<u8>| {
        meta.http
            .post(&uri)
            .header("Authorization", auth)
            .header("offset", offset.to_string())
            .header("file_size", bytes.len().to_string())
            .body(body)
            .send()
    };
    let bearer = send(format!("Bearer {page}"), 0, bytes.clone())
        .await
        .unwrap();
    assert_eq!(bearer.status(), 400);
    assert!(
        bearer
            .text()
            .await
            .unwrap()
            .contains("unauthorized user request")
    );
    let wrong_offset = send(format!("OAuth {page}"), 10, bytes[10..].to_vec())
        .await
        .unwrap();
    assert_eq!(wrong_offset.status(), 412);
    let partial = send(format!("OAuth {page}"), 0, bytes[..40_000].to_vec())
        .await
        .unwrap();
    assert_eq!(partial.status(), 206);
    let publish = |creation: String| {
        meta.http
            .post(meta.graph(&format!("/{FIRST_IG_USER}/media_publish")))
            .query(&[("creation_id", creation)])
            .bearer_auth(&page)
            .send()
    };
    let early: Value = publish(id.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(error_code(&early), (9007, Some(2207027)));
    let status_of = || {
        meta.http
            .get(meta.graph(&format!("/{id}")))
            .query(&[("fields", "status_code,video_status")])
            .bearer_auth(&page)
            .send()
    };
    let half: Value = status_of().await.unwrap().json().await.unwrap();
    assert_eq!(
        half["video_status"]["uploading_phase"]["bytes_transferred"],
        40_000
    );
    let rest = send(format!("OAuth {page}"), 40_000, bytes[40_000..].to_vec())
        .await
        .unwrap();
    assert_eq!(rest.status(), 200);
    let polls: Vec<String> = futures_util::future::join_all((0..3).map(|_| async {
        status_of().await.unwrap().json::<Value>().await.unwrap()["status_code"]
            .as_str()
            .unwrap()
            .to_string()
    }))
    .await;
    assert!(polls.contains(&"FINISHED".to_string()), "{polls:?}");
    let published: Value = publish(id.clone()).await.unwrap().json().await.unwrap();
    assert!(published["id"].is_string(), "{published}");
    let again: Value = publish(id.clone()).await.unwrap().json().await.unwrap();
    assert!(again["error"].is_object(), "published twice: {again}");
    let unknown: Value = publish("123".into()).await.unwrap().json().await.unwrap();
    assert_eq!(error_code(&unknown), (24, Some(2207006)));
}

#[tokio::test]
async fn the_publishing_limit_and_throttling() {
    let meta = Meta::start().await;
    let (_, page) = meta.tokens().await;
    meta.emulator
        .configure(&serde_yaml::from_str("quota_total: 3\nquota_used: 3").unwrap())
        .unwrap();
    let limit: Value = meta
        .http
        .get(meta.graph(&format!("/{FIRST_IG_USER}/content_publishing_limit")))
        .query(&[("fields", "quota_usage,config")])
        .bearer_auth(&page)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(limit["data"][0]["quota_usage"], 3);
    assert_eq!(limit["data"][0]["config"]["quota_total"], 3);
    let old: Value = meta
        .http
        .get(meta.graph(&format!("/{FIRST_IG_USER}/content_publishing_limit")))
        .query(&[("since", "1")])
        .bearer_auth(&page)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&old).0, 100);
    meta.emulator
        .configure(&serde_yaml::from_str("throttle: 80002").unwrap())
        .unwrap();
    let throttled = meta
        .http
        .get(meta.graph("/me"))
        .bearer_auth(&page)
        .send()
        .await
        .unwrap();
    assert!(
        throttled
            .headers()
            .contains_key("x-business-use-case-usage")
    );
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(
        (
            body["error"]["code"].as_i64(),
            body["error"]["is_transient"].as_bool()
        ),
        (Some(80002), Some(true))
    );
}

mod instagram_login {
    use super::*;
    use keryx_instagram::emulator::ig_login::{IG_APP_ID, IG_APP_SECRET};

    const IG_REDIRECT: &str = "https://localhost:8443/callback";

    async fn authorize(
        meta: &Meta,
        client_id: &str,
        redirect: &str,
        scope: &str,
    ) -> reqwest::Response {
        meta.http
            .get(format!("{}/www.instagram.com/oauth/authorize", meta.base))
            .query(&[
                ("client_id", client_id),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("scope", scope),
                ("state", "s"),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn code(meta: &Meta) -> String {
        let reply = authorize(
            meta,
            IG_APP_ID,
            IG_REDIRECT,
            "instagram_business_basic,instagram_business_content_publish",
        )
        .await;
        assert_eq!(reply.status(), 302);
        let location = reply.headers()["location"].to_str().unwrap().to_string();
        assert!(location.ends_with("#_"), "{location}");
        let url = url::Url::parse(&location).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    async fn exchange(meta: &Meta, code: &str) -> (u16, Value) {
        let reply = meta
            .http
            .post(format!(
                "{}/api.instagram.com/oauth/access_token",
                meta.base
            ))
            .form(&[
                ("client_id", IG_APP_ID),
                ("client_secret", IG_APP_SECRET),
                ("grant_type", "authorization_code"),
                ("redirect_uri", IG_REDIRECT),
                ("code", code),
            ])
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }

    #[tokio::test]
    async fn authorize_is_strict() {
        let meta = Meta::start().await;
        let meta_app = authorize(&meta, APP_ID, IG_REDIRECT, "instagram_business_basic").await;
        assert!(
            meta_app
                .text()
                .await
                .unwrap()
                .contains("Invalid platform app")
        );
        let http = authorize(
            &meta,
            IG_APP_ID,
            "http://localhost:8443/callback",
            "instagram_business_basic",
        )
        .await;
        assert!(http.text().await.unwrap().contains("Invalid redirect_uri"));
        let old = authorize(&meta, IG_APP_ID, IG_REDIRECT, "business_basic").await;
        assert!(old.text().await.unwrap().contains("Invalid Scopes"));
    }

    #[tokio::test]
    async fn both_reply_shapes_single_use_codes_and_host_bound_tokens() {
        let meta = Meta::start().await;
        let (status, doc) = exchange(&meta, &code(&meta).await).await;
        assert_eq!(status, 200, "{doc}");
        assert!(doc["data"][0]["permissions"].is_string(), "{doc}");
        meta.emulator
            .configure(
                &serde_yaml::from_str(
                    "ig_exchange_shape: flat\nig_permissions_array: true\nig_user_id_number: true",
                )
                .unwrap(),
            )
            .unwrap();
        let code = code(&meta).await;
        let (_, flat) = exchange(&meta, &code).await;
        assert!(
            flat["permissions"].is_array() && flat["user_id"].is_u64(),
            "{flat}"
        );
        let (status, reused) = exchange(&meta, &code).await;
        assert_eq!(
            (status, reused["error_message"].as_str()),
            (400, Some("Matching code was not found or was already used"))
        );
        let token = flat["access_token"].as_str().unwrap();
        assert!(token.starts_with("IGAA"));
        let on_fb: Value = meta
            .http
            .get(meta.graph("/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            error_code(&on_fb).0,
            190,
            "an IG token works only on its own host"
        );
        let me: Value = meta
            .http
            .get(format!("{}/graph.instagram.com/v25.0/me", meta.base))
            .query(&[("fields", "user_id,username"), ("access_token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_ne!(me["user_id"], me["id"], "{me}");
        let resumable: Value = meta
            .http
            .post(format!(
                "{}/graph.instagram.com/v25.0/{FIRST_IG_USER}/media",
                meta.base
            ))
            .bearer_auth(token)
            .form(&[("media_type", "REELS"), ("upload_type", "resumable")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            resumable["error"]["message"]
                .as_str()
                .unwrap()
                .contains("video_url is required"),
            "{resumable}"
        );
        // A refresh needs a token at least 24 hours old.
        let refresh = |t: String| {
            meta.http
                .get(format!(
                    "{}/graph.instagram.com/refresh_access_token",
                    meta.base
                ))
                .query(&[("grant_type", "ig_refresh_token"), ("access_token", &t)])
                .send()
        };
        let young: Value = refresh(token.to_string())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(error_code(&young).0, 190);
    }
}

#[tokio::test]
async fn page_reels_start_upload_finish_and_status() {
    let meta = Meta::start().await;
    let scopes = "pages_show_list,pages_read_engagement,pages_manage_posts";
    let reply = meta
        .dialog(&[
            ("client_id", APP_ID),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
            ("response_type", "code"),
            ("scope", scopes),
        ])
        .await;
    let location = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (_, short) = meta
        .token_call(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .await;
    let user = short["access_token"].as_str().unwrap().to_string();
    let pages: Value = meta
        .http
        .get(meta.graph("/me/accounts"))
        .query(&[("fields", "id,access_token")])
        .bearer_auth(&user)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (page_id, page) = (
        pages["data"][0]["id"].as_str().unwrap().to_string(),
        pages["data"][0]["access_token"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let reels = meta.graph(&format!("/{page_id}/video_reels"));
    let with_user: Value = meta
        .http
        .post(&reels)
        .bearer_auth(&user)
        .form(&[("upload_phase", "start")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        error_code(&with_user).0,
        190,
        "Page Reels take the Page token"
    );
    let complete: Value = meta
        .http
        .post(&reels)
        .bearer_auth(&page)
        .form(&[("upload_phase", "complete")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        error_code(&complete).0,
        100,
        "the doc table's `complete` is not the enum's `finish`"
    );
    let started: Value = meta
        .http
        .post(&reels)
        .bearer_auth(&page)
        .form(&[("upload_phase", "start")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, upload_url) = (
        started["video_id"].as_str().unwrap().to_string(),
        started["upload_url"].as_str().unwrap().to_string(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.mp4");
    keryx_core::media::synthetic::write_mp4(
        &path,
        std::time::Duration::from_secs(5),
        1080,
        1920,
        60_000,
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let sent = meta
        .http
        .post(&upload_url)
        .header("Authorization", format!("OAuth {page}"))
        .header("offset", "0")
        .header("file_size", bytes.len().to_string())
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let finish = |extra: Vec<(&'static str, String)>| {
        let mut form = vec![
            ("upload_phase", "finish".to_string()),
            ("video_id", id.clone()),
        ];
        form.extend(extra);
        meta.http.post(&reels).bearer_auth(&page).form(&form).send()
    };
    let soon: Value = finish(vec![
        ("video_state", "SCHEDULED".into()),
        ("scheduled_publish_time", "1".into()),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(error_code(&soon).0, 100);
    let done: Value = finish(vec![("video_state", "PUBLISHED".into())])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["success"], true, "{done}");
    let status: Value = meta
        .http
        .get(meta.graph(&format!("/{id}")))
        .query(&[("fields", "status")])
        .bearer_auth(&page)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["status"]["uploading_phase"]["bytes_transfered"],
        bytes.len() as u64,
        "{status}"
    );
    assert_eq!(
        status["status"]["publishing_phase"]["publish_status"],
        "published"
    );
}
