//! The bytes to `rupload.facebook.com` (reference §2.2, §5.3) as a core range protocol:
//! `Authorization: OAuth`, `offset`, `file_size`; a dropped connection resumes from the
//! container's `video_status.uploading_phase.bytes_transferred` (either spelling); a
//! `ProcessingFailedError` means a dead container, replaced by one new container.

use std::sync::Mutex;

use async_trait::async_trait;
use serde::Deserialize;

use keryx_core::http::is_transient_status;
use keryx_core::session::Session;
use keryx_core::upload::engine::transport_failure;
use keryx_core::upload::{RangeProtocol, RangeReply};
use keryx_core::{Error, Result};

use crate::graph::{GraphApi, GraphError};
use crate::publish::Upload;

#[derive(Deserialize)]
struct DebugInfo {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct RuploadError {
    debug_info: DebugInfo,
}

/// `uploading_phase.bytes_transferred` or, as the Page Reels doc spells it, `bytes_transfered`.
pub fn bytes_held(status: &serde_json::Value) -> Option<u64> {
    let phase = &status["video_status"]["uploading_phase"];
    phase["bytes_transferred"]
        .as_u64()
        .or_else(|| phase["bytes_transfered"].as_u64())
}

pub struct Rupload<'a> {
    pub session: &'a Session<'a, GraphApi>,
    /// The container being filled and its upload URI; `restart` replaces both.
    pub target: Mutex<Upload>,
    pub chunk_size: Option<u64>,
    /// Creates the replacement container (at most once).
    pub renew: &'a (dyn Fn() -> futures_util::future::BoxFuture<'a, Result<Upload>> + Send + Sync),
    pub restarted: Mutex<bool>,
}

impl Rupload<'_> {
    fn target(&self) -> Upload {
        self.target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl RangeProtocol for Rupload<'_> {
    type Done = ();

    fn server(&self) -> String {
        "Meta's upload server (rupload)".into()
    }

    fn range_len(&self, offset: u64, total: u64) -> u64 {
        match self.chunk_size {
            Some(chunk) => chunk.min(total - offset),
            None => total - offset,
        }
    }

    fn send_range(&self, offset: u64, _len: u64, total: u64) -> reqwest::RequestBuilder {
        let target = self.target();
        self.session
            .ctx()
            .http
            .post(&target.uri)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("OAuth {}", self.session.current().expose()),
            )
            .header("offset", offset.to_string())
            .header("file_size", total.to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
    }

    fn status_request(&self, _total: u64) -> Option<reqwest::RequestBuilder> {
        let target = self.target();
        let config = &self.session.api().config;
        Some(
            self.session
                .ctx()
                .http
                .get(config.graph(&format!("/{}", target.container)))
                .query(&[("fields", "id,status_code,video_status")])
                .bearer_auth(self.session.current().expose()),
        )
    }

    async fn read(&self, sent: Option<(u64, u64)>, response: reqwest::Response) -> RangeReply<()> {
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return transport_failure(self, e),
        };
        let Some((offset, len)) = sent else {
            // The container's status: where the upload stands.
            if !status.is_success() {
                return match GraphError::parse(&bytes) {
                    Some(e) if e.code == 190 => RangeReply::TokenInvalid,
                    Some(e)
                        if e.is_transient || is_transient_status(status) || e.is_rate_limit() =>
                    {
                        RangeReply::Retry {
                            retry_after: None,
                            why: e.to_error("the upload status").to_string(),
                        }
                    }
                    Some(e) => RangeReply::Failed(e.to_error("the upload status")),
                    None if is_transient_status(status) => RangeReply::Retry {
                        retry_after: None,
                        why: format!("the upload status answered {status}"),
                    },
                    None => RangeReply::Failed(Error::platform(format!(
                        "Meta answered {status} to the upload status"
                    ))),
                };
            }
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            return match (value["status_code"].as_str(), bytes_held(&value)) {
                (Some("ERROR" | "EXPIRED"), _) => RangeReply::Expired,
                (_, Some(held))
                    if value["video_status"]["uploading_phase"]["status"] == "complete" =>
                {
                    let _ = held;
                    RangeReply::Done(())
                }
                (_, Some(held)) => RangeReply::Stored {
                    stored: held,
                    retry_after: None,
                },
                _ => RangeReply::Failed(
                    Error::platform("Meta's upload status names no bytes_transferred")
                        .with_hint("post again; if it persists, report it"),
                ),
            };
        };
        let debug = serde_json::from_slice::<RuploadError>(&bytes)
            .ok()
            .map(|e| e.debug_info);
        match (status.as_u16(), debug) {
            (200..=299, None) if status != reqwest::StatusCode::PARTIAL_CONTENT => {
                RangeReply::Done(())
            }
            // The rest of the file is still to come (reference §5.3).
            (206, _) => RangeReply::Stored {
                stored: offset + len,
                retry_after: None,
            },
            (412, _) => RangeReply::Retry {
                retry_after: None,
                why: "rupload says the offset is not where it is (OffsetInvalidError)".into(),
            },
            (_, Some(d))
                if d.kind == "ProcessingFailedError"
                    && d.message.contains("unauthorized user request") =>
            {
                RangeReply::TokenInvalid
            }
            (_, Some(d)) if d.kind == "ProcessingFailedError" => {
                tracing::info!(
                    "rupload: ProcessingFailedError ({}): the container is dead",
                    d.message
                );
                RangeReply::Expired
            }
            (_, d) if is_transient_status(status) => RangeReply::Retry {
                retry_after: None,
                why: format!(
                    "rupload answered {status}{}",
                    d.map(|d| format!(" ({}: {})", d.kind, d.message))
                        .unwrap_or_default()
                ),
            },
            (_, d) => RangeReply::Failed(
                Error::platform(format!(
                    "Meta's upload server refused the video ({status}{})",
                    d.map(|d| format!(", {}: {}", d.kind, d.message))
                        .unwrap_or_default()
                ))
                .with_hint(crate::graph::FIX_VIDEO),
            ),
        }
    }

    async fn reauthorise(&self) -> Result<()> {
        self.session.replace(&self.session.current()).await
    }

    /// One new container after a dead one; a second death ends the post.
    async fn restart(&self) -> Result<()> {
        {
            let mut restarted = self.restarted.lock().unwrap_or_else(|e| e.into_inner());
            if *restarted {
                return Err(Error::platform(
                    "Meta's upload server failed a second container too (ProcessingFailedError)",
                )
                .with_hint(crate::graph::FIX_VIDEO));
            }
            *restarted = true;
        }
        let fresh = (self.renew)().await?;
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    fn hint_on_give_up(&self) -> &'static str {
        "run the same command again: keryx resumes the upload from what Meta holds"
    }
}
