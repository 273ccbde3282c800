//! A release's manifest and `latest.json` from any bytes: parsing never panics, and what parses
//! is written back by `to_json` as JSON that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use release_artifacts::{Latest, Manifest, ReleaseId};

fuzz_target!(|data: &[u8]| {
    let Ok(v1) = ReleaseId::new("v1") else {
        return;
    };
    for id in [None, Some(&v1)] {
        match Manifest::parse(data, "release-v1.json", id) {
            Ok(manifest) => {
                let json = manifest.to_json();
                let again = Manifest::parse(&json, "release-v1.json", manifest.id().as_ref());
                match again {
                    Ok(again) => assert_eq!(again, manifest),
                    Err(error) => panic!("{manifest:?} written as JSON does not parse: {error}"),
                }
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
    match Latest::parse(data) {
        Ok(latest) => match Latest::parse(&latest.to_json()) {
            Ok(again) => assert_eq!(again, latest),
            Err(error) => panic!("{latest:?} written as JSON does not parse: {error}"),
        },
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
