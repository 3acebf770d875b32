//! `keryx-bench`: the in-process measurements behind `docs/performance.md`, driven by
//! `bench/run`. They used to be two `#[ignore]`d tests (a timed assertion has no place in a
//! test suite); here they only measure and print one JSON line each.
//!
//! ```text
//! keryx-bench mp4 PATH BYTES [SECONDS]   a sparse synthetic MP4 (1080x1920) of exactly BYTES
//! keryx-bench realfile PATH MIB          MIB MiB of patterned bytes (no holes), fsync'd
//! keryx-bench fingerprint FILE [RUNS]    keryx_core::media::fingerprint, best of RUNS (3)
//! keryx-bench readonly FILE [RUNS]       the same reads without hashing, best of RUNS (3)
//! keryx-bench sink                       an HTTP/1.1 sink: reads each request's Content-Length
//!                                        bytes, answers 201; prints {"url": ...}, runs until killed
//! keryx-bench upload-body FILE URL       PUTs FILE through keryx_core::upload::file_range_body
//!                                        with keryx's HTTP client
//! keryx-bench put-chunks FILE URL PLAN [TOKEN]
//!                                        PUTs the ranges in PLAN (`offset length` lines) in
//!                                        order, with Content-Range: the clients' chunk loop
//! ```

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Fallible<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(err) = runtime.block_on(run(&args)) {
        eprintln!("keryx-bench: {err}");
        std::process::exit(1);
    }
}

async fn run(args: &[String]) -> Fallible<()> {
    let arg = |i: usize| -> Fallible<&str> {
        args.get(i).map(String::as_str).ok_or_else(|| {
            format!("missing argument {i}; see the usage in bench/src/main.rs").into()
        })
    };
    let runs = |i: usize| -> Fallible<u32> {
        Ok(args.get(i).map(|s| s.parse()).transpose()?.unwrap_or(3))
    };
    match arg(0)? {
        "mp4" => {
            let seconds: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(60);
            keryx_core::media::synthetic::write_mp4(
                Path::new(arg(1)?),
                Duration::from_secs(seconds),
                1080,
                1920,
                arg(2)?.parse()?,
            )?;
        }
        "realfile" => realfile(Path::new(arg(1)?), arg(2)?.parse()?)?,
        "fingerprint" => {
            let path = Path::new(arg(1)?);
            let size = std::fs::metadata(path)?.len();
            let mut best = Duration::MAX;
            let mut hex = String::new();
            for _ in 0..runs(2)? {
                let started = Instant::now();
                hex = keryx_core::media::fingerprint(path).await?;
                best = best.min(started.elapsed());
            }
            print_rate("fingerprint", size, best, &[("sha256", hex.into())]);
        }
        "readonly" => {
            let path = Path::new(arg(1)?);
            let size = std::fs::metadata(path)?.len();
            let mut best = Duration::MAX;
            for _ in 0..runs(2)? {
                let started = Instant::now();
                read_all(path)?;
                best = best.min(started.elapsed());
            }
            print_rate("read", size, best, &[]);
        }
        "sink" => sink().await?,
        "upload-body" => upload_body(Path::new(arg(1)?), arg(2)?).await?,
        "put-chunks" => {
            let bearer = args.get(4).map(String::as_str);
            put_chunks(Path::new(arg(1)?), arg(2)?, Path::new(arg(3)?), bearer).await?
        }
        other => return Err(format!("unknown command {other:?}; see bench/src/main.rs").into()),
    }
    Ok(())
}

fn print_rate(what: &str, bytes: u64, elapsed: Duration, extra: &[(&str, serde_json::Value)]) {
    let mut out = serde_json::json!({
        "what": what,
        "bytes": bytes,
        "seconds": elapsed.as_secs_f64(),
        "mib_per_s": bytes as f64 / MIB / elapsed.as_secs_f64(),
        "peak_rss_kib": peak_rss_kib(),
    });
    for (key, value) in extra {
        out[*key] = value.clone();
    }
    println!("{out}");
}

/// VmHWM of this process, in KiB.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Bytes that differ at every position (each 1 MiB block starts with its index), written for
/// real so hashing reads the page cache, not a hole.
fn realfile(path: &Path, mib: u32) -> Fallible<()> {
    let block: Vec<u8> = (0..1usize << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..mib {
        file.write_all(&i.to_be_bytes())?;
        file.write_all(&block[4..])?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

fn read_all(path: &Path) -> Fallible<()> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    while file.read(&mut buf)? > 0 {}
    Ok(())
}

/// One request after another on each connection (curl `--next` reuses it): head, then exactly
/// Content-Length bytes, thrown away; `201 Created` with an empty body.
async fn sink() -> Fallible<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "{}",
        serde_json::json!({ "url": format!("http://{}/", listener.local_addr()?) })
    );
    std::io::stdout().flush()?;
    loop {
        let (socket, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = serve_connection(socket).await;
        });
    }
}

async fn serve_connection(mut socket: TcpStream) -> Fallible<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut have = 0usize;
    loop {
        // The head.
        let head_end = loop {
            if let Some(at) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if have == buf.len() {
                return Err("request head too long".into());
            }
            let n = socket.read(&mut buf[have..]).await?;
            if n == 0 {
                return Ok(());
            }
            have += n;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: u64 = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse())
            .transpose()?
            .unwrap_or(0);
        // The body: what came with the head, then the rest.
        let mut left = length;
        let extra = (have - head_end) as u64;
        let used = extra.min(left);
        left -= used;
        let after = head_end + used as usize;
        buf.copy_within(after..have, 0);
        have -= after;
        while left > 0 {
            let want = (left as usize).min(buf.len());
            let n = socket.read(&mut buf[..want]).await?;
            if n == 0 {
                return Ok(());
            }
            left -= n as u64;
        }
        socket
            .write_all(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
            .await?;
    }
}

/// PUTs the byte ranges listed in PLAN (`offset length` per line) of FILE to URL, one after the
/// other on one pooled connection, each with its `Content-Range`: the platform clients' chunk
/// loop (the same body and HTTP client) without the rest of `keryx post` around it.
async fn put_chunks(path: &Path, url: &str, plan: &Path, bearer: Option<&str>) -> Fallible<()> {
    let size = std::fs::metadata(path)?.len();
    let mut ranges = Vec::new();
    for line in std::fs::read_to_string(plan)?.lines() {
        let mut fields = line.split_whitespace().map(str::parse::<u64>);
        match (fields.next(), fields.next()) {
            (Some(offset), Some(len)) => ranges.push((offset?, len?)),
            _ => return Err(format!("{}: not `offset length`: {line:?}", plan.display()).into()),
        }
    }
    let client = keryx_core::http::client()?;
    let started = Instant::now();
    let mut last = 0;
    for (offset, len) in ranges {
        let body = keryx_core::upload::file_range_body(path, offset, len, None)?;
        let mut request = client
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, "video/mp4")
            .header(reqwest::header::CONTENT_LENGTH, len)
            .header(
                reqwest::header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", offset, offset + len - 1, size),
            )
            .body(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await?;
        last = reply.status().as_u16();
        if !matches!(last, 200 | 201 | 206 | 308) {
            return Err(format!("chunk at {offset} got {last}: {}", reply.text().await?).into());
        }
        reply.bytes().await?;
    }
    let elapsed = started.elapsed();
    print_rate("put-chunks", size, elapsed, &[("last_status", last.into())]);
    Ok(())
}

/// The upload body alone: one PUT of the whole file, the way the platform clients send a chunk.
async fn upload_body(path: &Path, url: &str) -> Fallible<()> {
    let size = std::fs::metadata(path)?.len();
    let client = keryx_core::http::client()?;
    let started = Instant::now();
    let body = keryx_core::upload::file_range_body(path, 0, size, None)?;
    let reply = client
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, "video/mp4")
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(body)
        .send()
        .await?;
    let elapsed = started.elapsed();
    if reply.status() != 201 {
        return Err(format!("the sink answered {}", reply.status()).into());
    }
    print_rate("upload-body", size, elapsed, &[]);
    Ok(())
}
