//! The emulated PDS's XRPC handlers. Errors are `{"error","message"}` with the real server's
//! codes and messages (reference §6).

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::accounts::{self, Account, by_did, is_repo_of};
use super::scopes;
use super::{
    App, Blob, Inner, REFRESH_GRACE_SECS, REFRESH_TTL_SECS, Record, Refresh, SERVICE_DID, lexicon,
};
use crate::cid;

type Params = Query<HashMap<String, String>>;

fn now() -> i64 {
    keryx_core::tokens::unix_now()
}

pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message})),
    )
        .into_response()
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Inner {
    /// A JWT shaped like the PDS's (HS256 header; the signature is a keyed SHA-256 here).
    fn jwt(&self, typ: &str, scope: &str, sub: &str, exp: i64) -> String {
        let header = b64(json!({"typ": typ, "alg": "HS256"}).to_string().as_bytes());
        let jti = hex::encode(rand::random::<[u8; 16]>());
        let payload = json!({"scope": scope, "sub": sub, "aud": SERVICE_DID, "iat": now(), "exp": exp, "jti": jti});
        let body = format!("{header}.{}", b64(payload.to_string().as_bytes()));
        let signature = b64(&Sha256::digest(format!("{}.{body}", self.key)));
        format!("{body}.{signature}")
    }

    pub(super) fn verified(&self, token: &str) -> Option<Value> {
        let (body, signature) = token.rsplit_once('.')?;
        if b64(&Sha256::digest(format!("{}.{body}", self.key))) != signature {
            return None;
        }
        let payload = body.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn issue_pair(&mut self, did: &str) -> (String, String) {
        let access_exp = now() + self.settings.access_ttl_secs;
        let access = self.jwt("at+jwt", "com.atproto.appPass", did, access_exp);
        let refresh_exp = now() + REFRESH_TTL_SECS;
        let refresh = self.jwt("refresh+jwt", "com.atproto.refresh", did, refresh_exp);
        self.access
            .insert(access.clone(), (did.to_string(), access_exp));
        self.refresh.insert(
            refresh.clone(),
            Refresh {
                did: did.to_string(),
                exp: refresh_exp,
                revoked: false,
                next: None,
            },
        );
        (access, refresh)
    }

    /// One more upload request from keryx (uploadBlob or the video service's uploadVideo):
    /// `(blob limit, drop its connection, answer 5xx)` by the knobs.
    pub(super) fn upload_fault(&mut self) -> (u64, bool, bool) {
        self.counters.upload_requests += 1;
        let n = self.counters.upload_requests;
        let s = &self.settings;
        (
            s.blob_limit,
            s.drop_connection_on_upload.contains(&n),
            s.fail_uploads_with_5xx.contains(&n),
        )
    }

    fn next_tid(&mut self) -> String {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let tid = (micros << 10).max(self.last_tid + 1) & (u64::MAX >> 1);
        self.last_tid = tid;
        crate::tid::encode(tid)
    }
}

fn session_body(account: &Account, access: &str, refresh: &str) -> Value {
    json!({"accessJwt": access, "refreshJwt": refresh, "handle": account.handle,
           "did": account.did, "email": account.email, "emailConfirmed": false, "active": true})
}

/// The account of a DID this PDS issued a token for.
fn account_of(did: &str) -> &'static Account {
    by_did(did).unwrap_or(&accounts::ACCOUNTS[0])
}

fn bearer(headers: &HeaderMap) -> Option<Option<String>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    Some(value.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
}

/// The DID an access token belongs to, or the PDS's refusal. `DPoP` tokens need a proof for
/// this request (`method` on `url`) by the key the session is bound to.
fn authorise(
    inner: &mut Inner,
    headers: &HeaderMap,
    method: &Method,
    url: &str,
) -> Result<String, Response> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("DPoP "))
    {
        let token = token.trim().to_string();
        let nonce = inner.oauth.nonce.clone();
        let with_nonce = |mut r: Response, www: bool| {
            r.headers_mut()
                .insert("dpop-nonce", nonce.parse().expect("a header value"));
            if www {
                let value = "DPoP algs=\"ES256\", error=\"use_dpop_nonce\", error_description=\"Authorization server requires nonce in DPoP proof\"";
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    value.parse().expect("a header value"),
                );
            }
            r
        };
        let Some((did, bound)) = inner
            .oauth
            .access_did(&token)
            .map(|(d, j)| (d.to_string(), j.to_string()))
        else {
            return Err(with_nonce(
                error(StatusCode::UNAUTHORIZED, "invalid_token", "Invalid token"),
                false,
            ));
        };
        let jkt = super::oauth::check_proof(inner, headers, method.as_str(), url, Some(&token))
            .map_err(|(status, code, message)| {
                with_nonce(error(status, code, &message), code == "use_dpop_nonce")
            })?;
        if jkt != bound {
            return Err(with_nonce(
                error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Invalid DPoP key binding",
                ),
                false,
            ));
        }
        if inner.settings.rate_limited {
            return Err(error(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimitExceeded",
                "Rate Limit Exceeded",
            ));
        }
        return Ok(did);
    }
    let Some(scheme) = bearer(headers) else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "AuthMissing",
            "Authentication Required",
        ));
    };
    let Some(token) = scheme else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Malformed token",
        ));
    };
    let Some(payload) = inner.verified(&token) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Token could not be verified",
        ));
    };
    if payload.get("scope").and_then(Value::as_str) == Some("com.atproto.refresh") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Bad token scope",
        ));
    }
    let Some((did, exp)) = inner.access.get(&token) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Token could not be verified",
        ));
    };
    if *exp <= now() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "Token has expired",
        ));
    }
    if inner.settings.rate_limited {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            "Rate Limit Exceeded",
        );
        response
            .headers_mut()
            .insert("retry-after", "290".parse().expect("a header value"));
        return Err(response);
    }
    Ok(did.clone())
}

/// The scope granted to the OAuth session of this request's `DPoP` access token; `None` for
/// app-password sessions, which are not scope-checked. Call after [`authorise`] accepted it.
fn granted(inner: &Inner, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("DPoP ")?
        .trim();
    inner.oauth.access_scope(token).map(str::to_string)
}

/// [`scopes::require`] for OAuth sessions.
fn require(inner: &Inner, headers: &HeaderMap, need: scopes::Need<'_>) -> Result<(), Response> {
    match granted(inner, headers) {
        Some(scope) => scopes::require(&scope, need),
        None => Ok(()),
    }
}

pub(super) async fn resolve_handle(Query(q): Params) -> Response {
    match q.get("handle").map(String::as_str) {
        None => invalid("Error: Params must have the property \"handle\""),
        Some(handle) if accounts::find(handle).is_some_and(|a| a.handle == handle) => {
            let did = accounts::find(handle).map(|a| a.did);
            axum::Json(json!({ "did": did })).into_response()
        }
        Some(_) => error(
            StatusCode::BAD_REQUEST,
            "HandleNotFound",
            "Unable to resolve handle",
        ),
    }
}

pub(super) async fn describe_server(State(app): State<App>) -> Response {
    let limit = app.lock().settings.blob_limit;
    axum::Json(
        json!({"did": SERVICE_DID, "availableUserDomains": [".test"],
        "inviteCodeRequired": false, "links": {}, "contact": {}, "blobUploadLimit": limit}),
    )
    .into_response()
}

pub(super) async fn create_session(State(app): State<App>, body: Bytes) -> Response {
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return invalid("Request encoding (Content-Type) required but not provided");
    };
    let (Some(identifier), Some(password)) = (
        input.get("identifier").and_then(Value::as_str),
        input.get("password").and_then(Value::as_str),
    ) else {
        return invalid("Input must have the property \"identifier\" and \"password\"");
    };
    // Each account signs in with its own passwords only.
    let account =
        accounts::find(identifier).filter(|a| [a.app_password, a.password].contains(&password));
    let Some(account) = account else {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "Invalid identifier or password",
        );
    };
    let mut inner = app.lock();
    inner.counters.sessions_created += 1;
    let (access, refresh) = inner.issue_pair(account.did);
    axum::Json(session_body(account, &access, &refresh)).into_response()
}

pub(super) async fn refresh_session(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(scheme) = bearer(&headers) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthMissing",
            "Authentication Required",
        );
    };
    let Some(token) = scheme else {
        return error(StatusCode::BAD_REQUEST, "InvalidToken", "Malformed token");
    };
    let mut inner = app.lock();
    inner.counters.refreshes += 1;
    let verified = inner.verified(&token);
    let Some(refresh) = verified.and_then(|_| inner.refresh.get(&token)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Token could not be verified",
        );
    };
    if refresh.revoked {
        return error(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "Token has been revoked",
        );
    }
    if refresh.exp <= now() {
        return error(StatusCode::BAD_REQUEST, "ExpiredToken", "Token has expired");
    }
    let did = refresh.did.clone();
    match refresh.next.clone() {
        // Within the grace period the used token answers with the same successor.
        Some((access, next, until)) if until > now() => {
            axum::Json(session_body(account_of(&did), &access, &next)).into_response()
        }
        Some(_) => error(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "Token has been revoked",
        ),
        None => {
            let (access, next) = inner.issue_pair(&did);
            if let Some(used) = inner.refresh.get_mut(&token) {
                used.next = Some((access.clone(), next.clone(), now() + REFRESH_GRACE_SECS));
            }
            axum::Json(session_body(account_of(&did), &access, &next)).into_response()
        }
    }
}

/// `deleteSession` with the refresh JWT (observed): 200 with an empty body, also for a token
/// already revoked; the refresh is dead afterwards (`Token has been revoked`), the access JWT
/// lives on until it expires; an access JWT or garbage: 400 `Token could not be verified`.
pub(super) async fn delete_session(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(scheme) = bearer(&headers) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthMissing",
            "Authentication Required",
        );
    };
    let Some(token) = scheme else {
        return error(StatusCode::BAD_REQUEST, "InvalidToken", "Malformed token");
    };
    let mut inner = app.lock();
    let verified = inner.verified(&token);
    let Some(refresh) = verified.and_then(|_| inner.refresh.get_mut(&token)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Token could not be verified",
        );
    };
    refresh.revoked = true;
    inner.counters.sessions_deleted += 1;
    StatusCode::OK.into_response()
}

pub(super) async fn get_session(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let url = format!("{}{}", app.base, uri.path());
    let mut inner = app.lock();
    match authorise(&mut inner, &headers, &method, &url) {
        Ok(did) => {
            let account = account_of(&did);
            axum::Json(json!({"did": account.did, "handle": account.handle,
                "email": account.email, "emailConfirmed": false, "active": true}))
            .into_response()
        }
        Err(response) => response,
    }
}

pub(super) async fn upload_blob(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let url = format!("{}{}", app.base, uri.path());
    let (limit, drop_connection, fail, owner) = {
        let mut inner = app.lock();
        // The video service stores videos with the user's service token (reference §4.2).
        let service = bearer(&headers)
            .flatten()
            .and_then(|t| inner.verified(&t))
            .filter(|c| c.get("lxm").is_some() || c.get("iss").is_some());
        if let Some(claims) = service {
            let owner = match check_service_token(&claims, "com.atproto.repo.uploadBlob") {
                Ok(did) => did,
                Err(response) => return response,
            };
            // The video service storing what keryx sent it: not one of keryx's uploads, so
            // neither counted nor faulted (the knobs number keryx's upload requests).
            (inner.settings.blob_limit, false, false, owner)
        } else {
            let owner = match authorise(&mut inner, &headers, &method, &url) {
                Ok(did) => did,
                Err(response) => return response,
            };
            // The real server checks the permission for the declared encoding.
            if let Some(mime) = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
                && let Err(response) = require(&inner, &headers, scopes::Need::Blob { mime: &mime })
            {
                return response;
            }
            let (limit, drop_connection, fail) = inner.upload_fault();
            (limit, drop_connection, fail, owner)
        }
    };
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return invalid("Request encoding (Content-Type) required but not provided");
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|d| d > limit) {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "request entity too large",
        );
    }
    let mut stream = body.into_data_stream();
    if drop_connection {
        // Read a little, then end the connection without a reply: unwinding out of the handler
        // makes hyper drop it, and `resume_unwind` skips the panic hook.
        let _ = stream.next().await;
        std::panic::resume_unwind(Box::new(()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > limit {
                    return error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "PayloadTooLarge",
                        "request entity too large",
                    );
                }
            }
            Err(_) => return invalid("request body ended before its Content-Length"),
        }
    }
    app.lock().counters.bytes_received += bytes.len() as u64;
    if let Some(declared) = declared
        && declared != bytes.len() as u64
    {
        return invalid("request body does not match its Content-Length");
    }
    if fail {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        );
    }
    // Like the real PDS, the type is sniffed: MP4 bytes are video/mp4 whatever was declared.
    let mime = if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        "video/mp4".to_string()
    } else {
        content_type
    };
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let cid = cid::raw_sha256(&digest);
    let size = bytes.len();
    app.lock().blobs.insert(
        (owner, cid.clone()),
        Blob {
            mime: mime.clone(),
            bytes,
        },
    );
    axum::Json(
        json!({"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": size}}),
    )
    .into_response()
}

pub(super) async fn create_record(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!("{}{}", app.base, uri.path());
    let mut inner = app.lock();
    let did = match authorise(&mut inner, &headers, &method, &url) {
        Ok(did) => did,
        Err(response) => return response,
    };
    inner.counters.create_record_requests += 1;
    let n = inner.counters.create_record_requests;
    if body.len() > 1_000_000 {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "request entity too large",
        );
    }
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return invalid("Request encoding (Content-Type) required but not provided");
    };
    for key in ["repo", "collection", "record"] {
        if input.get(key).is_none() {
            return invalid(&format!("Input must have the property \"{key}\""));
        }
    }
    let repo = input["repo"].as_str().unwrap_or("");
    if !is_repo_of(repo, &did) {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "Authentication Required",
        );
    }
    let collection = input["collection"].as_str().unwrap_or("").to_string();
    if collection.split('.').count() < 3 {
        return invalid("Input/collection must be a valid NSID");
    }
    if let Err(response) = require(
        &inner,
        &headers,
        scopes::Need::Repo {
            collection: &collection,
            action: "create",
        },
    ) {
        return response;
    }
    let record = input["record"].clone();
    let validate = input.get("validate").and_then(Value::as_bool) != Some(false);
    if validate && let Some(message) = lexicon::check(&collection, &record) {
        return invalid(&message);
    }
    for blob in lexicon::blob_refs(&record) {
        // A blob of another account's repo is not this one's to use.
        if !inner.blobs.contains_key(&(did.clone(), blob.clone())) {
            return error(
                StatusCode::BAD_REQUEST,
                "BlobNotFound",
                &format!("Could not find blob: {blob}"),
            );
        }
    }
    let rkey = match input.get("rkey").and_then(Value::as_str) {
        Some(rkey) => rkey.to_string(),
        None => inner.next_tid(),
    };
    if collection == lexicon::POST && !crate::tid::is_valid(&rkey) {
        return invalid(&format!(
            "Invalid record key for {collection}: Invalid TID string (got \"{rkey}\") at $"
        ));
    }
    // What 0.5.35 answers for a second record at a taken key (observed).
    if inner
        .records
        .iter()
        .any(|r| r.did == did && r.collection == collection && r.rkey == rkey)
    {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        );
    }
    // The shape of a dag-cbor CID; the hash is of the JSON, not of DAG-CBOR.
    let digest: [u8; 32] = Sha256::digest(record.to_string()).into();
    let record_cid = cid::dag_cbor_sha256(&digest);
    let uri = format!("at://{did}/{collection}/{rkey}");
    let rev = inner.next_tid();
    inner.records.push(Record {
        did: did.clone(),
        collection,
        rkey,
        cid: record_cid.clone(),
        value: record,
    });
    if inner.settings.lose_create_record_reply.contains(&n) {
        return (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response();
    }
    let mut answer =
        json!({"uri": uri, "cid": record_cid, "commit": {"cid": record_cid, "rev": rev}});
    if validate {
        answer["validationStatus"] = json!("valid");
    }
    axum::Json(answer).into_response()
}

fn required<'a>(q: &'a HashMap<String, String>, key: &str) -> Result<&'a str, Response> {
    q.get(key)
        .map(String::as_str)
        .ok_or_else(|| invalid(&format!("Error: Params must have the property \"{key}\"")))
}

pub(super) async fn get_record(State(app): State<App>, Query(q): Params) -> Response {
    let (repo, collection, rkey) = match (
        required(&q, "repo"),
        required(&q, "collection"),
        required(&q, "rkey"),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    let inner = app.lock();
    let did = accounts::find(repo)
        .filter(|a| is_repo_of(repo, a.did))
        .map(|a| a.did);
    let found = did.and_then(|did| {
        inner
            .records
            .iter()
            .find(|r| r.did == did && r.collection == collection && r.rkey == rkey)
    });
    match found {
        Some(r) => axum::Json(json!({"uri": format!("at://{}/{collection}/{rkey}", r.did), "cid": r.cid, "value": r.value}))
            .into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            "RecordNotFound",
            &format!("Could not locate record: at://{repo}/{collection}/{rkey}"),
        ),
    }
}

pub(super) async fn list_records(State(app): State<App>, Query(q): Params) -> Response {
    let (repo, collection) = match (required(&q, "repo"), required(&q, "collection")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(Ok(l)) if l > 100 => return invalid("Error: limit can not be greater than 100"),
        Some(_) => return invalid("Error: limit must be a valid integer"),
    };
    let reverse = q.get("reverse").is_some_and(|r| r == "true");
    let cursor = q.get("cursor");
    let inner = app.lock();
    let Some(did) = accounts::find(repo)
        .filter(|a| is_repo_of(repo, a.did))
        .map(|a| a.did)
    else {
        return invalid(&format!("Could not find repo: {repo}"));
    };
    let mut records: Vec<&Record> = inner
        .records
        .iter()
        .filter(|r| r.did == did && r.collection == collection)
        .collect();
    // rkeys are TIDs: their order is time order. Newest first unless `reverse`.
    records.sort_by(|a, b| a.rkey.cmp(&b.rkey));
    if !reverse {
        records.reverse();
    }
    let page: Vec<&Record> = records
        .into_iter()
        .filter(|r| cursor.is_none_or(|c| if reverse { r.rkey > *c } else { r.rkey < *c }))
        .take(limit)
        .collect();
    let mut answer = json!({"records": page.iter().map(|r| json!({
        "uri": format!("at://{did}/{collection}/{}", r.rkey), "cid": r.cid, "value": r.value
    })).collect::<Vec<_>>()});
    if page.len() == limit
        && let Some(last) = page.last()
    {
        answer["cursor"] = json!(last.rkey);
    }
    axum::Json(answer).into_response()
}

pub(super) async fn get_blob(State(app): State<App>, Query(q): Params) -> Response {
    let (did, cid) = match (required(&q, "did"), required(&q, "cid")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let inner = app.lock();
    match inner.blobs.get(&(did.to_string(), cid.to_string())) {
        Some(blob) => (
            [(header::CONTENT_TYPE, blob.mime.clone())],
            blob.bytes.clone(),
        )
            .into_response(),
        None => error(StatusCode::BAD_REQUEST, "BlobNotFound", "Blob not found"),
    }
}

/// A service token presented to this PDS: audience, method and expiry as the atproto verifier
/// checks them (`aud=did:web:localhost#atproto_pds` is refused, reference §4.2). Returns the
/// issuer, an account of this PDS.
fn check_service_token(claims: &Value, lxm: &str) -> Result<String, Response> {
    let field = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
    if field("aud") != SERVICE_DID {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "BadJwtAudience",
            "jwt audience does not match service did",
        ));
    }
    if claims.get("exp").and_then(Value::as_i64).unwrap_or(0) <= now() {
        return Err(error(StatusCode::UNAUTHORIZED, "JwtExpired", "jwt expired"));
    }
    if field("lxm") != lxm || by_did(field("iss")).is_none() {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "BadJwtLexiconMethod",
            &format!("bad jwt lexicon method (\"lxm\"). must match: {lxm}"),
        ));
    }
    Ok(field("iss").to_string())
}

/// Methods no service token may be asked for (the PDS's protected list, in part).
const PROTECTED: [&str; 4] = [
    "com.atproto.server.createAppPassword",
    "com.atproto.server.createAccount",
    "com.atproto.server.deleteAccount",
    "com.atproto.identity.requestPlcOperationSignature",
];

/// `getServiceAuth`: an ES256K-shaped JWT (`iss` the user, `aud`, `lxm`, `exp`), its checks and
/// error bodies those of reference §6.
pub(super) async fn get_service_auth(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let url = format!("{}{}", app.base, uri.path());
    let mut inner = app.lock();
    let did = match authorise(&mut inner, &headers, &method, &url) {
        Ok(did) => did,
        Err(response) => return response,
    };
    let aud = q.get("aud").map(String::as_str).unwrap_or_default();
    // Checked before the parameters, as the real server's `authorize` step (lxm default `*`).
    let lxm_needed = q.get("lxm").map(String::as_str).unwrap_or("*");
    if let Err(response) = require(
        &inner,
        &headers,
        scopes::Need::Rpc {
            lxm: lxm_needed,
            aud,
        },
    ) {
        return response;
    }
    let valid_did = aud.starts_with("did:")
        && aud.split(':').count() >= 3
        && !aud.contains(char::is_whitespace);
    if !valid_did {
        return invalid("aud must be a valid atproto DID or did#serviceId reference");
    }
    let lxm = q.get("lxm").cloned();
    let exp = match q.get("exp").map(|e| e.parse::<i64>()) {
        None => now() + 60,
        Some(Ok(exp)) => exp,
        Some(Err(_)) => return invalid("Error: exp must be an integer"),
    };
    if let Some(lxm) = &lxm
        && PROTECTED.contains(&lxm.as_str())
    {
        return invalid(&format!(
            "cannot request a service auth token for the following protected method: {lxm}"
        ));
    }
    if exp > now() + 3600 {
        return error(
            StatusCode::BAD_REQUEST,
            "BadExpiration",
            "cannot request a token with an expiration more than an hour in the future",
        );
    }
    if lxm.is_none() && exp > now() + 60 {
        return error(
            StatusCode::BAD_REQUEST,
            "BadExpiration",
            "cannot request a method-less token with an expiration more than a minute in the future",
        );
    }
    let header = b64(json!({"typ": "JWT", "alg": "ES256K"})
        .to_string()
        .as_bytes());
    let jti = hex::encode(rand::random::<[u8; 16]>());
    let mut payload = json!({"iat": now(), "iss": did, "aud": aud, "exp": exp, "jti": jti});
    if let Some(lxm) = lxm {
        payload["lxm"] = json!(lxm);
    }
    let body = format!("{header}.{}", b64(payload.to_string().as_bytes()));
    let signature = b64(&Sha256::digest(format!("{}.{body}", inner.key)));
    axum::Json(json!({"token": format!("{body}.{signature}")})).into_response()
}
