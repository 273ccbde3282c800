//! Reading command tables out of TOML with a precise error for every wrong value.

use crate::{
    Check, ConfigError, ConfigWarning, Location, MAX_RETRIES, MAX_RETRY_DELAY, Problem,
    ReleaseCommand, Timeout, TimeoutError,
};
use toml::{Table, Value};

/// The keys of a command table, in `project.toml` and Build Plan metadata alike.
pub(crate) const COMMAND_KEYS: &[&str] = &[
    "command",
    "args",
    "timeout",
    "source",
    "optional",
    "done-when",
    "retries",
    "retry-delay",
];
/// The keys of a `done-when` check.
const CHECK_KEYS: &[&str] = &["command", "args"];

const COMMAND_EXAMPLE: &str = "command = \"bash\"";
const ARGS_EXAMPLE: &str = "args = [\"-c\", \"rake db:migrate\"]";
const DONE_WHEN_EXAMPLE: &str =
    "done-when = { command = \"bash\", args = [\"-c\", \"rake db:abort_if_pending_migrations\"] }";
const RETRIES_EXAMPLE: &str = "retries = 2";
const RETRY_DELAY_EXAMPLE: &str = "retry-delay = \"10s\"";

/// What to do with a key that is not known.
pub(crate) enum UnknownKeys<'a> {
    /// Fail: the app's own configuration must be exact.
    Fail,
    /// Collect a warning: another buildpack's entry may come from a newer version.
    Warn(&'a mut Vec<ConfigWarning>),
}

/// Reads one TOML table from one place.
pub(crate) struct TableReader<'a> {
    pub(crate) location: &'a Location,
    pub(crate) unknown_keys: UnknownKeys<'a>,
}

impl TableReader<'_> {
    pub(crate) fn error(&self, key: impl Into<String>, problem: Problem) -> ConfigError {
        ConfigError::InvalidKey {
            location: self.location.clone(),
            key: key.into(),
            problem,
        }
    }

    /// Reports every key of `table` that is not in `allowed`.
    pub(crate) fn check_keys(
        &mut self,
        table: &Table,
        path: &str,
        allowed: &'static [&'static str],
    ) -> Result<(), ConfigError> {
        for key in table.keys().filter(|key| !allowed.contains(&key.as_str())) {
            let suggestion = closest(key, allowed);
            let key_path = join(path, key);
            match &mut self.unknown_keys {
                UnknownKeys::Fail => {
                    return Err(self.error(
                        key_path,
                        Problem::UnknownKey {
                            suggestion,
                            allowed,
                        },
                    ));
                }
                UnknownKeys::Warn(warnings) => warnings.push(ConfigWarning {
                    location: self.location.clone(),
                    key: key_path,
                    suggestion,
                }),
            }
        }
        Ok(())
    }

    /// Reads `[[<path>]]`: an array of command tables.
    pub(crate) fn commands(
        &mut self,
        value: &Value,
        path: &str,
        allowed: &'static [&'static str],
        default_source: &str,
    ) -> Result<Vec<ReleaseCommand>, ConfigError> {
        let items = match value {
            Value::Array(items) => items,
            Value::Table(_) => return Err(self.error(path, Problem::ReleaseIsTable)),
            other => {
                return Err(self.error(
                    path,
                    Problem::WrongType {
                        expected: "an array of tables",
                        found: other.type_str(),
                        example: "[[com.heroku.phase.release]] followed by command = \"bash\"",
                    },
                ));
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let item_path = format!("{path}[{}]", index + 1);
                self.command(item, &item_path, allowed, default_source)
            })
            .collect()
    }

    /// Reads one command table.
    pub(crate) fn command(
        &mut self,
        value: &Value,
        path: &str,
        allowed: &'static [&'static str],
        default_source: &str,
    ) -> Result<ReleaseCommand, ConfigError> {
        let Value::Table(table) = value else {
            return Err(self.error(
                path,
                Problem::WrongType {
                    expected: "a table",
                    found: value.type_str(),
                    example: COMMAND_EXAMPLE,
                },
            ));
        };
        self.check_keys(table, path, allowed)?;

        let command = self.command_name(table.get("command"), path)?;
        let args = self.args(table.get("args"), path)?;
        let timeout = self.timeout(table.get("timeout"), path)?;
        let source = match table.get("source") {
            Some(Value::String(source)) if !source.trim().is_empty() => source.clone(),
            Some(Value::String(_)) | None => default_source.to_string(),
            Some(other) => {
                return Err(self.error(
                    join(path, "source"),
                    Problem::WrongType {
                        expected: "a string",
                        found: other.type_str(),
                        example: "source = \"My Buildpack\"",
                    },
                ));
            }
        };

        let optional = match table.get("optional") {
            None => false,
            Some(Value::Boolean(optional)) => *optional,
            Some(other) => {
                return Err(self.error(
                    join(path, "optional"),
                    Problem::WrongType {
                        expected: "a boolean",
                        found: other.type_str(),
                        example: "optional = true",
                    },
                ));
            }
        };

        let done_when = match table.get("done-when") {
            None => None,
            Some(value) => Some(self.check(value, &join(path, "done-when"))?),
        };
        let retries = self.retries(table.get("retries"), path)?;
        let retry_delay = self.retry_delay(table.get("retry-delay"), path)?;

        Ok(ReleaseCommand {
            command,
            args,
            timeout,
            source,
            optional,
            done_when,
            retries,
            retry_delay,
        })
    }

    /// Reads a `done-when` table: a command and its args, as in a command table.
    fn check(&mut self, value: &Value, path: &str) -> Result<Check, ConfigError> {
        let Value::Table(table) = value else {
            return Err(self.error(
                path,
                Problem::WrongType {
                    expected: "a table with `command` and `args`",
                    found: value.type_str(),
                    example: DONE_WHEN_EXAMPLE,
                },
            ));
        };
        self.check_keys(table, path, CHECK_KEYS)?;
        Ok(Check {
            command: self.command_name(table.get("command"), path)?,
            args: self.args(table.get("args"), path)?,
        })
    }

    fn retries(&self, value: Option<&Value>, path: &str) -> Result<u32, ConfigError> {
        let key = join(path, "retries");
        match value {
            None => Ok(0),
            Some(Value::Integer(count)) => u32::try_from(*count)
                .ok()
                .filter(|count| *count <= MAX_RETRIES)
                .ok_or_else(|| {
                    self.error(
                        key,
                        Problem::OutOfRange {
                            value: count.to_string(),
                            range: "from 0 to 10",
                            example: RETRIES_EXAMPLE,
                        },
                    )
                }),
            Some(other) => Err(self.error(
                key,
                Problem::WrongType {
                    expected: "an integer from 0 to 10",
                    found: other.type_str(),
                    example: RETRIES_EXAMPLE,
                },
            )),
        }
    }

    fn retry_delay(
        &self,
        value: Option<&Value>,
        path: &str,
    ) -> Result<Option<Timeout>, ConfigError> {
        let key = join(path, "retry-delay");
        let parsed = match value {
            None => return Ok(None),
            Some(Value::Integer(secs)) => u64::try_from(*secs)
                .map_err(|_| TimeoutError::Negative)
                .and_then(Timeout::from_secs),
            Some(Value::String(text)) => text.parse(),
            Some(other) => {
                return Err(self.error(
                    key,
                    Problem::WrongType {
                        expected: "a string or an integer",
                        found: other.type_str(),
                        example: RETRY_DELAY_EXAMPLE,
                    },
                ));
            }
        };
        let out_of_range = |value: String| {
            self.error(
                key.clone(),
                Problem::OutOfRange {
                    value,
                    range: "from 1s to 5m",
                    example: RETRY_DELAY_EXAMPLE,
                },
            )
        };
        match parsed {
            Ok(delay) if delay.as_duration() <= MAX_RETRY_DELAY => Ok(Some(delay)),
            Ok(delay) => Err(out_of_range(delay.to_string())),
            Err(TimeoutError::Zero) => Err(out_of_range("0".into())),
            Err(TimeoutError::TooLarge(value)) => Err(out_of_range(value)),
            Err(error) => Err(self.error(key, Problem::BadDuration(error))),
        }
    }

    fn command_name(&self, value: Option<&Value>, path: &str) -> Result<String, ConfigError> {
        let key = join(path, "command");
        let command = match value {
            None => {
                return Err(self.error(
                    key,
                    Problem::Missing {
                        example: COMMAND_EXAMPLE,
                    },
                ));
            }
            Some(Value::String(command)) if command.trim().is_empty() => {
                return Err(self.error(
                    key,
                    Problem::Empty {
                        example: COMMAND_EXAMPLE,
                    },
                ));
            }
            Some(Value::String(command)) => command.clone(),
            Some(other) => {
                return Err(self.error(
                    key,
                    Problem::WrongType {
                        expected: "a string",
                        found: other.type_str(),
                        example: COMMAND_EXAMPLE,
                    },
                ));
            }
        };
        if command.contains(char::is_whitespace) {
            return Err(self.error(key, Problem::CommandLineInCommand { value: command }));
        }
        Ok(command)
    }

    fn args(&self, value: Option<&Value>, path: &str) -> Result<Vec<String>, ConfigError> {
        let key = join(path, "args");
        match value {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::String(arg) => Ok(arg.clone()),
                    other => Err(self.error(
                        format!("{key}[{}]", index + 1),
                        Problem::WrongType {
                            expected: "a string",
                            found: other.type_str(),
                            example: ARGS_EXAMPLE,
                        },
                    )),
                })
                .collect(),
            Some(other) => Err(self.error(
                key,
                Problem::WrongType {
                    expected: "an array of strings",
                    found: other.type_str(),
                    example: ARGS_EXAMPLE,
                },
            )),
        }
    }

    fn timeout(&self, value: Option<&Value>, path: &str) -> Result<Option<Timeout>, ConfigError> {
        let key = join(path, "timeout");
        let parsed = match value {
            None => return Ok(None),
            Some(Value::Integer(secs)) => u64::try_from(*secs)
                .map_err(|_| TimeoutError::Negative)
                .and_then(Timeout::from_secs),
            Some(Value::String(text)) => text.parse(),
            Some(other) => {
                return Err(self.error(
                    key,
                    Problem::WrongType {
                        expected: "a string or an integer",
                        found: other.type_str(),
                        example: "timeout = \"15m\"",
                    },
                ));
            }
        };
        parsed
            .map(Some)
            .map_err(|error| self.error(key, Problem::BadTimeout(error)))
    }
}

/// `path.key`, or `key` at the top.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The allowed key most like `key`, when it is close enough to be a typo.
pub(crate) fn closest(key: &str, allowed: &[&'static str]) -> Option<&'static str> {
    allowed
        .iter()
        .map(|candidate| (strsim::levenshtein(key, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_near_keys_only() {
        let allowed = &["release", "release-build"];
        assert_eq!(closest("relase", allowed), Some("release"));
        assert_eq!(closest("release_build", allowed), Some("release-build"));
        assert_eq!(closest("releasebuild", allowed), Some("release-build"));
        assert_eq!(closest("web", allowed), None);
    }
}
