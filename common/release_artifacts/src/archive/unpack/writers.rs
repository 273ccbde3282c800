//! Writing files while the archive is read: small files in batches on a few writer threads,
//! large ones by the reading thread in blocks.

use std::collections::HashSet;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::SystemTime;

/// Files up to this size are written by the writer threads; larger ones by the reading thread.
pub(super) const SMALL_FILE: usize = 1024 * 1024;
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
pub(super) fn copy_in_blocks(
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

pub(super) fn finish_file(file: &std::fs::File, mode: u32, modified: SystemTime) -> io::Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.set_modified(modified)
}

/// Writer threads fed batches of files through a bounded queue, with a count of unfinished
/// batches (to wait for them before an entry that depends on earlier files) and the first
/// error; written batches come back through `returned`.
pub(super) struct Writers {
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
    pub(super) fn start<'scope>(scope: &'scope std::thread::Scope<'scope, '_>) -> Self {
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
    pub(super) fn send(
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
    pub(super) fn wait_idle(&mut self) -> io::Result<()> {
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
    /// Drops the files not handed over yet (after a failure they are not worth writing).
    pub(super) fn discard_pending(&mut self) {
        self.batch.clear();
    }

    pub(super) fn finish(mut self) -> io::Result<()> {
        let result = self.wait_idle();
        self.sender = None;
        result
    }
}
