//! Cross-process claims: at most one keryx at a time publishes a given file to a given target.
//!
//! The ledger keeps a rerun from posting twice, but two `keryx post all reel.mp4` started at
//! the same moment both read a ledger without the post and would both publish. So before a
//! target is published, its claim is taken: an exclusive lock on
//! `<state>/claims/<target>-<file key>.lock`, held until the attempt's final ledger record is
//! written. A second run waits for the lock, then reads the ledger again and finds the first
//! run's result. The lock is the kernel's (`flock`), so a holder that dies (kill -9, power
//! loss) releases it with its last file descriptor and the next run takes over; nothing stale
//! is left to clean up.
//!
//! The file key is the file's identity on disk (device, inode), size and modification time
//! ([`crate::fingerprints`]), not its hash: the claim must be taken before the upload, and the hash of a new file is only
//! known once the upload has read it. Two copies of one video at different paths get different
//! claims; the ledger's hash still tells them apart afterwards.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fingerprints::file_key;
use crate::paths::Paths;

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(200);

/// Where the claims live.
#[derive(Debug, Clone)]
pub struct Claims {
    dir: PathBuf,
}

/// A held claim; dropping it releases the lock.
#[derive(Debug)]
pub struct Claim {
    file: File,
    path: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first makes it prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

impl Claim {
    /// The lock file, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Another run holds the claim: what it wrote about itself, for the "waiting for" message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// "pid 4242 since 2026-12-02T05:01:02Z", or empty when the holder wrote nothing yet.
    pub described: String,
}

impl Claims {
    pub fn new(paths: &Paths) -> Claims {
        Claims::at(paths.state_dir.join("claims"))
    }

    pub fn at(dir: impl Into<PathBuf>) -> Claims {
        Claims { dir: dir.into() }
    }

    /// Takes the claim on publishing `video` to `target` (`tiktok`, `youtube:shorts`), waiting
    /// as long as another live run holds it. `on_wait` is called once, when the first try
    /// finds it held, so the caller can say what it is waiting for.
    pub async fn take(
        &self,
        video: &Path,
        target: &str,
        on_wait: impl FnOnce(&Holder),
    ) -> Result<Claim> {
        let path = self
            .dir
            .join(format!("{}-{}.lock", safe(target), file_key(video)?));
        let file = self.open(&path)?;
        let mut on_wait = Some(on_wait);
        loop {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => break,
                Err(fs4::TryLockError::WouldBlock) => {
                    if let Some(on_wait) = on_wait.take() {
                        on_wait(&Holder {
                            described: read_holder(&file),
                        });
                    }
                    tokio::time::sleep(POLL).await;
                }
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(Error::input(format!("cannot lock {}", path.display()))
                        .with_source(e)
                        .with_hint(
                            "keryx's state directory must be on a file system with file locks",
                        ));
                }
            }
        }
        let mut claim = Claim { file, path };
        describe_self(&mut claim.file);
        Ok(claim)
    }

    fn open(&self, path: &Path) -> Result<File> {
        crate::paths::create_private_dir(&self.dir)?;
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path).map_err(|e| {
            Error::input(format!("cannot open the claim file {}", path.display()))
                .with_source(e)
                .with_hint(format!("check that {} is writable", self.dir.display()))
        })
    }
}

/// A target as a file-name part: `youtube:shorts` → `youtube_shorts`.
fn safe(target: &str) -> String {
    target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Best effort: the holder's pid and start, for a waiting run's message.
fn describe_self(file: &mut File) {
    let line = format!("pid {} since {}", std::process::id(), crate::ledger::now());
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(drop))
        .and_then(|()| file.write_all(line.as_bytes()));
}

fn read_holder(file: &File) -> String {
    let mut text = String::new();
    let mut reader = file;
    let _ = reader
        .seek(SeekFrom::Start(0))
        .and_then(|_| reader.take(200).read_to_string(&mut text));
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn a_second_claim_waits_for_the_first_and_says_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("reel.mp4");
        std::fs::write(&video, b"not really a video").unwrap();
        let claims = Claims::at(dir.path().join("claims"));
        let first = claims
            .take(&video, "tiktok", |_| panic!("free"))
            .await
            .unwrap();
        let waited = Arc::new(AtomicBool::new(false));
        let second = {
            let (claims, video, waited) = (claims.clone(), video.clone(), waited.clone());
            tokio::spawn(async move {
                claims
                    .take(&video, "tiktok", |holder| {
                        assert!(
                            holder
                                .described
                                .starts_with(&format!("pid {}", std::process::id())),
                            "{holder:?}"
                        );
                        waited.store(true, Ordering::SeqCst);
                    })
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(waited.load(Ordering::SeqCst), "the second run waits");
        assert!(!second.is_finished());
        // Another target of the same file, or the same target of another file, is free.
        claims
            .take(&video, "youtube:main", |_| panic!("free"))
            .await
            .unwrap();
        let other = dir.path().join("other.mp4");
        std::fs::write(&other, b"another").unwrap();
        claims
            .take(&other, "tiktok", |_| panic!("free"))
            .await
            .unwrap();
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("released")
            .unwrap();
        assert!(
            second
                .path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tiktok-")
        );
    }

    #[test]
    fn targets_make_plain_file_names() {
        assert_eq!(safe("youtube:shorts"), "youtube_shorts");
    }
}
