//! The conformance suite: the flows every keryx platform must pass, run through a real keryx
//! binary against the platform's own emulator (as every rclone backend passes `fstests`).
//!
//! A platform crate, inside or outside this workspace, runs the whole suite from one test file:
//!
//! ```text
//! // tests/conformance.rs of a platform crate with a binary that links it (keryx + the platform)
//! keryx_conformance::conformance!(
//!     binary = env!("CARGO_BIN_EXE_keryx-with-myplatform"),
//!     link = my_platform::link;
//!     myplatform
//! );
//! ```
//!
//! Each flow becomes its own `#[test]` in a module named after the platform: authorisation by
//! loopback, pasted URL and `--code` from a second process, a declined one, stray callbacks, a
//! multi-range upload, a 5xx and a dropped connection mid-upload, a stalled token request and
//! API call and upload, a server that never answers (exit 1 naming the timeout), a rate limit
//! that outlasts the retry budget (exit 1 naming the limit), a revoked authorisation
//! (exit 4), `keryx auth --remove` (revoked at the platform, forgotten), bad videos and a missing secret (exit 2), no secret in any output, tokens in a
//! real Secret Service, and authorisation in a real headless Chromium. Flows whose tool is
//! missing (Chromium, gnome-keyring) skip loudly, and fail under `CI=true`. What differs
//! between platforms (sizes, fault knobs) comes from the emulator's
//! [`keryx_core::emulator::Conformance`]. `keryx-fixture-platform` (under `tests/`) runs it
//! this way; the workspace's end-to-end tests run it for every built-in platform.
//!
//! [`support`] is the harness the flows are written with (a throwaway home, the binary, a
//! `keryx emulator` process); platform crates can write their own end-to-end tests with it.

pub mod keychain;
#[path = "../../core/tests/support/keyring_session.rs"]
pub mod keyring_session;
pub mod suite;
pub mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static BINARY: OnceLock<PathBuf> = OnceLock::new();

/// Runs the flows with this keryx binary (one that links the platform under test). Without a
/// call, [`binary`] is `keryx` in the test binary's target directory.
pub fn use_binary(path: impl AsRef<Path>) {
    let _ = BINARY.set(path.as_ref().to_path_buf());
}

/// The keryx binary the harness runs.
pub fn binary() -> &'static Path {
    BINARY.get_or_init(|| {
        // A test binary lives in `<target>/<profile>/deps/`; cargo puts `keryx` in `<profile>/`.
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test binary lives in <target>/<profile>/deps");
        profile_dir.join(format!("keryx{}", std::env::consts::EXE_SUFFIX))
    })
}

/// Every flow of [`suite`] as its own test, per platform named; also `COVERED`, the ids.
/// `binary` is the keryx binary to run (`env!("CARGO_BIN_EXE_...")`), `link` a function that
/// links the platforms into the test binary (their `link()`), so their emulators' profiles
/// can be read.
#[macro_export]
macro_rules! conformance {
    (binary = $binary:expr, link = $link:path; $($platform:ident),* $(,)?) => {
        const COVERED: &[&str] = &[$(stringify!($platform)),*];
        $(mod $platform {
            const ID: &str = stringify!($platform);
            fn init() { $crate::use_binary($binary); $link(); }
            #[test]
            fn auth_by_loopback() { init(); $crate::suite::auth_by_loopback(ID) }
            #[test]
            fn auth_by_pasted_url() { init(); $crate::suite::auth_by_pasted_url(ID) }
            #[test]
            fn auth_by_code_in_second_process() { init(); $crate::suite::auth_by_code_in_second_process(ID) }
            #[test]
            fn auth_declined() { init(); $crate::suite::auth_declined(ID) }
            #[test]
            fn auth_ignores_stray_callbacks() { init(); $crate::suite::auth_ignores_stray_callbacks(ID) }
            #[test]
            fn auth_times_out_naming_the_strays() { init(); $crate::suite::auth_times_out_naming_the_strays(ID) }
            #[test]
            fn auth_pasted_wrong_state() { init(); $crate::suite::auth_pasted_wrong_state(ID) }
            #[test]
            fn post_multi_chunk() { init(); $crate::suite::post_multi_chunk(ID) }
            #[test]
            fn post_recovers_from_server_error() { init(); $crate::suite::post_recovers_from_server_error(ID) }
            #[test]
            fn post_recovers_from_dropped_connection() { init(); $crate::suite::post_recovers_from_dropped_connection(ID) }
            #[test]
            fn bad_videos() { init(); $crate::suite::bad_videos(ID) }
            #[test]
            fn missing_secret() { init(); $crate::suite::missing_secret(ID) }
            #[test]
            fn no_secret_in_output() { init(); $crate::suite::no_secret_in_output(ID) }
            #[test]
            fn auth_in_real_browser() { init(); $crate::suite::auth_in_real_browser(ID) }
            #[test]
            fn a_stalled_token_request_is_retried() { init(); $crate::suite::a_stalled_token_request_is_retried(ID) }
            #[test]
            fn a_stalled_api_call_is_retried() { init(); $crate::suite::a_stalled_api_call_is_retried(ID) }
            #[test]
            fn a_server_that_never_answers_ends_in_exit_1() { init(); $crate::suite::a_server_that_never_answers_ends_in_exit_1(ID) }
            #[test]
            fn a_stalled_upload_is_resumed() { init(); $crate::suite::a_stalled_upload_is_resumed(ID) }
            #[test]
            fn an_upload_server_that_never_answers_ends_in_exit_1() { init(); $crate::suite::an_upload_server_that_never_answers_ends_in_exit_1(ID) }
            #[test]
            fn a_persistent_rate_limit_ends_in_exit_1_naming_the_limit() { init(); $crate::suite::a_persistent_rate_limit_ends_in_exit_1_naming_the_limit(ID) }
            #[test]
            fn a_revoked_authorisation_ends_in_exit_4() { init(); $crate::suite::a_revoked_authorisation_ends_in_exit_4(ID) }
            #[test]
            fn a_removed_authorisation_is_revoked_and_forgotten() { init(); $crate::suite::a_removed_authorisation_is_revoked_and_forgotten(ID) }
            #[test]
            fn a_named_account_has_its_own_token_ledger_and_removal() { init(); $crate::suite::a_named_account_has_its_own_token_ledger_and_removal(ID) }
            #[test]
            fn tokens_live_in_the_keychain() { init(); $crate::keychain::tokens_live_in_the_keychain(ID) }
        })*
    };
}
