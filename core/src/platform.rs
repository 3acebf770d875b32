//! The contract every platform crate implements, and the registry that finds them.
//!
//! A platform crate defines one type implementing [`Platform`] and registers it:
//!
//! ```ignore
//! inventory::submit!(keryx_core::Registration::new(&TikTok));
//! ```
//!
//! Core and the CLI only ever iterate [`registry()`]; no code outside a platform's own crate
//! names it. The linker keeps a registration only when the binary references something in its
//! crate, so every platform crate also exports `pub fn link() {}`, which the CLI's build script
//! calls for each `keryx-*` dependency in `cli/Cargo.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::context::{Context, Progress};
use crate::emulator::Emulator;
use crate::error::Result;
use crate::media::VideoFile;
use crate::metadata::Metadata;
use crate::tokens::TokenSet;

/// One publishing destination (TikTok, YouTube, ...).
#[async_trait]
pub trait Platform: Send + Sync + 'static {
    /// Registry key, config section name and CLI word: lowercase ASCII, e.g. `tiktok`.
    fn id(&self) -> &'static str;

    /// How the platform is called in messages, e.g. `TikTok`.
    fn display_name(&self) -> &'static str;

    /// The target prefix of the crate's log lines (its crate name, e.g. `keryx_tiktok`), for
    /// the CLI's `-v` filter. Taken from the implementing type's path; a platform whose logs
    /// come from elsewhere overrides it.
    fn log_target(&self) -> &'static str {
        let name = std::any::type_name::<Self>();
        name.split("::").next().unwrap_or(name)
    }

    /// The posting options this platform takes besides [`Metadata`]'s shared fields: flags
    /// `--<id>-<name>`, sidecar keys in its section. Read back with [`Metadata::flag`] and
    /// friends in [`Platform::prepare`].
    fn options(&self) -> &'static [crate::options::PostOption] {
        &[]
    }

    /// The keys of this platform's config section that one account may set for itself under
    /// `accounts: <name>:` (a privacy cap, a handle), overriding the platform's value. The
    /// others (the app's client id, ...) are shared by every account.
    fn account_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// The options `keryx auth <id>` takes besides the shared ones (e.g. an existing token),
    /// declared as data like [`Platform::options`]: the CLI renders each as `--<id>-<name>` and
    /// hands the values given in [`AuthOptions::platform_options`]. Only flags and text.
    fn auth_options(&self) -> &'static [crate::options::PostOption] {
        &[]
    }

    /// The environment variable holding the client secret, when the platform names it other
    /// than `<ID>_CLIENT_SECRET` (see [`crate::secrets::client_secret_env`]).
    fn client_secret_env(&self) -> Option<&'static str> {
        None
    }

    /// Whether using the platform needs an app of the user's own, registered in the platform's
    /// developer console, whose client id and secret keryx is given. False for a platform keryx
    /// signs in to as a public client with nothing to register (guides such as `keryx demo`'s
    /// then say so instead of asking for a client id and secret).
    fn needs_registered_app(&self) -> bool {
        true
    }

    /// Parses and validates this platform's config section, with errors that name the file,
    /// line and key. Called before any other method, and by `keryx status`.
    fn check_config(&self, ctx: &Context) -> Result<()>;

    /// Whether [`Platform::authorize`] takes [`AuthOptions::app_password`] (a password for one
    /// app instead of the browser). The CLI refuses `--app-password` for the others, and
    /// `keryx demo` signs in this way where it is offered.
    fn app_passwords(&self) -> bool {
        false
    }

    /// What `keryx status` and `keryx platforms` show about this platform: its config, where
    /// its client secret comes from, and whose token is stored. Never touches the network.
    async fn status(&self, ctx: &Context) -> PlatformStatus {
        let id = self.id();
        let secret = crate::secrets::client_secret(&ctx.secrets, id)
            .ok()
            .map(|(_, source)| source.to_string());
        let token = ctx.tokens(id).load().ok().flatten().map(|set| {
            format!(
                "stored for {}",
                set.account.as_deref().unwrap_or("an unnamed account")
            )
        });
        PlatformStatus {
            platform: id.to_string(),
            enabled: ctx.is_enabled(id),
            config_error: self.check_config(ctx).err().map(|e| e.to_string()),
            secret,
            token,
        }
    }

    /// Runs the platform's authorisation (browser + loopback, pasted URL, or `--code`), stores the
    /// token, flips `enabled` in the config, and says who was authorised.
    async fn authorize(&self, ctx: &Context, options: &AuthOptions) -> Result<AuthReport>;

    /// Asks the platform to end the stored authorisation, for `keryx auth <id> --remove`, which
    /// forgets `tokens` only after this returned (a failure keeps them, so a rerun can try
    /// again). A token the platform no longer accepts is [`Revocation::AlreadyEnded`]. The
    /// default is for a platform without a revocation endpoint.
    async fn revoke(&self, _ctx: &Context, _tokens: &TokenSet) -> Result<Revocation> {
        Ok(Revocation::Unsupported)
    }

    /// Everything that can be checked or asked before a byte of video leaves the machine:
    /// metadata rules, the file against the platform's limits, credentials, interactive choices.
    /// The result is sent with [`PreparedPost::publish`].
    async fn prepare(
        &self,
        ctx: &Context,
        video: &VideoFile,
        metadata: &Metadata,
    ) -> Result<Box<dyn PreparedPost>>;

    /// A fresh, strict fake of every endpoint this platform's client uses.
    fn emulator(&self) -> Arc<dyn Emulator>;
}

/// A post that passed [`Platform::prepare`] and is ready to upload.
#[async_trait]
pub trait PreparedPost: Send + Sync {
    /// What would be sent where (`--dry-run`, and the confirmation before an upload).
    fn describe(&self) -> Vec<(String, String)>;

    /// Uploads and publishes, reporting bytes and phases to `progress`.
    async fn publish(self: Box<Self>, ctx: &Context, progress: &dyn Progress)
    -> Result<PostReport>;
}

/// How `keryx auth` was asked to complete the authorisation.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// `--code`: a code or the whole redirect URL, for the authorisation started last.
    pub code: Option<String>,
    /// `--redirect`: a loopback redirect URI with a fixed port.
    pub redirect: Option<String>,
    /// `--no-browser`: print the URL only.
    pub no_browser: bool,
    /// How long to wait for the browser or a pasted URL.
    pub timeout: Duration,
    /// `--client-secrets`: a credentials file downloaded from the platform's console.
    pub client_secrets: Option<PathBuf>,
    /// The values of the platform's own [`Platform::auth_options`] that were given, by name.
    pub platform_options: BTreeMap<String, crate::options::OptionValue>,
    /// `--app-password`: sign in with an app password (a revocable password for one app)
    /// instead of the browser, on platforms that have them. Others refuse it.
    pub app_password: bool,
}

/// What [`Platform::revoke`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    /// The platform confirmed: the token and its refresh token are dead.
    Revoked,
    /// The platform had already ended it (revoked elsewhere, expired).
    AlreadyEnded,
    /// keryx cannot revoke it at this platform (no revocation endpoint, or none implemented
    /// yet): the user must remove keryx's access in the platform's own settings.
    Unsupported,
}

/// The result of a successful `keryx auth`.
#[derive(Debug, Clone, Serialize)]
pub struct AuthReport {
    pub platform: String,
    /// Who was authorised: display name, channel title, ...
    pub account: String,
    /// Things the user should know (a token that dies in 7 days, a scope not granted, ...).
    pub notes: Vec<String>,
}

/// The result of a finished post, printed by the CLI and recorded in the ledger.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PostReport {
    pub platform: String,
    /// The platform's final status word, e.g. `PUBLISH_COMPLETE`, `uploaded`.
    pub status: String,
    /// The platform's id for the upload task or video.
    pub id: Option<String>,
    /// The id of the public post, when the platform gives one.
    pub post_id: Option<String>,
    pub url: Option<String>,
    /// The privacy the platform actually applied.
    pub privacy: Option<String>,
    pub account: Option<String>,
    /// Things the user should know (forced private, finish in the app, ...).
    pub notes: Vec<String>,
}

/// What `keryx status` shows for one platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformStatus {
    pub platform: String,
    pub enabled: bool,
    /// `None` when the config is fine, else the error message.
    pub config_error: Option<String>,
    /// Where the client secret was found (`environment`, `keychain`, ...), or `None`.
    pub secret: Option<String>,
    /// Whether a refresh token is stored, and for whom.
    pub token: Option<String>,
}

/// A platform's entry in the registry.
pub struct Registration {
    pub platform: &'static dyn Platform,
}

impl Registration {
    pub const fn new(platform: &'static dyn Platform) -> Self {
        Registration { platform }
    }
}

inventory::collect!(Registration);

/// Every registered platform, sorted by id.
pub fn registry() -> Vec<&'static dyn Platform> {
    let mut platforms: Vec<&'static dyn Platform> = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.platform)
        .collect();
    platforms.sort_by_key(|p| p.id());
    platforms
}

/// The registered platform with this id.
pub fn find(id: &str) -> Option<&'static dyn Platform> {
    registry().into_iter().find(|p| p.id() == id)
}
