//! A call that must take effect at most once, though its failure may have taken effect.
//!
//! Most calls are safe to repeat: a token request, a status read, a range of an upload that
//! the server reports it holds. A few are not: Instagram's `media_publish` has no idempotency
//! key, and a 5xx or a lost reply can still leave the post live (Instagram reference §2.5), so
//! the one retry policy of [`crate::http`], which repeats a failed call blindly, would post
//! twice. [`send_then_verify`] sends such a call once per attempt, and after a failure that
//! leaves it unsure asks the platform whether it took effect before it sends again.
//! [`crate::session::Session::send_once`] is the single attempt, for calls with a token.

use std::future::Future;

use crate::error::{Cause, Error, ErrorKind, Result};
use crate::poll::Pacer;

/// Why one attempt of a call that must not be repeated blindly did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The platform refused it, so it did not take effect: the error is the result.
    Final(Error),
    /// It may have taken effect (a 5xx, a lost or late reply) or the platform asked for a
    /// retry; the platform is asked before anything is sent again.
    Unsure(Error),
}

impl Failure {
    /// What a failed [`crate::session::Session::send_once`] leaves: unsure when the request
    /// may have reached the server (no reply, a dropped connection), final otherwise (a
    /// refused authorisation, a local problem).
    pub fn of(error: Error) -> Failure {
        let transport = matches!(error.cause(), Some(Cause::Timeout | Cause::Unreachable));
        if transport && error.kind() == ErrorKind::Platform {
            Failure::Unsure(error)
        } else {
            Failure::Final(error)
        }
    }
}

/// Sends a call that must take effect at most once, up to `attempts` times, paced by `pacer`:
///
/// - `send` makes one attempt: `Ok` with what it answered, or why not ([`Failure`]);
/// - after an [`Failure::Unsure`], `verify` asks the platform whether the call took effect:
///   `Ok(Some(_))` it did (that is the result; `send` is not repeated), `Ok(None)` it did not
///   (`send` again after the pacer's wait), `Err` a final answer (e.g. the thing to publish
///   failed meanwhile), which is the result.
///
/// When the attempts or the pacer's patience run out, the result is the last unsure failure,
/// with `gave_up` as a note (what the user can do then).
pub async fn send_then_verify<T, S, SF, V, VF>(
    attempts: u32,
    pacer: &mut Pacer,
    gave_up: &str,
    mut send: S,
    mut verify: V,
) -> Result<T>
where
    S: FnMut() -> SF,
    SF: Future<Output = std::result::Result<T, Failure>>,
    V: FnMut() -> VF,
    VF: Future<Output = Result<Option<T>>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let unsure = match send().await {
            Ok(done) => return Ok(done),
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::Unsure(error)) => error,
        };
        tracing::info!("attempt {attempt} failed ({unsure}); checking whether it took effect");
        if let Some(done) = verify().await? {
            return Ok(done);
        }
        if attempt >= attempts || !pacer.wait().await {
            return Err(unsure.with_note(gave_up));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::time::Duration;

    use super::*;

    /// `send` answers from `sends`, `verify` from `checks`, each counting its calls.
    struct Script {
        sends: RefCell<VecDeque<std::result::Result<&'static str, Failure>>>,
        checks: RefCell<VecDeque<Result<Option<&'static str>>>>,
        sent: Cell<u32>,
        checked: Cell<u32>,
    }

    impl Script {
        fn new(
            sends: Vec<std::result::Result<&'static str, Failure>>,
            checks: Vec<Result<Option<&'static str>>>,
        ) -> Script {
            Script {
                sends: RefCell::new(sends.into()),
                checks: RefCell::new(checks.into()),
                sent: Cell::new(0),
                checked: Cell::new(0),
            }
        }

        async fn run(&self, attempts: u32) -> Result<&'static str> {
            let mut pacer = Pacer::new(Duration::from_secs(10), Duration::from_secs(3600));
            send_then_verify(
                attempts,
                &mut pacer,
                "try later",
                || async {
                    self.sent.set(self.sent.get() + 1);
                    self.sends
                        .borrow_mut()
                        .pop_front()
                        .expect("an unexpected send")
                },
                || async {
                    self.checked.set(self.checked.get() + 1);
                    self.checks
                        .borrow_mut()
                        .pop_front()
                        .expect("an unexpected check")
                },
            )
            .await
        }

        fn counts(&self) -> (u32, u32) {
            (self.sent.get(), self.checked.get())
        }
    }

    fn unsure(text: &str) -> Failure {
        Failure::Unsure(Error::platform(text.to_string()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_is_not_checked() {
        let script = Script::new(vec![Ok("id")], vec![]);
        assert_eq!(script.run(3).await.unwrap(), "id");
        assert_eq!(script.counts(), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_that_took_effect_is_not_sent_again() {
        let script = Script::new(vec![Err(unsure("HTTP 500"))], vec![Ok(Some("live"))]);
        assert_eq!(script.run(3).await.unwrap(), "live");
        assert_eq!(script.counts(), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_that_did_not_take_effect_is_sent_again_after_the_pace() {
        let script = Script::new(vec![Err(unsure("HTTP 500")), Ok("id")], vec![Ok(None)]);
        let start = tokio::time::Instant::now();
        assert_eq!(script.run(3).await.unwrap(), "id");
        assert_eq!(script.counts(), (2, 1));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_final_and_not_checked() {
        let refused = Failure::Final(Error::input("bad caption"));
        let script = Script::new(vec![Err(refused)], vec![]);
        assert_eq!(script.run(3).await.unwrap_err().exit_code(), 2);
        assert_eq!(script.counts(), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_answer_of_the_check_ends_it() {
        let script = Script::new(
            vec![Err(unsure("HTTP 500"))],
            vec![Err(Error::platform("processing failed"))],
        );
        let error = script.run(3).await.unwrap_err();
        assert_eq!(
            error.message(),
            "processing failed",
            "no note on a final answer"
        );
        assert_eq!(script.counts(), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn out_of_attempts_gives_the_last_failure() {
        let script = Script::new(
            vec![Err(unsure("first")), Err(unsure("second"))],
            vec![Ok(None), Ok(None)],
        );
        let error = script.run(2).await.unwrap_err();
        assert_eq!(error.message(), "second; try later");
        assert_eq!(script.counts(), (2, 2));
        // Out of patience before the attempts: the same.
        let mut pacer = Pacer::new(Duration::from_secs(10), Duration::ZERO);
        let mut sent = 0;
        let result: Result<()> = send_then_verify(
            5,
            &mut pacer,
            "try later",
            || {
                sent += 1;
                async { Err(unsure("again")) }
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!(result.unwrap_err().message(), "again; try later");
        assert_eq!(sent, 1);
    }

    #[test]
    fn only_a_transport_failure_leaves_it_unsure() {
        let timeout = Error::platform("no reply").with_cause(Cause::Timeout);
        assert!(matches!(Failure::of(timeout), Failure::Unsure(_)));
        let dropped = Error::platform("cannot reach").with_cause(Cause::Unreachable);
        assert!(matches!(Failure::of(dropped), Failure::Unsure(_)));
        let auth = Error::authorisation(Cause::AuthorisationRefused, "refused");
        assert!(matches!(Failure::of(auth), Failure::Final(_)));
        let local = Error::input("no such proxy");
        assert!(matches!(Failure::of(local), Failure::Final(_)));
    }
}
