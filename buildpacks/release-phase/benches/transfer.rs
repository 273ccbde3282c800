//! Benchmark: upload and download of a front-end-shaped tree through a local S3 server, with
//! the programs users run, against the naive way (tar.gz to a temporary file and one PUT; one
//! GET to a file, then untar). Three sides, each run as its own process, in alternating order:
//!
//! - `musl`: the shipped program file, from the buildpack `cargo libcnb package --release` made
//!   (`RELEASE_PHASE_BUILDPACK_DIR`, else `packaged/x86_64-unknown-linux-musl/release/...`);
//! - `glibc`: the same programs built by this cargo invocation (release profile under
//!   `cargo bench`);
//! - `naive`: this benchmark binary in a child mode.
//!
//! Each run's wall time, CPU time and peak memory (the kernel's `ru_maxrss` of that process)
//! are reported, with the median time and the highest peak per side.
//!
//! `cargo bench -p release-phase --bench transfer [-- --size-mib N --rounds N --s3-like
//! --mbps N --no-musl]` (default 256 MiB, 5 rounds), under `$TMPDIR` (`TMPDIR=/dev/shm` keeps
//! the disk out of the comparison); `--s3-like` puts a proxy in front of the server that gives
//! each request 20 ms of latency and each connection 90 MB/s each way, as S3 does (it serves
//! more to parallel connections); `--mbps N` sets another rate per connection (a slow link shows
//! that memory stays bounded); `--no-musl` skips the packaged programs, `--no-naive` the naive
//! way (for tuning);
//! `cargo test -p release-phase --bench transfer` runs a short 16 MiB round.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// A benchmark program: it may stop with a clear message when its own setup fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::cast_precision_loss)]

use aws_sdk_s3::primitives::ByteStream;
use cnb_platform::release_phase::{
    ProgramLinks, link_programs, packaged_buildpack, packaged_program_file, workspace_root,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use test_servers::fault_proxy::FaultProxy;
use test_servers::s3_server::{ACCESS_KEY_ID, S3Server, SECRET_ACCESS_KEY};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--measure") {
        launch_measured(&args[position + 1..]);
        return;
    }
    if let Some(position) = args.iter().position(|arg| arg == "--child") {
        // The same glibc tuning as the programs' `allocator` module, for a fair comparison.
        // SAFETY: only sets allocator parameters, before any other thread exists.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
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
    let mut sides = vec![Side::Glibc];
    if !args.iter().any(|arg| arg == "--no-naive") {
        sides.push(Side::Naive);
    }
    if !args.iter().any(|arg| arg == "--no-musl") {
        sides.insert(1, Side::Musl);
    }
    parent(size_mib, network, rounds, &sides);
}

/// Who does the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// This build's `exec-release-commands` (glibc).
    Glibc,
    /// The packaged buildpack's program file (musl), as it ships.
    Musl,
    /// tar.gz and one request each way, in this binary.
    Naive,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Glibc => "glibc",
            Side::Musl => "musl",
            Side::Naive => "naive",
        }
    }
}

/// The program file each side of ours runs, linked under the names users call.
fn program_links(work: &Path, sides: &[Side]) -> BTreeMap<Side, ProgramLinks> {
    let mut links = BTreeMap::new();
    let glibc = PathBuf::from(env!("CARGO_BIN_EXE_exec-release-commands"));
    links.insert(
        Side::Glibc,
        link_programs(&glibc, &work.join("glibc-bin")).unwrap(),
    );
    if sides.contains(&Side::Musl) {
        let packaged = packaged_buildpack().unwrap().unwrap_or_else(|| {
            workspace_root().join("packaged/x86_64-unknown-linux-musl/release/heroku_release-phase")
        });
        let musl = packaged_program_file(&packaged);
        assert!(
            musl.is_file(),
            "{} is missing: package the buildpack first (`cargo libcnb package --release`), \
             set RELEASE_PHASE_BUILDPACK_DIR to its folder, or pass --no-musl",
            musl.display()
        );
        eprintln!("musl programs: {}", musl.display());
        links.insert(
            Side::Musl,
            link_programs(&musl, &work.join("musl-bin")).unwrap(),
        );
    }
    eprintln!("glibc programs: {}", glibc.display());
    links
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
    cpu_seconds: f64,
    peak_mib: f64,
}

/// Runs `command` to its end through a small launcher process (this binary with `--measure`)
/// and returns what the launcher measured.
///
/// The launcher is there for the memory figure: Linux starts a process's peak resident memory
/// (`ru_maxrss`) at the size of the process it was forked from, and this parent holds the tree's
/// generator and the S3 server (tens of MiB). Forked from the small launcher instead, the
/// measured process's figure is its own.
fn measure(command: &Command, what: &str) -> Run {
    let mut launcher = Command::new(std::env::current_exe().unwrap());
    launcher
        .arg("--measure")
        .arg(command.get_program())
        .args(command.get_args())
        .env_clear();
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            launcher.env(name, value);
        }
    }
    let output = launcher.stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| -> f64 {
        stdout
            .split_whitespace()
            .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("{what}: the launcher reports no {name}: {stdout}"))
    };
    assert!(
        output.status.success() && field("exit") == 0.0,
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Run {
        seconds: field("seconds"),
        cpu_seconds: field("cpu_seconds"),
        // ru_maxrss is in KiB on Linux.
        peak_mib: field("maxrss_kib") / 1024.0,
    }
}

/// The launcher (`--measure PROGRAM ARGS...`): runs the program with this environment, its
/// stdout discarded and its stderr passed on, waits for it with `wait4`, and prints
/// `exit=N seconds=S cpu_seconds=S maxrss_kib=N`.
// The child is waited for with wait4 (which std's `Child::wait` cannot do: it gives no rusage).
#[allow(clippy::zombie_processes)]
fn launch_measured(args: &[String]) {
    let started = Instant::now();
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    #[allow(unsafe_code)]
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose pid std just gave us and which nothing else waits
    // for; both pointers are to live locals.
    #[allow(unsafe_code)]
    let waited = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        waited,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let cpu = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    println!(
        "exit={exit} seconds={seconds} cpu_seconds={} maxrss_kib={}",
        cpu(usage.ru_utime) + cpu(usage.ru_stime),
        usage.ru_maxrss
    );
}

/// One upload or download by `side`: `dir` is the tree to upload or the folder to load into.
fn transfer(
    side: Side,
    links: &BTreeMap<Side, ProgramLinks>,
    upload: bool,
    endpoint: &str,
    dir: &Path,
    release: &str,
) -> Run {
    let what = format!(
        "{} {}",
        side.name(),
        if upload { "upload" } else { "download" }
    );
    let command = if let Some(programs) = links.get(&side) {
        let program = if upload {
            &programs.upload
        } else {
            &programs.download
        };
        let mut command = Command::new(program);
        command
            .arg(dir)
            .env_clear()
            .envs(store_env(endpoint, release))
            .env("STATIC_ARTIFACTS_LOAD_TIMEOUT", "3600");
        command
    } else {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args([
            "--child",
            if upload { "upload" } else { "download" },
            endpoint,
            &dir.display().to_string(),
        ]);
        command
    };
    let mut command = command;
    command.env("TMPDIR", dir.parent().unwrap());
    measure(&command, &what)
}

/// The settings the programs read, for the benchmark's store.
fn store_env(endpoint: &str, release: &str) -> Vec<(&'static str, String)> {
    vec![
        ("STATIC_ARTIFACTS_URL", "s3://artifacts/bench".to_string()),
        ("STATIC_ARTIFACTS_ENDPOINT", endpoint.to_string()),
        ("STATIC_ARTIFACTS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_string()),
        (
            "STATIC_ARTIFACTS_SECRET_ACCESS_KEY",
            SECRET_ACCESS_KEY.to_string(),
        ),
        ("RELEASE_ID", release.to_string()),
    ]
}

#[allow(clippy::too_many_lines)] // one report, read top to bottom
/// `network`: MB/s per connection through a proxy that also adds 20 ms per request.
fn parent(size_mib: u64, network: Option<u64>, rounds: u64, sides: &[Side]) {
    // Everything (tree, store, outputs) lives under $TMPDIR: set TMPDIR=/dev/shm to take the
    // disk out of the comparison.
    let work = tempfile::tempdir().unwrap();
    let links = program_links(work.path(), sides);
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

    // The sides take turns, in an order that rotates each round, so that all meet the same
    // state of the machine (whose disk slows down as trees are written and deleted).
    let mut runs: BTreeMap<(Side, &str), Vec<Run>> = BTreeMap::new();
    for round in 0..rounds {
        let mut order = sides.to_vec();
        order.rotate_left(usize::try_from(round).unwrap() % sides.len());
        for &side in &order {
            let release = format!("{}-{round}", side.name());
            let up = transfer(side, &links, true, &endpoint, &tree, &release);
            runs.entry((side, "up")).or_default().push(up);
        }
        for &side in &order {
            let out = work.path().join(format!("{}-out", side.name()));
            if out.exists() {
                std::fs::remove_dir_all(&out).unwrap();
            }
            nix::unistd::sync();
            // Ours all load the same archive (glibc's first), the naive way its own.
            let down = transfer(side, &links, false, &endpoint, &out, "glibc-0");
            runs.entry((side, "down")).or_default().push(down);
        }
    }
    for ((side, direction), list) in &runs {
        let times: Vec<String> = list
            .iter()
            .map(|run| {
                format!(
                    "{:.2}s/{:.2}cpu-s/{:.0}MiB",
                    run.seconds, run.cpu_seconds, run.peak_mib
                )
            })
            .collect();
        eprintln!("{} {direction}: {}", side.name(), times.join(", "));
    }
    if !sides.contains(&Side::Naive) {
        return;
    }
    let summary = |side: Side, direction: &str| -> Run {
        let list = &runs[&(side, direction)];
        let mut sorted: Vec<&Run> = list.iter().collect();
        sorted.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let middle = sorted[sorted.len() / 2];
        Run {
            seconds: middle.seconds,
            cpu_seconds: middle.cpu_seconds,
            peak_mib: list.iter().map(|run| run.peak_mib).fold(0.0, f64::max),
        }
    };
    for side in sides {
        let out = work.path().join(format!("{}-out", side.name()));
        assert_eq!(
            count_files(&out),
            files,
            "{} holds every file",
            out.display()
        );
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
        "Tree: {files} files, {:.1} MiB; {} CPUs; {rounds} rounds (median time, highest peak)",
        bytes as f64 / 1_048_576.0,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "Archives: ours {:.1} MiB (tar.zst), naive {:.1} MiB (tar.gz)\n",
        archive_size("release-glibc-0.tar.zst") as f64 / 1_048_576.0,
        archive_size("naive.tgz") as f64 / 1_048_576.0
    );
    println!("| direction | side | time | CPU time | peak memory | naive / side | side / glibc |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for (direction, label) in [("up", "upload"), ("down", "download")] {
        let naive = summary(Side::Naive, direction);
        let glibc = summary(Side::Glibc, direction);
        for &side in sides {
            let run = summary(side, direction);
            println!(
                "| {label} | {} | {:.2} s | {:.2} s | {:.1} MiB | {:.1}x | {:.2}x |",
                side.name(),
                run.seconds,
                run.cpu_seconds,
                run.peak_mib,
                naive.seconds / run.seconds,
                run.seconds / glibc.seconds,
            );
        }
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

/// The naive way, in a child process: `upload ENDPOINT DIR` or `download ENDPOINT DIR`.
fn child(args: &[String]) {
    let (mode, endpoint, dir) = (&args[0], &args[1], PathBuf::from(&args[2]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        match mode.as_str() {
            "upload" => naive_upload(endpoint, &dir).await,
            "download" => naive_download(endpoint, &dir).await,
            other => panic!("unknown mode {other}"),
        }
    });
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
