//! `[[com.heroku.phase.release]]` and `[com.heroku.phase.release-build]` in the app's
//! `project.toml`, read strictly: any mistake fails the build instead of skipping a command.

use crate::table::{COMMAND_KEYS, TableReader, UnknownKeys, closest, join};
use crate::{ConfigError, Location, Problem, ReleaseCommand};
use std::path::Path;
use toml::{Table, Value};

/// The file name of the project descriptor in the app's root.
pub const PROJECT_TOML: &str = "project.toml";

/// The source name given to commands configured in `project.toml`.
pub(crate) const PROJECT_TOML_SOURCE: &str = "project.toml";

const PHASE_KEYS: &[&str] = &["release", "release-build"];

/// Release commands from one place (`project.toml` or one Build Plan entry), in their order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhaseConfig {
    /// The `release` commands, in the order they are written.
    pub release: Vec<ReleaseCommand>,
    /// The `release-build` command, if any.
    pub release_build: Option<ReleaseCommand>,
}

/// Reads the release configuration from `<app_dir>/project.toml`.
///
/// A missing file, or one without a `com.heroku.phase` table, configures nothing.
///
/// ```
/// use release_commands::read_project_toml;
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(
///     dir.path().join("project.toml"),
///     "[[com.heroku.phase.release]]\ncommand = \"rake\"\nargs = [\"db:migrate\"]\n",
/// )
/// .unwrap();
/// let config = read_project_toml(dir.path()).unwrap();
/// assert_eq!(config.release[0].command_line(), "rake db:migrate");
/// assert_eq!(config.release[0].source, "project.toml");
/// ```
///
/// # Errors
///
/// Returns a [`ConfigError`] when the file cannot be read, is not TOML, or anything inside
/// `com.heroku.phase` is not exactly as documented.
pub fn read_project_toml(app_dir: &Path) -> Result<PhaseConfig, ConfigError> {
    let path = app_dir.join(PROJECT_TOML);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(PhaseConfig::default());
        }
        Err(source) => return Err(ConfigError::CannotReadProjectToml { path, source }),
    };
    parse_project_toml(&text, &path)
}

/// Parses the text of a `project.toml` found at `path` (used in messages only), as
/// [`read_project_toml`] does once it has read the file.
///
/// ```
/// use release_commands::parse_project_toml;
///
/// let text = "[com.heroku.phase.release-build]\ncommand = \"npm\"\nargs = [\"run\", \"build\"]\n";
/// let config = parse_project_toml(text, "project.toml".as_ref()).unwrap();
/// assert_eq!(config.release_build.unwrap().command_line(), "npm run build");
/// ```
///
/// # Errors
///
/// Returns a [`ConfigError`] when `text` is not TOML, or anything inside `com.heroku.phase` is
/// not exactly as documented.
pub fn parse_project_toml(text: &str, path: &Path) -> Result<PhaseConfig, ConfigError> {
    let document: Table =
        toml::from_str(text).map_err(|error| ConfigError::InvalidProjectToml {
            path: path.to_path_buf(),
            message: error.to_string().trim_end().to_string(),
        })?;
    let location = Location::ProjectToml(path.to_path_buf());
    let mut reader = TableReader {
        location: &location,
        unknown_keys: UnknownKeys::Fail,
    };

    let Some(heroku) = document
        .get("com")
        .and_then(Value::as_table)
        .and_then(|com| com.get("heroku"))
        .and_then(Value::as_table)
    else {
        return Ok(PhaseConfig::default());
    };
    // `[[com.heroku.phases.release]]` would otherwise be ignored without a word.
    if let Some(near_miss) = heroku
        .keys()
        .find(|key| key.as_str() != "phase" && closest(key, &["phase"]).is_some())
    {
        return Err(reader.error(
            format!("com.heroku.{near_miss}"),
            Problem::UnknownKey {
                suggestion: Some("phase"),
                allowed: &["phase"],
            },
        ));
    }
    let phase = match heroku.get("phase") {
        None => return Ok(PhaseConfig::default()),
        Some(Value::Table(phase)) => phase,
        Some(other) => {
            return Err(reader.error(
                "com.heroku.phase",
                Problem::WrongType {
                    expected: "a table",
                    found: other.type_str(),
                    example: "[[com.heroku.phase.release]] followed by command = \"bash\"",
                },
            ));
        }
    };
    read_phase_table(
        &mut reader,
        phase,
        "com.heroku.phase",
        (PHASE_KEYS, COMMAND_KEYS),
        PROJECT_TOML_SOURCE,
    )
}

/// Reads the `release` and `release-build` keys of a table that holds them, allowing
/// `table_keys` in it and `command_keys` in each command.
pub(crate) fn read_phase_table(
    reader: &mut TableReader<'_>,
    phase: &Table,
    path: &str,
    (table_keys, command_keys): (&'static [&'static str], &'static [&'static str]),
    default_source: &str,
) -> Result<PhaseConfig, ConfigError> {
    reader.check_keys(phase, path, table_keys)?;
    let release = match phase.get("release") {
        None => Vec::new(),
        Some(value) => {
            reader.commands(value, &join(path, "release"), command_keys, default_source)?
        }
    };
    let release_build_path = join(path, "release-build");
    let release_build = match phase.get("release-build") {
        None => None,
        // `[[...]]` (or `[]`); an array of anything else is no command at all.
        Some(Value::Array(items)) if items.iter().all(Value::is_table) => {
            return Err(reader.error(release_build_path, Problem::ReleaseBuildIsArray));
        }
        Some(Value::Array(_)) => {
            return Err(reader.error(
                release_build_path,
                Problem::WrongType {
                    expected: "a table",
                    found: "array",
                    example: "[com.heroku.phase.release-build] followed by command = \"npm\" and args = [\"run\", \"build\"]",
                },
            ));
        }
        Some(value) => {
            let command =
                reader.command(value, &release_build_path, command_keys, default_source)?;
            // The release needs its static artifacts: release-build is never optional.
            if command.optional {
                let path = join(&release_build_path, "optional");
                return Err(reader.error(path, Problem::OptionalReleaseBuild));
            }
            Some(command)
        }
    };
    Ok(PhaseConfig {
        release,
        release_build,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timeout;
    use indoc::indoc;
    use std::path::PathBuf;

    fn parse(text: &str) -> Result<PhaseConfig, ConfigError> {
        parse_project_toml(text, &PathBuf::from("/workspace/project.toml"))
    }

    fn message(text: &str) -> String {
        match parse(text) {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn reads_commands_in_order_with_args_and_timeouts() {
        let config = parse(indoc! {r#"
            [_]
            schema-version = "0.2"

            [[io.buildpacks.group]]
            uri = "heroku/release-phase"

            [[com.heroku.phase.release]]
            command = "bash"
            args = ["-c", "rake db:migrate"]
            timeout = "15m"

            [[com.heroku.phase.release]]
            command = "./bin/purge-cache"
            timeout = 30

            [com.heroku.phase.release-build]
            command = "npm"
            args = ["run", "build"]

            [com.heroku.other]
            anything = "goes"
        "#})
        .unwrap();
        assert_eq!(config.release.len(), 2);
        assert_eq!(
            config.release[0].command_line(),
            "bash -c 'rake db:migrate'"
        );
        assert_eq!(config.release[0].timeout, Timeout::from_secs(900).ok());
        assert_eq!(config.release[1].command_line(), "./bin/purge-cache");
        assert_eq!(config.release[1].timeout, Timeout::from_secs(30).ok());
        let release_build = config.release_build.unwrap();
        assert_eq!(release_build.command_line(), "npm run build");
        assert_eq!(release_build.source, "project.toml");
    }

    #[test]
    fn a_source_names_a_project_toml_command_as_in_the_earlier_buildpack() {
        let config = parse(indoc! {r#"
            [[com.heroku.phase.release]]
            command = "rake"
            args = ["db:migrate"]
            source = "Rails migrations"

            [[com.heroku.phase.release]]
            command = "./bin/purge-cache"
            source = ""

            [com.heroku.phase.release-build]
            command = "npm"
            source = "Front end"
        "#})
        .unwrap();
        assert_eq!(config.release[0].source, "Rails migrations");
        // An empty source names nothing: the default stands.
        assert_eq!(config.release[1].source, "project.toml");
        assert_eq!(config.release_build.unwrap().source, "Front end");
    }

    #[test]
    fn optional_is_read_on_release_commands_and_defaults_to_false() {
        let config = parse(indoc! {r#"
            [[com.heroku.phase.release]]
            command = "./bin/purge-cache"
            optional = true

            [[com.heroku.phase.release]]
            command = "rake"
            optional = false

            [[com.heroku.phase.release]]
            command = "rake"
        "#})
        .unwrap();
        let optional: Vec<bool> = config.release.iter().map(|c| c.optional).collect();
        assert_eq!(optional, [true, false, false]);
    }

    #[test]
    fn goal_keys_are_read_on_release_and_release_build() {
        let config = parse(indoc! {r#"
            [[com.heroku.phase.release]]
            command = "bash"
            args = ["-c", "rake db:migrate"]
            done-when = { command = "bash", args = ["-c", "rake db:abort_if_pending_migrations"] }
            retries = 2
            retry-delay = "10s"

            [[com.heroku.phase.release]]
            command = "./bin/purge-cache"
            retries = 0
            retry-delay = 30

            [com.heroku.phase.release-build]
            command = "npm"
            done-when = { command = "test" }
            retries = 10
        "#})
        .unwrap();
        let migrate = &config.release[0];
        let check = migrate.done_when.as_ref().unwrap();
        assert_eq!(
            check.command_line(),
            "bash -c 'rake db:abort_if_pending_migrations'"
        );
        assert_eq!(
            (migrate.retries, migrate.retry_delay),
            (2, Timeout::from_secs(10).ok())
        );
        let purge = &config.release[1];
        assert_eq!(purge.done_when, None);
        assert_eq!(
            (purge.retries, purge.retry_delay),
            (0, Timeout::from_secs(30).ok())
        );
        let build = config.release_build.unwrap();
        assert_eq!(build.done_when.unwrap().command_line(), "test");
        assert_eq!((build.retries, build.retry_delay), (10, None));
    }

    #[test]
    fn without_phase_table_configures_nothing() {
        assert_eq!(parse("").unwrap(), PhaseConfig::default());
        assert_eq!(
            parse("[com.heroku.other]\nx = 1\n").unwrap(),
            PhaseConfig::default()
        );
        assert_eq!(parse("com = 1\n").unwrap(), PhaseConfig::default());
    }

    #[test]
    fn missing_file_configures_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_project_toml(dir.path()).unwrap(),
            PhaseConfig::default()
        );
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("project.toml")).unwrap();
        let error = read_project_toml(dir.path()).unwrap_err().to_string();
        assert!(error.starts_with("Couldn't read "), "{error}");
        assert!(error.contains("project.toml"), "{error}");
    }

    #[test]
    fn malformed_toml_names_the_file_and_line() {
        let error = message("[[com.heroku.phase.release]]\ncommand = \"bash\nargs = []\n");
        assert!(
            error.starts_with("Couldn't parse /workspace/project.toml as TOML."),
            "{error}"
        );
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    #[allow(clippy::too_many_lines)] // one table, read top to bottom
    fn every_bad_value_has_its_own_message() {
        let cases = [
            (
                "[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = \"x\"\n",
                "`com.heroku.phase.release[1].args` must be an array of strings, but it is a string. Write it like this: args = [\"-c\", \"rake db:migrate\"]",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", 1]\n",
                "`com.heroku.phase.release[1].args[2]` must be a string, but it is an integer.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"true\"\n[[com.heroku.phase.release]]\nargs = [\"x\"]\n",
                "`com.heroku.phase.release[2].command` is missing. It is required; write it like this: command = \"bash\"",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"  \"\n",
                "`com.heroku.phase.release[1].command` is empty.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = 7\n",
                "`com.heroku.phase.release[1].command` must be a string, but it is an integer.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake db:migrate\"\n",
                "`com.heroku.phase.release[1].command` is \"rake db:migrate\", which contains spaces. Release commands run without a shell, so `command` names only the program and `args` holds the rest: command = \"rake\" and args = [\"db:migrate\"].",
            ),
            (
                "[[com.heroku.phase.release-build]]\ncommand = \"npm\"\n",
                "`com.heroku.phase.release-build` is an array of tables ([[...]]), but there can be only one release-build command.",
            ),
            (
                "[com.heroku.phase.release]\ncommand = \"rake\"\n",
                "`com.heroku.phase.release` is a single table ([...]), but it must be an array of tables.",
            ),
            (
                "[com.heroku.phase]\nrelease = \"rake\"\n",
                "`com.heroku.phase.release` must be an array of tables, but it is a string.",
            ),
            (
                "[com.heroku.phase]\nrelease = [\"rake\"]\n",
                "`com.heroku.phase.release[1]` must be a table, but it is a string.",
            ),
            (
                "[com.heroku.phase]\nrelease-build = true\n",
                "`com.heroku.phase.release-build` must be a table, but it is a boolean.",
            ),
            (
                "[com.heroku]\nphase = \"release\"\n",
                "`com.heroku.phase` must be a table, but it is a string.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = \"15 minutes\"\n",
                "`com.heroku.phase.release[1].timeout` is not a valid timeout: `15 minutes` is not a number followed by `s`, `m` or `h`.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = 0\n",
                "`com.heroku.phase.release[1].timeout` is not a valid timeout: it is zero",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = -5\n",
                "`com.heroku.phase.release[1].timeout` is not a valid timeout: it is negative.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = 1.5\n",
                "`com.heroku.phase.release[1].timeout` must be a string or an integer, but it is a float.",
            ),
            (
                "[[com.heroku.phase.relase]]\ncommand = \"rake\"\n",
                "`com.heroku.phase.relase` is not a key the release phase knows. Did you mean `release`? The keys allowed here are: `release`, `release-build`.",
            ),
            (
                "[com.heroku.phase.release_build]\ncommand = \"rake\"\n",
                "`com.heroku.phase.release_build` is not a key the release phase knows. Did you mean `release-build`?",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\narg = [\"db:migrate\"]\n",
                "`com.heroku.phase.release[1].arg` is not a key the release phase knows. Did you mean `args`? The keys allowed here are: `command`, `args`, `timeout`, `source`, `optional`, `done-when`, `retries`, `retry-delay`.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nsorce = \"me\"\n",
                "`com.heroku.phase.release[1].sorce` is not a key the release phase knows. Did you mean `source`?",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\noptional = \"yes\"\n",
                "`com.heroku.phase.release[1].optional` must be a boolean, but it is a string. Write it like this: optional = true",
            ),
            (
                "[com.heroku.phase.release-build]\ncommand = \"npm\"\noptional = true\n",
                "`com.heroku.phase.release-build.optional` is not allowed on release-build: the release needs its static artifacts, so a failed release-build always stops the release. Remove `optional`, or make the command succeed when it has nothing to build.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nsource = 7\n",
                "`com.heroku.phase.release[1].source` must be a string, but it is an integer.",
            ),
            (
                "[[com.heroku.phases.release]]\ncommand = \"rake\"\n",
                "`com.heroku.phases` is not a key the release phase knows. Did you mean `phase`?",
            ),
            // Every other wrong type under `com.heroku.phase`.
            (
                "[com.heroku]\nphase = [1]\n",
                "`com.heroku.phase` must be a table, but it is an array.",
            ),
            (
                "[com.heroku.phase]\nrelease = 7\n",
                "`com.heroku.phase.release` must be an array of tables, but it is an integer.",
            ),
            (
                "[com.heroku.phase]\nrelease = { command = \"rake\" }\n",
                "`com.heroku.phase.release` is a single table ([...]), but it must be an array of tables.",
            ),
            (
                "[com.heroku.phase]\nrelease = [1, 2]\n",
                "`com.heroku.phase.release[1]` must be a table, but it is an integer.",
            ),
            (
                "[com.heroku.phase]\nrelease = [[\"rake\", \"db:migrate\"]]\n",
                "`com.heroku.phase.release[1]` must be a table, but it is an array.",
            ),
            (
                "[com.heroku.phase]\nrelease = [{ command = \"rake\" }, \"db:migrate\"]\n",
                "`com.heroku.phase.release[2]` must be a table, but it is a string.",
            ),
            (
                "[com.heroku.phase]\nrelease-build = [\"npm\", \"run\", \"build\"]\n",
                "`com.heroku.phase.release-build` must be a table, but it is an array. Write it like this: [com.heroku.phase.release-build] followed by command = \"npm\" and args = [\"run\", \"build\"]",
            ),
            (
                "[com.heroku.phase]\nrelease-build = 7\n",
                "`com.heroku.phase.release-build` must be a table, but it is an integer.",
            ),
            (
                "[com.heroku.phase]\nrelease-build = \"npm run build\"\n",
                "`com.heroku.phase.release-build` must be a table, but it is a string.",
            ),
            (
                "[com.heroku.phase.release-build]\ncommand = [\"npm\", \"run\"]\n",
                "`com.heroku.phase.release-build.command` must be a string, but it is an array.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = true\n",
                "`com.heroku.phase.release[1].command` must be a string, but it is a boolean.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = { program = \"rake\" }\n",
                "`com.heroku.phase.release[1].command` must be a string, but it is a table.",
            ),
            (
                "[com.heroku.phase.release-build]\nargs = [\"run\"]\n",
                "`com.heroku.phase.release-build.command` is missing.",
            ),
            (
                "[com.heroku.phase.release-build]\ncommand = \"npm\"\nargs = 1\n",
                "`com.heroku.phase.release-build.args` must be an array of strings, but it is an integer.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nargs = { task = \"db:migrate\" }\n",
                "`com.heroku.phase.release[1].args` must be an array of strings, but it is a table.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nargs = [[\"db:migrate\"]]\n",
                "`com.heroku.phase.release[1].args[1]` must be a string, but it is an array.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = true\n",
                "`com.heroku.phase.release[1].timeout` must be a string or an integer, but it is a boolean.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = [\"15m\"]\n",
                "`com.heroku.phase.release[1].timeout` must be a string or an integer, but it is an array.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = { minutes = 15 }\n",
                "`com.heroku.phase.release[1].timeout` must be a string or an integer, but it is a table.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ntimeout = 1979-05-27T07:32:00Z\n",
                "`com.heroku.phase.release[1].timeout` must be a string or an integer, but it is a datetime.",
            ),
            (
                "[com.heroku.phase.release-build]\ncommand = \"npm\"\ntimeout = \"\"\n",
                "`com.heroku.phase.release-build.timeout` is not a valid timeout: it is empty.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\n[com.heroku.phase.release.env]\nRAILS_ENV = \"production\"\n",
                "`com.heroku.phase.release[1].env` is not a key the release phase knows. The keys allowed here are: `command`, `args`, `timeout`, `source`, `optional`, `done-when`, `retries`, `retry-delay`.",
            ),
            (
                "[com.heroku.phase.release-build]\ncommand = \"npm\"\n[com.heroku.phase.release-build.env]\nNODE_ENV = \"production\"\n",
                "`com.heroku.phase.release-build.env` is not a key the release phase knows.",
            ),
            (
                "[com.heroku.phase.hooks.before]\ncommand = \"rake\"\n",
                "`com.heroku.phase.hooks` is not a key the release phase knows. The keys allowed here are: `release`, `release-build`.",
            ),
            // The goal keys: done-when, retries, retry-delay.
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone-when = \"rake db:check\"\n",
                "`com.heroku.phase.release[1].done-when` must be a table with `command` and `args`, but it is a string. Write it like this: done-when = { command = \"bash\", args = [\"-c\", \"rake db:abort_if_pending_migrations\"] }",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone-when = { args = [\"x\"] }\n",
                "`com.heroku.phase.release[1].done-when.command` is missing. It is required; write it like this: command = \"bash\"",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone-when = { command = \"\" }\n",
                "`com.heroku.phase.release[1].done-when.command` is empty.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone-when = { command = \"rake db:check\" }\n",
                "`com.heroku.phase.release[1].done-when.command` is \"rake db:check\", which contains spaces.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone-when = { command = \"rake\", args = \"db:check\" }\n",
                "`com.heroku.phase.release[1].done-when.args` must be an array of strings, but it is a string.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone-when = { command = \"rake\", args = [1] }\n",
                "`com.heroku.phase.release[1].done-when.args[1]` must be a string, but it is an integer.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone-when = { command = \"rake\", timeout = \"1m\" }\n",
                "`com.heroku.phase.release[1].done-when.timeout` is not a key the release phase knows. The keys allowed here are: `command`, `args`.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\ndone_when = { command = \"rake\" }\n",
                "`com.heroku.phase.release[1].done_when` is not a key the release phase knows. Did you mean `done-when`?",
            ),
            (
                "[com.heroku.phase.release-build]\ncommand = \"npm\"\ndone-when = [\"test\", \"-d\", \"dist\"]\n",
                "`com.heroku.phase.release-build.done-when` must be a table with `command` and `args`, but it is an array.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretries = 11\n",
                "`com.heroku.phase.release[1].retries` is 11, but it must be from 0 to 10. Write it like this: retries = 2",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretries = -1\n",
                "`com.heroku.phase.release[1].retries` is -1, but it must be from 0 to 10.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretries = \"2\"\n",
                "`com.heroku.phase.release[1].retries` must be an integer from 0 to 10, but it is a string. Write it like this: retries = 2",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretries = 2.5\n",
                "`com.heroku.phase.release[1].retries` must be an integer from 0 to 10, but it is a float.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretry = 2\n",
                "`com.heroku.phase.release[1].retry` is not a key the release phase knows.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretry_delay = \"10s\"\n",
                "`com.heroku.phase.release[1].retry_delay` is not a key the release phase knows. Did you mean `retry-delay`?",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretry-delay = \"10 seconds\"\n",
                "`com.heroku.phase.release[1].retry-delay` is not a valid duration: `10 seconds` is not a number followed by `s`, `m` or `h`. Write a whole number of seconds or a duration such as \"10s\" or \"1m\", like this: retry-delay = \"10s\"",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretry-delay = \"0s\"\n",
                "`com.heroku.phase.release[1].retry-delay` is 0, but it must be from 1s to 5m. Write it like this: retry-delay = \"10s\"",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretry-delay = \"6m\"\n",
                "`com.heroku.phase.release[1].retry-delay` is 6m, but it must be from 1s to 5m.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretry-delay = -3\n",
                "`com.heroku.phase.release[1].retry-delay` is not a valid duration: it is negative.",
            ),
            (
                "[[com.heroku.phase.release]]\ncommand = \"rake\"\nretry-delay = true\n",
                "`com.heroku.phase.release[1].retry-delay` must be a string or an integer, but it is a boolean. Write it like this: retry-delay = \"10s\"",
            ),
            (
                "[com.heroku.phase.release-build]\ncommand = \"npm\"\nretries = 20\n",
                "`com.heroku.phase.release-build.retries` is 20, but it must be from 0 to 10.",
            ),
        ];
        for (text, expected) in cases {
            let error = message(text);
            let expected = format!("Couldn't use /workspace/project.toml: {expected}");
            assert!(
                error.starts_with(&expected),
                "\n{text}\ngave: {error}\nwanted: {expected}"
            );
        }
    }
}
