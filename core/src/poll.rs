//! Pacing for status polls: how often to ask a platform whether its processing is done, and
//! when to stop asking.
//!
//! Platforms process a video after the upload (TikTok's `status/fetch`, YouTube's
//! `processingDetails`, Instagram's container `status_code`) and document how often they may be
//! asked. A [`Pacer`] keeps polls at least that far apart, waits longer and longer while
//! nothing moves (when asked to, [`Pacer::slowing_when_stuck`]) so a stuck video does not
//! spend the user's quota, and says when keryx has waited long enough. Each poll itself is a
//! normal API call with the one retry policy of [`crate::http`]; the pacer only spaces them.
//!
//! Under `KERYX_RETRY_BASE_MS` (tests) the waits of a pacer slowing when stuck shrink with the
//! rest of the retry schedule; a steady pacer keeps the platform's pace.

use std::time::Duration;

use tokio::time::Instant;

use crate::http::Backoff;

/// When to poll again.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    patience: Duration,
    started: Instant,
    /// `Some` when waits grow while nothing moves; its attempts bound the polls without progress.
    stuck: Option<Backoff>,
}

impl Pacer {
    /// Polls `interval` apart (the platform's documented pace) for at most `patience` in all.
    pub fn new(interval: Duration, patience: Duration) -> Pacer {
        Pacer {
            interval,
            patience,
            started: Instant::now(),
            stuck: None,
        }
    }

    /// Waits longer after each poll that showed no progress (backoff with jitter, at least
    /// `interval`), and stops after the backoff's attempts without progress.
    pub fn slowing_when_stuck(mut self) -> Pacer {
        self.stuck = Some(Backoff::default());
        self
    }

    /// The last poll showed progress: back to the documented pace.
    pub fn progressed(&mut self) {
        if let Some(stuck) = &mut self.stuck {
            stuck.reset();
        }
    }

    /// How long polling has gone on.
    pub fn waited(&self) -> Duration {
        self.started.elapsed()
    }

    /// Sleeps until the next poll, or returns `false` when keryx should stop waiting (its
    /// patience is spent, or nothing moved for too many polls).
    pub async fn wait(&mut self) -> bool {
        if self.waited() >= self.patience {
            return false;
        }
        let delay = match &mut self.stuck {
            Some(stuck) => match stuck.next_delay(Some(self.interval)) {
                Some(delay) => delay,
                None => return false,
            },
            None => self.interval,
        };
        tokio::time::sleep(delay).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_steady_pacer_keeps_its_pace_until_its_patience_is_spent() {
        let mut pacer = Pacer::new(Duration::from_secs(2), Duration::from_secs(7));
        let start = tokio::time::Instant::now();
        let mut polls = 0;
        while pacer.wait().await {
            polls += 1;
            assert_eq!(start.elapsed(), Duration::from_secs(2 * polls));
        }
        assert_eq!(
            polls, 4,
            "waits at 0, 2, 4 and 6 s; at 8 s the 7 s of patience are spent"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pacer_slowing_when_stuck_gives_up_without_progress_and_not_with_it() {
        let interval = Duration::from_secs(5);
        let mut stuck = Pacer::new(interval, Duration::from_secs(3600)).slowing_when_stuck();
        let mut polls = 0;
        while stuck.wait().await {
            polls += 1;
        }
        assert!(
            polls < 10,
            "a video that never moves is given up on, after {polls} polls"
        );

        let mut moving = Pacer::new(interval, Duration::from_secs(3600)).slowing_when_stuck();
        for _ in 0..50 {
            let before = tokio::time::Instant::now();
            assert!(moving.wait().await, "progress keeps it waiting");
            assert!(
                before.elapsed() >= interval,
                "never faster than the documented pace"
            );
            moving.progressed();
        }
    }
}
