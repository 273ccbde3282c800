//! `release-artifacts history` and `show`: the release records of a store, for people or as
//! JSON.

use crate::artifacts::{print_json, run, stderr_log, within};
use release_artifacts::manifest::utc_time;
use release_artifacts::{ArtifactError, ReleaseId, SettingsError, read_record, record_history};
use release_commands::{PhaseRecord, Run, StepRecord};
use release_runner::format_duration;
use std::time::Duration;

/// `release-artifacts history [--limit N] [--json]`, within `limit`.
#[must_use]
pub(crate) fn history_main(count: usize, json: bool, limit: Duration) -> u8 {
    let log = stderr_log("");
    let result = run(&log, "Reading the release history", async |settings| {
        let store = settings.open_store().await?;
        let history = within(
            limit,
            "reading the release records",
            record_history(&store, count),
        )
        .await?;
        for (key, reason) in &history.skipped {
            log.warning(&format!("Skipped {}: {reason}", store.location_of(key)));
        }
        Ok((history, store.describe()))
    });
    let (history, store) = match result {
        Ok(found) => found,
        Err(code) => return code,
    };
    if json {
        let records: Vec<serde_json::Value> = history.records.iter().map(summary).collect();
        let document = serde_json::json!({
            "store": store,
            "total": history.total,
            "records": records,
        });
        print_json(&document);
        return 0;
    }
    println!(
        "Release phases in {store}, newest first ({} of {}):",
        history.records.len(),
        history.total
    );
    for record in &history.records {
        let failed = record
            .failed_step()
            .map(|(number, step)| {
                format!(
                    "  step {number}: {} from {}: {}",
                    step.kind, step.source, step.command
                )
            })
            .unwrap_or_default();
        println!(
            "{:<30} {}  {:>9}  {:<9}{failed}",
            record.release_id,
            utc_time(record.started_at_ms),
            record
                .duration()
                .map_or_else(|| "-".into(), format_duration),
            record.outcome.as_str(),
        );
    }
    if history.records.is_empty() {
        println!("(none)");
    }
    0
}

/// One line of the history as JSON.
fn summary(record: &PhaseRecord) -> serde_json::Value {
    let failed_step = record.failed_step().map(|(number, step)| {
        serde_json::json!({
            "number": number,
            "kind": step.kind,
            "source": step.source,
            "command": step.command,
        })
    });
    serde_json::json!({
        "release_id": record.release_id,
        "started_at_ms": record.started_at_ms,
        "ended_at_ms": record.ended_at_ms,
        "duration_ms": record.duration().map(|took| u64::try_from(took.as_millis()).unwrap_or(u64::MAX)),
        "outcome": record.outcome,
        "exit_status": record.exit_status,
        "failed_step": failed_step,
    })
}

/// `release-artifacts show RELEASE_ID [--json]`, within `limit`.
#[must_use]
pub(crate) fn show_main(release: &str, json: bool, limit: Duration) -> u8 {
    let log = stderr_log("");
    let result = run(&log, "Reading the release record", async |settings| {
        let id = ReleaseId::new(release).map_err(|error| {
            ArtifactError::Settings(SettingsError::Invalid {
                name: "RELEASE_ID (the argument)",
                message: error.to_string(),
            })
        })?;
        let store = settings.open_store().await?;
        within(
            limit,
            "reading the release record",
            read_record(&store, &id),
        )
        .await
    });
    let record = match result {
        Ok(record) => record,
        Err(code) => return code,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&record).unwrap_or_default()
        );
        return 0;
    }
    let took = record.duration().map_or_else(
        || "still running, or stopped without a word".into(),
        |took| format!("took {}", format_duration(took)),
    );
    let status = record
        .exit_status
        .map(|code| format!(" (exit status {code})"))
        .unwrap_or_default();
    println!(
        "Release {}: release phase started {}, {took}: {}{status}.",
        record.release_id,
        utc_time(record.started_at_ms),
        record.outcome.as_str()
    );
    if let Some(reason) = &record.reason {
        println!("  {reason}");
    }
    for (index, step) in record.steps.iter().enumerate() {
        print_step(index + 1, step);
    }
    0
}

fn print_step(number: usize, step: &StepRecord) {
    let optional = if step.optional { " (optional)" } else { "" };
    println!(
        "{number}. {} from {}: {}{optional}",
        step.kind, step.source, step.command
    );
    if let Some(check) = &step.done_when {
        println!("   done when {check} exits 0");
    }
    println!("   {}", step.outcome.as_str());
    let runs = |what: &str, runs: &[Run]| {
        for (index, run) in runs.iter().enumerate() {
            println!(
                "   {what} {}: {} in {} (exit status {}), at {}",
                index + 1,
                run.result,
                format_duration(Duration::from_millis(run.duration_ms)),
                run.exit_status,
                utc_time(run.started_at_ms)
            );
        }
    };
    runs("check", &step.checks);
    runs("attempt", &step.attempts);
}
