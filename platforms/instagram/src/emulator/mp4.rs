//! What the emulator's "processing" checks in an uploaded file, read as the bytes stream in
//! (nothing is kept but the `moov` box): the top-level box order (`ftyp` first, `moov` before
//! `mdat`, reference §4) and the duration from `mvhd`.

/// The largest `moov` kept for reading its duration.
const MAX_MOOV: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Walker {
    pos: u64,
    box_start: u64,
    next_box: u64,
    header: Vec<u8>,
    pub boxes: Vec<[u8; 4]>,
    moov: Vec<u8>,
    moov_left: u64,
    pub duration_ms: Option<u64>,
    broken: bool,
}

impl Walker {
    pub fn feed(&mut self, data: &[u8]) {
        let mut i = 0usize;
        while i < data.len() && !self.broken {
            let abs = self.pos + i as u64;
            if self.moov_left > 0 {
                let n = (self.moov_left.min((data.len() - i) as u64)) as usize;
                if self.moov.len() + n <= MAX_MOOV {
                    self.moov.extend_from_slice(&data[i..i + n]);
                }
                self.moov_left -= n as u64;
                i += n;
                if self.moov_left == 0 {
                    self.duration_ms = mvhd_duration(&self.moov);
                }
                continue;
            }
            if abs < self.next_box {
                let skip = (self.next_box - abs).min((data.len() - i) as u64) as usize;
                i += skip;
                continue;
            }
            if self.header.is_empty() {
                self.box_start = abs;
            }
            self.header.push(data[i]);
            i += 1;
            if self.header.len() < 8 {
                continue;
            }
            let small = u32::from_be_bytes(self.header[0..4].try_into().expect("4 bytes")) as u64;
            if small == 1 && self.header.len() < 16 {
                continue;
            }
            let (size, header_len) = match small {
                1 => (
                    u64::from_be_bytes(self.header[8..16].try_into().expect("8 bytes")),
                    16,
                ),
                0 => (u64::MAX - self.box_start, 8),
                n => (n, 8),
            };
            let kind: [u8; 4] = self.header[4..8].try_into().expect("4 bytes");
            self.header.clear();
            if size < header_len {
                self.broken = true;
                break;
            }
            self.boxes.push(kind);
            self.next_box = self.box_start.saturating_add(size);
            if &kind == b"moov" {
                self.moov_left = size - header_len;
                self.moov.clear();
            }
        }
        self.pos += data.len() as u64;
    }

    /// The subcode processing fails with, or `None` for a file Meta takes (reference §6.12).
    pub fn verdict(&self, size: u64) -> Option<u64> {
        const UNSUPPORTED: u64 = 2207026;
        if self.broken || self.boxes.first() != Some(b"ftyp") {
            return Some(UNSUPPORTED);
        }
        let moov = self.boxes.iter().position(|b| b == b"moov");
        let mdat = self.boxes.iter().position(|b| b == b"mdat");
        match (moov, mdat) {
            (Some(m), Some(d)) if m < d => {}
            _ => return Some(UNSUPPORTED),
        }
        match self.duration_ms {
            Some(ms) if (3_000..=900_000).contains(&ms) => {}
            _ => return Some(UNSUPPORTED),
        }
        (size > crate::config::DEFAULT_MAX_VIDEO_BYTES).then_some(UNSUPPORTED)
    }
}

/// The movie duration in ms from the `mvhd` inside a `moov` payload.
fn mvhd_duration(moov: &[u8]) -> Option<u64> {
    let mut at = 0usize;
    while at + 8 <= moov.len() {
        let size = u32::from_be_bytes(moov[at..at + 4].try_into().ok()?) as usize;
        if &moov[at + 4..at + 8] == b"mvhd" {
            let body = moov.get(at + 8..at + size.max(8))?;
            let (timescale, duration) = if body.first()? == &1 {
                (
                    u32::from_be_bytes(body.get(20..24)?.try_into().ok()?) as u64,
                    u64::from_be_bytes(body.get(24..32)?.try_into().ok()?),
                )
            } else {
                (
                    u32::from_be_bytes(body.get(12..16)?.try_into().ok()?) as u64,
                    u32::from_be_bytes(body.get(16..20)?.try_into().ok()?) as u64,
                )
            };
            return (timescale > 0).then(|| duration * 1000 / timescale);
        }
        if size < 8 {
            return None;
        }
        at += size;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_order_and_duration_in_any_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.mp4");
        keryx_core::media::synthetic::write_mp4(
            &path,
            std::time::Duration::from_secs(5),
            1080,
            1920,
            200_000,
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for split in [1usize, 7, 100, 4096, bytes.len()] {
            let mut w = Walker::default();
            for chunk in bytes.chunks(split) {
                w.feed(chunk);
            }
            assert_eq!(w.duration_ms, Some(5000), "split {split}");
            assert_eq!(w.verdict(bytes.len() as u64), None, "split {split}");
        }
        let mut w = Walker::default();
        w.feed(b"this is not a video at all, whatever its name says");
        assert_eq!(w.verdict(50), Some(2207026));
    }
}
