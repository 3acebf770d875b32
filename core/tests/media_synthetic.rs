//! `media::synthetic::write_mp4` writes MP4s that `VideoFile::open` reads back exactly.

use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use keryx_core::ErrorKind;
use keryx_core::media::Container;
use keryx_core::media::synthetic::{STAMP_INTERVAL, header_len, write_mp4};

#[test]
fn small_vertical_clip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reel.mp4");
    let video = write_mp4(&path, Duration::from_millis(3_500), 720, 1280, 10_000).unwrap();
    assert_eq!(video.container, Container::Mp4);
    assert_eq!(video.size, 10_000);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 10_000);
    assert_eq!(video.duration, Some(Duration::from_millis(3_500)));
    assert_eq!((video.width, video.height), (Some(720), Some(1280)));
    assert_eq!(video.is_vertical_or_square(), Some(true));
    // Empty sample tables: nothing to say about codec or frame rate.
    assert_eq!(video.frame_rate, None);
    assert_eq!(video.video_codec, None);
}

#[test]
fn smallest_possible_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.mp4");
    let duration = Duration::from_secs(1);
    let min = header_len(duration);
    let video = write_mp4(&path, duration, 1920, 1080, min).unwrap();
    assert_eq!(video.size, min);
    assert_eq!(video.is_vertical_or_square(), Some(false));

    let err = write_mp4(&path, duration, 1920, 1080, min - 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.message().contains("too small"), "{err}");
}

#[test]
fn rejects_sizes_tkhd_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.mp4");
    for (w, h) in [(0, 100), (100, 0), (65_536, 100)] {
        let err = write_mp4(&path, Duration::from_secs(1), w, h, 100_000).unwrap_err();
        assert!(err.message().contains("1 to 65535 pixels"), "{err}");
    }
}

#[test]
fn durations_beyond_32_bits_of_milliseconds() {
    // 50 days in ms overflows u32: mvhd/tkhd/mdhd switch to version 1.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.mp4");
    let duration = Duration::from_secs(50 * 24 * 3600);
    let video = write_mp4(&path, duration, 640, 360, 4096).unwrap();
    assert_eq!(video.duration, Some(duration));
}

#[test]
fn multi_gigabyte_file_is_sparse_and_uses_a_64_bit_mdat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.mp4");
    let size = 5 * 1024 * 1024 * 1024 + 12_345; // over 4 GiB: mdat needs `largesize`
    let started = Instant::now();
    let video = write_mp4(&path, Duration::from_secs(59), 1080, 1920, size).unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert_eq!(video.size, size);
    assert_eq!(video.duration, Some(Duration::from_secs(59)));
    assert_eq!((video.width, video.height), (Some(1080), Some(1920)));

    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let on_disk = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(
            on_disk < 64 << 20,
            "{on_disk} bytes allocated for a sparse file"
        );
    }

    // Offset stamps: each 1 MiB boundary in the payload holds its own offset.
    let mut file = std::fs::File::open(&path).unwrap();
    let last = (size - 8) / STAMP_INTERVAL * STAMP_INTERVAL;
    for at in [STAMP_INTERVAL, 2 * STAMP_INTERVAL, 4 << 30, last] {
        let mut stamp = [0u8; 8];
        file.seek(SeekFrom::Start(at)).unwrap();
        file.read_exact(&mut stamp).unwrap();
        assert_eq!(u64::from_be_bytes(stamp), at, "stamp at {at}");
    }
    // Between stamps, zeros.
    let mut gap = vec![0u8; 4096];
    file.seek(SeekFrom::Start(STAMP_INTERVAL + 8)).unwrap();
    file.read_exact(&mut gap).unwrap();
    assert!(gap.iter().all(|&b| b == 0));
}
