//! The atproto OAuth client pieces for a native loopback client (reference §2): discovery of
//! the authorization server, the loopback `client_id`, PAR with PKCE S256 and DPoP (with the
//! nonce handshake), the authorize URL, and the code exchange with its checks. Every request goes
//! through core's `http::exchange` (timeouts, retries); a `use_dpop_nonce` answer keeps the new
//! nonce and is retried like any transient failure.

use serde::Deserialize;

use keryx_core::http::{Policy, Reply, Verdict, exchange, is_transient_status};
use keryx_core::{Cause, Context, Error, Result, Secret};

use crate::config::join;
use crate::dpop::{DpopKey, Nonces};
use crate::xrpc::{ErrorBody, decode};

/// The redirect URI registered in the client_id: no port, so any ephemeral port matches and the
/// client_id stays the same for later refreshes.
pub const REGISTERED_REDIRECT: &str = "http://127.0.0.1/callback";

/// The loopback client_id: exactly `http://localhost` with `redirect_uri` and `scope`.
pub fn client_id(scope: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_uri", REGISTERED_REDIRECT)
        .append_pair("scope", scope)
        .finish();
    format!("http://localhost?{query}")
}

/// The fields of `/.well-known/oauth-authorization-server` keryx uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub pushed_authorization_request_endpoint: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// PDS → its authorization server (`authorization_servers[0]`) → that server's metadata, whose
/// `issuer` must be the URL it was fetched from.
pub async fn discover(ctx: &Context, pds: &str) -> Result<ServerMetadata> {
    #[derive(Deserialize)]
    struct Resource {
        authorization_servers: Vec<String>,
    }
    let policy = Policy::from_env();
    let url = join(pds, "/.well-known/oauth-protected-resource");
    let reply = exchange(
        &policy,
        "Bluesky (oauth-protected-resource)",
        || ctx.http.get(&url),
        plain,
    )
    .await?;
    let resource: Resource = decode(&reply, "oauth-protected-resource")?;
    let issuer = resource
        .authorization_servers
        .first()
        .ok_or_else(|| Error::platform("the PDS names no authorization server"))?
        .trim_end_matches('/')
        .to_string();
    let url = join(&issuer, "/.well-known/oauth-authorization-server");
    let reply = exchange(
        &policy,
        "Bluesky (oauth-authorization-server)",
        || ctx.http.get(&url),
        plain,
    )
    .await?;
    let metadata: ServerMetadata = decode(&reply, "oauth-authorization-server")?;
    if metadata.issuer.trim_end_matches('/') != issuer {
        return Err(Error::platform(format!(
            "the authorization server at {issuer} calls itself {}; keryx does not trust it",
            metadata.issuer
        )));
    }
    if !metadata
        .code_challenge_methods_supported
        .iter()
        .any(|m| m == "S256")
    {
        return Err(Error::platform(
            "the authorization server does not offer PKCE S256",
        ));
    }
    Ok(metadata)
}

fn plain(reply: &Reply) -> Verdict {
    if reply.status.is_success() {
        return Verdict::Ok;
    }
    let error = oauth_error(reply);
    if is_transient_status(reply.status) || reply.status.as_u16() == 429 {
        Verdict::Transient {
            retry_after: reply.retry_after(),
            error,
        }
    } else {
        Verdict::Failed(error)
    }
}

/// An OAuth endpoint's refusal (`{"error","error_description"}`).
pub fn oauth_error(reply: &Reply) -> Error {
    let body = ErrorBody::parse(&reply.body);
    let text = body.text().to_string();
    match body.error.as_str() {
        "invalid_grant" => Error::authorisation(
            Cause::AuthorisationRefused,
            format!("Bluesky no longer accepts keryx's authorisation ({text})"),
        )
        .with_hint(crate::xrpc::REAUTH_HINT),
        code => Error::platform(format!(
            "Bluesky's authorization server answered {}: {code}: {text}",
            reply.status
        )),
    }
}

/// A DPoP-signed form POST to an OAuth endpoint, keeping every nonce and retrying a
/// `use_dpop_nonce` with the new one.
pub async fn dpop_form(
    ctx: &Context,
    what: &str,
    url: &str,
    key: &DpopKey,
    nonces: &Nonces,
    form: &[(&str, &str)],
) -> Result<Reply> {
    dpop_form_accepting(ctx, what, url, key, nonces, form, |_| false).await
}

/// [`dpop_form`], handing back the refusals `accept` picks instead of failing with them.
async fn dpop_form_accepting(
    ctx: &Context,
    what: &str,
    url: &str,
    key: &DpopKey,
    nonces: &Nonces,
    form: &[(&str, &str)],
    accept: impl Fn(&ErrorBody) -> bool,
) -> Result<Reply> {
    exchange(
        &Policy::from_env(),
        what,
        || {
            let proof = key.proof("POST", url, nonces.get(url).as_deref(), None);
            ctx.http.post(url).header("DPoP", proof).form(form)
        },
        |reply| {
            nonces.take_from(url, &reply.headers);
            let body = ErrorBody::parse(&reply.body);
            if body.error == "use_dpop_nonce" {
                return Verdict::Transient {
                    retry_after: Some(std::time::Duration::ZERO),
                    error: oauth_error(reply),
                };
            }
            if !reply.status.is_success() && accept(&body) {
                return Verdict::Ok;
            }
            plain(reply)
        },
    )
    .await
}

/// One authorisation in flight: what the callback and the code exchange need.
pub struct Pushed {
    pub request_uri: String,
    pub authorize_url: String,
}

/// What a PAR achieved.
pub enum Push {
    Pushed(Pushed),
    /// `invalid_scope`: the server does not take this scope (its description).
    ScopeRefused(String),
}

/// PAR: the request's parameters go to the server, the browser gets only `client_id` and
/// `request_uri`. An `invalid_scope` refusal is handed back, for the caller to fall back on
/// other scopes.
#[allow(clippy::too_many_arguments)]
pub async fn push(
    ctx: &Context,
    metadata: &ServerMetadata,
    key: &DpopKey,
    nonces: &Nonces,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    verifier: &Secret,
    login_hint: Option<&str>,
) -> Result<Push> {
    #[derive(Deserialize)]
    struct Answer {
        request_uri: String,
    }
    let challenge = crate::dpop::sha256_b64(verifier.expose());
    let mut form = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", state),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(hint) = login_hint {
        form.push(("login_hint", hint));
    }
    let reply = dpop_form_accepting(
        ctx,
        "Bluesky (PAR)",
        &metadata.pushed_authorization_request_endpoint,
        key,
        nonces,
        &form,
        |body| body.error == "invalid_scope",
    )
    .await?;
    if !reply.status.is_success() {
        return Ok(Push::ScopeRefused(
            ErrorBody::parse(&reply.body).text().to_string(),
        ));
    }
    let answer: Answer = decode(&reply, "PAR")?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("request_uri", &answer.request_uri)
        .finish();
    Ok(Push::Pushed(Pushed {
        authorize_url: format!("{}?{query}", metadata.authorization_endpoint),
        request_uri: answer.request_uri,
    }))
}

/// The token endpoint's answer.
#[derive(Debug, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub refresh_token: String,
    pub scope: String,
    pub expires_in: i64,
    pub sub: String,
}

/// Checks the callback's `iss` and exchanges the code; the session must be DPoP-bound, hold
/// `atproto`, and belong to `did` (whether it holds what a post needs is the caller's check).
#[allow(clippy::too_many_arguments)]
pub async fn exchange_code(
    ctx: &Context,
    metadata: &ServerMetadata,
    key: &DpopKey,
    nonces: &Nonces,
    client_id: &str,
    redirect_uri: &str,
    code: &Secret,
    verifier: &Secret,
    iss: Option<&str>,
    did: &str,
) -> Result<Tokens> {
    if iss.map(|i| i.trim_end_matches('/')) != Some(metadata.issuer.trim_end_matches('/')) {
        return Err(Error::input(format!(
            "the callback's issuer is {}, not {}: it did not come from your authorization server",
            iss.unwrap_or("missing"),
            metadata.issuer
        ))
        .with_hint("run `keryx auth bluesky` again"));
    }
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.expose()),
        ("client_id", client_id),
    ];
    let reply = dpop_form(
        ctx,
        "Bluesky (token)",
        &metadata.token_endpoint,
        key,
        nonces,
        &form,
    )
    .await?;
    let tokens: Tokens = decode(&reply, "token")?;
    if tokens.token_type != "DPoP" {
        return Err(Error::platform(format!(
            "Bluesky issued a {} token, not a DPoP-bound one",
            tokens.token_type
        )));
    }
    if !tokens
        .scope
        .split_whitespace()
        .any(|s| s == crate::scope::ATPROTO)
    {
        return Err(Error::platform(format!(
            "Bluesky granted `{}`, without the `atproto` scope every atproto session has",
            tokens.scope
        )));
    }
    if tokens.sub != did {
        return Err(Error::input(format!(
            "the authorisation is for {}, not {did}",
            tokens.sub
        ))
        .with_hint("sign in as the account of the handle in the config (`platforms.bluesky.handle`, or the account's own `handle` under `accounts:`)"));
    }
    Ok(tokens)
}
