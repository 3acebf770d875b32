//! The strict tiktok emulator (being written).
