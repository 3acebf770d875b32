//! Recognising a container from its first bytes, and naming what a non-video looks like.

use std::io::{Read, Seek};

use super::reader::{Source, be_u32};
use super::{Container, ProbeError};

pub(crate) enum Kind {
    /// ISO base media (MP4, MOV): boxes all the way down.
    IsoBmff(Container),
    /// An EBML file whose DocType is `webm` (checked by the WebM parser).
    Ebml,
}

/// Still images that use the ISO box format: an `ftyp` alone does not make a video.
const IMAGE_BRANDS: &[&[u8; 4]] = &[
    b"mif1", b"msf1", b"heic", b"heix", b"heim", b"heis", b"avif", b"avis", b"avci", b"jpx ",
];

/// Box types a pre-`ftyp` QuickTime file (old cameras and editors) may start with.
const LEGACY_QT_FIRST_BOXES: &[&[u8; 4]] = &[b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"];

const CONVERT_HINT: &str = "Export or convert it to MP4 (H.264), for example \
                            `ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4`.";

pub(crate) fn detect<R: Read + Seek>(src: &mut Source<'_, R>) -> Result<Kind, ProbeError> {
    // Enough for an `ftyp` with its brands and two MPEG-TS sync bytes 188 apart.
    let mut head = [0u8; 256];
    let n = src.read_at(0, &mut head)?;
    let head = &head[..n];

    if head.get(4..8) == Some(b"ftyp") {
        let brand: [u8; 4] = match head.get(8..12).and_then(|b| b.try_into().ok()) {
            Some(brand) => brand,
            None => return Err(ProbeError::truncated("its `ftyp` box is cut off")),
        };
        if IMAGE_BRANDS.contains(&&brand) || image_only_brands(head) {
            return Err(ProbeError::NotVideo {
                looks_like: format!("a HEIF/AVIF still image (brand `{}`)", printable(&brand)),
                hint: "Give keryx the video file, not a photo.".into(),
            });
        }
        if &brand == b"M4A " || &brand == b"M4B " || &brand == b"F4A " {
            return Err(ProbeError::NotVideo {
                looks_like: format!("an audio-only MP4 (brand `{}`)", printable(&brand)),
                hint: "Give keryx a file with a video track.".into(),
            });
        }
        let container = if &brand == b"qt  " {
            Container::QuickTime
        } else {
            Container::Mp4
        };
        return Ok(Kind::IsoBmff(container));
    }
    if let (Some(size), Some(kind)) = (be_u32(head, 0), head.get(4..8)) {
        let plausible = size == 0 || size == 1 || (size >= 8 && u64::from(size) <= src.len());
        if plausible && LEGACY_QT_FIRST_BOXES.iter().any(|b| b.as_slice() == kind) {
            // An early QuickTime file has no `ftyp`; the box walk still has to find a `moov`
            // with a video track, so a stray `free` box in some other file gets a precise error.
            return Ok(Kind::IsoBmff(Container::QuickTime));
        }
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Ok(Kind::Ebml);
    }
    Err(ProbeError::NotVideo {
        looks_like: describe(head),
        hint: hint_for(head).into(),
    })
}

/// An `ftyp` whose compatible brands are all image brands (e.g. a `mif1` file with a
/// non-standard major brand).
fn image_only_brands(head: &[u8]) -> bool {
    let size = be_u32(head, 0).unwrap_or(0) as usize;
    let end = size.min(head.len());
    if end < 20 {
        return false;
    }
    let compatible: Vec<&[u8]> = head[16..end].chunks_exact(4).collect();
    !compatible.is_empty()
        && compatible
            .iter()
            .all(|b| IMAGE_BRANDS.iter().any(|img| img.as_slice() == *b))
}

fn hint_for(head: &[u8]) -> &'static str {
    if head.starts_with(b"RIFF") || head.starts_with(b"FLV") || looks_like_mpeg_ts(head) {
        CONVERT_HINT
    } else {
        "Check that this is the video you meant to post. If it is a video in another format, \
         convert it to MP4, for example `ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4`."
    }
}

fn looks_like_mpeg_ts(head: &[u8]) -> bool {
    head.first() == Some(&0x47) && head.get(188) == Some(&0x47)
}

/// A few words on what the first bytes look like, for the "not a video" message.
pub(crate) fn describe(head: &[u8]) -> String {
    let known: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"ID3", "an MP3 audio file"),
        (b"OggS", "an Ogg file"),
        (b"fLaC", "a FLAC audio file"),
        (b"FLV", "a Flash (FLV) video"),
        (b"\x7FELF", "a program (ELF)"),
        (b"MZ", "a Windows program"),
        (b"\x00\x00\x01\xBA", "an MPEG program stream (.mpg)"),
    ];
    for (magic, what) in known {
        if head.starts_with(magic) {
            return (*what).to_string();
        }
    }
    if head.starts_with(b"RIFF") {
        return match head.get(8..12) {
            Some(b"AVI ") => "an AVI video".into(),
            Some(b"WAVE") => "a WAV audio file".into(),
            Some(b"WEBP") => "a WebP image".into(),
            _ => "a RIFF file".into(),
        };
    }
    if looks_like_mpeg_ts(head) {
        return "an MPEG transport stream (.ts)".into();
    }
    // The 256 bytes read may end inside a multi-byte character: keep the valid prefix.
    let text = match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(&head[..err.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    if let Some(text) = text
        && !text.is_empty()
        && text.chars().all(|c| !c.is_control() || c.is_whitespace())
    {
        let snippet: String = text.chars().take(24).collect();
        return format!("text: {:?}", snippet.trim_end());
    }
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("bytes {}", hex.join(" "))
}

/// A four-character code for messages; unprintable bytes become `?`.
pub(crate) fn printable(code: &[u8]) -> String {
    code.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}
