//! Routing of `graph.facebook.com`: the version prefix, the token, throttling and faults, then
//! the node or edge asked for.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::login::{self, accounts_of, check_token, missing_scope};
use super::{App, PAGES, bearer, graph_error, media, query_params};

type Q = RawQuery;

pub(crate) async fn get1(
    State(app): State<App>,
    Path(a): Path<String>,
    RawQuery(q): Q,
    h: HeaderMap,
) -> Response {
    handle(&app, false, &[a], q, &h, &[])
}
pub(crate) async fn post1(
    State(app): State<App>,
    Path(a): Path<String>,
    RawQuery(q): Q,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&app, true, &[a], q, &h, &body)
}
pub(crate) async fn get2(
    State(app): State<App>,
    Path((a, b)): Path<(String, String)>,
    RawQuery(q): Q,
    h: HeaderMap,
) -> Response {
    handle(&app, false, &[a, b], q, &h, &[])
}
pub(crate) async fn post2(
    State(app): State<App>,
    Path((a, b)): Path<(String, String)>,
    RawQuery(q): Q,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&app, true, &[a, b], q, &h, &body)
}
pub(crate) async fn get3(
    State(app): State<App>,
    Path((a, b, c)): Path<(String, String, String)>,
    RawQuery(q): Q,
    h: HeaderMap,
) -> Response {
    handle(&app, false, &[a, b, c], q, &h, &[])
}
pub(crate) async fn post3(
    State(app): State<App>,
    Path((a, b, c)): Path<(String, String, String)>,
    RawQuery(q): Q,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&app, true, &[a, b, c], q, &h, &body)
}

/// Parameters from the query, a form body or a JSON body (reference §0: all three occur).
fn params(query: Option<String>, headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let mut params = query_params(query.as_deref());
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            for (k, v) in map {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                params.insert(k, text);
            }
        }
    } else {
        params.extend(url::form_urlencoded::parse(body).into_owned());
    }
    params
}

fn unknown_path(segments: &[String]) -> Response {
    graph_error(
        400,
        2500,
        None,
        &format!("Unknown path components: /{}", segments.join("/")),
        false,
    )
}

fn unsupported(post: bool, node: &str) -> Response {
    let verb = if post { "post" } else { "get" };
    graph_error(
        400,
        100,
        Some(33),
        &format!(
            "Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        ),
        false,
    )
}

/// Throttled (reference §4, §6.17): the usage headers at 100 % and the chosen code.
fn throttled(code: i64, who: &str) -> Response {
    let message = match code {
        4 => "(#4) Application request limit reached",
        17 => "(#17) User request limit reached",
        32 => "(#32) Page request limit reached",
        613 => "(#613) Calls to this api have exceeded the rate limit.",
        _ => {
            "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again."
        }
    };
    let mut response = graph_error(400, code, None, message, true);
    let usage = json!({ who: [{"type": "instagram", "call_count": 100, "total_cputime": 12, "total_time": 34, "estimated_time_to_regain_access": 60}] });
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&usage.to_string()) {
        headers.insert("x-business-use-case-usage", v);
    }
    headers.insert(
        "x-app-usage",
        HeaderValue::from_static(r#"{"call_count":100,"total_cputime":12,"total_time":34}"#),
    );
    response
}

fn handle(
    app: &App,
    post: bool,
    segments: &[String],
    query: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let params = params(query, headers, body);
    let mut inner = app.lock();
    inner.counters.graph_requests += 1;
    let n = inner.counters.graph_requests;
    if inner.settings.fail_graph_with_5xx.contains(&n) {
        return graph_error(
            500,
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
            true,
        );
    }
    let (v, rest) = if crate::config::is_version(&segments[0]) {
        (segments[0].clone(), &segments[1..])
    } else if inner.settings.unversioned {
        (crate::config::DEFAULT_GRAPH_VERSION.to_string(), segments)
    } else {
        return unknown_path(segments);
    };
    if rest.is_empty() {
        return unknown_path(segments);
    }
    let node = rest[0].as_str();
    let edge = rest.get(1).map(String::as_str);
    if node == "oauth" && edge == Some("access_token") && rest.len() == 2 {
        return login::access_token(&mut inner, &params);
    }
    if rest.len() > 2 {
        return unknown_path(segments);
    }
    if let Some(code) = inner.settings.throttle {
        return throttled(code, super::FIRST_IG_USER);
    }
    let token = match check_token(&inner, bearer(&params, headers).as_deref()) {
        Ok(token) => token,
        Err(refused) => return refused,
    };
    let base = app.base_url.to_string();
    match (post, node, edge) {
        (false, "me", None) => return login::me(&token),
        (false, "me", Some("accounts")) => {
            return login::accounts(&mut inner, &token, &params, &base, &v);
        }
        (false, "me", Some("permissions")) => return login::permissions(&token),
        _ => {}
    }
    if PAGES.iter().any(|p| p.ig.is_some_and(|ig| ig.0 == node)) {
        if !accounts_of(&token).contains(&node) {
            return unsupported(post, node);
        }
        return match (post, edge) {
            (false, None) => {
                if let Some(refused) = missing_scope(&inner, &token, "instagram_basic") {
                    return refused;
                }
                let username = PAGES
                    .iter()
                    .find_map(|p| p.ig.filter(|ig| ig.0 == node))
                    .map(|ig| ig.1)
                    .unwrap_or_default();
                axum::Json(json!({"id": node, "username": username})).into_response()
            }
            (true, Some("media")) => media::create(&mut inner, &token, node, &params, &base, &v),
            (false, Some("media")) => media::list(&inner, node, &params),
            (true, Some("media_publish")) => media::publish(&mut inner, &token, node, &params),
            (false, Some("content_publishing_limit")) => media::limit(&inner, node, &params),
            _ => unsupported(post, node),
        };
    }
    if post && edge == Some("video_reels") && PAGES.iter().any(|p| p.id == node) {
        return super::page_reels::video_reels(&mut inner, &token, node, &params, &base, &v);
    }
    if post || edge.is_some() {
        return unsupported(post, node);
    }
    if super::page_reels::is_reel(&inner, node) {
        return super::page_reels::status(&inner, &token, node);
    }
    if let Some(page) = PAGES.iter().find(|p| p.id == node) {
        let visible = match &token.kind {
            super::TokenKind::User => login::visible_pages(&token).iter().any(|p| p.id == node),
            super::TokenKind::Page(id) => id == node,
        };
        if !visible {
            return unsupported(post, node);
        }
        let fields = params
            .get("fields")
            .cloned()
            .unwrap_or_else(|| "id,name".into());
        let mut reply = json!({"id": page.id});
        for field in fields.split(',') {
            match field {
                "name" => reply["name"] = page.name.into(),
                "access_token" if token.kind == super::TokenKind::User => {
                    reply["access_token"] = login::page_token(&mut inner, &token, page.id).into();
                }
                "instagram_business_account" => {
                    if let Some((ig, _)) = page.ig {
                        reply["instagram_business_account"] = json!({"id": ig});
                    }
                }
                _ => {}
            }
        }
        return axum::Json(reply).into_response();
    }
    if inner.containers.contains_key(node) {
        return media::status(&mut inner, &token, node, &params);
    }
    if inner.media.iter().any(|m| m["id"] == node) {
        return media::read(&inner, &token, node, &params);
    }
    unsupported(post, node)
}
