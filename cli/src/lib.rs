//! The keryx command line. (Being written.)
