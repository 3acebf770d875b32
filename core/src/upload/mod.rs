//! Uploads: the range-upload engine every platform's upload goes through, and the streaming
//! body it sends.
//!
//! - [`engine`]: [`engine::upload`] drives a platform's [`engine::RangeProtocol`] (how to send
//!   one range, how to ask what the server holds, how to read its replies) from the first byte
//!   to the server's final answer: it streams each range from disk, shows progress, treats a
//!   connection that moves no byte for 60 s as dropped, retries under the one policy of
//!   [`crate::http`], and resumes from what the server says it holds, never from what keryx
//!   thinks it sent.
//! - [`body`]: [`file_range_body`], `len` bytes of a file at `offset` as a request body of exact
//!   length, read 256 KiB at a time, so memory stays flat whatever the file size.
//!
//! If the file turns out shorter than the range while it is being sent (edited, replaced or
//! truncated mid-upload), the body fails with an [`crate::Error::input`] that reqwest returns
//! as the cause of its error; [`crate::http::local_cause`] gets it back and the engine does
//! not retry it.

pub mod body;
pub mod engine;

pub use body::{BLOCK_SIZE, OnBytes, file_range_body};
pub use engine::{Begin, Limits, RangeProtocol, RangeReply, upload, upload_with};
