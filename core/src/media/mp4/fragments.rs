//! The duration of a fragmented MP4 whose `moov` does not say it (no `mehd`): from its
//! segment index (`sidx`, DASH/CMAF packagers, ffmpeg's `global_sidx` and `dash`), else from
//! the sample tables of its `moof` boxes (ISO/IEC 14496-12 §8.8: `tfhd`, `tfdt`, `trun`).
//!
//! Only `sidx` and `moof` boxes are read, never the `mdat`s between them, and a `moof` is read
//! in one go into one reused buffer. Fragments a `sidx` has measured are stepped over without
//! reading. Times are kept per track as a presentation span (earliest sample start, latest
//! sample end, composition offsets included) because that is what players and ffprobe call the
//! duration: the latest end minus the earliest start across tracks.

use std::io::{Read, Seek};

use super::super::reader::{Source, be_u32, be_u64};
use super::{ProbeError, printable};

/// Top-level boxes walked after `moov` in a fragmented file before giving up on its
/// duration. A fragment per frame of a three-hour 60 fps recording is 1.3 million boxes.
pub(super) const MAX_TOP_LEVEL_FRAGMENT_BOXES: u32 = 2_000_000;

/// Bytes read past a `moof`: the largest box header.
const PEEK: usize = 16;

/// Bytes read ahead of the walk, at a known position; fewer than 16 at the end of the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peek {
    pub bytes: [u8; PEEK],
    pub len: usize,
}

/// The largest `moof` read. Fragments of a few seconds take a few KiB; one this large would
/// be a single fragment of hours, which nothing writes, and is not worth the memory.
const MAX_MOOF: u64 = 1 << 20;

/// What the scan needs to know of a track from `moov`.
#[derive(Debug, Clone, Copy)]
pub(super) struct TrackTiming {
    pub id: u32,
    /// Ticks per second of the track's media (`mdhd`).
    pub timescale: u64,
    /// `trex` default sample duration, used when neither `tfhd` nor `trun` gives one.
    pub default_duration: Option<u32>,
    /// Ticks of samples kept in `moov` itself; fragments without `tfdt` follow them.
    pub moov_ticks: u64,
}

/// A presentation interval in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Span {
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub(super) fn merge(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

fn merge_into(slot: &mut Option<Span>, span: Span) {
    *slot = Some(match *slot {
        Some(s) => s.merge(span),
        None => span,
    });
}

#[derive(Debug)]
struct TrackScan {
    timing: TrackTiming,
    /// Decode time, in ticks, of the next sample when a fragment has no `tfdt`.
    next_dts: u64,
    from_moofs: Option<Span>,
    from_sidx: Option<Span>,
    samples: u64,
}

#[derive(Debug)]
pub(super) struct Scan {
    tracks: Vec<TrackScan>,
    /// Where the fragments indexed by the `sidx` boxes read so far end; a `moof` before it
    /// has been measured already.
    indexed_to: Option<u64>,
    /// Whether a `sidx` was read and its index checked against the file.
    sidx_trusted: bool,
    /// Whether fragments were stepped over on a `sidx`'s word (their samples are not counted).
    skipped: bool,
    /// The duration cannot be told: a `moof` too large, a fragment of unknown sample
    /// durations, or more fragments than the walk allows.
    gave_up: bool,
    buf: Vec<u8>,
}

impl Scan {
    pub(super) fn new(timing: Vec<TrackTiming>) -> Scan {
        Scan {
            tracks: timing
                .into_iter()
                .map(|timing| TrackScan {
                    timing,
                    next_dts: timing.moov_ticks,
                    from_moofs: None,
                    from_sidx: None,
                    samples: 0,
                })
                .collect(),
            indexed_to: None,
            sidx_trusted: false,
            skipped: false,
            gave_up: false,
            buf: Vec::new(),
        }
    }

    pub(super) fn give_up(&mut self) {
        tracing::debug!("fragmented MP4: too many fragments to add up; duration unknown");
        self.gave_up = true;
    }

    /// Per track id, the span the fragments cover, and which index said so; `None` when the
    /// scan could not tell.
    pub(super) fn spans(&self) -> Option<(Vec<(u32, Span)>, super::DurationSource)> {
        if self.sidx_trusted {
            let spans: Vec<(u32, Span)> = self
                .tracks
                .iter()
                .filter_map(|t| t.from_sidx.map(|s| (t.timing.id, s)))
                .collect();
            if !spans.is_empty() {
                return Some((spans, super::DurationSource::SegmentIndex));
            }
        }
        if self.gave_up {
            return None;
        }
        let spans: Vec<(u32, Span)> = self
            .tracks
            .iter()
            .filter_map(|t| t.from_moofs.map(|s| (t.timing.id, s)))
            .collect();
        Some((spans, super::DurationSource::Fragments))
    }

    /// Samples counted in the fragments of track `id` and the seconds they span, for the frame
    /// rate; `None` when the fragments were not all read.
    pub(super) fn samples(&self, id: u32) -> Option<(u64, f64)> {
        if self.gave_up || self.skipped {
            return None;
        }
        let track = self.tracks.iter().find(|t| t.timing.id == id)?;
        let span = track.from_moofs?;
        Some((track.samples, span.end - span.start))
    }

    /// Reads a `sidx` box (ISO/IEC 14496-12 §8.16.3): for its track, the presentation span of
    /// the subsegments it references directly, and where they end in the file.
    pub(super) fn sidx<R: Read + Seek>(
        &mut self,
        src: &mut Source<'_, R>,
        b: &super::BoxHdr,
    ) -> Result<(), ProbeError> {
        // A hierarchical index's entries point at other `sidx` boxes, read in turn; only media
        // references are counted. 12 bytes per reference.
        let mut buf = std::mem::take(&mut self.buf);
        let result = match read_into(src, b, &mut buf, 0)? {
            Some(_) => self.parse_sidx(&buf, b),
            None => Ok(()),
        };
        self.buf = buf;
        result
    }

    fn parse_sidx(&mut self, body: &[u8], b: &super::BoxHdr) -> Result<(), ProbeError> {
        let version = body.first().copied().unwrap_or(0);
        let field = |at: usize, wide: bool| {
            if wide {
                be_u64(body, at)
            } else {
                be_u32(body, at).map(u64::from)
            }
        };
        let wide = version == 1;
        let (Some(id), Some(timescale)) = (be_u32(body, 4), be_u32(body, 8)) else {
            return Err(damaged("sidx", b, "its header is cut short"));
        };
        let (Some(earliest), Some(first_offset)) =
            (field(12, wide), field(if wide { 20 } else { 16 }, wide))
        else {
            return Err(damaged("sidx", b, "its header is cut short"));
        };
        // Then 16 reserved bits and the 16-bit reference count.
        let refs_at = if wide { 32 } else { 24 };
        let count = body
            .get(refs_at - 2..refs_at)
            .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
            .unwrap_or(0);
        if body.len() < refs_at + count * 12 {
            return Err(damaged(
                "sidx",
                b,
                &format!("it lists {count} references but has room for fewer"),
            ));
        }
        if timescale == 0 {
            return Ok(());
        }
        let mut media_ticks = 0u64;
        let mut bytes = 0u64;
        let mut only_media = true;
        for i in 0..count {
            let at = refs_at + i * 12;
            let (Some(first), Some(duration)) = (be_u32(body, at), be_u32(body, at + 4)) else {
                break;
            };
            bytes = bytes.saturating_add(u64::from(first & 0x7FFF_FFFF));
            if first & 0x8000_0000 == 0 {
                media_ticks = media_ticks.saturating_add(u64::from(duration));
            } else {
                only_media = false;
            }
        }
        let Some(track) = self.tracks.iter_mut().find(|t| t.timing.id == id) else {
            return Ok(());
        };
        if media_ticks > 0 {
            let scale = f64::from(timescale);
            merge_into(
                &mut track.from_sidx,
                Span {
                    start: earliest as f64 / scale,
                    end: (earliest.saturating_add(media_ticks)) as f64 / scale,
                },
            );
        }
        // Offsets count from the first byte after this box.
        if only_media && count > 0 {
            let end = b.end.saturating_add(first_offset).saturating_add(bytes);
            self.indexed_to = Some(self.indexed_to.map_or(end, |e| e.max(end)));
        }
        Ok(())
    }

    /// At a `moof` at `pos` inside what the `sidx` boxes index: where the walk goes next (the
    /// end of the indexed fragments), once that is checked to be the start of a box or the end
    /// of the file. A `sidx` that points elsewhere is not trusted, and the fragments are read.
    pub(super) fn skip_indexed<R: Read + Seek>(
        &mut self,
        src: &mut Source<'_, R>,
        pos: u64,
    ) -> Result<Option<u64>, ProbeError> {
        let Some(to) = self.indexed_to.take() else {
            return Ok(None);
        };
        if to <= pos {
            return Ok(None);
        }
        let len = src.len();
        if to > len {
            return Err(ProbeError::truncated(format!(
                "its segment index (`sidx`) says the fragments run to byte {to}, but the file \
                 ends at byte {len}"
            )));
        }
        let lands_on_box = to == len || {
            let mut h = [0u8; 8];
            let n = src.read_at(to, &mut h)?;
            n == 8
                && h[4..8]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b' ')
                && u64::from(be_u32(&h, 0).unwrap_or(0)) != 0
        };
        if !lands_on_box {
            tracing::debug!(
                to,
                "sidx does not point at a box; reading the fragments instead"
            );
            if self.skipped {
                // Fragments already stepped over cannot be read again: nothing is sure.
                self.give_up();
            }
            for track in &mut self.tracks {
                track.from_sidx = None;
            }
            self.sidx_trusted = false;
            return Ok(None);
        }
        self.sidx_trusted = true;
        self.skipped = true;
        Ok(Some(to))
    }

    /// Adds the samples of one `moof` to their tracks. The `moof` is read together with the
    /// header after it (usually its `mdat`'s), which is returned for the walk: one read per
    /// fragment fewer, which is what a fragment per frame costs.
    pub(super) fn moof<R: Read + Seek>(
        &mut self,
        src: &mut Source<'_, R>,
        b: &super::BoxHdr,
    ) -> Result<Option<Peek>, ProbeError> {
        if self.gave_up {
            return Ok(None);
        }
        // The buffer is taken out so that the tracks can be updated while it is parsed.
        let mut buf = std::mem::take(&mut self.buf);
        let result = match read_into(src, b, &mut buf, PEEK)? {
            Some(payload) => {
                let mut next = Peek {
                    bytes: [0; PEEK],
                    len: buf.len() - payload,
                };
                next.bytes[..next.len].copy_from_slice(&buf[payload..]);
                self.parse_moof(&buf[..payload], b.start)
                    .map(|()| Some(next))
            }
            None => {
                self.give_up();
                Ok(None)
            }
        };
        self.buf = buf;
        result
    }

    fn parse_moof(&mut self, moof: &[u8], pos: u64) -> Result<(), ProbeError> {
        for child in Children::new(moof, pos) {
            let (kind, traf) = child?;
            if &kind == b"traf" {
                self.traf(traf, pos)?;
            }
        }
        Ok(())
    }

    fn traf(&mut self, traf: &[u8], pos: u64) -> Result<(), ProbeError> {
        let mut header: Option<Tfhd> = None;
        let mut base_dts = None;
        let mut runs = Vec::new();
        for child in Children::new(traf, pos) {
            let (kind, payload) = child?;
            match &kind {
                b"tfhd" => header = Some(Tfhd::parse(payload, pos)?),
                b"tfdt" => {
                    base_dts = match payload.first() {
                        Some(1) => be_u64(payload, 4),
                        Some(_) => be_u32(payload, 4).map(u64::from),
                        None => None,
                    }
                }
                b"trun" => runs.push(payload),
                _ => {}
            }
        }
        let Some(header) = header else {
            return Err(moof_damaged(pos, "a `traf` has no `tfhd`"));
        };
        let Some(track) = self
            .tracks
            .iter_mut()
            .find(|t| t.timing.id == header.track_id)
        else {
            return Ok(());
        };
        let default_duration = header.default_duration.or(track.timing.default_duration);
        let mut dts = base_dts.unwrap_or(track.next_dts);
        let mut span: Option<(i128, i128)> = None;
        for run in runs {
            let Some(found) = trun(run, default_duration, &mut dts, pos)? else {
                tracing::debug!(pos, "a `trun` gives no sample durations; duration unknown");
                self.gave_up = true;
                return Ok(());
            };
            track.samples += found.samples;
            if let Some((start, end)) = found.span {
                span = Some(match span {
                    Some((s, e)) => (s.min(start), e.max(end)),
                    None => (start, end),
                });
            }
        }
        track.next_dts = dts;
        if let Some((start, end)) = span {
            let scale = track.timing.timescale as f64;
            merge_into(
                &mut track.from_moofs,
                Span {
                    start: start as f64 / scale,
                    end: end as f64 / scale,
                },
            );
        }
        Ok(())
    }
}

/// Reads the payload of `b` into `buf`, followed by up to `after` bytes that come after it
/// in the file; returns the payload's length, or `None` (nothing read) when it is over
/// [`MAX_MOOF`].
fn read_into<R: Read + Seek>(
    src: &mut Source<'_, R>,
    b: &super::BoxHdr,
    buf: &mut Vec<u8>,
    after: usize,
) -> Result<Option<usize>, ProbeError> {
    let len = b.end - b.body;
    if len > MAX_MOOF {
        tracing::debug!(at = b.start, len, "fragment box too large to read");
        return Ok(None);
    }
    // len <= 1 MiB, so it fits in usize.
    let len = len as usize;
    buf.resize(len + after, 0);
    let n = src.read_at(b.body, buf)?;
    if n < len {
        return Err(ProbeError::truncated(format!(
            "the {} box at byte {} is cut off by the end of the file ({} bytes)",
            b.name(),
            b.start,
            src.len()
        )));
    }
    buf.truncate(n);
    Ok(Some(len))
}

/// What `tfhd` says (§8.8.7): whose samples these are, and their default duration.
struct Tfhd {
    track_id: u32,
    default_duration: Option<u32>,
}

impl Tfhd {
    fn parse(p: &[u8], pos: u64) -> Result<Tfhd, ProbeError> {
        let cut = || moof_damaged(pos, "its `tfhd` is cut short");
        let flags = be_u32(p, 0).ok_or_else(cut)? & 0x00FF_FFFF;
        let track_id = be_u32(p, 4).ok_or_else(cut)?;
        let mut at = 8;
        if flags & 0x01 != 0 {
            at += 8; // base_data_offset
        }
        if flags & 0x02 != 0 {
            at += 4; // sample_description_index
        }
        let default_duration = if flags & 0x08 != 0 {
            Some(be_u32(p, at).ok_or_else(cut)?)
        } else {
            None
        };
        Ok(Tfhd {
            track_id,
            default_duration,
        })
    }
}

struct Run {
    samples: u64,
    /// Earliest presentation start and latest end, in ticks.
    span: Option<(i128, i128)>,
}

/// One `trun` (§8.8.8): advances `dts` past its samples and returns their presentation span.
/// `None` when neither the run nor a default gives the samples' durations.
fn trun(
    p: &[u8],
    default_duration: Option<u32>,
    dts: &mut u64,
    pos: u64,
) -> Result<Option<Run>, ProbeError> {
    let cut = || moof_damaged(pos, "its `trun` is cut short");
    let flags = be_u32(p, 0).ok_or_else(cut)? & 0x00FF_FFFF;
    let count = u64::from(be_u32(p, 4).ok_or_else(cut)?);
    let mut at = 8usize;
    if flags & 0x001 != 0 {
        at += 4; // data_offset
    }
    if flags & 0x004 != 0 {
        at += 4; // first_sample_flags
    }
    let has_duration = flags & 0x100 != 0;
    let has_cts = flags & 0x800 != 0;
    let entry = [0x100, 0x200, 0x400, 0x800]
        .iter()
        .filter(|&&bit| flags & bit != 0)
        .count()
        * 4;
    let room = p.len().saturating_sub(at) as u64;
    if entry > 0 && count.saturating_mul(entry as u64) > room {
        return Err(moof_damaged(
            pos,
            &format!("a `trun` lists {count} samples but has room for fewer"),
        ));
    }
    if count == 0 {
        return Ok(Some(Run {
            samples: 0,
            span: None,
        }));
    }
    if !has_duration && default_duration.is_none() {
        return Ok(None);
    }
    let start_dts = i128::from(*dts);
    if !has_duration && !has_cts {
        // Every sample the same length: no need to visit them (a run of zero-size entries
        // may claim billions of samples).
        let total = u128::from(count) * u128::from(default_duration.unwrap_or(0));
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        *dts = dts.saturating_add(total);
        return Ok(Some(Run {
            samples: count,
            span: Some((start_dts, i128::from(*dts))),
        }));
    }
    let mut earliest = i128::MAX;
    let mut latest = i128::MIN;
    let duration_at = 0;
    let cts_at = entry - 4;
    for i in 0..count as usize {
        let e = at + i * entry;
        let duration = if has_duration {
            be_u32(p, e + duration_at).ok_or_else(cut)?
        } else {
            default_duration.unwrap_or(0)
        };
        let cts = if has_cts {
            // Version 0 says unsigned, version 1 signed; writers put negative offsets in
            // version 0 too, and an offset over 2^31 ticks is never meant, so both are read
            // as signed.
            i128::from(be_u32(p, e + cts_at).ok_or_else(cut)? as i32)
        } else {
            0
        };
        let pts = i128::from(*dts) + cts;
        earliest = earliest.min(pts);
        latest = latest.max(pts + i128::from(duration));
        *dts = dts.saturating_add(u64::from(duration));
    }
    Ok(Some(Run {
        samples: count,
        span: Some((earliest, latest)),
    }))
}

/// The boxes inside an in-memory box payload.
struct Children<'b> {
    bytes: &'b [u8],
    at: usize,
    /// Where the enclosing `moof` is, for messages.
    pos: u64,
}

impl<'b> Children<'b> {
    fn new(bytes: &'b [u8], pos: u64) -> Self {
        Children { bytes, at: 0, pos }
    }
}

impl<'b> Iterator for Children<'b> {
    type Item = Result<([u8; 4], &'b [u8]), ProbeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.at..)?;
        if rest.len() < 8 {
            return None;
        }
        let size = be_u32(rest, 0)? as usize;
        let kind = [rest[4], rest[5], rest[6], rest[7]];
        let (header, size) = match size {
            0 => (8, rest.len()),
            1 => match be_u64(rest, 8).and_then(|s| usize::try_from(s).ok()) {
                Some(s) => (16, s),
                None => {
                    self.at = self.bytes.len();
                    return Some(Err(moof_damaged(self.pos, "a box size is cut short")));
                }
            },
            s => (8, s),
        };
        if size < header || size > rest.len() {
            self.at = self.bytes.len();
            return Some(Err(moof_damaged(
                self.pos,
                &format!(
                    "box `{}` inside it has an impossible size of {size} bytes",
                    printable(&kind)
                ),
            )));
        }
        self.at += size;
        Some(Ok((kind, &rest[header..size])))
    }
}

fn moof_damaged(pos: u64, what: &str) -> ProbeError {
    ProbeError::corrupt(format!("the `moof` box at byte {pos} is damaged: {what}"))
}

fn damaged(kind: &str, b: &super::BoxHdr, what: &str) -> ProbeError {
    ProbeError::corrupt(format!(
        "the `{kind}` box at byte {} is damaged: {what}",
        b.start
    ))
}
