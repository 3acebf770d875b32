//! Which OAuth scopes keryx asks for, and whether a grant holds what a post needs (reference
//! §2.10). keryx asks for the minimal granular set — post records, video and caption blobs,
//! the two service-auth tokens of the video service path — and falls back on
//! `atproto transition:generic` (what an app password grants) where the server does not take
//! granular scopes. A server cannot list the granular scopes it takes (they are dynamic: PDS
//! 0.5.35 lists only `atproto` and `transition:*`, yet enforces `repo:`, `blob:` and `rpc:`), so
//! [`crate::login`] tries the granular set at PAR unless the metadata already says, and falls
//! back on an `invalid_scope` refusal.

use crate::config::UploadPath;
use crate::video::{LIMITS_LXM, UPLOAD_LXM};

/// Identity only; required in every request.
pub const ATPROTO: &str = "atproto";
/// What an app password grants: the fallback.
pub const TRANSITION_GENERIC: &str = "transition:generic";
/// `createRecord` of a post.
pub const CREATE_POST: &str = "repo:app.bsky.feed.post?action=create";
/// `uploadBlob` of the video on the PDS (path A, and `upload: auto`'s fallback).
pub const VIDEO_BLOB: &str = "blob:video/*";
/// `uploadBlob` of the captions.
pub const CAPTIONS_BLOB: &str = "blob:text/vtt";

/// The service-auth token the video service stores the blob with: its `aud` is the user's PDS,
/// which differs per account, hence `*` (`rpc:*?aud=*` alone is forbidden, a named method is
/// not).
pub fn upload_token_scope() -> String {
    format!("rpc:{UPLOAD_LXM}?aud=*")
}

/// The service-auth token for the video service's own `getUploadLimits`. `aud` must be `*` or
/// a DID *with* a service fragment (`did:web:video.bsky.app#bsky_video`): PDS 0.5.35 silently
/// drops `aud=did:web:video.bsky.app` from the grant (observed), and a fragment would have to
/// match the token's `aud` exactly, which is the bare DID. So `*`, for this one method.
pub fn limits_token_scope() -> String {
    format!("rpc:{LIMITS_LXM}?aud=*")
}

/// The granular set keryx asks for: everything any post may need, whatever the upload path,
/// so one sign-in serves a later change of `upload:` and posts with captions alike.
pub fn granular() -> String {
    [
        ATPROTO.to_string(),
        CREATE_POST.into(),
        VIDEO_BLOB.into(),
        CAPTIONS_BLOB.into(),
        upload_token_scope(),
        limits_token_scope(),
    ]
    .join(" ")
}

/// The fallback where granular scopes are not taken.
pub fn fallback() -> String {
    format!("{ATPROTO} {TRANSITION_GENERIC}")
}

/// Whether `scope` asks for anything beyond `atproto` and the transitional scopes.
pub fn is_granular(scope: &str) -> bool {
    scope
        .split_whitespace()
        .any(|s| s != ATPROTO && !s.starts_with("transition:"))
}

/// Whether the server's `scopes_supported` names granular resources (`repo…`, `blob…`,
/// `rpc…`, `include…`): then it takes them, and an `invalid_scope` is not a reason to fall back.
pub fn metadata_lists_granular(supported: &[String]) -> bool {
    supported.iter().any(|s| {
        let resource = s.split([':', '?']).next().unwrap_or_default();
        matches!(resource, "repo" | "blob" | "rpc" | "include")
    })
}

/// What a grant lacks: `(needed for every post on this path, needed for captions only)`.
/// `transition:generic` covers everything keryx does.
pub fn missing(granted: &[String], upload: UploadPath) -> (Vec<String>, Vec<String>) {
    let has = |s: &str| granted.iter().any(|g| g == s);
    if has(ATPROTO) && has(TRANSITION_GENERIC) {
        return (Vec::new(), Vec::new());
    }
    let mut needed = vec![ATPROTO.to_string(), CREATE_POST.into()];
    if upload != UploadPath::VideoService {
        needed.push(VIDEO_BLOB.into());
    }
    if upload != UploadPath::Pds {
        needed.push(upload_token_scope());
        needed.push(limits_token_scope());
    }
    let lacking: Vec<String> = needed.into_iter().filter(|s| !has(s)).collect();
    let captions = if has(CAPTIONS_BLOB) {
        Vec::new()
    } else {
        vec![CAPTIONS_BLOB.to_string()]
    };
    (lacking, captions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_granular_set_is_what_the_reference_names() {
        assert_eq!(
            granular(),
            "atproto repo:app.bsky.feed.post?action=create blob:video/* blob:text/vtt \
             rpc:com.atproto.repo.uploadBlob?aud=* \
             rpc:app.bsky.video.getUploadLimits?aud=*"
        );
        assert!(is_granular(&granular()));
        assert!(!is_granular(&fallback()));
    }

    #[test]
    fn a_grant_is_checked_against_the_upload_path() {
        assert_eq!(
            missing(&split(&granular()), UploadPath::Auto),
            (vec![], vec![])
        );
        assert_eq!(
            missing(&split(&fallback()), UploadPath::Auto),
            (vec![], vec![])
        );
        let no_rpc = split("atproto repo:app.bsky.feed.post?action=create blob:video/*");
        assert_eq!(
            missing(&no_rpc, UploadPath::Pds),
            (vec![], vec![CAPTIONS_BLOB.to_string()])
        );
        assert_eq!(
            missing(&no_rpc, UploadPath::Auto).0,
            vec![upload_token_scope(), limits_token_scope()]
        );
        assert_eq!(
            missing(&split("atproto"), UploadPath::VideoService).0,
            vec![
                CREATE_POST.to_string(),
                upload_token_scope(),
                limits_token_scope()
            ]
        );
    }

    #[test]
    fn listed_granular_resources_are_recognised() {
        let listed = |v: &[&str]| {
            metadata_lists_granular(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(!listed(&[
            "atproto",
            "transition:generic",
            "transition:email"
        ]));
        assert!(listed(&["atproto", "repo", "blob", "rpc"]));
        assert!(listed(&["atproto", "repo:*"]));
    }
}
