//! Crafted archives that extraction must refuse, without writing anything outside the target.

// Test helpers panic with a clear message, as libcnb-test's do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use release_artifacts::{Compression, UnpackError, unpack};
use std::io::Write;
use std::path::Path;

/// One entry of a crafted archive, with its path written raw (no validation).
struct Entry {
    path: &'static str,
    kind: tar::EntryType,
    mode: u32,
    link: Option<&'static str>,
    data: Vec<u8>,
}

fn file(path: &'static str) -> Entry {
    Entry {
        path,
        kind: tar::EntryType::Regular,
        mode: 0o644,
        link: None,
        data: b"x".to_vec(),
    }
}

fn link(path: &'static str, kind: tar::EntryType, target: &'static str) -> Entry {
    Entry {
        path,
        kind,
        mode: 0o777,
        link: Some(target),
        data: Vec::new(),
    }
}

fn special(path: &'static str, kind: tar::EntryType) -> Entry {
    Entry {
        path,
        kind,
        mode: 0o644,
        link: None,
        data: Vec::new(),
    }
}

/// A tar archive written header by header, so that paths no honest tool writes get through.
fn raw_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        {
            let name = &mut header.as_old_mut().name;
            name.fill(0);
            name[..entry.path.len()].copy_from_slice(entry.path.as_bytes());
        }
        if let Some(target) = entry.link {
            let linkname = &mut header.as_old_mut().linkname;
            linkname.fill(0);
            linkname[..target.len()].copy_from_slice(target.as_bytes());
        }
        header.set_entry_type(entry.kind);
        header.set_mode(entry.mode);
        header.set_size(entry.data.len() as u64);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&entry.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// Extracts into `<tmp>/target`, and returns the error and whether anything appeared next to it.
fn extract(
    archive: &[u8],
    limit: u64,
) -> (
    Result<release_artifacts::UnpackSummary, UnpackError>,
    Vec<String>,
) {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("target");
    std::fs::create_dir(&target).unwrap();
    let result = unpack(archive, Compression::Zstd, &target, limit);
    let outside: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "target")
        .collect();
    (result, outside)
}

#[test]
fn every_escaping_or_special_entry_is_refused() {
    use tar::EntryType::{Block, Char, Fifo, Link, Symlink};
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "dot-dot path",
            vec![file("../evil.txt")],
            "\"../evil.txt\" was refused: it contains `..`",
        ),
        (
            "nested dot-dot",
            vec![file("a/../../evil.txt")],
            "it contains `..`",
        ),
        (
            "absolute path",
            vec![file("/tmp/evil.txt")],
            "\"/tmp/evil.txt\" was refused: it is an absolute path",
        ),
        (
            "symlink to an absolute path",
            vec![link("etc", Symlink, "/etc")],
            "it links to /etc, outside the folder",
        ),
        (
            "symlink up and out",
            vec![link("a", Symlink, "../..")],
            "it links to ../.., outside the folder",
        ),
        (
            "entry written through an inside link",
            vec![
                special("sub", tar::EntryType::Directory),
                link("l", Symlink, "sub"),
                file("l/evil.txt"),
            ],
            "\"l/evil.txt\" was refused: it would be written through a link",
        ),
        (
            "hard link to an absolute path",
            vec![link("h", Link, "/etc/passwd")],
            "it is a hard link to /etc/passwd, which is not a file extracted before (inside the folder)",
        ),
        (
            "hard link up and out",
            vec![link("h", Link, "../x")],
            "it is a hard link to ../x, which is not a file extracted before (inside the folder)",
        ),
        (
            "hard link to nothing extracted",
            vec![link("h", Link, "missing")],
            "which is not a file extracted before",
        ),
        (
            "character device",
            vec![special("tty", Char)],
            "\"tty\" was refused: it is a device file",
        ),
        (
            "block device",
            vec![special("sda", Block)],
            "\"sda\" was refused: it is a device file",
        ),
        (
            "fifo",
            vec![special("pipe", Fifo)],
            "\"pipe\" was refused: it is a fifo",
        ),
        (
            "setuid file",
            vec![Entry {
                mode: 0o4755,
                ..file("suid")
            }],
            "\"suid\" was refused: it has the setuid or setgid bit",
        ),
        (
            "setgid folder",
            vec![Entry {
                mode: 0o2755,
                ..special("sgid", tar::EntryType::Directory)
            }],
            "it has the setuid or setgid bit",
        ),
    ];
    for (name, entries, expected) in cases {
        let (result, outside) = extract(&zstd(&raw_tar(&entries)), 1 << 20);
        let error = result.map(|summary| format!("{summary:?}")).unwrap_err();
        assert!(
            matches!(error, UnpackError::Refused { .. }),
            "{name}: {error}"
        );
        assert!(error.to_string().contains(expected), "{name}: {error}");
        assert!(outside.is_empty(), "{name}: written outside: {outside:?}");
    }
}

#[test]
fn links_and_hard_links_inside_the_folder_are_kept() {
    use tar::EntryType::{Directory, Link, Symlink};
    let entries = vec![
        special("sub", Directory),
        file("sub/a.txt"),
        link("up", Symlink, "sub/../sub/a.txt"),
        link("sub/sibling", Symlink, "../sub/a.txt"),
        link("hard", Link, "sub/a.txt"),
    ];
    let root = tempfile::tempdir().unwrap();
    let summary = unpack(
        zstd(&raw_tar(&entries)).as_slice(),
        Compression::Zstd,
        root.path(),
        1 << 20,
    )
    .unwrap();
    assert_eq!(summary.file_count, 4);
    assert_eq!(std::fs::read(root.path().join("up")).unwrap(), b"x");
    assert_eq!(std::fs::read(root.path().join("hard")).unwrap(), b"x");
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    let bomb = Entry {
        data: vec![0; 8 << 20],
        ..file("zeros.bin")
    };
    let archive = zstd(&raw_tar(&[bomb]));
    assert!(archive.len() < 4096, "a bomb: {} bytes", archive.len());
    let (result, outside) = extract(&archive, 1 << 20);
    let error = result.unwrap_err();
    assert!(
        matches!(error, UnpackError::TooLarge { limit: 1_048_576 }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "the archive expands to more than 1048576 bytes, more than it should; it was refused"
    );
    assert!(outside.is_empty());
}

#[test]
fn a_truncated_archive_is_an_error() {
    let entries = vec![Entry {
        data: (0..200_000u32).flat_map(u32::to_le_bytes).collect(),
        ..file("big.bin")
    }];
    let archive = zstd(&raw_tar(&entries));
    let (result, _) = extract(&archive[..archive.len() / 2], 1 << 30);
    let error = result.unwrap_err();
    assert!(matches!(error, UnpackError::Io(_)), "{error}");

    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&raw_tar(&entries)).unwrap();
    let gzip = gzip.finish().unwrap();
    let root = tempfile::tempdir().unwrap();
    let error = unpack(
        &gzip[..gzip.len() / 2],
        Compression::Gzip,
        root.path(),
        1 << 30,
    )
    .unwrap_err();
    assert!(matches!(error, UnpackError::Io(_)), "{error}");
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
