//! The metadata of a `release-phase` Build Plan entry, as any TOML table: reading it never
//! panics, and every command it gives names a program.
#![no_main]

use libfuzzer_sys::fuzz_target;
use release_commands::read_build_plan_entry;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(metadata) = toml::from_str::<toml::Table>(text) else {
        return;
    };
    let entry = match read_build_plan_entry(2, &metadata) {
        Ok(entry) => entry,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    for warning in &entry.warnings {
        let _ = warning.to_string();
    }
    let config = &entry.config;
    for command in config.release.iter().chain(&config.release_build) {
        assert!(
            !command.command.is_empty() && !command.command.contains(char::is_whitespace),
            "{command:?}"
        );
        assert!(command.timeout.is_none_or(|timeout| timeout.as_secs() > 0));
        let _ = command.command_line();
    }
});
