//! Layer environment folders (`env/`, `env.launch/`, `env.launch/<process>/`), applied as the
//! launcher does for Buildpack API 0.10.

use crate::PlatformError;
use std::collections::BTreeMap;
use std::path::Path;

/// Applies the files of `dir` to `env`. A file `NAME` or `NAME.override` sets `NAME`;
/// `NAME.default` sets it only when unset; `NAME.append` / `NAME.prepend` add to it, joined by
/// the contents of `NAME.delim` (nothing when there is no such file).
pub(crate) fn apply(env: &mut BTreeMap<String, String>, dir: &Path) -> Result<(), PlatformError> {
    let Ok(read_dir) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut files = BTreeMap::new();
    for entry in read_dir {
        let entry = entry.map_err(|error| PlatformError::io(dir, error))?;
        if !entry
            .file_type()
            .map_err(|error| PlatformError::io(dir, error))?
            .is_file()
        {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let value = std::fs::read_to_string(entry.path())
            .map_err(|error| PlatformError::io(&entry.path(), error))?;
        files.insert(name, value);
    }
    for (file, value) in &files {
        let (name, suffix) = file.rsplit_once('.').unwrap_or((file.as_str(), "override"));
        let delim = files
            .get(&format!("{name}.delim"))
            .map_or("", String::as_str);
        let current = env.get(name).filter(|current| !current.is_empty()).cloned();
        let new = match (suffix, current) {
            ("override", _) | ("default" | "append" | "prepend", None) => value.clone(),
            ("append", Some(current)) => format!("{current}{delim}{value}"),
            ("prepend", Some(current)) => format!("{value}{delim}{current}"),
            // `.default` of a set variable, `.delim` files and unknown suffixes change nothing.
            _ => continue,
        };
        env.insert(name.to_string(), new);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_each_suffix() {
        let dir = tempfile::tempdir().unwrap();
        for (file, value) in [
            ("PLAIN", "p"),
            ("OVER.override", "o"),
            ("KEEP.default", "ignored"),
            ("NEW.default", "d"),
            ("PATH.prepend", "/layer/bin"),
            ("PATH.delim", ":"),
            ("FLAGS.append", "-x"),
        ] {
            std::fs::write(dir.path().join(file), value).unwrap();
        }
        let mut env: BTreeMap<String, String> = [
            ("OVER", "old"),
            ("KEEP", "k"),
            ("PATH", "/usr/bin"),
            ("FLAGS", "-a"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        apply(&mut env, dir.path()).unwrap();
        let get = |name: &str| env.get(name).map(String::as_str);
        assert_eq!(get("PLAIN"), Some("p"));
        assert_eq!(get("OVER"), Some("o"));
        assert_eq!(get("KEEP"), Some("k"));
        assert_eq!(get("NEW"), Some("d"));
        assert_eq!(get("PATH"), Some("/layer/bin:/usr/bin"));
        assert_eq!(get("FLAGS"), Some("-a-x"));
    }
}
