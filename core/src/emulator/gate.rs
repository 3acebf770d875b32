//! `POST /__emulator/gate` with `{path, waiting, method}` (YAML or JSON; `method` optional):
//! the next `waiting` requests to `path` (a trailing `*` matches any rest) are held until the
//! last of them has arrived, then all go on together; `waiting: 0` clears the rule. Tests use
//! it to make a burst of keryx processes reach one step at the same moment, which a loaded
//! machine's spread-out process start-ups would not. A held request goes on after
//! [`MAX_HOLD`] anyway, so a test that sends fewer requests fails on its own assertions
//! instead of hanging.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

/// The longest a request waits for the rest of its burst.
pub const MAX_HOLD: Duration = Duration::from_secs(60);

/// The gate rules, shared by the middleware and its control route.
#[derive(Clone, Default)]
pub(super) struct Gates(Arc<Mutex<Vec<Gate>>>);

struct Gate {
    rule: GateRule,
    /// Becomes `true` when the last request of the burst arrives.
    open: watch::Sender<bool>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GateRule {
    path: String,
    waiting: u64,
    #[serde(default)]
    method: Option<String>,
}

impl GateRule {
    fn matches(&self, method: &Method, path: &str) -> bool {
        let path_matches = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        path_matches
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    }
}

impl Gates {
    /// For a request one gate holds: what opens it. The last request of a burst opens the gate
    /// (and removes it) instead of waiting.
    fn enter(&self, method: &Method, path: &str) -> Option<watch::Receiver<bool>> {
        let mut gates = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let index = gates.iter().position(|g| g.rule.matches(method, path))?;
        let gate = &mut gates[index];
        gate.rule.waiting -= 1;
        if gate.rule.waiting == 0 {
            let gate = gates.remove(index);
            let _ = gate.open.send(true);
            return None;
        }
        Some(gate.open.subscribe())
    }
}

pub(super) async fn hold(State(gates): State<Gates>, request: Request, next: Next) -> Response {
    if let Some(mut open) = gates.enter(request.method(), request.uri().path()) {
        let _ = tokio::time::timeout(MAX_HOLD, open.wait_for(|open| *open)).await;
    }
    next.run(request).await
}

pub(super) async fn configure(State(gates): State<Gates>, body: Bytes) -> Response {
    let rule: GateRule = match serde_yaml::from_slice(&body) {
        Ok(rule) => rule,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("a gate is {{path, waiting, method?}}: {e}\n"),
            )
                .into_response();
        }
    };
    if !rule.path.starts_with('/') || rule.path.contains('?') {
        return (
            StatusCode::BAD_REQUEST,
            "`path` is a path without a query, starting with / (a trailing * matches any rest)\n",
        )
            .into_response();
    }
    let mut gates = gates.0.lock().unwrap_or_else(|e| e.into_inner());
    // A new rule for the same requests replaces the old one, releasing whoever it held.
    gates.retain(|g| {
        let same = g.rule.path == rule.path && g.rule.method == rule.method;
        if same {
            let _ = g.open.send(true);
        }
        !same
    });
    if rule.waiting > 0 {
        let (open, _) = watch::channel(false);
        gates.push(Gate { rule, open });
    }
    (StatusCode::OK, "ok\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::{get, post};

    async fn serve() -> String {
        let gates = Gates::default();
        let app = Router::new()
            .route("/held", get(|| async { "through" }))
            .layer(axum::middleware::from_fn_with_state(gates.clone(), hold))
            .merge(
                Router::new()
                    .route("/gate", post(configure))
                    .with_state(gates),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_burst_is_held_until_its_last_request_arrives() {
        let base = serve().await;
        let http = reqwest::Client::new();
        let gate = http
            .post(format!("{base}/gate"))
            .body("{path: /held, waiting: 3}")
            .send()
            .await
            .unwrap();
        assert_eq!(gate.status(), 200);
        let get = || http.get(format!("{base}/held")).send();
        let early = tokio::spawn(get());
        let second = tokio::spawn(get());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !early.is_finished() && !second.is_finished(),
            "released before the third"
        );
        let last = get().await.unwrap();
        assert_eq!(last.text().await.unwrap(), "through");
        for held in [early, second] {
            let reply = tokio::time::timeout(Duration::from_secs(5), held).await;
            assert_eq!(reply.unwrap().unwrap().unwrap().status(), 200);
        }
        // The gate is gone: the next request goes straight through.
        let after = tokio::time::timeout(Duration::from_secs(5), get()).await;
        assert_eq!(after.unwrap().unwrap().status(), 200);
    }

    #[tokio::test]
    async fn a_bad_rule_is_refused() {
        let base = serve().await;
        let http = reqwest::Client::new();
        for body in [
            "{path: held, waiting: 2}",
            "{path: /held}",
            "{path: /held, waiting: 1, x: 1}",
        ] {
            let reply = http
                .post(format!("{base}/gate"))
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 400, "{body}");
        }
    }
}
