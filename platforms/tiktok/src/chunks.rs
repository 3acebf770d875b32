//! How a file is cut into upload chunks (reference §6.1).
//!
//! TikTok counts chunks with floor(size / chunk_size) and lets the last chunk take the rest, and
//! never says whether "MB" means 10^6 or 2^20 bytes. The plan below stays inside both readings:
//! non-final chunks between 5 MiB and 64,000,000 bytes, the last at most 128,000,000 bytes, one
//! chunk only up to 64,000,000 bytes.

use keryx_core::{Error, Result};

/// The largest non-final chunk under either reading of "64 MB".
pub const MAX_CHUNK: u64 = 64_000_000;
/// The largest video, under the stricter reading of "4 GB".
pub const MAX_VIDEO: u64 = 4_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    pub video_size: u64,
    pub chunk_size: u64,
    pub count: u64,
}

impl ChunkPlan {
    pub fn for_size(video_size: u64) -> Result<ChunkPlan> {
        if video_size == 0 {
            return Err(Error::input("the video is empty"));
        }
        if video_size > MAX_VIDEO {
            return Err(Error::input(format!(
                "the video is {video_size} bytes; TikTok takes at most 4 GB ({MAX_VIDEO} bytes)"
            ))
            .with_hint("export a smaller file (lower bitrate or shorter)"));
        }
        let chunk_size = if video_size <= MAX_CHUNK {
            video_size
        } else {
            MAX_CHUNK.min(video_size / 2)
        };
        Ok(ChunkPlan {
            video_size,
            chunk_size,
            count: video_size / chunk_size,
        })
    }

    /// Byte range `(offset, length)` of chunk `index` (0-based); the last takes the remainder.
    pub fn chunk(&self, index: u64) -> (u64, u64) {
        let offset = index * self.chunk_size;
        let length = if index + 1 == self.count {
            self.video_size - offset
        } else {
            self.chunk_size
        };
        (offset, length)
    }

    /// The chunk that starts at `offset`, if any: where to resume after the server reports progress.
    pub fn chunk_starting_at(&self, offset: u64) -> Option<u64> {
        (offset.is_multiple_of(self.chunk_size) && offset / self.chunk_size < self.count)
            .then(|| offset / self.chunk_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The smallest non-final chunk under either reading of "5 MB".
    const MIN_CHUNK: u64 = 5 * 1024 * 1024;
    /// The largest final chunk under either reading of "128 MB".
    const MAX_FINAL_CHUNK: u64 = 128_000_000;
    const MAX_CHUNKS: u64 = 1000;

    fn obeys_the_rules(plan: &ChunkPlan) {
        let s = plan.video_size;
        assert_eq!(
            plan.count,
            s / plan.chunk_size,
            "count is floor(size / chunk)"
        );
        assert!((1..=MAX_CHUNKS).contains(&plan.count));
        if s < MIN_CHUNK {
            assert_eq!((plan.count, plan.chunk_size), (1, s));
        }
        if s > MAX_CHUNK {
            assert!(plan.count >= 2, "videos over 64 MB need several chunks");
        }
        if plan.count > 1 {
            assert!((MIN_CHUNK..=MAX_CHUNK).contains(&plan.chunk_size));
        }
        let (last_offset, last_len) = plan.chunk(plan.count - 1);
        assert!(last_len <= MAX_FINAL_CHUNK);
        assert_eq!(last_offset + last_len, s, "chunks cover the file");
    }

    #[test]
    fn reference_examples() {
        let plan = ChunkPlan::for_size(4_194_304).unwrap();
        assert_eq!((plan.chunk_size, plan.count), (4_194_304, 1));
        let plan = ChunkPlan::for_size(602_285_541).unwrap();
        assert_eq!((plan.chunk_size, plan.count), (64_000_000, 9));
        assert_eq!(plan.chunk(8), (512_000_000, 90_285_541));
        let plan = ChunkPlan::for_size(70_000_000).unwrap();
        assert_eq!((plan.chunk_size, plan.count), (35_000_000, 2));
        assert!(ChunkPlan::for_size(0).is_err());
        assert!(ChunkPlan::for_size(MAX_VIDEO + 1).is_err());
        obeys_the_rules(&ChunkPlan::for_size(MAX_VIDEO).unwrap());
    }

    #[test]
    fn resume_points() {
        let plan = ChunkPlan::for_size(602_285_541).unwrap();
        assert_eq!(plan.chunk_starting_at(128_000_000), Some(2));
        assert_eq!(plan.chunk_starting_at(128_000_001), None);
        assert_eq!(plan.chunk_starting_at(0), Some(0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn every_plan_obeys_section_6_1(size in 1u64..=MAX_VIDEO) {
            obeys_the_rules(&ChunkPlan::for_size(size).unwrap());
        }

        #[test]
        fn plans_near_the_boundaries(size in prop_oneof![
            (MIN_CHUNK - 2)..(MIN_CHUNK + 2),
            (MAX_CHUNK - 2)..(MAX_CHUNK + 2),
            (2 * MAX_CHUNK - 2)..(2 * MAX_CHUNK + 2),
            (MAX_VIDEO - 100)..=MAX_VIDEO,
        ]) {
            obeys_the_rules(&ChunkPlan::for_size(size).unwrap());
        }
    }
}
