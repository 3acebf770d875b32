//! `session::Session` against a server that refuses every access token: the session replaces
//! the token, but gives up after two refusals in a row of a token it had just refreshed
//! itself, instead of refreshing again and again.

mod oauth_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use keryx_core::http::{Policy, Reply, Verdict};
use keryx_core::session::{Api, MAX_OWN_TOKENS_REFUSED, Session, Start};
use keryx_core::tokens::{TokenReply, TokenSet, TokenStore};
use keryx_core::{Context, Error, Result, Secret};

struct Refusing {
    refreshes: AtomicU32,
}

impl Api for Refusing {
    fn platform(&self) -> &'static str {
        "fake"
    }

    fn display_name(&self) -> &'static str {
        "Fake"
    }

    async fn refresh(&self, _: &Context, _: &Policy, _: Secret) -> Result<TokenReply> {
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(TokenReply {
            access_token: Secret::new(format!("at-{n}")),
            expires_in: Some(3600),
            refresh_token: None,
            refresh_expires_in: None,
            scopes: None,
        })
    }

    fn classify(&self, _what: &str, reply: &Reply) -> Verdict {
        match reply.status {
            StatusCode::UNAUTHORIZED => {
                Verdict::TokenInvalid(Error::platform("Fake refused the access token"))
            }
            s if s.is_success() => Verdict::Ok,
            _ => Verdict::Failed(Error::platform("unexpected")),
        }
    }
}

#[tokio::test]
async fn a_token_refused_right_after_its_own_refresh_is_not_refreshed_forever() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "secrets: file\n").unwrap();
    let (ctx, _ui) = oauth_support::context(dir.path());
    TokenStore::new(&ctx.secrets, &ctx.paths, "fake")
        .save_new(&TokenSet {
            refresh_token: Secret::new("rt"),
            refresh_expires_at: None,
            access_token: None,
            access_expires_at: None,
            account: None,
            subject: None,
            scopes: Vec::new(),
            extra: Default::default(),
        })
        .unwrap();

    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/api",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { StatusCode::UNAUTHORIZED }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let api = Refusing {
        refreshes: AtomicU32::new(0),
    };
    let session = Session::start(&ctx, &api, Start::Mint).await.unwrap();
    assert_eq!(api.refreshes.load(Ordering::SeqCst), 1);
    let error = session
        .send("the call", |http, token| {
            http.get(&url).bearer_auth(token.expose())
        })
        .await
        .expect_err("every token is refused");
    assert!(
        error.message().contains("refused the access token"),
        "{error}"
    );
    assert!(error.message().contains("in a row were refused"), "{error}");
    // The minted token, then one refresh per refusal of a token of its own, up to the limit.
    let own = MAX_OWN_TOKENS_REFUSED;
    assert_eq!(api.refreshes.load(Ordering::SeqCst), 1 + own);
    assert_eq!(hits.load(Ordering::SeqCst), 1 + own);
}
