//! The real stdin: a pasted line on the process's stdin finishes the flow, and the process
//! exits afterwards even though stdin is still open (the reader must not keep it alive).
//!
//! The flow runs in a child process (this test binary re-run on one ignored test), so that its
//! stdin is a pipe this test controls.

mod oauth_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keryx_core::oauth::{AuthRequest, FlowSpec, obtain_code};
use oauth_support::{authorize_url_reporting, context, options};

const CHILD_ENV: &str = "KERYX_OAUTH_STDIN_CHILD_ROOT";

#[test]
fn a_line_on_real_stdin_finishes_the_flow_and_the_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_flow_on_real_stdin",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut transcript = String::new();
    let mut line = String::new();
    let redirect = loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("the child ended before showing its redirect:\n{transcript}");
        }
        transcript.push_str(&line);
        // libtest's "test … ..." has no newline before the test's own output.
        if let Some((_, url)) = line.split_once("PASTE ") {
            break url.trim().to_owned();
        }
    };
    // Junk first: it must be warned about, not end the flow.
    writeln!(stdin, "not a code at all").unwrap();
    writeln!(stdin, "{redirect}").unwrap();
    stdin.flush().unwrap();

    // stdin stays open (held here) while the child must exit on its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the child did not exit while its stdin was open: the stdin reader keeps the process alive"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    transcript.push_str(&rest);
    drop(stdin);
    assert!(status.success(), "child failed:\n{transcript}");
    assert!(transcript.contains("CODE OK"), "{transcript}");
    assert!(transcript.contains("WARNED 1"), "{transcript}");
}

#[tokio::test]
#[ignore = "the child half of a_line_on_real_stdin_finishes_the_flow_and_the_process_exits"]
async fn child_flow_on_real_stdin() {
    let Some(root) = std::env::var_os(CHILD_ENV) else {
        eprintln!("run only by a_line_on_real_stdin_finishes_the_flow_and_the_process_exits");
        return;
    };
    let (ctx, ui) = context(std::path::Path::new(&root));
    let (build, mut requests) = authorize_url_reporting();
    let authorize_url: &(dyn Fn(&AuthRequest) -> String + Send + Sync) = &build;
    let spec = FlowSpec {
        platform: "fake",
        display_name: "Fake",
        callback_path: "/callback/",
        authorize_url,
    };
    let options = options();
    let announce = async {
        let r = requests.recv().await.unwrap();
        println!(
            "PASTE {}?code=pasted%2Fon%2Astdin&state={}",
            r.redirect_uri, r.state
        );
        std::io::stdout().flush().unwrap();
    };
    let (result, ()) = tokio::join!(obtain_code(&ctx, &spec, &options), announce);
    assert_eq!(result.unwrap().code.expose(), "pasted/on*stdin");
    println!("WARNED {}", ui.of("warn").len());
    println!("CODE OK");
}
