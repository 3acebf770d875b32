//! The loopback listener the provider redirects the browser to (RFC 8252 §7.3).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::redirect::{PinnedRedirect, Who, from_query, screen};
use super::{AuthRequest, Callback};
use crate::error::{Error, Result};

/// A bound listener and the redirect URI that reaches it.
pub(crate) struct Bound {
    pub listener: TcpListener,
    pub redirect_uri: String,
    /// The path the browser will request, e.g. `/callback/`.
    pub path: String,
}

/// Binds 127.0.0.1 only, never all interfaces: the code must not be reachable from the network.
/// A pinned redirect fixes the port and is used verbatim; otherwise the OS picks a free port.
pub(crate) async fn bind(pinned: Option<&PinnedRedirect>, callback_path: &str) -> Result<Bound> {
    let port = pinned.map_or(0, |p| p.port);
    let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            Error::input(format!(
                "port {port} on 127.0.0.1 is already in use, so keryx cannot receive the redirect there"
            ))
            .with_source(e)
            .with_hint(
                "pick another port in --redirect (and register that redirect with the platform if it \
                 needs an exact match), or omit --redirect to use a free port",
            )
        } else {
            Error::input(format!("cannot listen on 127.0.0.1:{port} for the authorisation redirect"))
                .with_source(e)
                .with_hint("check that loopback networking works here, or finish with --code")
        }
    })?;
    if let Some(pinned) = pinned {
        return Ok(Bound {
            listener,
            redirect_uri: pinned.uri.clone(),
            path: pinned.path.clone(),
        });
    }
    let port = listener
        .local_addr()
        .map_err(|e| Error::input("cannot read the port of the loopback listener").with_source(e))?
        .port();
    let path = if callback_path.starts_with('/') {
        callback_path.to_owned()
    } else {
        format!("/{callback_path}")
    };
    Ok(Bound {
        listener,
        redirect_uri: format!("http://127.0.0.1:{port}{path}"),
        path,
    })
}

struct Shared {
    path: String,
    request: AuthRequest,
    platform: String,
    display_name: String,
    outcomes: mpsc::UnboundedSender<Result<Callback>>,
    /// Set by the first genuine answer (or a pasted one): later ones are not answers any more.
    answered: AtomicBool,
    /// What each ignored callback looked like, in arrival order; never a code.
    ignored: Mutex<Vec<String>>,
}

/// The running listener; what it received arrives through [`Server::next`].
pub(crate) struct Server {
    shared: Arc<Shared>,
    outcomes: mpsc::UnboundedReceiver<Result<Callback>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

pub(crate) fn serve(bound: Bound, request: AuthRequest, who: Who<'_>) -> Server {
    let (tx, outcomes) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        path: bound.path,
        request,
        platform: who.platform.to_owned(),
        display_name: who.display_name.to_owned(),
        outcomes: tx,
        answered: AtomicBool::new(false),
        ignored: Mutex::new(Vec::new()),
    });
    let app = Router::new().fallback(handle).with_state(shared.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let listener = bound.listener;
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("the loopback listener stopped: {e}");
        }
    });
    Server {
        shared,
        outcomes,
        stop: Some(stop),
        task,
    }
}

impl Server {
    /// The next definite answer (a callback or an error). `None` if the listener died.
    pub(crate) async fn next(&mut self) -> Option<Result<Callback>> {
        self.outcomes.recv().await
    }

    /// The wait ended another way (a pasted address): a browser redirect arriving now is told
    /// the authorisation is done instead of being taken for a second answer.
    pub(crate) fn mark_answered(&self) {
        self.shared.answered.store(true, Ordering::SeqCst);
    }

    /// What the callbacks ignored so far looked like (see [`super::redirect::Stray`]).
    pub(crate) fn ignored(&self) -> Vec<String> {
        self.shared
            .ignored
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    /// Stops accepting, lets the page that was just answered reach the browser, then ends.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A browser holding a keep-alive connection open must not delay `keryx auth`'s exit.
        if tokio::time::timeout(Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Keeps the listener answering "already done" while the platform exchanges the code, so a
/// browser that retries the redirect gets a page instead of a refused connection; the last
/// clone of the [`Callback`] to go ends it.
pub(crate) struct Lingering(Option<Server>);

impl Lingering {
    pub(crate) fn new(server: Server) -> Self {
        Lingering(Some(server))
    }
}

impl std::fmt::Debug for Lingering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lingering(loopback listener)")
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(server) = self.0.take() else { return };
        // Outside a runtime there is nothing left to serve; dropping the server aborts it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(server.shutdown());
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    // Anything else a browser asks for (favicon.ico, a mistyped path) is not an answer.
    if uri.path() != shared.path {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This is keryx's authorisation listener; nothing lives here.",
        );
    }
    if method != Method::GET {
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "The redirect arrives as a GET request.",
        );
    }
    // Decoded exactly once, here; the code then travels as a Secret, untouched.
    let pairs: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(stray) = screen(&pairs, &shared.request) {
        tracing::info!(
            "ignored {} on the loopback listener: {}",
            stray.looks_like,
            stray.why
        );
        if let Ok(mut ignored) = shared.ignored.lock() {
            ignored.push(stray.looks_like.clone());
        }
        return page(
            StatusCode::BAD_REQUEST,
            "Callback ignored",
            &format!(
                "keryx ignored this callback ({}) because {}. keryx is still waiting for the                  authorisation it started: approve on the page keryx opened (or open the URL it                  printed again). If you meant to decline, press Ctrl-C in the terminal.",
                stray.looks_like, stray.why
            ),
        );
    }
    let already_done = || {
        page(
            StatusCode::OK,
            "Already done",
            &format!(
                "keryx already received this authorisation for {}; you can close this tab.",
                shared.display_name
            ),
        )
    };
    if shared.answered.load(Ordering::SeqCst) {
        return already_done();
    }
    let who = Who {
        platform: &shared.platform,
        display_name: &shared.display_name,
    };
    match from_query(pairs, &shared.request, who) {
        Ok(None) => page(
            StatusCode::BAD_REQUEST,
            "No authorisation here",
            "This address carries no authorisation code. Open the URL keryx printed to start, \
             and approve there; keryx is still waiting.",
        ),
        // Two copies of the genuine redirect may race (a browser retrying); one answer wins.
        _ if shared.answered.swap(true, Ordering::SeqCst) => already_done(),
        Ok(Some(callback)) => {
            let _ = shared.outcomes.send(Ok(callback));
            page(
                StatusCode::OK,
                "Authorisation received",
                &format!(
                    "keryx received the authorisation for {}; you can close this tab.",
                    shared.display_name
                ),
            )
        }
        Err(error) => {
            let mut text = error.message().to_owned();
            if let Some(hint) = error.hint() {
                text.push_str(". ");
                text.push_str(hint);
            }
            let _ = shared.outcomes.send(Err(error));
            page(StatusCode::BAD_REQUEST, "Authorisation failed", &text)
        }
    }
}

/// A small self-contained HTML page. `text` may carry the provider's `error_description`, so
/// it is escaped: this page is served from 127.0.0.1 and must not run anything it was sent.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>keryx: {title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>{title}</h1>\
         <p>{}</p></body></html>\n",
        html_escape(text),
        title = html_escape(title),
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The URL that led here carries the code: keep it out of caches and Referer headers.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[tokio::test]
    async fn binds_loopback_only_and_builds_the_uri() {
        let bound = bind(None, "callback/").await.unwrap();
        let addr = bound.listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        assert_eq!(bound.path, "/callback/");
        assert_eq!(
            bound.redirect_uri,
            format!("http://127.0.0.1:{}/callback/", addr.port())
        );
    }
}
