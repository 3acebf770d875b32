//! TikTok's error codes, turned into messages a creator can act on (reference §3.4, §7, §8).

use keryx_core::{Cause, Error};

/// An error from an OAuth call (token, refresh): flat `{error, error_description, log_id}`.
pub fn oauth_error(error: &str, description: &str, log_id: &str) -> Error {
    let detail = with_log_id(&format!("{error}: {description}"), log_id);
    match error {
        "invalid_grant" => Error::authorisation(Cause::AuthorisationRefused, format!("TikTok no longer accepts keryx's authorisation ({detail})"))
            .with_hint("run `keryx auth tiktok` again (the refresh token expired, was revoked, or was used elsewhere)"),
        "invalid_client" => Error::input(format!("TikTok rejected the client key or secret ({detail})")).with_hint(
            "check platforms.tiktok.client_key and TIKTOK_CLIENT_SECRET against your app on developers.tiktok.com \
             (a sandbox has its own key and secret)",
        ),
        "invalid_request" if description.contains("Code verifier") => {
            Error::input(format!("TikTok rejected the PKCE verifier ({detail})"))
                .with_hint("start again with `keryx auth tiktok`; the code belongs to an older attempt")
        }
        "invalid_request" if description.contains("Redirect_uri") => {
            Error::input(format!("TikTok says the redirect URI does not match ({detail})")).with_hint(
                "register http://127.0.0.1:*/callback/ as a Desktop redirect URI, and finish with the same run that started",
            )
        }
        "access_denied" => Error::input(format!("the authorisation was declined ({detail})"))
            .with_hint("run `keryx auth tiktok` again and approve"),
        "invalid_scope" | "unauthorized_client" => {
            Error::input(format!("TikTok refused the app's permissions ({detail})")).with_hint(
                "add Login Kit and the Content Posting API (Direct Post) to the app, and approve the scopes user.info.basic and video.publish",
            )
        }
        "server_error" | "temporarily_unavailable" => {
            Error::platform(format!("TikTok's login service failed ({detail})")).with_hint("try again in a few minutes")
        }
        _ => Error::platform(format!("TikTok refused the token request ({detail})")),
    }
}

/// An error from a v2 API call: the envelope's `error.code` with HTTP status and log id.
pub fn api_error(code: &str, message: &str, log_id: &str) -> Error {
    let detail = with_log_id(&format!("{code}: {message}"), log_id);
    match code {
        "access_token_invalid" => Error::platform(format!("TikTok rejected the access token ({detail})"))
            .with_hint("run `keryx auth tiktok` again if this persists"),
        "scope_not_authorized" | "scope_permission_missed" => {
            Error::input(format!("keryx was not granted the permission this needs ({detail})"))
                .with_hint("run `keryx auth tiktok` again and keep every permission ticked")
        }
        "spam_risk_too_many_posts" => Error::platform(format!(
            "TikTok says this account has posted too much through apps today ({detail})"
        ))
        .with_hint("try again tomorrow, or post this one from the TikTok app"),
        "spam_risk_user_banned_from_posting" | "spam_risk" | "spam_risk_text" => {
            Error::platform(format!("TikTok does not allow this account to post right now ({detail})"))
                .with_hint("check the account's notifications in the TikTok app")
        }
        "reached_active_user_cap" => Error::platform(format!(
            "the app has reached its daily limit of posting users ({detail})"
        ))
        .with_hint("try again tomorrow; unaudited apps allow 5 posting users a day"),
        "unaudited_client_can_only_post_to_private_accounts" => Error::input(format!(
            "TikTok only lets an unaudited app post to private accounts ({detail})"
        ))
        .with_hint("set the TikTok account to private (Settings > Privacy), or pass the Content Posting API audit"),
        "privacy_level_option_mismatch" => Error::input(format!("TikTok refused the privacy level ({detail})"))
            .with_hint("choose one of the levels TikTok offers this account (see `keryx post tiktok` on a terminal)"),
        "spam_risk_too_many_pending_share" => Error::platform(format!(
            "there are too many unfinished drafts in the TikTok inbox ({detail})"
        ))
        .with_hint("finish or delete drafts in the TikTok app, then try again"),
        "invalid_params" | "invalid_param" => {
            Error::platform(format!("TikTok refused the request as invalid ({detail})"))
                .with_hint("this is a keryx bug if the video and caption are fine: please report it with the log id")
        }
        "rate_limit_exceeded" => Error::platform(format!("TikTok is rate limiting keryx ({detail})"))
            .with_hint("wait a minute and try again"),
        "invalid_file_upload" => Error::input(format!("TikTok refused the file ({detail})"))
            .with_hint("TikTok takes MP4, MOV or WebM with H.264/H.265/VP8/VP9, 23-60 fps, 360-4096 px"),
        _ => Error::platform(format!("TikTok refused the request ({detail})")),
    }
}

/// A post that ended in `FAILED`, by its `fail_reason` (§7).
pub fn publish_failed(reason: &str) -> Error {
    let (message, hint) = match reason {
        "file_format_check_failed" => (
            "TikTok could not read the video format",
            "export MP4 (H.264) and post again",
        ),
        "duration_check_failed" => (
            "the video is too long or too short for TikTok",
            "trim it to the length your account may post",
        ),
        "frame_rate_check_failed" => ("TikTok refused the frame rate", "export at 23-60 fps"),
        "picture_size_check_failed" => (
            "TikTok refused the picture size",
            "export with each side between 360 and 4096 px",
        ),
        "internal" => (
            "TikTok failed while processing the video",
            "post again later",
        ),
        "auth_removed" => (
            "the authorisation was removed while posting",
            "run `keryx auth tiktok` again",
        ),
        "spam_risk_too_many_posts" => (
            "TikTok says this account posted too much today",
            "post from the TikTok app or try tomorrow",
        ),
        "publish_cancelled" => (
            "the post was cancelled",
            "post again if that was not intended",
        ),
        _ => (
            "TikTok did not publish the video",
            "check the TikTok app for details",
        ),
    };
    Error::platform(format!("{message} (fail_reason: {reason})")).with_hint(hint)
}

fn with_log_id(detail: &str, log_id: &str) -> String {
    if log_id.is_empty() {
        detail.to_string()
    } else {
        format!("{detail}; log_id {log_id}")
    }
}
