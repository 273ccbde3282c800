//! Crafted archives, one row of a table each: extraction refuses them (or, for the few that are
//! harmless, extracts them as documented), never panics, and never writes outside the target.
//!
//! Every row extracts into `<outer>/root-N/target`, with a sentinel file planted beside the
//! target (`root-N/sentinel.txt`) and one in the parent of that (`<outer>/sentinel.txt`); after
//! the row, both folders hold exactly what they held before, both sentinels are unchanged, and
//! every link inside the target resolves inside it.
//!
//! An archive whose digest differs from its manifest is refused before extraction counts: see
//! `an_archive_whose_digest_differs_from_its_manifest_is_not_loaded` in `store_test.rs`.

// Each test file sees every dev-dependency of the package but uses a few:
// https://github.com/rust-lang/rust/issues/95513
#![allow(unused_crate_dependencies)]
// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::{Compression, UnpackError, UnpackSummary, unpack};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tar::EntryType;

const MIB: u64 = 1 << 20;

/// One entry of a crafted archive, with its path written raw (no validation).
struct Entry {
    path: String,
    kind: EntryType,
    mode: u32,
    link: Option<String>,
    data: Vec<u8>,
    /// The size written in the header, when it is not the data's.
    size: Option<u64>,
    mtime: u64,
}

fn file(path: impl Into<String>) -> Entry {
    Entry {
        path: path.into(),
        kind: EntryType::Regular,
        mode: 0o644,
        link: None,
        data: b"x".to_vec(),
        size: None,
        mtime: 1_700_000_000,
    }
}

fn with_data(path: impl Into<String>, data: Vec<u8>) -> Entry {
    Entry { data, ..file(path) }
}

fn folder(path: impl Into<String>) -> Entry {
    Entry {
        mode: 0o755,
        data: Vec::new(),
        ..special(path, EntryType::Directory)
    }
}

fn special(path: impl Into<String>, kind: EntryType) -> Entry {
    Entry {
        kind,
        data: Vec::new(),
        ..file(path)
    }
}

fn symlink(path: impl Into<String>, target: impl Into<String>) -> Entry {
    Entry {
        mode: 0o777,
        link: Some(target.into()),
        ..special(path, EntryType::Symlink)
    }
}

fn hard_link(path: impl Into<String>, target: impl Into<String>) -> Entry {
    Entry {
        link: Some(target.into()),
        ..special(path, EntryType::Link)
    }
}

fn with_mode(mode: u32, entry: Entry) -> Entry {
    Entry { mode, ..entry }
}

/// One PAX record, `"<length> <key>=<value>\n"`, its length counting itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut length = body.len() + 1;
    while format!("{length}{body}").len() != length {
        length += 1;
    }
    format!("{length}{body}").into_bytes()
}

/// A PAX extended header (`x`): its records apply to the next entry.
fn pax(records: &[(&str, &str)]) -> Entry {
    Entry {
        data: records
            .iter()
            .flat_map(|(key, value)| pax_record(key, value))
            .collect(),
        ..special("PaxHeaders/next", EntryType::XHeader)
    }
}

/// A GNU long name (`L`) or long link name (`K`) entry: it names the next entry, or its target.
fn gnu_long(kind: EntryType, name: &str) -> Entry {
    let mut data = name.as_bytes().to_vec();
    data.push(0);
    Entry {
        data,
        ..special("././@LongLink", kind)
    }
}

fn header(entry: &Entry) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    assert!(entry.path.len() <= 100, "{:?} is too long", entry.path);
    let name = &mut header.as_old_mut().name;
    name.fill(0);
    name[..entry.path.len()].copy_from_slice(entry.path.as_bytes());
    if let Some(target) = &entry.link {
        let linkname = &mut header.as_old_mut().linkname;
        linkname.fill(0);
        linkname[..target.len()].copy_from_slice(target.as_bytes());
    }
    header.set_entry_type(entry.kind);
    header.set_mode(entry.mode);
    header.set_size(entry.size.unwrap_or(entry.data.len() as u64));
    header.set_mtime(entry.mtime);
    header.set_cksum();
    header
}

/// Entries written header by header, so that paths no honest tool writes get through; no end.
fn tar_entries(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        out.extend_from_slice(header(entry).as_bytes());
        out.extend_from_slice(&entry.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out
}

/// A whole tar archive: the entries, then the end-of-archive blocks.
fn raw_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = tar_entries(entries);
    out.resize(out.len() + 1024, 0);
    out
}

fn compress(compression: Compression, bytes: &[u8]) -> Vec<u8> {
    match compression {
        Compression::Zstd => zstd::encode_all(bytes, 3).unwrap(),
        Compression::Gzip => {
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gzip.write_all(bytes).unwrap();
            gzip.finish().unwrap()
        }
    }
}

/// An archive whose entry `big` holds `size` bytes of `fill` (a whole number of MiB), after
/// `before` and followed by `after`, compressed as a series of frames (zstd) or members (gzip),
/// which read as one stream: a bomb of any size from one compressed MiB.
fn bomb(
    compression: Compression,
    before: &[Entry],
    big: &Entry,
    (fill, size): (u8, u64),
    after: &[Entry],
) -> Vec<u8> {
    assert_eq!(size % MIB, 0);
    let mut head = tar_entries(before);
    head.extend_from_slice(
        header(&Entry {
            size: Some(size),
            ..special(big.path.clone(), big.kind)
        })
        .as_bytes(),
    );
    let mut out = compress(compression, &head);
    let block = compress(compression, &vec![fill; usize::try_from(MIB).unwrap()]);
    for _ in 0..size / MIB {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&compress(compression, &raw_tar(after)));
    out
}

/// The limit that loading applies to an archive without manifest (`limit_without_manifest` in
/// `operations.rs`): 200 times its size, at least 1 GiB.
fn limit_without_manifest(archive: &[u8]) -> u64 {
    (archive.len() as u64).saturating_mul(200).max(1 << 30)
}

/// What a row expects of extraction.
enum Expect {
    /// [`UnpackError::Refused`], its message containing this.
    Refused(&'static str),
    /// [`UnpackError::TooLarge`], its message containing this.
    TooLarge(&'static str),
    /// [`UnpackError::Io`] (a broken archive), its message containing this.
    Broken(&'static str),
    /// Success; the function checks the extracted folder.
    Extracted(fn(&Path, &UnpackSummary)),
}

struct Case {
    name: &'static str,
    compression: Compression,
    archive: Vec<u8>,
    limit: u64,
    expect: Expect,
}

/// A row whose archive is `entries`, zstd-compressed, extracted with a 1 MiB limit.
fn row(name: &'static str, entries: &[Entry], expect: Expect) -> Case {
    Case {
        name,
        compression: Compression::Zstd,
        archive: compress(Compression::Zstd, &raw_tar(entries)),
        limit: MIB,
        expect,
    }
}

/// A row whose input is `bytes` as they are.
fn bytes_row(name: &'static str, compression: Compression, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        name,
        compression,
        archive: bytes,
        limit: 1 << 30,
        expect,
    }
}

/// What a broken compressed stream gives (the decoder's own words follow, in parentheses).
const CUT_SHORT: &str = "or is cut short (";

#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn cases(outer: &Path) -> Vec<Case> {
    use EntryType::{Block, Char, Fifo, GNULongLink, GNULongName};
    use Expect::{Broken, Extracted, Refused, TooLarge};
    let outside = outer.join("evil.txt").display().to_string();
    let big_file: Vec<u8> = (0..200_000u32).flat_map(u32::to_le_bytes).collect();
    let zstd_archive = compress(
        Compression::Zstd,
        &raw_tar(&[with_data("big.bin", big_file.clone())]),
    );
    let gzip_archive = compress(
        Compression::Gzip,
        &raw_tar(&[with_data("big.bin", big_file)]),
    );
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    let mut bad_checksum = raw_tar(&[file("a.txt")]);
    bad_checksum[0] = b'b';
    vec![
        // Paths.
        row(
            "`..` path",
            &[file("../evil.txt")],
            Refused("the archive's entry \"../evil.txt\" was refused: it contains `..`"),
        ),
        row(
            "`..` two levels up",
            &[file("../../evil.txt")],
            Refused("\"../../evil.txt\" was refused: it contains `..`"),
        ),
        row(
            "`..` inside a path",
            &[file("a/../../evil.txt")],
            Refused("\"a/../../evil.txt\" was refused: it contains `..`"),
        ),
        row(
            "`..` after a folder extracted before",
            &[folder("sub"), file("sub/../../evil.txt")],
            Refused("\"sub/../../evil.txt\" was refused: it contains `..`"),
        ),
        row(
            "absolute path",
            &[file(outside.clone())],
            Refused("was refused: it is an absolute path"),
        ),
        row(
            "the root folder as an entry",
            &[folder("/")],
            Refused("\"/\" was refused: it is an absolute path"),
        ),
        row(
            "`.` as an entry is the target itself",
            &[folder("./"), file("./a.txt")],
            Extracted(|target, summary| {
                assert_eq!(summary.file_count, 1);
                assert_eq!(std::fs::read(target.join("a.txt")).unwrap(), b"x");
            }),
        ),
        // Symbolic links.
        row(
            "symlink to the parent folder",
            &[symlink("up", "..")],
            Refused("\"up\" was refused: it links to .., outside the folder"),
        ),
        row(
            "symlink up and out from a subfolder",
            &[folder("a"), symlink("a/l", "../../x")],
            Refused("\"a/l\" was refused: it links to ../../x, outside the folder"),
        ),
        row(
            "symlink to outside, then a file written through it (link/file)",
            &[symlink("out", ".."), file("out/evil.txt")],
            Refused("\"out\" was refused: it links to .., outside the folder"),
        ),
        row(
            "symlink to outside, then a file written through it (link/../x)",
            &[symlink("out", "../x"), file("out/../evil.txt")],
            Refused("\"out\" was refused: it links to ../x, outside the folder"),
        ),
        row(
            "symlink inside, then a file written through it (link/../x)",
            &[folder("sub"), symlink("l", "sub"), file("l/../../evil.txt")],
            Refused("\"l/../../evil.txt\" was refused: it contains `..`"),
        ),
        row(
            "symlink inside, then a file written through it",
            &[folder("sub"), symlink("l", "sub"), file("l/evil.txt")],
            Refused("\"l/evil.txt\" was refused: it would be written through a link"),
        ),
        row(
            "symlink inside, then a folder made through it",
            &[folder("sub"), symlink("l", "sub"), folder("l/d")],
            Refused("\"l/d\" was refused: it would be written through a link"),
        ),
        row(
            "symlink to the folder itself, then a file written through it",
            &[symlink("self", "."), file("self/evil.txt")],
            Refused("\"self/evil.txt\" was refused: it would be written through a link"),
        ),
        row(
            "symlink whose target is absolute",
            &[symlink("etc", "/etc")],
            Refused("\"etc\" was refused: it links to /etc, outside the folder"),
        ),
        row(
            "symlink to an absolute path near the folder",
            &[symlink("near", outside.clone())],
            Refused("outside the folder"),
        ),
        row(
            "symlink going up out of another link",
            &[symlink("d", "."), symlink("e", "d/..")],
            Refused(
                "\"e\" was refused: it links to d/.., going up (`..`) from d, which is not a folder that comes before it",
            ),
        ),
        row(
            "symlink going up out of a link extracted after it",
            &[folder("a"), symlink("e", "a/x/.."), symlink("a/x", "..")],
            Refused(
                "\"e\" was refused: it links to a/x/.., going up (`..`) from a/x, which is not a folder that comes before it",
            ),
        ),
        row(
            "file replaced by a symlink to outside",
            &[file("f"), symlink("f", "../x")],
            Refused("\"f\" was refused: it links to ../x, outside the folder"),
        ),
        row(
            "symlinks inside the folder are kept",
            &[
                folder("sub"),
                file("sub/a.txt"),
                symlink("up", "sub/../sub/a.txt"),
                symlink("sub/sibling", "../sub/a.txt"),
                symlink("dangling", "nothing/here"),
            ],
            Extracted(|target, summary| {
                assert_eq!(summary.file_count, 4);
                assert_eq!(std::fs::read(target.join("up")).unwrap(), b"x");
                assert_eq!(std::fs::read(target.join("sub/sibling")).unwrap(), b"x");
                assert!(target.join("dangling").is_symlink());
            }),
        ),
        // Hard links.
        row(
            "hard link to an absolute path",
            &[hard_link("h", "/etc/passwd")],
            Refused(
                "\"h\" was refused: it is a hard link to /etc/passwd, which is not a file extracted before (inside the folder)",
            ),
        ),
        row(
            "hard link up and out",
            &[hard_link("h", "../x")],
            Refused(
                "\"h\" was refused: it is a hard link to ../x, which is not a file extracted before (inside the folder)",
            ),
        ),
        row(
            "hard link to a path never extracted",
            &[hard_link("h", "missing")],
            Refused("it is a hard link to missing, which is not a file extracted before"),
        ),
        row(
            "hard link to a folder",
            &[folder("sub"), hard_link("h", "sub")],
            Refused("it is a hard link to sub, which is not a file extracted before"),
        ),
        row(
            "hard link to a symlink",
            &[file("a"), symlink("l", "a"), hard_link("h", "l")],
            Refused("it is a hard link to l, which is not a file extracted before"),
        ),
        row(
            "hard link through `..` inside the folder",
            &[folder("sub"), file("sub/a"), hard_link("h", "sub/../sub/a")],
            Refused("it is a hard link to sub/../sub/a, which is not a file extracted before"),
        ),
        row(
            "hard link written through a symlink",
            &[
                folder("sub"),
                file("sub/a"),
                symlink("l", "sub"),
                hard_link("l/h", "sub/a"),
            ],
            Refused("\"l/h\" was refused: it would be written through a link"),
        ),
        row(
            "hard link inside the folder is kept",
            &[
                folder("sub"),
                file("sub/a.txt"),
                hard_link("hard", "sub/a.txt"),
            ],
            Extracted(|target, summary| {
                assert_eq!(summary.file_count, 2);
                let (a, hard) = (
                    std::fs::metadata(target.join("sub/a.txt")).unwrap(),
                    std::fs::metadata(target.join("hard")).unwrap(),
                );
                assert_eq!(a.ino(), hard.ino(), "one file, two names");
            }),
        ),
        // Special files and modes.
        row(
            "character device",
            &[special("tty", Char)],
            Refused("\"tty\" was refused: it is a device file"),
        ),
        row(
            "block device",
            &[special("sda", Block)],
            Refused("\"sda\" was refused: it is a device file"),
        ),
        row(
            "fifo",
            &[special("pipe", Fifo)],
            Refused("\"pipe\" was refused: it is a fifo"),
        ),
        row(
            "setuid file",
            &[with_mode(0o4755, file("suid"))],
            Refused("\"suid\" was refused: it has the setuid or setgid bit"),
        ),
        row(
            "setgid file",
            &[with_mode(0o2755, file("sgid"))],
            Refused("\"sgid\" was refused: it has the setuid or setgid bit"),
        ),
        row(
            "setuid folder",
            &[with_mode(0o4755, folder("suid"))],
            Refused("\"suid\" was refused: it has the setuid or setgid bit"),
        ),
        row(
            "setgid folder",
            &[with_mode(0o2755, folder("sgid"))],
            Refused("\"sgid\" was refused: it has the setuid or setgid bit"),
        ),
        row(
            "sticky folder is extracted without the sticky bit",
            &[with_mode(0o1777, folder("tmp"))],
            Extracted(|target, _| {
                let mode = std::fs::metadata(target.join("tmp"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o7777, 0o777);
            }),
        ),
        row(
            "modification time past the end of time",
            &[Entry {
                mtime: u64::MAX,
                ..file("late.txt")
            }],
            Refused("\"late.txt\" was refused: its modification time is out of range"),
        ),
        // Names replaced by others.
        row(
            "folder replaced by a file",
            &[folder("d"), file("d")],
            Refused("\"d\" was refused: a folder of the same name was extracted before"),
        ),
        row(
            "file replaced by a folder",
            &[file("d"), folder("d")],
            Refused("\"d\" was refused: a file of the same name was extracted before"),
        ),
        row(
            "entry under a file",
            &[file("f"), file("f/x")],
            Refused("\"f/x\" was refused: its parent is not a folder"),
        ),
        row(
            "the same file twice: the later one wins",
            &[
                with_data("a", b"first".to_vec()),
                with_data("a", b"second".to_vec()),
            ],
            Extracted(|target, _| {
                assert_eq!(std::fs::read(target.join("a")).unwrap(), b"second");
            }),
        ),
        // PAX and GNU extensions.
        row(
            "PAX header setting a path with `..`",
            &[pax(&[("path", "../evil")]), file("harmless")],
            Refused("\"../evil\" was refused: it contains `..`"),
        ),
        row(
            "PAX header setting an absolute path",
            &[pax(&[("path", "/etc/evil")]), file("harmless")],
            Refused("\"/etc/evil\" was refused: it is an absolute path"),
        ),
        row(
            "PAX header setting a link target outside",
            &[pax(&[("linkpath", "../../etc")]), symlink("l", "harmless")],
            Refused("\"l\" was refused: it links to ../../etc, outside the folder"),
        ),
        row(
            "PAX header setting a hard link target outside",
            &[
                pax(&[("linkpath", "/etc/passwd")]),
                hard_link("h", "harmless"),
            ],
            Refused("it is a hard link to /etc/passwd, which is not a file extracted before"),
        ),
        row(
            "PAX size larger than the header's",
            &[
                pax(&[("size", "2097152")]),
                Entry {
                    size: Some(0),
                    ..with_data("big.bin", vec![0; 2 << 20])
                },
            ],
            TooLarge("the archive expands to more than 1048576 bytes"),
        ),
        row(
            "GNU long name `../evil`",
            &[gnu_long(GNULongName, "../evil"), file("harmless")],
            Refused("\"../evil\" was refused: it contains `..`"),
        ),
        row(
            "GNU long name that is absolute",
            &[
                gnu_long(GNULongName, &format!("{outside}/long")),
                file("harmless"),
            ],
            Refused("was refused: it is an absolute path"),
        ),
        row(
            "GNU long link name outside",
            &[
                gnu_long(GNULongLink, "../../etc/passwd"),
                symlink("l", "harmless"),
            ],
            Refused("\"l\" was refused: it links to ../../etc/passwd, outside the folder"),
        ),
        row(
            "GNU long name inside is kept",
            &[
                gnu_long(GNULongName, &format!("{}/long.txt", "a".repeat(150))),
                file("short"),
            ],
            Extracted(|target, _| {
                let name = format!("{}/long.txt", "a".repeat(150));
                assert_eq!(std::fs::read(target.join(name)).unwrap(), b"x");
            }),
        ),
        // Decompression bombs.
        row(
            "decompression bomb past the manifest's size",
            &[with_data("zeros.bin", vec![0; 8 << 20])],
            TooLarge(
                "the archive expands to more than 1048576 bytes, more than it should; it was refused",
            ),
        ),
        row(
            "files adding up past the manifest's size",
            &[
                with_data("a.bin", vec![0; 512 << 10]),
                with_data("b.bin", vec![0; 512 << 10]),
                file("c.bin"),
            ],
            TooLarge("the archive expands to more than 1048576 bytes"),
        ),
        {
            let archive = bomb(
                Compression::Gzip,
                &[],
                &file("zeros.bin"),
                (0, (1 << 30) + MIB),
                &[],
            );
            Case {
                limit: limit_without_manifest(&archive),
                ..bytes_row(
                    "decompression bomb past the limit without manifest (gzip)",
                    Compression::Gzip,
                    archive,
                    TooLarge("the archive expands to more than 1073741824 bytes"),
                )
            }
        },
        {
            let archive = bomb(
                Compression::Zstd,
                &[],
                &file("zeros.bin"),
                (0, (1 << 30) + MIB),
                &[],
            );
            Case {
                limit: limit_without_manifest(&archive),
                ..bytes_row(
                    "decompression bomb past the limit without manifest (zstd)",
                    Compression::Zstd,
                    archive,
                    TooLarge("the archive expands to more than 1073741824 bytes"),
                )
            }
        },
        bytes_row(
            "GNU long name of 512 MiB",
            Compression::Zstd,
            bomb(
                Compression::Zstd,
                &[],
                &special("././@LongLink", GNULongName),
                (b'a', 512 * MIB),
                &[file("harmless")],
            ),
            Broken(
                "headers (long names, PAX extensions) or unused data of more than 1048576 bytes",
            ),
        ),
        bytes_row(
            "PAX extensions of 512 MiB",
            Compression::Gzip,
            bomb(
                Compression::Gzip,
                &[],
                &special("PaxHeaders/next", EntryType::XHeader),
                (b'a', 512 * MIB),
                &[file("harmless")],
            ),
            Broken(
                "headers (long names, PAX extensions) or unused data of more than 1048576 bytes",
            ),
        ),
        bytes_row(
            "2 GiB of data skipped after a folder entry",
            Compression::Zstd,
            bomb(Compression::Zstd, &[], &folder("d"), (0, 2 << 30), &[]),
            Broken("of more than 1048576 bytes"),
        ),
        // Broken input.
        bytes_row(
            "truncated zstd archive",
            Compression::Zstd,
            zstd_archive[..zstd_archive.len() / 2].to_vec(),
            Broken(CUT_SHORT),
        ),
        bytes_row(
            "truncated gzip archive",
            Compression::Gzip,
            gzip_archive[..gzip_archive.len() / 2].to_vec(),
            Broken(CUT_SHORT),
        ),
        bytes_row(
            "garbage bytes read as zstd",
            Compression::Zstd,
            garbage.clone(),
            Broken("the archive is not valid zstd, or is cut short"),
        ),
        bytes_row(
            "garbage bytes read as gzip",
            Compression::Gzip,
            garbage,
            Broken("the archive is not valid gzip, or is cut short"),
        ),
        bytes_row(
            "an uncompressed tar read as zstd",
            Compression::Zstd,
            raw_tar(&[file("a.txt")]),
            Broken("the archive is not valid zstd, or is cut short"),
        ),
        bytes_row(
            "empty input read as zstd",
            Compression::Zstd,
            Vec::new(),
            Broken(CUT_SHORT),
        ),
        bytes_row(
            "empty input read as gzip",
            Compression::Gzip,
            Vec::new(),
            Broken(CUT_SHORT),
        ),
        bytes_row(
            "a header with a bad checksum",
            Compression::Zstd,
            compress(Compression::Zstd, &bad_checksum),
            Broken("the tar header of entry 1 is not valid"),
        ),
        bytes_row(
            "file data read as a header (a file that changed while it was archived), its fields quoting the file",
            Compression::Zstd,
            compress(Compression::Zstd, &misaligned()),
            Broken("the tar header of entry 2 is not valid"),
        ),
    ]
}

/// An archive whose first entry claims no data but is followed by its file's data: a block
/// that reads as a header with a valid checksum, whose name and mode quote the file (`SECRET`).
fn misaligned() -> Vec<u8> {
    let mut quoting = tar::Header::new_gnu();
    let name = b"SECRET-NAME\nsecond line of the file";
    quoting.as_old_mut().name[..name.len()].copy_from_slice(name);
    quoting.set_entry_type(EntryType::Regular);
    quoting.set_size(0);
    quoting.as_old_mut().mode.copy_from_slice(b"SECRET\n\0");
    quoting.set_cksum();
    let mut out = header(&Entry {
        size: Some(0),
        ..file("a")
    })
    .as_bytes()
    .to_vec();
    out.extend_from_slice(quoting.as_bytes());
    out.resize(out.len() + 1024, 0);
    out
}

/// A file planted next to the target, with what it should still be afterwards.
struct Sentinel {
    path: PathBuf,
    metadata: (u64, u32, i64, i64, u64),
}

impl Sentinel {
    fn plant(path: PathBuf) -> Self {
        std::fs::write(&path, "a sentinel: nothing may touch it").unwrap();
        let metadata = Self::read(&path);
        Sentinel { path, metadata }
    }

    fn read(path: &Path) -> (u64, u32, i64, i64, u64) {
        let metadata = std::fs::symlink_metadata(path).unwrap();
        (
            metadata.len(),
            metadata.mode(),
            metadata.mtime(),
            metadata.mtime_nsec(),
            metadata.ino(),
        )
    }

    fn check(&self) -> Result<(), String> {
        if !self.path.is_file() || Self::read(&self.path) != self.metadata {
            return Err(format!("{} was changed", self.path.display()));
        }
        match std::fs::read_to_string(&self.path) {
            Ok(text) if text == "a sentinel: nothing may touch it" => Ok(()),
            _ => Err(format!("{} was rewritten", self.path.display())),
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every link under `dir` resolves inside `target` (or, dangling, is relative).
fn links_stay_inside(dir: &Path, target: &Path) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        if metadata.is_symlink() {
            match std::fs::canonicalize(&path) {
                Ok(resolved) if !resolved.starts_with(target) => {
                    return Err(format!(
                        "{} resolves to {}, outside the target",
                        path.display(),
                        resolved.display()
                    ));
                }
                Err(_) if std::fs::read_link(&path).unwrap().is_absolute() => {
                    return Err(format!("{} is an absolute link", path.display()));
                }
                Ok(_) | Err(_) => {}
            }
        } else if metadata.is_dir() {
            links_stay_inside(&path, target)?;
        }
    }
    Ok(())
}

/// Runs one row in `<outer>/<root_name>/target`; returns what extraction said, or what went
/// wrong.
fn run(case: &Case, outer: &Path, root_name: &str) -> Result<String, String> {
    let root = outer.join(root_name);
    let target = root.join("target");
    std::fs::create_dir_all(&target).unwrap();
    let sentinel = Sentinel::plant(root.join("sentinel.txt"));
    // On a thread of its own, so that a panic or a hang fails the row instead of the test run.
    let (sender, receiver) = std::sync::mpsc::channel();
    let (archive, compression, into, limit) = (
        case.archive.clone(),
        case.compression,
        target.clone(),
        case.limit,
    );
    std::thread::spawn(move || {
        let _ = sender.send(unpack(archive.as_slice(), compression, &into, limit));
    });
    let result = match receiver.recv_timeout(std::time::Duration::from_mins(2)) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            return Err("extraction hung (still running after 120 s)".to_string());
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            return Err("extraction panicked".to_string());
        }
    };
    let said = match &result {
        Ok(summary) => format!("extracted {summary:?}"),
        Err(error) => error.to_string(),
    };
    // Rows put SECRET only in file data: a message must never echo what an archive holds.
    if said.contains("SECRET") {
        return Err(format!(
            "the message echoes the archive's contents: {said:?}"
        ));
    }
    match (&case.expect, &result) {
        (Expect::Refused(text), Err(error @ UnpackError::Refused { .. }))
        | (Expect::TooLarge(text), Err(error @ UnpackError::TooLarge { .. }))
        | (Expect::Broken(text), Err(error @ UnpackError::Io(_))) => {
            if !error.to_string().contains(text) {
                return Err(format!(
                    "the message is {:?}, wanted {text:?}",
                    error.to_string()
                ));
            }
        }
        (Expect::Extracted(check), Ok(summary)) => {
            let target = target.clone();
            let summary = summary.clone();
            let check = *check;
            std::panic::catch_unwind(move || check(&target, &summary))
                .map_err(|_| "the extracted folder is not as expected".to_string())?;
        }
        (_, Ok(summary)) => return Err(format!("extraction succeeded: {summary:?}")),
        (_, Err(error)) => return Err(format!("unexpected error: {error:?} ({error})")),
    }
    if names(&root) != ["sentinel.txt", "target"] {
        return Err(format!("written beside the target: {:?}", names(&root)));
    }
    sentinel.check()?;
    let target = std::fs::canonicalize(&target).unwrap();
    links_stay_inside(&target, &target)?;
    Ok(said)
}

#[test]
fn every_hostile_archive_is_refused_or_extracted_as_documented() {
    let outer = tempfile::tempdir().unwrap();
    let outer_sentinel = Sentinel::plant(outer.path().join("sentinel.txt"));
    let cases = cases(outer.path());
    let mut expected_names = vec!["sentinel.txt".to_string()];
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let root_name = format!("root-{index:02}");
        expected_names.push(root_name.clone());
        expected_names.sort();
        let outcome = run(case, outer.path(), &root_name)
            .and_then(|said| {
                // Shown with `--nocapture`: what each row gives, in the words users see.
                eprintln!("{}: {said}", case.name);
                outer_sentinel.check()
            })
            .and_then(|()| {
                let found = names(outer.path());
                if found == expected_names {
                    Ok(())
                } else {
                    Err(format!("written beside the root: {found:?}"))
                }
            });
        if let Err(why) = outcome {
            failures.push(format!("{}: {why}", case.name));
        }
        // The next rows need the disk space.
        std::fs::remove_dir_all(outer.path().join(&root_name)).unwrap();
        std::fs::create_dir(outer.path().join(&root_name)).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn archives_we_write_extract_to_the_same_tree() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    std::fs::create_dir_all(source.join("a/b")).unwrap();
    std::fs::write(source.join("a/b/c.txt"), "c").unwrap();
    std::os::unix::fs::symlink("b/c.txt", source.join("a/link")).unwrap();
    for compression in [Compression::Zstd, Compression::Gzip] {
        let (summary, archive) = release_artifacts::pack(&source, compression, Vec::new()).unwrap();
        assert_eq!(summary.file_count, 2);
        let dest = root.path().join(format!("dest-{compression}"));
        std::fs::create_dir(&dest).unwrap();
        unpack(archive.as_slice(), compression, &dest, 1 << 20).unwrap();
        assert_eq!(
            std::fs::read_link(dest.join("a/link")).unwrap(),
            Path::new("b/c.txt")
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("a/b/c.txt")).unwrap(),
            "c"
        );
        let (_, again) = release_artifacts::pack(&source, compression, Vec::new()).unwrap();
        assert_eq!(again, archive, "the same files give the same archive");
    }
}
