//! Progress of a post: a bar on a terminal, plain lines in a log.
//!
//! On a terminal (and not under `--json`), each platform gets an `indicatif` bar on one shared
//! [`MultiProgress`]: bytes, rate and ETA while uploading, then a spinner with the platform's
//! status word (TikTok's polling, YouTube's thumbnail), finished with the result. Elsewhere (CI
//! logs, pipes) there are no bars: one plain line per phase and per ~10% of the bytes, prefixed
//! with the platform. `-q` shows neither; `NO_COLOR` drops the colours.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use keryx_core::Progress;

use crate::ui::OutputMode;

/// The terminal's one progress display. Bars are drawn on it, and every message keryx prints
/// on stderr goes through it too ([`print_line`]), so a warning in the middle of an upload
/// appears above the bars instead of leaving a half-drawn bar behind.
pub fn display() -> &'static MultiProgress {
    static DISPLAY: OnceLock<MultiProgress> = OnceLock::new();
    DISPLAY.get_or_init(MultiProgress::new)
}

/// Prints a line on stderr without tearing the progress bars (plainly when there are none).
pub fn print_line(line: &str) {
    display().suspend(|| eprintln!("{line}"));
}

/// The progress display of one platform's post, which can also say how the post ended.
/// Dropped without [`Tracker::succeeded`] or [`Tracker::failed`], a bar stops where it stood.
pub fn tracker(mode: OutputMode, multi: &MultiProgress, platform: &str) -> Tracker {
    let display = if mode.quiet {
        Display::Quiet
    } else if mode.terminal && !mode.json {
        Display::Bar(Bar::new(multi, platform, mode.no_color))
    } else {
        Display::Lines(Lines::new(platform))
    };
    Tracker { display }
}

/// One platform's progress: a bar, plain lines, or nothing.
pub struct Tracker {
    display: Display,
}

enum Display {
    Quiet,
    Bar(Bar),
    Lines(Lines),
}

/// The last line of a platform's progress: the result and how long it took.
impl keryx_core::post::Tracker for Tracker {
    fn ended(
        &self,
        result: &keryx_core::Result<keryx_core::PostReport>,
        elapsed: std::time::Duration,
    ) {
        let seconds = elapsed.as_secs_f64();
        match result {
            Ok(report) => self.succeeded(&format!(
                "posted ({}) in {seconds:.1} s{}",
                report.status,
                report
                    .url
                    .as_deref()
                    .map(|u| format!(": {u}"))
                    .unwrap_or_default()
            )),
            Err(e) => self.failed(&format!("failed after {seconds:.1} s: {e}")),
        }
    }
}

impl Tracker {
    /// The post went through: the bar ends green with `summary`, a log gets one line.
    pub fn succeeded(&self, summary: &str) {
        match &self.display {
            Display::Quiet => {}
            Display::Bar(bar) => bar.end(summary, "green"),
            Display::Lines(lines) => eprintln!("{}: {summary}", lines.platform),
        }
    }

    /// The post failed: the bar stays where it stopped, in red, with `summary`.
    pub fn failed(&self, summary: &str) {
        match &self.display {
            Display::Quiet => {}
            Display::Bar(bar) => bar.end(summary, "red"),
            Display::Lines(lines) => eprintln!("{}: {summary}", lines.platform),
        }
    }

    fn inner(&self) -> &dyn Progress {
        match &self.display {
            Display::Quiet => &keryx_core::NoProgress,
            Display::Bar(bar) => bar,
            Display::Lines(lines) => lines,
        }
    }
}

impl Progress for Tracker {
    fn phase(&self, name: &str, total: Option<u64>) {
        self.inner().phase(name, total);
    }

    fn set_position(&self, bytes: u64) {
        self.inner().set_position(bytes);
    }

    fn status(&self, message: &str) {
        self.inner().status(message);
    }
}

/// An indicatif bar: bytes, rate and ETA while uploading, a spinner with the status afterwards.
struct Bar {
    bar: ProgressBar,
    no_color: bool,
}

impl Bar {
    fn new(multi: &MultiProgress, platform: &str, no_color: bool) -> Self {
        // `add` draws the bar through the MultiProgress, so several bars share the terminal
        // instead of overwriting each other's lines.
        let bar = multi.add(ProgressBar::no_length());
        if let Ok(style) = ProgressStyle::with_template("{prefix:>8} {spinner} {msg}") {
            bar.set_style(style);
        }
        bar.set_prefix(platform.to_string());
        bar.set_message("waiting");
        Bar { bar, no_color }
    }

    /// Replaces the bar by a final line: `platform  summary`, coloured unless `NO_COLOR`.
    fn end(&self, summary: &str, colour: &str) {
        let template = if self.no_color {
            "{prefix:>8} {msg}".to_string()
        } else {
            format!("{{prefix:>8}} {{msg:.{colour}}}")
        };
        self.bar.disable_steady_tick();
        if let Ok(style) = ProgressStyle::with_template(&template) {
            self.bar.set_style(style);
        }
        self.bar.finish_with_message(summary.to_string());
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: Option<u64>) {
        let template = match (total, self.no_color) {
            (Some(_), false) => {
                "{prefix:>8} {msg:<10} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
            }
            (Some(_), true) => {
                "{prefix:>8} {msg:<10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
            }
            (None, _) => "{prefix:>8} {spinner} {msg}",
        };
        // Message and length first, so the new style never draws with the last phase's.
        self.bar.set_message(name.to_string());
        match total {
            Some(total) => {
                self.bar.disable_steady_tick();
                self.bar.set_length(total);
                self.bar.set_position(0);
            }
            None => self.bar.enable_steady_tick(Duration::from_millis(120)),
        }
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
    }

    fn set_position(&self, bytes: u64) {
        self.bar.set_position(bytes);
    }

    fn status(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.disable_steady_tick();
            self.bar.abandon();
        }
    }
}

/// Plain lines for logs: one per phase and one every ~10% of the bytes.
struct Lines {
    platform: String,
    state: Mutex<LineState>,
}

#[derive(Default)]
struct LineState {
    total: Option<u64>,
    last_tenth: u64,
    last_status: String,
}

impl Lines {
    fn new(platform: &str) -> Self {
        Lines {
            platform: platform.to_string(),
            state: Mutex::new(LineState::default()),
        }
    }
}

impl Progress for Lines {
    fn phase(&self, name: &str, total: Option<u64>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.total = total;
        state.last_tenth = 0;
        match total {
            Some(total) => eprintln!("{}: {name} {}", self.platform, human_bytes(total)),
            None => eprintln!("{}: {name}", self.platform),
        }
    }

    fn set_position(&self, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(total) = state.total.filter(|t| *t > 0) else {
            return;
        };
        let tenth = bytes.saturating_mul(10) / total;
        if tenth > state.last_tenth {
            state.last_tenth = tenth;
            eprintln!(
                "{}: {}% ({} of {})",
                self.platform,
                tenth * 10,
                human_bytes(bytes),
                human_bytes(total)
            );
        }
    }

    fn status(&self, message: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.last_status != message {
            state.last_status = message.to_string();
            eprintln!("{}: {message}", self.platform);
        }
    }
}

pub fn human_bytes(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
