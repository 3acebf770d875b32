//! keryx-core: everything keryx needs that is not about one platform.
//!
//! - [`platform`]: the [`Platform`] trait and the registry platforms add themselves to.
//! - [`context`]: what a platform gets for one command (config, paths, secrets, HTTP, UI).
//! - [`config`]: the YAML config: typed sections, precise errors, edits that keep comments.
//! - [`secrets`] and [`tokens`]: the keychain (or config-file fallback) and the locked
//!   read–refresh–persist of OAuth tokens.
//! - [`removal`]: `keryx auth --remove`: revoke at the platform, then forget.
//! - [`oauth`]: PKCE, the loopback capture, the pasted-URL fallback and `--code`.
//! - [`http`] and [`session`]: the shared client, the one retry policy (reply timeout, backoff,
//!   rate limits, a budget per call) and the authorised session every API call goes through;
//!   [`once`]: a call that must take effect at most once though a failure may have (send,
//!   and after an unsure failure verify, before sending again).
//! - [`upload`]: the range-upload engine every upload goes through, and its streaming body;
//!   [`poll`]: the pace of processing-status polls.
//! - [`media`]: what a video file is (container, duration, size), read from its header.
//! - [`metadata`]: what to say about a video, from flags and the `VIDEO.keryx.yaml` sidecar;
//!   [`options`]: the posting options each platform declares as data.
//! - [`resume`]: what an interrupted post needs to go on where it stopped (a session URI,
//!   an uploaded blob, a container), kept per file between runs.
//! - [`post`]: the post job (preflight, ledger rules, parallel publishing, outcomes) that
//!   `keryx post` renders.
//! - [`target`]: a platform and one of its accounts (`youtube:shorts`), as posts name them.
//! - [`ledger`]: the append-only record of post attempts that keeps reruns from posting twice;
//!   [`claim`]: the cross-process lock that keeps two concurrent runs from doing so.
//! - [`emulator`]: the contract for platform fakes and a server that runs them.
//!
//! Core names no platform.

pub mod claim;
pub mod config;
pub mod context;
pub mod emulator;
pub mod error;
pub mod fingerprints;
pub mod http;
pub mod ledger;
pub mod media;
pub mod metadata;
pub mod oauth;
pub mod once;
pub mod options;
pub mod paths;
pub mod platform;
pub mod poll;
pub mod post;
pub mod removal;
pub mod resume;
pub mod secret;
pub mod secrets;
pub mod session;
pub mod target;
pub mod tokens;
pub mod ui;
pub mod upload;

pub use context::{Context, NoProgress, Progress, Prompter, Ui};
pub use emulator::Emulator;
pub use error::{Cause, Error, ErrorKind, Result};
pub use media::VideoFile;
pub use metadata::{Metadata, MetadataFile};
pub use options::{OptionKind, OptionValue, PostOption};
pub use platform::{
    AuthOptions, AuthReport, Platform, PlatformStatus, PostReport, PreparedPost, Registration,
    Revocation, find, registry,
};
pub use secret::Secret;

/// Re-exported so platform crates register with the same `inventory` version core collects with.
pub use inventory;
