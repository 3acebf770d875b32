//! Response shapes: TikTok's flat OAuth errors, the v2 `data`/`error` envelope, and the HTML
//! error page of the authorize step.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A handler's early exit carries the finished error response.
pub(crate) type Reply = std::result::Result<Response, Response>;

/// Flat OAuth error (reference §3.4): `{error, error_description, log_id}`, no envelope.
pub(crate) fn oauth_error(
    status: StatusCode,
    error: &str,
    description: &str,
    log_id: &str,
) -> Response {
    let body = json!({ "error": error, "error_description": description, "log_id": log_id });
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// Success in the v2 envelope (reference §5.4).
pub(crate) fn api_ok(data: Value, log_id: &str) -> Response {
    api_body(StatusCode::OK, data, "ok", "", log_id)
}

/// Failure in the v2 envelope. `data` is `{}`, as in observed error bodies (reference §5.4).
pub(crate) fn api_error(status: StatusCode, code: &str, message: &str, log_id: &str) -> Response {
    api_body(status, json!({}), code, message, log_id)
}

pub(crate) fn api_body(
    status: StatusCode,
    data: Value,
    code: &str,
    message: &str,
    log_id: &str,
) -> Response {
    let body =
        json!({ "data": data, "error": { "code": code, "message": message, "log_id": log_id } });
    (status, axum::Json(body)).into_response()
}

/// Error envelopes leave out `data` when the `error_data: omitted` knob says so (reference §5.4
/// observed both shapes); success envelopes are passed through untouched.
pub(crate) async fn shape_error_data(
    axum::extract::State(app): axum::extract::State<super::App>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let omit = app.shared.lock().settings.error_data == super::knobs::ErrorData::Omitted;
    if !omit {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Envelopes are a few hundred bytes; anything larger is not one of ours.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "emulator: unreadable reply",
        )
            .into_response();
    };
    let mut envelope: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    if envelope["error"]["code"] != "ok"
        && let Some(object) = envelope.as_object_mut()
    {
        object.remove("data");
    }
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// 429 `rate_limit_exceeded` with a `Retry-After` in whole seconds.
pub(crate) fn rate_limited(retry_after_secs: u64, log_id: &str) -> Response {
    let mut resp = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
        "The API rate limit was exceeded. Please try again later.",
        log_id,
    );
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs.max(1)),
    );
    resp
}

/// TikTok's hosted error page: shown instead of a redirect when the client key or redirect URI
/// is wrong, so the app never hears back (reference §2, observed).
pub(crate) fn error_page(
    error: &str,
    error_type: &str,
    description: &str,
    log_id: &str,
) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>TikTok - Authorization error</title></head><body>\n\
         <h1>Something went wrong</h1>\n<p>{}</p>\n<dl><dt>error</dt><dd id=\"error\">{}</dd>\
         <dt>error_type</dt><dd id=\"error_type\">{}</dd><dt>log_id</dt><dd id=\"log_id\">{}</dd></dl>\n\
         </body></html>\n",
        escape(description),
        escape(error),
        escape(error_type),
        escape(log_id)
    );
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The media type of `Content-Type`, lowercased, and its parameters (names lowercased).
pub(crate) fn content_type(headers: &HeaderMap) -> Option<(String, Vec<(String, String)>)> {
    let raw = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mut parts = raw.split(';');
    let media = parts.next()?.trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    Some((media, params))
}

/// `application/json; charset=UTF-8`, as every v2 POST must send (reference §5.1, §5.2, §7).
pub(crate) fn is_json_utf8(headers: &HeaderMap) -> bool {
    match content_type(headers) {
        Some((media, params)) => {
            media == "application/json"
                && params
                    .iter()
                    .any(|(k, v)| k == "charset" && (v.eq_ignore_ascii_case("utf-8")))
        }
        None => false,
    }
}
