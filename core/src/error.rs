//! The one error type that crosses crate boundaries, and how it maps to exit codes.
//!
//! Every failure a user can meet says three things: what went wrong, where (file, line, key,
//! platform), and what to do about it. Platforms keep their own detailed error enums
//! (`error.rs` in each platform crate) and convert them into this type at their edge.
//!
//! Code that reacts to a failure (a platform adding its own hint, `post all` choosing its exit
//! code) matches on [`ErrorKind`] and [`Cause`], never on the message text.

use std::fmt;

/// Why a command failed, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad usage, config or input: the user must change something. Exit code 2.
    Input,
    /// The platform refused or failed (an API error, a network failure, a video it rejected). Exit code 1.
    Platform,
    /// The platform needs `keryx auth <platform>` (again): nothing is stored, or the stored
    /// authorisation was refused (`invalid_grant`, a revoked or expired refresh token). Exit code 4.
    Authorisation,
}

impl ErrorKind {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Input => 2,
            ErrorKind::Platform => 1,
            ErrorKind::Authorisation => 4,
        }
    }

    /// How much a failure of this kind outweighs others when one exit code must speak for
    /// several (`keryx post all`): bad input first (the user must fix the command), then a
    /// needed authorisation (one `keryx auth` fixes it), then a platform failure.
    pub fn severity(self) -> u8 {
        match self {
            ErrorKind::Input => 3,
            ErrorKind::Authorisation => 2,
            ErrorKind::Platform => 1,
        }
    }
}

/// What a failure was about, for code that reacts to it. Only the causes someone matches on
/// are named; most errors have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// No client secret in the environment or the secret store.
    NoClientSecret,
    /// Nothing is stored for the platform: `keryx auth` never ran (or was undone).
    NotAuthorised,
    /// The stored refresh token is past its stated lifetime.
    AuthorisationExpired,
    /// The platform refused the stored authorisation (`invalid_grant`: revoked, expired, used
    /// elsewhere).
    AuthorisationRefused,
    /// The platform kept rate limiting the call for longer than keryx waits.
    RateLimited,
    /// The server accepted the request but sent no reply in time, every time.
    Timeout,
    /// The server could not be reached, or kept dropping the connection.
    Unreachable,
}

/// A failure with a message for humans and, where there is one, the next step to take.
pub struct Error {
    kind: ErrorKind,
    cause: Option<Cause>,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Bad usage, config or input (exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Input,
            cause: None,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// The platform refused or failed (exit 1).
    pub fn platform(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Platform,
            cause: None,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// A failure of `kind`, for code that speaks for several others (e.g. `keryx post all`'s
    /// summary, which takes the kind of its most serious target).
    pub fn of_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            cause: None,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// Authorisation required (exit 4), with why: [`Cause::NotAuthorised`],
    /// [`Cause::AuthorisationExpired`] or [`Cause::AuthorisationRefused`]. The hint should name
    /// the `keryx auth <platform>` to run.
    pub fn authorisation(cause: Cause, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Authorisation,
            cause: Some(cause),
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// Says what the failure was about, for code that reacts to it.
    pub fn with_cause(mut self, cause: Cause) -> Self {
        self.cause = Some(cause);
        self
    }

    /// What the user should do next, printed on its own line after the message.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Adds a remark after the message, e.g. how long keryx kept trying: `message; note`.
    pub fn with_note(mut self, note: impl fmt::Display) -> Self {
        self.message = format!("{}; {note}", self.message);
        self
    }

    /// The error as one account of `platform` sees it: every `keryx auth <platform>` it
    /// suggests becomes `keryx auth <platform>:<account>`, so the command it gives fixes that
    /// account and not the platform's default one. Platforms word their hints for the
    /// platform; core's post job and `keryx auth` apply this for a named account.
    pub fn for_account(mut self, platform: &str, account: &str) -> Self {
        if account == crate::config::DEFAULT_ACCOUNT {
            return self;
        }
        let target = crate::target::label(platform, account);
        self.message = retarget_auth(&self.message, platform, &target);
        self.hint = self
            .hint
            .as_deref()
            .map(|hint| retarget_auth(hint, platform, &target));
        self
    }

    /// Prefixes the message with context, e.g. the platform or file it concerns.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn cause(&self) -> Option<Cause> {
        self.cause
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("cause", &self.cause)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `text` with each `keryx auth <platform>` not already naming an account replaced by
/// `keryx auth <target>`.
fn retarget_auth(text: &str, platform: &str, target: &str) -> String {
    let needle = format!("keryx auth {platform}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        out.push_str(&rest[..at]);
        let names_one = after.starts_with(':')
            || after.starts_with(" --account")
            || after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        match names_one {
            true => out.push_str(&needle),
            false => out.push_str(&format!("keryx auth {target}")),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod account_tests {
    use super::*;

    #[test]
    fn auth_hints_name_the_account() {
        let e = Error::platform("x")
            .with_hint("run `keryx auth tiktok` again, or `keryx auth tiktok --code URL`")
            .for_account("tiktok", "studio");
        assert_eq!(
            e.hint(),
            Some("run `keryx auth tiktok:studio` again, or `keryx auth tiktok:studio --code URL`")
        );
        let named = Error::platform("x")
            .with_hint("`keryx auth tiktok --account main`, `keryx auth tiktokx`")
            .for_account("tiktok", "studio");
        assert_eq!(
            named.hint(),
            Some("`keryx auth tiktok --account main`, `keryx auth tiktokx`")
        );
        let default = Error::platform("run `keryx auth tiktok`").for_account("tiktok", "default");
        assert_eq!(default.message(), "run `keryx auth tiktok`");
    }
}
