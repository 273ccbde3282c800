//! Extracting an archive into a folder, refusing anything that could write outside it or
//! create what static files have no business being: absolute paths, `..`, links leaving the
//! folder, entries written through links, devices, fifos, setuid and setgid bits, and more data
//! than allowed (decompression bombs, also hidden in long names, PAX headers or skipped data).

use crate::Compression;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

fn refused(path: &Path, reason: impl Into<String>) -> UnpackError {
    UnpackError::Refused {
        path: shown(path),
        reason: reason.into(),
    }
}

/// The entry's path as plain components inside the folder; `None` for the folder itself.
fn safe_relative(path: &Path) -> Result<Option<PathBuf>, UnpackError> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(refused(path, "it contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refused(path, "it is an absolute path"));
            }
        }
    }
    Ok((!relative.as_os_str().is_empty()).then_some(relative))
}

/// Why a link at `entry` (relative to the folder) pointing to `target` could lead outside the
/// folder, if it could. Going up (`..`) is allowed only from a folder that comes before the link
/// (`is_folder`): from a link, or from a name that a later entry may make a link, it would go up
/// from wherever that link leads. Loads and uploads apply the same rule.
pub(super) fn link_problem(
    entry: &Path,
    target: &Path,
    is_folder: impl Fn(&Path) -> bool,
) -> Option<String> {
    let outside = || Some(format!("it links to {}, outside the folder", shown(target)));
    let mut at = entry.parent().map(Path::to_path_buf).unwrap_or_default();
    for component in target.components() {
        match component {
            Component::Normal(part) => at.push(part),
            Component::CurDir => {}
            Component::ParentDir if at.as_os_str().is_empty() => return outside(),
            Component::ParentDir if !is_folder(&at) => {
                return Some(format!(
                    "it links to {}, going up (`..`) from {}, which is not a folder that comes \
                     before it",
                    shown(target),
                    shown(&at)
                ));
            }
            Component::ParentDir => {
                at.pop();
            }
            Component::RootDir | Component::Prefix(_) => return outside(),
        }
    }
    None
}

/// A path as messages show it: control characters escaped, and cut to 100 characters,
/// so that an error never carries more than a name's start of what an archive holds.
pub(crate) fn shown(path: &Path) -> String {
    const MOST: usize = 100;
    let text = path.to_string_lossy();
    let mut cut: String = text
        .chars()
        .take(MOST)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(MOST).is_some() {
        cut.push_str("...");
    }
    cut
}

/// What extraction created so far, so that checks need no system calls: the folder starts
/// empty, and only this extraction writes into it.
#[derive(Default)]
struct Created {
    kinds: HashMap<PathBuf, Kind>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Folder,
    File,
    Link,
}

impl Created {
    fn link_problem(&self, entry: &Path, target: &Path) -> Option<String> {
        link_problem(entry, target, |at| {
            self.kinds.get(at) == Some(&Kind::Folder)
        })
    }

    /// Creates the missing parent folders of `relative`, refusing to go through a link or a file.
    fn make_parents(&mut self, dest: &Path, relative: &Path) -> Result<(), UnpackError> {
        let Some(parent) = relative.parent() else {
            return Ok(());
        };
        let mut current = PathBuf::new();
        for part in parent.components() {
            current.push(part);
            match self.kinds.get(&current) {
                Some(Kind::Folder) => {}
                Some(Kind::Link) => {
                    return Err(refused(relative, "it would be written through a link"));
                }
                Some(Kind::File) => return Err(refused(relative, "its parent is not a folder")),
                None => {
                    std::fs::create_dir(dest.join(&current))?;
                    self.kinds.insert(current.clone(), Kind::Folder);
                }
            }
        }
        Ok(())
    }

    /// Makes room for a new entry at `relative` (a later entry of the same name wins), refusing
    /// to replace a folder with anything else.
    fn replace(
        &mut self,
        dest: &Path,
        relative: &Path,
        kind: Kind,
        writers: &mut Writers,
    ) -> Result<(), UnpackError> {
        match self.kinds.get(relative) {
            None => {}
            Some(Kind::Folder) if kind == Kind::Folder => {}
            Some(Kind::Folder) => {
                return Err(refused(
                    relative,
                    "a folder of the same name was extracted before",
                ));
            }
            Some(_) if kind == Kind::Folder => {
                return Err(refused(
                    relative,
                    "a file of the same name was extracted before",
                ));
            }
            Some(_) => {
                // The earlier file may still be queued.
                writers.wait_idle()?;
                std::fs::remove_file(dest.join(relative))?;
            }
        }
        self.kinds.insert(relative.to_path_buf(), kind);
        Ok(())
    }
}

/// Files up to this size are written by the writer threads; larger ones by the reading thread.
const SMALL_FILE: usize = 1024 * 1024;
/// Threads writing files: creating files is mostly kernel time, which spreads over cores.
const WRITERS: usize = 3;
/// Files are handed to the writers in batches of up to this many bytes (or [`BATCH_FILES`]
/// files): one hand-over per batch instead of one per file.
const BATCH_BYTES: usize = 1024 * 1024;
/// Most files in a batch.
const BATCH_FILES: usize = 64;
/// Batches read ahead of the writers, at most (each at most [`BATCH_BYTES`]).
const QUEUE: usize = 4;
// A file small enough for the writers always fits in an empty batch.
const _: () = assert!(SMALL_FILE <= BATCH_BYTES);

/// A file to write: its content is `range` of its batch's buffer.
struct Job {
    target: PathBuf,
    range: std::ops::Range<usize>,
    mode: u32,
    modified: SystemTime,
}

/// Files handed to the writers together, their contents one after another in one buffer of
/// [`BATCH_BYTES`]. The writers send emptied batches back, so that their buffers are used again
/// instead of allocating one per file: thousands of small allocations and frees cost musl's
/// allocator a system call each (`mmap`/`munmap`), which made loads about 1.4 times slower than
/// on glibc.
struct Batch {
    data: Vec<u8>,
    files: Vec<Job>,
}

impl Batch {
    fn new() -> Self {
        Batch {
            data: Vec::with_capacity(BATCH_BYTES),
            files: Vec::with_capacity(BATCH_FILES),
        }
    }

    fn clear(&mut self) {
        self.data.clear();
        self.files.clear();
    }
}

fn write_file(job: &Job, data: &[u8]) -> io::Result<()> {
    let mut file = std::fs::File::create(&job.target)?;
    io::Write::write_all(&mut file, data)?;
    finish_file(&file, job.mode, job.modified)
}

/// Copies `reader` to `file` through `block`: large writes, few system calls.
fn copy_in_blocks(
    reader: &mut impl Read,
    file: &mut std::fs::File,
    block: &mut [u8],
) -> io::Result<()> {
    loop {
        let read = match reader.read(block) {
            Ok(0) => return Ok(()),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        io::Write::write_all(file, &block[..read])?;
    }
}

fn finish_file(file: &std::fs::File, mode: u32, modified: SystemTime) -> io::Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.set_modified(modified)
}

/// Writer threads fed batches of files through a bounded queue, with a count of unfinished
/// batches (to wait for them before an entry that depends on earlier files) and the first
/// error; written batches come back through `returned`.
struct Writers {
    sender: Option<std::sync::mpsc::SyncSender<Batch>>,
    returned: std::sync::mpsc::Receiver<Batch>,
    state: Arc<WritersState>,
    /// Files not handed over yet.
    batch: Batch,
    /// Files queued since the writers were last idle (a second entry of the same path waits).
    queued: HashSet<PathBuf>,
}

#[derive(Default)]
struct WritersState {
    unfinished: Mutex<usize>,
    idle: Condvar,
    error: Mutex<Option<io::Error>>,
}

impl Writers {
    fn start<'scope>(scope: &'scope std::thread::Scope<'scope, '_>) -> Self {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(QUEUE);
        let (give_back, returned) = std::sync::mpsc::channel::<Batch>();
        let receiver = Arc::new(Mutex::new(receiver));
        let state = Arc::new(WritersState::default());
        for _ in 0..WRITERS {
            let (receiver, state) = (Arc::clone(&receiver), Arc::clone(&state));
            let give_back = give_back.clone();
            scope.spawn(move || {
                loop {
                    let batch = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => break,
                    };
                    let Ok(mut batch) = batch else { break };
                    for job in &batch.files {
                        let data = batch.data.get(job.range.clone()).unwrap_or_default();
                        if let Err(error) = write_file(job, data)
                            && let Ok(mut slot) = state.error.lock()
                        {
                            slot.get_or_insert(error);
                        }
                    }
                    batch.clear();
                    // The reader may be gone already (after a failure); the batch is then freed.
                    let _ = give_back.send(batch);
                    if let Ok(mut unfinished) = state.unfinished.lock() {
                        *unfinished -= 1;
                        if *unfinished == 0 {
                            state.idle.notify_all();
                        }
                    }
                }
            });
        }
        Writers {
            sender: Some(sender),
            returned,
            state,
            batch: Batch::new(),
            queued: HashSet::new(),
        }
    }

    /// The first write error, if any.
    fn check(&self) -> io::Result<()> {
        match self.state.error.lock().map(|mut slot| slot.take()) {
            Ok(Some(error)) => Err(error),
            _ => Ok(()),
        }
    }

    /// Reads `entry` (at most [`SMALL_FILE`] bytes, `size` of them) into the current batch as
    /// the file `target`, handing the batch over first when the file would not fit.
    fn send(
        &mut self,
        entry: &mut impl Read,
        size: usize,
        target: PathBuf,
        mode: u32,
        modified: SystemTime,
    ) -> io::Result<()> {
        if !self.queued.insert(target.clone()) {
            self.wait_idle()?;
            self.queued.insert(target.clone());
        }
        if self.batch.data.len() + size > BATCH_BYTES {
            self.hand_over()?;
        }
        let start = self.batch.data.len();
        entry.read_to_end(&mut self.batch.data)?;
        let range = start..self.batch.data.len();
        self.batch.files.push(Job {
            target,
            range,
            mode,
            modified,
        });
        if self.batch.data.len() >= BATCH_BYTES || self.batch.files.len() >= BATCH_FILES {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Hands the current batch to the writers, and starts the next in a batch they gave back
    /// (or a new one).
    fn hand_over(&mut self) -> io::Result<()> {
        if self.batch.files.is_empty() {
            return Ok(());
        }
        let next = self.returned.try_recv().unwrap_or_else(|_| Batch::new());
        let batch = std::mem::replace(&mut self.batch, next);
        if let Ok(mut unfinished) = self.state.unfinished.lock() {
            *unfinished += 1;
        }
        let sent = self.sender.as_ref().map(|sender| sender.send(batch));
        if !matches!(sent, Some(Ok(()))) {
            return Err(io::Error::other("the file writers stopped"));
        }
        self.check()
    }

    /// Waits until every file handed over or batched is written.
    fn wait_idle(&mut self) -> io::Result<()> {
        self.hand_over()?;
        if let Ok(mut unfinished) = self.state.unfinished.lock() {
            while *unfinished > 0 {
                match self.state.idle.wait(unfinished) {
                    Ok(guard) => unfinished = guard,
                    Err(_) => return Err(io::Error::other("a file writer failed")),
                }
            }
        }
        self.queued.clear();
        self.check()
    }

    /// Waits for the queued files, then stops the threads.
    fn finish(mut self) -> io::Result<()> {
        let result = self.wait_idle();
        self.sender = None;
        result
    }
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
            // Files not handed over yet are not worth writing.
            writers.batch.clear();
        }
        let finished = writers.finish();
        let summary = result?;
        finished?;
        Ok(summary)
    })
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
    let mut summary = UnpackSummary {
        file_count: 0,
        unpacked_size: 0,
    };
    let mut created = Created::default();
    let mut block = vec![0; SMALL_FILE];
    // Folder permissions are applied last, so that a read-only folder can still be filled.
    let mut folders = Vec::new();
    let mut entries = archive.entries().map_err(|error| from_tar(error, 1))?;
    let mut number = 0u64;
    loop {
        room.set(HEADER_ROOM);
        let Some(entry) = entries.next() else {
            break;
        };
        number += 1;
        let from_tar = |error| from_tar(error, number);
        let mut entry = entry.map_err(from_tar)?;
        let raw_path = entry.path().map_err(from_tar)?.into_owned();
        let Some(relative) = safe_relative(&raw_path)? else {
            continue;
        };
        let header = entry.header();
        let mode = header.mode().map_err(from_tar)?;
        if mode & 0o6000 != 0 {
            return Err(refused(&raw_path, "it has the setuid or setgid bit"));
        }
        let kind = header.entry_type();
        let mtime = header.mtime().map_err(from_tar)?;
        let target = dest.join(&relative);
        created.make_parents(dest, &relative)?;
        match kind {
            tar::EntryType::Directory => {
                if created.kinds.get(&relative) != Some(&Kind::Folder) {
                    created.replace(dest, &relative, Kind::Folder, writers)?;
                    std::fs::create_dir(&target)?;
                }
                folders.push((target, mode & 0o777));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                // PAX extensions may give a size other than the header's: the reader uses theirs.
                let size = entry.size();
                summary.unpacked_size = summary.unpacked_size.saturating_add(size);
                if summary.unpacked_size > limit {
                    return Err(UnpackError::TooLarge { limit });
                }
                let Some(modified) = UNIX_EPOCH.checked_add(Duration::from_secs(mtime)) else {
                    return Err(refused(&raw_path, "its modification time is out of range"));
                };
                created.replace(dest, &relative, Kind::File, writers)?;
                room.set(room.get().saturating_add(size));
                if let Some(size) = usize::try_from(size)
                    .ok()
                    .filter(|size| *size <= SMALL_FILE)
                {
                    writers.send(&mut entry, size, target, mode & 0o777, modified)?;
                } else {
                    let mut file = std::fs::File::create(&target)?;
                    copy_in_blocks(&mut entry, &mut file, &mut block)?;
                    finish_file(&file, mode & 0o777, modified)?;
                }
                summary.file_count += 1;
            }
            tar::EntryType::Symlink => {
                let link = link_target(&entry, &raw_path)?;
                if let Some(reason) = created.link_problem(&relative, &link) {
                    return Err(refused(&raw_path, reason));
                }
                created.replace(dest, &relative, Kind::Link, writers)?;
                std::os::unix::fs::symlink(&link, &target)?;
                summary.file_count += 1;
            }
            tar::EntryType::Link => {
                let link = link_target(&entry, &raw_path)?;
                extract_hard_link(&mut created, dest, &raw_path, &relative, &link, writers)?;
                summary.file_count += 1;
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
    }
    writers.wait_idle()?;
    for (folder, mode) in folders.into_iter().rev() {
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(summary)
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
