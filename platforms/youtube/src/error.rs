//! Google's OAuth errors and YouTube's API error reasons, turned into messages a creator can
//! act on (reference §2.4, §3.7, §5.2–5.4, §7).

use reqwest::StatusCode;

use keryx_core::{Cause, Error};

use crate::api::ErrorEnvelope;

/// Said wherever a refresh token may have died of the 7-day Testing rule (§2.4, §5.1).
pub const TESTING_NOTE: &str = "if the Google Cloud consent screen is in \"Testing\", Google expires keryx's \
     authorisation 7 days after consent: set the app's publishing status to \"In production\" \
     (see docs/youtube.md) to stop that";

/// Which grant a token-endpoint error answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
}

/// An error reply from the token endpoint: `{error, error_description}` (§2.4).
pub fn oauth_error(grant: Grant, error: &str, description: &str, subtype: Option<&str>) -> Error {
    let detail = if description.is_empty() {
        error.to_string()
    } else {
        format!("{error}: {description}")
    };
    let again = "run `keryx auth youtube` again";
    match (error, grant) {
        ("invalid_grant", Grant::RefreshToken) => {
            let why = match subtype {
                Some("invalid_rapt") => "a Google Workspace session policy ended the session".to_string(),
                _ => "the refresh token expired or was revoked".to_string(),
            };
            Error::authorisation(Cause::AuthorisationRefused, format!("Google no longer accepts keryx's YouTube authorisation: {why} ({detail})"))
                .with_hint(format!(
                    "{again}. Causes: access removed at myaccount.google.com/permissions, 6 months unused, \
                     more than 100 newer authorisations of this client, or {TESTING_NOTE}"
                ))
        }
        ("invalid_grant", Grant::AuthorizationCode) => {
            let (what, hint) = if description.contains("Malformed") {
                ("the authorisation code is garbled", "paste the whole address the browser ended on, in quotes, or run `keryx auth youtube` again")
            } else if description.contains("verifier") {
                ("Google rejected the PKCE verifier: the code belongs to another attempt", "run `keryx auth youtube` again and finish with the same run (or its --code within 10 minutes)")
            } else {
                ("Google refused the authorisation code (it is single-use and expires within minutes)", "run `keryx auth youtube` again and finish promptly")
            };
            Error::input(format!("{what} ({detail})")).with_hint(hint)
        }
        ("invalid_request", _) if description.contains("client_secret") => {
            Error::input(format!("Google needs the client secret even for a Desktop app ({detail})")).with_hint(
                "export YOUTUBE_CLIENT_SECRET, or run `keryx auth youtube --client-secrets client_secret.json`",
            )
        }
        ("invalid_client", _) => Error::input(format!("Google rejected the client id or secret ({detail})")).with_hint(
            "check platforms.youtube.client_id and YOUTUBE_CLIENT_SECRET against the Desktop app client at \
             console.cloud.google.com (APIs & Services > Credentials); a deleted client needs new credentials",
        ),
        ("redirect_uri_mismatch", _) => Error::input(format!("Google says the redirect URI does not match ({detail})"))
            .with_hint(
                "the client must be of type \"Desktop app\" (it accepts any loopback port); finish with the same \
                 run that started, or its --code",
            ),
        ("unauthorized_client", _) | ("unsupported_grant_type", _) => {
            Error::input(format!("Google does not allow this client to use this grant ({detail})"))
                .with_hint("create an OAuth client of type \"Desktop app\" and use its credentials")
        }
        ("invalid_scope", _) => Error::input(format!("Google refused the requested YouTube scopes ({detail})"))
            .with_hint("enable the YouTube Data API v3 in the project and add the youtube.upload and youtube.readonly scopes to the consent screen"),
        ("access_denied", _) => Error::input(format!("the authorisation was declined ({detail})"))
            .with_hint(format!("{again} and approve; apps in Testing only admit the listed test users")),
        ("admin_policy_enforced", _) | ("org_internal", _) => {
            Error::input(format!("the Google account's administrator does not allow this app ({detail})"))
                .with_hint("ask the Workspace administrator, or use another Google account")
        }
        ("server_error", _) | ("temporarily_unavailable", _) | ("internal_failure", _) => {
            Error::platform(format!("Google's login service failed ({detail})")).with_hint("try again in a few minutes")
        }
        _ => Error::platform(format!("Google refused the token request ({detail})"))
            .with_hint(format!("{again}; if it persists, check the OAuth client in the Google Cloud console")),
    }
}

/// What [`api_error`] is told for `videos.insert`'s session request: its quota is a bucket of
/// its own (§5.2), so its `quotaExceeded` means something else.
pub const INSERT: &str = "the upload";

/// An API error: `status`, the envelope's first reason, and its message (§5.3, §5.4). `what` says
/// which call failed, e.g. [`INSERT`] or "the thumbnail". `raw` is the body when it was not JSON.
pub fn api_error(
    what: &str,
    status: StatusCode,
    envelope: Option<&ErrorEnvelope>,
    raw: &str,
) -> Error {
    let reason = envelope.map(|e| e.reason()).unwrap_or("");
    let message = envelope
        .map(|e| strip_html(e.message()))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| raw.trim().chars().take(300).collect());
    let detail = match (reason.is_empty(), message.is_empty()) {
        (true, true) => format!("HTTP {status}"),
        (true, false) => format!("HTTP {status}: {message}"),
        (false, true) => format!("HTTP {status} {reason}"),
        (false, false) => format!("HTTP {status} {reason}: {message}"),
    };
    let fail = |text: &str| Error::platform(format!("YouTube refused {what}: {text} ({detail})"));
    let bad = |text: &str| Error::input(format!("YouTube refused {what}: {text} ({detail})"));
    match reason {
        // Since 2026-06-01 uploads have their own bucket; the rest share 10,000 units (§5.2).
        "quotaExceeded" if what == INSERT => fail(
            "the Google Cloud project's daily upload bucket is used up (by default 100 videos.insert calls a day, \
             refused ones included)",
        )
        .with_hint(
            "try again after midnight Pacific Time, when the bucket resets; a bigger one needs YouTube's API \
             audit (see docs/youtube.md)",
        ),
        "quotaExceeded" => fail(
            "the Google Cloud project's daily quota of 10,000 units is used up (a thumbnail costs 50, \
             reading a video or the channel 1; uploads have a bucket of their own)",
        )
        .with_hint(
            "try again after midnight Pacific Time, when the quota resets; more quota needs YouTube's API \
             audit (see docs/youtube.md)",
        ),
        "uploadLimitExceeded" => fail("this channel has reached its daily upload limit").with_hint(
            "try again tomorrow (this is a per-channel limit, not API quota); verifying the channel by phone raises it",
        ),
        "rateLimitExceeded" | "userRateLimitExceeded" => {
            fail("too many requests in a short time").with_hint("wait a few minutes and try again")
        }
        "uploadRateLimitExceeded" => {
            fail("too many uploads of this kind recently").with_hint("try again in a few hours")
        }
        "invalidTitle" => bad("the title is invalid")
            .with_hint("give --title with 1 to 100 characters and no < or >"),
        "invalidDescription" => bad("the description is invalid")
            .with_hint("keep --description within 5000 bytes (UTF-8) and without < or >"),
        "invalidTags" => bad("the tags are invalid")
            .with_hint("keep tags within 500 characters in total (commas count; a tag with a space counts 2 more)"),
        "invalidCategoryId" => bad("the category id is not one YouTube assigns")
            .with_hint("use a numeric id such as 22 (People & Blogs) or 27 (Education) in --youtube-category or platforms.youtube.category"),
        "invalidPublishAt" => bad("the scheduled publishing time is invalid")
            .with_hint("give --youtube-publish-at as RFC 3339, e.g. 2026-12-24T18:00:00Z, with privacy private"),
        "invalidFilename" => bad("the file name is invalid").with_hint("rename the video file and post again"),
        "invalidVideoMetadata" | "invalidRecordingDetails" | "defaultLanguageNotSet" | "badRequest" => {
            bad("the request is invalid").with_hint(
                "check the title, description, tags and category; if they look fine this is a keryx bug: please report it with this message",
            )
        }
        "mediaBodyRequired" => fail("it received no video bytes")
            .with_hint("post again; if it persists, report it as a keryx bug"),
        "invalidImage" => bad("the thumbnail image is invalid")
            .with_hint("use a JPEG or PNG, 16:9, at least 640 px wide, at most 50 MiB"),
        "failedPrecondition" => fail("it is not ready for this yet")
            .with_hint("a Short takes a custom thumbnail once YouTube has processed it: set it in YouTube Studio then"),
        "authError" | "required" | "authorizationRequired" => fail("the access token was not accepted")
            .with_hint("run `keryx auth youtube` again"),
        "youtubeSignupRequired" | "authenticatedUserNotChannel" => fail("the Google account has no YouTube channel")
            .with_hint("create a channel at https://www.youtube.com/create_channel, then run `keryx auth youtube` again"),
        "insufficientPermissions" => bad("keryx was not granted the permission this needs")
            .with_hint("run `keryx auth youtube` again and leave both YouTube permissions ticked"),
        "accessNotConfigured" => bad("the YouTube Data API v3 is not enabled in the Google Cloud project")
            .with_hint("enable it at console.cloud.google.com (APIs & Services > Library > YouTube Data API v3), wait a few minutes, then try again"),
        "forbiddenPrivacySetting" => bad("the privacy setting is not allowed")
            .with_hint("use private, unlisted or public within platforms.youtube.privacy"),
        "forbiddenLicenseSetting" => bad("the license setting is not allowed").with_hint("report this as a keryx bug"),
        "forbidden" => fail("the action is not allowed for this channel or project").with_hint(
            "custom thumbnails need a phone-verified channel (youtube.com/verify); otherwise check that the YouTube \
             Data API is enabled for the project",
        ),
        "authenticatedUserAccountClosed" | "authenticatedUserAccountSuspended" => {
            fail("the YouTube account is closed or suspended").with_hint("check the account at youtube.com")
        }
        "videoNotFound" => fail("YouTube does not know the video").with_hint("check the video in YouTube Studio"),
        "internalError" | "backendError" => fail("YouTube failed internally").with_hint("try again in a few minutes"),
        _ => match status.as_u16() {
            401 => fail("the access token was not accepted").with_hint("run `keryx auth youtube` again"),
            404 => fail("the address is unknown").with_hint("check platforms.youtube.base_url, or remove it to talk to Google"),
            413 => bad("the request is too large").with_hint("for a thumbnail, use an image of at most 50 MiB"),
            500..=599 => fail("YouTube failed").with_hint("try again in a few minutes"),
            400..=499 => bad("the request").with_hint("if the video and metadata look fine, report this as a keryx bug with the message"),
            _ => fail("the request").with_hint("try again; report it if it persists"),
        },
    }
}

/// Reasons after which the same request may succeed a little later (§3.7, §5.4).
pub fn is_rate_limit(reason: &str) -> bool {
    matches!(reason, "rateLimitExceeded" | "userRateLimitExceeded")
}

/// Google's messages may contain HTML (§5.3: the quota message links to a page).
fn strip_html(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_tag = false;
    for c in message.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(reason: &str, message: &str) -> ErrorEnvelope {
        serde_json::from_value(serde_json::json!({
            "error": {"code": 403, "message": message, "errors": [{"reason": reason, "domain": "d", "message": message}]}
        }))
        .unwrap()
    }

    #[test]
    fn every_reason_says_what_to_do() {
        let reasons = [
            "quotaExceeded",
            "uploadLimitExceeded",
            "rateLimitExceeded",
            "userRateLimitExceeded",
            "uploadRateLimitExceeded",
            "invalidTitle",
            "invalidDescription",
            "invalidTags",
            "invalidCategoryId",
            "invalidPublishAt",
            "invalidFilename",
            "invalidVideoMetadata",
            "invalidRecordingDetails",
            "defaultLanguageNotSet",
            "badRequest",
            "mediaBodyRequired",
            "invalidImage",
            "failedPrecondition",
            "authError",
            "required",
            "authorizationRequired",
            "youtubeSignupRequired",
            "insufficientPermissions",
            "accessNotConfigured",
            "forbiddenPrivacySetting",
            "forbiddenLicenseSetting",
            "forbidden",
            "authenticatedUserAccountClosed",
            "authenticatedUserAccountSuspended",
            "authenticatedUserNotChannel",
            "videoNotFound",
            "internalError",
            "backendError",
            "somethingNew",
        ];
        for reason in reasons {
            let e = api_error(
                "the upload",
                StatusCode::FORBIDDEN,
                Some(&envelope(reason, "m")),
                "",
            );
            assert!(
                e.hint().is_some_and(|h| !h.is_empty()),
                "{reason} has no hint"
            );
            assert!(
                e.message().contains(reason),
                "{reason} is not named: {}",
                e.message()
            );
        }
        let quota = api_error(
            "the upload",
            StatusCode::FORBIDDEN,
            Some(&envelope("quotaExceeded", "q")),
            "",
        );
        assert!(quota.hint().unwrap().contains("midnight Pacific"));
        assert!(
            quota.message().contains("daily upload bucket"),
            "{}",
            quota.message()
        );
        let shared = api_error(
            "the thumbnail",
            StatusCode::FORBIDDEN,
            Some(&envelope("quotaExceeded", "q")),
            "",
        );
        assert!(
            shared.message().contains("10,000 units"),
            "{}",
            shared.message()
        );
        assert!(shared.hint().unwrap().contains("midnight Pacific"));
        let perms = api_error(
            "x",
            StatusCode::FORBIDDEN,
            Some(&envelope("insufficientPermissions", "")),
            "",
        );
        assert!(perms.hint().unwrap().contains("keryx auth youtube"));
    }

    #[test]
    fn html_is_stripped_and_plain_text_bodies_kept() {
        let e = api_error(
            "x",
            StatusCode::FORBIDDEN,
            Some(&envelope(
                "quotaExceeded",
                "exceeded your <a href=\"/q\">quota</a>.",
            )),
            "",
        );
        assert!(
            e.message().contains("exceeded your quota."),
            "{}",
            e.message()
        );
        let e = api_error(
            "a chunk",
            StatusCode::BAD_REQUEST,
            None,
            "Invalid request. The number of bytes uploaded is required",
        );
        assert!(e.message().contains("Invalid request."), "{}", e.message());
        assert_eq!(e.kind(), keryx_core::ErrorKind::Input);
    }

    #[test]
    fn refresh_failures_mention_the_testing_expiry() {
        let e = oauth_error(
            Grant::RefreshToken,
            "invalid_grant",
            "Token has been expired or revoked.",
            None,
        );
        assert!(e.hint().unwrap().contains("In production"));
        let e = oauth_error(
            Grant::AuthorizationCode,
            "invalid_grant",
            "Malformed auth code.",
            None,
        );
        assert!(e.message().contains("garbled"));
        let e = oauth_error(
            Grant::AuthorizationCode,
            "invalid_request",
            "client_secret is missing.",
            None,
        );
        assert!(e.hint().unwrap().contains("YOUTUBE_CLIENT_SECRET"));
        let e = oauth_error(Grant::RefreshToken, "server_error", "", None);
        assert_eq!(e.kind(), keryx_core::ErrorKind::Platform);
    }
}
