//! API auth and scopes (reference §9.4).

use super::*;

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
