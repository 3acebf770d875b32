//! The video's fingerprint for the ledger, computed beside the work instead of before it.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::fingerprints::Fingerprints;
use crate::media::VideoFile;

/// The video's SHA-256, the ledger's identity of it. Computed on the blocking pool while the
/// platforms prepare and upload, and awaited only where a decision needs it: when the ledger
/// may already hold this video on a platform (a post, or an attempt that never finished, of
/// the same size), or to write a record.
pub struct Fingerprint {
    cache: Fingerprints,
    path: PathBuf,
    task: Mutex<Option<Hashing>>,
    /// The hash, or the error's message and hint (an `Error` cannot be cloned to every waiter).
    value: OnceCell<std::result::Result<String, (String, Option<String>)>>,
}

/// The hashing task: the result and how long it took.
type Hashing = JoinHandle<(Result<String>, Duration)>;

impl Fingerprint {
    /// Starts hashing now if `eager`, else on the first [`Fingerprint::get`]. A version of the
    /// file hashed by an earlier run is not hashed again ([`Fingerprints`]).
    pub fn new(ctx: &Context, video: &VideoFile, eager: bool) -> Fingerprint {
        let fingerprint = Fingerprint {
            cache: Fingerprints::new(&ctx.paths),
            path: video.path.clone(),
            task: Mutex::new(None),
            value: OnceCell::new(),
        };
        if eager {
            fingerprint.spawn();
        }
        fingerprint
    }

    fn spawn(&self) {
        let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if task.is_none() {
            let (path, cache) = (self.path.clone(), self.cache.clone());
            *task = Some(tokio::spawn(async move {
                let started = Instant::now();
                let result = cache.get(&path).await.map(|(hash, cached)| {
                    if cached {
                        tracing::info!(
                            "fingerprint of {} remembered from an earlier run",
                            path.display()
                        );
                    }
                    hash
                });
                (result, started.elapsed())
            }));
        }
    }

    /// The hash, waiting for it the first time.
    pub async fn get(&self) -> Result<String> {
        let value = self
            .value
            .get_or_init(|| async {
                self.spawn();
                let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
                let Some(task) = task else {
                    return Err(("hashing the video did not start".to_string(), None));
                };
                let (result, elapsed) = match task.await {
                    Ok(done) => done,
                    Err(e) => {
                        return Err((format!("hashing the video stopped unexpectedly: {e}"), None));
                    }
                };
                let hash = result.map_err(|e| (e.to_string(), e.hint().map(str::to_string)))?;
                tracing::info!(
                    "fingerprint {}… in {:.3} s",
                    hash.chars().take(12).collect::<String>(),
                    elapsed.as_secs_f64()
                );
                Ok(hash)
            })
            .await;
        value.clone().map_err(|(message, hint)| {
            let error = Error::input(message);
            match hint {
                Some(hint) => error.with_hint(hint),
                None => error,
            }
        })
    }
}
