//! `project.toml` text, merged with Build Plan entries into a release plan that goes through the
//! plan file: what is read back must equal what was written.
//!
//! The input is UTF-8 split at NUL characters (which TOML never holds): the first part is
//! `project.toml`, each further part the metadata of one `release-phase` Build Plan entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use release_commands::{ReleasePlan, parse_project_toml, read_build_plan_entry};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let project_toml = parts.next().unwrap_or_default();
    let project = match parse_project_toml(project_toml, Path::new("/workspace/project.toml")) {
        Ok(project) => project,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let entries = parts
        .enumerate()
        .filter_map(|(index, part)| {
            let metadata: toml::Table = toml::from_str(part).ok()?;
            read_build_plan_entry(index + 1, &metadata)
                .ok()
                .map(|entry| entry.config)
        })
        .collect();
    let plan = ReleasePlan::merge(entries, project);

    // In memory when the machine has it: thousands of files a second are slow on a disk.
    let scratch = Path::new("/dev/shm");
    let file = if scratch.is_dir() {
        tempfile::NamedTempFile::new_in(scratch)
    } else {
        tempfile::NamedTempFile::new()
    }
    .expect("a temporary file");
    let written = plan.to_toml();
    std::fs::write(file.path(), &written).expect("writing the plan file");
    match ReleasePlan::read_from(file.path()) {
        Ok(read) => assert_eq!(read, plan, "the plan file was:\n{written}"),
        Err(error) => panic!("the plan file cannot be read back: {error}\nit was:\n{written}"),
    }
});
