//! Writing a folder as a compressed tar archive.
//!
//! Entries are written in name order with their modes and modification times but without
//! owners, so the same files always give the same archive and the same digest.

use crate::Compression;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What was archived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackSummary {
    /// Files and links archived (folders are not counted).
    pub file_count: u64,
    /// Total size of the files archived.
    pub unpacked_size: u64,
}

/// zstd level: fast, and still much smaller than gzip's default.
const ZSTD_LEVEL: i32 = 3;

/// Writes the archive of the folder `dir` into `out`.
///
/// # Errors
///
/// Returns an error when a file cannot be read, is of a kind an archive of static files cannot
/// hold (socket, device, fifo), or `out` fails.
pub fn pack<W: Write>(
    dir: &Path,
    compression: Compression,
    out: W,
) -> io::Result<(PackSummary, W)> {
    match compression {
        Compression::Zstd => {
            let encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
            let (summary, encoder) = write_tar(dir, encoder)?;
            Ok((summary, encoder.finish()?))
        }
        Compression::Gzip => {
            let encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            let (summary, encoder) = write_tar(dir, encoder)?;
            Ok((summary, encoder.finish()?))
        }
    }
}

fn write_tar<W: Write>(dir: &Path, out: W) -> io::Result<(PackSummary, W)> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut summary = PackSummary {
        file_count: 0,
        unpacked_size: 0,
    };
    append_dir(&mut builder, dir, Path::new(""), &mut summary)?;
    Ok((summary, builder.into_inner()?))
}

fn append_dir<W: Write>(
    builder: &mut tar::Builder<W>,
    root: &Path,
    relative: &Path,
    summary: &mut PackSummary,
) -> io::Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(root.join(relative))?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort();
    for name in names {
        let path = relative.join(&name);
        let full = root.join(&path);
        let metadata = std::fs::symlink_metadata(&full)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&metadata, tar::HeaderMode::Deterministic);
        // Keep the real permissions (without setuid, setgid and sticky bits) and mtime.
        header.set_mode(metadata.mode() & 0o777);
        header.set_mtime(u64::try_from(metadata.mtime()).unwrap_or_default());
        let kind = metadata.file_type();
        if kind.is_dir() {
            builder.append_data(&mut header, &path, io::empty())?;
            append_dir(builder, root, &path, summary)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&full)?;
            builder.append_link(&mut header, &path, target)?;
            summary.file_count += 1;
        } else if kind.is_file() {
            let file = std::fs::File::open(&full)?;
            builder.append_data(&mut header, &path, file)?;
            summary.file_count += 1;
            summary.unpacked_size += metadata.len();
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a socket, device or fifo, which static artifacts cannot hold; remove it",
                    full.display()
                ),
            ));
        }
    }
    Ok(())
}
