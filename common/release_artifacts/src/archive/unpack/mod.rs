//! Extracting an archive into a folder, refusing anything that could write outside it or
//! create what static files have no business being: absolute paths, `..`, links leaving the
//! folder, entries written through links, devices, fifos, setuid and setgid bits, and more data
//! than allowed (decompression bombs, also hidden in long names, PAX headers or skipped data).

mod paths;
mod writers;

pub(crate) use paths::{link_problem, shown};

use paths::{Created, Kind, refused, safe_relative};
use writers::{SMALL_FILE, Writers, copy_in_blocks, finish_file};

use crate::Compression;
use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

/// What was extracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpackSummary {
    /// Files and links extracted.
    pub file_count: u64,
    /// Total size of the files extracted.
    pub unpacked_size: u64,
}

/// Why an archive was refused or could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// An entry would escape the folder or is of a kind that is refused.
    #[error("the archive's entry \"{path}\" was refused: {reason}")]
    Refused {
        /// The entry's path as written in the archive.
        path: String,
        /// Why.
        reason: String,
    },
    /// The archive expands to more than allowed.
    #[error("the archive expands to more than {limit} bytes, more than it should; it was refused")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The archive is corrupt or truncated, or a file cannot be written.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Extracts the archive read from `input` into the existing, empty folder `dest`, refusing any
/// entry that is not a plain file, folder or link staying inside `dest`, and stopping when the
/// files add up to more than `limit` bytes.
///
/// # Errors
///
/// Returns [`UnpackError`] for a refused entry, a decompression bomb, a corrupt or truncated
/// archive, or a write that fails. What was written so far stays in `dest`.
pub fn unpack<R: BufRead>(
    input: R,
    compression: Compression,
    dest: &Path,
    limit: u64,
) -> Result<UnpackSummary, UnpackError> {
    match compression {
        Compression::Zstd => extract(
            zstd::stream::read::Decoder::with_buffer(input)?,
            compression,
            dest,
            limit,
        ),
        Compression::Gzip => extract(
            flate2::bufread::MultiGzDecoder::new(input),
            compression,
            dest,
            limit,
        ),
    }
}

/// Room in the decompressed stream for what comes before an entry's data (its headers, long
/// names, PAX extensions, and the padding and unused data of the entry before): the tar reader
/// holds long names and PAX extensions in memory and skips unused data by reading it, so a
/// crafted archive gets no more than this for them.
const HEADER_ROOM: u64 = 1024 * 1024;

/// The decompressed stream as the tar reader reads it: cut off past the room it has (see
/// [`HEADER_ROOM`]; a file's data adds its size), with the decoder's errors said in plain words.
struct Metered<R> {
    decoder: R,
    compression: Compression,
    /// Bytes the tar reader may still read.
    room: Rc<Cell<u64>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = self.room.get();
        if room == 0 && !buf.is_empty() {
            return Err(explained(format!(
                "the archive holds headers (long names, PAX extensions) or unused data of more \
                 than {HEADER_ROOM} bytes before an entry; it was refused"
            )));
        }
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        match self.decoder.read(&mut buf[..len]) {
            Ok(read) => {
                self.room.set(room.saturating_sub(read as u64));
                Ok(read)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Err(error),
            Err(error) => Err(io::Error::new(
                error.kind(),
                Explained(format!(
                    "the archive is not valid {}, or is cut short ({error})",
                    self.compression
                )),
            )),
        }
    }
}

/// A message of ours, passed through the tar reader unchanged (see [`from_tar`]).
#[derive(Debug)]
struct Explained(String);

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Explained {}

fn explained(message: String) -> io::Error {
    io::Error::other(Explained(message))
}

/// An error of the tar reader, for entry `number` (from 1). Ours pass unchanged; the tar crate's
/// own quote the header's fields, which in a misaligned archive are file contents, so they
/// become one plain sentence that quotes nothing.
fn from_tar(error: io::Error, number: u64) -> UnpackError {
    if matches!(error.get_ref(), Some(inner) if inner.is::<Explained>()) {
        return UnpackError::Io(error);
    }
    UnpackError::Io(io::Error::new(
        error.kind(),
        format!(
            "the archive is corrupt: the tar header of entry {number} is not valid (was the \
             archive changed or cut after it was made?)"
        ),
    ))
}

fn extract<R: Read>(
    decoder: R,
    compression: Compression,
    dest: &Path,
    limit: u64,
) -> Result<UnpackSummary, UnpackError> {
    std::thread::scope(|scope| {
        let mut writers = Writers::start(scope);
        let room = Rc::new(Cell::new(HEADER_ROOM));
        let metered = Metered {
            decoder,
            compression,
            room: Rc::clone(&room),
        };
        let result = extract_entries(metered, &room, dest, limit, &mut writers);
        // Even after a failure, let the writers finish before the caller removes the folder.
        if result.is_err() {
            writers.discard_pending();
        }
        let finished = writers.finish();
        let summary = result?;
        finished?;
        Ok(summary)
    })
}

/// An extraction under way: where it goes, what it created, and what it counted.
struct Extraction<'a> {
    dest: &'a Path,
    limit: u64,
    room: &'a Cell<u64>,
    writers: &'a mut Writers,
    created: Created,
    /// The buffer large files are copied through.
    block: Vec<u8>,
    /// Folders and their modes, applied last so that a read-only folder can still be filled.
    folders: Vec<(PathBuf, u32)>,
    summary: UnpackSummary,
}

fn extract_entries<R: Read>(
    decoder: R,
    room: &Cell<u64>,
    dest: &Path,
    limit: u64,
    writers: &mut Writers,
) -> Result<UnpackSummary, UnpackError> {
    if std::fs::read_dir(dest)?.next().is_some() {
        return Err(UnpackError::Io(io::Error::other(format!(
            "{} is not empty",
            dest.display()
        ))));
    }
    let mut archive = tar::Archive::new(decoder);
    let mut extraction = Extraction {
        dest,
        limit,
        room,
        writers,
        created: Created::default(),
        block: vec![0; SMALL_FILE],
        folders: Vec::new(),
        summary: UnpackSummary {
            file_count: 0,
            unpacked_size: 0,
        },
    };
    let mut entries = archive.entries().map_err(|error| from_tar(error, 1))?;
    let mut number = 0u64;
    loop {
        room.set(HEADER_ROOM);
        let Some(entry) = entries.next() else {
            break;
        };
        number += 1;
        let mut entry = entry.map_err(|error| from_tar(error, number))?;
        extraction.entry(&mut entry, number)?;
    }
    extraction.writers.wait_idle()?;
    for (folder, mode) in extraction.folders.into_iter().rev() {
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(extraction.summary)
}

impl Extraction<'_> {
    /// Extracts entry `number` of the archive, or refuses it.
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        number: u64,
    ) -> Result<(), UnpackError> {
        let from_tar = |error| from_tar(error, number);
        let raw_path = entry.path().map_err(from_tar)?.into_owned();
        let Some(relative) = safe_relative(&raw_path)? else {
            return Ok(());
        };
        let header = entry.header();
        let mode = header.mode().map_err(from_tar)?;
        if mode & 0o6000 != 0 {
            return Err(refused(&raw_path, "it has the setuid or setgid bit"));
        }
        let kind = header.entry_type();
        let mtime = header.mtime().map_err(from_tar)?;
        let (dest, target) = (self.dest, self.dest.join(&relative));
        self.created.make_parents(dest, &relative)?;
        match kind {
            tar::EntryType::Directory => {
                if self.created.kinds.get(&relative) != Some(&Kind::Folder) {
                    self.created
                        .replace(dest, &relative, Kind::Folder, self.writers)?;
                    std::fs::create_dir(&target)?;
                }
                self.folders.push((target, mode & 0o777));
                return Ok(());
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                self.file(entry, &raw_path, &relative, mode & 0o777, mtime)?;
            }
            tar::EntryType::Symlink => {
                let link = link_target(entry, &raw_path)?;
                if let Some(reason) = self.created.link_problem(&relative, &link) {
                    return Err(refused(&raw_path, reason));
                }
                self.created
                    .replace(dest, &relative, Kind::Link, self.writers)?;
                std::os::unix::fs::symlink(&link, &target)?;
            }
            tar::EntryType::Link => {
                let link = link_target(entry, &raw_path)?;
                extract_hard_link(
                    &mut self.created,
                    dest,
                    &raw_path,
                    &relative,
                    &link,
                    self.writers,
                )?;
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(refused(&raw_path, "it is a device file"));
            }
            tar::EntryType::Fifo => return Err(refused(&raw_path, "it is a fifo")),
            other => {
                return Err(refused(
                    &raw_path,
                    format!("its type {other:?} is not supported"),
                ));
            }
        }
        self.summary.file_count += 1;
        Ok(())
    }

    /// Writes a regular file: small ones go to the writer threads, large ones are copied here.
    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        raw_path: &Path,
        relative: &Path,
        mode: u32,
        mtime: u64,
    ) -> Result<(), UnpackError> {
        // PAX extensions may give a size other than the header's: the reader uses theirs.
        let size = entry.size();
        self.summary.unpacked_size = self.summary.unpacked_size.saturating_add(size);
        if self.summary.unpacked_size > self.limit {
            return Err(UnpackError::TooLarge { limit: self.limit });
        }
        let Some(modified) = UNIX_EPOCH.checked_add(Duration::from_secs(mtime)) else {
            return Err(refused(raw_path, "its modification time is out of range"));
        };
        let target = self.dest.join(relative);
        self.created
            .replace(self.dest, relative, Kind::File, self.writers)?;
        self.room.set(self.room.get().saturating_add(size));
        if let Some(size) = usize::try_from(size)
            .ok()
            .filter(|size| *size <= SMALL_FILE)
        {
            self.writers.send(entry, size, target, mode, modified)?;
        } else {
            let mut file = std::fs::File::create(&target)?;
            copy_in_blocks(entry, &mut file, &mut self.block)?;
            finish_file(&file, mode, modified)?;
        }
        Ok(())
    }
}

fn extract_hard_link(
    created: &mut Created,
    dest: &Path,
    raw_path: &Path,
    relative: &Path,
    link: &Path,
    writers: &mut Writers,
) -> Result<(), UnpackError> {
    let source = safe_relative(link)
        .ok()
        .flatten()
        .filter(|source| created.kinds.get(source) == Some(&Kind::File));
    let Some(source) = source else {
        return Err(refused(
            raw_path,
            format!(
                "it is a hard link to {}, which is not a file extracted before (inside the folder)",
                shown(link)
            ),
        ));
    };
    created.replace(dest, relative, Kind::File, writers)?;
    // The linked file must be complete.
    writers.wait_idle()?;
    std::fs::hard_link(dest.join(source), dest.join(relative))?;
    Ok(())
}

fn link_target<R: Read>(
    entry: &tar::Entry<'_, R>,
    raw_path: &Path,
) -> Result<PathBuf, UnpackError> {
    Ok(entry
        .link_name()
        .map_err(|_| refused(raw_path, "its link target is not valid"))?
        .ok_or_else(|| refused(raw_path, "the link has no target"))?
        .into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_checked_against_their_own_folder() {
        let mut created = Created::default();
        for folder in ["a", "a/b", "a/x"] {
            created.kinds.insert(folder.into(), Kind::Folder);
        }
        created.kinds.insert("a/l".into(), Kind::Link);
        let stays = |entry: &str, target: &str| {
            created
                .link_problem(Path::new(entry), Path::new(target))
                .is_none()
        };
        assert!(stays("a/b/link", "../c"));
        assert!(stays("a/link", "../c"));
        assert!(!stays("link", "../c"));
        assert!(!stays("a/link", "../../c"));
        assert!(!stays("a/link", "/etc/passwd"));
        assert!(stays("a/link", "./x/../y"));
        assert!(!stays("a/link", "x/../../../y"));
        assert!(!stays("a/link", "l/../y"));
        assert!(!stays("a/link", "new/../y"));
    }

    /// Extracts an archive of `entries` (path, kind, link target, modification time) into a
    /// new folder, failing if that takes more than 10 seconds (a hang) or panics.
    fn extract_crafted(
        entries: &[(&str, tar::EntryType, &str, u64)],
    ) -> Result<UnpackSummary, UnpackError> {
        let mut builder = tar::Builder::new(Vec::new());
        for &(path, kind, link, mtime) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(kind);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_path(path).unwrap();
            if !link.is_empty() {
                header.set_link_name(link).unwrap();
            }
            let data: &[u8] = if kind == tar::EntryType::Regular {
                b"x"
            } else {
                b""
            };
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        let archive =
            zstd::stream::encode_all(builder.into_inner().unwrap().as_slice(), 1).unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let dest = dir.path().join("target");
            std::fs::create_dir(&dest).unwrap();
            let _ = sender.send(unpack(
                archive.as_slice(),
                Compression::Zstd,
                &dest,
                1 << 20,
            ));
        });
        receiver
            .recv_timeout(Duration::from_secs(10))
            .expect("extraction panicked or hung")
    }

    /// Found by the `unpack` fuzz target: a writer thread panicked on the time, and extraction
    /// waited for it forever.
    #[test]
    fn refuses_a_file_modified_past_the_end_of_time() {
        let result = extract_crafted(&[("late.txt", tar::EntryType::Regular, "", u64::MAX)]);
        let error = result.unwrap_err().to_string();
        assert!(
            error.ends_with("\"late.txt\" was refused: its modification time is out of range"),
            "{error}"
        );
    }

    /// Found by the `unpack` fuzz target: `s` went up from `d/l`, a link to the folder itself,
    /// and so led to the folder's parent.
    #[test]
    fn refuses_a_link_going_up_out_of_another_link() {
        let result = extract_crafted(&[
            ("d/l", tar::EntryType::Symlink, "..", 0),
            ("s", tar::EntryType::Symlink, "d/l/..", 0),
        ]);
        let error = result.unwrap_err().to_string();
        assert!(
            error.ends_with(
                "\"s\" was refused: it links to d/l/.., going up (`..`) from d/l, which is not a \
                 folder that comes before it"
            ),
            "{error}"
        );
    }

    #[test]
    fn paths_must_stay_inside() {
        assert_eq!(
            safe_relative(Path::new("./a/b")).unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(safe_relative(Path::new("./")).unwrap(), None);
        assert!(safe_relative(Path::new("a/../../b")).is_err());
        assert!(safe_relative(Path::new("/etc/passwd")).is_err());
    }
}
