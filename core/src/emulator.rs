//! The contract for each platform's strict fake, and a server that runs several on one port.
//!
//! Emulators serve the platform's real paths, so a config's `base_url` can point the real client
//! at them. They enforce the rules in `shared/reference/`: a fake that lets a wrong request pass
//! would let a client bug reach a real account. Their paths do not collide, so `keryx emulator`
//! and `keryx demo` serve all of them from one loopback port.
//!
//! Besides the platform paths, [`serve`] adds a small control API under `/__emulator/<id>/`:
//! `POST configure` (a YAML or JSON body of knobs: faults, limits, modes) and `GET stats`
//! (what the emulator saw, as JSON). Tests and `keryx emulator --knobs FILE` use the same knobs.
//!
//! One fault concerns every platform alike, so the server injects it itself: a server that
//! accepts a request and never answers. `POST /__emulator/stall` with `{path, requests,
//! method}` (YAML or JSON; `method` optional) makes the next `requests` requests to exactly
//! `path` (no query) hang without a reply, for as long as the client waits; `requests: 0`
//! clears the rule. `GET /__emulator/stall` says how many were stalled so far.
//!
//! Processes started together do not arrive together on a loaded machine: `POST
//! /__emulator/gate` holds a burst of requests until its last one arrives ([`gate`]).
//!
//! A network is slow too: `POST /__emulator/latency` with `{ms}` makes every later request
//! (but the control API's) wait that long before it is handled, like a round trip over a real
//! link; `{ms: 0}` ends it. `bench/run` uses it to measure `post all` with 150 ms per request.
//!
//! [`serve_with_log`] also reports every request in one line ([`RequestLine`]: method, path,
//! status, duration), for `keryx emulator`. The query string is never part of it: codes, states
//! and upload tokens travel there.

pub mod gate;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::{Error, Result};

/// A platform's strict fake. One value is one independent fake service with its own state.
pub trait Emulator: Send + Sync + 'static {
    /// The platform id this emulator fakes.
    fn platform_id(&self) -> &'static str;

    /// The platform's endpoints at their real paths. `base_url` is where the router is served,
    /// for URLs the emulator hands out (upload URLs, session URIs).
    fn router(&self, base_url: &str) -> Router;

    /// Applies knobs (fault injection, modes, limits), given as YAML. Unknown knobs are errors.
    fn configure(&self, knobs: &serde_yaml::Value) -> Result<()>;

    /// The config section (as YAML text, indented for `platforms:`) that points a client at
    /// this emulator: client id or key, `base_url`, ...
    fn client_config(&self, base_url: &str) -> String;

    /// The environment variable and value of the client secret the emulator accepts.
    fn client_secret(&self) -> (&'static str, String);

    /// The secret-store name `keryx demo` and `keryx emulator --write-config` keep
    /// [`Emulator::client_secret`]'s value under: the platform's client secret by default; a
    /// platform whose users sign in with an app password instead names that secret.
    fn secret_name(&self) -> String {
        crate::secrets::client_secret_name(self.platform_id())
    }

    /// What the emulator saw (uploads, posts, live tokens, peak concurrent uploads...).
    fn stats(&self) -> serde_json::Value;

    /// How the shared conformance suite (`tests/e2e/conformance.rs`) drives this emulator.
    fn conformance(&self) -> Conformance;
}

/// What the conformance suite every platform passes needs to know about one emulator: sizes
/// that exercise its upload protocol and the knobs that inject each fault.
pub struct Conformance {
    /// A video size that uploads in one request with the config from `client_config`.
    pub small_video: u64,
    /// A video size that needs at least three upload requests with the config from `client_config`;
    /// equal to `small_video` when every upload is one request whatever its size (the suite then
    /// skips its multi-request flow, saying so).
    pub multi_chunk_video: u64,
    /// Knobs (YAML) making the `n`th upload request (1-based, counted over the emulator's life)
    /// fail once with a 5xx.
    pub server_error_on_upload: fn(u32) -> String,
    /// Knobs (YAML) cutting the connection of the `n`th upload request without a reply.
    pub dropped_connection_on_upload: fn(u32) -> String,
    /// Knobs (YAML) making the (simulated) user decline the authorisation.
    pub deny_authorization: &'static str,
    /// The stats field counting upload requests (PUTs) the emulator received.
    pub upload_requests_stat: &'static str,
    /// Arguments every `keryx post` to this platform needs besides the video (e.g. a title).
    pub post_args: &'static [&'static str],
    /// The token endpoint's path, which every post calls (to refresh) before sending a byte.
    pub token_path: &'static str,
    /// The method and path of an authorised API call every post makes.
    pub api_call: (&'static str, &'static str),
    /// Knobs (YAML) after which the stored authorisation is refused (`invalid_grant`), as when
    /// the user revoked it or it expired; `None` when the emulator cannot (the suite then
    /// skips that flow, saying so).
    pub revoke_authorisation: Option<&'static str>,
    /// The method and path of the upload requests that carry the video's bytes (a trailing `*`
    /// matches any rest of the path), for the flows where the upload server stops answering.
    pub upload_call: (&'static str, &'static str),
    /// Knobs (YAML) after which the platform rate-limits keryx for longer than any retry
    /// budget, and a word keryx's message then names (the platform's error code); `None` when
    /// the emulator cannot (the suite then skips that flow, saying so).
    pub persistent_rate_limit: Option<(&'static str, &'static str)>,
}

/// A running emulator server.
pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    pub emulators: Vec<Arc<dyn Emulator>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Waits until the server stops (it runs until the process ends or the task is aborted).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

/// One request an emulator server answered, as [`serve_with_log`] reports it.
#[derive(Debug, Clone)]
pub struct RequestLine {
    pub method: Method,
    /// The path only: the query string (codes, states, upload tokens) is left out.
    pub path: String,
    pub status: StatusCode,
    /// From the request's arrival to the response's head (a streamed body may still be going).
    pub duration: Duration,
}

/// `PUT /video/ 201 12ms`
impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}ms",
            self.method,
            self.path,
            self.status.as_u16(),
            self.duration.as_millis()
        )
    }
}

/// Where [`serve_with_log`] sends each [`RequestLine`].
pub type RequestLog = Arc<dyn Fn(&RequestLine) + Send + Sync>;

/// Serves `emulators` on `127.0.0.1:port` (0 for a free port), loopback only.
pub async fn serve(emulators: Vec<Arc<dyn Emulator>>, port: u16) -> Result<Running> {
    serve_with_log(emulators, port, None).await
}

/// [`serve`], reporting every request to `log` when there is one.
pub async fn serve_with_log(
    emulators: Vec<Arc<dyn Emulator>>,
    port: u16,
    log: Option<RequestLog>,
) -> Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            Error::input(format!("cannot listen on 127.0.0.1:{port}"))
                .with_source(e)
                .with_hint("choose another port with --port, or 0 for any free port")
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::platform("no local address").with_source(e))?;
    let base_url = format!("http://{addr}");
    let mut app = Router::new();
    for emulator in &emulators {
        app = app.merge(emulator.router(&base_url));
    }
    let control = Router::new()
        .route("/__emulator/{id}/configure", post(configure))
        .route("/__emulator/{id}/stats", get(stats))
        .with_state(Arc::new(emulators.clone()));
    let stalls = Stalls::default();
    let stall_control = Router::new()
        .route("/__emulator/stall", post(configure_stall).get(stall_stats))
        .with_state(stalls.clone());
    let gates = gate::Gates::default();
    let gate_control = Router::new()
        .route("/__emulator/gate", post(gate::configure))
        .with_state(gates.clone());
    let latency = Latency::default();
    let latency_control = Router::new()
        .route("/__emulator/latency", post(configure_latency))
        .with_state(latency.clone());
    app = app
        .layer(axum::middleware::from_fn_with_state(latency, delay))
        .layer(axum::middleware::from_fn_with_state(gates, gate::hold))
        .merge(control)
        .merge(stall_control)
        .merge(gate_control)
        .merge(latency_control)
        .layer(axum::middleware::from_fn_with_state(stalls, stall));
    if let Some(log) = log {
        // `layer` (not `route_layer`) so that 404s and 405s are reported too.
        app = app.layer(axum::middleware::from_fn_with_state(log, log_request));
    }
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Running {
        addr,
        base_url,
        emulators,
        task,
    })
}

async fn log_request(State(log): State<RequestLog>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    log(&RequestLine {
        method,
        path,
        status: response.status(),
        duration: started.elapsed(),
    });
    response
}

/// The added wait per request, in milliseconds (0: none).
#[derive(Clone, Default)]
struct Latency(Arc<std::sync::atomic::AtomicU64>);

async fn delay(State(latency): State<Latency>, request: Request, next: Next) -> Response {
    let ms = latency.0.load(std::sync::atomic::Ordering::Relaxed);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    next.run(request).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyRule {
    ms: u64,
}

async fn configure_latency(State(latency): State<Latency>, body: Bytes) -> Response {
    match serde_yaml::from_slice::<LatencyRule>(&body) {
        Ok(rule) if rule.ms <= 60_000 => {
            latency
                .0
                .store(rule.ms, std::sync::atomic::Ordering::Relaxed);
            (StatusCode::OK, format!("{{\"ms\":{}}}\n", rule.ms)).into_response()
        }
        Ok(_) => (StatusCode::BAD_REQUEST, "`ms` is at most 60000\n").into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            format!("a latency is {{ms}}: {e}\n"),
        )
            .into_response(),
    }
}

/// The "accept and never answer" rules, shared by the middleware and its control route.
#[derive(Clone, Default)]
struct Stalls(Arc<Mutex<StallState>>);

#[derive(Default)]
struct StallState {
    rules: Vec<StallRule>,
    stalled: u64,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StallRule {
    path: String,
    requests: u64,
    #[serde(default)]
    method: Option<String>,
}

impl Stalls {
    /// Whether this request is one to stall (and if so, counts it).
    fn take(&self, method: &Method, path: &str) -> bool {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let rule = state.rules.iter_mut().find(|r| {
            r.requests > 0
                && match r.path.strip_suffix('*') {
                    Some(prefix) => path.starts_with(prefix),
                    None => r.path == path,
                }
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
        });
        let Some(rule) = rule else { return false };
        rule.requests -= 1;
        state.stalled += 1;
        true
    }
}

async fn stall(State(stalls): State<Stalls>, request: Request, next: Next) -> Response {
    if stalls.take(request.method(), request.uri().path()) {
        // Hold the request without a reply until the client gives up and hangs up (the
        // connection task then drops this future).
        std::future::pending::<()>().await;
    }
    next.run(request).await
}

async fn configure_stall(State(stalls): State<Stalls>, body: Bytes) -> Response {
    let rule: StallRule = match serde_yaml::from_slice(&body) {
        Ok(rule) => rule,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("a stall is {{path, requests, method?}}: {e}\n"),
            )
                .into_response();
        }
    };
    if !rule.path.starts_with('/')
        || rule.path.contains('?')
        || rule.path[..rule.path.len() - 1].contains('*')
    {
        return (
            StatusCode::BAD_REQUEST,
            "`path` is a path without a query, starting with / (a trailing * matches any rest)\n",
        )
            .into_response();
    }
    let mut state = stalls.0.lock().unwrap_or_else(|e| e.into_inner());
    state
        .rules
        .retain(|r| !(r.path == rule.path && r.method == rule.method));
    if rule.requests > 0 {
        state.rules.push(rule);
    }
    (StatusCode::OK, "ok\n").into_response()
}

async fn stall_stats(State(stalls): State<Stalls>) -> Response {
    let state = stalls.0.lock().unwrap_or_else(|e| e.into_inner());
    axum::Json(serde_json::json!({ "stalled": state.stalled })).into_response()
}

type Emulators = Arc<Vec<Arc<dyn Emulator>>>;

fn lookup(emulators: &Emulators, id: &str) -> Option<Arc<dyn Emulator>> {
    emulators.iter().find(|e| e.platform_id() == id).cloned()
}

async fn configure(
    State(emulators): State<Emulators>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(emulator) = lookup(&emulators, &id) else {
        return (StatusCode::NOT_FOUND, format!("no emulator for {id}\n")).into_response();
    };
    let knobs: serde_yaml::Value = match serde_yaml::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("knobs are not YAML: {e}\n"),
            )
                .into_response();
        }
    };
    match emulator.configure(&knobs) {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

async fn stats(State(emulators): State<Emulators>, Path(id): Path<String>) -> Response {
    match lookup(&emulators, &id) {
        Some(emulator) => axum::Json(emulator.stats()).into_response(),
        None => (StatusCode::NOT_FOUND, format!("no emulator for {id}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The smallest emulator: one route that echoes nothing.
    struct Echo;

    impl Emulator for Echo {
        fn platform_id(&self) -> &'static str {
            "echo"
        }
        fn router(&self, _base_url: &str) -> Router {
            Router::new().route("/echo/token", post(|| async { "ok" }))
        }
        fn configure(&self, _knobs: &serde_yaml::Value) -> Result<()> {
            Ok(())
        }
        fn client_config(&self, base_url: &str) -> String {
            format!("    base_url: {base_url}\n")
        }
        fn client_secret(&self) -> (&'static str, String) {
            ("ECHO_CLIENT_SECRET", "echo".into())
        }
        fn stats(&self) -> serde_json::Value {
            serde_json::json!({})
        }
        fn conformance(&self) -> Conformance {
            unreachable!("not used here")
        }
    }

    #[tokio::test]
    async fn every_request_is_logged_without_its_query() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        let log: RequestLog = Arc::new(move |line: &RequestLine| {
            sink.lock().unwrap().push(line.to_string());
        });
        let running = serve_with_log(vec![Arc::new(Echo)], 0, Some(log))
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let base = &running.base_url;
        let ok = http
            .post(format!("{base}/echo/token?code=SECRET-CODE&state=s"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let missing = http
            .get(format!("{base}/nowhere?x=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let stats = http
            .get(format!("{base}/__emulator/echo/stats"))
            .send()
            .await
            .unwrap();
        assert_eq!(stats.status(), 200);
        running.stop();

        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("POST /echo/token 200 "), "{lines:?}");
        assert!(lines[0].ends_with("ms"), "{lines:?}");
        assert!(lines[1].starts_with("GET /nowhere 404 "), "{lines:?}");
        assert!(lines[2].starts_with("GET /__emulator/echo/stats 200 "));
        assert!(
            lines
                .iter()
                .all(|l| !l.contains('?') && !l.contains("SECRET"))
        );
    }

    #[tokio::test]
    async fn a_latency_delays_every_platform_request_until_cleared() {
        let running = serve(vec![Arc::new(Echo)], 0).await.unwrap();
        let http = reqwest::Client::new();
        let base = &running.base_url;
        let set = |body: &'static str| {
            http.post(format!("{base}/__emulator/latency"))
                .body(body)
                .send()
        };
        assert_eq!(set("ms: soon").await.unwrap().status(), 400);
        assert_eq!(set("ms: 60001").await.unwrap().status(), 400);
        assert_eq!(set("ms: 1000").await.unwrap().status(), 200);
        let started = Instant::now();
        let ok = http
            .post(format!("{base}/echo/token"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert!(
            started.elapsed() >= Duration::from_millis(1000),
            "not delayed"
        );
        // The control API is not delayed (a bench must be able to turn it off at once), and
        // `ms: 0` turns it off.
        assert_eq!(set("{\"ms\": 0}").await.unwrap().status(), 200);
        let started = Instant::now();
        http.post(format!("{base}/echo/token"))
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "still delayed"
        );
        running.stop();
    }

    #[tokio::test]
    async fn no_log_no_lines() {
        // `serve` keeps working for callers that want silence (tests, `keryx demo`).
        let running = serve(vec![Arc::new(Echo)], 0).await.unwrap();
        let status = reqwest::Client::new()
            .post(format!("{}/echo/token", running.base_url))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        running.stop();
    }
}
