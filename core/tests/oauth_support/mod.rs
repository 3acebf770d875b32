//! Shared by the OAuth integration tests: a recording Ui, a Context on temp dirs, a FlowSpec
//! whose authorize URL reports each request to the test.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keryx_core::config::{Config, SecretsMode};
use keryx_core::oauth::AuthRequest;
use keryx_core::paths::Paths;
use keryx_core::secrets::SecretStore;
use keryx_core::{AuthOptions, Context, Prompter, Ui};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Records every message, by kind: `info`, `show`, `warn`.
#[derive(Default)]
pub struct TestUi {
    pub messages: Mutex<Vec<(&'static str, String)>>,
}

impl TestUi {
    pub fn all(&self) -> Vec<(&'static str, String)> {
        self.messages.lock().unwrap().clone()
    }

    pub fn of(&self, kind: &str) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, m)| m)
            .collect()
    }

    pub fn text(&self) -> String {
        self.all()
            .into_iter()
            .map(|(_, m)| m)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Ui for TestUi {
    fn info(&self, message: &str) {
        self.messages
            .lock()
            .unwrap()
            .push(("info", message.to_owned()));
    }
    fn show(&self, message: &str) {
        self.messages
            .lock()
            .unwrap()
            .push(("show", message.to_owned()));
    }
    fn warn(&self, message: &str) {
        self.messages
            .lock()
            .unwrap()
            .push(("warn", message.to_owned()));
    }
    fn prompter(&self) -> Option<&dyn Prompter> {
        None
    }
}

/// A Context whose config and state live under `root` (a second call with the same root is a
/// "second process" sharing the state directory).
pub fn context(root: &Path) -> (Context, Arc<TestUi>) {
    let ui = Arc::new(TestUi::default());
    let config_file = root.join("config.yaml");
    let paths = Paths {
        config_file: config_file.clone(),
        state_dir: root.join("state"),
    };
    let config = Config::load(&config_file, &[]).unwrap();
    let secrets = SecretStore::new(SecretsMode::File, &config_file, ui.clone());
    let ctx = Context::new(config, paths, secrets, reqwest::Client::new(), ui.clone());
    (ctx, ui)
}

pub fn pending_path(root: &Path, platform: &str) -> PathBuf {
    root.join("state")
        .join("pending")
        .join(format!("{platform}.json"))
}

pub fn options() -> AuthOptions {
    AuthOptions {
        code: None,
        redirect: None,
        no_browser: true,
        timeout: Duration::from_secs(20),
        client_secrets: None,
        platform_options: Default::default(),
        app_password: false,
    }
}

/// An authorize-URL builder that sends each request to the returned receiver.
pub fn authorize_url_reporting() -> (
    impl Fn(&AuthRequest) -> String + Send + Sync + 'static,
    UnboundedReceiver<AuthRequest>,
) {
    let (tx, rx): (UnboundedSender<AuthRequest>, _) = unbounded_channel();
    let build = move |request: &AuthRequest| {
        let _ = tx.send(request.clone());
        authorize_url_for(request, "https://auth.example/authorize")
    };
    (build, rx)
}

/// `<base>?response_type=code&redirect_uri=…&state=…&code_challenge=…`, like a real provider's.
pub fn authorize_url_for(request: &AuthRequest, base: &str) -> String {
    let mut url = url::Url::parse(base).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &request.redirect_uri)
        .append_pair("state", &request.state)
        .append_pair(
            "code_challenge",
            &keryx_core::oauth::challenge_s256(request.verifier.expose()),
        )
        .append_pair("code_challenge_method", "S256");
    url.into()
}
