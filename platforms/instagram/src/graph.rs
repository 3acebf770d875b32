//! Meta's Graph API as keryx sees it: the error envelope (reference §5.1), every code of §5.2
//! as a message that says what to do (with Meta's `fbtrace_id` for support), how a reply is
//! classified for core's retry policy, and [`GraphApi`], what core's session needs.

use std::time::Duration;

use serde::Deserialize;

use keryx_core::http::{Policy, Reply, Verdict, exchange, is_transient_status};
use keryx_core::session::Api;
use keryx_core::tokens::TokenReply;
use keryx_core::{Cause, Context, Error, Result, Secret};

use crate::PLATFORM;
use crate::config::InstagramConfig;

/// The scopes keryx asks for (reference §1.1, Facebook Login route).
pub const SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "pages_read_engagement",
    "pages_show_list",
    "business_management",
];
/// Without these keryx cannot list the account or publish (`business_management` only widens
/// which Pages are seen).
pub const REQUIRED_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "pages_read_engagement",
    "pages_show_list",
];

/// `{"error":{...}}`, the Graph envelope.
#[derive(Debug, Default, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub code: i64,
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub is_transient: bool,
    pub error_user_title: Option<String>,
    pub error_user_msg: Option<String>,
    pub fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

impl GraphError {
    pub fn parse(body: &[u8]) -> Option<GraphError> {
        serde_json::from_slice::<Envelope>(body)
            .ok()
            .map(|e| e.error)
    }

    fn subcode(&self) -> i64 {
        self.error_subcode.unwrap_or(0)
    }

    /// "(code 190/460, fbtrace_id Axyz)" for every message.
    fn tag(&self) -> String {
        let code = match self.error_subcode {
            Some(sub) => format!("{}/{sub}", self.code),
            None => self.code.to_string(),
        };
        match &self.fbtrace_id {
            Some(trace) => format!("Meta error {code}, fbtrace_id {trace}"),
            None => format!("Meta error {code}"),
        }
    }

    fn said(&self) -> String {
        let mut said = self.message.clone();
        if let Some(user) = self.error_user_msg.as_deref().filter(|m| !m.is_empty()) {
            said.push_str(&format!(" — {user}"));
        }
        said
    }

    /// Is this a throttling code (reference §4, §5.2)?
    pub fn is_rate_limit(&self) -> bool {
        matches!(self.code, 4 | 17 | 32 | 613 | 80002) && self.subcode() != 2207051
    }

    /// The scope a permission error names ("(#10) Requires instagram_content_publish
    /// permission ..."), if it names one.
    pub fn missing_scope(&self) -> Option<String> {
        let rest = self.message.split("Requires ").nth(1)?;
        let scope = rest.split_whitespace().next()?;
        Some(
            scope
                .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .to_string(),
        )
    }

    /// What the user should do, as a keryx error (reference §5.2).
    pub fn to_error(&self, what: &str) -> Error {
        let tag = self.tag();
        let said = self.said();
        let sub = self.subcode();
        let reauth = || {
            Error::authorisation(
                Cause::AuthorisationRefused,
                format!("Meta no longer accepts keryx's Instagram token ({what}: {said}; {tag})"),
            )
        };
        match (self.code, sub) {
            (190, 459) => reauth().with_hint(
                "log in at facebook.com and clear the checkpoint on the account, then run `keryx auth instagram`",
            ),
            (190, _) => reauth().with_hint(
                "run `keryx auth instagram` again (a password change, a removed Page role or a removed app kills the token)",
            ),
            (10, _) | (200..=299, _) => {
                let scope = self
                    .missing_scope()
                    .map(|s| format!("the `{s}` permission"))
                    .unwrap_or_else(|| "a permission".into());
                Error::authorisation(
                    Cause::AuthorisationRefused,
                    format!("Meta refused {what}: keryx lacks {scope} ({said}; {tag})"),
                )
                .with_hint(
                    "run `keryx auth instagram` and keep every permission ticked; check that your Facebook user has the Content or Full control task on the Page",
                )
            }
            (9, 2207042) | (_, 2207042) => Error::platform(format!(
                "the Instagram account reached its publishing limit ({said}; {tag})"
            ))
            .with_hint("wait until posts of the last 24 hours age out, then post again"),
            (36004, _) | (_, 2207010) => Error::input(format!(
                "Instagram refused the caption as too long ({said}; {tag})"
            ))
            .with_hint("keep the title, description and tags within 2,200 characters"),
            (100, 2207040) => Error::input(format!(
                "Instagram refused the caption: more than 20 @-mentions ({said}; {tag})"
            ))
            .with_hint("mention fewer accounts"),
            (1, 2207057) => Error::input(format!(
                "Instagram refused the cover frame time ({said}; {tag})"
            ))
            .with_hint("give --instagram-cover-at a time inside the video"),
            (352, _) | (_, 2207026) | (_, 2207085) | (_, 2207082) | (_, 2207053) => {
                Error::platform(format!("Instagram could not process the video ({said}; {tag})"))
                    .with_hint(FIX_VIDEO)
            }
            (-2, 2207020) | (24, 2207006) => Error::platform(format!(
                "Instagram no longer has the upload container ({said}; {tag})"
            ))
            .with_hint("post again: keryx starts a new container"),
            (24, 2207008) => Error::platform(format!(
                "Instagram lost the upload container for now ({said}; {tag})"
            ))
            .with_hint("post again in a minute or two"),
            (25, _) | (_, 2207050) => Error::platform(format!(
                "the Instagram account is restricted, inactive or checkpointed ({said}; {tag})"
            ))
            .with_hint("log in to the Instagram app and resolve what it asks, then post again"),
            (4, 2207051) => Error::platform(format!(
                "Instagram suspects spam and restricted the account's activity ({said}; {tag})"
            ))
            .with_hint("slow down and vary the content before posting again"),
            (368, _) => Error::platform(format!(
                "Meta temporarily blocked the account for policy reasons ({said}; {tag})"
            ))
            .with_hint("wait, then post again"),
            _ if self.is_rate_limit() => Error::platform(format!(
                "Meta is rate-limiting keryx ({said}; {tag})"
            ))
            .with_cause(Cause::RateLimited)
            .with_hint("wait for the time X-Business-Use-Case-Usage names, then post again"),
            (100, _) => Error::platform(format!("Meta refused a parameter of {what} ({said}; {tag})"))
                .with_hint("this is a keryx bug or a Graph version change: report it with the fbtrace_id"),
            _ => Error::platform(format!("Meta refused {what} ({said}; {tag})"))
                .with_hint("post again; if it persists, report it to Meta with the fbtrace_id"),
        }
    }
}

pub const FIX_VIDEO: &str = "re-encode it as MP4 (H.264, AAC, ≤ 1920 px wide, 23-60 fps, the index first): ffmpeg -i IN -c:v libx264 -c:a aac -b:a 128k -movflags +faststart -use_editlist 0 OUT.mp4";

/// The minutes `X-Business-Use-Case-Usage` says until throttling ends (reference §4).
pub fn regain_access(reply: &Reply) -> Option<Duration> {
    let header = reply
        .headers
        .get("x-business-use-case-usage")?
        .to_str()
        .ok()?;
    let usage: serde_json::Value = serde_json::from_str(header).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|e| e["estimated_time_to_regain_access"].as_u64())
        .max()?;
    Some(Duration::from_secs(minutes.max(1) * 60))
}

/// One Graph reply for core's policy: token refusals, throttling and transient errors retry.
pub fn classify(what: &str, reply: &Reply) -> Verdict {
    if reply.status.is_success() {
        return Verdict::Ok;
    }
    let Some(error) = GraphError::parse(&reply.body) else {
        let e = Error::platform(format!(
            "Meta answered {} to {what}: {}",
            reply.status,
            reply.text().chars().take(200).collect::<String>()
        ));
        return if is_transient_status(reply.status) {
            Verdict::Transient {
                retry_after: reply.retry_after(),
                error: e,
            }
        } else {
            Verdict::Failed(e)
        };
    };
    let mapped = error.to_error(what);
    if error.code == 190 {
        return Verdict::TokenInvalid(mapped);
    }
    if error.is_rate_limit() {
        let window = regain_access(reply);
        let mapped = match window {
            Some(w) => mapped.with_note(format!(
                "Meta says access returns in about {} minutes (X-Business-Use-Case-Usage)",
                w.as_secs() / 60
            )),
            None => mapped,
        };
        return Verdict::RateLimited {
            retry_after: reply.retry_after(),
            window,
            error: mapped,
        };
    }
    let transient_code = matches!((error.code, error.subcode()), (1 | 2, _) | (-1, 2207001));
    if error.is_transient || transient_code || is_transient_status(reply.status) {
        return Verdict::Transient {
            retry_after: reply.retry_after(),
            error: mapped,
        };
    }
    Verdict::Failed(mapped)
}

/// What was stored at `keryx auth`: a browser flow keeps the long-lived user token to re-derive
/// the Page token; a supplied token (`--instagram-token`) is used as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    UserDerived,
    Supplied,
}

/// What core's session needs from Meta.
pub struct GraphApi {
    pub config: InstagramConfig,
    pub kind: TokenKind,
    /// The Page the token is for (browser flow).
    pub page_id: Option<String>,
}

impl Api for GraphApi {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "Meta's Graph API"
    }

    /// Facebook Login has no refresh (reference §0): the long-lived user token is exchanged
    /// again (`fb_exchange_token`, with the app secret) and the Page token read again with it.
    /// A supplied token has nothing behind it and is handed back as it is.
    async fn refresh(
        &self,
        ctx: &Context,
        policy: &Policy,
        refresh_token: Secret,
    ) -> Result<TokenReply> {
        if self.kind == TokenKind::Supplied {
            return Ok(TokenReply {
                access_token: refresh_token,
                expires_in: None,
                refresh_token: None,
                refresh_expires_in: None,
                scopes: None,
            });
        }
        let (secret, _) = keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM)?;
        let user = exchange_token(
            ctx,
            policy,
            &self.config,
            &[
                ("grant_type", "fb_exchange_token"),
                ("client_id", &self.config.app_id),
                ("client_secret", secret.expose()),
                ("fb_exchange_token", refresh_token.expose()),
            ],
        )
        .await?;
        let page_id = self.page_id.as_deref().ok_or_else(|| {
            Error::authorisation(
                Cause::NotAuthorised,
                "the stored Instagram authorisation names no Page",
            )
            .with_hint("run `keryx auth instagram` again")
        })?;
        let url = self.config.graph(&format!("/{page_id}"));
        let reply = exchange(
            policy,
            "Meta's Graph API (Page token)",
            || {
                ctx.http
                    .get(&url)
                    .query(&[("fields", "access_token")])
                    .bearer_auth(user.access_token.expose())
            },
            |reply| match classify("reading the Page token", reply) {
                // A refused user token here cannot be replaced: authorise again.
                Verdict::TokenInvalid(e) => Verdict::Failed(e),
                Verdict::Failed(e) if page_gone(reply) => Verdict::Failed(lost_page(page_id, e)),
                other => other,
            },
        )
        .await?;
        #[derive(Deserialize)]
        struct PageToken {
            access_token: String,
        }
        let page: PageToken = decode(&reply.body, "Page token")?;
        Ok(TokenReply {
            access_token: Secret::new(page.access_token),
            expires_in: None,
            refresh_token: Some(user.access_token),
            refresh_expires_in: user.expires_in,
            scopes: None,
        })
    }

    fn classify(&self, what: &str, reply: &Reply) -> Verdict {
        classify(what, reply)
    }
}

/// Meta's "does not exist, cannot be loaded due to missing permissions" (100/33) for a Page the
/// user token no longer sees: the user lost their role on it, or the Page was unshared.
fn page_gone(reply: &Reply) -> bool {
    GraphError::parse(&reply.body).is_some_and(|e| e.code == 100 && e.error_subcode == Some(33))
}

/// The Page of this account is out of reach of the stored user token: only authorising again
/// (with a role on the Page) gives a token for it, so this is an authorisation, not a bug.
fn lost_page(page_id: &str, refused: Error) -> Error {
    Error::authorisation(
        Cause::AuthorisationRefused,
        format!(
            "Meta no longer lets your Facebook user act for the Page {page_id} of this Instagram account ({})",
            refused.message()
        ),
    )
    .with_hint("check that you still have the Page's Content or Full control task and that the Page is shared with the app, then run `keryx auth instagram`")
}

pub struct Exchanged {
    pub access_token: Secret,
    pub expires_in: Option<i64>,
}

/// `POST /{v}/oauth/access_token` (Meta documents GET; its own sample uses POST, reference
/// §1.3) with the parameters in a form body, which Graph accepts as well as a query (§0): the
/// app secret and tokens stay out of URLs, which proxies and logs keep. A refusal is final.
pub async fn exchange_token(
    ctx: &Context,
    policy: &Policy,
    config: &InstagramConfig,
    params: &[(&str, &str)],
) -> Result<Exchanged> {
    let url = config.graph("/oauth/access_token");
    let reply = exchange(
        policy,
        "Meta's token endpoint",
        || ctx.http.post(&url).form(params),
        |reply| match classify("the token exchange", reply) {
            Verdict::TokenInvalid(e) => Verdict::Failed(e),
            other => other,
        },
    )
    .await?;
    #[derive(Deserialize)]
    struct Token {
        access_token: String,
        expires_in: Option<i64>,
    }
    let token: Token = decode(&reply.body, "token")?;
    Ok(Exchanged {
        access_token: Secret::new(token.access_token),
        expires_in: token.expires_in,
    })
}

pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::platform(format!("Meta's {what} reply is not what keryx expects")).with_source(e)
    })
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(body: &str) -> GraphError {
        GraphError::parse(body.as_bytes()).expect("parses")
    }

    #[test]
    fn messages_name_the_code_the_trace_and_the_fix() {
        let e = error(
            r#"{"error":{"message":"(#10) Requires instagram_content_publish permission to manage the object","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}"#,
        );
        assert_eq!(
            e.missing_scope().as_deref(),
            Some("instagram_content_publish")
        );
        let mapped = e.to_error("the container");
        assert_eq!(mapped.exit_code(), 4);
        assert!(
            mapped.to_string().contains("instagram_content_publish"),
            "{mapped}"
        );
        assert!(mapped.to_string().contains("fbtrace_id AbC"), "{mapped}");
        let quota = error(
            r#"{"error":{"message":"limit","code":9,"error_subcode":2207042,"fbtrace_id":"x"}}"#,
        );
        assert!(
            quota
                .to_error("publish")
                .to_string()
                .contains("publishing limit")
        );
        let token = error(r#"{"error":{"message":"Invalid","code":190,"error_subcode":460}}"#);
        assert_eq!(token.to_error("x").exit_code(), 4);
        let caption = error(r#"{"error":{"message":"long","code":36004,"error_subcode":2207010}}"#);
        assert_eq!(caption.to_error("x").exit_code(), 2);
        assert!(
            error(r#"{"error":{"message":"slow","code":80002,"is_transient":true}}"#)
                .is_rate_limit()
        );
    }
}
