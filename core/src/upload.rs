//! Streaming request bodies from a file range. (Stub.)
