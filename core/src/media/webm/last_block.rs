//! The length of a WebM that states no Duration (browsers' MediaRecorder, OBS, ffmpeg writing
//! to a pipe): the end of its last block minus the start of its first Cluster.
//!
//! Such a file usually has no Cues either, and Clusters of unknown size that cannot be
//! skipped, so walking from the front would mean reading every block header. Instead the last
//! Cluster is found by searching the file's tail backwards for the Cluster id, taking a
//! candidate only if its Timecode and every element after it parse to the end of the file;
//! then only that Cluster's block headers (a few hundred) are read.

use std::io::{Read, Seek};

use super::{CLUSTER, El, SEGMENT, Walker};
use crate::media::ProbeError;

const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const BLOCK_DURATION: u32 = 0x9B;

/// How much of the tail is searched for the last Cluster. A Cluster holds a few seconds (at
/// most 32 s: block timestamps are 16-bit milliseconds), so at 8 Mbit/s this covers it.
const MAX_TAIL_SCAN: u64 = 64 << 20;

/// Bytes read per step of the backward search.
const SCAN_CHUNK: usize = 64 << 10;

/// Elements walked before the first Cluster when looking for it.
const MAX_ELEMENTS_BEFORE_CLUSTER: u32 = 64;

const CLUSTER_ID: [u8; 4] = CLUSTER.to_be_bytes();

/// Timestamps (in TimestampScale units) of one Cluster's blocks.
struct Blocks {
    /// The latest block end.
    end: Option<i64>,
    /// Per track number, the start of its last block, to estimate a duration the block
    /// does not state.
    last_start: Vec<(u64, i64)>,
}

impl<R: Read + Seek> Walker<'_, '_, R> {
    /// The first Cluster at or after `pos`, stepping over known-size elements.
    pub(super) fn find_cluster(
        &mut self,
        mut pos: u64,
        end: u64,
    ) -> Result<Option<u64>, ProbeError> {
        for _ in 0..MAX_ELEMENTS_BEFORE_CLUSTER {
            if end.saturating_sub(pos) < 2 {
                return Ok(None);
            }
            let Ok(el) = self.element(pos, end, Some(SEGMENT)) else {
                return Ok(None);
            };
            if el.id == CLUSTER {
                return Ok(Some(pos));
            }
            if el.unknown_size {
                return Ok(None);
            }
            pos = el.end;
        }
        Ok(None)
    }

    /// The presentation length: from the first Cluster's Timecode to the end of the last
    /// block. `defaults` are the tracks' DefaultDuration (ns) by track number; `scale` is
    /// TimestampScale (ns).
    pub(super) fn last_block_end(
        &mut self,
        first_cluster: u64,
        segment: &El,
        scale: u64,
        defaults: &[(u64, u64)],
    ) -> Result<Option<std::time::Duration>, ProbeError> {
        let Some(start) = self.cluster_timecode(first_cluster, segment.end)? else {
            return Ok(None);
        };
        let len = segment.end;
        let floor = first_cluster.max(len.saturating_sub(MAX_TAIL_SCAN));
        let mut window_end = len;
        let mut buf = vec![0u8; SCAN_CHUNK + 3];
        while window_end > floor {
            let from = window_end.saturating_sub(SCAN_CHUNK as u64).max(floor);
            // Three bytes of overlap so that an id across two windows is found.
            let want = usize::try_from(window_end - from).unwrap_or(0) + 3;
            let want = want.min(buf.len());
            let n = self.src.read_at(from, &mut buf[..want])?;
            let window = &buf[..n];
            for at in (0..window.len().saturating_sub(3)).rev() {
                if window[at..at + 4] != CLUSTER_ID {
                    continue;
                }
                let pos = from + at as u64;
                if let Some(end) = self.blocks_to_end(pos, len, scale, defaults)? {
                    let ticks = i128::from(end) - i128::from(start);
                    let ns = ticks * i128::from(scale);
                    return Ok(u64::try_from(ns)
                        .ok()
                        .filter(|&ns| ns > 0)
                        .map(std::time::Duration::from_nanos));
                }
            }
            window_end = from;
        }
        Ok(None)
    }

    /// The Timecode of the Cluster at `pos` (its first child, where muxers put it).
    fn cluster_timecode(&mut self, pos: u64, end: u64) -> Result<Option<i64>, ProbeError> {
        let Ok(cluster) = self.element(pos, end, Some(SEGMENT)) else {
            return Ok(None);
        };
        if cluster.id != CLUSTER || cluster.end.saturating_sub(cluster.body) < 2 {
            return Ok(None);
        }
        let Ok(first) = self.element(cluster.body, cluster.end, Some(CLUSTER)) else {
            return Ok(None);
        };
        if first.id != TIMECODE {
            return Ok(None);
        }
        Ok(self.uint(&first)?.and_then(|t| i64::try_from(t).ok()))
    }

    /// If a Cluster starts at `pos` and it and everything after it parse to the end of the
    /// file: the latest block end in them. `None` for a false match (the id's bytes inside
    /// media data) or a Cluster without blocks.
    fn blocks_to_end(
        &mut self,
        mut pos: u64,
        len: u64,
        scale: u64,
        defaults: &[(u64, u64)],
    ) -> Result<Option<i64>, ProbeError> {
        let mut blocks = Blocks {
            end: None,
            last_start: Vec::new(),
        };
        let mut clusters = 0;
        while len.saturating_sub(pos) >= 2 {
            let el = match self.element(pos, len, Some(SEGMENT)) {
                Ok(el) => el,
                Err(ProbeError::Io(err)) => return Err(ProbeError::Io(err)),
                Err(_) => return Ok(None),
            };
            if el.id != CLUSTER {
                // Cues, Tags and the like after the media: the candidate held up.
                if clusters == 0 {
                    return Ok(None);
                }
                if el.unknown_size {
                    break;
                }
                pos = el.end;
                continue;
            }
            clusters += 1;
            let (children, stop) = match self.children(&el) {
                Ok(found) => found,
                Err(ProbeError::Io(err)) => return Err(ProbeError::Io(err)),
                Err(_) => return Ok(None),
            };
            let Some(timecode) = children.first().filter(|c| c.id == TIMECODE) else {
                return Ok(None);
            };
            let Some(timecode) = self.uint(timecode)?.and_then(|t| i64::try_from(t).ok()) else {
                return Ok(None);
            };
            for child in &children[1..] {
                match child.id {
                    SIMPLE_BLOCK => {
                        self.block(child, timecode, None, scale, defaults, &mut blocks)?
                    }
                    BLOCK_GROUP => {
                        let Ok((parts, _)) = self.children(child) else {
                            return Ok(None);
                        };
                        let mut duration = None;
                        for part in parts.iter().filter(|p| p.id == BLOCK_DURATION) {
                            duration = self.uint(part)?.and_then(|d| i64::try_from(d).ok());
                        }
                        if let Some(block) = parts.iter().find(|p| p.id == BLOCK) {
                            self.block(block, timecode, duration, scale, defaults, &mut blocks)?;
                        }
                    }
                    _ => {}
                }
            }
            pos = if el.unknown_size { stop } else { el.end };
        }
        Ok(blocks.end)
    }

    /// One (Simple)Block: track number, then its timestamp relative to the Cluster's.
    fn block(
        &mut self,
        el: &El,
        timecode: i64,
        duration: Option<i64>,
        scale: u64,
        defaults: &[(u64, u64)],
        blocks: &mut Blocks,
    ) -> Result<(), ProbeError> {
        let mut head = [0u8; 10];
        let room = usize::try_from(el.end - el.body).unwrap_or(usize::MAX);
        let n = self.src.read_at(el.body, &mut head[..room.min(10)])?;
        let head = &head[..n];
        let Some((track, used, _)) = super::vint(head, false) else {
            return Ok(());
        };
        let Some(relative) = head.get(used..used + 2) else {
            return Ok(());
        };
        let start =
            timecode.saturating_add(i64::from(i16::from_be_bytes([relative[0], relative[1]])));
        let stated = duration.or_else(|| {
            let (_, ns) = defaults.iter().find(|(number, _)| *number == track)?;
            i64::try_from(ns / scale.max(1)).ok()
        });
        let previous = blocks
            .last_start
            .iter_mut()
            .find(|(number, _)| *number == track);
        let estimated = previous
            .as_ref()
            .map(|(_, at)| start.saturating_sub(*at).max(0));
        match previous {
            Some(slot) => slot.1 = start,
            None => blocks.last_start.push((track, start)),
        }
        let end = start.saturating_add(stated.or(estimated).unwrap_or(0));
        blocks.end = Some(blocks.end.map_or(end, |e| e.max(end)));
        Ok(())
    }
}
