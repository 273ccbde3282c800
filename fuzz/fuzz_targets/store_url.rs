//! `STATIC_ARTIFACTS_URL` parsing: never panics, and what it accepts has the shape its fields
//! document.
//!
//! `Display` is not asserted to round-trip: it is for messages and leaves out the region of an
//! AWS host name on purpose.
#![no_main]

use libfuzzer_sys::fuzz_target;
use release_artifacts::StoreUrl;
use std::path::Component;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let url = match text.parse::<StoreUrl>() {
        Ok(url) => url,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    let shown = url.to_string();
    match &url {
        StoreUrl::File { dir } => {
            assert!(shown.starts_with("file:///"), "{shown}");
            assert!(dir.is_absolute(), "{url:?}");
            assert!(dir.parent().is_some(), "the root folder: {url:?}");
            assert!(
                !dir.components().any(|part| part == Component::ParentDir),
                "{url:?}"
            );
        }
        StoreUrl::S3 {
            bucket,
            prefix,
            region,
        } => {
            assert!(shown.starts_with("s3://"), "{shown}");
            assert!((3..=63).contains(&bucket.len()), "{url:?}");
            assert!(
                bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
                "{url:?}"
            );
            assert!(
                prefix.is_empty()
                    || prefix
                        .split('/')
                        .all(|segment| !["", ".", ".."].contains(&segment)),
                "{url:?}"
            );
            assert!(
                region.as_ref().is_none_or(|region| !region.is_empty()
                    && region
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')),
                "{url:?}"
            );
        }
    }
});
