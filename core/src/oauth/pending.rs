//! The authorisation a `keryx auth` started and has not finished, kept on disk so that a later
//! process (`keryx auth <p> --code URL`) can finish it: the code is useless without the
//! verifier, the redirect URI and the state it was requested with.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use super::AuthRequest;
use crate::context::Context;
use crate::error::{Error, Result};

/// How long a pending authorisation can be finished. Providers' codes live a few minutes at
/// most (TikTok's lifetime is undocumented, Google's is "short"), so anything older is useless.
pub const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `<state_dir>/pending/<platform>.json` (`<platform>@<account>.json` for a named account), the
/// directory created 0700.
fn pending_file(ctx: &Context, platform: &str) -> Result<PathBuf> {
    // The id becomes a file name: refuse anything that could escape the directory.
    if platform.is_empty()
        || !platform
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(Error::input(format!(
            "`{platform}` is not a valid platform id for a pending authorisation"
        ))
        .with_hint("platform ids are lowercase ASCII letters, digits, `-` and `_`"));
    }
    let name = match ctx.is_default_account() {
        true => format!("{platform}.json"),
        false => format!("{platform}@{}.json", ctx.account),
    };
    Ok(ctx.paths.state_subdir("pending")?.join(name))
}

/// Writes `request` atomically (temp file + rename in the same directory) with mode 0600, since
/// it holds the PKCE verifier. A newer authorisation replaces an older one.
pub(crate) fn save(ctx: &Context, request: &AuthRequest) -> Result<()> {
    let path = pending_file(ctx, &request.platform)?;
    let write_error = |e: std::io::Error| {
        Error::input(format!(
            "cannot save the pending authorisation to {}",
            path.display()
        ))
        .with_source(e)
        .with_hint("check that keryx's state directory is writable (it honours XDG_STATE_HOME)")
    };
    let json = serde_json::to_vec_pretty(request)
        .map_err(|e| Error::input("cannot encode the pending authorisation").with_source(e))?;
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    // tempfile creates the file 0600 on Unix, so the verifier is never readable by others,
    // not even for the moment between write and rename.
    let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(write_error)?;
    file.write_all(&json).map_err(write_error)?;
    file.as_file().sync_all().map_err(write_error)?;
    file.persist(&path).map_err(|e| write_error(e.error))?;
    Ok(())
}

/// The pending authorisation for `platform`, checked for age. None saved: an input error that
/// says to start with `keryx auth <p>`. Expired or unreadable: deleted, and an error saying to
/// start again.
pub(crate) fn load(ctx: &Context, platform: &str) -> Result<AuthRequest> {
    let path = pending_file(ctx, platform)?;
    let auth = crate::target::auth_command(platform, &ctx.account);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(format!("no `{auth}` is waiting for a code"))
                .with_hint(format!("run `{auth}` first; it prints the URL to open")));
        }
        Err(e) => {
            return Err(Error::input(format!(
                "cannot read the pending authorisation {}",
                path.display()
            ))
            .with_source(e)
            .with_hint("check the permissions of keryx's state directory"));
        }
    };
    let request = match serde_json::from_slice::<AuthRequest>(&bytes) {
        Ok(request)
            if request.platform == platform
                && super::pkce::is_valid_verifier(request.verifier.expose()) =>
        {
            request
        }
        parsed => {
            let _ = std::fs::remove_file(&path);
            let mut error = Error::input(format!(
                "the pending authorisation {} is damaged, so it was removed",
                path.display()
            ))
            .with_hint(format!("run `{auth}` again"));
            if let Err(e) = parsed {
                error = error.with_source(e);
            }
            return Err(error);
        }
    };
    let age = now().saturating_sub(request.created_at);
    if age > PENDING_TTL.as_secs() as i64 {
        let _ = std::fs::remove_file(&path);
        return Err(Error::input(format!(
            "the pending `{auth}` expired: it was started {} ago, and a code can only be \
             finished within {}",
            // Whole minutes: "11 minutes", not "11 min 1 s" because a second ticked over.
            super::human_duration(Duration::from_secs(age.unsigned_abs() / 60 * 60)),
            super::human_duration(PENDING_TTL),
        ))
        .with_hint(format!(
            "run `{auth}` again and finish it within {}",
            super::human_duration(PENDING_TTL)
        )));
    }
    Ok(request)
}

/// Deletes the pending authorisation for `platform`; nothing pending is fine.
pub(crate) fn forget(ctx: &Context, platform: &str) -> Result<()> {
    let path = pending_file(ctx, platform)?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::input(format!(
            "cannot remove the pending authorisation {}",
            path.display()
        ))
        .with_source(e)
        .with_hint("delete the file by hand; it holds a one-time PKCE verifier")),
    }
}
