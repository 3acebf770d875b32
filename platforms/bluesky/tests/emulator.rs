//! The emulated PDS over HTTP: each rule it enforces, with the real server's error bodies
//! (reference §6), the mistakes included.

use serde_json::{Value, json};

use keryx_bluesky::emulator::{APP_PASSWORD, BlueskyEmulator, DID, HANDLE};
use keryx_core::Emulator;

struct Pds {
    base: String,
    http: reqwest::Client,
    emulator: std::sync::Arc<BlueskyEmulator>,
    _running: keryx_core::emulator::Running,
}

impl Pds {
    async fn start() -> Pds {
        let emulator = BlueskyEmulator::new();
        let running = keryx_core::emulator::serve(vec![emulator.clone()], 0)
            .await
            .unwrap();
        Pds {
            base: running.base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            emulator,
            _running: running,
        }
    }

    fn url(&self, nsid: &str) -> String {
        format!("{}/xrpc/{nsid}", self.base)
    }

    async fn session(&self) -> Value {
        let reply = self
            .http
            .post(self.url("com.atproto.server.createSession"))
            .json(&json!({"identifier": HANDLE, "password": APP_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        reply.json().await.unwrap()
    }

    async fn upload(&self, token: &str, bytes: Vec<u8>) -> (u16, Value) {
        let reply = self
            .http
            .post(self.url("com.atproto.repo.uploadBlob"))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }

    async fn create(&self, token: &str, repo: &str, record: Value) -> (u16, Value) {
        let reply = self
            .http
            .post(self.url("com.atproto.repo.createRecord"))
            .bearer_auth(token)
            .json(&json!({"repo": repo, "collection": "app.bsky.feed.post", "record": record}))
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }
}

fn mp4_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    bytes[4..8].copy_from_slice(b"ftyp");
    bytes
}

fn post(text: &str, video: &Value) -> Value {
    json!({"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-12-02T02:22:03.000Z",
           "embed": {"$type": "app.bsky.embed.video", "video": video,
                     "aspectRatio": {"width": 720, "height": 1280}}})
}

#[tokio::test]
async fn sessions_refuse_what_the_pds_refuses() {
    let pds = Pds::start().await;
    let wrong = pds
        .http
        .post(pds.url("com.atproto.server.createSession"))
        .json(&json!({"identifier": HANDLE, "password": "nope-nope-nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
    );
    let session = pds.session().await;
    assert_eq!(session["did"], DID);
    let refresh = |token: String| {
        let request = pds
            .http
            .post(pds.url("com.atproto.server.refreshSession"))
            .bearer_auth(token);
        async move {
            let reply = request.send().await.unwrap();
            (
                reply.status().as_u16(),
                reply.json::<Value>().await.unwrap(),
            )
        }
    };
    // An access token is not a refresh token.
    let (status, body) = refresh(session["accessJwt"].as_str().unwrap().into()).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "InvalidToken", "message": "Token could not be verified"})
        )
    );
    // Rotation, with the real server's grace: the used token answers with the same successor.
    let (status, next) = refresh(session["refreshJwt"].as_str().unwrap().into()).await;
    assert_eq!(status, 200);
    assert_ne!(next["refreshJwt"], session["refreshJwt"]);
    let (_, again) = refresh(session["refreshJwt"].as_str().unwrap().into()).await;
    assert_eq!(again["refreshJwt"], next["refreshJwt"]);
    pds.emulator
        .configure(&serde_yaml::from_str("revoke_sessions: true").unwrap())
        .unwrap();
    let (status, body) = refresh(next["refreshJwt"].as_str().unwrap().into()).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "ExpiredToken", "message": "Token has been revoked"})
        )
    );
}

#[tokio::test]
async fn upload_blob_rules() {
    let pds = Pds::start().await;
    let token = pds.session().await["accessJwt"]
        .as_str()
        .unwrap()
        .to_string();
    let anonymous = pds
        .http
        .post(pds.url("com.atproto.repo.uploadBlob"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap()["error"],
        "AuthMissing"
    );
    let untyped = pds
        .http
        .post(pds.url("com.atproto.repo.uploadBlob"))
        .bearer_auth(&token)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), 400);
    assert_eq!(
        untyped.json::<Value>().await.unwrap()["message"],
        "Request encoding (Content-Type) required but not provided"
    );
    // MP4 bytes are sniffed as video/mp4 whatever was declared; the CID is CIDv1 raw sha2-256.
    let bytes = mp4_bytes(1000);
    let (status, body) = pds.upload(&token, bytes.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body["blob"]["mimeType"], "video/mp4");
    let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&bytes).into();
    assert_eq!(
        body["blob"]["ref"]["$link"],
        keryx_bluesky::cid::raw_sha256(&digest)
    );
    // Exactly the limit is accepted; one byte more is 413.
    pds.emulator
        .configure(&serde_yaml::from_str("blob_limit: 1000").unwrap())
        .unwrap();
    assert_eq!(pds.upload(&token, mp4_bytes(1000)).await.0, 200);
    let (status, body) = pds.upload(&token, mp4_bytes(1001)).await;
    assert_eq!(
        (status, body),
        (
            413,
            json!({"error": "PayloadTooLarge", "message": "request entity too large"})
        )
    );
}

#[tokio::test]
async fn create_record_checks_the_lexicon() {
    let pds = Pds::start().await;
    let token = pds.session().await["accessJwt"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, uploaded) = pds.upload(&token, mp4_bytes(500)).await;
    let video = uploaded["blob"].clone();
    let cases: Vec<(Value, &str)> = vec![
        (
            post(&"a".repeat(301), &video),
            "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301) at $.record.text",
        ),
        (
            {
                let mut p = post("x", &video);
                p.as_object_mut().unwrap().remove("createdAt");
                p
            },
            "Invalid app.bsky.feed.post record: Missing required key \"createdAt\" at $.record",
        ),
        (
            {
                let mut p = post("x", &video);
                p["createdAt"] = json!("2026-12-02T02:22:03");
                p
            },
            "Invalid app.bsky.feed.post record: Invalid datetime (got \"2026-12-02T02:22:03\") at $.record.createdAt",
        ),
        (
            {
                let mut p = post("x", &video);
                p["$type"] = json!("app.bsky.feed.like");
                p
            },
            "Invalid $type: expected app.bsky.feed.post, got app.bsky.feed.like",
        ),
        (
            {
                let mut p = post("x", &video);
                p["langs"] = json!(["en", "de", "fr", "es"]);
                p
            },
            "Invalid app.bsky.feed.post record: array too big (maximum 3, got 4) at $.record.langs",
        ),
        (
            {
                let mut p = post("x", &video);
                p["embed"]["aspectRatio"]["width"] = json!(0);
                p
            },
            "Invalid app.bsky.feed.post record: integer too small (minimum 1, got 0) at $.record.embed.aspectRatio.width",
        ),
        (
            {
                let mut p = post("x", &video);
                p["embed"]["video"]["mimeType"] = json!("text/vtt");
                p
            },
            "Invalid app.bsky.feed.post record: Expected \"video/mp4\" (got \"text/vtt\") at $.record.embed.video.mimeType",
        ),
    ];
    for (record, message) in cases {
        let (status, body) = pds.create(&token, DID, record).await;
        assert_eq!(
            (status, body),
            (400, json!({"error": "InvalidRequest", "message": message}))
        );
    }
    let mut unknown = video.clone();
    unknown["ref"]["$link"] = json!("bafkreiaaaa");
    let (status, body) = pds.create(&token, DID, post("x", &unknown)).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "BlobNotFound", "message": "Could not find blob: bafkreiaaaa"})
        )
    );
    let (status, _) = pds
        .create(
            &token,
            "did:plc:someoneelseaaaaaaaaaaaaa",
            post("x", &video),
        )
        .await;
    assert_eq!(status, 401);
    // 300 graphemes of two bytes each are fine; the record reads back as stored.
    let (status, created) = pds
        .create(&token, DID, post(&"é".repeat(300), &video))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["validationStatus"], "valid");
    let rkey = created["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(keryx_bluesky::tid::is_valid(&rkey));
    let record: Value = pds
        .http
        .get(pds.url("com.atproto.repo.getRecord"))
        .query(&[
            ("repo", DID),
            ("collection", "app.bsky.feed.post"),
            ("rkey", &rkey),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["value"]["text"], "é".repeat(300));
}

/// `deleteSession` as observed on PDS 0.5.35: only the refresh JWT (an access JWT or garbage:
/// `Token could not be verified`), 200 with no body also the second time, the refresh dead
/// afterwards while the access JWT works until it expires.
#[tokio::test]
async fn delete_session_ends_the_refresh_token_only() {
    let pds = Pds::start().await;
    let session = pds.session().await;
    let (access, refresh) = (
        session["accessJwt"].as_str().unwrap().to_string(),
        session["refreshJwt"].as_str().unwrap().to_string(),
    );
    let delete = |token: Option<&str>| {
        let mut request = pds.http.post(pds.url("com.atproto.server.deleteSession"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let reply = request.send().await.unwrap();
            let status = reply.status().as_u16();
            (status, reply.text().await.unwrap())
        }
    };
    assert_eq!(
        delete(None).await,
        (
            401,
            json!({"error": "AuthMissing", "message": "Authentication Required"}).to_string()
        )
    );
    let unverified =
        json!({"error": "InvalidToken", "message": "Token could not be verified"}).to_string();
    assert_eq!(delete(Some(&access)).await, (400, unverified.clone()));
    assert_eq!(delete(Some("abc")).await, (400, unverified));
    assert_eq!(delete(Some(&refresh)).await, (200, String::new()));
    assert_eq!(delete(Some(&refresh)).await, (200, String::new()));
    let refreshed = pds
        .http
        .post(pds.url("com.atproto.server.refreshSession"))
        .bearer_auth(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 400);
    assert_eq!(
        refreshed.json::<Value>().await.unwrap(),
        json!({"error": "ExpiredToken", "message": "Token has been revoked"})
    );
    let still = pds
        .http
        .get(pds.url("com.atproto.server.getSession"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
}

/// Two accounts: each signs in with its own passwords only, writes into its own repo only, and
/// uses its own blobs only; reads are per repo.
#[tokio::test]
async fn each_account_has_its_own_sessions_repo_and_blobs() {
    use keryx_bluesky::emulator::accounts::ACCOUNTS;
    let pds = Pds::start().await;
    let bob = ACCOUNTS[1];
    let sign_in = |identifier: &'static str, password: &'static str| {
        let request = pds
            .http
            .post(pds.url("com.atproto.server.createSession"))
            .json(&json!({"identifier": identifier, "password": password}));
        async move {
            let reply = request.send().await.unwrap();
            (
                reply.status().as_u16(),
                reply.json::<Value>().await.unwrap(),
            )
        }
    };
    // Alice's app password does not open Bob's account, nor his hers.
    assert_eq!(sign_in(bob.handle, APP_PASSWORD).await.0, 401);
    assert_eq!(sign_in(HANDLE, bob.app_password).await.0, 401);
    let (status, session) = sign_in(bob.handle, bob.app_password).await;
    assert_eq!(status, 200);
    assert_eq!(
        (session["did"].as_str(), session["handle"].as_str()),
        (Some(bob.did), Some(bob.handle))
    );
    assert_eq!(session["email"], bob.email);
    let bob_token = session["accessJwt"].as_str().unwrap().to_string();
    let alice_token = pds.session().await["accessJwt"]
        .as_str()
        .unwrap()
        .to_string();
    let who: Value = pds
        .http
        .get(pds.url("com.atproto.server.getSession"))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["did"], bob.did);
    let resolved: Value = pds
        .http
        .get(pds.url("com.atproto.identity.resolveHandle"))
        .query(&[("handle", bob.handle)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resolved["did"], bob.did);

    // The same bytes uploaded by both: one blob in each repo.
    let bytes = mp4_bytes(1000);
    let (_, alice_blob) = pds.upload(&alice_token, bytes.clone()).await;
    // Bob cannot post with a blob only Alice's repo holds...
    let (status, body) = pds
        .create(&bob_token, bob.did, post("bob", &alice_blob["blob"]))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("BlobNotFound"))
    );
    // ...nor write into her repo, by DID or handle.
    for repo in [DID, HANDLE] {
        let (status, body) = pds
            .create(&bob_token, repo, post("bob", &alice_blob["blob"]))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("AuthenticationRequired"))
        );
    }
    let (_, bob_blob) = pds.upload(&bob_token, bytes).await;
    assert_eq!(bob_blob["blob"]["ref"], alice_blob["blob"]["ref"]);
    let (status, created) = pds
        .create(&bob_token, bob.handle, post("bob", &bob_blob["blob"]))
        .await;
    assert_eq!(status, 200, "{created}");
    assert!(
        created["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("at://{}/", bob.did))
    );
    let (status, _) = pds
        .create(&alice_token, HANDLE, post("alice", &alice_blob["blob"]))
        .await;
    assert_eq!(status, 200);

    let list = |repo: &'static str| {
        let request = pds
            .http
            .get(pds.url("com.atproto.repo.listRecords"))
            .query(&[("repo", repo), ("collection", "app.bsky.feed.post")]);
        async move {
            let reply: Value = request.send().await.unwrap().json().await.unwrap();
            reply["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["value"]["text"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(bob.did).await, ["bob"]);
    assert_eq!(list(HANDLE).await, ["alice"]);
    let stats = pds.emulator.stats();
    let repos: Vec<&str> = stats["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["repo"].as_str().unwrap())
        .collect();
    assert_eq!(repos, [bob.did, DID]);
    assert_eq!(stats["blobs"].as_array().unwrap().len(), 2);
    // getBlob serves a blob from the repo that holds it only.
    let cid = bob_blob["blob"]["ref"]["$link"].as_str().unwrap();
    let get = |did: &'static str| {
        pds.http
            .get(pds.url("com.atproto.sync.getBlob"))
            .query(&[("did", did), ("cid", cid)])
            .send()
    };
    assert_eq!(get(bob.did).await.unwrap().status(), 200);
    assert_eq!(
        get("did:plc:nobodyaaaaaaaaaaaaaaaaaa")
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn browser_user_names_an_account_of_the_pds() {
    let pds = Pds::start().await;
    let knob = |yaml: &str| pds.emulator.configure(&serde_yaml::from_str(yaml).unwrap());
    assert!(knob("browser_user: bob.test").is_ok());
    assert!(knob("browser_user: null").is_ok());
    let refused = knob("browser_user: carol.test").unwrap_err();
    assert!(refused.to_string().contains("carol.test"), "{refused}");
}
