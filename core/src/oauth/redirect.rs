//! Everything about the redirect: the `--redirect` a user pins, what comes back on it (from the
//! browser, a pasted line or `--code`), and turning that into a [`Callback`] or a clear error.

use std::collections::BTreeMap;

use url::Url;

use super::{AuthRequest, Callback};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Who an authorisation is for, for messages.
#[derive(Clone, Copy)]
pub(crate) struct Who<'a> {
    pub platform: &'a str,
    pub display_name: &'a str,
}

/// A `--redirect` the user pinned: the port to listen on, the path to answer, and the exact
/// string to send as `redirect_uri` (providers compare it byte for byte, so it is never rebuilt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinnedRedirect {
    pub uri: String,
    pub port: u16,
    pub path: String,
}

/// Checks a `--redirect` value: `http://127.0.0.1:<port>/<path>` or `http://localhost:<port>/<path>`.
/// Only loopback is accepted because keryx itself must receive the redirect: any other host
/// would hand the authorisation code to whoever answers there.
pub(crate) fn parse_pinned(raw: &str) -> Result<PinnedRedirect> {
    let uri = raw.trim();
    let form = "http://127.0.0.1:PORT/callback/";
    let refuse = |what: String| {
        Error::input(format!("--redirect `{uri}` {what}")).with_hint(format!(
            "use a loopback address of the form {form} (keryx listens there itself), or omit \
             --redirect to use a free port"
        ))
    };
    let url = Url::parse(uri).map_err(|e| refuse(format!("is not a URL ({e})")))?;
    if url.scheme() != "http" {
        return Err(refuse(format!(
            "uses `{}`; keryx's loopback listener speaks plain http, which providers accept for \
             loopback redirects",
            url.scheme()
        )));
    }
    match url.host_str() {
        Some("127.0.0.1" | "localhost") => {}
        Some(host) => {
            return Err(refuse(format!(
                "points at `{host}`, which is not this computer: keryx only accepts a loopback \
                 redirect (127.0.0.1 or localhost), because whoever serves the redirect receives \
                 the authorisation code"
            )));
        }
        None => return Err(refuse("has no host".into())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("carries a user name or password".into()));
    }
    // `Url` drops a port equal to the scheme's default (80), which is as good as none here:
    // binding it needs root.
    let port = match url.port() {
        Some(0) => {
            return Err(refuse(
                "has port 0; pin a real port, or omit --redirect to let keryx pick a free one"
                    .into(),
            ));
        }
        Some(port) => port,
        None => return Err(refuse("has no explicit port (e.g. `:53682`)".into())),
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse(
            "has a query or fragment; redirect URIs must be static (providers refuse them)".into(),
        ));
    }
    Ok(PinnedRedirect {
        uri: uri.to_owned(),
        port,
        path: url.path().to_owned(),
    })
}

/// What a pasted line or `--code` argument turned out to be.
#[derive(Debug)]
pub(crate) enum Pasted {
    /// A bare code, taken as-is.
    Code(Secret),
    /// The query of a URL that is the pending redirect, decoded once.
    Redirect(Vec<(String, String)>),
    /// Neither; the string says why, for the user.
    Unusable(String),
}

/// Characters that never occur in an authorisation code but do in URLs, queries and prose.
fn looks_like_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 4096
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '?' | '&' | '#' | '"' | '<' | '>'))
}

fn is_loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
}

/// Classifies `input` against the pending `request`. A URL must be the pending redirect: a
/// loopback host (127.0.0.1 and localhost are interchangeable, browsers rewrite them), the same
/// port, and the same path up to a trailing slash. Its query is decoded exactly once here; a
/// bare code is kept verbatim, since real codes contain `*`, `!` and `.` that must not change.
pub(crate) fn classify(input: &str, request: &AuthRequest) -> Pasted {
    let input = input.trim();
    // Some providers (Meta) end their redirect with `#_` or `#_=_`, which is not part of the
    // code; copied from an address bar it would make a bare code look like a URL fragment.
    let input = input
        .strip_suffix("#_=_")
        .or_else(|| input.strip_suffix("#_"))
        .unwrap_or(input);
    if input.is_empty() {
        return Pasted::Unusable("it is empty".into());
    }
    let lower = input.to_ascii_lowercase();
    let url = if lower.starts_with("http://") || lower.starts_with("https://") {
        Url::parse(input)
    } else if lower.starts_with("127.0.0.1:") || lower.starts_with("localhost:") {
        // Some address bars hide the scheme, and copying the shown text loses it.
        Url::parse(&format!("http://{input}"))
    } else if input.contains("://") {
        return Pasted::Unusable("it is neither an http(s) address nor a code".into());
    } else if looks_like_code(input) {
        return Pasted::Code(Secret::new(input));
    } else {
        return Pasted::Unusable(
            "it is neither the address the browser ended on nor a code (codes have no spaces, \
             `?`, `&` or `#`)"
                .into(),
        );
    };
    let url = match url {
        Ok(url) => url,
        Err(e) => return Pasted::Unusable(format!("it is not a valid address ({e})")),
    };
    let Ok(expected) = Url::parse(&request.redirect_uri) else {
        return Pasted::Unusable(format!(
            "the pending redirect `{}` is not a URL, so the address cannot be checked",
            request.redirect_uri
        ));
    };
    let same_host = url.host_str().is_some_and(is_loopback_host);
    let same_port = url.port_or_known_default() == expected.port_or_known_default();
    let same_path = url.path().trim_end_matches('/') == expected.path().trim_end_matches('/');
    if !(same_host && same_port && same_path) {
        let shown = format!(
            "{}{}",
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        return Pasted::Unusable(format!(
            "it is an address on `{shown}{}`, not the redirect keryx is waiting for ({}); if it \
             is the authorisation page, open it in a browser, approve, and paste the address the \
             browser ends on",
            url.path(),
            request.redirect_uri
        ));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !pairs.iter().any(|(k, _)| k == "code" || k == "error") {
        return Pasted::Unusable(format!(
            "the address {} carries neither `code` nor `error`; paste the whole address, \
             including everything after `?`",
            request.redirect_uri
        ));
    }
    Pasted::Redirect(pairs)
}

/// Constant-time comparison, so a local attacker timing the loopback cannot learn the state.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A callback that reached the loopback listener without the pending authorisation's `state`
/// (none, or another one): anything that can reach the port can send one (another tab, a stale
/// bookmark, a page guessing a pinned port), so it must not end or decide the wait (RFC 6749
/// §4.1.2.1 has providers echo `state` on errors too; RFC 8252 §8.9 asks clients to check it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stray {
    /// What it looked like, for the page, the log and the timeout message; never a code.
    pub looks_like: String,
    /// Why it was ignored, for the page.
    pub why: &'static str,
}

/// `Some` when the loopback query does not carry the pending request's `state`. A pasted line
/// is not screened: the user chose it, so [`from_query`] refuses a wrong state there.
pub(crate) fn screen(pairs: &[(String, String)], request: &AuthRequest) -> Option<Stray> {
    let first = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let (why, state_said) = match first("state") {
        Some(state) if same_secret(state, &request.state) => return None,
        Some(_) => (
            "its `state` belongs to another authorisation (an older run, or someone else's)",
            "another authorisation's `state`",
        ),
        None => (
            "it carries no `state`, so nothing shows it belongs to this authorisation",
            "no `state`",
        ),
    };
    let carried = match (first("error"), first("code")) {
        // The error value is the provider's fixed vocabulary, and long or odd ones are cut, so
        // a stray can neither flood the terminal nor smuggle text into it.
        (Some(error), _) => format!("`error={}`", printable(error)),
        (None, Some(_)) => "a `code` (not shown)".to_owned(),
        (None, None) => "neither `code` nor `error`".to_owned(),
    };
    Some(Stray {
        looks_like: format!("a callback with {carried} and {state_said}"),
        why,
    })
}

/// At most 40 characters of `value`, with anything but ASCII letters, digits and `_-.` dropped.
fn printable(value: &str) -> String {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(40)
        .collect();
    kept
}

/// Turns the (already decoded) query of a redirect into a [`Callback`]. `Ok(None)`: it has
/// neither `code` nor `error`, so it is not an answer at all (e.g. someone opened the bare
/// address). `Err`: a definite answer that ends the flow (wrong state, the provider's error).
pub(crate) fn from_query(
    pairs: Vec<(String, String)>,
    request: &AuthRequest,
    who: Who<'_>,
) -> Result<Option<Callback>> {
    let mut code = None;
    let mut state = None;
    let mut params = BTreeMap::new();
    for (key, value) in pairs {
        // The first occurrence wins for the two values that matter; a repeated key is never
        // allowed to override what was checked.
        match key.as_str() {
            "code" => {
                code.get_or_insert(value);
            }
            "state" => {
                state.get_or_insert(value);
            }
            _ => {
                params.entry(key).or_insert(value);
            }
        }
    }
    let platform = who.platform;
    let state_ok = state
        .as_deref()
        .is_some_and(|s| same_secret(s, &request.state));
    if state.is_some() && !state_ok {
        return Err(Error::input(format!(
            "the redirect's state does not match the `keryx auth {platform}` keryx is waiting for, \
             so it was refused"
        ))
        .with_hint(format!(
            "it probably comes from an older or someone else's authorisation; run `keryx auth \
             {platform}` again and use the address from that run"
        )));
    }
    // Checked before the missing-state case: whether TikTok echoes `state` on an error redirect
    // is undocumented, and the provider's reason is what the user needs to see.
    if let Some(error) = params.get("error").cloned() {
        return Err(provider_error(&error, &params, who));
    }
    let Some(code) = code else {
        return Ok(None);
    };
    if !state_ok {
        return Err(Error::input(format!(
            "the redirect has no `state`, so keryx cannot tell it belongs to the `keryx auth \
             {platform}` it is waiting for; it was refused"
        ))
        .with_hint(format!(
            "paste the whole address the browser ended on, or run `keryx auth {platform}` again"
        )));
    }
    if code.trim().is_empty() {
        return Err(Error::input(format!(
            "{}'s redirect has an empty `code`",
            who.display_name
        ))
        .with_hint(format!("run `keryx auth {platform}` again")));
    }
    Ok(Some(Callback {
        code: Secret::new(code),
        params,
        request: request.clone(),
        listener: None,
    }))
}

/// The provider's `error`, `error_description` and (TikTok) `error_type`, as an input error.
fn provider_error(error: &str, params: &BTreeMap<String, String>, who: Who<'_>) -> Error {
    let mut detail = error.to_owned();
    if let Some(kind) = params.get("error_type").filter(|t| !t.is_empty()) {
        detail.push_str(&format!(", error_type {kind}"));
    }
    if let Some(description) = params.get("error_description").filter(|d| !d.is_empty()) {
        detail.push_str(&format!(": {description}"));
    }
    let (platform, name) = (who.platform, who.display_name);
    // Only a plain `access_denied` is the user pressing Cancel; with an `error_type` it is the
    // provider refusing the account or app (e.g. a TikTok account that is not a sandbox target).
    if error == "access_denied" && !params.contains_key("error_type") {
        Error::input(format!(
            "you declined the authorisation on {name} ({detail})"
        ))
        .with_hint(format!(
            "run `keryx auth {platform}` again and approve the access keryx asks for"
        ))
    } else {
        Error::input(format!("{name} refused the authorisation ({detail})")).with_hint(format!(
            "check the app's settings on {name}'s developer site (the error names what is wrong), \
             then run `keryx auth {platform}` again"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn request(redirect: &str) -> AuthRequest {
        AuthRequest {
            platform: "fake".into(),
            redirect_uri: redirect.into(),
            state: "STATE123".into(),
            verifier: Secret::new("v".repeat(43)),
            created_at: 0,
        }
    }

    const WHO: Who<'static> = Who {
        platform: "fake",
        display_name: "Fake",
    };

    #[test]
    fn a_providers_hash_suffix_is_not_part_of_a_pasted_code() {
        let pending = request("http://localhost:53682/callback");
        for pasted in ["AQBcode-1.x#_", "AQBcode-1.x#_=_", " AQBcode-1.x "] {
            match classify(pasted, &pending) {
                Pasted::Code(code) => assert_eq!(code.expose(), "AQBcode-1.x", "{pasted}"),
                other => panic!("{pasted}: {other:?}"),
            }
        }
        // Inside a code, `#` still means it is not one.
        assert!(matches!(classify("AQB#x", &pending), Pasted::Unusable(_)));
    }

    #[test]
    fn pinned_redirects() {
        let ok = parse_pinned("http://127.0.0.1:53682/callback/").unwrap();
        assert_eq!(
            ok,
            PinnedRedirect {
                uri: "http://127.0.0.1:53682/callback/".into(),
                port: 53682,
                path: "/callback/".into()
            }
        );
        let bare = parse_pinned(" http://localhost:8080 ").unwrap();
        assert_eq!(
            (bare.uri.as_str(), bare.port, bare.path.as_str()),
            ("http://localhost:8080", 8080, "/")
        );
        for (bad, says) in [
            ("http://example.com:8080/cb", "not this computer"),
            ("http://192.168.1.2:8080/cb", "loopback"),
            ("https://127.0.0.1:8080/cb", "plain http"),
            ("http://127.0.0.1/cb", "explicit port"),
            ("http://127.0.0.1:80/cb", "explicit port"),
            ("http://127.0.0.1:0/cb", "port 0"),
            ("http://127.0.0.1:8080/cb?x=1", "query"),
            ("http://127.0.0.1:8080/cb#x", "fragment"),
            ("http://u:p@127.0.0.1:8080/cb", "password"),
            ("127.0.0.1:8080", "not a URL"),
        ] {
            let e = parse_pinned(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Input);
            assert!(e.message().contains(says), "{bad}: {}", e.message());
            assert!(
                e.hint()
                    .unwrap()
                    .contains("http://127.0.0.1:PORT/callback/")
            );
        }
    }

    #[test]
    fn classify_decodes_a_url_once_and_keeps_a_bare_code() {
        let r = request("http://127.0.0.1:4000/callback/");
        let Pasted::Redirect(pairs) = classify(
            "http://127.0.0.1:4000/callback/?code=a%2Ab%21c.d%252A&state=STATE123",
            &r,
        ) else {
            panic!("not a redirect");
        };
        assert_eq!(pairs[0], ("code".into(), "a*b!c.d%2A".into()));
        // localhost for 127.0.0.1, a missing trailing slash, and a scheme-less copy all pass.
        assert!(matches!(
            classify("http://localhost:4000/callback?code=x&state=y", &r),
            Pasted::Redirect(_)
        ));
        assert!(matches!(
            classify("127.0.0.1:4000/callback/?code=x", &r),
            Pasted::Redirect(_)
        ));
        match classify("  abc*DEF!12.u1  \n", &r) {
            Pasted::Code(c) => assert_eq!(c.expose(), "abc*DEF!12.u1"),
            other => panic!("{other:?}"),
        }
        match classify("4%2F0Abc", &r) {
            Pasted::Code(c) => assert_eq!(c.expose(), "4%2F0Abc", "a bare code is verbatim"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn classify_refuses_what_is_not_ours() {
        let r = request("http://127.0.0.1:4000/callback/");
        for (input, says) in [
            ("", "empty"),
            ("hello there", "neither"),
            ("code=x&state=y", "neither"),
            ("http://127.0.0.1:4001/callback/?code=x", "not the redirect"),
            ("http://127.0.0.1:4000/other/?code=x", "not the redirect"),
            (
                "https://www.example.com/v2/auth/authorize/?client_key=x",
                "not the redirect",
            ),
            (
                "http://127.0.0.1:4000/callback/",
                "neither `code` nor `error`",
            ),
            ("ftp://127.0.0.1:4000/callback/?code=x", "neither"),
        ] {
            match classify(input, &r) {
                Pasted::Unusable(why) => assert!(why.contains(says), "{input}: {why}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    fn pairs(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn query_success_keeps_the_other_params() {
        let r = request("http://127.0.0.1:4000/callback/");
        let cb = from_query(
            pairs("code=a%2Fb&state=STATE123&scopes=user.info.basic%2Cvideo.publish&code=evil"),
            &r,
            WHO,
        )
        .unwrap()
        .unwrap();
        assert_eq!(cb.code.expose(), "a/b");
        assert_eq!(
            cb.params.get("scopes").map(String::as_str),
            Some("user.info.basic,video.publish")
        );
        assert!(!cb.params.contains_key("code") && !cb.params.contains_key("state"));
        assert_eq!(cb.request.state, "STATE123");
    }

    #[test]
    fn strays_are_screened_out_and_described_without_codes() {
        let r = request("http://127.0.0.1:4000/callback/");
        assert_eq!(screen(&pairs("code=x&state=STATE123"), &r), None);
        assert_eq!(
            screen(&pairs("error=access_denied&state=STATE123"), &r),
            None
        );
        for (query, looks_like) in [
            (
                "error=access_denied",
                "a callback with `error=access_denied` and no `state`",
            ),
            ("error=", "a callback with `error=` and no `state`"),
            (
                "code=SECRET",
                "a callback with a `code` (not shown) and no `state`",
            ),
            (
                "code=SECRET&state=OTHER&state=STATE123",
                "a callback with a `code` (not shown) and another authorisation's `state`",
            ),
            (
                "error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=OTHER",
                "a callback with `error=scriptalert1script` and another authorisation's `state`",
            ),
            (
                "",
                "a callback with neither `code` nor `error` and no `state`",
            ),
        ] {
            let stray = screen(&pairs(query), &r).expect(query);
            assert_eq!(stray.looks_like, looks_like, "{query}");
        }
    }

    #[test]
    fn query_refusals() {
        let r = request("http://127.0.0.1:4000/callback/");
        let e = from_query(pairs("code=x&state=OTHER"), &r, WHO).unwrap_err();
        assert!(
            e.message().contains("state does not match"),
            "{}",
            e.message()
        );
        let e = from_query(pairs("code=x"), &r, WHO).unwrap_err();
        assert!(e.message().contains("no `state`"), "{}", e.message());
        let e = from_query(
            pairs("error=access_denied&error_description=User+cancelled&state=STATE123"),
            &r,
            WHO,
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "you declined the authorisation on Fake (access_denied: User cancelled)"
        );
        assert!(e.hint().unwrap().contains("keryx auth fake"));
        // No state on an error redirect is still reported as the provider's error.
        let e = from_query(
            pairs("error=access_denied&error_type=non_sandbox_target"),
            &r,
            WHO,
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "Fake refused the authorisation (access_denied, error_type non_sandbox_target)"
        );
        // A wrong state wins over an error: the error belongs to someone else's flow.
        let e = from_query(pairs("error=access_denied&state=OTHER"), &r, WHO).unwrap_err();
        assert!(e.message().contains("state does not match"));
        assert!(
            from_query(pairs("state=STATE123"), &r, WHO)
                .unwrap()
                .is_none()
        );
        assert!(from_query(pairs("code=&state=STATE123"), &r, WHO).is_err());
    }
}
