//! Launching a process type as the CNB launcher does: layer env, `bin/` on `PATH`, exec.d
//! programs with file descriptor 3, then the process itself.

use crate::{Built, PlatformError, escaped_id, layer_env};
use libcnb_data::launch::{Launch, Process, WorkingDirectory};
use libcnb_data::layer_content_metadata::LayerContentMetadata;
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// One exec.d program that ran before the process.
#[derive(Clone, Debug)]
pub struct ExecDRun {
    /// The program.
    pub program: PathBuf,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// The variables it wrote to file descriptor 3.
    pub env: BTreeMap<String, String>,
}

/// A process that ran to its end.
#[derive(Debug)]
pub struct Launched {
    /// The exec.d programs that ran first, in order.
    pub exec_d: Vec<ExecDRun>,
    /// How the process exited.
    pub status: ExitStatus,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Built {
    /// Every process type in the image: later buildpacks override earlier ones of the same type.
    ///
    /// # Errors
    ///
    /// Returns [`PlatformError::BadToml`] when a `launch.toml` is not valid.
    pub fn processes(&self) -> Result<BTreeMap<String, Process>, PlatformError> {
        let mut processes = BTreeMap::new();
        for member in &self.members {
            let path = self.buildpack_layers_dir(&member.id).join("launch.toml");
            if path.exists() {
                let launch: Launch = crate::read_toml(&path)?;
                for process in launch.processes {
                    processes.insert(process.r#type.to_string(), process);
                }
            }
        }
        Ok(processes)
    }

    /// Launch layers in order: buildpacks in group order, each one's layers by name.
    fn launch_layers(&self) -> Result<Vec<PathBuf>, PlatformError> {
        let mut layers = Vec::new();
        for member in &self.members {
            let dir = self.layers_dir().join(escaped_id(&member.id));
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter_map(|name| name.strip_suffix(".toml").map(str::to_string))
                .filter(|name| !["launch", "build", "store"].contains(&name.as_str()))
                .collect();
            names.sort();
            for name in names {
                let layer_toml: LayerContentMetadata =
                    crate::read_toml(&dir.join(format!("{name}.toml")))?;
                let launch = layer_toml.types.is_some_and(|types| types.launch);
                if launch && dir.join(&name).is_dir() {
                    layers.push(dir.join(name));
                }
            }
        }
        Ok(layers)
    }

    /// Prepares `process_type` as the launcher does, running its exec.d programs, and returns
    /// the command ready to spawn (stdio not set), with what the exec.d programs did.
    ///
    /// # Errors
    ///
    /// Returns a [`PlatformError`] when the process type does not exist, a file cannot be read,
    /// or an exec.d program fails (which aborts a real launch).
    pub fn launch_command(
        &self,
        process_type: &str,
        env: &[(&str, &str)],
    ) -> Result<(Command, Vec<ExecDRun>), PlatformError> {
        let processes = self.processes()?;
        let process = processes
            .get(process_type)
            .ok_or_else(|| PlatformError::NoSuchProcess(process_type.to_string()))?;
        let mut vars = self.base_env.clone();
        vars.extend(
            env.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
        );

        let layers = self.launch_layers()?;
        for layer in &layers {
            for (dir, name) in [("bin", "PATH"), ("lib", "LD_LIBRARY_PATH")] {
                if layer.join(dir).is_dir() {
                    let path = layer.join(dir).to_string_lossy().into_owned();
                    let value = match vars.get(name).filter(|v| !v.is_empty()) {
                        Some(current) => format!("{path}:{current}"),
                        None => path,
                    };
                    vars.insert(name.to_string(), value);
                }
            }
            layer_env::apply(&mut vars, &layer.join("env"))?;
            layer_env::apply(&mut vars, &layer.join("env.launch"))?;
            layer_env::apply(&mut vars, &layer.join("env.launch").join(process_type))?;
        }

        let mut exec_d = Vec::new();
        for layer in &layers {
            for dir in [
                layer.join("exec.d"),
                layer.join("exec.d").join(process_type),
            ] {
                for program in programs_in(&dir)? {
                    let run = run_exec_d(&program, &vars, &self.app_dir)?;
                    vars.extend(run.env.clone());
                    exec_d.push(run);
                }
            }
        }

        let (program, first_args) = process.command.split_first().ok_or_else(|| {
            PlatformError::NoSuchProcess(format!("{process_type} (empty command)"))
        })?;
        let mut command = Command::new(program);
        command
            .args(first_args)
            .args(&process.args)
            .env_clear()
            .envs(&vars)
            .current_dir(match &process.working_directory {
                WorkingDirectory::App => self.app_dir.clone(),
                WorkingDirectory::Directory(dir) => self.app_dir.join(dir),
            });
        Ok((command, exec_d))
    }

    /// Launches `process_type` with `env` added to the platform's environment and waits for it.
    ///
    /// # Errors
    ///
    /// As [`Built::launch_command`], and when the process cannot be started.
    pub fn launch(
        &self,
        process_type: &str,
        env: &[(&str, &str)],
    ) -> Result<Launched, PlatformError> {
        let (mut command, exec_d) = self.launch_command(process_type, env)?;
        let program = PathBuf::from(command.get_program());
        let output = command
            .output()
            .map_err(|error| PlatformError::io(&program, error))?;
        Ok(Launched {
            exec_d,
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// The regular files of `dir`, by name.
fn programs_in(dir: &Path) -> Result<Vec<PathBuf>, PlatformError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut programs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| PlatformError::io(dir, error))?;
        if entry
            .file_type()
            .is_ok_and(|kind| kind.is_file() || kind.is_symlink())
        {
            programs.push(entry.path());
        }
    }
    programs.sort();
    Ok(programs)
}

/// Runs one exec.d program with file descriptor 3 open for its TOML output.
fn run_exec_d(
    program: &Path,
    vars: &BTreeMap<String, String>,
    app_dir: &Path,
) -> Result<ExecDRun, PlatformError> {
    let io_error = |error| PlatformError::io(program, error);
    let mut fd3 = tempfile::tempfile().map_err(io_error)?;
    let fd3_raw = std::os::fd::AsRawFd::as_raw_fd(&fd3);
    let mut command = Command::new(program);
    command.env_clear().envs(vars).current_dir(app_dir);
    // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl) are made.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            if fd3_raw == 3 {
                if libc::fcntl(3, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd3_raw, 3) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().map_err(io_error)?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(PlatformError::ExecDFailed {
            program: program.to_path_buf(),
            status: output.status,
            stderr,
        });
    }
    let mut text = String::new();
    fd3.rewind()
        .and_then(|()| fd3.read_to_string(&mut text))
        .map_err(io_error)?;
    let bad_output = |message: String| PlatformError::ExecDBadOutput {
        program: program.to_path_buf(),
        message,
    };
    let table: toml::Table =
        toml::from_str(&text).map_err(|error| bad_output(error.to_string()))?;
    let env = table
        .into_iter()
        .map(|(name, value)| match value {
            toml::Value::String(value) => Ok((name, value)),
            other => Err(bad_output(format!(
                "`{name}` is {}, not a string",
                other.type_str()
            ))),
        })
        .collect::<Result<_, _>>()?;
    Ok(ExecDRun {
        program: program.to_path_buf(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
        env,
    })
}
