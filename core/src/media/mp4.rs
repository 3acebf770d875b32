//! ISO base media files (MP4 and QuickTime MOV): the box walk and the few boxes keryx reads.
//!
//! Layout used (ISO/IEC 14496-12 and Apple's QuickTime format):
//! `moov` → `mvhd` (movie duration), `mvex` → `mehd` (fragmented duration), and for each
//! `trak` → `tkhd` (display size, matrix), `mdia` → `mdhd` (track timescale and duration),
//! `hdlr` (track kind), `minf` → `stbl` → `stsd` (codec), `stsz` (sample count).
//! Only those boxes' first few dozen bytes are ever read; `mdat` and the sample tables are
//! skipped with seeks.

use std::io::{Read, Seek};

use super::detect::printable;
use super::reader::{Source, be_i32, be_u16, be_u32, be_u64, ticks_to_duration};
use super::{Probe, ProbeError, VideoCodec};

/// Upper bound on box headers read inside `moov`. Real files have a few hundred; a crafted
/// file of millions of 8-byte boxes must not turn a probe into millions of seeks.
const MAX_BOXES: u32 = 20_000;

/// Upper bound on top-level boxes walked while looking for `moov`.
const MAX_TOP_LEVEL: u32 = 200_000;

/// Once `moov` is found, top-level boxes walked to check that nothing runs past the end of the
/// file. A fragmented recording can have a `moof`+`mdat` pair per frame (hundreds of thousands
/// of boxes); its truncation check is not worth that many reads.
const TRUNCATION_CHECK_BOXES: u32 = 10_000;

#[derive(Debug, Clone, Copy)]
struct BoxHdr {
    kind: [u8; 4],
    /// Where the payload starts (after the 8- or 16-byte header).
    body: u64,
    end: u64,
}

impl BoxHdr {
    fn name(&self) -> String {
        format!("`{}`", printable(&self.kind))
    }
}

struct Walker<'s, 'a, R> {
    src: &'s mut Source<'a, R>,
    budget: u32,
}

/// What one `trak` says, as far as keryx cares.
#[derive(Debug, Default)]
struct Track {
    handler: Option<[u8; 4]>,
    enabled: bool,
    /// tkhd width and height, 16.16 fixed point.
    width_fx: u32,
    height_fx: u32,
    /// tkhd matrix entries a, b, c, d (16.16 fixed point).
    matrix: Option<[i32; 4]>,
    timescale: u64,
    duration: Option<u64>,
    sample_count: Option<u32>,
    codec: Option<[u8; 4]>,
    /// Coded size from the visual sample entry, used when tkhd gives none.
    coded_size: Option<(u16, u16)>,
}

pub(crate) fn probe<R: Read + Seek>(src: &mut Source<'_, R>) -> Result<Probe, ProbeError> {
    let len = src.len();
    let mut walker = Walker {
        src,
        budget: MAX_BOXES,
    };
    let mut moov = None;
    let mut pos = 0;
    let mut walked = 0u32;
    // Walk the top-level boxes past `moov` too, because a box that runs past the end of the
    // file is how a half-copied video shows, and it is usually the `mdat` at the end.
    while len - pos >= 8 {
        walked += 1;
        if moov.is_some() && walked > TRUNCATION_CHECK_BOXES {
            break;
        }
        if walked > MAX_TOP_LEVEL {
            return Err(ProbeError::corrupt(format!(
                "no `moov` box among its first {MAX_TOP_LEVEL} boxes"
            )));
        }
        let b = walker.header(pos, len, None)?;
        if &b.kind == b"moov" && moov.is_none() {
            moov = Some(b);
        }
        pos = b.end;
    }
    let Some(moov) = moov else {
        return Err(ProbeError::corrupt(
            "it has no `moov` box (the index a player needs to play it); \
             the recording or export may have been interrupted",
        ));
    };
    walker.moov(&moov)
}

impl<R: Read + Seek> Walker<'_, '_, R> {
    /// Reads the header of the box at `pos`, which must end by `parent_end`.
    fn header(
        &mut self,
        pos: u64,
        parent_end: u64,
        parent: Option<&BoxHdr>,
    ) -> Result<BoxHdr, ProbeError> {
        let mut h = [0u8; 16];
        let n = self.src.read_at(pos, &mut h)?;
        let room = parent_end.saturating_sub(pos);
        if n < 8 || room < 8 {
            return Err(ProbeError::truncated(format!(
                "a box header at byte {pos} is cut off"
            )));
        }
        let size32 = be_u32(&h, 0).unwrap_or(0);
        let kind = [h[4], h[5], h[6], h[7]];
        let (header_len, size) = match size32 {
            // 64-bit `largesize` follows the type.
            1 => {
                if n < 16 || room < 16 {
                    return Err(ProbeError::truncated(format!(
                        "the 64-bit size of box `{}` at byte {pos} is cut off",
                        printable(&kind)
                    )));
                }
                (16, be_u64(&h, 8).unwrap_or(0))
            }
            // Size 0: the box runs to the end of its parent (in practice, an `mdat` at the
            // end of the file written by a recorder that never came back to fix the size).
            0 => (8, room),
            s => (8, u64::from(s)),
        };
        if size < header_len {
            return Err(ProbeError::corrupt(format!(
                "box `{}` at byte {pos} has an impossible size of {size} bytes",
                printable(&kind)
            )));
        }
        let end = pos.saturating_add(size);
        if end > parent_end {
            return Err(match parent {
                None => ProbeError::truncated(format!(
                    "its `{}` box at byte {pos} needs {size} bytes but the file ends after {}",
                    printable(&kind),
                    parent_end - pos
                )),
                Some(p) => ProbeError::corrupt(format!(
                    "box `{}` at byte {pos} runs past the end of the {} box that contains it",
                    printable(&kind),
                    p.name()
                )),
            });
        }
        Ok(BoxHdr {
            kind,
            body: pos + header_len,
            end,
        })
    }

    /// The direct children of `parent`, in order.
    fn children(&mut self, parent: &BoxHdr) -> Result<Vec<BoxHdr>, ProbeError> {
        let mut out = Vec::new();
        let mut pos = parent.body;
        // Fewer than 8 bytes left is padding or QuickTime's 32-bit zero terminator, not a box.
        while parent.end - pos >= 8 {
            if self.budget == 0 {
                return Err(ProbeError::corrupt(format!(
                    "its `moov` box holds more than {MAX_BOXES} boxes, which no real video has"
                )));
            }
            self.budget -= 1;
            let b = self.header(pos, parent.end, Some(parent))?;
            out.push(b);
            pos = b.end;
        }
        Ok(out)
    }

    /// Reads up to `buf.len()` bytes of `b`'s payload; returns what the box holds of them.
    fn payload<'b>(&mut self, b: &BoxHdr, buf: &'b mut [u8]) -> Result<&'b [u8], ProbeError> {
        let room = usize::try_from(b.end - b.body).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let what = format!("the {} box", b.name());
        self.src.read_exact_at(b.body, &mut buf[..want], &what)?;
        Ok(&buf[..want])
    }

    fn moov(&mut self, moov: &BoxHdr) -> Result<Probe, ProbeError> {
        let mut movie: Option<(u64, Option<u64>)> = None;
        let mut fragmented = false;
        let mut fragment_duration = None;
        let mut tracks = Vec::new();
        for child in self.children(moov)? {
            match &child.kind {
                b"mvhd" if movie.is_none() => {
                    let mut buf = [0u8; 32];
                    movie = timescale_and_duration(self.payload(&child, &mut buf)?);
                }
                b"mvex" => {
                    fragmented = true;
                    for grandchild in self.children(&child)? {
                        if &grandchild.kind == b"mehd" {
                            let mut buf = [0u8; 12];
                            fragment_duration = mehd_duration(self.payload(&grandchild, &mut buf)?);
                        }
                    }
                }
                b"trak" => tracks.push(self.track(&child)?),
                _ => {}
            }
        }

        let video = tracks
            .iter()
            .filter(|t| t.handler.as_ref() == Some(b"vide"))
            .min_by_key(|t| !t.enabled)
            .ok_or_else(|| {
                let mut kinds: Vec<&str> = tracks
                    .iter()
                    .filter_map(|t| t.handler.as_ref().map(track_kind))
                    .collect();
                kinds.dedup();
                ProbeError::NoVideoTrack {
                    has: if kinds.is_empty() {
                        "no tracks at all".to_string()
                    } else {
                        format!("only {}", kinds.join(", "))
                    },
                }
            })?;

        let duration = match movie {
            Some((timescale, Some(ticks))) if ticks > 0 || !fragmented => {
                ticks_to_duration(ticks, timescale)
            }
            // A fragmented file's `mvhd` covers only the (empty) initial movie; `mehd` holds the
            // whole duration when the writer knew it.
            Some((timescale, _)) => fragment_duration.and_then(|d| ticks_to_duration(d, timescale)),
            None => None,
        };

        let (mut width, mut height) = (round_fixed(video.width_fx), round_fixed(video.height_fx));
        if (width == 0 || height == 0)
            && let Some((w, h)) = video.coded_size
        {
            (width, height) = (u32::from(w), u32::from(h));
        }
        if let Some([a, b, c, d]) = video.matrix {
            // A 90° or 270° rotation moves the scale factors off the diagonal; which way it
            // turns does not matter for the displayed size, only that width and height swap.
            let (a, b, c, d) = (i64::from(a), i64::from(b), i64::from(c), i64::from(d));
            if a.abs() < b.abs() && d.abs() < c.abs() {
                std::mem::swap(&mut width, &mut height);
            }
        }

        let frame_rate = match (video.sample_count, video.duration) {
            (Some(count), Some(ticks)) if count > 0 && ticks > 0 && video.timescale > 0 => {
                let fps = f64::from(count) * video.timescale as f64 / ticks as f64;
                (fps.is_finite() && fps > 0.0 && fps <= 10_000.0).then_some(fps)
            }
            _ => None,
        };

        Ok(Probe {
            duration,
            width: (width > 0).then_some(width),
            height: (height > 0).then_some(height),
            frame_rate,
            video_codec: video.codec.map(|c| codec_from_fourcc(&c)),
        })
    }

    fn track(&mut self, trak: &BoxHdr) -> Result<Track, ProbeError> {
        let mut track = Track::default();
        for child in self.children(trak)? {
            match &child.kind {
                b"tkhd" => {
                    let mut buf = [0u8; 96];
                    let p = self.payload(&child, &mut buf)?;
                    read_tkhd(p, &mut track);
                }
                b"mdia" => self.media(&child, &mut track)?,
                _ => {}
            }
        }
        Ok(track)
    }

    fn media(&mut self, mdia: &BoxHdr, track: &mut Track) -> Result<(), ProbeError> {
        for child in self.children(mdia)? {
            match &child.kind {
                b"mdhd" => {
                    let mut buf = [0u8; 32];
                    if let Some((timescale, duration)) =
                        timescale_and_duration(self.payload(&child, &mut buf)?)
                    {
                        track.timescale = timescale;
                        track.duration = duration;
                    }
                }
                // Only `mdia`'s own handler says what the track is; QuickTime puts a second,
                // data-reference `hdlr` inside `minf`, which is not looked at.
                b"hdlr" => {
                    let mut buf = [0u8; 12];
                    let p = self.payload(&child, &mut buf)?;
                    track.handler = p.get(8..12).and_then(|h| h.try_into().ok());
                }
                b"minf" => {
                    for grandchild in self.children(&child)? {
                        if &grandchild.kind == b"stbl" {
                            self.sample_table(&grandchild, track)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn sample_table(&mut self, stbl: &BoxHdr, track: &mut Track) -> Result<(), ProbeError> {
        for child in self.children(stbl)? {
            match &child.kind {
                b"stsd" => {
                    // version/flags, entry_count, then the first sample entry: size, format,
                    // and for video 28 bytes later the coded width and height.
                    let mut buf = [0u8; 44];
                    let p = self.payload(&child, &mut buf)?;
                    if be_u32(p, 4).unwrap_or(0) > 0 {
                        track.codec = p.get(12..16).and_then(|c| c.try_into().ok());
                        if let (Some(w), Some(h)) = (be_u16(p, 40), be_u16(p, 42)) {
                            track.coded_size = Some((w, h));
                        }
                    }
                }
                b"stsz" => {
                    let mut buf = [0u8; 12];
                    track.sample_count = be_u32(self.payload(&child, &mut buf)?, 8);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `mvhd` and `mdhd` share their first fields: version/flags, creation and modification times
/// (32- or 64-bit by version), timescale, duration. An all-ones duration means "unknown".
fn timescale_and_duration(p: &[u8]) -> Option<(u64, Option<u64>)> {
    let (timescale, duration) = match p.first()? {
        0 => {
            let d = be_u32(p, 16)?;
            (be_u32(p, 12)?, (d != u32::MAX).then_some(u64::from(d)))
        }
        1 => {
            let d = be_u64(p, 24)?;
            (be_u32(p, 20)?, (d != u64::MAX).then_some(d))
        }
        _ => return None,
    };
    (timescale > 0).then_some((u64::from(timescale), duration))
}

fn mehd_duration(p: &[u8]) -> Option<u64> {
    let d = match p.first()? {
        0 => u64::from(be_u32(p, 4)?),
        1 => be_u64(p, 4)?,
        _ => return None,
    };
    (d > 0).then_some(d)
}

fn read_tkhd(p: &[u8], track: &mut Track) {
    let Some(&version) = p.first() else { return };
    // Matrix and size sit after the version-dependent times, track id and duration.
    let base = match version {
        0 => 40,
        1 => 52,
        _ => return,
    };
    track.enabled = p.get(3).is_some_and(|flags| flags & 1 == 1);
    if let (Some(a), Some(b), Some(c), Some(d)) = (
        be_i32(p, base),
        be_i32(p, base + 4),
        be_i32(p, base + 12),
        be_i32(p, base + 16),
    ) {
        track.matrix = Some([a, b, c, d]);
    }
    track.width_fx = be_u32(p, base + 36).unwrap_or(0);
    track.height_fx = be_u32(p, base + 40).unwrap_or(0);
}

/// What a track with this `hdlr` handler holds, for messages.
fn track_kind(handler: &[u8; 4]) -> &'static str {
    match handler {
        b"soun" => "sound",
        b"text" | b"sbtl" | b"subt" | b"clcp" => "subtitles",
        b"tmcd" => "timecode",
        b"meta" | b"mdta" => "metadata",
        b"hint" => "hint",
        _ => "unknown",
    }
}

/// A 16.16 fixed-point size to whole pixels.
fn round_fixed(fx: u32) -> u32 {
    u32::try_from((u64::from(fx) + 0x8000) >> 16).unwrap_or(0)
}

fn codec_from_fourcc(code: &[u8; 4]) -> VideoCodec {
    match code {
        b"avc1" | b"avc2" | b"avc3" | b"avc4" => VideoCodec::H264,
        b"hvc1" | b"hev1" => VideoCodec::H265,
        b"vp08" => VideoCodec::Vp8,
        b"vp09" => VideoCodec::Vp9,
        b"av01" => VideoCodec::Av1,
        other => VideoCodec::Other(printable(other).trim_end().to_string()),
    }
}
