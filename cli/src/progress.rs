//! Progress of a post: a bar on a terminal, plain lines in a log.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use keryx_core::Progress;

use crate::ui::OutputMode;

/// Creates the progress display for one platform.
pub fn for_platform(mode: OutputMode, multi: &MultiProgress, platform: &str) -> Box<dyn Progress> {
    if mode.quiet {
        Box::new(keryx_core::NoProgress)
    } else if mode.terminal && !mode.json {
        Box::new(Bar::new(multi, platform, mode.no_color))
    } else {
        Box::new(Lines::new(platform))
    }
}

/// An indicatif bar: bytes, rate and ETA while uploading, a spinner with the status afterwards.
struct Bar {
    bar: ProgressBar,
    no_color: bool,
}

impl Bar {
    fn new(multi: &MultiProgress, platform: &str, no_color: bool) -> Self {
        let bar = multi.add(ProgressBar::hidden());
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_prefix(platform.to_string());
        Bar { bar, no_color }
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
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        match total {
            Some(total) => {
                self.bar.disable_steady_tick();
                self.bar.set_length(total);
                self.bar.set_position(0);
            }
            None => self.bar.enable_steady_tick(Duration::from_millis(120)),
        }
        self.bar.set_message(name.to_string());
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
        self.bar.finish();
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
