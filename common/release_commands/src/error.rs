//! What can be wrong with release configuration, worded for the person who has to fix it.

use crate::TimeoutError;
use std::fmt;
use std::path::PathBuf;

/// Where a piece of configuration was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The app's `project.toml`.
    ProjectToml(PathBuf),
    /// The `index`-th (counting from 1) `release-phase` Build Plan entry, with the `source` it
    /// names, if any.
    BuildPlanEntry {
        /// Position among the `release-phase` entries, counting from 1.
        index: usize,
        /// The buildpack name the entry gives as its `source`.
        source: Option<String>,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::ProjectToml(path) => write!(f, "{}", path.display()),
            Location::BuildPlanEntry {
                index,
                source: Some(source),
            } => write!(
                f,
                "the `release-phase` Build Plan entry #{index} (from {source})"
            ),
            Location::BuildPlanEntry {
                index,
                source: None,
            } => write!(f, "the `release-phase` Build Plan entry #{index}"),
        }
    }
}

/// A configuration error that fails the build.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `project.toml` exists but cannot be read.
    #[error("Couldn't read {}: {source}", path.display())]
    CannotReadProjectToml {
        /// The file.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// `project.toml` is not valid TOML.
    #[error(
        "Couldn't parse {} as TOML. Fix the syntax error below (see https://toml.io):\n{message}",
        path.display()
    )]
    InvalidProjectToml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key holds a value the release phase cannot use.
    #[error("Couldn't use {location}: `{key}` {problem}")]
    InvalidKey {
        /// The file or Build Plan entry.
        location: Location,
        /// The key path, such as `com.heroku.phase.release[2].args` (commands count from 1).
        key: String,
        /// What is wrong and how to fix it.
        problem: Problem,
    },
}

/// What is wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The value has the wrong TOML type.
    WrongType {
        /// What was expected, such as "an array of strings".
        expected: &'static str,
        /// The TOML type found, such as "string".
        found: &'static str,
        /// A correct example.
        example: &'static str,
    },
    /// A required key is missing.
    Missing {
        /// A correct example.
        example: &'static str,
    },
    /// A string that must say something is empty.
    Empty {
        /// A correct example.
        example: &'static str,
    },
    /// `command` holds a whole command line although no shell runs it.
    CommandLineInCommand {
        /// The value given.
        value: String,
    },
    /// A key the release phase does not know, maybe a typo.
    UnknownKey {
        /// The known key closest to it, if one is close.
        suggestion: Option<&'static str>,
        /// Every key allowed at this place.
        allowed: &'static [&'static str],
    },
    /// `release-build` was written as an array of tables.
    ReleaseBuildIsArray,
    /// `release` was written as a single table.
    ReleaseIsTable,
    /// `timeout` cannot be understood.
    BadTimeout(TimeoutError),
    /// `optional = true` on `release-build`.
    OptionalReleaseBuild,
    /// A number or duration outside the range allowed.
    OutOfRange {
        /// The value given.
        value: String,
        /// The range allowed, such as "from 0 to 10".
        range: &'static str,
        /// A correct example.
        example: &'static str,
    },
    /// A duration (other than `timeout`) cannot be understood.
    BadDuration(TimeoutError),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::WrongType {
                expected,
                found,
                example,
            } => write!(
                f,
                "must be {expected}, but it is {}. Write it like this: {example}",
                with_article(found)
            ),
            Problem::Missing { example } => {
                write!(
                    f,
                    "is missing. It is required; write it like this: {example}"
                )
            }
            Problem::Empty { example } => {
                write!(f, "is empty. Name the program to run, like this: {example}")
            }
            Problem::CommandLineInCommand { value } => {
                let mut words = value.split_whitespace();
                let program = words.next().unwrap_or_default();
                let rest = words
                    .map(|w| format!("{w:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                write!(
                    f,
                    "is {value:?}, which contains spaces. Release commands run without a shell, so \
                     `command` names only the program and `args` holds the rest: \
                     command = {program:?} and args = [{rest}]. To use shell syntax, write \
                     command = \"bash\" and args = [\"-c\", {value:?}]."
                )
            }
            Problem::UnknownKey {
                suggestion,
                allowed,
            } => {
                f.write_str("is not a key the release phase knows.")?;
                if let Some(suggestion) = suggestion {
                    write!(f, " Did you mean `{suggestion}`?")?;
                }
                write!(
                    f,
                    " The keys allowed here are: {}. The build stops rather than ignore it, \
                     because a misspelt key would silently skip a command.",
                    allowed
                        .iter()
                        .map(|key| format!("`{key}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Problem::ReleaseBuildIsArray => f.write_str(
                "is an array of tables ([[...]]), but there can be only one release-build \
                 command. Write it as a single table, [com.heroku.phase.release-build], and \
                 combine the steps in one command, e.g. args = [\"-c\", \"step1 && step2\"].",
            ),
            Problem::ReleaseIsTable => f.write_str(
                "is a single table ([...]), but it must be an array of tables. Write each release \
                 command under its own [[com.heroku.phase.release]] header (double brackets).",
            ),
            Problem::OptionalReleaseBuild => f.write_str(
                "is not allowed on release-build: the release needs its static artifacts, so a \
                 failed release-build always stops the release. Remove `optional`, or make the \
                 command succeed when it has nothing to build.",
            ),
            Problem::OutOfRange {
                value,
                range,
                example,
            } => write!(
                f,
                "is {value}, but it must be {range}. Write it like this: {example}"
            ),
            Problem::BadDuration(error) => write!(
                f,
                "is not a valid duration: {error}. Write a whole number of seconds or a duration \
                 such as \"10s\" or \"1m\", like this: retry-delay = \"10s\""
            ),
            Problem::BadTimeout(error) => write!(
                f,
                "is not a valid timeout: {error}. Write a whole number of seconds (timeout = 900) \
                 or a duration such as timeout = \"90s\", \"15m\" or \"1h\"."
            ),
        }
    }
}

fn with_article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// Something odd in another buildpack's Build Plan entry: reported, but the build goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The Build Plan entry.
    pub location: Location,
    /// The key path of the unknown key.
    pub key: String,
    /// The known key closest to it, if one is close.
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ignoring the unknown key `{}` in {}.",
            self.key, self.location
        )?;
        if let Some(suggestion) = self.suggestion {
            write!(f, " Did you mean `{suggestion}`?")?;
        }
        f.write_str(" The buildpack that wrote this entry may be newer or older than this one.")
    }
}
