//! Byte streams between the blocking archive code and the async store: chunked writers,
//! channel readers and hashing wrappers.

use crate::store::Pieces;
use bytes::{Buf, Bytes, BytesMut};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// A chunk of an upload, or the reason the producer stopped (which must abort the upload).
pub(crate) type Chunk = Result<Bytes, String>;

/// Cuts what is written into chunks of `chunk_size` and sends them (blocking) into a channel,
/// hashing and counting the bytes on the way.
pub(crate) struct ChunkWriter {
    sender: mpsc::Sender<Chunk>,
    buffer: BytesMut,
    chunk_size: usize,
    hasher: Sha256,
    written: u64,
    finished: bool,
}

impl ChunkWriter {
    pub(crate) fn new(sender: mpsc::Sender<Chunk>, chunk_size: usize) -> Self {
        ChunkWriter {
            sender,
            buffer: BytesMut::with_capacity(chunk_size),
            chunk_size,
            hasher: Sha256::new(),
            written: 0,
            finished: false,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = self.buffer.split().freeze();
        self.buffer.reserve(self.chunk_size);
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }

    /// Sends the last chunk and returns the SHA-256 (hex) and the number of bytes.
    pub(crate) fn finish(mut self) -> io::Result<(String, u64)> {
        if !self.buffer.is_empty() || self.written == 0 {
            self.send()?;
        }
        self.finished = true;
        let digest = std::mem::take(&mut self.hasher).finalize();
        Ok((format!("{digest:x}"), self.written))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.chunk_size - self.buffer.len();
        let taken = &data[..data.len().min(room)];
        self.buffer.extend_from_slice(taken);
        self.hasher.update(taken);
        self.written += taken.len() as u64;
        if self.buffer.len() >= self.chunk_size {
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
            let _ = self
                .sender
                .blocking_send(Err("the archive could not be finished".to_string()));
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
        format!("{:x}", self.hasher.finalize())
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
