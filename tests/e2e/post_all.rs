//! `keryx post all`: parallel fan-out, one preflight, the sidecar, the ledger, the summary,
//! through the real binary against both emulators at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;

const PLATFORMS: &[&str] = &["tiktok", "youtube"];

/// Both platforms on one emulator, both authorised (which enables them).
fn both() -> (Home, EmulatorProcess) {
    let mut home = Home::new();
    let emulator = EmulatorProcess::start(&home);
    configure_for_emulator(&mut home, &emulator, PLATFORMS, "");
    for platform in PLATFORMS {
        authorise(&home, &emulator, platform).expect_code(0);
    }
    (home, emulator)
}

fn small_video(home: &Home) -> String {
    video(home, "reel.mp4", 20, 1080, 1920, 3 * 1024 * 1024)
        .to_str()
        .unwrap()
        .to_string()
}

fn youtube_videos(emulator: &EmulatorProcess) -> u64 {
    emulator.stats("youtube")["videos"]["count"]
        .as_u64()
        .unwrap()
}

fn tiktok_posts(emulator: &EmulatorProcess) -> u64 {
    emulator.stats("tiktok")["posts_completed"]
        .as_u64()
        .unwrap()
}

fn ledger_path(home: &Home) -> std::path::PathBuf {
    home.state_dir().join("ledger.jsonl")
}

fn ledger_lines(home: &Home) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ledger_path(home))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a ledger line is JSON"))
        .collect()
}

fn entry<'a>(results: &'a serde_json::Value, platform: &str) -> &'a serde_json::Value {
    results
        .as_array()
        .expect("an array of results")
        .iter()
        .find(|e| e["platform"] == platform)
        .unwrap_or_else(|| panic!("no {platform} in {results}"))
}

/// Every key of the `--json` schema, in every element.
fn assert_schema(results: &serde_json::Value) {
    for entry in results.as_array().expect("an array") {
        for key in [
            "platform",
            "result",
            "status",
            "id",
            "post_id",
            "url",
            "privacy",
            "account",
            "account_name",
            "elapsed_secs",
            "posted_at",
            "notes",
            "errors",
            "plan",
        ] {
            assert!(entry.get(key).is_some(), "{key} missing from {entry}");
        }
        assert!(entry["notes"].is_array() && entry["errors"].is_array());
    }
}

#[test]
fn posts_to_every_platform_in_parallel() {
    let (home, emulator) = both();
    // Slow each platform down on its own side: YouTube asks the client to wait a second after
    // each chunk, TikTok answers "processing" for two polls (~2 s). Run one after the other,
    // the two windows could not overlap.
    emulator.configure("youtube", "retry_after_on_308: 1\n");
    emulator.configure("tiktok", "polls_until_complete: 2\n");
    let video = video(&home, "reel.mp4", 20, 1080, 1920, 40 * 1024 * 1024);
    let video = video.to_str().unwrap();

    let both_busy = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (both_busy, done) = (both_busy.clone(), done.clone());
        let base_url = emulator.base_url.clone();
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let stats = |platform: &str| -> serde_json::Value {
                http.get(format!("{base_url}/__emulator/{platform}/stats"))
                    .send()
                    .and_then(|r| r.json())
                    .unwrap_or_default()
            };
            while !done.load(Ordering::SeqCst) {
                let tiktok = stats("tiktok");
                let youtube = stats("youtube");
                // Between init and the end of processing, TikTok's post is in flight; between
                // opening a session and storing the video, YouTube's is.
                let tiktok_busy = tiktok["inits"].as_u64().unwrap_or(0) > 0
                    && tiktok["posts_completed"].as_u64() == Some(0);
                let youtube_busy = youtube["sessions_started"].as_u64().unwrap_or(0) > 0
                    && youtube["videos"]["count"].as_u64() == Some(0);
                if tiktok_busy && youtube_busy {
                    both_busy.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let run = home.run(&[
        "post", "all", video, "--yes", "--json", "--title", "Parallel",
    ]);
    let wall = started.elapsed();
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();

    run.expect_code(0);
    let results = run.json();
    assert_schema(&results);
    assert_eq!(results.as_array().unwrap().len(), 2, "{results}");
    for platform in PLATFORMS {
        let entry = entry(&results, platform);
        assert_eq!(entry["result"], "posted", "{entry}");
        assert!(entry["id"].is_string(), "{entry}");
        assert!(entry["privacy"].is_string(), "{entry}");
        assert!(entry["errors"].as_array().unwrap().is_empty());
    }
    assert_eq!(entry(&results, "tiktok")["privacy"], "SELF_ONLY");
    assert!(
        both_busy.load(Ordering::SeqCst),
        "the emulators never saw both posts in flight at once"
    );
    // Parallel: the whole command took less than the two posts back to back.
    let sum: f64 = results
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["elapsed_secs"].as_f64().unwrap())
        .sum();
    assert!(
        wall.as_secs_f64() < sum + 1.0,
        "wall {wall:?} vs posts {sum} s"
    );
    assert_eq!(tiktok_posts(&emulator), 1);
    assert_eq!(youtube_videos(&emulator), 1);
    // The bytes each emulator stored are the file's.
    let sha = emulator.stats("youtube")["videos"]["items"][0]["sha256"].clone();
    assert_eq!(emulator.stats("tiktok")["publishes"][0]["sha256"], sha);

    // The ledger: a started and a posted line per platform, with the file's fingerprint.
    let lines = ledger_lines(&home);
    assert_eq!(lines.len(), 4, "{lines:?}");
    for platform in PLATFORMS {
        let mine: Vec<_> = lines
            .iter()
            .filter(|l| l["platform"] == *platform)
            .collect();
        assert_eq!(mine[0]["result"], "started");
        assert_eq!(mine[1]["result"], "posted");
        assert_eq!(mine[0]["attempt"], mine[1]["attempt"]);
        assert_eq!(mine[1]["fingerprint"], sha);
        assert_eq!(mine[1]["v"], 1);
        assert_eq!(mine[1]["id"], entry(&results, platform)["id"]);
        assert!(mine[1]["finished_at"].is_string());
    }
}

#[test]
fn a_failure_does_not_stop_the_others_and_a_rerun_posts_only_what_is_missing() {
    let (home, emulator) = both();
    let video = small_video(&home);
    emulator.configure("tiktok", "fail_reason: spam_risk_too_many_posts\n");

    let run = home.run(&["post", "all", &video, "--yes", "--title", "Partial"]);
    run.expect_code(1);
    // The table shows both, and the error says what to do.
    let table = &run.stdout;
    assert!(table.contains("PLATFORM"), "{table}");
    let row = |p: &str| {
        table
            .lines()
            .find(|l| l.starts_with(p))
            .unwrap_or_else(|| panic!("no {p} row:\n{table}"))
            .to_string()
    };
    assert!(row("tiktok").contains("FAILED"), "{table}");
    assert!(row("youtube").contains("posted"), "{table}");
    assert!(
        row("youtube").contains("https://www.youtube.com/watch?v="),
        "{table}"
    );
    assert!(table.contains("tiktok: error:"), "{table}");
    assert!(table.contains("hint:"), "{table}");
    run.expect_stderr("run the same command again");
    assert_eq!(youtube_videos(&emulator), 1);
    assert_eq!(tiktok_posts(&emulator), 0);

    // Still failing: --json gives the array (and nothing else on stdout), exit 1.
    let run = home.run(&[
        "post", "all", &video, "--yes", "--title", "Partial", "--json",
    ]);
    run.expect_code(1);
    let results = run.json();
    assert_schema(&results);
    let tiktok = entry(&results, "tiktok");
    assert_eq!(tiktok["result"], "failed", "{tiktok}");
    assert!(tiktok["errors"][0]["message"].is_string(), "{tiktok}");
    assert!(tiktok["errors"][0]["hint"].is_string(), "{tiktok}");
    assert_eq!(entry(&results, "youtube")["result"], "already_posted");

    // The rerun: YouTube is skipped before any upload, TikTok is posted.
    emulator.configure("tiktok", "fail_reason: null\n");
    let puts_before = emulator.stats("youtube")["upload_puts"].clone();
    let run = home.run(&[
        "post", "all", &video, "--yes", "--title", "Partial", "--json",
    ]);
    run.expect_code(0);
    let results = run.json();
    assert_schema(&results);
    assert_eq!(entry(&results, "tiktok")["result"], "posted");
    let youtube = entry(&results, "youtube");
    assert_eq!(youtube["result"], "already_posted", "{youtube}");
    assert!(youtube["url"].as_str().unwrap().contains("watch?v="));
    assert!(youtube["posted_at"].is_string());
    run.expect_stderr("already posted at https://www.youtube.com/watch?v=")
        .expect_stderr("use --force to post again");
    assert_eq!(youtube_videos(&emulator), 1, "YouTube got the video twice");
    assert_eq!(emulator.stats("youtube")["upload_puts"], puts_before);
    assert_eq!(tiktok_posts(&emulator), 1);

    // A third run has nothing left to do.
    let run = home.run(&["post", "all", &video, "--yes", "--title", "Partial"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout.matches("already posted").count(),
        4,
        "{}",
        run.stdout
    );
    assert_eq!(tiktok_posts(&emulator), 1);
    assert_eq!(youtube_videos(&emulator), 1);

    // An explicit `keryx post <platform>` posts again, and says the ledger had it.
    home.run(&["post", "youtube", &video, "--yes", "--title", "Again"])
        .expect_code(0)
        .expect_stdout("the ledger already held this video on YouTube");
    assert_eq!(youtube_videos(&emulator), 2);
}

#[test]
fn force_posts_again() {
    let (home, emulator) = both();
    let video = small_video(&home);
    home.run(&["post", "all", &video, "--yes", "--title", "Once"])
        .expect_code(0);
    let run = home.run(&[
        "post", "all", &video, "--yes", "--title", "Once", "--force", "--json",
    ]);
    run.expect_code(0);
    let results = run.json();
    for platform in PLATFORMS {
        assert_eq!(entry(&results, platform)["result"], "posted", "{results}");
    }
    for platform in PLATFORMS {
        let notes = entry(&results, platform)["notes"].to_string();
        assert!(notes.contains("posted again as asked"), "{notes}");
    }
    assert_eq!(tiktok_posts(&emulator), 2);
    assert_eq!(youtube_videos(&emulator), 2);
    // --only and --skip narrow it; --force is only for `post all`.
    let run = home.run(&[
        "post", "all", &video, "--yes", "--title", "Once", "--force", "--skip", "tiktok", "--json",
    ]);
    run.expect_code(0);
    assert_eq!(run.json().as_array().unwrap().len(), 1);
    assert_eq!(youtube_videos(&emulator), 3);
    assert_eq!(tiktok_posts(&emulator), 2);
    home.run(&["post", "tiktok", &video, "--yes", "--force"])
        .expect_code(2)
        .expect_stderr("post all");
    home.run(&["post", "all", &video, "--yes", "--only", "myspace"])
        .expect_code(2)
        .expect_stderr("unknown platform");
}

#[test]
fn dry_run_sends_nothing() {
    let (home, emulator) = both();
    let video = small_video(&home);
    let run = home.run(&[
        "post",
        "all",
        &video,
        "--yes",
        "--dry-run",
        "--title",
        "Plan",
    ]);
    run.expect_code(0)
        .expect_stdout("nothing was sent")
        .expect_stdout("TikTok would get:")
        .expect_stdout("YouTube would get:")
        .expect_stdout("privacy: SELF_ONLY")
        .expect_stdout("privacy: private");
    let run = home.run(&[
        "post",
        "all",
        &video,
        "--yes",
        "--dry-run",
        "--title",
        "Plan",
        "--json",
    ]);
    run.expect_code(0);
    let results = run.json();
    assert_schema(&results);
    for platform in PLATFORMS {
        let entry = entry(&results, platform);
        assert_eq!(entry["result"], "dry_run");
        assert!(entry["plan"]["privacy"].is_string(), "{entry}");
        assert!(entry["plan"]["upload"].is_string(), "{entry}");
    }
    let tiktok = emulator.stats("tiktok");
    assert_eq!(tiktok["inits"], 0, "{tiktok}");
    assert_eq!(tiktok["upload_puts"], 0, "{tiktok}");
    let youtube = emulator.stats("youtube");
    assert_eq!(youtube["sessions_started"], 0, "{youtube}");
    assert_eq!(youtube["upload_puts"], 0, "{youtube}");
    assert!(ledger_lines(&home).is_empty(), "a dry run wrote the ledger");
}

#[test]
fn preflight_lists_every_problem_of_every_platform_and_sends_nothing() {
    let (home, emulator) = both();
    let video = small_video(&home);
    // Each platform gets something it refuses, from its own section of the sidecar.
    std::fs::write(
        home.path().join("reel.keryx.yaml"),
        "title: Problems\ntiktok: { privacy: private }\nyoutube: { privacy: SELF_ONLY }\n",
    )
    .unwrap();
    let run = home.run(&["post", "all", &video, "--yes"]);
    run.expect_code(2)
        .expect_stderr("preflight found 2 problem(s); nothing was sent")
        .expect_stderr("tiktok: ")
        .expect_stderr("`private`")
        .expect_stderr("youtube: ")
        .expect_stderr("SELF_ONLY");
    let run = home.run(&["post", "all", &video, "--yes", "--json"]);
    run.expect_code(2);
    let results = run.json();
    assert_schema(&results);
    for platform in PLATFORMS {
        let entry = entry(&results, platform);
        assert_eq!(entry["result"], "invalid", "{entry}");
        assert_eq!(entry["errors"].as_array().unwrap().len(), 1, "{entry}");
    }

    // A file that is not a video and a platform whose config is wrong: both in one list.
    let notes = home.path().join("notes.mp4");
    std::fs::write(&notes, "not a video at all, whatever the name says").unwrap();
    let config = home.config();
    assert!(config.contains("privacy: private"), "{config}");
    home.write_config(&config.replace("privacy: private", "privacy: sometimes"));
    let run = home.run(&["post", "all", notes.to_str().unwrap(), "--yes"]);
    run.expect_code(2)
        .expect_stderr("preflight found 2 problem(s)")
        .expect_stderr("not a video keryx can read")
        .expect_stderr("youtube: ")
        .expect_stderr("sometimes");
    home.write_config(&config);

    let tiktok = emulator.stats("tiktok");
    assert_eq!(tiktok["inits"], 0, "{tiktok}");
    assert_eq!(tiktok["upload_puts"], 0, "{tiktok}");
    let youtube = emulator.stats("youtube");
    assert_eq!(youtube["sessions_started"], 0, "{youtube}");
    assert!(ledger_lines(&home).is_empty());
}

#[test]
fn sidecar_fields_platform_sections_and_flags_in_that_order() {
    let (home, emulator) = both();
    let video = small_video(&home);
    std::fs::write(
        home.path().join("reel.keryx.yaml"),
        "title: Sunset timelapse\ndescription: Shot on the ridge.\ntags: [timelapse, sunset]\n\
         tiktok: { privacy: SELF_ONLY, ai_generated: true }\n\
         youtube: { title: Sunset (YouTube cut), category: \"19\" }\n",
    )
    .unwrap();
    let run = home.run(&[
        "post",
        "all",
        &video,
        "--yes",
        "--description",
        "From the flag.",
    ]);
    run.expect_code(0).expect_stderr("reel.keryx.yaml");

    let publish = &emulator.stats("tiktok")["publishes"][0];
    let caption = publish["post_info"]["title"].as_str().unwrap();
    assert_eq!(
        caption, "Sunset timelapse\n\nFrom the flag.\n\n#timelapse #sunset",
        "{publish}"
    );
    assert_eq!(publish["post_info"]["is_aigc"], true, "{publish}");
    let youtube = &emulator.stats("youtube")["videos"]["items"][0];
    assert_eq!(youtube["title"], "Sunset (YouTube cut)", "{youtube}");

    // The same sidecar, named with --meta, works for `keryx post <platform>`; a flag wins.
    let elsewhere = home.path().join("meta.yaml");
    std::fs::rename(home.path().join("reel.keryx.yaml"), &elsewhere).unwrap();
    home.run(&[
        "post",
        "youtube",
        &video,
        "--yes",
        "--meta",
        elsewhere.to_str().unwrap(),
        "--title",
        "Flag title",
    ])
    .expect_code(0);
    let items = emulator.stats("youtube")["videos"]["items"].clone();
    assert_eq!(items[1]["title"], "Flag title", "{items}");

    // An unknown key is an error naming the file and line, before anything is sent.
    std::fs::write(
        &elsewhere,
        "title: T\ntiktok:\n  privacy: SELF_ONLY\n  colour: red\n",
    )
    .unwrap();
    home.run(&[
        "post",
        "all",
        &video,
        "--yes",
        "--meta",
        elsewhere.to_str().unwrap(),
    ])
    .expect_code(2)
    .expect_stderr("meta.yaml:4:")
    .expect_stderr("unknown key `colour`");
}

#[test]
fn a_damaged_last_ledger_line_is_skipped_with_a_warning() {
    let (home, emulator) = both();
    let video = small_video(&home);
    home.run(&["post", "all", &video, "--yes", "--title", "Ledger"])
        .expect_code(0);
    // Power loss in the middle of writing a record.
    let mut text = std::fs::read_to_string(ledger_path(&home)).unwrap();
    text.push_str("{\"v\":1,\"attempt\":\"0123\",\"fingerp");
    std::fs::write(ledger_path(&home), text).unwrap();

    let run = home.run(&[
        "post", "all", &video, "--yes", "--title", "Ledger", "--json",
    ]);
    run.expect_code(0)
        .expect_stderr("ledger.jsonl:5: skipped a damaged ledger line");
    for platform in PLATFORMS {
        assert_eq!(entry(&run.json(), platform)["result"], "already_posted");
    }
    assert_eq!(tiktok_posts(&emulator), 1);
    assert_eq!(youtube_videos(&emulator), 1);

    let history = home.run(&["history", "--json"]);
    history.expect_code(0).expect_stderr("damaged");
    let attempts = history.json();
    let attempts = attempts.as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts.iter().all(|a| a["result"] == "posted"));
    let table = home.run(&["history"]);
    table
        .expect_code(0)
        .expect_stdout("posted")
        .expect_stdout("reel.mp4")
        .expect_stdout("https://www.youtube.com/watch?v=");

    // The next record starts on a line of its own.
    home.run(&["post", "tiktok", &video, "--yes"])
        .expect_code(0);
    let history = home.run(&["history", "--json"]).json();
    assert_eq!(history.as_array().unwrap().len(), 3);
}

#[test]
fn an_interrupted_post_is_resumed_on_the_rerun() {
    let (home, emulator) = both();
    // Slow YouTube down so the process can be killed mid-upload.
    emulator.configure("youtube", "retry_after_on_308: 2\n");
    let video = video(&home, "reel.mp4", 20, 1080, 1920, 40 * 1024 * 1024);
    let video = video.to_str().unwrap();
    let mut child = home.spawn(&[
        "post", "all", video, "--yes", "--only", "youtube", "--title", "Cut",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    // Killed once bytes are stored and the attempt is in the ledger (its `started` record is
    // written as soon as the video's hash is known, while the upload runs).
    while emulator.stats("youtube")["bytes_committed"]
        .as_u64()
        .unwrap_or(0)
        == 0
        || ledger_lines(&home).is_empty()
    {
        assert!(Instant::now() < deadline, "the upload never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "keryx ended before the upload"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = ledger_lines(&home);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["result"], "started");
    let unfinished = home.run(&["history"]);
    unfinished.expect_code(0).expect_stdout("unfinished");

    emulator.configure("youtube", "retry_after_on_308: null\n");
    let run = home.run(&[
        "post", "all", video, "--yes", "--only", "youtube", "--title", "Cut",
    ]);
    run.expect_code(0).expect_stdout("never finished");
    let stats = emulator.stats("youtube");
    assert_eq!(stats["sessions_started"], 1, "not resumed: {stats}");
    assert_eq!(stats["videos"]["count"], 1, "{stats}");
    let history = home.run(&["history", "--json"]).json();
    let results: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(results, ["started", "posted"]);
}

/// One exit code speaks for every target: bad input (2) over authorisation required (4) over a
/// platform failure (1).
#[test]
fn the_exit_code_is_the_most_serious_targets() {
    let (home, emulator) = both();
    let video = small_video(&home);
    // The user removed keryx's access to YouTube: preflight finds it before a byte is sent,
    // and YouTube fails alone (exit 4) while TikTok posts.
    emulator.configure("youtube", "revoke_refresh_tokens: true\n");
    home.run(&["post", "all", &video, "--yes"])
        .expect_code(4)
        .expect_stdout("youtube: error: ")
        .expect_stdout("keryx auth youtube");
    assert_eq!(tiktok_posts(&emulator), 1);
    // Bad input for TikTok as well (more open than the config's cap): that must be fixed
    // first, so it decides, and nothing is sent.
    let other = crate::support::video(&home, "other.mp4", 20, 1080, 1920, 3 * 1024 * 1024 + 4096);
    std::fs::write(
        home.path().join("other.keryx.yaml"),
        "tiktok: { privacy: PUBLIC_TO_EVERYONE }\n",
    )
    .unwrap();
    home.run(&["post", "all", other.to_str().unwrap(), "--yes"])
        .expect_code(2)
        .expect_stderr("keryx auth youtube")
        .expect_stderr("more open than the config allows");
    assert_eq!(tiktok_posts(&emulator), 1);
    assert_eq!(youtube_videos(&emulator), 0);
}

/// Without questions to ask (`--yes`), every platform's preflight runs at once: while TikTok's
/// token request hangs unanswered, YouTube's refresh is already done.
#[test]
fn preflight_checks_every_platform_at_once() {
    let (mut home, emulator) = both();
    // Long enough that YouTube's refresh on loopback is over well before TikTok retries.
    home.set_env("KERYX_REPLY_TIMEOUT_MS", "3000");
    let video = small_video(&home);
    emulator.stall("POST", "/v2/oauth/token/", 1);
    home.run(&["post", "all", &video, "--yes", "--dry-run"])
        .expect_code(0);
    assert_eq!(emulator.stalled(), 1);
    let whole = emulator.log();
    // What came after the stall was set up (the authorisations before it refreshed too).
    let log = &whole[whole
        .find("POST /__emulator/stall")
        .expect("the stall is logged")..];
    let position = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in the emulator log:\n{log}"))
    };
    assert!(
        position("POST /token 200") < position("POST /v2/oauth/token/ 200"),
        "YouTube's refresh waited for TikTok's stalled one:\n{log}"
    );
}

/// Two `keryx post all` of the same new file started at the same moment: the second waits for
/// the first's claim on each platform and then finds its post in the ledger. One post each.
#[test]
fn two_concurrent_runs_of_one_file_post_it_once() {
    let (home, emulator) = both();
    let video = small_video(&home);
    let runs: Vec<_> = (0..2)
        .map(|_| home.spawn(&["post", "all", &video, "--yes", "--json"]))
        .collect();
    let mut outputs = Vec::new();
    for mut child in runs {
        let status = wait_with_timeout(&mut child, Duration::from_secs(120));
        let mut stdout = String::new();
        let mut stderr = String::new();
        use std::io::Read;
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
        outputs.push(serde_json::from_str::<serde_json::Value>(&stdout).expect("--json"));
    }
    assert_eq!(tiktok_posts(&emulator), 1, "TikTok got the file twice");
    assert_eq!(youtube_videos(&emulator), 1, "YouTube got the file twice");
    for platform in PLATFORMS {
        let mut results: Vec<&str> = outputs
            .iter()
            .map(|o| entry(o, platform)["result"].as_str().unwrap())
            .collect();
        results.sort_unstable();
        assert_eq!(results, ["already_posted", "posted"], "{platform}");
    }
    let posted = ledger_lines(&home)
        .iter()
        .filter(|l| l["result"] == "posted")
        .count();
    assert_eq!(posted, 2, "one posted record per platform");
}

/// A rerun of the same file takes its fingerprint from the state dir instead of hashing again,
/// and still finds the post; a changed file is hashed again and posted.
#[test]
fn a_rerun_does_not_hash_the_same_file_again() {
    let (home, emulator) = both();
    let video = small_video(&home);
    home.run(&["post", "all", &video, "--yes"]).expect_code(0);
    let rerun = home.run(&["post", "all", &video, "--yes", "-v"]);
    rerun
        .expect_code(0)
        .expect_stderr("remembered from an earlier run");
    assert_eq!(
        rerun.stdout.matches("already posted").count(),
        4,
        "{}",
        rerun.stdout
    );
    // Same size, other bytes: a new version of the file, hashed and posted again.
    let mut bytes = std::fs::read(&video).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&video, &bytes).unwrap();
    let changed = home.run(&["post", "all", &video, "--yes", "-v"]);
    changed.expect_code(0);
    assert!(
        !changed.stderr.contains("remembered from an earlier run"),
        "{}",
        changed.stderr
    );
    assert_eq!(tiktok_posts(&emulator), 2);
    assert_eq!(youtube_videos(&emulator), 2);
}
