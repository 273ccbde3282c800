//! Archives of a folder: tar, compressed with zstd or gzip, hashed with SHA-256 on the way, and
//! extracted back without ever writing outside the target folder.

mod pack;
mod streams;
mod unpack;

pub use pack::{PackError, PackSummary, check_folder, pack};
pub(crate) use streams::{
    ChannelReader, Chunk, ChunkBudget, ChunkWriter, HashingWriter, lower_hex,
};
pub use unpack::{UnpackError, UnpackSummary, unpack};
