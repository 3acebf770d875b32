//! The emulator's Pages over HTTP: the dialog shares only the Pages the user ticks
//! (`select_pages`), business-owned ones need `business_management`, and a removed Page role
//! (`remove_page_role`) kills that Page's tokens alone.

use keryx_core::Emulator;
use keryx_instagram::emulator::{APP_ID, APP_SECRET, InstagramEmulator};
use serde_json::Value;

const REDIRECT: &str = "http://localhost:53682/callback";
const SCOPES: &str =
    "instagram_basic,instagram_content_publish,pages_read_engagement,pages_show_list";

struct Meta {
    base: String,
    http: reqwest::Client,
    emulator: std::sync::Arc<InstagramEmulator>,
    _running: keryx_core::emulator::Running,
}

impl Meta {
    async fn start(knobs: &str) -> Meta {
        let emulator = InstagramEmulator::new();
        emulator
            .configure(&serde_yaml::from_str(knobs).unwrap())
            .unwrap();
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

    /// A user token from the dialog with `scopes` (code → short-lived token).
    async fn user_token(&self, scopes: &str) -> String {
        let url = format!("{}/www.facebook.com/v25.0/dialog/oauth", self.base);
        let reply = self
            .http
            .get(url)
            .query(&[
                ("client_id", APP_ID),
                ("redirect_uri", REDIRECT),
                ("state", "s"),
                ("response_type", "code"),
                ("scope", scopes),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 302);
        let location = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let short: Value = self
            .http
            .post(self.graph("/oauth/access_token"))
            .form(&[
                ("client_id", APP_ID),
                ("client_secret", APP_SECRET),
                ("redirect_uri", REDIRECT),
                ("code", &code),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        short["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, path: &str, fields: &str, token: &str) -> Value {
        self.http
            .get(self.graph(path))
            .query(&[("fields", fields)])
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Every Page of `/me/accounts` (following `after`), as (id, IG account id, Page token).
    async fn pages(&self, user: &str) -> Vec<(String, Option<String>, String)> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let reply: Value = self
                .http
                .get(self.graph("/me/accounts"))
                .query(&[
                    ("fields", "id,access_token,instagram_business_account"),
                    ("after", &after.to_string()),
                ])
                .bearer_auth(user)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let data = reply["data"].as_array().unwrap();
            for page in data {
                out.push((
                    page["id"].as_str().unwrap().to_string(),
                    page["instagram_business_account"]["id"]
                        .as_str()
                        .map(str::to_owned),
                    page["access_token"].as_str().unwrap().to_string(),
                ));
            }
            after += data.len();
            if reply["paging"]["next"].is_null() {
                return out;
            }
        }
    }
}

fn code(body: &Value) -> (i64, Option<i64>) {
    (
        body["error"]["code"].as_i64().unwrap_or(0),
        body["error"]["error_subcode"].as_i64(),
    )
}

#[tokio::test]
async fn the_dialog_shares_the_first_page_unless_told_otherwise() {
    let meta = Meta::start("{}").await;
    let user = meta.user_token(SCOPES).await;
    let pages = meta.pages(&user).await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(pages[0].1.as_deref(), Some("17841400000000001"));
    // An account behind an unshared Page is out of reach.
    let side = meta.get("/17841400000000002", "id,username", &user).await;
    assert_eq!(code(&side), (100, Some(33)), "{side}");
    assert!(
        meta.emulator
            .configure(&serde_yaml::from_str("select_pages: [No Such Page]").unwrap())
            .is_err(),
        "an unknown Page is a knob error"
    );
}

#[tokio::test]
async fn selected_pages_are_listed_and_business_owned_ones_need_business_management() {
    let knobs =
        "select_pages: [Keryx Demo, \"100000000000102\", Keryx Blog (no Instagram), Keryx Studio]";
    let meta = Meta::start(knobs).await;
    let without = meta.user_token(SCOPES).await;
    let ids: Vec<String> = meta
        .pages(&without)
        .await
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        ids,
        ["100000000000101", "100000000000102", "100000000000103"]
    );
    let with = meta
        .user_token(&format!("{SCOPES},business_management"))
        .await;
    let pages = meta.pages(&with).await;
    let linked: Vec<&str> = pages.iter().filter_map(|p| p.1.as_deref()).collect();
    assert_eq!(
        linked,
        [
            "17841400000000001",
            "17841400000000002",
            "17841400000000004"
        ]
    );
}

#[tokio::test]
async fn a_removed_page_role_kills_that_pages_tokens_only() {
    let meta = Meta::start("select_pages: [Keryx Demo, Keryx Side Project]").await;
    let user = meta.user_token(SCOPES).await;
    let pages = meta.pages(&user).await;
    let (demo, side) = (pages[0].2.clone(), pages[1].2.clone());
    meta.emulator
        .configure(&serde_yaml::from_str("remove_page_role: [Keryx Side Project]").unwrap())
        .unwrap();
    let dead = meta.get("/17841400000000002", "id,username", &side).await;
    assert_eq!(code(&dead), (190, Some(460)), "{dead}");
    let alive = meta.get("/17841400000000001", "id,username", &demo).await;
    assert_eq!(alive["username"], "keryx.demo", "{alive}");
    // The user token still works but no longer reaches the Page, nor a new token for it.
    assert_eq!(meta.pages(&user).await.len(), 1);
    let again = meta.get("/100000000000102", "access_token", &user).await;
    assert_eq!(code(&again), (100, Some(33)), "{again}");
    // A later dialog cannot share it either.
    let fresh = meta.user_token(SCOPES).await;
    assert_eq!(meta.pages(&fresh).await.len(), 1);
}
