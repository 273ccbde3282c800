//! Writing a folder as a compressed tar archive.
//!
//! Entries are written in name order with their modes and modification times but without
//! owners, so the same files always give the same archive and the same digest. The packer
//! applies the load's rules (see [`super::unpack`]) before anything leaves the machine: a link
//! that leads outside the folder, or anything but files, folders and links, is refused with the
//! file's name; a file that changes while it is archived fails the archive.

use super::unpack::{link_problem, shown};
use crate::Compression;
use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What was archived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackSummary {
    /// Files and links archived (folders are not counted).
    pub file_count: u64,
    /// Total size of the files archived.
    pub unpacked_size: u64,
}

/// Why a folder cannot be archived; the text names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// An entry no load would accept: a link leading outside, or a special file.
    #[error("\"{path}\": {reason}; no load would accept it. {fix}", path = shown(path))]
    Refused {
        /// The entry, relative to the folder.
        path: PathBuf,
        /// What it is.
        reason: String,
        /// What to do.
        fix: &'static str,
    },
    /// A file changed while it was being archived.
    #[error(
        "\"{path}\" changed while it was being archived ({what}): something is still writing into the folder. Make sure every process the release-build command started (background jobs too) has finished writing before it exits, then run the release phase again.",
        path = shown(path)
    )]
    Changed {
        /// The file, relative to the folder.
        path: PathBuf,
        /// How it changed.
        what: String,
    },
    /// A file or folder cannot be read.
    #[error("couldn't read \"{path}\": {error}{hint}", path = shown(path), hint = read_hint(error))]
    Read {
        /// The file or folder, relative to the folder (empty for the folder itself).
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// Writing the archive out failed (the upload stopped, the disk is full, ...).
    #[error("{0}")]
    Output(io::Error),
}

fn read_hint(error: &io::Error) -> &'static str {
    match error.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => {
            ". Make it readable by the user the release phase runs as (chmod), or remove it"
        }
        Some(libc::ENAMETOOLONG) => ". Shorten its name or its path",
        Some(libc::ELOOP) => ". Replace the link with what it points to",
        _ => "",
    }
}

/// zstd level: fast, and still much smaller than gzip's default.
const ZSTD_LEVEL: i32 = 3;

/// Checks, without reading any file's content, that every entry of `dir` can be archived and
/// loaded: the same checks [`pack`] makes on the way, done before anything is stored.
///
/// # Errors
///
/// Returns [`PackError`] naming the first entry that cannot.
pub fn check_folder(dir: &Path) -> Result<(), PackError> {
    let mut folders = HashSet::new();
    walk(dir, Path::new(""), &mut |relative, metadata| {
        if let Checked::File = check_entry(dir, relative, metadata, &mut folders)? {
            // Readable now, or refused before anything is stored.
            open_file(dir, relative).map_err(|error| PackError::Read {
                path: relative.to_path_buf(),
                error,
            })?;
        }
        Ok(())
    })
}

/// Opens the file `dir/relative` for reading, not following a link and not waiting on a fifo,
/// should it have been replaced by one since it was listed.
fn open_file(dir: &Path, relative: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(dir.join(relative))
}

/// Writes the archive of the folder `dir` into `out`.
///
/// # Errors
///
/// Returns [`PackError`] when an entry cannot be archived (see [`check_folder`]), a file cannot
/// be read or changes meanwhile, or `out` fails.
pub fn pack<W: Write>(
    dir: &Path,
    compression: Compression,
    out: W,
) -> Result<(PackSummary, W), PackError> {
    match compression {
        Compression::Zstd => {
            let encoder =
                zstd::stream::write::Encoder::new(out, ZSTD_LEVEL).map_err(PackError::Output)?;
            let (summary, encoder) = write_tar(dir, encoder)?;
            Ok((summary, encoder.finish().map_err(PackError::Output)?))
        }
        Compression::Gzip => {
            let encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            let (summary, encoder) = write_tar(dir, encoder)?;
            Ok((summary, encoder.finish().map_err(PackError::Output)?))
        }
    }
}

/// What an entry is, once checked.
enum Checked {
    Folder,
    File,
    Link(PathBuf),
}

/// Checks one entry against the load's rules; `folders` holds the folders met so far.
fn check_entry(
    dir: &Path,
    relative: &Path,
    metadata: &Metadata,
    folders: &mut HashSet<PathBuf>,
) -> Result<Checked, PackError> {
    let kind = metadata.file_type();
    let refused = |reason: String, fix| PackError::Refused {
        path: relative.to_path_buf(),
        reason,
        fix,
    };
    if kind.is_dir() {
        folders.insert(relative.to_path_buf());
        Ok(Checked::Folder)
    } else if kind.is_file() {
        Ok(Checked::File)
    } else if kind.is_symlink() {
        let target = std::fs::read_link(dir.join(relative)).map_err(|error| PackError::Read {
            path: relative.to_path_buf(),
            error,
        })?;
        match link_problem(relative, &target, |at| folders.contains(at)) {
            None => Ok(Checked::Link(target)),
            Some(problem) => Err(refused(
                problem,
                "Replace the link with a copy of what it points to (cp -L), or make it a relative link to something inside the folder.",
            )),
        }
    } else {
        use std::os::unix::fs::FileTypeExt;
        let what = if kind.is_fifo() {
            "a fifo"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device file"
        };
        Err(refused(
            format!("it is {what}"),
            "Static artifacts hold only files, folders and links: remove it from the folder.",
        ))
    }
}

/// Visits every entry under `root/relative` in name order, each folder before what it holds.
fn walk(
    root: &Path,
    relative: &Path,
    visit: &mut impl FnMut(&Path, &Metadata) -> Result<(), PackError>,
) -> Result<(), PackError> {
    let cannot = |error| PackError::Read {
        path: relative.to_path_buf(),
        error,
    };
    let mut names: Vec<_> = std::fs::read_dir(root.join(relative))
        .map_err(cannot)?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<io::Result<_>>()
        .map_err(cannot)?;
    names.sort();
    for name in names {
        let path = relative.join(&name);
        let metadata =
            std::fs::symlink_metadata(root.join(&path)).map_err(|error| PackError::Read {
                path: path.clone(),
                error,
            })?;
        visit(&path, &metadata)?;
        if metadata.is_dir() {
            walk(root, &path, visit)?;
        }
    }
    Ok(())
}

fn write_tar<W: Write>(dir: &Path, out: W) -> Result<(PackSummary, W), PackError> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut summary = PackSummary {
        file_count: 0,
        unpacked_size: 0,
    };
    let mut folders = HashSet::new();
    walk(dir, Path::new(""), &mut |relative, metadata| {
        match check_entry(dir, relative, metadata, &mut folders)? {
            Checked::Folder => {
                let mut header = header_for(metadata);
                builder
                    .append_data(&mut header, relative, io::empty())
                    .map_err(PackError::Output)?;
            }
            Checked::Link(target) => {
                let mut header = header_for(metadata);
                builder
                    .append_link(&mut header, relative, target)
                    .map_err(PackError::Output)?;
                summary.file_count += 1;
            }
            Checked::File => {
                let size = append_file(&mut builder, dir, relative)?;
                summary.file_count += 1;
                summary.unpacked_size += size;
            }
        }
        Ok(())
    })?;
    Ok((summary, builder.into_inner().map_err(PackError::Output)?))
}

/// A header with the entry's permissions (without setuid, setgid and sticky bits) and mtime,
/// and no owner.
fn header_for(metadata: &Metadata) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(metadata, tar::HeaderMode::Deterministic);
    header.set_mode(metadata.mode() & 0o777);
    header.set_mtime(u64::try_from(metadata.mtime()).unwrap_or_default());
    header
}

/// Appends the file `dir/relative`: exactly as many bytes as its header says, failing when the
/// file changed meanwhile. Returns its size.
fn append_file<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    relative: &Path,
) -> Result<u64, PackError> {
    let cannot = |error| PackError::Read {
        path: relative.to_path_buf(),
        error,
    };
    let file = open_file(dir, relative).map_err(cannot)?;
    let before = file.metadata().map_err(cannot)?;
    if !before.is_file() {
        return Err(PackError::Changed {
            path: relative.to_path_buf(),
            what: "it is no longer a file".into(),
        });
    }
    let size = before.len();
    let mut header = header_for(&before);
    let mut reader = Exact {
        file: &file,
        remaining: size,
        failure: None,
    };
    let appended = builder.append_data(&mut header, relative, &mut reader);
    match (appended, reader.failure) {
        (_, Some(Failure::Shrank(now))) => {
            return Err(PackError::Changed {
                path: relative.to_path_buf(),
                what: format!("its size went from {size} to {now} bytes"),
            });
        }
        (_, Some(Failure::Read(error))) => return Err(cannot(error)),
        (Err(error), None) => return Err(PackError::Output(error)),
        (Ok(()), None) => {}
    }
    let after = file.metadata().map_err(cannot)?;
    if after.len() != size {
        return Err(PackError::Changed {
            path: relative.to_path_buf(),
            what: format!("its size went from {size} to {} bytes", after.len()),
        });
    }
    if (after.mtime(), after.mtime_nsec()) != (before.mtime(), before.mtime_nsec()) {
        return Err(PackError::Changed {
            path: relative.to_path_buf(),
            what: "it was written to".into(),
        });
    }
    Ok(size)
}

/// Why reading a file stopped.
enum Failure {
    /// It ended before the size its header gives; its size now.
    Shrank(u64),
    /// Reading it failed.
    Read(io::Error),
}

/// Reads exactly `remaining` bytes of `file`, recording why it could not.
struct Exact<'a> {
    file: &'a File,
    remaining: u64,
    failure: Option<Failure>,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let most = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        match self.file.read(&mut buf[..most]) {
            Ok(0) => {
                let read = self.file.metadata().map_or(0, |metadata| metadata.len());
                self.failure = Some(Failure::Shrank(read));
                Err(io::Error::other("the file shrank"))
            }
            Ok(read) => {
                self.remaining -= read as u64;
                Ok(read)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Err(error),
            Err(error) => {
                let kind = error.kind();
                self.failure = Some(Failure::Read(error));
                Err(io::Error::from(kind))
            }
        }
    }
}
