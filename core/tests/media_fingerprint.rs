//! `media::fingerprint`: SHA-256 of the whole file, streamed.

use std::path::Path;

use keryx_core::ErrorKind;
use keryx_core::media::{VideoFile, fingerprint};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn known_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        fingerprint(&empty).await.unwrap(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let abc = dir.path().join("abc");
    std::fs::write(&abc, b"abc").unwrap();
    assert_eq!(
        fingerprint(&abc).await.unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

/// Bytes that differ at every position, so a block hashed twice or skipped changes the hash.
fn patterned(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[tokio::test]
async fn many_blocks_match_a_one_shot_hash() {
    let dir = tempfile::tempdir().unwrap();
    // Several 1 MiB blocks, a partial last one: exercises the buffer hand-offs.
    for len in [(1 << 20) - 1, 1 << 20, (5 << 20) + 17] {
        let bytes = patterned(len);
        let path = dir.path().join(format!("f{len}"));
        std::fs::write(&path, &bytes).unwrap();
        let expected = hex::encode(Sha256::digest(&bytes));
        assert_eq!(fingerprint(&path).await.unwrap(), expected, "length {len}");
    }
}

#[tokio::test]
async fn video_file_method_and_fixture() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/landscape.mp4");
    let video = VideoFile::open(&path).unwrap();
    let expected = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
    assert_eq!(video.fingerprint().await.unwrap(), expected);
}

#[tokio::test]
async fn missing_file_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = fingerprint(&dir.path().join("gone.mp4")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.message().contains("gone.mp4 does not exist"), "{err}");
}
