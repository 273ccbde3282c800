//! How each variable's value is read and checked: credentials, the load timeout, `KEEP`, the
//! compression and fallback choices, the region and the endpoint.

use super::{Compression, Fallback, SettingsError};
use crate::store::StaticCredentials;
use std::time::Duration;

/// Static credentials: both keys (in either spelling) and maybe a session token, or none.
pub(super) fn read_credentials(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<StaticCredentials>, SettingsError> {
    let invalid = |name: &'static str, message: &str| SettingsError::Invalid {
        name,
        message: message.to_string(),
    };
    let access_key = get("STATIC_ARTIFACTS_ACCESS_KEY_ID")
        .map(|v| ("STATIC_ARTIFACTS_ACCESS_KEY_ID", v))
        .or_else(|| {
            get("STATIC_ARTIFACTS_AWS_ACCESS_KEY_ID")
                .map(|v| ("STATIC_ARTIFACTS_AWS_ACCESS_KEY_ID", v))
        });
    let secret = get("STATIC_ARTIFACTS_SECRET_ACCESS_KEY")
        .map(|v| ("STATIC_ARTIFACTS_SECRET_ACCESS_KEY", v))
        .or_else(|| {
            get("STATIC_ARTIFACTS_AWS_SECRET_ACCESS_KEY")
                .map(|v| ("STATIC_ARTIFACTS_AWS_SECRET_ACCESS_KEY", v))
        });
    let session_token = get("STATIC_ARTIFACTS_SESSION_TOKEN");
    Ok(match (access_key, secret) {
        (Some((_, access_key_id)), Some((_, secret_access_key))) => Some(StaticCredentials {
            access_key_id: access_key_id.trim().to_string(),
            secret_access_key: secret_access_key.trim().to_string(),
            session_token: session_token.map(|token| token.trim().to_string()),
        }),
        (Some((name, _)), None) => {
            return Err(invalid(
                name,
                "it is set but STATIC_ARTIFACTS_SECRET_ACCESS_KEY is not. Set both, or neither to use the standard AWS credential chain.",
            ));
        }
        (None, Some((name, _))) => {
            return Err(invalid(
                name,
                "it is set but STATIC_ARTIFACTS_ACCESS_KEY_ID is not. Set both, or neither to use the standard AWS credential chain.",
            ));
        }
        (None, None) if session_token.is_some() => {
            return Err(invalid(
                "STATIC_ARTIFACTS_SESSION_TOKEN",
                "it is set without STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY. Set all three.",
            ));
        }
        (None, None) => None,
    })
}

/// The longest `STATIC_ARTIFACTS_LOAD_TIMEOUT`: a day. Longer ones mean nothing for a process
/// that waits for its artifacts before it starts, and would overflow its deadline.
pub(super) const MAX_LOAD_TIMEOUT: Duration = Duration::from_hours(24);

/// `STATIC_ARTIFACTS_LOAD_TIMEOUT`, written as a `timeout` of project.toml is.
pub(super) fn read_load_timeout(text: &str) -> Result<Duration, String> {
    const FIX: &str = "Set it to a number of seconds, such as 50.";
    if text.chars().any(char::is_control) {
        return Err(format!("it contains control characters. {FIX}"));
    }
    let timeout = match text.parse::<release_commands::Timeout>() {
        Ok(timeout) => timeout.as_duration(),
        // Unlike `timeout` in project.toml, leaving it out gives the default, not no limit.
        Err(release_commands::TimeoutError::Zero) => return Err(format!("it is zero. {FIX}")),
        Err(error) => return Err(format!("{error}. {FIX}")),
    };
    if timeout > MAX_LOAD_TIMEOUT {
        return Err(format!(
            "it is longer than a day ({} seconds). {FIX}",
            MAX_LOAD_TIMEOUT.as_secs()
        ));
    }
    Ok(timeout)
}

/// `STATIC_ARTIFACTS_KEEP`.
pub(super) fn read_keep(text: &str) -> Result<usize, String> {
    const FIX: &str = "Set it to the number of published releases to keep, such as 10, or leave it unset to keep them all.";
    match text.parse::<usize>() {
        Ok(keep) if keep > 0 => Ok(keep),
        Err(error) if *error.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("{text:?} is too large. {FIX}"))
        }
        _ => Err(format!(
            "{text:?} is not a whole number of at least 1 (the number of published releases to keep). {FIX}"
        )),
    }
}

/// `STATIC_ARTIFACTS_COMPRESSION` and `STATIC_ARTIFACTS_FALLBACK`.
pub(super) fn read_choices(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(Compression, Fallback), SettingsError> {
    let invalid = |name: &'static str, message: String| SettingsError::Invalid { name, message };
    let compression = match get("STATIC_ARTIFACTS_COMPRESSION")
        .as_deref()
        .map(str::trim)
    {
        None | Some("zstd") => Compression::Zstd,
        Some("gzip") => Compression::Gzip,
        Some(other) => {
            return Err(invalid(
                "STATIC_ARTIFACTS_COMPRESSION",
                format!("{other:?} is not a compression. Set it to zstd (the default) or gzip."),
            ));
        }
    };
    let fallback = match get("STATIC_ARTIFACTS_FALLBACK").as_deref().map(str::trim) {
        None | Some("latest") => Fallback::Latest,
        Some("none") => Fallback::None,
        Some(other) => {
            return Err(invalid(
                "STATIC_ARTIFACTS_FALLBACK",
                format!("{other:?} is not a fallback. Set it to latest (the default) or none."),
            ));
        }
    };
    Ok((compression, fallback))
}

/// A region name, such as `us-east-1`.
pub(super) fn check_region(region: &str) -> Result<String, String> {
    let region = region.trim();
    if region
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(region.to_string())
    } else {
        Err(format!(
            "{region:?} is not a region name. Set it to one such as us-east-1."
        ))
    }
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION` (as the SDK reads them), checked when `needed`
/// (they decide the region of `STATIC_ARTIFACTS_URL`); when not needed, a bad one is left out.
pub(super) fn read_env_region(
    get: &impl Fn(&str) -> Option<String>,
    needed: bool,
) -> Result<Option<String>, SettingsError> {
    let Some((name, value)) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| get(name).map(|value| (name, value)))
    else {
        return Ok(None);
    };
    match check_region(&value) {
        Ok(region) => Ok(Some(region)),
        Err(message) if needed => Err(SettingsError::Invalid { name, message }),
        Err(_) => Ok(None),
    }
}

/// The S3-compatible endpoint: `STATIC_ARTIFACTS_ENDPOINT`, else `AWS_ENDPOINT_URL_S3`, else
/// `AWS_ENDPOINT_URL` (both left out when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`, as
/// the SDK does); only the one used is checked.
pub(super) fn read_endpoint(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, SettingsError> {
    let ignore_aws = get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let names: &[&'static str] = if ignore_aws {
        &["STATIC_ARTIFACTS_ENDPOINT"]
    } else {
        &[
            "STATIC_ARTIFACTS_ENDPOINT",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL",
        ]
    };
    names
        .iter()
        .find_map(|&name| get(name).map(|value| (name, value)))
        .map(|(name, value)| {
            check_endpoint(value.trim()).map_err(|message| SettingsError::Invalid { name, message })
        })
        .transpose()
}

pub(super) fn check_endpoint(endpoint: &str) -> Result<String, String> {
    // An endpoint never holds user info; when it seems to, the value may hold a password and
    // is not repeated in the message.
    if endpoint.contains('@') {
        return Err("it must not hold user info (user:password@). Credentials go in STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY; set the endpoint to a URL such as https://ACCOUNT.r2.cloudflarestorage.com.".to_string());
    }
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Err(format!(
            "{endpoint:?} has no scheme. Set it to a URL such as http://127.0.0.1:9000 or https://ACCOUNT.r2.cloudflarestorage.com."
        ));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(format!(
            "the scheme `{scheme}://` is not supported; use http:// or https://."
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !is_host_and_port(authority) || rest.contains(['?', '#']) {
        return Err(
            "it must be a plain http(s)://host[:port] URL, without user info, query or fragment."
                .to_string(),
        );
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with a DNS name or an IP address as host.
pub(super) fn is_host_and_port(authority: &str) -> bool {
    let (host_ok, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((address, rest)) = v6.split_once(']') else {
            return false;
        };
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port),
            None if rest.is_empty() => None,
            None => return false,
        };
        (address.parse::<std::net::Ipv6Addr>().is_ok(), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        (host_ok, port)
    };
    host_ok && port.is_none_or(|port| port.parse::<u16>().is_ok())
}
