//! The post job: one video to one or more platforms, checked before anything is sent, published
//! in parallel, recorded in the ledger so a rerun finishes the job without posting twice.
//!
//! `keryx post` and `keryx post all` are this module plus rendering; a Rust program can run
//! the same job without the CLI (`docs/adding-a-platform.md` points to an example that runs as
//! a doctest against a platform's emulator).
//!
//! 1. [`preflight`], for every target, before a byte leaves the machine: the file (container
//!    from its first bytes), the sidecar, the ledger, each platform's config, then each
//!    platform's [`crate::Platform::prepare`] (its limits, metadata rules, credentials and, on a
//!    terminal, its questions). Every platform prepares at once, unless questions may be asked
//!    on a terminal: then one after another, so two never ask at the same time. Every problem
//!    is collected ([`Refused`]); any problem stops everything, except when the only problems
//!    are targets that need `keryx auth` again (a revoked token): those fail alone
//!    ([`Plan::NeedsAuthorisation`]) and the others post.
//! 2. The ledger rules: with [`Request::skip_posted`] (`post all` without `--force`), a
//!    platform that already holds a successful post of the same bytes is skipped
//!    ([`Plan::AlreadyPosted`]); one whose last attempt never finished is posted again (the
//!    platform resumes what it saved, see [`crate::resume`]), and its report says so. The hash
//!    is computed on the blocking pool from the start ([`Fingerprint`]); only platforms whose
//!    ledger has a post of the same *size* wait for it, so a first post, a retry and `--force`
//!    never do: their hash overlaps the upload.
//! 3. [`Job::publish`]: every prepared post concurrently, each streaming the file on its own,
//!    each reporting to its own [`Tracker`]. A failure does not stop the others. Each target
//!    first takes its cross-process [`crate::claim`], so a second run of the same file waits
//!    and then finds this run's result in the ledger. Each attempt is recorded (`started`) as
//!    soon as the hash is known, and again the moment it ends.
//! 4. [`Outcome`]s, one per target, for the caller to render; [`most_serious`] gives the exit
//!    code that speaks for them all.

mod fingerprint;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

pub use fingerprint::Fingerprint;

use crate::claim::{Claim, Claims};
use crate::context::Context;
use crate::error::{Error, ErrorKind, Result};
use crate::ledger::{History, Ledger, Record};
use crate::media::VideoFile;
use crate::metadata::{Metadata, MetadataFile};
use crate::options::OptionValue;
use crate::platform::{PostReport, PreparedPost};
use crate::target::Target;
use crate::ui::Progress;

/// Where the sidecar (`VIDEO.keryx.yaml`) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sidecar {
    /// `VIDEO.keryx.yaml` beside the video, if there is one.
    Beside,
    /// This file (`--meta FILE`).
    File(PathBuf),
    /// None (`--no-meta`).
    Skip,
}

/// What to post, and where.
pub struct Request {
    pub video: PathBuf,
    pub sidecar: Sidecar,
    /// The shared metadata fields given on the command line; they override the sidecar's.
    pub flags: Metadata,
    /// Each platform's options given on the command line (`--tiktok-cover-at`), by platform id.
    pub options: BTreeMap<String, BTreeMap<String, OptionValue>>,
    pub targets: Vec<Target>,
    /// Skip targets whose ledger already holds this video (`post all` without `--force`).
    pub skip_posted: bool,
    /// Check only: [`preflight`] does not need the ledger to be writable.
    pub dry_run: bool,
}

impl Request {
    /// What `platform` gets: the sidecar's shared fields, its section for `platform`, then the
    /// flags and that platform's options.
    fn metadata_for(&self, sidecar: Option<&MetadataFile>, platform: &str) -> Metadata {
        let mut flags = self.flags.clone();
        flags.options = self.options.get(platform).cloned().unwrap_or_default();
        sidecar
            .map(|file| file.for_platform(platform))
            .unwrap_or_default()
            .overridden_by(&flags)
    }
}

/// What preflight decided for one target.
pub enum Plan {
    Ready(Box<dyn PreparedPost>),
    AlreadyPosted(Box<Record>),
    /// The account needs `keryx auth` again (its token was revoked or expired) while other
    /// targets are fine: it fails alone, with this error, and the others post. One account's
    /// lost authorisation must not hold every other channel of an unattended pipeline back.
    NeedsAuthorisation(Error),
}

/// Everything preflight found wrong; nothing was sent.
#[derive(Default)]
pub struct Refused {
    /// About the file, the sidecar or the ledger: every target's problem.
    pub general: Vec<Error>,
    /// One target's problem each.
    pub targets: Vec<(Target, Error)>,
    /// The video as probed, when it could be read (what a platform's refusal is about).
    pub video: Option<VideoFile>,
}

impl Refused {
    pub fn count(&self) -> usize {
        self.general.len() + self.targets.len()
    }

    /// Every problem, the general ones first.
    pub fn errors(&self) -> impl Iterator<Item = &Error> {
        self.general
            .iter()
            .chain(self.targets.iter().map(|(_, e)| e))
    }
}

impl std::fmt::Debug for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.errors()).finish()
    }
}

/// The kind whose exit code speaks for all of `errors`: bad input (2) over authorisation
/// required (4) over a platform failure (1).
pub fn most_serious<'a>(errors: impl IntoIterator<Item = &'a Error>) -> ErrorKind {
    errors
        .into_iter()
        .map(Error::kind)
        .max_by_key(|kind| kind.severity())
        .unwrap_or(ErrorKind::Platform)
}

/// A post that passed preflight: the plans, ready to publish.
pub struct Job {
    video: VideoFile,
    ledger: Ledger,
    history: History,
    fingerprint: Fingerprint,
    plans: Vec<(Target, Plan)>,
    skip_posted: bool,
}

/// How one target ended.
pub enum Ending {
    Posted(PostReport),
    AlreadyPosted(Record),
    Failed(Error),
}

/// One target's result.
pub struct Outcome {
    pub target: Target,
    pub ending: Ending,
    /// Time spent publishing (not preflight); `None` when nothing was published.
    pub elapsed: Option<Duration>,
}

/// Where one target's progress goes: a [`Progress`] that also hears how the post ended.
pub trait Tracker: Progress {
    fn ended(&self, result: &Result<PostReport>, elapsed: Duration);
}

/// Progress that goes nowhere, for library use and tests.
pub struct NoTracker;

impl Progress for NoTracker {
    fn phase(&self, _name: &str, _total: Option<u64>) {}
    fn set_position(&self, _bytes: u64) {}
    fn status(&self, _message: &str) {}
}

impl Tracker for NoTracker {
    fn ended(&self, _result: &Result<PostReport>, _elapsed: Duration) {}
}

/// Checks everything for every target of `request` (see the module docs). A single target's
/// problem refuses the whole job: a post to some platforms but not others is what the user
/// fixes and reruns, not a surprise.
pub async fn preflight(ctx: &Context, request: &Request) -> std::result::Result<Job, Refused> {
    let mut refused = Refused::default();
    let video = VideoFile::open(&request.video)
        .map_err(|e| refused.general.push(e))
        .ok();
    let sidecar = match load_sidecar(ctx, request) {
        Ok(sidecar) => Some(sidecar),
        Err(e) => {
            refused.general.push(e);
            None
        }
    };
    let ledger = Ledger::new(&ctx.paths);
    let history = match read_ledger(ctx, &ledger).await {
        Ok(history) => history,
        Err(e) => {
            refused.general.push(e);
            History::default()
        }
    };
    if !request.dry_run
        && let Err(e) = ledger.check_writable()
    {
        refused.general.push(e);
    }
    let mut configured = Vec::new();
    for target in &request.targets {
        match target.platform.check_config(&target.context(ctx)) {
            Ok(()) => configured.push(target.clone()),
            Err(e) => refused.targets.push((target.clone(), target.own(e))),
        }
    }
    // Without a readable file or sidecar there is nothing to check the platforms' rules against.
    let (Some(video), Some(sidecar)) = (video, sidecar) else {
        return Err(refused);
    };
    let mut plans: Vec<(Target, Plan)> = Vec::new();
    let prepare = |target: Target| {
        let metadata = request.metadata_for(sidecar.as_ref(), target.platform.id());
        let video = &video;
        async move {
            let ctx = target.context(ctx);
            let prepared = target.platform.prepare(&ctx, video, &metadata).await;
            prepared.map_err(|e| target.own(e))
        }
    };
    let posted_size = |t: &Target| history.has_posted_size(t.platform.id(), &t.account, video.size);
    // Only targets with a post of this size in the ledger can be skipped, so only they wait
    // for the hash; the others prepare, and later upload, while it is computed.
    let (known, fresh): (Vec<Target>, Vec<Target>) = configured
        .into_iter()
        .partition(|t| request.skip_posted && posted_size(t));
    let eager = !known.is_empty() || !request.dry_run || request.targets.iter().any(posted_size);
    let fingerprint = Fingerprint::new(ctx, &video, eager);
    // Questions on a terminal are asked one target at a time; without them every target's
    // checks (token refresh, account lookups) run at once.
    let one_at_a_time = ctx.ui.prompter().is_some();
    let (prepared, known_hash) =
        tokio::join!(prepare_each(&fresh, one_at_a_time, &prepare), async {
            match known.is_empty() {
                true => None,
                false => Some(fingerprint.get().await),
            }
        });
    for (target, result) in prepared {
        match result {
            Ok(prepared) => plans.push((target, Plan::Ready(prepared))),
            Err(e) => refused.targets.push((target, e)),
        }
    }
    match known_hash {
        None => {}
        Some(Err(e)) => refused.general.push(e),
        Some(Ok(hash)) => {
            let mut unposted = Vec::new();
            for target in known {
                match history.posted(&hash, target.platform.id(), &target.account) {
                    Some(record) => {
                        plans.push((target, Plan::AlreadyPosted(Box::new(record.clone()))))
                    }
                    None => unposted.push(target),
                }
            }
            for (target, result) in prepare_each(&unposted, one_at_a_time, &prepare).await {
                match result {
                    Ok(prepared) => plans.push((target, Plan::Ready(prepared))),
                    Err(e) => refused.targets.push((target, e)),
                }
            }
        }
    }
    let only_authorisation = refused.general.is_empty()
        && refused
            .targets
            .iter()
            .all(|(_, e)| e.kind() == ErrorKind::Authorisation);
    if only_authorisation && !plans.is_empty() {
        for (target, error) in refused.targets.drain(..) {
            plans.push((target, Plan::NeedsAuthorisation(error)));
        }
    }
    if refused.count() > 0 {
        refused.video = Some(video);
        return Err(refused);
    }
    plans.sort_by_key(|(t, _)| t.sort_key());
    Ok(Job {
        video,
        ledger,
        history,
        fingerprint,
        plans,
        skip_posted: request.skip_posted,
    })
}

/// The sidecar as `request` asks: a file, the one beside the video, or none.
fn load_sidecar(ctx: &Context, request: &Request) -> Result<Option<MetadataFile>> {
    let path = match &request.sidecar {
        Sidecar::Skip => return Ok(None),
        Sidecar::File(path) => Some(path.clone()),
        Sidecar::Beside => MetadataFile::beside(&request.video)?,
    };
    let Some(path) = path else {
        return Ok(None);
    };
    let schema: Vec<(&str, &[crate::options::PostOption])> = crate::platform::registry()
        .iter()
        .map(|p| (p.id(), p.options()))
        .collect();
    let file = MetadataFile::load(&path, &schema)?;
    ctx.ui.info(&format!(
        "Metadata from {} (flags override it)",
        path.display()
    ));
    Ok(Some(file))
}

/// The ledger's records; damaged lines are skipped with a warning.
pub async fn read_ledger(ctx: &Context, ledger: &Ledger) -> Result<History> {
    let history = ledger.read_async().await?;
    for warning in history.warnings(ledger.path()) {
        ctx.ui.warn(&warning);
    }
    Ok(history)
}

/// Runs `prepare` for each target: all at once, or one after another when questions may be
/// asked. Results in the targets' order.
async fn prepare_each<'a, F, Fut>(
    targets: &[Target],
    one_at_a_time: bool,
    prepare: &F,
) -> Vec<(Target, Result<Box<dyn PreparedPost>>)>
where
    F: Fn(Target) -> Fut,
    Fut: Future<Output = Result<Box<dyn PreparedPost>>> + 'a,
{
    if one_at_a_time {
        let mut results = Vec::new();
        for target in targets {
            results.push((target.clone(), prepare(target.clone()).await));
        }
        return results;
    }
    join_all(
        targets
            .iter()
            .map(|target| async move { (target.clone(), prepare(target.clone()).await) }),
    )
    .await
}

impl Job {
    pub fn video(&self) -> &VideoFile {
        &self.video
    }

    /// What preflight decided, in the targets' order.
    pub fn plans(&self) -> &[(Target, Plan)] {
        &self.plans
    }

    /// The ledger's successful post of this video on `target`, if any (waits for the hash
    /// only when the ledger holds a post of the same size there).
    pub async fn previous_post(&self, target: &Target) -> Result<Option<Record>> {
        let (id, account) = (target.platform.id(), target.account.as_str());
        if !self.history.has_posted_size(id, account, self.video.size) {
            return Ok(None);
        }
        let hash = self.fingerprint.get().await?;
        Ok(self.history.posted(&hash, id, account).cloned())
    }

    /// Publishes every ready plan concurrently, each reporting to the tracker `track` gives
    /// it, and returns every target's outcome in the platforms' order.
    pub async fn publish(
        self,
        ctx: &Context,
        track: &(dyn Fn(&Target) -> Box<dyn Tracker> + Sync),
    ) -> Vec<Outcome> {
        let Job {
            video,
            ledger,
            history,
            fingerprint,
            plans,
            skip_posted,
        } = self;
        let claims = Claims::new(&ctx.paths);
        let mut outcomes = Vec::new();
        let mut ready = Vec::new();
        for (target, plan) in plans {
            match plan {
                Plan::Ready(prepared) => ready.push((target, prepared)),
                Plan::AlreadyPosted(record) => outcomes.push(Outcome {
                    target,
                    ending: Ending::AlreadyPosted(*record),
                    elapsed: None,
                }),
                Plan::NeedsAuthorisation(error) => outcomes.push(Outcome {
                    target,
                    ending: Ending::Failed(error),
                    elapsed: None,
                }),
            }
        }
        let shared = Shared {
            ctx,
            video: &video,
            ledger: &ledger,
            history: &history,
            fingerprint: &fingerprint,
            claims: &claims,
            skip_posted,
        };
        let posts = ready.into_iter().map(|(target, prepared)| {
            let shared = &shared;
            let tracker = track(&target);
            async move { shared.post(target, prepared, tracker).await }
        });
        outcomes.extend(join_all(posts).await);
        outcomes.sort_by_key(|o| o.target.sort_key());
        outcomes
    }
}

/// What every target's publication shares.
struct Shared<'a> {
    ctx: &'a Context,
    video: &'a VideoFile,
    ledger: &'a Ledger,
    history: &'a History,
    fingerprint: &'a Fingerprint,
    claims: &'a Claims,
    skip_posted: bool,
}

impl Shared<'_> {
    async fn post(
        &self,
        target: Target,
        prepared: Box<dyn PreparedPost>,
        tracker: Box<dyn Tracker>,
    ) -> Outcome {
        // Held until the attempt's final record is written, so a concurrent run of the same
        // file waits here and then finds this run's result in the ledger. A post the user
        // asked for whatever the ledger says needs none: it posts anyway.
        let _claim = match self.claim(&target).await {
            Ok(Claimed::Free(claim)) => claim,
            Ok(Claimed::NotNeeded) => None,
            Ok(Claimed::PostedMeanwhile(record)) => {
                return Outcome {
                    target,
                    ending: Ending::AlreadyPosted(*record),
                    elapsed: None,
                };
            }
            Err(e) => {
                return Outcome {
                    target,
                    ending: Ending::Failed(e),
                    elapsed: None,
                };
            }
        };
        let (result, elapsed) = self.publish_recorded(&target, prepared, tracker).await;
        let ending = match result {
            Ok(mut report) => {
                if let Some(note) = self.retried_note(&target).await {
                    report.notes.push(note);
                }
                Ending::Posted(report)
            }
            Err(e) => Ending::Failed(e),
        };
        Outcome {
            target,
            ending,
            elapsed: Some(elapsed),
        }
    }

    /// Takes the claim on publishing the video to `platform`; if another run held it, reads the
    /// ledger again once it is free, because that run may have posted the same bytes there.
    async fn claim(&self, target: &Target) -> Result<Claimed> {
        if !self.skip_posted {
            return Ok(Claimed::NotNeeded);
        }
        let ctx = self.ctx;
        let mut waited = false;
        let claim = self
            .claims
            .take(&self.video.path, &target.label(), |holder| {
                waited = true;
                let who = match holder.described.as_str() {
                    "" => "another keryx run".to_owned(),
                    described => format!("another keryx run ({described})"),
                };
                ctx.ui.info(&format!(
                    "{}: waiting for {who}, which is posting this video there",
                    target.label()
                ));
            })
            .await?;
        // Read again even when the claim was free: a run that finished between this run's
        // first read of the ledger and now has released its claim already.
        let history = read_ledger(ctx, &Ledger::new(&ctx.paths)).await?;
        let (id, account) = (target.platform.id(), target.account.as_str());
        if history.has_posted_size(id, account, self.video.size) {
            let hash = self.fingerprint.get().await?;
            if let Some(record) = history.posted(&hash, id, account) {
                let by = if waited {
                    "the other run"
                } else {
                    "another run"
                };
                ctx.ui.info(&format!(
                    "{}: {by} {}",
                    target.label(),
                    posted_where(record)
                ));
                return Ok(Claimed::PostedMeanwhile(Box::new(record.clone())));
            }
        }
        Ok(Claimed::Free(Some(claim)))
    }

    /// Publishes one prepared post and records the attempt in the ledger: `started` as soon as
    /// the fingerprint is known (at once if it is, else while the upload runs, so hashing never
    /// delays the first byte), and the final record the moment the post ends.
    async fn publish_recorded(
        &self,
        target: &Target,
        prepared: Box<dyn PreparedPost>,
        tracker: Box<dyn Tracker>,
    ) -> (Result<PostReport>, Duration) {
        let account = prepared
            .describe()
            .into_iter()
            .find(|(key, _)| key == "account")
            .map(|(_, value)| value);
        let started_at = crate::ledger::now();
        let started = Instant::now();
        let record_start = async {
            let hash = self.fingerprint.get().await?;
            let mut record = Record::started(
                &hash,
                &self.video.path,
                self.video.size,
                target.platform.id(),
                &target.account,
                account,
            );
            record.started_at = started_at;
            self.ledger.append_async(record.clone()).await?;
            Ok::<Record, Error>(record)
        };
        let ctx = target.context(self.ctx);
        let (result, attempt) =
            tokio::join!(prepared.publish(&ctx, tracker.as_ref()), record_start);
        let result = result.map_err(|e| target.own(e));
        let elapsed = started.elapsed();
        tracker.ended(&result, elapsed);
        drop(tracker);
        match attempt {
            Ok(attempt) => self.finish_attempt(&attempt, &result).await,
            Err(e) => self.ctx.ui.warn(&format!(
                "the ledger could not record this {} post: {e}; a rerun of `keryx post all` \
                 cannot know about it",
                target.label()
            )),
        }
        (result, elapsed)
    }

    /// Writes the attempt's final record. The post has happened (or not) whatever the ledger
    /// says, so a failure here is a loud warning, not a failed post.
    async fn finish_attempt(&self, attempt: &Record, result: &Result<PostReport>) {
        let record = attempt.finished(result.as_ref());
        if let Err(e) = self.ledger.append_async(record).await {
            let what = match result {
                Ok(report) => format!(
                    "{} posted it ({}) but the ledger could not record that: {e}; a rerun of \
                     `keryx post all` would post it again",
                    attempt.target(),
                    report
                        .url
                        .as_deref()
                        .or(report.id.as_deref())
                        .unwrap_or("no id")
                ),
                Err(_) => format!("the ledger could not record the failed attempt: {e}"),
            };
            self.ctx.ui.warn(&what);
        }
    }

    /// What the ledger said about this post, once the hash is known (after the upload, so
    /// that hashing never delays it): it took over an attempt that never finished, or it is a
    /// repeat the user asked for.
    async fn retried_note(&self, target: &Target) -> Option<String> {
        let hash = self.fingerprint.get().await.ok()?;
        let platform = target.platform;
        let (id, account) = (platform.id(), target.account.as_str());
        if let Some(record) = self.history.posted(&hash, id, account) {
            return Some(format!(
                "the ledger already held this video on {} ({}); posted again as asked",
                platform.display_name(),
                posted_where(record)
            ));
        }
        self.history.unfinished(&hash, id, account).map(|record| {
            format!(
                "a post of this video started on {} never finished (keryx was stopped); this \
                     one took over, resuming the upload where {} allows it",
                record.when(),
                platform.display_name()
            )
        })
    }
}

/// What taking a target's claim found.
enum Claimed {
    /// Nobody else is publishing this file there: go ahead.
    Free(Option<Claim>),
    /// The post goes ahead whatever the ledger says (an explicit `keryx post <platform>`).
    NotNeeded,
    /// Another run held the claim and posted this file there meanwhile.
    PostedMeanwhile(Box<Record>),
}

/// `posted at https://… on 2026-05-01 18:00 UTC`, or `posted on … (id …)` without a URL.
pub fn posted_where(record: &Record) -> String {
    match (&record.url, record.post_id.as_ref().or(record.id.as_ref())) {
        (Some(url), _) => format!("posted at {url} on {}", record.when()),
        (None, Some(id)) => format!("posted on {} (id {id})", record.when()),
        (None, None) => format!("posted on {}", record.when()),
    }
}
