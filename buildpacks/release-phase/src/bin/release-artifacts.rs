//! `release-artifacts`: lists, prunes, verifies and promotes stored releases. The layer's copy is a
//! link to `exec-release-commands`, which runs this same code when called by this name.

#[path = "../programs/manage.rs"]
mod manage;

fn main() -> std::process::ExitCode {
    manage::main()
}
