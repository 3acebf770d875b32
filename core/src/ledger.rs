//! The post ledger: an append-only record of every post attempt, so that a rerun after a
//! partial failure finishes the job without posting anything twice.
//!
//! One file, `<state_dir>/ledger.jsonl`, one JSON object per line. An attempt writes two lines:
//! a `started` record before the first byte is sent, and a `posted` or `failed` record (the same
//! `attempt` id, every field repeated) when it ends. An attempt with only its `started` line was
//! cut short (killed, power loss) and is retried; the platform resumes it where it can.
//!
//! Schema, version 1 (`v`):
//!
//! ```json
//! {"v":1,"attempt":"5f0c1e2d3b4a6978","fingerprint":"<sha-256 hex of the video's bytes>",
//!  "video":"/abs/path/reel.mp4","size":31457280,"platform":"tiktok","account":"Ana",
//!  "started_at":"2026-05-01T18:00:00.123Z","finished_at":"2026-05-01T18:00:09.456Z",
//!  "result":"started|posted|failed","status":"PUBLISH_COMPLETE","id":"v_pub_1","post_id":null,
//!  "url":null,"privacy":"SELF_ONLY","error":null}
//! ```
//!
//! Every append takes an exclusive lock on the file, writes the whole line in one `write`, and
//! `fsync`s before returning; readers take a shared lock. A line that does not parse (a write
//! cut short by a power loss leaves a partial last line) is reported and skipped, never fatal,
//! and the next append starts on a fresh line so a good record is never glued to a damaged one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::platform::PostReport;

/// The ledger's file name inside the state dir.
pub const FILE_NAME: &str = "ledger.jsonl";

/// The record format written by this version of keryx.
pub const VERSION: u32 = 1;

/// How an attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Written before the upload; alone, it means the attempt never finished.
    Started,
    /// The platform accepted the post.
    Posted,
    /// The platform refused or the upload failed.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Posted => "posted",
            Outcome::Failed => "failed",
        }
    }
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record format version ([`VERSION`]).
    pub v: u32,
    /// Random id shared by an attempt's `started` line and its final line.
    pub attempt: String,
    /// Lowercase hex SHA-256 of the video's bytes ([`crate::media::fingerprint`]).
    pub fingerprint: String,
    /// The video's path (absolute when it could be resolved), for people reading the history.
    pub video: String,
    pub size: u64,
    pub platform: String,
    /// The platform's account this attempt was for, as the config names it
    /// ([`crate::config::DEFAULT_ACCOUNT`] on records of a keryx without accounts).
    #[serde(default = "default_account")]
    pub account_name: String,
    /// Who posted, as the platform named them (display name, channel), when known.
    pub account: Option<String>,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC; `None` on `started` records.
    pub finished_at: Option<String>,
    pub result: Outcome,
    /// The platform's final status word (`PUBLISH_COMPLETE`, `uploaded`, ...).
    pub status: Option<String>,
    /// The platform's id for the upload or video.
    pub id: Option<String>,
    /// The id of the public post, when the platform gives one.
    pub post_id: Option<String>,
    pub url: Option<String>,
    /// The privacy the platform applied.
    pub privacy: Option<String>,
    /// Why a `failed` attempt failed (message and hint).
    pub error: Option<String>,
}

impl Record {
    /// A `started` record for a new attempt, stamped now.
    pub fn started(
        fingerprint: &str,
        video: &Path,
        size: u64,
        platform: &str,
        account_name: &str,
        account: Option<String>,
    ) -> Record {
        let shown = std::fs::canonicalize(video).unwrap_or_else(|_| video.to_path_buf());
        Record {
            v: VERSION,
            attempt: format!("{:016x}", rand::random::<u64>()),
            fingerprint: fingerprint.to_string(),
            video: shown.display().to_string(),
            size,
            platform: platform.to_string(),
            account_name: account_name.to_string(),
            account,
            started_at: now(),
            finished_at: None,
            result: Outcome::Started,
            status: None,
            id: None,
            post_id: None,
            url: None,
            privacy: None,
            error: None,
        }
    }

    /// The final record of this attempt: `posted` with the report's ids, or `failed` with the
    /// error, stamped now.
    pub fn finished(&self, result: std::result::Result<&PostReport, &Error>) -> Record {
        let mut record = self.clone();
        record.finished_at = Some(now());
        match result {
            Ok(report) => {
                record.result = Outcome::Posted;
                record.status = Some(report.status.clone());
                record.id = report.id.clone();
                record.post_id = report.post_id.clone();
                record.url = report.url.clone();
                record.privacy = report.privacy.clone();
                if report.account.is_some() {
                    record.account = report.account.clone();
                }
            }
            Err(error) => {
                record.result = Outcome::Failed;
                record.error = Some(match error.hint() {
                    Some(hint) => format!("{error} (hint: {hint})"),
                    None => error.to_string(),
                });
            }
        }
        record
    }

    /// Whether this attempt was for `platform`'s `account`.
    pub fn is_for(&self, platform: &str, account: &str) -> bool {
        self.platform == platform && self.account_name == account
    }

    /// `platform`, or `platform:account` for a named account.
    pub fn target(&self) -> String {
        crate::target::label(&self.platform, &self.account_name)
    }

    /// Where the post can be seen: its URL, else the platform's id for it.
    pub fn location(&self) -> Option<String> {
        self.url
            .clone()
            .or_else(|| self.post_id.as_ref().map(|id| format!("post id {id}")))
            .or_else(|| self.id.as_ref().map(|id| format!("id {id}")))
    }

    /// When the attempt ended (or started, for an unfinished one), for messages.
    pub fn when(&self) -> String {
        display_time(self.finished_at.as_deref().unwrap_or(&self.started_at))
    }
}

fn default_account() -> String {
    crate::config::DEFAULT_ACCOUNT.to_owned()
}

/// A line that could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// 1-based line number.
    pub line: usize,
    /// The last line, without its newline: a write cut short.
    pub trailing: bool,
    pub reason: String,
}

/// What the ledger holds, in file order.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub records: Vec<Record>,
    /// Lines skipped because they do not parse.
    pub damaged: Vec<Damaged>,
}

impl History {
    /// One warning per damaged line, naming the file and line.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        self.damaged
            .iter()
            .map(|d| {
                let why = if d.trailing {
                    "cut short, as by a crash or power loss while keryx was writing it"
                } else {
                    "not a ledger record"
                };
                format!(
                    "{}:{}: skipped a damaged ledger line ({why}: {})",
                    path.display(),
                    d.line,
                    d.reason
                )
            })
            .collect()
    }

    /// The latest record of every attempt (its final line, or `started` if it never finished),
    /// in the order the attempts started.
    pub fn attempts(&self) -> Vec<&Record> {
        let mut order: Vec<&str> = Vec::new();
        let mut latest: std::collections::HashMap<&str, &Record> = Default::default();
        for record in &self.records {
            if latest.insert(&record.attempt, record).is_none() {
                order.push(&record.attempt);
            }
        }
        order
            .iter()
            .filter_map(|a| latest.get(a).copied())
            .collect()
    }

    /// The most recent successful post of this content to `platform`'s `account`.
    pub fn posted(&self, fingerprint: &str, platform: &str, account: &str) -> Option<&Record> {
        self.records.iter().rev().find(|r| {
            r.result == Outcome::Posted
                && r.is_for(platform, account)
                && r.fingerprint == fingerprint
        })
    }

    /// Whether `platform`'s `account` holds a successful post of a video of exactly `size`
    /// bytes. The same bytes have the same size, so only then can the fingerprint change what
    /// happens; for every other post it can be computed while the upload runs.
    pub fn has_posted_size(&self, platform: &str, account: &str, size: u64) -> bool {
        self.records
            .iter()
            .any(|r| r.result == Outcome::Posted && r.is_for(platform, account) && r.size == size)
    }

    /// The latest attempt at this content on `platform`'s `account`, if it started and never
    /// finished.
    pub fn unfinished(&self, fingerprint: &str, platform: &str, account: &str) -> Option<&Record> {
        self.attempts()
            .into_iter()
            .rev()
            .find(|r| r.is_for(platform, account) && r.fingerprint == fingerprint)
            .filter(|r| r.result == Outcome::Started)
    }
}

/// The ledger file of one state dir.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    /// `<state_dir>/ledger.jsonl`.
    pub fn new(paths: &Paths) -> Ledger {
        Ledger::at(paths.state_dir.join(FILE_NAME))
    }

    pub fn at(path: impl Into<PathBuf>) -> Ledger {
        Ledger { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line: exclusive lock, one write, `fsync`. Blocks.
    pub fn append(&self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::platform("cannot encode a ledger record").with_source(e))?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent() {
            crate::paths::create_private_dir(dir)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&self.path)
            .map_err(|e| self.io_error("cannot open", e))?;
        fs4::FileExt::lock(&file).map_err(|e| self.io_error("cannot lock", e))?;
        let result = (|| -> std::io::Result<bool> {
            let len = file.metadata()?.len();
            if len > 0 && !ends_with_newline(&mut file, len)? {
                // A damaged last line: start a fresh one so this record stays readable.
                line.insert(0, b'\n');
            }
            file.write_all(&line)?;
            file.sync_data()?;
            Ok(len == 0)
        })();
        let _ = fs4::FileExt::unlock(&file);
        let created = result.map_err(|e| self.io_error("cannot write to", e))?;
        if created {
            sync_parent(&self.path);
        }
        Ok(())
    }

    /// Checks that records can be appended (the state dir and file can be created and opened
    /// for writing), without writing any.
    pub fn check_writable(&self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            crate::paths::create_private_dir(dir)?;
        }
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(&self.path)
            .map(drop)
            .map_err(|e| self.io_error("cannot open", e))
    }

    /// [`Ledger::append`] on the blocking pool.
    pub async fn append_async(&self, record: Record) -> Result<()> {
        let ledger = self.clone();
        tokio::task::spawn_blocking(move || ledger.append(&record))
            .await
            .map_err(|e| {
                Error::platform("writing the ledger stopped unexpectedly").with_source(e)
            })?
    }

    /// Every readable record, and the lines that were not. A missing file is an empty ledger.
    pub fn read(&self) -> Result<History> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(History::default()),
            Err(e) => return Err(self.io_error("cannot open", e)),
        };
        fs4::FileExt::lock_shared(&file).map_err(|e| self.io_error("cannot lock", e))?;
        let mut bytes = Vec::new();
        let read = file.read_to_end(&mut bytes);
        let _ = fs4::FileExt::unlock(&file);
        read.map_err(|e| self.io_error("cannot read", e))?;
        Ok(parse(&bytes))
    }

    /// [`Ledger::read`] on the blocking pool.
    pub async fn read_async(&self) -> Result<History> {
        let ledger = self.clone();
        tokio::task::spawn_blocking(move || ledger.read())
            .await
            .map_err(|e| {
                Error::platform("reading the ledger stopped unexpectedly").with_source(e)
            })?
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::input(format!("{what} the post ledger {}", self.path.display()))
            .with_source(e)
            .with_hint(
                "keryx's state directory must be writable and on a file system with file locks",
            )
    }
}

fn ends_with_newline(file: &mut File, len: u64) -> std::io::Result<bool> {
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// A new file's directory entry survives a power loss only once the directory is synced.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn parse(bytes: &[u8]) -> History {
    let mut history = History::default();
    let complete = bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => history.records.push(record),
            Err(e) => history.damaged.push(Damaged {
                line: i + 1,
                trailing: i == last && !complete,
                reason: e.to_string(),
            }),
        }
    }
    history
}

/// Now, RFC 3339 in UTC with millisecond precision.
pub fn now() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now);
    now.format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// `2026-05-01 18:00 UTC` from an RFC 3339 time; the text itself if it is not one.
pub fn display_time(rfc3339: &str) -> String {
    match OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str) -> PostReport {
        PostReport {
            platform: "alpha".into(),
            status: "DONE".into(),
            id: Some(id.into()),
            url: Some(format!("https://alpha.example/{id}")),
            privacy: Some("private".into()),
            account: Some("Ana".into()),
            ..PostReport::default()
        }
    }

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path().join("state").join(FILE_NAME));
        (dir, ledger)
    }

    #[test]
    fn attempts_round_trip_and_merge() {
        let (_dir, ledger) = ledger();
        assert!(ledger.read().unwrap().records.is_empty());
        let video = Path::new("/videos/reel.mp4");
        let a = Record::started("f1", video, 10, "alpha", "default", None);
        ledger.append(&a).unwrap();
        let b = Record::started("f1", video, 10, "beta", "default", None);
        ledger.append(&b).unwrap();
        ledger.append(&a.finished(Ok(&report("1")))).unwrap();
        ledger
            .append(&b.finished(Err(&Error::platform("refused").with_hint("wait"))))
            .unwrap();
        let history = ledger.read().unwrap();
        assert!(history.damaged.is_empty());
        assert_eq!(history.records.len(), 4);
        let attempts = history.attempts();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0].platform, "alpha");
        assert_eq!(attempts[0].result, Outcome::Posted);
        assert_eq!(attempts[0].account.as_deref(), Some("Ana"));
        assert_eq!(attempts[1].result, Outcome::Failed);
        assert_eq!(attempts[1].error.as_deref(), Some("refused (hint: wait)"));
        let posted = history.posted("f1", "alpha", "default").unwrap();
        assert_eq!(posted.url.as_deref(), Some("https://alpha.example/1"));
        assert!(posted.finished_at.is_some());
        assert!(history.posted("f1", "beta", "default").is_none());
        assert!(history.posted("f2", "alpha", "default").is_none());
        assert!(history.has_posted_size("alpha", "default", 10));
        assert!(!history.has_posted_size("alpha", "default", 11));
        assert!(
            !history.has_posted_size("beta", "default", 10),
            "a failed attempt is no post"
        );
        assert!(history.unfinished("f1", "alpha", "default").is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ledger.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_attempt_without_an_end_is_unfinished() {
        let (_dir, ledger) = ledger();
        let video = Path::new("reel.mp4");
        let first = Record::started("f1", video, 10, "alpha", "default", None);
        ledger.append(&first).unwrap();
        ledger
            .append(&first.finished(Err(&Error::platform("boom"))))
            .unwrap();
        let history = ledger.read().unwrap();
        assert!(history.unfinished("f1", "alpha", "default").is_none());
        let second = Record::started("f1", video, 10, "alpha", "default", None);
        ledger.append(&second).unwrap();
        let history = ledger.read().unwrap();
        let unfinished = history.unfinished("f1", "alpha", "default").unwrap();
        assert_eq!(unfinished.attempt, second.attempt);
        assert!(!history.has_posted_size("alpha", "default", 10));
        assert!(history.unfinished("f1", "beta", "default").is_none());
        assert_ne!(first.attempt, second.attempt);
    }

    /// A record written before keryx knew accounts is the default account's, so "already
    /// posted" still holds after the upgrade, and only for that account.
    #[test]
    fn records_without_an_account_are_the_default_accounts() {
        let (_dir, ledger) = ledger();
        let mut old = serde_json::to_value(Record::started(
            "f1",
            Path::new("v"),
            10,
            "alpha",
            "default",
            None,
        ))
        .unwrap();
        old.as_object_mut().unwrap().remove("account_name");
        old["result"] = "posted".into();
        std::fs::create_dir_all(ledger.path().parent().unwrap()).unwrap();
        std::fs::write(ledger.path(), format!("{old}\n")).unwrap();
        let history = ledger.read().unwrap();
        assert!(history.damaged.is_empty());
        assert!(history.posted("f1", "alpha", "default").is_some());
        assert!(history.posted("f1", "alpha", "studio").is_none());
        assert!(!history.has_posted_size("alpha", "studio", 10));
        assert_eq!(history.records[0].target(), "alpha");
    }

    #[test]
    fn a_cut_last_line_is_skipped_and_the_next_record_starts_a_new_line() {
        let (_dir, ledger) = ledger();
        let video = Path::new("reel.mp4");
        let a = Record::started("f1", video, 10, "alpha", "default", None);
        ledger.append(&a).unwrap();
        ledger.append(&a.finished(Ok(&report("1")))).unwrap();
        // Power loss in the middle of the next write.
        let mut text = std::fs::read(ledger.path()).unwrap();
        let partial =
            serde_json::to_vec(&Record::started("f2", video, 10, "beta", "default", None)).unwrap();
        text.extend_from_slice(&partial[..partial.len() / 2]);
        std::fs::write(ledger.path(), &text).unwrap();

        let history = ledger.read().unwrap();
        assert_eq!(history.records.len(), 2);
        assert_eq!(history.damaged.len(), 1);
        assert!(history.damaged[0].trailing);
        assert_eq!(history.damaged[0].line, 3);
        let warnings = history.warnings(ledger.path());
        assert!(warnings[0].contains(":3: "), "{warnings:?}");
        assert!(warnings[0].contains("cut short"), "{warnings:?}");

        let c = Record::started("f3", video, 10, "gamma", "default", None);
        ledger.append(&c).unwrap();
        let history = ledger.read().unwrap();
        assert_eq!(history.records.len(), 3, "{:?}", history.damaged);
        assert_eq!(history.records[2].platform, "gamma");
        assert_eq!(history.damaged.len(), 1);
        assert!(!history.damaged[0].trailing, "now followed by a good line");
    }

    #[test]
    fn garbage_lines_and_blank_lines_are_not_fatal() {
        let (_dir, ledger) = ledger();
        std::fs::create_dir_all(ledger.path().parent().unwrap()).unwrap();
        let good = serde_json::to_string(&Record::started(
            "f",
            Path::new("v"),
            1,
            "a",
            "default",
            None,
        ))
        .unwrap();
        std::fs::write(
            ledger.path(),
            format!("\n{good}\nnot json\n\u{0}\u{ff}\n{{\"v\":1}}\n\n{good}\n"),
        )
        .unwrap();
        let history = ledger.read().unwrap();
        assert_eq!(history.records.len(), 2);
        let lines: Vec<usize> = history.damaged.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(history.damaged.iter().all(|d| !d.trailing));
    }

    #[test]
    fn an_unwritable_ledger_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: cannot be opened for appending.
        std::fs::create_dir_all(dir.path().join(FILE_NAME)).unwrap();
        let ledger = Ledger::at(dir.path().join(FILE_NAME));
        let err = ledger.check_writable().unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().contains(FILE_NAME), "{}", err.message());
        let record = Record::started("f", Path::new("v"), 1, "a", "default", None);
        assert!(ledger.append(&record).is_err());
        assert!(ledger.read().is_err());
        let fine = Ledger::at(dir.path().join("sub").join(FILE_NAME));
        fine.check_writable().unwrap();
        assert!(fine.read().unwrap().records.is_empty());
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let (_dir, ledger) = ledger();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let ledger = ledger.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let mut record = Record::started(
                            &format!("{t}-{i}"),
                            Path::new("v"),
                            i,
                            &"p".repeat(1 + i as usize * 50),
                            "default",
                            None,
                        );
                        record.error = Some("x".repeat(5000));
                        ledger.append(&record).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let history = ledger.read().unwrap();
        assert!(history.damaged.is_empty(), "{:?}", history.damaged);
        assert_eq!(history.records.len(), 200);
    }

    #[test]
    fn times_are_rfc3339_utc_and_display_to_the_minute() {
        let stamp = now();
        assert!(stamp.ends_with('Z'), "{stamp}");
        assert!(OffsetDateTime::parse(&stamp, &Rfc3339).is_ok());
        assert_eq!(
            display_time("2026-05-01T20:07:09.5+02:00"),
            "2026-05-01 18:07 UTC"
        );
        assert_eq!(display_time("yesterday"), "yesterday");
    }
}
