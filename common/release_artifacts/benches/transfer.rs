//! Benchmark: upload and download of a front-end-shaped tree through a local S3 server, ours
//! (streaming, multipart, parallel ranges) against the naive way (tar.gz to a temporary file and
//! one PUT; one GET to a file, then untar). Each side runs in its own child process, which
//! reports its wall time and peak memory (`VmHWM`).
//!
//! `cargo bench -p release_artifacts --bench transfer [-- --size-mib N --rounds N --s3-like
//! --mbps N]` (default 256 MiB, 5 rounds), under `$TMPDIR` (`TMPDIR=/dev/shm` keeps the disk
//! out of the comparison); `--s3-like` puts a proxy in front of the server that gives each
//! request 20 ms of latency and each connection 90 MB/s each way, as S3 does (it serves more to
//! parallel connections); `--mbps N` sets another rate per connection (a slow link shows that
//! memory stays bounded); `--ours-only` skips the naive side, for tuning;
//! `cargo test -p release_artifacts --bench transfer` runs a short 16 MiB round.

// A benchmark program: it may stop with a clear message when its own setup fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::cast_precision_loss)]

use aws_sdk_s3::primitives::ByteStream;
use release_artifacts::{Log, Settings, Store, load_release, upload_release};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use test_support::fault_proxy::FaultProxy;
use test_support::s3_server::{ACCESS_KEY_ID, S3Server, SECRET_ACCESS_KEY};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--child") {
        // As the programs do.
        release_artifacts::allocator::limit_fragmentation();
        child(&args[position + 1..]);
        return;
    }
    let full = args.iter().any(|arg| arg == "--bench");
    let number = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|value| value.parse::<u64>().ok())
    };
    let size_mib = number("--size-mib").unwrap_or(if full { 256 } else { 16 });
    let network = (args.iter().any(|arg| arg == "--s3-like") || number("--mbps").is_some())
        .then(|| number("--mbps").unwrap_or(90));
    let rounds = number("--rounds").unwrap_or(if size_mib >= 64 { 5 } else { 1 });
    let sides: &[&str] = if args.iter().any(|arg| arg == "--ours-only") {
        &["ours"]
    } else {
        &["ours", "naive"]
    };
    parent(size_mib, network, rounds, sides);
}

/// Writes a deterministic tree of about `size_mib` MiB shaped like a front-end build: thousands
/// of small text files (JS, CSS, HTML, maps) and some incompressible images.
fn generate_tree(dir: &Path, size_mib: u64) -> (u64, u64) {
    const WORDS: &[&str] = &[
        "function",
        "return",
        "const",
        "let",
        "=>",
        "{",
        "}",
        "(",
        ")",
        ";",
        "import",
        "export",
        "default",
        "class",
        "extends",
        "this",
        "props",
        "state",
        "render",
        "div",
        "span",
        "className",
        "onClick",
        "useEffect",
        "useState",
        "async",
        "await",
        "fetch",
        "then",
        "color:",
        "margin:",
        "padding:",
        "display:flex;",
        "0px",
        "1rem",
        "#fff",
        "var(--x)",
    ];
    let mut random = fastrand::Rng::with_seed(42);
    let target = size_mib * 1024 * 1024;
    let (mut written, mut files) = (0u64, 0u64);
    let mut index = 0u64;
    while written < target {
        let folder = dir.join(format!("static/chunk-{:03}/part-{}", index % 97, index % 7));
        std::fs::create_dir_all(&folder).unwrap();
        let (name, bytes) = if index % 50 == 49 {
            // An image: incompressible, 100 KiB to 1.5 MiB.
            let len = random.usize(100 * 1024..1536 * 1024);
            let data: Vec<u8> = (0..len).map(|_| random.u8(..)).collect();
            (format!("img-{index}.png"), data)
        } else {
            let len = random.usize(512..64 * 1024);
            let mut text = String::with_capacity(len + 16);
            while text.len() < len {
                text.push_str(WORDS[random.usize(..WORDS.len())]);
                text.push(if random.u8(..) < 20 { '\n' } else { ' ' });
                if random.u8(..) < 3 {
                    text.push('v');
                    text.push_str(&random.u32(..100_000).to_string());
                }
            }
            let extension = ["js", "css", "html", "map", "json"][(index % 5) as usize];
            (format!("file-{index}.{extension}"), text.into_bytes())
        };
        std::fs::write(folder.join(name), &bytes).unwrap();
        written += bytes.len() as u64;
        files += 1;
        index += 1;
    }
    (written, files)
}

/// One measured run of a child process.
struct Run {
    seconds: f64,
    peak_mib: f64,
}

/// Runs one child process and reads the peak memory it reports.
fn run_child(mode: &str, endpoint: &str, dir: &Path, release: &str) -> Run {
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--child",
            mode,
            endpoint,
            &dir.display().to_string(),
            release,
        ])
        .env("TMPDIR", dir.parent().unwrap())
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "{mode} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let peak_kib: f64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("peak_kib="))
        .and_then(|value| value.trim().parse().ok())
        .expect("the child reports its peak memory");
    Run {
        seconds,
        peak_mib: peak_kib / 1024.0,
    }
}

#[allow(clippy::too_many_lines)] // one report, read top to bottom
/// `network`: MB/s per connection through a proxy that also adds 20 ms per request.
/// `sides`: ours, and the naive way unless only ours is being tuned.
fn parent(size_mib: u64, network: Option<u64>, rounds: u64, sides: &[&str]) {
    // Everything (tree, store, outputs) lives under $TMPDIR: set TMPDIR=/dev/shm to take the
    // disk out of the comparison.
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("static-artifacts");
    let started = Instant::now();
    let (bytes, files) = generate_tree(&tree, size_mib);
    eprintln!(
        "Generated {files} files, {:.1} MiB in {:.1}s",
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );
    let server = S3Server::start().unwrap();
    let proxy = network.map(|mbps| {
        let proxy = FaultProxy::start(server.endpoint()).unwrap();
        proxy.set_latency(Duration::from_millis(20));
        proxy.set_bandwidth(Some(mbps * 1_000_000));
        proxy
    });
    let endpoint = proxy
        .as_ref()
        .map_or_else(|| server.endpoint().to_string(), FaultProxy::endpoint);

    // Ours and naive alternate (and swap order each round) so that both meet the same state of
    // the machine, whose disk slows down as trees are written and deleted.
    let mut runs: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
    for round in 0..rounds {
        let mut order = sides.to_vec();
        if round % 2 == 1 {
            order.reverse();
        }
        for &side in &order {
            let release = format!("{side}-{round}");
            let up = run_child(&format!("{side}-upload"), &endpoint, &tree, &release);
            runs.entry(if side == "ours" {
                "ours-up"
            } else {
                "naive-up"
            })
            .or_default()
            .push(up);
        }
        for &side in &order {
            let out = work.path().join(format!("{side}-out"));
            if out.exists() {
                std::fs::remove_dir_all(&out).unwrap();
            }
            nix::unistd::sync();
            let down = run_child(
                &format!("{side}-download"),
                &endpoint,
                &out,
                &format!("{side}-0"),
            );
            runs.entry(if side == "ours" {
                "ours-down"
            } else {
                "naive-down"
            })
            .or_default()
            .push(down);
        }
    }
    for (name, list) in &runs {
        let times: Vec<String> = list
            .iter()
            .map(|run| format!("{:.2}s/{:.0}MiB", run.seconds, run.peak_mib))
            .collect();
        eprintln!("{name}: {}", times.join(", "));
    }
    if sides.len() == 1 {
        return;
    }
    let median = |name: &str| -> Run {
        let mut list: Vec<&Run> = runs[name].iter().collect();
        list.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let middle = list[list.len() / 2];
        let peak = runs[name]
            .iter()
            .map(|run| run.peak_mib)
            .fold(0.0, f64::max);
        Run {
            seconds: middle.seconds,
            peak_mib: peak,
        }
    };
    let (ours_up, naive_up, ours_down, naive_down) = (
        median("ours-up"),
        median("naive-up"),
        median("ours-down"),
        median("naive-down"),
    );
    for out in ["ours-out", "naive-out"] {
        let count = count_files(&work.path().join(out));
        assert_eq!(count, files, "{out} holds every file");
    }
    let archive_size = |name: &str| {
        std::fs::read_dir(server.bucket_dir("artifacts").join("bench"))
            .unwrap()
            .filter_map(Result::ok)
            .find(|entry| entry.file_name().to_string_lossy().starts_with(name))
            .map_or(0, |entry| entry.metadata().unwrap().len())
    };

    if let Some(mbps) = network {
        println!("Network: 20 ms per request, {mbps} MB/s per connection each way (a proxy)");
    }
    println!(
        "Tree: {files} files, {:.1} MiB; {} CPUs",
        bytes as f64 / 1_048_576.0,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "Archives: ours {:.1} MiB (tar.zst), naive {:.1} MiB (tar.gz)\n",
        archive_size("release-ours-0.tar.zst") as f64 / 1_048_576.0,
        archive_size("naive.tgz") as f64 / 1_048_576.0
    );
    println!(
        "| direction | ours: time | ours: peak memory | naive: time | naive: peak memory | speed-up |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (direction, ours, naive) in [
        ("upload", &ours_up, &naive_up),
        ("download", &ours_down, &naive_down),
    ] {
        println!(
            "| {direction} | {:.2} s | {:.1} MiB | {:.2} s | {:.1} MiB | {:.1}x |",
            ours.seconds,
            ours.peak_mib,
            naive.seconds,
            naive.peak_mib,
            naive.seconds / ours.seconds
        );
    }
}

fn count_files(dir: &Path) -> u64 {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            count += count_files(&entry.path());
        } else {
            count += 1;
        }
    }
    count
}

fn settings(endpoint: &str, release: &str) -> Settings {
    let vars = [
        ("STATIC_ARTIFACTS_URL", "s3://artifacts/bench".to_string()),
        ("STATIC_ARTIFACTS_ENDPOINT", endpoint.to_string()),
        ("STATIC_ARTIFACTS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_string()),
        (
            "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
            SECRET_ACCESS_KEY.to_string(),
        ),
        ("RELEASE_ID", release.to_string()),
    ];
    Settings::from_vars(
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        },
        Path::new("/nonexistent"),
    )
    .unwrap()
}

fn child(args: &[String]) {
    let (mode, endpoint, dir, release) = (&args[0], &args[1], PathBuf::from(&args[2]), &args[3]);
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(2, 4))
        .enable_all()
        .build()
        .unwrap();
    let settings = settings(endpoint, release);
    let log = Log::new(Box::new(std::io::sink()), "", Duration::from_hours(1));
    runtime.block_on(async {
        let store = Store::connect(&settings).await.unwrap();
        match mode.as_str() {
            "ours-upload" => {
                upload_release(&store, &settings, &dir, &log).await.unwrap();
            }
            "ours-download" => {
                load_release(
                    &store,
                    &settings,
                    &dir,
                    &log,
                    Instant::now() + Duration::from_mins(10),
                )
                .await
                .unwrap();
            }
            "naive-upload" => naive_upload(endpoint, &dir).await,
            "naive-download" => naive_download(endpoint, &dir).await,
            other => panic!("unknown mode {other}"),
        }
    });
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .unwrap();
    println!("peak_kib={}", peak.trim().trim_end_matches("kB").trim());
    if let Ok(usage) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        let seconds =
            |time: nix::sys::time::TimeVal| time.tv_sec() as f64 + time.tv_usec() as f64 / 1e6;
        eprintln!(
            "{mode}: user {:.2}s, system {:.2}s",
            seconds(usage.user_time()),
            seconds(usage.system_time())
        );
    }
    std::io::stdout().flush().unwrap();
}

fn client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "bench",
        ))
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// tar.gz to a temporary file, then one PUT.
async fn naive_upload(endpoint: &str, dir: &Path) {
    let archive = tempfile::NamedTempFile::new().unwrap();
    let file = archive.reopen().unwrap();
    let source = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let gzip = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut builder = tar::Builder::new(gzip);
        builder.append_dir_all(".", &source).unwrap();
        builder.into_inner().unwrap().finish().unwrap();
    })
    .await
    .unwrap();
    client(endpoint)
        .put_object()
        .bucket("artifacts")
        .key("bench/naive.tgz")
        .body(ByteStream::from_path(archive.path()).await.unwrap())
        .send()
        .await
        .unwrap();
}

/// One GET to a temporary file (written as the SDK's own example does), then untar.
async fn naive_download(endpoint: &str, dir: &Path) {
    let mut output = client(endpoint)
        .get_object()
        .bucket("artifacts")
        .key("bench/naive.tgz")
        .send()
        .await
        .unwrap();
    let mut archive = tempfile::NamedTempFile::new().unwrap();
    while let Some(bytes) = output.body.try_next().await.unwrap() {
        archive.write_all(&bytes).unwrap();
    }
    let path = archive.path().to_path_buf();
    let dest = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path).unwrap();
        tar::Archive::new(flate2::read::GzDecoder::new(file))
            .unpack(dest)
            .unwrap();
    })
    .await
    .unwrap();
    drop(archive);
}
