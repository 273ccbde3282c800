//! Extracting any archive: never panics, never creates anything outside the target folder, and
//! leaves no link there that leads outside it.
//!
//! The first byte chooses how the rest becomes the compressed stream:
//! - 0: zstd as it is, 1: gzip as it is (the decoders see arbitrary bytes);
//! - 2: compressed with zstd here, so the rest is the tar stream itself;
//! - 3: entries built here into a tar stream with correct checksums (see [`tar_of`]), so that
//!   names, link targets, kinds, modes and times reach extraction; compressed with zstd, or with
//!   gzip when bit 2 of the first byte is set.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use release_artifacts::{Compression, unpack};
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// At most this many bytes extracted (more than the 1 MiB of a file written in memory, so that
/// both ways of writing a file are reached).
const LIMIT: u64 = 1024 * 1024 + 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (compression, stream) = match mode % 4 {
        0 => (Compression::Zstd, rest.to_vec()),
        1 => (Compression::Gzip, rest.to_vec()),
        2 => (Compression::Zstd, zstd_of(rest)),
        _ => {
            let tar = tar_of(&mut Unstructured::new(rest));
            if mode & 4 == 0 {
                (Compression::Zstd, zstd_of(&tar))
            } else {
                (Compression::Gzip, gzip_of(&tar))
            }
        }
    };

    let root = tempfile::tempdir_in(scratch()).expect("a temporary folder");
    let root_path = root.path().canonicalize().expect("the temporary folder");
    let dest = root_path.join("target");
    fs::create_dir(&dest).expect("the target folder");
    if let Err(error) = unpack(stream.as_slice(), compression, &dest, LIMIT) {
        let _ = error.to_string();
    }

    let names: Vec<OsString> = fs::read_dir(&root_path)
        .expect("reading the temporary folder")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert_eq!(
        names,
        ["target"],
        "something was created beside the target folder"
    );
    check_links(&dest, &dest);
});

/// Where the temporary folders go: memory when the machine has it, as creating and removing
/// thousands of folders a second is slow on a disk.
fn scratch() -> PathBuf {
    let memory = Path::new("/dev/shm");
    if memory.is_dir() {
        memory.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn zstd_of(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 1).expect("zstd compression in memory")
}

fn gzip_of(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(bytes)
        .expect("gzip compression in memory");
    encoder.finish().expect("gzip compression in memory")
}

/// Entry kinds (tar type flags) to choose from; the last choice takes any byte.
const KINDS: &[u8] = b"0512346Lxg7K";

/// A tar stream of entries described by the input: each entry takes a kind, a mode, a name, a
/// link target, a size and modification time (each either sound or raw header bytes), and its
/// data. The header checksums are always right.
fn tar_of(input: &mut Unstructured<'_>) -> Vec<u8> {
    let mut tar = Vec::new();
    while !input.is_empty() {
        if append_entry(input, &mut tar).is_err() {
            break;
        }
    }
    tar.extend_from_slice(&[0; 1024]);
    tar
}

fn append_entry(input: &mut Unstructured<'_>, tar: &mut Vec<u8>) -> Result<()> {
    let mut header = [0u8; 512];
    let choice = usize::from(input.arbitrary::<u8>()?);
    header[156] = match KINDS.get(choice % (KINDS.len() + 1)) {
        Some(&kind) => kind,
        None => input.arbitrary()?,
    };
    let mode = input.arbitrary::<u16>()? & 0o7777;
    octal(&mut header[100..108], u64::from(mode));
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    let name_len = usize::from(input.arbitrary::<u8>()?) % 101;
    let name = input.bytes(name_len)?;
    header[..name.len()].copy_from_slice(name);
    let link_len = usize::from(input.arbitrary::<u8>()?) % 101;
    let link = input.bytes(link_len)?;
    header[157..157 + link.len()].copy_from_slice(link);
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let flags = input.arbitrary::<u8>()?;
    if flags & 1 != 0 {
        let prefix_len = usize::from(input.arbitrary::<u8>()?) % 156;
        let prefix = input.bytes(prefix_len)?;
        header[345..345 + prefix.len()].copy_from_slice(prefix);
    }
    let data_len = usize::from(input.arbitrary::<u16>()?);
    let data = input.bytes(data_len.min(input.len()))?;
    if flags & 2 == 0 {
        octal(&mut header[124..136], data.len() as u64);
    } else {
        header[124..136].copy_from_slice(input.bytes(12)?);
    }
    if flags & 4 == 0 {
        octal(&mut header[136..148], u64::from(input.arbitrary::<u32>()?));
    } else {
        header[136..148].copy_from_slice(input.bytes(12)?);
    }
    header[148..156].fill(b' ');
    let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
    octal(&mut header[148..155], sum);
    tar.extend_from_slice(&header);
    tar.extend_from_slice(data);
    tar.resize(tar.len().next_multiple_of(512), 0);
    Ok(())
}

/// Writes `value` in octal, zero-padded and NUL-terminated, into `field`.
fn octal(field: &mut [u8], value: u64) {
    let digits = format!("{value:0width$o}", width = field.len() - 1);
    let digits = &digits.as_bytes()[digits.len() - (field.len() - 1)..];
    field[..digits.len()].copy_from_slice(digits);
    field[digits.len()] = 0;
}

/// Asserts that every link under `folder` leads inside `dest`, following links as the kernel
/// does, even to something that does not exist.
fn check_links(folder: &Path, dest: &Path) {
    // Extraction may leave folders unreadable.
    let _ = fs::set_permissions(folder, fs::Permissions::from_mode(0o700));
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("an entry").path();
        let metadata = fs::symlink_metadata(&path).expect("the entry's metadata");
        if metadata.is_symlink() {
            if let Some(end) = resolve(&path) {
                assert!(
                    end.starts_with(dest),
                    "the link {} leads to {}, outside {}",
                    path.display(),
                    end.display(),
                    dest.display()
                );
            }
        } else if metadata.is_dir() {
            check_links(&path, dest);
        }
    }
}

/// Where `path` (absolute) leads once every link on the way is followed; `None` for a loop.
fn resolve(path: &Path) -> Option<PathBuf> {
    let mut pending: Vec<OsString> = Vec::new();
    let push = |pending: &mut Vec<OsString>, path: &Path| {
        for part in path.components().rev() {
            match part {
                Component::CurDir => {}
                other => pending.push(other.as_os_str().to_os_string()),
            }
        }
    };
    push(&mut pending, path);
    let mut current = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == "/" {
            current = PathBuf::from("/");
        } else if part == ".." {
            current.pop();
        } else {
            let next = current.join(&part);
            match fs::read_link(&next) {
                Ok(target) => {
                    links += 1;
                    if links > 40 {
                        return None;
                    }
                    push(&mut pending, &target);
                }
                Err(_) => current = next,
            }
        }
    }
    Some(current)
}
