//! Fingerprints remembered across runs, so a rerun of the same file does not hash it again.
//!
//! The ledger identifies a video by the SHA-256 of its bytes ([`crate::media::fingerprint`]),
//! which costs about a second per gigabyte. A render pipeline reruns `keryx post all` on the same
//! file after a partial failure, so each file version's hash is kept in
//! `<state>/fingerprints/<key>`, where the key is made from what identifies that version on disk
//! without reading it: device and inode, size and modification time (nanoseconds), as `make`
//! and `rsync` decide a file is unchanged. A file rewritten in place with its size and mtime
//! forged back would keep its old hash; `keryx post all --force` posts regardless.
//!
//! One small file per entry, written atomically (temp + rename), so concurrent runs need no
//! lock; the oldest entries are removed once there are more than [`MAX_ENTRIES`].

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::paths::Paths;

/// How many file versions are remembered; each entry is 64 bytes.
pub const MAX_ENTRIES: usize = 2000;

/// The cache in a state directory.
#[derive(Debug, Clone)]
pub struct Fingerprints {
    dir: PathBuf,
}

impl Fingerprints {
    pub fn new(paths: &Paths) -> Fingerprints {
        Fingerprints::at(paths.state_dir.join("fingerprints"))
    }

    pub fn at(dir: impl Into<PathBuf>) -> Fingerprints {
        Fingerprints { dir: dir.into() }
    }

    /// The video's SHA-256: remembered if this version of the file was hashed before, else
    /// computed (on the blocking pool) and remembered. Only the hashing can fail; a cache that
    /// cannot be read or written is skipped with a debug line.
    pub async fn get(&self, video: &Path) -> Result<(String, bool)> {
        let key = file_key(video)?;
        let entry = self.dir.join(&key);
        if let Ok(text) = tokio::fs::read_to_string(&entry).await {
            let text = text.trim();
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok((text.to_owned(), true));
            }
        }
        let hash = crate::media::fingerprint(video).await?;
        let dir = self.dir.clone();
        let value = hash.clone();
        let stored = tokio::task::spawn_blocking(move || remember(&dir, &key, &value)).await;
        if let Ok(Err(e)) | Err(e) = stored.map_err(std::io::Error::other) {
            tracing::debug!("the fingerprint of {} was not cached: {e}", video.display());
        }
        Ok((hash, false))
    }
}

fn remember(dir: &Path, key: &str, hash: &str) -> std::io::Result<()> {
    crate::paths::create_private_dir(dir).map_err(std::io::Error::other)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, hash.as_bytes())?;
    temp.persist(dir.join(key)).map_err(|e| e.error)?;
    prune(dir)
}

/// Keeps the newest [`MAX_ENTRIES`] entries.
fn prune(dir: &Path) -> std::io::Result<()> {
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((modified, entry.path()))
        })
        .collect();
    if entries.len() <= MAX_ENTRIES {
        return Ok(());
    }
    entries.sort();
    for (_, path) in &entries[..entries.len() - MAX_ENTRIES] {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// What identifies this version of the file without reading it: device and inode (the path
/// elsewhere than Unix), size and modification time (ns), hashed so the key says nothing about
/// the file and stays short. Also the key of [`crate::claim`].
pub(crate) fn file_key(video: &Path) -> Result<String> {
    let meta = std::fs::metadata(video).map_err(|e| {
        Error::input(format!("cannot read {}", video.display()))
            .with_source(e)
            .with_hint("check that the file exists and is readable")
    })?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let identity = {
        use std::os::unix::fs::MetadataExt;
        format!("{}:{}", meta.dev(), meta.ino())
    };
    #[cfg(not(unix))]
    let identity = std::fs::canonicalize(video)
        .unwrap_or_else(|_| video.to_path_buf())
        .display()
        .to_string();
    let key = format!("{identity}:{}:{mtime}", meta.len());
    Ok(hex::encode(&Sha256::digest(key.as_bytes())[..10]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_get_of_the_same_version_does_not_hash() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("reel.mp4");
        std::fs::write(&video, b"abc").unwrap();
        let cache = Fingerprints::at(dir.path().join("fingerprints"));
        let sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            cache.get(&video).await.unwrap(),
            (sha_abc.to_owned(), false)
        );
        assert_eq!(cache.get(&video).await.unwrap(), (sha_abc.to_owned(), true));
        // A new version of the file (other size, other mtime) is hashed again.
        std::fs::write(&video, b"abcd").unwrap();
        let (hash, cached) = cache.get(&video).await.unwrap();
        assert!(!cached);
        assert_ne!(hash, sha_abc);
        // A damaged entry is not trusted.
        let key = file_key(&video).unwrap();
        std::fs::write(dir.path().join("fingerprints").join(key), "junk").unwrap();
        assert_eq!(cache.get(&video).await.unwrap(), (hash, false));
    }

    #[test]
    fn the_key_changes_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("reel.mp4");
        std::fs::write(&video, b"one").unwrap();
        let before = file_key(&video).unwrap();
        assert_eq!(before, file_key(&video).unwrap());
        std::fs::write(&video, b"one more").unwrap();
        assert_ne!(before, file_key(&video).unwrap());
        assert!(file_key(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn pruning_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..MAX_ENTRIES + 3 {
            std::fs::write(dir.path().join(format!("{i:05}")), "x").unwrap();
        }
        prune(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), MAX_ENTRIES);
    }
}
