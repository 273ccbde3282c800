//! One command of the release plan and where it came from.

use crate::Timeout;
use std::fmt;

/// A program to run with its arguments, optional time limit, and origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseCommand {
    /// The program, looked up on `PATH` unless it contains a `/`.
    pub command: String,
    /// Arguments passed to the program as they are (no shell is involved).
    pub args: Vec<String>,
    /// How long the command may run; `None` means no limit.
    pub timeout: Option<Timeout>,
    /// Where the command was configured: `project.toml` or the name of a buildpack.
    pub source: String,
    /// Whether the release phase goes on when this command fails (never for `release-build`).
    pub optional: bool,
}

impl ReleaseCommand {
    /// The command line as a shell would need it typed, for logs.
    ///
    /// ```
    /// use release_commands::ReleaseCommand;
    ///
    /// let command = ReleaseCommand {
    ///     command: "bash".into(),
    ///     args: vec!["-c".into(), "rake db:migrate".into()],
    ///     timeout: None,
    ///     source: "project.toml".into(),
    ///     optional: false,
    /// };
    /// assert_eq!(command.command_line(), "bash -c 'rake db:migrate'");
    /// ```
    #[must_use]
    pub fn command_line(&self) -> String {
        std::iter::once(&self.command)
            .chain(&self.args)
            .map(|word| shell_quoted(word))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for ReleaseCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.command_line())
    }
}

fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_words_a_shell_would_split() {
        let command = ReleaseCommand {
            command: "echo".into(),
            args: vec![String::new(), "it's".into(), "a b".into(), "$HOME".into()],
            timeout: None,
            source: "project.toml".into(),
            optional: false,
        };
        assert_eq!(command.command_line(), r"echo '' 'it'\''s' 'a b' '$HOME'");
    }
}
