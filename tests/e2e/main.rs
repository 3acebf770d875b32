//! End-to-end tests: the real `keryx` binary against the platforms' emulators, run by
//! `keryx emulator` in its own process, with a throwaway HOME per test.

mod accounts;
mod accounts_multi;
mod bluesky;
mod bluesky_oauth;
mod bluesky_scopes;
mod bluesky_video;
mod cli;
mod conformance;
mod demo;
mod docs;
mod emulator_cli;
#[path = "../../core/tests/support/ffmpeg.rs"]
mod ffmpeg;
mod instagram;
mod media;
mod post_all;
mod shell;
mod support;
mod tiktok;
mod youtube;
