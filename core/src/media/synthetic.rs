//! Structurally valid MP4 files of any size, for tests, benchmarks and `keryx demo`.
//!
//! [`write_mp4`] writes `ftyp`, a `moov` with one enabled video track of the requested display
//! size and duration, then an `mdat` that pads the file to exactly `total_size` bytes. The
//! `mdat` is not decodable (the sample tables are empty): the file is for exercising uploads,
//! chunking and probing, not for playing. A real, playable clip ships as `assets/sample.mp4`.
//!
//! The `mdat` payload is zeros, left as a hole in the file (`set_len`), so a 2 GiB file costs
//! neither memory nor, on filesystems with sparse files, disk. So that a fake server comparing
//! hashes notices a chunk sent at the wrong offset, every 1 MiB boundary inside the payload
//! carries an 8-byte stamp: its own offset, big-endian.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use super::VideoFile;
use crate::error::{Error, Result};

/// Distance between offset stamps inside the `mdat` payload.
pub const STAMP_INTERVAL: u64 = 1 << 20;

/// Writes a synthetic MP4 at `path` (replacing any file there) and probes it back.
///
/// `duration` is stored in milliseconds; `width` and `height` must be 1..=65535 (the range
/// of the 16.16 fixed-point size in `tkhd`); `total_size` must leave room for the header,
/// which [`header_len`] gives.
pub fn write_mp4(
    path: &Path,
    duration: Duration,
    width: u32,
    height: u32,
    total_size: u64,
) -> Result<VideoFile> {
    if !(1..=65_535).contains(&width) || !(1..=65_535).contains(&height) {
        return Err(Error::input(format!(
            "a synthetic MP4 cannot be {width}x{height}: each side must be 1 to 65535 pixels"
        )));
    }
    let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    let moov = moov(duration_ms, width, height);
    let ftyp = ftyp();
    let before_mdat = (ftyp.len() + moov.len()) as u64;
    let mdat_size = total_size.saturating_sub(before_mdat);
    let mdat_header = mdat_header(mdat_size);
    if total_size < before_mdat + mdat_header.len() as u64 {
        return Err(Error::input(format!(
            "a synthetic MP4 of {total_size} bytes is too small: its header alone takes {} bytes",
            header_len(duration)
        )));
    }

    let write_error = |err: std::io::Error| {
        Error::input(format!(
            "cannot write the synthetic video {}",
            path.display()
        ))
        .with_hint("Check that the directory exists, is writable and has free space.")
        .with_source(err)
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(write_error)?;
    file.write_all(&ftyp).map_err(write_error)?;
    file.write_all(&moov).map_err(write_error)?;
    file.write_all(&mdat_header).map_err(write_error)?;
    // Extending with set_len leaves a hole instead of writing zeros.
    file.set_len(total_size).map_err(write_error)?;

    let payload_start = before_mdat + mdat_header.len() as u64;
    let mut stamp = payload_start.div_ceil(STAMP_INTERVAL).max(1) * STAMP_INTERVAL;
    while stamp.checked_add(8).is_some_and(|end| end <= total_size) {
        file.seek(SeekFrom::Start(stamp)).map_err(write_error)?;
        file.write_all(&stamp.to_be_bytes()).map_err(write_error)?;
        stamp += STAMP_INTERVAL;
    }
    drop(file);
    VideoFile::open(path)
}

/// The smallest `total_size` [`write_mp4`] accepts for this duration (an empty `mdat`).
pub fn header_len(duration: Duration) -> u64 {
    let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    (ftyp().len() + moov(duration_ms, 1, 1).len() + 8) as u64
}

fn ftyp() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(b"isom");
    p.extend_from_slice(&0x200u32.to_be_bytes());
    for brand in [b"isom", b"iso2", b"mp41"] {
        p.extend_from_slice(brand);
    }
    boxed(b"ftyp", &p)
}

/// An `mdat` header for a box of `size` bytes in total, using the 64-bit form when needed.
fn mdat_header(size: u64) -> Vec<u8> {
    match u32::try_from(size) {
        Ok(small) if small >= 8 => {
            let mut h = small.to_be_bytes().to_vec();
            h.extend_from_slice(b"mdat");
            h
        }
        _ => {
            let mut h = 1u32.to_be_bytes().to_vec();
            h.extend_from_slice(b"mdat");
            h.extend_from_slice(&size.to_be_bytes());
            h
        }
    }
}

const TIMESCALE: u32 = 1000;

/// The identity matrix of `mvhd`/`tkhd` (16.16 and 2.30 fixed point).
fn identity_matrix() -> Vec<u8> {
    let mut m = Vec::with_capacity(36);
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        m.extend_from_slice(&v.to_be_bytes());
    }
    m
}

/// Version 0 when the duration fits 32 bits, else version 1 with 64-bit times.
fn version_and_times(duration_ms: u64, middle: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    match u32::try_from(duration_ms) {
        Ok(d) if d != u32::MAX => {
            p.extend_from_slice(&[0, 0, 0, 0]);
            p.extend_from_slice(&[0; 8]); // creation and modification times
            p.extend_from_slice(middle);
            p.extend_from_slice(&d.to_be_bytes());
        }
        _ => {
            p.extend_from_slice(&[1, 0, 0, 0]);
            p.extend_from_slice(&[0; 16]);
            p.extend_from_slice(middle);
            p.extend_from_slice(&duration_ms.min(u64::MAX - 1).to_be_bytes());
        }
    }
    p
}

fn moov(duration_ms: u64, width: u32, height: u32) -> Vec<u8> {
    // mvhd: times, timescale, duration, rate 1.0, volume 1.0, reserved, matrix, pre_defined,
    // next track id.
    let mut mvhd = version_and_times(duration_ms, &TIMESCALE.to_be_bytes());
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes());
    mvhd.extend_from_slice(&[0; 10]);
    mvhd.extend_from_slice(&identity_matrix());
    mvhd.extend_from_slice(&[0; 24]);
    mvhd.extend_from_slice(&2u32.to_be_bytes());

    // tkhd (flags: enabled, in movie): times, track id, reserved, duration, reserved, layer,
    // alternate group, volume 0 (video), reserved, matrix, width, height.
    let mut track_id_and_reserved = 1u32.to_be_bytes().to_vec();
    track_id_and_reserved.extend_from_slice(&[0; 4]);
    let mut tkhd = version_and_times(duration_ms, &track_id_and_reserved);
    tkhd[3] = 0x03;
    tkhd.extend_from_slice(&[0; 8]);
    tkhd.extend_from_slice(&[0; 8]);
    tkhd.extend_from_slice(&identity_matrix());
    tkhd.extend_from_slice(&(width << 16).to_be_bytes());
    tkhd.extend_from_slice(&(height << 16).to_be_bytes());

    // mdhd: times, timescale, duration, language `und`, pre_defined.
    let mut mdhd = version_and_times(duration_ms, &TIMESCALE.to_be_bytes());
    mdhd.extend_from_slice(&0x55C4u16.to_be_bytes());
    mdhd.extend_from_slice(&[0; 2]);

    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0; 12]);
    hdlr.extend_from_slice(b"VideoHandler\0");

    let vmhd = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let url = boxed(b"url ", &[0, 0, 0, 1]);
    let mut dref = vec![0, 0, 0, 0, 0, 0, 0, 1];
    dref.extend_from_slice(&url);
    let dinf = boxed(b"dinf", &boxed(b"dref", &dref));
    // Empty sample tables: valid structure, no samples.
    let empty_table = [0u8; 8];
    let stbl = [
        boxed(b"stsd", &empty_table),
        boxed(b"stts", &empty_table),
        boxed(b"stsc", &empty_table),
        boxed(b"stsz", &[0u8; 12]),
        boxed(b"stco", &empty_table),
    ]
    .concat();
    let minf = [boxed(b"vmhd", &vmhd), dinf, boxed(b"stbl", &stbl)].concat();
    let mdia = [
        boxed(b"mdhd", &mdhd),
        boxed(b"hdlr", &hdlr),
        boxed(b"minf", &minf),
    ]
    .concat();
    let trak = [boxed(b"tkhd", &tkhd), boxed(b"mdia", &mdia)].concat();
    boxed(
        b"moov",
        &[boxed(b"mvhd", &mvhd), boxed(b"trak", &trak)].concat(),
    )
}

/// A box of `kind` around `payload` (payloads here are a few hundred bytes at most).
fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let size = u32::try_from(payload.len() + 8).unwrap_or(u32::MAX);
    let mut b = Vec::with_capacity(payload.len() + 8);
    b.extend_from_slice(&size.to_be_bytes());
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}
