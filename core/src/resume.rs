//! What an interrupted post needs to go on where it stopped, kept between runs.
//!
//! A platform's upload or publish has moments after which starting over would waste work or,
//! worse, post twice: YouTube's resumable session URI exists before the first byte, Bluesky's
//! blob exists before the record that shows it, Instagram's container exists before its
//! `media_publish`. A [`Checkpoint`] keeps such a value (any serde type the platform chooses)
//! in the state directory, written before the step it protects, so the next run of the same
//! `keryx post` for the same file reads it and resumes instead of repeating.
//!
//! The key is what identifies one file's content in practice without reading it: canonical
//! path, size and modification time. Editing or replacing the file gives a new key, so stale
//! state is never applied to other bytes.
//!
//! A checkpoint is locked (an `flock` on a side file) for as long as its value lives, so two
//! keryx processes never drive the same upload session or container at once; a dead holder's
//! lock goes with its process.

use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::media::VideoFile;
use crate::paths::Paths;
use crate::ui::Ui;

/// One file's saved state for one platform, locked while this value lives.
pub struct Checkpoint<T> {
    json: PathBuf,
    lock_path: PathBuf,
    _lock: File,
    _value: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Checkpoint<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

/// `<state>/<kind>/<key>.json` and its `.lock`, where the key hashes the canonical path, size
/// and modification time of `video`, and the account unless it is the default one (whose
/// checkpoints are where a keryx of one account per platform left them).
fn files(
    state: &Paths,
    account: &str,
    kind: &str,
    video: &VideoFile,
) -> Result<(PathBuf, PathBuf)> {
    let dir = state.state_subdir(kind)?;
    let canonical = std::fs::canonicalize(&video.path).map_err(|e| {
        Error::input(format!("cannot resolve {}", video.path.display()))
            .with_source(e)
            .with_hint("check the video path")
    })?;
    let mtime = std::fs::metadata(&canonical)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = Sha256::new();
    hasher.update(canonical.to_string_lossy().as_bytes());
    hasher.update([0]);
    hasher.update(video.size.to_le_bytes());
    hasher.update(mtime.to_le_bytes());
    if account != crate::config::DEFAULT_ACCOUNT {
        hasher.update([0]);
        hasher.update(account.as_bytes());
    }
    let key = hex::encode(&hasher.finalize()[..16]);
    Ok((
        dir.join(format!("{key}.json")),
        dir.join(format!("{key}.lock")),
    ))
}

/// The saved value of `kind` for `video`, if any, without locking: for messages before the
/// work starts ("an interrupted upload of this file is saved").
pub fn peek<T: DeserializeOwned>(ctx: &Context, kind: &str, video: &VideoFile) -> Option<T> {
    let (json, _) = files(&ctx.paths, &ctx.account, kind, video).ok()?;
    read(&json).ok().flatten()
}

fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::input(format!("the saved state {} is unreadable", path.display())).with_source(e)
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::input(format!("cannot read {}", path.display())).with_source(e)),
    }
}

impl<T: Serialize + DeserializeOwned> Checkpoint<T> {
    /// Locks the checkpoint of `kind` (a state subdirectory, e.g. `youtube-sessions`) for
    /// `video`. Another process holding it is an [`Error::input`] that names `platform` (its
    /// display name): two runs must not feed one upload at once. Each account of a platform
    /// has its own.
    pub fn acquire(
        ctx: &Context,
        kind: &str,
        platform: &str,
        video: &VideoFile,
    ) -> Result<Checkpoint<T>> {
        Checkpoint::acquire_at(&ctx.paths, &ctx.account, kind, platform, video)
    }

    fn acquire_at(
        state: &Paths,
        account: &str,
        kind: &str,
        platform: &str,
        video: &VideoFile,
    ) -> Result<Checkpoint<T>> {
        let (json, lock_path) = files(state, account, kind, video)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                Error::input(format!("cannot create {}", lock_path.display())).with_source(e)
            })?;
        match fs4::FileExt::try_lock(&lock) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(Error::input(format!(
                    "another keryx is posting {} to {platform} right now",
                    video.path.display()
                ))
                .with_hint("wait for it to finish; running both would repeat its work"));
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(
                    Error::input(format!("cannot lock {}", lock_path.display())).with_source(e)
                );
            }
        }
        Ok(Checkpoint {
            json,
            lock_path,
            _lock: lock,
            _value: PhantomData,
        })
    }

    /// The saved value. An unreadable file is reported and treated as none: a checkpoint
    /// saves work, and the platform's own checks (a session that no longer exists, a container
    /// already published) decide what is safe.
    pub fn load(&self, ui: &dyn Ui) -> Option<T> {
        match read(&self.json) {
            Ok(saved) => saved,
            Err(e) => {
                ui.warn(&format!("{e}; starting afresh"));
                None
            }
        }
    }

    /// Writes atomically (temp file + fsync + rename) with mode 0600: what is saved (an upload
    /// session URI, say) may let anyone holding it act for the user.
    pub fn save(&self, value: &T) -> Result<()> {
        let dir = self.json.parent().unwrap_or(Path::new("."));
        let fail = |e: &dyn std::fmt::Display| {
            Error::input(format!("cannot save the post's progress in {}: {e}", dir.display()))
                .with_hint("check that the state directory is writable; without it an interrupted post cannot resume")
        };
        let body = serde_json::to_vec_pretty(value).map_err(|e| fail(&e))?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
        std::io::Write::write_all(&mut temp, &body).map_err(|e| fail(&e))?;
        temp.as_file().sync_all().map_err(|e| fail(&e))?;
        temp.persist(&self.json).map_err(|e| fail(&e.error))?;
        Ok(())
    }

    /// Forgets the value: the work finished, or the platform refused it for good.
    pub fn clear(&self) {
        for path in [&self.json, &self.lock_path] {
            if let Err(e) = std::fs::remove_file(path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Container;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Saved {
        session: String,
    }

    struct Quiet;
    impl Ui for Quiet {
        fn info(&self, _: &str) {}
        fn show(&self, _: &str) {}
        fn warn(&self, _: &str) {}
        fn prompter(&self) -> Option<&dyn crate::ui::Prompter> {
            None
        }
    }

    fn video_at(path: &Path, size: u64) -> VideoFile {
        VideoFile {
            path: path.to_path_buf(),
            size,
            container: Container::Mp4,
            duration: None,
            duration_source: None,
            width: None,
            height: None,
            coded_width: None,
            coded_height: None,
            rotation: None,
            frame_rate: None,
            video_codec: None,
            audio_codec: None,
            moov_before_mdat: None,
            edit_list: None,
            fragmented: false,
        }
    }

    fn setup() -> (tempfile::TempDir, Paths, VideoFile) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            config_file: dir.path().join("config.yaml"),
            state_dir: dir.path().join("state"),
        };
        let path = dir.path().join("reel.mp4");
        std::fs::write(&path, b"0123456789").unwrap();
        let video = video_at(&path, 10);
        (dir, paths, video)
    }

    #[test]
    fn saves_loads_and_clears_one_files_state() {
        let (_dir, paths, video) = setup();
        let checkpoint =
            Checkpoint::<Saved>::acquire_at(&paths, "default", "kind", "Alpha", &video).unwrap();
        assert_eq!(checkpoint.load(&Quiet), None);
        let saved = Saved {
            session: "s1".into(),
        };
        checkpoint.save(&saved).unwrap();
        assert_eq!(
            checkpoint.load(&Quiet),
            Some(Saved {
                session: "s1".into()
            })
        );
        assert_eq!(
            files(&paths, "default", "kind", &video)
                .ok()
                .and_then(|(json, _)| read::<Saved>(&json).ok().flatten()),
            Some(saved)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&checkpoint.json)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "the saved state may hold a session URI"
            );
        }
        checkpoint.clear();
        assert_eq!(
            files(&paths, "default", "kind", &video)
                .ok()
                .and_then(|(json, _)| read::<Saved>(&json).ok().flatten()),
            None
        );
    }

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let (_dir, paths, video) = setup();
        let first =
            Checkpoint::<Saved>::acquire_at(&paths, "default", "kind", "Alpha", &video).unwrap();
        let second = Checkpoint::<Saved>::acquire_at(&paths, "default", "kind", "Alpha", &video)
            .unwrap_err();
        assert!(
            second.to_string().contains("another keryx is posting"),
            "{second}"
        );
        assert!(second.to_string().contains("Alpha"), "{second}");
        drop(first);
        Checkpoint::<Saved>::acquire_at(&paths, "default", "kind", "Alpha", &video).unwrap();
    }

    #[test]
    fn a_changed_file_has_no_state_and_an_unreadable_one_is_none() {
        let (_dir, paths, video) = setup();
        let checkpoint =
            Checkpoint::<Saved>::acquire_at(&paths, "default", "kind", "Alpha", &video).unwrap();
        checkpoint
            .save(&Saved {
                session: "s1".into(),
            })
            .unwrap();
        std::fs::write(&checkpoint.json, b"{not json").unwrap();
        assert_eq!(checkpoint.load(&Quiet), None);
        drop(checkpoint);

        std::fs::write(&video.path, b"01234567890").unwrap();
        let longer = video_at(&video.path, 11);
        assert_eq!(
            files(&paths, "default", "kind", &longer)
                .ok()
                .and_then(|(json, _)| read::<Saved>(&json).ok().flatten()),
            None
        );
    }
}
