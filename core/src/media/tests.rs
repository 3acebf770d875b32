//! Unit tests of the parsers on in-memory bytes (files on disk are tested in core/tests/):
//! hostile headers must give an error or "unknown", never a panic or a large allocation.

use std::io::Cursor;

use proptest::prelude::*;

use super::{Container, Probe, ProbeError, probe_source};

const MP4: &[u8] = include_bytes!("../../tests/fixtures/landscape.mp4");
const MP4_FASTSTART: &[u8] = include_bytes!("../../tests/fixtures/landscape_faststart.mp4");
const MOV: &[u8] = include_bytes!("../../tests/fixtures/landscape.mov");
const WEBM: &[u8] = include_bytes!("../../tests/fixtures/landscape.webm");
const LIVE_WEBM: &[u8] = include_bytes!("../../tests/fixtures/live.webm");
const FRAGMENTED: &[u8] = include_bytes!("../../tests/fixtures/fragmented.mp4");

fn probe(bytes: &[u8]) -> Result<(Container, Probe), ProbeError> {
    probe_source(&mut Cursor::new(bytes), bytes.len() as u64)
}

fn corrupt_message(bytes: &[u8]) -> String {
    match probe(bytes) {
        Err(ProbeError::Corrupt { what, .. }) => what,
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

fn ftyp() -> Vec<u8> {
    mp4_box(b"ftyp", b"isom\0\0\x02\0isommp41")
}

#[test]
fn fixtures_parse_from_memory() {
    for (bytes, container) in [
        (MP4, Container::Mp4),
        (MP4_FASTSTART, Container::Mp4),
        (FRAGMENTED, Container::Mp4),
        (MOV, Container::QuickTime),
        (WEBM, Container::WebM),
        (LIVE_WEBM, Container::WebM),
    ] {
        let (found, probe) = probe(bytes).unwrap();
        assert_eq!(found, container);
        assert_eq!((probe.width, probe.height), (Some(64), Some(48)));
    }
}

#[test]
fn huge_largesize_is_truncation_not_allocation() {
    let mut bytes = ftyp();
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(b"moov");
    bytes.extend_from_slice(&u64::MAX.to_be_bytes());
    let what = corrupt_message(&bytes);
    assert!(what.contains("`moov` box at byte"), "{what}");
}

#[test]
fn impossible_box_sizes() {
    // A size smaller than the header itself.
    let mut bytes = ftyp();
    bytes.extend_from_slice(&4u32.to_be_bytes());
    bytes.extend_from_slice(b"moov");
    assert!(corrupt_message(&bytes).contains("impossible size of 4 bytes"));

    // A 64-bit size smaller than the 16-byte header.
    let mut bytes = ftyp();
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(b"moov");
    bytes.extend_from_slice(&15u64.to_be_bytes());
    assert!(corrupt_message(&bytes).contains("impossible size of 15 bytes"));
}

#[test]
fn child_box_overrunning_its_parent() {
    let mut trak = mp4_box(b"tkhd", &[0; 84]);
    trak[0..4].copy_from_slice(&500u32.to_be_bytes());
    let mut bytes = ftyp();
    bytes.extend(mp4_box(b"moov", &mp4_box(b"trak", &trak)));
    let what = corrupt_message(&bytes);
    assert!(what.contains("`tkhd`") && what.contains("`trak`"), "{what}");
}

#[test]
fn thousands_of_tiny_boxes_in_moov_are_cut_short() {
    let tiny: Vec<u8> = (0..30_000).flat_map(|_| mp4_box(b"free", &[])).collect();
    let mut bytes = ftyp();
    bytes.extend(mp4_box(b"moov", &tiny));
    assert!(corrupt_message(&bytes).contains("more than 20000 boxes"));
}

#[test]
fn top_level_walk_is_bounded() {
    let mut bytes = ftyp();
    for _ in 0..200_001 {
        bytes.extend(mp4_box(b"free", &[]));
    }
    assert!(corrupt_message(&bytes).contains("no `moov` box among its first 200000 boxes"));
}

#[test]
fn many_fragments_after_moov_are_not_all_walked() {
    // A fragmented recording with a fragment per frame: once `moov` is found, the truncation
    // check stops after 10000 boxes, so a damaged box far beyond goes unnoticed (by design).
    let moov_at = MP4_FASTSTART.windows(4).position(|w| w == b"moov").unwrap() - 4;
    let moov_len = u32::from_be_bytes(MP4_FASTSTART[moov_at..moov_at + 4].try_into().unwrap());
    let mut bytes = MP4_FASTSTART[..moov_at + moov_len as usize].to_vec();
    for _ in 0..10_000 {
        bytes.extend(mp4_box(b"free", &[]));
    }
    bytes.extend_from_slice(&1000u32.to_be_bytes());
    bytes.extend_from_slice(b"mdat");
    let (_, probe) = probe(&bytes).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(probe.width, Some(64));
    // Ten boxes fewer, under the limit: the same cut-off box is caught.
    let end_of_moov = moov_at + moov_len as usize;
    bytes.drain(end_of_moov..end_of_moov + 80);
    assert!(corrupt_message(&bytes).contains("`mdat` box at byte"));
}

#[test]
fn short_boxes_give_unknown_fields_not_panics() {
    // Every box keryx reads, present but empty.
    let stbl = [mp4_box(b"stsd", &[]), mp4_box(b"stsz", &[])].concat();
    let minf = mp4_box(b"stbl", &stbl);
    let mdia = [
        mp4_box(b"mdhd", &[]),
        mp4_box(b"hdlr", b"\0\0\0\0\0\0\0\0vide"),
        mp4_box(b"minf", &minf),
    ]
    .concat();
    let trak = [mp4_box(b"tkhd", &[]), mp4_box(b"mdia", &mdia)].concat();
    let moov = [mp4_box(b"mvhd", &[1]), mp4_box(b"trak", &trak)].concat();
    let mut bytes = ftyp();
    bytes.extend(mp4_box(b"moov", &moov));
    let (_, probe) = probe(&bytes).unwrap();
    // An MP4 without `elst` is known to have no edit list; nothing else is known.
    let nothing = Probe {
        edit_list: Some(false),
        ..Probe::default()
    };
    assert_eq!(probe, nothing);
}

/// `MP4_FASTSTART` with its one `elst` entry (version 0: segment duration in the movie's
/// 1000 Hz, media time in the track's 10240 Hz, rate 16.16) replaced, and `count` entries
/// declared.
fn with_edit(count: u32, segment: u32, media_time: i32, rate: u32) -> Vec<u8> {
    let mut bytes = MP4_FASTSTART.to_vec();
    let at = bytes.windows(4).position(|w| w == b"elst").unwrap() + 4;
    bytes[at + 4..at + 8].copy_from_slice(&count.to_be_bytes());
    bytes[at + 8..at + 12].copy_from_slice(&segment.to_be_bytes());
    bytes[at + 12..at + 16].copy_from_slice(&media_time.to_be_bytes());
    bytes[at + 16..at + 20].copy_from_slice(&rate.to_be_bytes());
    bytes
}

fn edit_list(bytes: &[u8]) -> Option<bool> {
    probe(bytes).unwrap_or_else(|e| panic!("{e:?}")).1.edit_list
}

#[test]
fn edit_lists_that_change_what_plays_are_reported() {
    // ffmpeg's x264 fixtures hide two frames of B-frame delay with a shift: (1000, 2048).
    assert_eq!(edit_list(MP4), Some(true));
    assert_eq!(edit_list(MOV), Some(true));
    assert_eq!(edit_list(&with_edit(1, 1000, 2048, 0x1_0000)), Some(true));
    // A single edit over the whole second from media time 0 at normal speed changes nothing
    // (what ffmpeg writes without B-frames), nor does one of "unknown" length.
    assert_eq!(edit_list(&with_edit(1, 1000, 0, 0x1_0000)), Some(false));
    assert_eq!(edit_list(&with_edit(1, 0, 0, 0x1_0000)), Some(false));
    // A millisecond off is rounding: 1 s is 10240 ticks of the track, not a whole ms count.
    assert_eq!(edit_list(&with_edit(1, 1001, 0, 0x1_0000)), Some(false));
    // A trim, an empty edit (a pause), a frozen or doubled rate.
    assert_eq!(edit_list(&with_edit(1, 500, 0, 0x1_0000)), Some(true));
    assert_eq!(edit_list(&with_edit(1, 1000, -1, 0x1_0000)), Some(true));
    assert_eq!(edit_list(&with_edit(1, 1000, 0, 0)), Some(true));
    assert_eq!(edit_list(&with_edit(1, 1000, 0, 0x2_0000)), Some(true));
    // An empty `elst` is no edit list; one too long to read is reported.
    assert_eq!(edit_list(&with_edit(0, 1000, 0, 0x1_0000)), Some(false));
    assert_eq!(edit_list(&with_edit(65, 1000, 0, 0x1_0000)), Some(true));
    // No `elst` at all, and WebM, which has none.
    assert_eq!(edit_list(FRAGMENTED), Some(false));
    assert_eq!(edit_list(WEBM), None);
}

/// The fixture's `moov`, then one fragment whose `trun` is `trun_payload`.
fn fragmented_with_trun(trun_payload: &[u8]) -> Vec<u8> {
    let moof_at = FRAGMENTED.windows(4).position(|w| w == b"moof").unwrap() - 4;
    let mut bytes = FRAGMENTED[..moof_at].to_vec();
    // tfhd: flags 0x08 (default duration), track 1, default duration 512.
    let tfhd = mp4_box(b"tfhd", &[0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 2, 0]);
    let traf = mp4_box(b"traf", &[tfhd, mp4_box(b"trun", trun_payload)].concat());
    bytes.extend(mp4_box(b"moof", &traf));
    bytes
}

#[test]
fn a_trun_of_billions_of_default_samples_is_not_visited_one_by_one() {
    // No per-sample fields: 4 billion samples of the default duration, added up at once.
    let (_, probe) = probe(&fragmented_with_trun(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let expected = u64::from(u32::MAX) * 512 / 10240;
    let got = probe.duration.unwrap().as_secs();
    assert!(got.abs_diff(expected) <= 1, "{got} vs {expected}");
}

#[test]
fn a_trun_listing_more_samples_than_it_holds_is_corrupt() {
    // Flag 0x100 (per-sample durations), a million samples, room for one.
    let what = corrupt_message(&fragmented_with_trun(&[
        0, 0, 1, 0, 0, 0x0F, 0x42, 0x40, 0, 0, 2, 0,
    ]));
    assert!(what.contains("`moof` box at byte"), "{what}");
    assert!(what.contains("1000000 samples"), "{what}");
}

#[test]
fn legacy_quicktime_without_ftyp() {
    // Old QuickTime files start straight with `moov` or `wide`/`mdat`.
    let moov_at = MOV.windows(4).position(|w| w == b"moov").unwrap() - 4;
    let wide_at = MOV.windows(4).position(|w| w == b"wide").unwrap() - 4;
    let (container, probe) = probe(&MOV[wide_at..]).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(container, Container::QuickTime);
    assert_eq!(probe.width, Some(64));
    assert!(moov_at > wide_at);
}

#[test]
fn webm_with_unknown_size_info_and_tracks() {
    // Rewrite the Info and Tracks sizes of the live recording as "unknown" (0x01FF...FF, the
    // same 8 bytes ffmpeg reserved): the walk must find their ends from the next element.
    let mut bytes = LIVE_WEBM.to_vec();
    for (at, id) in [
        (209, [0x15u8, 0x49, 0xA9, 0x66]),
        (253, [0x16, 0x54, 0xAE, 0x6B]),
    ] {
        assert_eq!(bytes[at..at + 4], id);
        let size_len = (bytes[at + 4].leading_zeros() + 1) as usize;
        // All value bits set, marker kept: 0xFF for one byte, 0x01 0xFF.. for eight.
        bytes[at + 4] = 0xFF >> (size_len - 1);
        for b in &mut bytes[at + 5..at + 4 + size_len] {
            *b = 0xFF;
        }
    }
    let (_, probe) = probe(&bytes).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((probe.width, probe.height), (Some(64), Some(48)));
}

#[test]
fn webm_doctype_of_absurd_length_is_refused() {
    // EBML header whose DocType claims 2^40 bytes.
    let bytes = [
        0x1A, 0x45, 0xDF, 0xA3, 0x8A, 0x42, 0x82, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let what = corrupt_message(&bytes);
    assert!(
        what.contains("runs past the end of the EBML header"),
        "{what}"
    );
}

#[test]
fn overlong_doctype_is_ignored_not_read() {
    // A 300-byte DocType fits in the file but is longer than any real one.
    let mut bytes = vec![0x1A, 0x45, 0xDF, 0xA3, 0x41, 0x30, 0x42, 0x82, 0x41, 0x2C];
    bytes.extend([b'x'; 300]);
    match probe(&bytes) {
        Err(ProbeError::NotVideo { looks_like, .. }) => {
            assert!(looks_like.contains("(none given)"), "{looks_like}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ebml_with_other_doctype_is_not_video() {
    let bytes = [
        0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84, b'a', b'b', b'c', b'd',
    ];
    match probe(&bytes) {
        Err(ProbeError::NotVideo { looks_like, .. }) => {
            assert!(looks_like.contains("\"abcd\""), "{looks_like}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn vint_decoding() {
    use super::webm::vint;
    assert_eq!(vint(&[0x81], false), Some((1, 1, false)));
    assert_eq!(vint(&[0xFF], false), Some((127, 1, true)));
    assert_eq!(vint(&[0x40, 0x02], false), Some((2, 2, false)));
    assert_eq!(
        vint(&[0x1A, 0x45, 0xDF, 0xA3], true),
        Some((0x1A45_DFA3, 4, false))
    );
    assert_eq!(
        vint(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], false).map(|v| v.2),
        Some(true)
    );
    assert_eq!(vint(&[0x00, 0x01], false), None);
    assert_eq!(vint(&[0x40], false), None);
    assert_eq!(vint(&[], false), None);
}

/// Flips and truncations of a real file.
fn mutations(len: usize) -> impl Strategy<Value = (Vec<(usize, u8)>, usize)> {
    (
        proptest::collection::vec((0..len, any::<u8>()), 1..8),
        0..=len,
    )
}

fn mutate(original: &[u8], flips: &[(usize, u8)], keep: usize) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for &(at, value) in flips {
        bytes[at] = value;
    }
    bytes.truncate(keep.max(1));
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = probe(&bytes);
    }

    #[test]
    fn random_boxes_after_ftyp_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = ftyp();
        bytes.extend(tail);
        let _ = probe(&bytes);
    }

    #[test]
    fn random_elements_after_ebml_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let mut bytes = WEBM[..36].to_vec();
        bytes.extend(tail);
        let _ = probe(&bytes);
    }

    #[test]
    fn damaged_mp4_never_panics((flips, keep) in mutations(MP4.len())) {
        let _ = probe(&mutate(MP4, &flips, keep));
    }

    #[test]
    fn damaged_faststart_mp4_never_panics((flips, keep) in mutations(MP4_FASTSTART.len())) {
        let _ = probe(&mutate(MP4_FASTSTART, &flips, keep));
    }

    #[test]
    fn damaged_fragmented_mp4_never_panics((flips, keep) in mutations(FRAGMENTED.len())) {
        let _ = probe(&mutate(FRAGMENTED, &flips, keep));
    }

    #[test]
    fn damaged_mov_never_panics((flips, keep) in mutations(MOV.len())) {
        let _ = probe(&mutate(MOV, &flips, keep));
    }

    #[test]
    fn damaged_webm_never_panics((flips, keep) in mutations(WEBM.len())) {
        let _ = probe(&mutate(WEBM, &flips, keep));
    }

    #[test]
    fn damaged_live_webm_never_panics((flips, keep) in mutations(LIVE_WEBM.len())) {
        let _ = probe(&mutate(LIVE_WEBM, &flips, keep));
    }
}
