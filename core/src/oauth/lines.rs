//! Lines the user pastes while keryx waits for the browser.
//!
//! Stdin is read on one detached std thread per process, feeding a channel. tokio's own stdin
//! reads on a blocking-pool thread that the runtime waits for at shutdown, so a read still
//! blocked on a terminal would keep `keryx auth` alive after the flow ended; a detached thread
//! dies with the process. The thread is shared by every flow in the process so that a second
//! flow does not race a first one's reader for the same bytes.

use std::io::BufRead as _;
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Where pasted lines come from.
pub(crate) enum LineSource {
    /// The process's stdin (through the shared reader thread).
    Stdin,
    /// Lines sent by the embedding program or a test; dropping the sender is EOF.
    Channel(UnboundedReceiver<String>),
}

/// A line source opened for one flow.
pub(crate) enum Lines {
    Stdin(OwnedMutexGuard<UnboundedReceiver<String>>),
    Channel(UnboundedReceiver<String>),
    /// Another flow in this process is reading stdin; this one takes no pasted lines.
    Nothing,
}

fn stdin_lines() -> Arc<Mutex<UnboundedReceiver<String>>> {
    static LINES: OnceLock<Arc<Mutex<UnboundedReceiver<String>>>> = OnceLock::new();
    LINES
        .get_or_init(|| {
            let (tx, rx) = unbounded_channel();
            let spawned = std::thread::Builder::new()
                .name("keryx-stdin".into())
                .spawn(move || {
                    let stdin = std::io::stdin();
                    let mut buf = Vec::new();
                    loop {
                        buf.clear();
                        // Bytes, not `read_line`: invalid UTF-8 in one line must not end pasting.
                        match stdin.lock().read_until(b'\n', &mut buf) {
                            Ok(0) | Err(_) => break, // EOF or a dead stdin: the channel closes.
                            Ok(_) => {
                                if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            if let Err(e) = spawned {
                // Without the thread the sender is dropped: the flow sees EOF and still waits
                // for the browser, so this only costs the paste fallback.
                tracing::warn!("cannot read pasted lines from stdin: {e}");
            }
            Arc::new(Mutex::new(rx))
        })
        .clone()
}

impl LineSource {
    pub(crate) fn open(self) -> Lines {
        match self {
            LineSource::Channel(rx) => Lines::Channel(rx),
            LineSource::Stdin => match stdin_lines().try_lock_owned() {
                Ok(mut rx) => {
                    // Lines typed before this flow printed its URL cannot be answers to it.
                    while rx.try_recv().is_ok() {}
                    Lines::Stdin(rx)
                }
                Err(_) => Lines::Nothing,
            },
        }
    }
}

impl Lines {
    /// The next line, `None` at EOF (and forever after, for `Nothing`).
    pub(crate) async fn recv(&mut self) -> Option<String> {
        match self {
            Lines::Stdin(rx) => rx.recv().await,
            Lines::Channel(rx) => rx.recv().await,
            Lines::Nothing => None,
        }
    }
}
