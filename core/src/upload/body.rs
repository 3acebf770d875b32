//! Streaming a byte range of a file on disk as a request body (see [`file_range_body`]).

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use crate::error::{Error, Result};

/// Largest block read from disk and handed to the connection at once.
pub const BLOCK_SIZE: usize = 256 * 1024;

/// Called with the number of bytes each time a block is handed to the HTTP connection.
pub type OnBytes = Arc<dyn Fn(u64) + Send + Sync>;

/// A body streaming `len` bytes of `file_path` starting at `offset`.
///
/// Checks now that the file holds the whole range (an [`Error::input`] if not), then reads it
/// lazily while the request is sent. `on_bytes` is called with each block's size as it is
/// handed to the connection to be written, so the sum reaches `len` only when the whole
/// range has gone out; what the server actually stored is for its reply to say.
///
/// The body cannot be replayed: a retry needs a new body. Must be sent from within a Tokio
/// runtime (the reads run on its blocking pool).
pub fn file_range_body(
    file_path: &Path,
    offset: u64,
    len: u64,
    on_bytes: Option<OnBytes>,
) -> Result<reqwest::Body> {
    let shown = file_path.display();
    let mut file = File::open(file_path).map_err(|err| {
        Error::input(format!("cannot open {shown} to upload it"))
            .with_hint("Check that the file is still there and readable.")
            .with_source(err)
    })?;
    let size = file
        .metadata()
        .map_err(|err| Error::input(format!("cannot read {shown}")).with_source(err))?
        .len();
    let end = offset.checked_add(len).ok_or_else(|| {
        Error::input(format!(
            "byte range {offset}+{len} of {shown} is past any file size"
        ))
    })?;
    if size < end {
        return Err(changed_error(file_path, size, end));
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|err| Error::input(format!("cannot seek in {shown}")).with_source(err))?;
    let reader = tokio::fs::File::from_std(file).take(len);
    Ok(reqwest::Body::wrap(FileRangeBody {
        stream: ReaderStream::with_capacity(reader, BLOCK_SIZE),
        remaining: len,
        expected_end: end,
        path: file_path.to_path_buf(),
        on_bytes,
    }))
}

fn changed_error(path: &Path, size: u64, needed: u64) -> Error {
    Error::input(format!(
        "{} changed during the upload: it is now {size} bytes, but keryx needs {needed}",
        path.display()
    ))
    .with_hint(
        "Do not edit, move or replace the video while keryx uploads it; run the command again \
         once the file is final.",
    )
}

/// The range as an [`http_body::Body`] of exact size, read block by block.
struct FileRangeBody {
    stream: ReaderStream<tokio::io::Take<tokio::fs::File>>,
    remaining: u64,
    expected_end: u64,
    path: PathBuf,
    on_bytes: Option<OnBytes>,
}

impl http_body::Body for FileRangeBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.stream).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(block))) => {
                // `take(len)` never yields more than what remains.
                let n = block.len() as u64;
                self.remaining = self.remaining.saturating_sub(n);
                if let Some(on_bytes) = &self.on_bytes {
                    on_bytes(n);
                }
                Poll::Ready(Some(Ok(Frame::data(block))))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(Error::input(format!(
                "cannot read {} while uploading it",
                self.path.display()
            ))
            .with_hint("Check that the file and its disk are still there.")
            .with_source(err)))),
            // The file ended before the range did: it was truncated or replaced since.
            Poll::Ready(None) => {
                let size = std::fs::metadata(&self.path)
                    .map(|m| m.len())
                    .unwrap_or(self.expected_end - self.remaining);
                self.remaining = 0;
                Poll::Ready(Some(Err(changed_error(
                    &self.path,
                    size,
                    self.expected_end,
                ))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
