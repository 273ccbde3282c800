//! Argument parsing shared by the programs: each is named as it was called, and its `--help`
//! ends with the environment it reads.

use clap::Parser;
use release_artifacts::environment_help;

/// The names the one program file answers to, each a program (or an alias of one).
pub(crate) const PROGRAM_NAMES: [&str; 6] = [
    "exec-release-commands",
    "upload-release-artifacts",
    "save-release-artifacts",
    "download-release-artifacts",
    "load-release-artifacts",
    "release-artifacts",
];

/// Parses this process's arguments for the program called `name`: usage, errors, `--help` and
/// `--version` name it; `--help` ends with the "Environment:" section. Exits with 2 (after
/// printing the error) on bad arguments, and 0 after `--help` or `--version`.
pub(crate) fn parse<T: Parser>(name: &'static str) -> T {
    let mut command = T::command()
        .name(name)
        .bin_name(name)
        .after_help(environment_help(&[]));
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|matches| T::from_arg_matches(&matches));
    parsed.unwrap_or_else(|error| error.format(&mut command).exit())
}
