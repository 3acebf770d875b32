//! The emulated PDS's scope checks, after `@atproto/oauth-scopes` 0.5.35's `ScopePermissions`
//! (reference §2.10): an OAuth session's granted scope must match what the call needs, else 403
//! `{"error":"ScopeMissingError","message":"Missing required scope \"<scope>\""}` naming the
//! scope that would have allowed it. `transition:generic` allows every call keryx makes;
//! app-password sessions are not scope-checked (they are what `transition:generic` imitates).
//!
//! Matching, as the real code: `repo:<collection>[?action=…]` (no action = every action,
//! collection `*` = any), `blob:<mime>` or `blob?accept=…` (`*/*`, `type/*` or exact),
//! `rpc:<lxm>?aud=<aud>` (lxm `*` = any; `aud` must be `*` or equal the requested one).

use axum::http::StatusCode;
use axum::response::Response;

/// What a call needs.
pub(super) enum Need<'a> {
    Repo {
        collection: &'a str,
        action: &'a str,
    },
    Blob {
        mime: &'a str,
    },
    Rpc {
        lxm: &'a str,
        aud: &'a str,
    },
}

impl Need<'_> {
    /// The scope the real server names in its refusal (`scopeNeededFor`).
    fn scope(&self) -> String {
        match self {
            Need::Repo { collection, action } => format!("repo:{collection}?action={action}"),
            Need::Blob { mime } => format!("blob:{mime}"),
            Need::Rpc { lxm, aud } => format!("rpc:{lxm}?aud={aud}"),
        }
    }
}

/// `Err(403 ScopeMissingError)` unless one of `granted`'s scopes allows `need`.
pub(super) fn require(granted: &str, need: Need<'_>) -> Result<(), Response> {
    let scopes: Vec<&str> = granted.split_whitespace().collect();
    if scopes.contains(&"transition:generic") || scopes.iter().any(|s| allows(s, &need)) {
        return Ok(());
    }
    Err(super::xrpc::error(
        StatusCode::FORBIDDEN,
        "ScopeMissingError",
        &format!("Missing required scope \"{}\"", need.scope()),
    ))
}

/// The requested scopes the consent can grant. PDS 0.5.35 drops what its parser refuses, without
/// a word (observed: `rpc:…?aud=did:web:video.bsky.app` is left out of the token's `scope`): an
/// `rpc` `aud` must be `*` or a DID with a `#service` fragment, and `rpc:*?aud=*` is forbidden.
pub(super) fn grantable(requested: &str) -> String {
    requested
        .split_whitespace()
        .filter(|scope| {
            let (resource, positional, params) = parse(scope);
            if resource != "rpc" {
                return true;
            }
            let auds: Vec<&String> = params
                .iter()
                .filter(|(k, _)| k == "aud")
                .map(|(_, v)| v)
                .collect();
            let lxms: Vec<String> = positional
                .iter()
                .cloned()
                .chain(
                    params
                        .iter()
                        .filter(|(k, _)| k == "lxm")
                        .map(|(_, v)| v.clone()),
                )
                .collect();
            let aud_ok = auds.len() == 1
                && (auds[0] == "*" || (auds[0].starts_with("did:") && auds[0].contains('#')));
            aud_ok && !lxms.is_empty() && !(auds[0] == "*" && lxms.iter().any(|l| l == "*"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One scope string: its resource, positional value and query parameters.
fn parse(scope: &str) -> (&str, Option<String>, Vec<(String, String)>) {
    let (head, query) = scope.split_once('?').unwrap_or((scope, ""));
    let (resource, positional) = match head.split_once(':') {
        Some((r, p)) => (r, Some(percent(p))),
        None => (head, None),
    };
    let params = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (resource, positional, params)
}

fn percent(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn allows(scope: &str, need: &Need<'_>) -> bool {
    let (resource, positional, params) = parse(scope);
    let values = |name: &str| -> Vec<String> {
        positional
            .iter()
            .cloned()
            .chain(
                params
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.clone()),
            )
            .collect()
    };
    let param = |name: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    match need {
        Need::Repo { collection, action } if resource == "repo" => {
            let collections = values("collection");
            let actions = param("action");
            (actions.is_empty() || actions.iter().any(|a| a == action))
                && collections.iter().any(|c| c == "*" || c == collection)
        }
        Need::Blob { mime } if resource == "blob" => values("accept").iter().any(|accept| {
            accept == "*/*"
                || accept == mime
                || accept
                    .strip_suffix("/*")
                    .is_some_and(|kind| mime.split('/').next() == Some(kind))
        }),
        Need::Rpc { lxm, aud } if resource == "rpc" => {
            let audience = param("aud");
            let audience_ok = audience.len() == 1 && (audience[0] == "*" || audience[0] == *aud);
            // `rpc:*?aud=*` is refused at PAR by the real server; here it allows nothing.
            let wildcard_both = audience.first().is_some_and(|a| a == "*")
                && values("lxm").iter().all(|l| l == "*");
            audience_ok && !wildcard_both && values("lxm").iter().any(|l| l == "*" || l == lxm)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERYX: &str = "atproto repo:app.bsky.feed.post?action=create blob:video/* blob:text/vtt \
        rpc:com.atproto.repo.uploadBlob?aud=* rpc:app.bsky.video.getUploadLimits?aud=*";

    fn ok(granted: &str, need: Need<'_>) -> bool {
        require(granted, need).is_ok()
    }

    #[test]
    fn keryx_s_granular_set_allows_a_post_and_nothing_else() {
        let post = Need::Repo {
            collection: "app.bsky.feed.post",
            action: "create",
        };
        assert!(ok(KERYX, post));
        assert!(!ok(
            KERYX,
            Need::Repo {
                collection: "app.bsky.feed.like",
                action: "create"
            }
        ));
        assert!(!ok(
            KERYX,
            Need::Repo {
                collection: "app.bsky.feed.post",
                action: "delete"
            }
        ));
        assert!(ok(KERYX, Need::Blob { mime: "video/mp4" }));
        assert!(ok(KERYX, Need::Blob { mime: "text/vtt" }));
        assert!(!ok(KERYX, Need::Blob { mime: "image/png" }));
        let upload = |aud| Need::Rpc {
            lxm: "com.atproto.repo.uploadBlob",
            aud,
        };
        assert!(ok(KERYX, upload("did:web:localhost")));
        let limits = |aud| Need::Rpc {
            lxm: "app.bsky.video.getUploadLimits",
            aud,
        };
        assert!(ok(KERYX, limits("did:web:video.bsky.app")));
        let exact =
            "atproto rpc:app.bsky.video.getUploadLimits?aud=did:web:video.bsky.app#bsky_video";
        assert!(ok(exact, limits("did:web:video.bsky.app#bsky_video")));
        assert!(!ok(exact, limits("did:web:video.bsky.app")));
        assert!(ok("atproto transition:generic", limits("did:web:x")));
        assert!(!ok("atproto rpc:*?aud=*", upload("did:web:localhost")));
    }

    #[test]
    fn scopes_the_real_server_cannot_parse_are_dropped_from_the_grant() {
        assert_eq!(
            grantable(
                "atproto rpc:app.bsky.video.getUploadLimits?aud=did:web:video.bsky.app \
                 rpc:*?aud=* rpc:a.b.c?aud=did:web:x#svc rpc:a.b.c?aud=* blob:video/*"
            ),
            "atproto rpc:a.b.c?aud=did:web:x#svc rpc:a.b.c?aud=* blob:video/*"
        );
    }

    #[test]
    fn the_refusal_names_the_scope_as_the_real_server_does() {
        let refused = require("atproto", Need::Blob { mime: "text/vtt" }).unwrap_err();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let refused = require(
            "atproto",
            Need::Rpc {
                lxm: "com.atproto.repo.uploadBlob",
                aud: "did:web:video.bsky.app",
            },
        );
        assert!(refused.is_err());
        assert_eq!(
            Need::Rpc {
                lxm: "com.atproto.repo.uploadBlob",
                aud: "did:web:video.bsky.app"
            }
            .scope(),
            "rpc:com.atproto.repo.uploadBlob?aud=did:web:video.bsky.app"
        );
        assert_eq!(
            Need::Repo {
                collection: "app.bsky.feed.like",
                action: "create"
            }
            .scope(),
            "repo:app.bsky.feed.like?action=create"
        );
    }
}
