//! WebM (a Matroska profile): the EBML element walk and the few elements keryx reads.
//!
//! Layout used (RFC 8794 EBML, RFC 9559 Matroska): the EBML header's `DocType` must be `webm`;
//! then `Segment` → `SeekHead` (where `Info` and `Tracks` are), `Info` → `TimestampScale`,
//! `Duration`; `Tracks` → `TrackEntry` → `TrackType`, `FlagEnabled`, `CodecID`,
//! `DefaultDuration`, `Video` → pixel and display sizes, `Projection` → roll.
//!
//! Recordings made live (browsers' MediaRecorder, OBS, `ffmpeg ... pipe:`) leave the Segment
//! and Clusters with "unknown" sizes and usually no Duration. The walk stops at the first
//! Cluster it cannot skip, and uses the SeekHead to reach `Info`/`Tracks` written after the
//! media; without a Duration, the last block's timestamp gives the length (see
//! [`last_block`]); what it cannot find stays unknown.

use std::io::{Read, Seek};

use super::reader::{Source, ticks_to_duration};
use super::{DurationSource, Probe, ProbeError, VideoCodec};

mod last_block;

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const FLAG_ENABLED: u32 = 0xB9;
const CODEC_ID: u32 = 0x86;
const DEFAULT_DURATION: u32 = 0x23_E383;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const DISPLAY_WIDTH: u32 = 0x54B0;
const DISPLAY_HEIGHT: u32 = 0x54BA;
const DISPLAY_UNIT: u32 = 0x54B2;
const PROJECTION: u32 = 0x7670;
const PROJECTION_POSE_ROLL: u32 = 0x7675;
const CLUSTER: u32 = 0x1F43_B675;

/// Elements that sit directly in a Segment (or at the top): inside a master element of unknown
/// size, meeting one of these means the unknown-size element has ended.
const UPPER_LEVEL: &[u32] = &[
    EBML,
    SEGMENT,
    SEEK_HEAD,
    INFO,
    TRACKS,
    CLUSTER,
    0x1C53_BB6B, /* Cues */
    0x1043_A770, /* Chapters */
    0x1254_C367, /* Tags */
    0x1941_A469, /* Attachments */
];

/// Upper bound on element headers read in one file; real headers need a few hundred.
const MAX_ELEMENTS: u32 = 20_000;

/// Element budget kept back from the Segment walk for following SeekHead pointers.
const RESERVED_FOR_SEEKS: u32 = 1_000;

/// Longest string element read (DocType, CodecID); longer ones are ignored.
const MAX_STRING: u64 = 256;

const TRACK_TYPE_VIDEO: u64 = 1;
const TRACK_TYPE_AUDIO: u64 = 2;
const TRACK_NUMBER: u32 = 0xD7;

/// TimestampScale when Info does not say: 1 ms.
const DEFAULT_TIMESTAMP_SCALE: u64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
struct El {
    id: u32,
    body: u64,
    /// For an element of unknown size, the end of its parent.
    end: u64,
    unknown_size: bool,
}

struct Walker<'s, 'a, R> {
    src: &'s mut Source<'a, R>,
    budget: u32,
}

#[derive(Debug, Default)]
struct Track {
    number: Option<u64>,
    kind: Option<u64>,
    enabled: bool,
    codec_id: Option<String>,
    default_duration_ns: Option<u64>,
    pixel: (Option<u64>, Option<u64>),
    display: (Option<u64>, Option<u64>),
    display_unit: u64,
    roll: Option<f64>,
}

pub(crate) fn probe<R: Read + Seek>(src: &mut Source<'_, R>) -> Result<Probe, ProbeError> {
    let len = src.len();
    let mut w = Walker {
        src,
        budget: MAX_ELEMENTS,
    };

    let header = w.element(0, len, None)?;
    if header.id != EBML || header.unknown_size {
        return Err(ProbeError::corrupt("its EBML header is malformed"));
    }
    let (fields, _) = w.children(&header)?;
    let doc_type = match fields.iter().find(|e| e.id == DOC_TYPE) {
        Some(e) => w.string(e)?,
        None => None,
    };
    match doc_type.as_deref() {
        Some("webm") => {}
        Some("matroska") => {
            return Err(ProbeError::NotVideo {
                looks_like: "a Matroska (MKV) video".into(),
                hint: "Re-pack it as MP4 without re-encoding: `ffmpeg -i IN.mkv -c copy OUT.mp4` \
                       (or convert it: `ffmpeg -i IN.mkv -c:v libx264 -c:a aac OUT.mp4`)."
                    .into(),
            });
        }
        other => {
            return Err(ProbeError::NotVideo {
                looks_like: format!(
                    "an EBML document of type {:?}",
                    other.unwrap_or("(none given)")
                ),
                hint: "Export or convert it to MP4 (H.264), for example \
                       `ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4`."
                    .into(),
            });
        }
    }

    // The Segment follows the header, possibly after Void or CRC elements.
    let mut pos = header.end;
    let segment = loop {
        if len.saturating_sub(pos) < 2 {
            return Err(ProbeError::truncated(
                "it has an EBML header but no Segment (the part holding the video)",
            ));
        }
        let el = w.element(pos, len, None)?;
        if el.id == SEGMENT {
            break el;
        }
        if el.unknown_size {
            return Err(ProbeError::corrupt(format!(
                "an element of unknown size at byte {pos} comes before the Segment"
            )));
        }
        pos = el.end;
    };
    w.segment(&segment)
}

impl<R: Read + Seek> Walker<'_, '_, R> {
    /// Reads the element header at `pos`; the element must end by `parent_end`.
    fn element(
        &mut self,
        pos: u64,
        parent_end: u64,
        parent: Option<u32>,
    ) -> Result<El, ProbeError> {
        if self.budget == 0 {
            return Err(ProbeError::corrupt(format!(
                "it has more than {MAX_ELEMENTS} header elements, which no real video has"
            )));
        }
        self.budget -= 1;
        let mut h = [0u8; 12];
        let n = self.src.read_at(pos, &mut h)?;
        let avail = usize::try_from(parent_end.saturating_sub(pos)).unwrap_or(usize::MAX);
        let h = &h[..n.min(avail)];
        let cut = || ProbeError::truncated(format!("an element header at byte {pos} is cut off"));
        let (id, id_len, _) = vint(h, true).ok_or_else(cut)?;
        if id_len > 4 {
            return Err(ProbeError::corrupt(format!(
                "the element at byte {pos} has an invalid {id_len}-byte id"
            )));
        }
        let (size, size_len, unknown_size) = vint(h.get(id_len..).unwrap_or(&[]), false)
            .ok_or_else(|| {
                if h.get(id_len) == Some(&0) {
                    ProbeError::corrupt(format!("the element at byte {pos} has an invalid size"))
                } else {
                    cut()
                }
            })?;
        let id = u32::try_from(id).unwrap_or(0);
        let body = pos.saturating_add((id_len + size_len) as u64);
        if unknown_size {
            return Ok(El {
                id,
                body,
                end: parent_end,
                unknown_size,
            });
        }
        let end = body.saturating_add(size);
        if end > parent_end {
            return Err(match parent {
                None => ProbeError::truncated(format!(
                    "its {} at byte {pos} needs {size} bytes but the file ends {} bytes later",
                    element_name(id),
                    parent_end.saturating_sub(body)
                )),
                Some(p) => ProbeError::corrupt(format!(
                    "its {} at byte {pos} runs past the end of the {} that contains it",
                    element_name(id),
                    element_name(p)
                )),
            });
        }
        Ok(El {
            id,
            body,
            end,
            unknown_size,
        })
    }

    /// The children of a master element, and where they stop. An unknown-size element ends at
    /// the first upper-level element; a known-size one at its end.
    fn children(&mut self, parent: &El) -> Result<(Vec<El>, u64), ProbeError> {
        let mut out = Vec::new();
        let mut pos = parent.body;
        while parent.end.saturating_sub(pos) >= 2 {
            if parent.unknown_size
                && self
                    .peek_id(pos)?
                    .is_some_and(|id| UPPER_LEVEL.contains(&id))
            {
                break;
            }
            let child = self.element(pos, parent.end, Some(parent.id))?;
            out.push(child);
            if child.unknown_size {
                // Without a size there is no way past it short of parsing it; stop here.
                pos = parent.end;
                break;
            }
            pos = child.end;
        }
        Ok((out, pos))
    }

    fn peek_id(&mut self, pos: u64) -> Result<Option<u32>, ProbeError> {
        let mut h = [0u8; 4];
        let n = self.src.read_at(pos, &mut h)?;
        Ok(vint(&h[..n], true).and_then(|(id, _, _)| u32::try_from(id).ok()))
    }

    fn segment(&mut self, segment: &El) -> Result<Probe, ProbeError> {
        let mut info: Option<(Option<f64>, u64)> = None;
        let mut tracks: Option<Vec<Track>> = None;
        let mut info_at = None;
        let mut tracks_at = None;
        let mut first_cluster = None;
        let mut pos = segment.body;
        while segment.end.saturating_sub(pos) >= 2 && (info.is_none() || tracks.is_none()) {
            // Many small Clusters before Info/Tracks: give up on the walk rather than on the
            // file, keeping budget for the SeekHead's pointers below.
            if self.budget < RESERVED_FOR_SEEKS {
                break;
            }
            // A live recording cut off mid-way still has a usable header: read what is there.
            let el = match self.element(pos, segment.end, Some(SEGMENT)) {
                Ok(el) => el,
                Err(ProbeError::Corrupt { .. }) if segment.unknown_size => break,
                Err(err) => return Err(err),
            };
            let mut next = el.end;
            match el.id {
                CLUSTER => {
                    first_cluster.get_or_insert(pos);
                }
                SEEK_HEAD => {
                    let (at_info, at_tracks) = self.seek_head(&el, segment.body)?;
                    info_at = info_at.or(at_info);
                    tracks_at = tracks_at.or(at_tracks);
                }
                // An unknown-size Info or Tracks ends where its children stop.
                INFO => {
                    let (parsed, stop) = self.info(&el)?;
                    info = Some(parsed);
                    if el.unknown_size {
                        next = stop;
                    }
                }
                TRACKS => {
                    let (parsed, stop) = self.tracks(&el)?;
                    tracks = Some(parsed);
                    if el.unknown_size {
                        next = stop;
                    }
                }
                _ => {}
            }
            if el.unknown_size && !matches!(el.id, INFO | TRACKS) {
                // Usually the first Cluster of a live recording: its end is unknown.
                break;
            }
            pos = next;
        }
        // Info and Tracks may come after the media; the SeekHead says where.
        if info.is_none()
            && let Some(at) = info_at
            && let Some(el) = self.element_at(at, segment.end, INFO)?
        {
            info = Some(self.info(&el)?.0);
        }
        if tracks.is_none()
            && let Some(at) = tracks_at
            && let Some(el) = self.element_at(at, segment.end, TRACKS)?
        {
            tracks = Some(self.tracks(&el)?.0);
        }

        let scale = info.map_or(DEFAULT_TIMESTAMP_SCALE, |(_, scale)| scale);
        let duration = info.and_then(|(duration, _)| {
            // Duration is a float count of TimestampScale nanoseconds.
            let ns = duration? * scale as f64;
            if ns.is_finite() && ns > 0.0 && ns < u64::MAX as f64 {
                ticks_to_duration(ns.round() as u64, 1_000_000_000)
            } else {
                None
            }
        });
        let mut probe = Probe {
            duration,
            duration_source: duration.map(|_| DurationSource::SegmentInfo),
            ..Probe::default()
        };
        if probe.duration.is_none() {
            // A live recording states no Duration: its last block says how long it is.
            let first_cluster = match first_cluster {
                Some(at) => Some(at),
                None => self.find_cluster(pos, segment.end)?,
            };
            if let Some(first) = first_cluster {
                let defaults: Vec<(u64, u64)> = tracks
                    .iter()
                    .flatten()
                    .filter_map(|t| Some((t.number?, t.default_duration_ns?)))
                    .collect();
                probe.duration = self.last_block_end(first, segment, scale, &defaults)?;
                probe.duration_source = probe.duration.map(|_| DurationSource::LastBlock);
            }
        }
        if let Some(tracks) = tracks {
            probe.audio_codec = tracks
                .iter()
                .filter(|t| t.kind == Some(TRACK_TYPE_AUDIO))
                .min_by_key(|t| !t.enabled)
                .and_then(|t| t.codec_id.as_deref())
                .map(|id| match id {
                    "A_OPUS" => "Opus".to_string(),
                    "A_VORBIS" => "Vorbis".to_string(),
                    "A_AAC" => "AAC".to_string(),
                    other => other.to_string(),
                });
            let video = tracks
                .iter()
                .filter(|t| t.kind == Some(TRACK_TYPE_VIDEO))
                .min_by_key(|t| !t.enabled)
                .ok_or_else(|| ProbeError::NoVideoTrack {
                    has: if tracks.is_empty() {
                        "no tracks at all".into()
                    } else {
                        "sound or subtitles only".into()
                    },
                })?;
            apply_track(video, &mut probe);
        }
        Ok(probe)
    }

    /// The element at `pos` if it has the expected id (a SeekHead may point anywhere).
    fn element_at(&mut self, pos: u64, end: u64, id: u32) -> Result<Option<El>, ProbeError> {
        if end.saturating_sub(pos) < 2 || self.peek_id(pos)? != Some(id) {
            return Ok(None);
        }
        self.element(pos, end, Some(SEGMENT)).map(Some)
    }

    /// Where the SeekHead says Info and Tracks are, as file offsets.
    fn seek_head(
        &mut self,
        el: &El,
        segment_body: u64,
    ) -> Result<(Option<u64>, Option<u64>), ProbeError> {
        let (mut info_at, mut tracks_at) = (None, None);
        let (seeks, _) = self.children(el)?;
        for seek in seeks.iter().filter(|e| e.id == SEEK) {
            let (fields, _) = self.children(seek)?;
            let (mut id, mut position) = (None, None);
            for f in &fields {
                match f.id {
                    SEEK_ID => id = self.uint(f)?,
                    SEEK_POSITION => position = self.uint(f)?,
                    _ => {}
                }
            }
            // SeekPosition counts from the start of the Segment's data.
            let at = position.and_then(|p| segment_body.checked_add(p));
            match id {
                Some(id) if id == u64::from(INFO) => info_at = info_at.or(at),
                Some(id) if id == u64::from(TRACKS) => tracks_at = tracks_at.or(at),
                _ => {}
            }
        }
        Ok((info_at, tracks_at))
    }

    /// Duration (in TimestampScale units) and TimestampScale (ns).
    fn info(&mut self, el: &El) -> Result<((Option<f64>, u64), u64), ProbeError> {
        let (fields, stop) = self.children(el)?;
        let mut duration = None;
        let mut scale = DEFAULT_TIMESTAMP_SCALE;
        for f in &fields {
            match f.id {
                TIMESTAMP_SCALE => scale = self.uint(f)?.filter(|&s| s > 0).unwrap_or(scale),
                DURATION => duration = self.float(f)?,
                _ => {}
            }
        }
        Ok(((duration, scale), stop))
    }

    fn tracks(&mut self, el: &El) -> Result<(Vec<Track>, u64), ProbeError> {
        let (entries, stop) = self.children(el)?;
        let mut tracks = Vec::new();
        for entry in entries.iter().filter(|e| e.id == TRACK_ENTRY) {
            let mut track = Track {
                enabled: true,
                ..Track::default()
            };
            let (fields, _) = self.children(entry)?;
            for f in &fields {
                match f.id {
                    TRACK_TYPE => track.kind = self.uint(f)?,
                    TRACK_NUMBER => track.number = self.uint(f)?,
                    FLAG_ENABLED => track.enabled = self.uint(f)? != Some(0),
                    CODEC_ID => track.codec_id = self.string(f)?,
                    DEFAULT_DURATION => track.default_duration_ns = self.uint(f)?,
                    VIDEO => self.video(f, &mut track)?,
                    _ => {}
                }
            }
            tracks.push(track);
        }
        Ok((tracks, stop))
    }

    fn video(&mut self, el: &El, track: &mut Track) -> Result<(), ProbeError> {
        let (fields, _) = self.children(el)?;
        for f in &fields {
            match f.id {
                PIXEL_WIDTH => track.pixel.0 = self.uint(f)?,
                PIXEL_HEIGHT => track.pixel.1 = self.uint(f)?,
                DISPLAY_WIDTH => track.display.0 = self.uint(f)?,
                DISPLAY_HEIGHT => track.display.1 = self.uint(f)?,
                DISPLAY_UNIT => track.display_unit = self.uint(f)?.unwrap_or(0),
                PROJECTION => {
                    let (projection, _) = self.children(f)?;
                    for p in projection.iter().filter(|p| p.id == PROJECTION_POSE_ROLL) {
                        track.roll = self.float(p)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// An unsigned integer element (0 to 8 bytes); `None` if it is longer.
    fn uint(&mut self, el: &El) -> Result<Option<u64>, ProbeError> {
        let len = el.end - el.body;
        if el.unknown_size || len > 8 {
            return Ok(None);
        }
        let mut buf = [0u8; 8];
        let buf = &mut buf[..len as usize];
        self.src.read_exact_at(el.body, buf, "an integer element")?;
        Ok(Some(
            buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        ))
    }

    /// A float element (0, 4 or 8 bytes); `None` for any other size.
    fn float(&mut self, el: &El) -> Result<Option<f64>, ProbeError> {
        let len = el.end - el.body;
        if el.unknown_size {
            return Ok(None);
        }
        match len {
            0 => Ok(Some(0.0)),
            4 => {
                let mut buf = [0u8; 4];
                self.src
                    .read_exact_at(el.body, &mut buf, "a float element")?;
                Ok(Some(f64::from(f32::from_be_bytes(buf))))
            }
            8 => {
                let mut buf = [0u8; 8];
                self.src
                    .read_exact_at(el.body, &mut buf, "a float element")?;
                Ok(Some(f64::from_be_bytes(buf)))
            }
            _ => Ok(None),
        }
    }

    /// A string element of at most [`MAX_STRING`] bytes, without trailing NULs.
    fn string(&mut self, el: &El) -> Result<Option<String>, ProbeError> {
        let len = el.end - el.body;
        if el.unknown_size || len > MAX_STRING {
            return Ok(None);
        }
        let bytes = self.src.read_vec(el.body, len, "a string element")?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(Some(text.trim_end_matches('\0').to_string()))
    }
}

/// How an element is called in messages.
fn element_name(id: u32) -> String {
    let name = match id {
        EBML => "EBML header",
        SEGMENT => "Segment",
        SEEK_HEAD => "SeekHead",
        INFO => "Info element",
        TRACKS => "Tracks element",
        TRACK_ENTRY => "TrackEntry",
        VIDEO => "Video element",
        CLUSTER => "Cluster",
        _ => return format!("element {id:#x}"),
    };
    name.to_string()
}

fn apply_track(video: &Track, probe: &mut Probe) {
    let size = |v: Option<u64>| v.and_then(|v| u32::try_from(v).ok()).filter(|&v| v > 0);
    // DisplayWidth/Height override the pixel size only when counted in pixels (unit 0).
    let (mut width, mut height) = match (size(video.display.0), size(video.display.1)) {
        (Some(w), Some(h)) if video.display_unit == 0 => (Some(w), Some(h)),
        _ => (size(video.pixel.0), size(video.pixel.1)),
    };
    probe.coded_width = size(video.pixel.0);
    probe.coded_height = size(video.pixel.1);
    // ProjectionPoseRoll is counter-clockwise degrees, the convention `rotation` uses.
    probe.rotation = match video.roll {
        None => Some(0),
        Some(roll) if roll.is_finite() => {
            let turned = roll.rem_euclid(360.0);
            let quarter = (turned / 90.0).round();
            ((turned - quarter * 90.0).abs() < 1.0).then(|| (quarter as u16 % 4) * 90)
        }
        Some(_) => None,
    };
    if matches!(probe.rotation, Some(90 | 270)) {
        std::mem::swap(&mut width, &mut height);
    }
    probe.width = width;
    probe.height = height;
    probe.frame_rate = video
        .default_duration_ns
        .filter(|&ns| ns > 0)
        .map(|ns| 1e9 / ns as f64)
        .filter(|fps| *fps <= 10_000.0);
    probe.video_codec = video.codec_id.as_deref().map(|id| match id {
        "V_VP8" => VideoCodec::Vp8,
        "V_VP9" => VideoCodec::Vp9,
        "V_AV1" => VideoCodec::Av1,
        "V_MPEG4/ISO/AVC" => VideoCodec::H264,
        "V_MPEGH/ISO/HEVC" => VideoCodec::H265,
        other => VideoCodec::Other(other.to_string()),
    });
}

/// An EBML variable-length integer: (value, length in bytes, all value bits set).
/// Element ids keep their length marker; sizes drop it, and all-ones means "unknown size".
pub(super) fn vint(buf: &[u8], keep_marker: bool) -> Option<(u64, usize, bool)> {
    let first = *buf.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let bytes = buf.get(..len)?;
    let value_mask = (0xFFu32 >> len) as u8;
    let mut value = u64::from(if keep_marker {
        first
    } else {
        first & value_mask
    });
    for &b in &bytes[1..] {
        value = (value << 8) | u64::from(b);
    }
    let all_ones = !keep_marker && value == (1u64 << (7 * len)) - 1;
    Some((value, len, all_ones))
}
