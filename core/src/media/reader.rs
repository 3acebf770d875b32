//! Positioned, bounded reads for the header parsers.
//!
//! The parsers never trust a length from the file to size a buffer: every read here goes into
//! a caller's fixed-size array or is capped by [`MAX_FIELD`], and every position is checked
//! against the real length of the file.

use std::io::{self, Read, Seek, SeekFrom};

use super::ProbeError;

/// The largest single structure a parser may read into memory (a DocType string, a box
/// payload prefix). Headers keep everything else behind seeks.
pub(crate) const MAX_FIELD: usize = 4096;

pub(crate) struct Source<'a, R> {
    inner: &'a mut R,
    len: u64,
}

impl<'a, R: Read + Seek> Source<'a, R> {
    pub(crate) fn new(inner: &'a mut R, len: u64) -> Self {
        Source { inner, len }
    }

    /// The length of the whole file.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Reads up to `buf.len()` bytes at `pos`; fewer only at the end of the file.
    pub(crate) fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize, ProbeError> {
        if pos >= self.len {
            return Ok(0);
        }
        let available = self.len - pos;
        let want = buf
            .len()
            .min(usize::try_from(available).unwrap_or(usize::MAX));
        self.inner.seek(SeekFrom::Start(pos))?;
        let mut filled = 0;
        while filled < want {
            match self.inner.read(&mut buf[filled..want]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(filled)
    }

    /// Reads exactly `buf.len()` bytes at `pos`, or says that `what` is cut off.
    pub(crate) fn read_exact_at(
        &mut self,
        pos: u64,
        buf: &mut [u8],
        what: &str,
    ) -> Result<(), ProbeError> {
        let n = self.read_at(pos, buf)?;
        if n < buf.len() {
            return Err(ProbeError::truncated(format!(
                "{what} at byte {pos} is cut off by the end of the file ({} bytes)",
                self.len
            )));
        }
        Ok(())
    }

    /// Reads `len` bytes at `pos` into a new vector, refusing anything over [`MAX_FIELD`].
    pub(crate) fn read_vec(
        &mut self,
        pos: u64,
        len: u64,
        what: &str,
    ) -> Result<Vec<u8>, ProbeError> {
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= MAX_FIELD)
            .ok_or_else(|| {
                ProbeError::corrupt(format!(
                    "{what} at byte {pos} claims {len} bytes, far more than it can hold"
                ))
            })?;
        let mut buf = vec![0u8; len];
        self.read_exact_at(pos, &mut buf, what)?;
        Ok(buf)
    }
}

/// Big-endian integers out of a byte slice, `None` past its end. Parsers use these on fixed
/// buffers so that a short structure turns into "unknown" rather than an index panic.
pub(crate) fn be_u16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

pub(crate) fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    let mut out = [0u8; 4];
    out.copy_from_slice(bytes);
    Some(u32::from_be_bytes(out))
}

pub(crate) fn be_i32(buf: &[u8], at: usize) -> Option<i32> {
    be_u32(buf, at).map(|v| v as i32)
}

pub(crate) fn be_u64(buf: &[u8], at: usize) -> Option<u64> {
    let bytes = buf.get(at..at.checked_add(8)?)?;
    let mut out = [0u8; 8];
    out.copy_from_slice(bytes);
    Some(u64::from_be_bytes(out))
}

/// `count` ticks of `1/timescale` seconds as a [`std::time::Duration`], without overflow.
pub(crate) fn ticks_to_duration(count: u64, timescale: u64) -> Option<std::time::Duration> {
    if timescale == 0 {
        return None;
    }
    let secs = count / timescale;
    let rem = u128::from(count % timescale);
    let nanos = rem * 1_000_000_000 / u128::from(timescale);
    // rem < timescale, so nanos < 1e9 and fits in u32.
    Some(std::time::Duration::new(secs, u32::try_from(nanos).ok()?))
}
