//! The strict youtube emulator (being written).
