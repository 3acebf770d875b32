//! Several Google accounts (the `browser_user` knob): each with its own consent, tokens,
//! channel and uploads, none able to see or touch another's.

use super::*;
use keryx_youtube::emulator::{CHANNEL_ID, DEFAULT_USER};

const BOTH: &str = "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly";

impl Fake {
    async fn login_as(&self, user: &str, scope: &str) -> Tokens {
        self.configure(&format!("browser_user: {user}\n")).await;
        self.login(scope).await
    }

    async fn mine(&self, token: &str) -> Value {
        let reply: Value = self
            .http
            .get(format!(
                "{}/youtube/v3/channels?part=snippet,contentDetails,statistics&mine=true",
                self.base
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reply["items"].as_array().unwrap().len(), 1, "{reply}");
        reply["items"][0].clone()
    }

    /// A whole upload in one PUT; returns the video resource.
    async fn upload(&self, token: &str, title: &str, privacy: &str) -> Value {
        let data = content(1000);
        let response = self
            .initiate(token, data.len(), &metadata(title, privacy))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let uri = location(&response);
        let done = self.chunk(&uri, token, &data, 0, data.len()).await;
        assert_eq!(done.status(), StatusCode::CREATED);
        done.json().await.unwrap()
    }
}

#[tokio::test]
async fn each_account_sees_its_own_channel_and_the_default_is_the_demo_channel() {
    let fake = start().await;
    let demo = fake.login(BOTH).await;
    let alice = fake.login_as("alice", BOTH).await;
    let bob = fake.login_as("bob", BOTH).await;

    let channel = fake.mine(&demo.access).await;
    assert_eq!(channel["id"], CHANNEL_ID);
    assert_eq!(channel["snippet"]["title"], CHANNEL_TITLE);
    assert_eq!(channel["snippet"]["customUrl"], "@keryxdemo");
    let a = fake.mine(&alice.access).await;
    let b = fake.mine(&bob.access).await;
    for c in [&a, &b] {
        let id = c["id"].as_str().unwrap();
        assert!(id.starts_with("UC") && id.len() == 24, "{c}");
        assert_eq!(
            c["contentDetails"]["relatedPlaylists"]["uploads"],
            format!("UU{}", &id[2..])
        );
    }
    assert_ne!(a["id"], channel["id"]);
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["snippet"]["title"], "alice channel");
    assert_eq!(a["snippet"]["customUrl"], "@alice");

    // A refreshed token stays its account's.
    let refreshed: Value = fake
        .refresh(alice.refresh.as_deref().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let again = fake.mine(refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(again["id"], a["id"]);

    // Channels are public: any token finds another by id or handle.
    let found: Value = fake
        .http
        .get(format!(
            "{}/youtube/v3/channels?part=snippet&forHandle=@alice",
            fake.base
        ))
        .bearer_auth(&demo.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"][0]["id"], a["id"], "{found}");
    let stats = fake.stats().await;
    let users: Vec<&str> = stats["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, [DEFAULT_USER, "alice", "bob"]);
    assert_eq!(stats["channels"][1]["channel_id"], a["id"]);
    assert_eq!(stats["channels"][1]["live_refresh_tokens"], 1);
}

#[tokio::test]
async fn uploads_land_on_the_uploaders_channel_and_stay_out_of_reach_of_others() {
    let fake = start().await;
    let demo = fake.login(BOTH).await;
    let alice = fake.login_as("alice", BOTH).await;
    let alice_id = fake.mine(&alice.access).await["id"].clone();

    // Another account's token cannot send bytes into alice's session.
    let data = content(1000);
    let response = fake
        .initiate(&alice.access, data.len(), &metadata("alice's", "private"))
        .await;
    let uri = location(&response);
    let (status, reason, _, _) =
        api_error(fake.chunk(&uri, &demo.access, &data, 0, data.len()).await).await;
    assert_eq!((status, reason.as_str()), (403, "forbidden"));
    assert_eq!(fake.stats().await["bytes_committed"], 0);
    let (status, _, _, _) =
        api_error(fake.status_query(&uri, &demo.access, data.len()).await).await;
    assert_eq!(status, 403);
    let done = fake.chunk(&uri, &alice.access, &data, 0, data.len()).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    let video: Value = done.json().await.unwrap();
    assert_eq!(video["snippet"]["channelId"], alice_id);
    assert_eq!(video["snippet"]["channelTitle"], "alice channel");
    let id = video["id"].as_str().unwrap().to_string();
    // Even the finished session does not replay to another account.
    let (status, _, _, _) =
        api_error(fake.chunk(&uri, &demo.access, &data, 0, data.len()).await).await;
    assert_eq!(status, 403);

    let list = |token: String| {
        let url = format!(
            "{}/youtube/v3/videos?part=snippet,status,processingDetails&id={id}",
            fake.base
        );
        let http = fake.http.clone();
        async move {
            let reply: Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply["items"].as_array().unwrap().clone()
        }
    };
    // Private: invisible to another account, whole to its owner.
    assert!(list(demo.access.clone()).await.is_empty());
    let own = list(alice.access.clone()).await;
    assert!(own[0]["processingDetails"].is_object(), "{own:?}");
    // Public: visible, without what only the owner may read.
    let public = fake.upload(&alice.access, "alice public", "public").await;
    let public_id = public["id"].as_str().unwrap();
    let reply: Value = fake
        .http
        .get(format!(
            "{}/youtube/v3/videos?part=snippet,status,processingDetails,fileDetails&id={public_id}",
            fake.base
        ))
        .bearer_auth(&demo.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen = &reply["items"][0];
    assert_eq!(seen["snippet"]["channelId"], alice_id, "{reply}");
    assert!(seen["processingDetails"].is_null() && seen["fileDetails"].is_null());
    assert!(seen["status"]["selfDeclaredMadeForKids"].is_null());

    // Nor can it set alice's thumbnail.
    let png = [
        &[0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..],
        &[0; 100],
    ]
    .concat();
    let response = fake
        .http
        .post(format!(
            "{}/upload/youtube/v3/thumbnails/set?videoId={id}",
            fake.base
        ))
        .bearer_auth(&demo.access)
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    let (status, reason, _, _) = api_error(response).await;
    assert_eq!((status, reason.as_str()), (403, "forbidden"));

    fake.upload(&demo.access, "demo's", "private").await;
    let stats = fake.stats().await;
    let items = stats["videos"]["items"].as_array().unwrap();
    let on = |channel: &str| {
        items
            .iter()
            .filter(|v| v["channel_id"] == channel)
            .map(|v| v["title"].as_str().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(on(alice_id.as_str().unwrap()), ["alice's", "alice public"]);
    assert_eq!(on(CHANNEL_ID), ["demo's"]);
    assert_eq!(stats["channels"][0]["videos"], 1);
    assert_eq!(stats["channels"][1]["videos"], 2);
    assert_eq!(
        fake.mine(&alice.access).await["statistics"]["videoCount"],
        "2"
    );
}

#[tokio::test]
async fn consent_caps_and_revocation_are_per_account() {
    let fake = start().await;
    fake.configure("max_refresh_tokens: 1\nchannel_upload_cap: 1\n")
        .await;
    let demo = fake.login(BOTH).await;
    // Bob never consented: `prompt=none` cannot sign him in, whoever did before.
    fake.configure("browser_user: bob\n").await;
    let response = fake
        .authorize(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", BOTH),
            ("prompt", "none"),
        ])
        .await;
    assert_eq!(
        param(&query_of(&location(&response)), "error").as_deref(),
        Some("consent_required")
    );
    let alice = fake.login_as("alice", BOTH).await;
    // One refresh token per account and client: alice's did not push out the demo one.
    assert_eq!(
        fake.refresh(demo.refresh.as_deref().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(fake.stats().await["live_refresh_tokens"], 2);
    // The channel cap counts each channel's uploads; the project's quota is shared.
    fake.upload(&demo.access, "one", "private").await;
    fake.upload(&alice.access, "one", "private").await;
    let (status, reason, _, _) = api_error(
        fake.initiate(&demo.access, 10, &metadata("two", "private"))
            .await,
    )
    .await;
    assert_eq!((status, reason.as_str()), (400, "uploadLimitExceeded"));
    let stats = fake.stats().await;
    assert_eq!(stats["quota_used"]["upload_calls"], 3);
    assert_eq!(stats["quota_used"]["channel_uploads"], 2);
    assert_eq!(stats["channels"][1]["uploads_today"], 1);

    // Alice removes the app: her tokens die, the demo account's live on.
    fake.configure("revoke_user: alice\n").await;
    let (status, error, _) =
        oauth_error(fake.refresh(alice.refresh.as_deref().unwrap()).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    let response = fake
        .http
        .get(format!(
            "{}/youtube/v3/channels?part=id&mine=true",
            fake.base
        ))
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(fake.mine(&demo.access).await["id"], CHANNEL_ID);
    assert_eq!(
        fake.refresh(demo.refresh.as_deref().unwrap())
            .await
            .status(),
        200
    );
    // Her consent went with it: signing in again shows the consent screen.
    fake.configure("browser_user: alice\n").await;
    let response = fake
        .authorize(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", BOTH),
        ])
        .await;
    assert_eq!(
        param(&query_of(&location(&response)), "prompt").as_deref(),
        Some("consent")
    );
}

#[tokio::test]
async fn account_names_are_checked() {
    let fake = start().await;
    for bad in [
        "browser_user: Alice",
        "browser_user: a.b",
        "revoke_user: ''",
    ] {
        let response = fake
            .http
            .post(format!("{}/__emulator/youtube/configure", fake.base))
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    let demo = fake.login(BOTH).await;
    assert_eq!(fake.mine(&demo.access).await["id"], CHANNEL_ID);
}
