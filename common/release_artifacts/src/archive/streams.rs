//! Byte streams between the blocking archive code and the async store: chunked writers,
//! channel readers and hashing wrappers.

use crate::store::Pieces;
use bytes::{Buf, Bytes};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use tokio::sync::mpsc;

/// A chunk of an upload, or word that the producer stopped (which must abort the upload).
pub(crate) type Chunk = Result<Bytes, Unfinished>;

/// The producer of an upload's chunks stopped before the end (an error or a panic).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unfinished;

/// A limit on how many chunks exist at once, wherever they are: being filled, queued, being
/// sent, or held by a retry. A chunk gives its place back when its last reference is dropped,
/// so an upload's memory stays bounded however slow the network is.
#[derive(Clone)]
pub(crate) struct ChunkBudget(Arc<BudgetState>);

struct BudgetState {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One place in a [`ChunkBudget`], given back on drop.
struct Place(ChunkBudget);

impl ChunkBudget {
    /// A budget of `chunks` places; at least two, as an upload holds its first two chunks to
    /// choose between one PUT and a multipart upload.
    pub(crate) fn new(chunks: usize) -> Self {
        ChunkBudget(Arc::new(BudgetState {
            free: Mutex::new(chunks.max(2)),
            freed: Condvar::new(),
        }))
    }

    /// Waits (blocking) for a free place.
    fn take(&self) -> Place {
        let mut free = self.0.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .0
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Place(self.clone())
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let state = &(self.0).0;
        *state.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        state.freed.notify_one();
    }
}

/// A chunk's bytes with the place they hold.
struct Placed {
    data: Vec<u8>,
    _place: Place,
}

impl AsRef<[u8]> for Placed {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// Cuts what is written into chunks of `chunk_size` and sends them (blocking) into a channel,
/// hashing and counting the bytes on the way. Each chunk holds a place in a [`ChunkBudget`]
/// from the moment it starts filling until its last reference is dropped.
pub(crate) struct ChunkWriter {
    sender: mpsc::Sender<Chunk>,
    budget: ChunkBudget,
    /// The chunk being filled and its place (none between chunks).
    filling: Option<(Vec<u8>, Place)>,
    chunk_size: usize,
    hasher: Sha256,
    written: u64,
    finished: bool,
}

impl ChunkWriter {
    pub(crate) fn new(sender: mpsc::Sender<Chunk>, chunk_size: usize, budget: ChunkBudget) -> Self {
        ChunkWriter {
            sender,
            budget,
            filling: None,
            chunk_size,
            hasher: Sha256::new(),
            written: 0,
            finished: false,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let (data, place) = match self.filling.take() {
            Some(filling) => filling,
            None => (Vec::new(), self.budget.take()),
        };
        let chunk = Bytes::from_owner(Placed {
            data,
            _place: place,
        });
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }

    /// Sends the last chunk and returns the SHA-256 (hex) and the number of bytes.
    pub(crate) fn finish(mut self) -> io::Result<(String, u64)> {
        if self.filling.is_some() || self.written == 0 {
            self.send()?;
        }
        self.finished = true;
        let digest = std::mem::take(&mut self.hasher).finalize();
        Ok((lower_hex(&digest), self.written))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let chunk_size = self.chunk_size;
        let budget = &self.budget;
        let (buffer, _) = self
            .filling
            .get_or_insert_with(|| (Vec::with_capacity(chunk_size), budget.take()));
        let room = chunk_size - buffer.len();
        let taken = &data[..data.len().min(room)];
        buffer.extend_from_slice(taken);
        self.hasher.update(taken);
        self.written += taken.len() as u64;
        if buffer.len() >= chunk_size {
            self.send()?;
        }
        Ok(taken.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ChunkWriter {
    fn drop(&mut self) {
        if !self.finished {
            // Whatever stopped the archive (an error, a panic) must not let a partial upload
            // complete.
            let _ = self.sender.blocking_send(Err(Unfinished));
        }
    }
}

/// Reads (blocking) the pieces received from a channel, in order, without copying them,
/// counting them into `received` as they arrive.
pub(crate) struct ChannelReader {
    receiver: mpsc::Receiver<Pieces>,
    queue: VecDeque<Bytes>,
    received: Arc<AtomicU64>,
}

impl ChannelReader {
    pub(crate) fn new(receiver: mpsc::Receiver<Pieces>, counter: Arc<AtomicU64>) -> Self {
        ChannelReader {
            receiver,
            queue: VecDeque::new(),
            received: counter,
        }
    }

    /// Reads what is left (what follows the archive's end, if anything), until the sender
    /// is done.
    pub(crate) fn finish(mut self) {
        self.queue.clear();
        while self.receiver.blocking_recv().is_some() {}
    }
}

impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.queue.front().is_none_or(Bytes::is_empty) {
            if self.queue.pop_front().is_some() {
                continue;
            }
            match self.receiver.blocking_recv() {
                Some(pieces) => {
                    let size: usize = pieces.iter().map(Bytes::len).sum();
                    self.received.fetch_add(size as u64, Ordering::Relaxed);
                    self.queue.extend(pieces);
                }
                None => return Ok(&[]),
            }
        }
        Ok(self.queue.front().map_or(&[], |front| &front[..]))
    }

    fn consume(&mut self, amount: usize) {
        if let Some(front) = self.queue.front_mut() {
            front.advance(amount.min(front.len()));
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// `bytes` in lowercase hex, two digits a byte: how digests (SHA-256 here, MD5 for S3's `ETag`s)
/// are written (digest 0.11's output arrays have no `LowerHex`).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let hex = bytes.iter().flat_map(|byte| {
        [
            DIGITS[usize::from(byte >> 4)],
            DIGITS[usize::from(byte & 0xf)],
        ]
    });
    hex.map(char::from).collect()
}

/// Hashes and counts the bytes written through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The SHA-256 (hex) of what was written.
    pub(crate) fn finish(self) -> String {
        lower_hex(&self.hasher.finalize())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lower_hex_writes_two_lowercase_digits_a_byte() {
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(lower_hex(&[]), "");
    }

    #[test]
    fn a_writer_fills_no_chunk_while_its_budget_is_held() {
        let (sender, mut receiver) = mpsc::channel(16);
        let writer = std::thread::spawn(move || {
            let mut writer = ChunkWriter::new(sender, 4, ChunkBudget::new(2));
            writer.write_all(b"aaaabbbbccccdddde")?;
            writer.finish()
        });
        let mut next = || match receiver.blocking_recv() {
            Some(Ok(chunk)) => chunk,
            other => panic!("expected a chunk, got {other:?}"),
        };
        let (first, second) = (next(), next());
        assert_eq!((&first[..], &second[..]), (&b"aaaa"[..], &b"bbbb"[..]));
        // Both places are held here, so no third chunk may be filled, let alone sent.
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            receiver.try_recv().is_err(),
            "a third chunk exceeded the budget"
        );
        // A clone keeps the place: only the last reference gives it back.
        let kept = first.clone();
        drop(first);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            receiver.try_recv().is_err(),
            "a chunk's clone lost its place"
        );
        drop(kept);
        let mut next = || match receiver.blocking_recv() {
            Some(Ok(chunk)) => chunk,
            other => panic!("expected a chunk, got {other:?}"),
        };
        assert_eq!(&next()[..], b"cccc");
        drop(second);
        let rest: Vec<Bytes> = (0..2).map(|_| next()).collect();
        assert_eq!(rest.concat(), b"dddde");
        let (sha256, size) = writer.join().unwrap().unwrap();
        assert_eq!(size, 17);
        assert_eq!(
            sha256,
            // `printf aaaabbbbccccdddde | sha256sum`
            "0e07824cc150e73323e0dd7a7c9b5e6858d49666d15612a88ddc391a2f100a98"
        );
    }
}
