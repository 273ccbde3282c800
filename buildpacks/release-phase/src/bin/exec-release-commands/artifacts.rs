//! The artifact programs' work after argument parsing: what they print, and their exit codes.

use nix::sys::signal::Signal;
use release_artifacts::manifest::now;
use release_artifacts::{
    ArtifactError, BadStoreUrl, Deadline, Log, Manifest, ReleaseId, ReleaseListing, Report,
    Settings, SettingsError, Store, StoreUrl, adopt_releases, list_releases, load_release, mib,
    promote_release, prune_releases, runtime, upload_release, verify_release,
};
use release_runner::watch_signals;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Lines to stderr, each starting with a prefix such as `[upload-release-artifacts] `.
pub(crate) struct Stderr(pub(crate) &'static str);

impl Report for Stderr {
    fn line(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        for line in text.lines() {
            let _ = writeln!(stderr, "{}{line}", self.0);
        }
        let _ = stderr.flush();
    }
}

/// A log to stderr with `prefix`, reporting progress every 5 s.
pub(crate) fn stderr_log(prefix: &'static str) -> Log {
    Log::new(Stderr(prefix), Duration::from_secs(5))
}

/// Exit code: the operation failed (store, archive, digest, files).
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit code: a setting is missing or invalid.
pub(crate) const EXIT_SETTINGS: u8 = 3;
/// Exit code: there are no artifacts to load (and no fallback applies).
pub(crate) const EXIT_NO_ARTIFACTS: u8 = 4;
/// Exit code: the load took longer than `STATIC_ARTIFACTS_LOAD_TIMEOUT`.
pub(crate) const EXIT_TIMED_OUT: u8 = 124;

fn exit_code(error: &ArtifactError) -> u8 {
    match error {
        ArtifactError::Stopped { signal, .. } | ArtifactError::LoadStopped { signal, .. } => {
            u8::try_from(128 + *signal as i32).unwrap_or(EXIT_FAILED)
        }
        ArtifactError::Settings(_) => EXIT_SETTINGS,
        ArtifactError::NoArtifacts(_) => EXIT_NO_ARTIFACTS,
        ArtifactError::TimedOut { .. } => EXIT_TIMED_OUT,
        _ => EXIT_FAILED,
    }
}

pub(crate) fn run<T>(
    log: &Log,
    what: &str,
    work: impl AsyncFnOnce(&Settings) -> Result<T, ArtifactError>,
) -> Result<T, u8> {
    let runtime = runtime().map_err(|error| {
        log.line(&format!("{what} failed: couldn't start: {error}"));
        EXIT_FAILED
    })?;
    let settings = Settings::from_env().map_err(|error| {
        log.line(&format!("{what} failed: {error}"));
        EXIT_SETTINGS
    })?;
    let result = runtime.block_on(work(&settings));
    // A read that blocks (a hung network mount) was abandoned at its deadline; the process must
    // not wait for it on the way out.
    runtime.shutdown_background();
    result.map_err(|error| {
        log.line(&format!("{what} failed: {error}"));
        exit_code(&error)
    })
}

/// The default `--timeout` of `release-artifacts`' commands, in seconds.
pub(crate) const DEFAULT_MANAGE_TIMEOUT: u64 = 3600;

/// Runs `work` within `limit` (`--timeout`).
pub(crate) async fn within<T>(
    limit: Duration,
    doing: &str,
    work: impl Future<Output = Result<T, ArtifactError>>,
) -> Result<T, ArtifactError> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| ArtifactError::TimedOut {
            limit,
            setting: "--timeout",
            doing: doing.to_string(),
        })?
}

/// `upload-release-artifacts [DIR]`: stores `dir` as this release's artifacts. SIGTERM, SIGINT,
/// SIGHUP or SIGQUIT stops it cleanly (nothing stored, exit 128+N).
#[must_use]
pub(crate) fn upload_main(dir: &Path) -> u8 {
    let log = stderr_log("[upload-release-artifacts] ");
    let result = run(&log, "Upload", async |settings| {
        let stop = stopping_signal()?;
        let store = settings.open_store().await?;
        let id = settings.release_id()?;
        Box::pin(upload_release(
            &store,
            id,
            dir,
            settings.compression,
            &log,
            stop,
        ))
        .await
    });
    result.map_or_else(|code| code, |_| 0)
}

/// Resolves to the first stopping signal (SIGTERM, SIGINT, SIGHUP or SIGQUIT) received from
/// now on, which then no longer stops the process by itself.
pub(crate) fn stopping_signal() -> Result<impl Future<Output = Signal>, ArtifactError> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let watch = watch_signals(move |signal| {
        if let Ok(signal) = Signal::try_from(signal) {
            let _ = sender.send(signal);
        }
    })
    .map_err(|error| ArtifactError::Io {
        action: "listen for signals in",
        path: std::path::PathBuf::from("this process"),
        error,
    })?;
    Ok(async move {
        let _watching = watch;
        match receiver.recv().await {
            Some(signal) => signal,
            // The watch outlives this future, so the channel stays open.
            None => std::future::pending().await,
        }
    })
}

/// The setting that limits a load's time.
const LOAD_TIMEOUT: &str = "STATIC_ARTIFACTS_LOAD_TIMEOUT";

/// `download-release-artifacts [DIR]`: loads this release's artifacts into `dir` within
/// `STATIC_ARTIFACTS_LOAD_TIMEOUT`. When file descriptor 3 is open (an exec.d program), writes
/// `STATIC_ARTIFACTS_LOADED_FROM_KEY` and `STATIC_ARTIFACTS_LOADED_RELEASE_ID` to it as TOML.
/// SIGTERM, SIGINT, SIGHUP or SIGQUIT stops it cleanly (`dir` unchanged, exit 128+N).
#[must_use]
pub(crate) fn download_main(dir: &Path) -> u8 {
    let started = Instant::now();
    let log = stderr_log("[download-release-artifacts] ");
    let result = run(&log, "Loading static artifacts", async |settings| {
        let deadline = Deadline::new(started, settings.load_timeout, LOAD_TIMEOUT);
        let stop = stopping_signal()?;
        let store = settings.open_store().await?;
        let id = settings.release_id()?;
        load_release(&store, id, dir, settings.fallback, deadline, &log, stop).await
    });
    match result {
        Ok(loaded) => {
            write_exec_d_output(&[
                ("STATIC_ARTIFACTS_LOADED_FROM_KEY", loaded.location.as_str()),
                (
                    "STATIC_ARTIFACTS_LOADED_RELEASE_ID",
                    loaded.release_id.as_str(),
                ),
            ]);
            0
        }
        Err(code) => code,
    }
}

/// Writes exec.d output (TOML) to file descriptor 3, when it is open.
fn write_exec_d_output(vars: &[(&str, &str)]) {
    let table: toml::Table = vars
        .iter()
        .map(|(name, value)| {
            (
                (*name).to_string(),
                toml::Value::String((*value).to_string()),
            )
        })
        .collect();
    let Ok(text) = toml::to_string(&table) else {
        return;
    };
    // Opening the descriptor by path needs no unsafe code, and simply fails when it is closed.
    if let Ok(mut fd3) = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/fd/3")
    {
        let _ = std::io::Write::write_all(&mut fd3, text.as_bytes());
    }
}

/// `release-artifacts list [--json]`, within `limit`.
#[must_use]
pub(crate) fn list_main(json: bool, limit: Duration) -> u8 {
    let log = stderr_log("");
    let result = run(&log, "Listing releases", async |settings| {
        let store = settings.open_store().await?;
        let listing = within(limit, "listing the releases", list_releases(&store)).await?;
        listing.warn_skipped(&store, &log);
        Ok((listing, store.describe()))
    });
    let (listing, store) = match result {
        Ok(found) => found,
        Err(code) => return code,
    };
    if json {
        print_listing_json(&listing, &store);
        return 0;
    }
    println!("Releases in {store}, oldest first:");
    let now = now();
    for manifest in &listing.releases {
        let latest = if listing.latest.as_ref().map(ReleaseId::as_str) == Some(&manifest.release_id)
        {
            "  (latest)"
        } else {
            ""
        };
        println!(
            "{:<40} {:>10} {:>7} files  {:>5}  {}{latest}",
            manifest.release_id,
            mib(manifest.size),
            manifest.file_count,
            manifest.format,
            age(now.saturating_sub(manifest.created_at_ms / 1000)),
        );
    }
    if listing.releases.is_empty() {
        println!("(none)");
    }
    for key in &listing.bare_archives {
        println!("{key}  (archive without manifest)");
    }
    0
}

/// The listing as JSON: each release's manifest (and whether it is the latest), the archives
/// without manifest, and what was skipped.
fn print_listing_json(listing: &ReleaseListing, store: &str) {
    let latest = listing.latest.as_ref().map(ReleaseId::as_str);
    let releases: Vec<serde_json::Value> = listing
        .releases
        .iter()
        .map(|manifest| {
            let mut value = serde_json::to_value(manifest).unwrap_or_default();
            if let Some(fields) = value.as_object_mut() {
                let is_latest = latest == Some(manifest.release_id.as_str());
                fields.insert("latest".into(), is_latest.into());
            }
            value
        })
        .collect();
    let document = serde_json::json!({
        "store": store,
        "latest": latest,
        "releases": releases,
        "bare_archives": listing.bare_archives,
        "skipped": skipped_json(&listing.skipped),
    });
    print_json(&document);
}

fn age(seconds: u64) -> String {
    match seconds {
        0..120 => format!("{seconds}s ago"),
        120..7200 => format!("{}m ago", seconds / 60),
        7200..172_800 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

/// Objects left aside, each with the reason, as JSON.
fn skipped_json(skipped: &[(String, String)]) -> Vec<serde_json::Value> {
    skipped
        .iter()
        .map(|(key, reason)| serde_json::json!({ "key": key, "reason": reason }))
        .collect()
}

/// Prints `document` to stdout as pretty JSON (`--json`).
pub(crate) fn print_json(document: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(document).unwrap_or_default()
    );
}

/// `release-artifacts prune --keep N [--json]`, within `limit`.
#[must_use]
pub(crate) fn prune_main(keep: usize, json: bool, limit: Duration) -> u8 {
    let log = stderr_log("");
    let result = run(&log, "Pruning", async |settings| {
        let store = settings.open_store().await?;
        let deleted = within(limit, "pruning", async {
            let listing = list_releases(&store).await?;
            let Some(newest) = listing
                .latest
                .or_else(|| listing.releases.last().and_then(Manifest::id))
            else {
                return Ok(Vec::new());
            };
            prune_releases(&store, keep, &newest, &log).await
        })
        .await?;
        Ok((deleted, store.describe()))
    });
    let (deleted, store) = match result {
        Ok(done) => done,
        Err(code) => return code,
    };
    if deleted.is_empty() {
        log.line("Nothing to prune.");
    }
    if json {
        let document = serde_json::json!({
            "store": store,
            "keep": keep,
            "deleted": deleted.iter().map(ReleaseId::as_str).collect::<Vec<_>>(),
        });
        print_json(&document);
    }
    0
}

/// `release-artifacts adopt [--dry-run] [--json]`, within `limit`: manifests for the bare
/// archives of the earlier buildpack, and the newest published when nothing is.
#[must_use]
pub(crate) fn adopt_main(dry_run: bool, json: bool, limit: Duration) -> u8 {
    let started = Instant::now();
    let log = stderr_log("");
    let result = run(&log, "Adopting", async |settings| {
        let store = settings.open_store().await?;
        let deadline = Deadline::new(started, limit, "--timeout");
        let adoption = within(
            limit,
            "adopting the archives of the earlier buildpack",
            Box::pin(adopt_releases(&store, dry_run, &log, deadline)),
        )
        .await?;
        Ok((adoption, store.describe()))
    });
    let (adoption, store) = match result {
        Ok(done) => done,
        Err(code) => return code,
    };
    if json {
        let document = serde_json::json!({
            "store": store,
            "dry_run": dry_run,
            "adopted": adoption.adopted,
            "skipped": skipped_json(&adoption.skipped),
            "published": adoption.published.as_ref().map(ReleaseId::as_str),
            "had_latest": adoption.had_latest,
        });
        print_json(&document);
    }
    0
}

/// `release-artifacts verify [--release ID]`, within `limit`.
#[must_use]
pub(crate) fn verify_main(release: Option<&str>, limit: Duration) -> u8 {
    let started = Instant::now();
    let log = stderr_log("");
    let result = run(&log, "Verifying", async |settings| {
        let id = chosen_release(settings, release)?;
        let store = settings.open_store().await?;
        let doing = format!("verifying release {id}");
        within(
            limit,
            &doing,
            verify_release(
                &store,
                &id,
                &log,
                Deadline::new(started, limit, "--timeout"),
            ),
        )
        .await
    });
    result.map_or_else(|code| code, |_| 0)
}

/// `release-artifacts promote --to URL [--release ID]`, within `limit`.
#[must_use]
pub(crate) fn promote_main(to: &str, release: Option<&str>, limit: Duration) -> u8 {
    let log = stderr_log("");
    let result = run(&log, "Promoting", async |settings| {
        let id = chosen_release(settings, release)?;
        let target_url: StoreUrl =
            to.parse()
                .map_err(|BadStoreUrl(message)| SettingsError::Invalid {
                    name: "--to",
                    message,
                })?;
        let from = settings.open_store().await?;
        let to = Store::open(&target_url, &settings.connection()).await;
        let doing = format!("promoting release {id}");
        Box::pin(within(
            limit,
            &doing,
            promote_release(&from, &to, &id, &log),
        ))
        .await
    });
    result.map_or_else(|code| code, |_| 0)
}

fn chosen_release(settings: &Settings, release: Option<&str>) -> Result<ReleaseId, ArtifactError> {
    match release {
        Some(text) => ReleaseId::new(text).map_err(|error| {
            ArtifactError::Settings(SettingsError::Invalid {
                name: "--release",
                message: error.to_string(),
            })
        }),
        None => Ok(settings.release_id()?.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_blocked_past_the_deadline_does_not_keep_the_program_from_exiting() {
        let started = Instant::now();
        let result: Result<(), u8> = run(&stderr_log(""), "Reading", async |_| {
            // A read that never returns, as on a hung network mount.
            let _blocked = tokio::task::spawn_blocking(|| {
                std::thread::sleep(Duration::from_hours(1));
            });
            within(
                Duration::from_millis(200),
                "reading",
                std::future::pending(),
            )
            .await
        });
        assert_eq!(result, Err(EXIT_TIMED_OUT));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
