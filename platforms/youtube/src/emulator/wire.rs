//! Response shapes: Google's flat OAuth errors, the API error envelope, the hosted error page of
//! the consent step, and the plain-text replies of the upload server.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Google's JSON content type (reference §2.3).
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

pub(crate) fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON body, pretty-printed as Google's front end does.
pub(crate) fn json_reply(code: u16, body: &Value) -> Response {
    raw_json(code, serde_json::to_string_pretty(body).unwrap_or_default())
}

pub(crate) fn raw_json(code: u16, body: String) -> Response {
    let mut response = (status(code), body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// Plain text, as some upload-server errors are (reference §5.3, last bullet).
pub(crate) fn plain(code: u16, text: impl Into<String>) -> Response {
    let mut response = (status(code), text.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Flat OAuth error of the token and revoke endpoints (reference §2.4): `{error, error_description}`.
pub(crate) fn oauth_error(code: u16, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    let mut response = json_reply(code, &body);
    no_store(&mut response);
    response
}

pub(crate) fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Google's hosted error page: shown instead of a redirect when the client or redirect URI is
/// wrong, so the app never hears back (reference §1.5, §9.1). The error code is in an element
/// with id `error` so tests can find it.
pub(crate) fn error_page(error: &str, description: &str, details: &[(&str, &str)]) -> Response {
    let mut rows = String::new();
    for (key, value) in details {
        rows.push_str(&format!("<li>{}={}</li>", escape(key), escape(value)));
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error 400 ({error})!!1</title></head>\n\
         <body><h1>Access blocked: This app's request is invalid</h1>\n<p>{}</p>\n\
         <p>Error 400: <span id=\"error\">{}</span></p>\n<p>Request details:</p><ul>{rows}</ul>\n</body></html>\n",
        escape(description),
        escape(error),
        error = escape(error),
    );
    let mut response = (StatusCode::BAD_REQUEST, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An API error in the envelope of reference §5.3:
/// `{"error":{"code","message","errors":[{message,domain,reason,(location,locationType)}],"status"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError(Box<ErrorBody>);

/// Boxed: the error travels in `Result`s and should stay small.
#[derive(Debug, Clone)]
struct ErrorBody {
    code: u16,
    reason: &'static str,
    domain: &'static str,
    message: String,
    item_message: Option<String>,
    location: Option<(String, &'static str)>,
    grpc_status: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(
        code: u16,
        domain: &'static str,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(ErrorBody {
            code,
            reason,
            domain,
            message: message.into(),
            item_message: None,
            location: None,
            grpc_status: Some(grpc_status(code)),
        }))
    }

    /// `errors[0].reason`, the machine-readable key.
    pub(crate) fn reason(&self) -> &'static str {
        self.0.reason
    }

    /// `errors[0].message` when it differs from the top-level message (e.g. insufficientPermissions).
    pub(crate) fn item_message(mut self, message: impl Into<String>) -> Self {
        self.0.item_message = Some(message.into());
        self
    }

    /// `errors[0].location` and `locationType` (`header`, `parameter`).
    pub(crate) fn at(mut self, location: impl Into<String>, kind: &'static str) -> Self {
        self.0.location = Some((location.into(), kind));
        self
    }

    /// Replies such as `quotaExceeded` come without the gRPC-style `status` (reference §5.3).
    pub(crate) fn without_status(mut self) -> Self {
        self.0.grpc_status = None;
        self
    }

    pub(crate) fn bad_request(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(400, "global", reason, message)
    }

    pub(crate) fn video(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(code, "youtube.video", reason, message)
    }

    pub(crate) fn required_parameter(name: &str) -> Self {
        ApiError::bad_request("required", format!("Required parameter: {name}"))
            .at(name, "parameter")
    }

    pub(crate) fn quota_exceeded() -> Self {
        ApiError::new(
            403,
            "youtube.quota",
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
        )
        .without_status()
    }

    pub(crate) fn response(&self) -> Response {
        let e = &self.0;
        let mut item = json!({
            "message": e.item_message.as_deref().unwrap_or(&e.message),
            "domain": e.domain,
            "reason": e.reason,
        });
        if let Some((location, kind)) = &e.location {
            item["location"] = json!(location);
            item["locationType"] = json!(kind);
        }
        let mut error = json!({ "code": e.code, "message": e.message, "errors": [item] });
        if let Some(grpc) = e.grpc_status {
            error["status"] = json!(grpc);
        }
        let mut response = json_reply(e.code, &json!({ "error": error }));
        if e.code == 401 {
            // What Google's front end sends with a 401 (RFC 6750 §3).
            let value = if e.reason == "authError" {
                "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"https://accounts.google.com/\""
            };
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        response
    }
}

/// The gRPC-style status names newer Google replies carry next to `code` (reference §5.3).
fn grpc_status(code: u16) -> &'static str {
    match code {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// Query or form parameters in order, keeping duplicates so they can be refused (RFC 6749 §3.1:
/// request parameters must not be included more than once).
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(text: &[u8]) -> Params {
        Params(
            url::form_urlencoded::parse(text)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(crate) fn from_query(query: Option<&str>) -> Params {
        Params::parse(query.unwrap_or("").as_bytes())
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The first key that appears more than once.
    pub(crate) fn duplicate(&self) -> Option<&str> {
        self.0
            .iter()
            .enumerate()
            .find(|(i, (k, _))| self.0[..*i].iter().any(|(j, _)| j == k))
            .map(|(_, (k, _))| k.as_str())
    }
}
