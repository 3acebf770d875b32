//! ISO base media files (MP4 and QuickTime MOV): the box walk and the few boxes keryx reads.
//!
//! Layout used (ISO/IEC 14496-12 and Apple's QuickTime format):
//! `moov` → `mvhd` (movie duration), `mvex` → `mehd` (fragmented duration) and `trex`
//! (default sample durations), and for each `trak` → `tkhd` (track id, display size, matrix),
//! `edts` → `elst` (edit list), `mdia` → `mdhd` (track timescale and duration), `hdlr` (track
//! kind), `minf` → `stbl` → `stsd` (codec, coded size), `stsz` (sample count). Only those
//! boxes' first few dozen bytes are ever read; `mdat` and the sample tables are skipped with
//! seeks. A fragmented file without `mehd` also has its `sidx` or `moof` boxes read, see
//! [`fragments`].

use std::io::{Read, Seek};

use super::detect::printable;
use super::reader::{Source, be_i32, be_u16, be_u32, be_u64, ticks_to_duration};
use super::{DurationSource, Probe, ProbeError, VideoCodec};

mod fragments;

/// Upper bound on box headers read inside `moov`. Real files have a few hundred; a crafted
/// file of millions of 8-byte boxes must not turn a probe into millions of seeks.
const MAX_BOXES: u32 = 20_000;

/// Upper bound on top-level boxes walked while looking for `moov`.
const MAX_TOP_LEVEL: u32 = 200_000;

/// Once `moov` is found, top-level boxes walked to check that nothing runs past the end of the
/// file. A fragmented recording can have a `moof`+`mdat` pair per frame (hundreds of thousands
/// of boxes); when `mehd` gives its duration, its truncation check is not worth that many
/// reads. Without `mehd` every fragment is walked anyway (see `fragments`).
const TRUNCATION_CHECK_BOXES: u32 = 10_000;

#[derive(Debug, Clone, Copy)]
struct BoxHdr {
    kind: [u8; 4],
    /// Where the box starts.
    start: u64,
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
    /// The bytes at a position already read along with something else (the header after a
    /// `moof`), so that the walk does not read them again.
    peeked: Option<(u64, fragments::Peek)>,
}

/// What one `trak` says, as far as keryx cares.
#[derive(Debug, Default)]
struct Track {
    id: u32,
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
    /// The edit list; `None` without one (or with one too long to be worth reading).
    edits: Option<Vec<Edit>>,
    /// An `elst` box was there, whether or not its entries could be read.
    has_elst: bool,
}

/// One `elst` entry: `segment` in the movie's timescale, `media_time` in the track's (-1 for
/// an empty edit, a pause before the track starts), `rate` in 16.16 fixed point (1.0 plays at
/// normal speed, 0 holds a frame).
#[derive(Debug, Clone, Copy)]
struct Edit {
    segment: u64,
    media_time: i64,
    rate: i32,
}

/// The 16.16 fixed-point `media_rate` of normal playback.
const NORMAL_RATE: i32 = 0x0001_0000;

/// Edit lists longer than this are ignored: real ones have one or two entries, and a
/// presentation spliced from thousands of pieces is not worth a larger read.
const MAX_EDITS: usize = 64;

/// What `moov` says.
struct Movie {
    timescale: u64,
    duration: Option<u64>,
    /// An `mvex` box: the samples are (also) in `moof` fragments after `moov`.
    fragmented: bool,
    fragment_duration: Option<u64>,
    /// `trex` default sample durations, by track id.
    trex: Vec<(u32, u32)>,
    tracks: Vec<Track>,
}

impl Movie {
    fn timing(&self) -> Vec<fragments::TrackTiming> {
        self.tracks
            .iter()
            .filter(|t| t.timescale > 0)
            .map(|t| fragments::TrackTiming {
                id: t.id,
                timescale: t.timescale,
                default_duration: self
                    .trex
                    .iter()
                    .find(|(id, _)| *id == t.id)
                    .map(|(_, d)| *d),
                moov_ticks: t.duration.unwrap_or(0),
            })
            .collect()
    }
}

pub(crate) fn probe<R: Read + Seek>(src: &mut Source<'_, R>) -> Result<Probe, ProbeError> {
    let len = src.len();
    let mut walker = Walker {
        src,
        budget: MAX_BOXES,
        peeked: None,
    };
    let mut movie: Option<Movie> = None;
    let mut moov_at = None;
    // The first `mdat` or `moof`: where the media data starts.
    let mut first_media = None;
    let mut scan: Option<fragments::Scan> = None;
    let mut pos = 0;
    let mut walked = 0u32;
    let mut after_moov = 0u32;
    // Walk the top-level boxes past `moov` too, because a box that runs past the end of the
    // file is how a half-copied video shows, and it is usually the `mdat` at the end. In a
    // fragmented file without `mehd` the walk also reads every `moof` (or `sidx`), which is
    // where the duration is.
    while len - pos >= 8 {
        walked += 1;
        if movie.is_some() {
            after_moov += 1;
            match &mut scan {
                Some(scan) if after_moov > fragments::MAX_TOP_LEVEL_FRAGMENT_BOXES => {
                    scan.give_up();
                    break;
                }
                None if after_moov > TRUNCATION_CHECK_BOXES => break,
                _ => {}
            }
        }
        if walked > MAX_TOP_LEVEL && movie.is_none() {
            return Err(ProbeError::corrupt(format!(
                "no `moov` box among its first {MAX_TOP_LEVEL} boxes"
            )));
        }
        let b = walker.header(pos, len, None)?;
        match &b.kind {
            b"moov" if movie.is_none() => {
                let parsed = walker.moov(&b)?;
                if parsed.fragmented && parsed.fragment_duration.is_none() {
                    scan = Some(fragments::Scan::new(parsed.timing()));
                }
                movie = Some(parsed);
                moov_at = Some(pos);
            }
            b"mdat" => {
                first_media.get_or_insert(pos);
            }
            b"sidx" => {
                if let Some(scan) = &mut scan {
                    scan.sidx(walker.src, &b)?;
                }
            }
            b"moof" => {
                first_media.get_or_insert(pos);
                if let Some(scan) = &mut scan {
                    // Fragments a trusted `sidx` has already measured are stepped over whole.
                    if let Some(next) = scan.skip_indexed(walker.src, pos)? {
                        pos = next;
                        continue;
                    }
                    if let Some(next) = scan.moof(walker.src, &b)? {
                        walker.peeked = Some((b.end, next));
                    }
                }
            }
            _ => {}
        }
        pos = b.end;
    }
    let Some(movie) = movie else {
        return Err(ProbeError::corrupt(
            "it has no `moov` box (the index a player needs to play it); \
             the recording or export may have been interrupted",
        ));
    };
    let moov_before_mdat = match (moov_at, first_media) {
        (Some(moov), Some(mdat)) => Some(moov < mdat),
        _ => None,
    };
    finish(movie, scan, moov_before_mdat)
}

/// Turns what the walk found into the probe's answer.
fn finish(
    movie: Movie,
    scan: Option<fragments::Scan>,
    moov_before_mdat: Option<bool>,
) -> Result<Probe, ProbeError> {
    let tracks = &movie.tracks;
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

    let (duration, duration_source) = movie_duration(&movie, scan.as_ref());
    let edit_list = tracks
        .iter()
        .any(|t| edits_presentation(t, movie.timescale));

    let coded = video.coded_size.map(|(w, h)| (u32::from(w), u32::from(h)));
    let (mut width, mut height) = (round_fixed(video.width_fx), round_fixed(video.height_fx));
    if (width == 0 || height == 0)
        && let Some((w, h)) = coded
    {
        (width, height) = (w, h);
    }
    let rotation = video.matrix.and_then(rotation_degrees);
    if let Some([a, b, c, d]) = video.matrix {
        // A 90° or 270° rotation moves the scale factors off the diagonal; which way it
        // turns does not matter for the displayed size, only that width and height swap.
        let (a, b, c, d) = (i64::from(a), i64::from(b), i64::from(c), i64::from(d));
        if a.abs() < b.abs() && d.abs() < c.abs() {
            std::mem::swap(&mut width, &mut height);
        }
    }

    // Samples counted in `stsz`, or in the fragments for a fragmented file.
    let (count, seconds) = match scan.as_ref().and_then(|s| s.samples(video.id)) {
        Some(found) => found,
        None => match (video.sample_count, video.duration) {
            (Some(count), Some(ticks)) if video.timescale > 0 => {
                (u64::from(count), ticks as f64 / video.timescale as f64)
            }
            _ => (0, 0.0),
        },
    };
    let frame_rate = if count > 0 && seconds > 0.0 {
        let fps = count as f64 / seconds;
        (fps.is_finite() && fps > 0.0 && fps <= 10_000.0).then_some(fps)
    } else {
        None
    };

    let audio_codec = tracks
        .iter()
        .filter(|t| t.handler.as_ref() == Some(b"soun"))
        .min_by_key(|t| !t.enabled)
        .and_then(|t| t.codec.as_ref())
        .map(audio_codec_name);

    Ok(Probe {
        duration,
        duration_source,
        width: (width > 0).then_some(width),
        height: (height > 0).then_some(height),
        coded_width: coded.map(|c| c.0).filter(|&w| w > 0),
        coded_height: coded.map(|c| c.1).filter(|&h| h > 0),
        rotation,
        frame_rate,
        video_codec: video.codec.map(|c| codec_from_fourcc(&c)),
        audio_codec,
        moov_before_mdat,
        edit_list: Some(edit_list),
        fragmented: movie.fragmented,
    })
}

/// Whether `track`'s edit list makes it play otherwise than its samples say, which is what
/// matters to a service that, like Meta (reference §4: "no edit lists"), ignores or refuses
/// edit lists: a shift (ffmpeg's usual hiding of B-frame delay or AAC priming), a pause (an
/// empty edit), a trim, a rate other than 1, or several pieces. A single edit that plays the
/// whole media from its start at normal speed is what many muxers write by default and means
/// the same as no edit list, so it is not reported; neither is an empty `elst`. An `elst` that
/// cannot be read (too long, or no movie timescale to read it with) is reported.
fn edits_presentation(track: &Track, movie_timescale: u64) -> bool {
    if !track.has_elst {
        return false;
    }
    let Some(edits) = &track.edits else {
        return true;
    };
    match edits.as_slice() {
        [] => false,
        [only] => {
            if only.media_time != 0 || only.rate != NORMAL_RATE {
                return true;
            }
            // Segment 0 (a fragmented file's "unknown length") or an unknown track length
            // trims nothing keryx can tell.
            let media_ticks = track.duration.unwrap_or(0);
            if only.segment == 0 || media_ticks == 0 || track.timescale == 0 {
                return false;
            }
            // Both lengths in ticks of movie × track timescale, exactly. Each was rounded to
            // its own timescale: a tick of the coarser one is slack. (Without a movie
            // timescale the entries were dropped, see `moov`.)
            let (movie, media) = (
                u128::from(movie_timescale.max(1)),
                u128::from(track.timescale),
            );
            let segment = u128::from(only.segment) * media;
            let whole = u128::from(media_ticks) * movie;
            segment.abs_diff(whole) > movie.max(media)
        }
        _ => true,
    }
}

/// The movie's duration and where it came from. A file with all its samples in `moov` says
/// it in `mvhd` (edit lists included); a fragmented one in `mehd` when the muxer knew it,
/// else only its `sidx` index or its fragments can tell, and a track's edit list then shifts
/// or trims what they say.
fn movie_duration(
    movie: &Movie,
    scan: Option<&fragments::Scan>,
) -> (Option<std::time::Duration>, Option<DurationSource>) {
    let from_ticks = |ticks: u64, source| match ticks_to_duration(ticks, movie.timescale) {
        Some(d) => (Some(d), Some(source)),
        None => (None, None),
    };
    if !movie.fragmented {
        match movie.duration {
            Some(ticks) if ticks > 0 => return from_ticks(ticks, DurationSource::MovieHeader),
            _ => {}
        }
    }
    if movie.fragmented
        && let Some(ticks) = movie.fragment_duration
    {
        return from_ticks(ticks, DurationSource::FragmentHeader);
    }
    let (spans, source) = match scan {
        Some(scan) => match scan.spans() {
            Some(found) => found,
            None => return (None, None),
        },
        None => (Vec::new(), DurationSource::TrackHeaders),
    };
    let mut whole: Option<fragments::Span> = None;
    for track in &movie.tracks {
        if track.timescale == 0 {
            continue;
        }
        let media = track.timescale as f64;
        // Samples kept in `moov` itself (a fragmented file that is not `empty_moov`, or one
        // that is not fragmented at all) play from 0 for the `mdhd` duration.
        let in_moov = track.duration.filter(|&d| d > 0).map(|d| fragments::Span {
            start: 0.0,
            end: d as f64 / media,
        });
        let in_fragments = spans.iter().find(|(id, _)| *id == track.id).map(|s| s.1);
        let span = match (in_moov, in_fragments) {
            (Some(a), Some(b)) => a.merge(b),
            (a, b) => match a.or(b) {
                Some(span) => span,
                None => continue,
            },
        };
        let span = match &track.edits {
            Some(edits) => present(span, edits, movie.timescale as f64, media),
            None => span,
        };
        whole = Some(match whole {
            Some(w) => w.merge(span),
            None => span,
        });
    }
    let Some(whole) = whole else {
        return (None, None);
    };
    let seconds = whole.end - whole.start;
    if seconds.is_finite() && seconds > 0.0 && seconds < 1e12 {
        (
            Some(std::time::Duration::from_secs_f64(seconds)),
            Some(source),
        )
    } else {
        (None, None)
    }
}

/// A track's media span as presented through its edit list: empty edits delay it (and the
/// pause counts as presentation time), the first
/// real edit's media time shifts it (the usual way to hide B-frame or encoder delay), and a
/// single real edit with a duration trims it. A segment duration of 0 (what fragmented files
/// write, not knowing the length) trims nothing.
fn present(span: fragments::Span, edits: &[Edit], movie: f64, media: f64) -> fragments::Span {
    let Some(first_real) = edits.iter().position(|e| e.media_time >= 0) else {
        return span;
    };
    if movie <= 0.0 {
        return span;
    }
    let delay: f64 = edits[..first_real]
        .iter()
        .map(|e| e.segment as f64 / movie)
        .sum();
    let shift = edits[first_real].media_time as f64 / media;
    // A pause is part of the presentation: the track then starts at 0, showing nothing.
    let start = if delay > 0.0 {
        0.0
    } else {
        (span.start - shift).max(0.0)
    };
    let mut end = delay + (span.end - shift);
    let real: Vec<&Edit> = edits.iter().filter(|e| e.media_time >= 0).collect();
    if let [only] = real.as_slice()
        && only.segment > 0
    {
        end = end.min(delay + only.segment as f64 / movie);
    }
    fragments::Span {
        start,
        end: end.max(start),
    }
}

impl<R: Read + Seek> Walker<'_, '_, R> {
    /// Reads the header of the box at `pos`, which must end by `parent_end`.
    fn header(
        &mut self,
        pos: u64,
        parent_end: u64,
        parent: Option<&BoxHdr>,
    ) -> Result<BoxHdr, ProbeError> {
        let (h, n) = match self.peeked.take() {
            Some((at, peek)) if at == pos => (peek.bytes, peek.len),
            _ => {
                let mut h = [0u8; 16];
                let n = self.src.read_at(pos, &mut h)?;
                (h, n)
            }
        };
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
            start: pos,
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

    fn moov(&mut self, moov: &BoxHdr) -> Result<Movie, ProbeError> {
        let mut header: Option<(u64, Option<u64>)> = None;
        let mut movie = Movie {
            timescale: 0,
            duration: None,
            fragmented: false,
            fragment_duration: None,
            trex: Vec::new(),
            tracks: Vec::new(),
        };
        for child in self.children(moov)? {
            match &child.kind {
                b"mvhd" if header.is_none() => {
                    let mut buf = [0u8; 32];
                    header = timescale_and_duration(self.payload(&child, &mut buf)?);
                }
                b"mvex" => {
                    movie.fragmented = true;
                    for grandchild in self.children(&child)? {
                        match &grandchild.kind {
                            b"mehd" => {
                                let mut buf = [0u8; 12];
                                movie.fragment_duration =
                                    mehd_duration(self.payload(&grandchild, &mut buf)?);
                            }
                            // version/flags, track_ID, default_sample_description_index,
                            // default_sample_duration.
                            b"trex" => {
                                let mut buf = [0u8; 16];
                                let p = self.payload(&grandchild, &mut buf)?;
                                if let (Some(id), Some(d)) = (be_u32(p, 4), be_u32(p, 12)) {
                                    movie.trex.push((id, d));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                b"trak" => movie.tracks.push(self.track(&child)?),
                _ => {}
            }
        }
        if let Some((timescale, duration)) = header {
            movie.timescale = timescale;
            movie.duration = duration;
        }
        // Without a movie timescale `mehd` and the edit lists cannot be read.
        if movie.timescale == 0 {
            movie.fragment_duration = None;
            for track in &mut movie.tracks {
                track.edits = None;
            }
        }
        Ok(movie)
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
                b"edts" => {
                    for grandchild in self.children(&child)? {
                        if &grandchild.kind == b"elst" {
                            track.has_elst = true;
                            let mut buf = [0u8; 8 + MAX_EDITS * 20];
                            track.edits = read_elst(self.payload(&grandchild, &mut buf)?);
                        }
                    }
                }
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

/// The `elst` entries, or `None` for one with more than [`MAX_EDITS`] entries or cut short.
fn read_elst(p: &[u8]) -> Option<Vec<Edit>> {
    let version = *p.first()?;
    let count = usize::try_from(be_u32(p, 4)?).ok()?;
    if count > MAX_EDITS {
        return None;
    }
    let entry = if version == 1 { 20 } else { 12 };
    (0..count)
        .map(|i| {
            let at = 8 + i * entry;
            Some(if version == 1 {
                Edit {
                    segment: be_u64(p, at)?,
                    media_time: be_u64(p, at + 8)? as i64,
                    rate: be_i32(p, at + 16)?,
                }
            } else {
                Edit {
                    segment: u64::from(be_u32(p, at)?),
                    media_time: i64::from(be_i32(p, at + 4)?),
                    rate: be_i32(p, at + 8)?,
                }
            })
        })
        .collect()
}

/// The quarter turn a `tkhd` matrix applies, in degrees counter-clockwise as ffmpeg and
/// ffprobe report it (`-atan2(b, a)`), or `None` for anything else (a shear, a mirror, an odd
/// angle). ffmpeg's `rotate=90` and a phone held one way write `(0, -1, 1, 0)`, 90; the
/// other way `(0, 1, -1, 0)`, 270.
fn rotation_degrees([a, b, c, d]: [i32; 4]) -> Option<u16> {
    match (a.signum(), b.signum(), c.signum(), d.signum()) {
        (1, 0, 0, 1) => Some(0),
        (0, -1, 1, 0) => Some(90),
        (-1, 0, 0, -1) => Some(180),
        (0, 1, -1, 0) => Some(270),
        _ => None,
    }
}

fn read_tkhd(p: &[u8], track: &mut Track) {
    let Some(&version) = p.first() else { return };
    // version/flags, creation and modification times (32 or 64 bits), then track_ID.
    track.id = be_u32(p, if version == 1 { 20 } else { 12 }).unwrap_or(0);
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

/// How a sound sample entry's code is called in messages.
fn audio_codec_name(code: &[u8; 4]) -> String {
    match code {
        b"mp4a" => "AAC".to_string(),
        b"Opus" => "Opus".to_string(),
        b"ac-3" => "AC-3".to_string(),
        b"ec-3" => "E-AC-3".to_string(),
        b"alac" => "ALAC".to_string(),
        b"fLaC" => "FLAC".to_string(),
        b".mp3" => "MP3".to_string(),
        b"lpcm" | b"sowt" | b"twos" | b"ipcm" | b"in24" | b"fl32" => "PCM".to_string(),
        other => printable(other).trim_end().to_string(),
    }
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
