//! `release-phase` Build Plan entries: commands handed over by buildpacks later in the group.
//!
//! A buildpack requires `release-phase` with metadata shaped like `com.heroku.phase` in
//! `project.toml`, plus an informational `source` naming it. Unknown keys only warn (the entry
//! may come from a newer buildpack), but a wrong value fails, so no command is dropped.

use crate::project_toml::read_phase_table;
use crate::table::{COMMAND_KEYS, TableReader, UnknownKeys};
use crate::{ConfigError, ConfigWarning, Location, PhaseConfig, Problem};
use toml::{Table, Value};

const ENTRY_KEYS: &[&str] = &["release", "release-build", "source"];

/// The commands of one Build Plan entry, and what was odd about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanEntryConfig {
    /// The commands the entry configures.
    pub config: PhaseConfig,
    /// Unknown keys that were ignored.
    pub warnings: Vec<ConfigWarning>,
}

/// Reads the metadata of the `index`-th (counting from 1) `release-phase` Build Plan entry.
///
/// A command's `source` names the buildpack that configured it; without one, the entry's
/// `source` is used, and without that, "Build Plan entry #N".
///
/// ```
/// use release_commands::read_build_plan_entry;
///
/// let metadata: toml::Table = toml::from_str(
///     r#"
///     source = "Front-end Web"
///     [release-build]
///     command = "npm"
///     args = ["run", "build"]
///     "#,
/// )
/// .unwrap();
/// let entry = read_build_plan_entry(1, &metadata).unwrap();
/// let release_build = entry.config.release_build.unwrap();
/// assert_eq!(release_build.command_line(), "npm run build");
/// assert_eq!(release_build.source, "Front-end Web");
/// ```
///
/// # Errors
///
/// Returns a [`ConfigError`] when a known key holds a value of the wrong kind.
pub fn read_build_plan_entry(
    index: usize,
    metadata: &Table,
) -> Result<PlanEntryConfig, ConfigError> {
    let entry_source = metadata.get("source");
    let location = Location::BuildPlanEntry {
        index,
        source: entry_source.and_then(Value::as_str).map(str::to_string),
    };
    let mut warnings = Vec::new();
    let mut reader = TableReader {
        location: &location,
        unknown_keys: UnknownKeys::Warn(&mut warnings),
    };
    let default_source = match entry_source {
        None => format!("Build Plan entry #{index}"),
        Some(Value::String(source)) => source.clone(),
        Some(other) => {
            return Err(reader.error(
                "source",
                Problem::WrongType {
                    expected: "a string",
                    found: other.type_str(),
                    example: "source = \"My Buildpack\"",
                },
            ));
        }
    };
    let config = read_phase_table(
        &mut reader,
        metadata,
        "",
        (ENTRY_KEYS, COMMAND_KEYS),
        &default_source,
    )?;
    Ok(PlanEntryConfig { config, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use indoc::indoc;

    fn entry(text: &str) -> Result<PlanEntryConfig, ConfigError> {
        read_build_plan_entry(2, &toml::from_str(text).unwrap())
    }

    #[test]
    fn reads_commands_with_their_sources() {
        let entry = entry(indoc! {r#"
            source = "Ruby"
            [[release]]
            command = "rake"
            args = ["db:migrate"]
            timeout = "10m"
            [[release]]
            command = "rake"
            args = ["cache:purge"]
            source = "Ruby (cache)"
        "#})
        .unwrap();
        assert!(entry.warnings.is_empty());
        let sources: Vec<_> = entry
            .config
            .release
            .iter()
            .map(|c| c.source.as_str())
            .collect();
        assert_eq!(sources, ["Ruby", "Ruby (cache)"]);
        assert_eq!(
            entry.config.release[0].timeout.map(crate::Timeout::as_secs),
            Some(600)
        );
    }

    #[test]
    fn without_source_names_the_entry() {
        let entry = entry("[[release]]\ncommand = \"true\"\n").unwrap();
        assert_eq!(entry.config.release[0].source, "Build Plan entry #2");
    }

    #[test]
    fn empty_metadata_configures_nothing() {
        assert_eq!(entry("").unwrap(), PlanEntryConfig::default());
    }

    #[test]
    fn unknown_keys_warn_and_the_rest_is_kept() {
        let entry = entry(indoc! {r#"
            source = "Node.js"
            priority = 1
            [[relase]]
            command = "x"
            [[release]]
            command = "true"
            retries = 3
            timeout-seconds = 3
            done-when = { command = "true", shell = "bash" }
        "#})
        .unwrap();
        assert_eq!(entry.config.release.len(), 1);
        assert_eq!(entry.config.release[0].retries, 3);
        let warnings: Vec<_> = entry.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "Ignoring the unknown key `priority` in the `release-phase` Build Plan entry #2 (from Node.js). The buildpack that wrote this entry may be newer or older than this one.",
                "Ignoring the unknown key `relase` in the `release-phase` Build Plan entry #2 (from Node.js). Did you mean `release`? The buildpack that wrote this entry may be newer or older than this one.",
                "Ignoring the unknown key `release[1].timeout-seconds` in the `release-phase` Build Plan entry #2 (from Node.js). The buildpack that wrote this entry may be newer or older than this one.",
                "Ignoring the unknown key `release[1].done-when.shell` in the `release-phase` Build Plan entry #2 (from Node.js). The buildpack that wrote this entry may be newer or older than this one.",
            ]
        );
    }

    #[test]
    fn wrong_values_fail() {
        let cases = [
            (
                "source = 1\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `source` must be a string, but it is an integer.",
            ),
            (
                "source = \"Go\"\nrelease-build = []\n",
                "Couldn't use the `release-phase` Build Plan entry #2 (from Go): `release-build` is an array of tables",
            ),
            (
                "[[release]]\ncommand = \"\"\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release[1].command` is empty.",
            ),
            (
                "[[release]]\ncommand = \"x\"\nargs = [true]\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release[1].args[1]` must be a string, but it is a boolean.",
            ),
            (
                "[[release]]\ncommand = \"x\"\nsource = []\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release[1].source` must be a string, but it is an array.",
            ),
            (
                "[[release]]\ncommand = \"x\"\ndone-when = \"x --check\"\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release[1].done-when` must be a table with `command` and `args`, but it is a string. Write it like this: done-when = {",
            ),
            (
                "[[release]]\ncommand = \"x\"\ndone-when = { args = [] }\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release[1].done-when.command` is missing.",
            ),
            (
                "[[release]]\ncommand = \"x\"\nretries = 100\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release[1].retries` is 100, but it must be from 0 to 10. Write it like this: retries = 2",
            ),
            (
                "[[release]]\ncommand = \"x\"\nretry-delay = \"1h\"\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release[1].retry-delay` is 1h, but it must be from 1s to 5m.",
            ),
            (
                "[release-build]\ncommand = \"x\"\noptional = true\n",
                "Couldn't use the `release-phase` Build Plan entry #2: `release-build.optional` is not allowed on release-build",
            ),
        ];
        for (text, expected) in cases {
            let error = entry(text).unwrap_err().to_string();
            assert!(
                error.starts_with(expected),
                "\n{text}\ngave: {error}\nwanted: {expected}"
            );
        }
    }
}
