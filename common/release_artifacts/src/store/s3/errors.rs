//! S3 answers turned into messages that say what to fix.

use super::S3Store;
use crate::store::{Refusal, StoreError, Unavailability};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// `error`'s causes, innermost last, without the SDK's debug dump: `io error: client error
/// (Connect): tcp connect error: Connection refused (os error 111)`.
pub(super) fn causes(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = cause.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.join(": ")
}

/// The text of a response body that is not S3's XML (an HTML error page, say): tags dropped,
/// spaces collapsed, cut to 200 characters.
fn plain_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                plain.push(' ');
            }
            _ if in_tag => {}
            c if c.is_control() => plain.push(' '),
            c => plain.push(c),
        }
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let joined = words.join(" ");
    let mut cut: String = joined.chars().take(200).collect();
    if cut.len() < joined.len() {
        cut.push_str("...");
    }
    cut
}

/// The HTTP status of the store's answer, if there was one, and what the answer said, to add
/// to a message: ` (code: message)`, or the status and the body's text when the answer was not
/// an S3 error.
fn status_and_detail<E>(error: &SdkError<E, HttpResponse>) -> (Option<u16>, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (status, body) = match error {
        SdkError::ServiceError(context) => (
            Some(context.raw().status().as_u16()),
            context.raw().body().bytes().map(plain_text),
        ),
        _ => (None, None),
    };
    let code = error.code().unwrap_or_default();
    let detail = match (error.message(), code.is_empty(), status) {
        (Some(message), _, _) => format!(" ({code}: {message})"),
        (None, false, _) => format!(" ({code})"),
        // No code and no message: the store's answer could not be read as one; its reason is
        // in the error's causes.
        (None, true, Some(status)) => format!(
            " (HTTP {status}: {})",
            body.filter(|body| !body.is_empty())
                .unwrap_or_else(|| causes(error))
        ),
        (None, true, None) => String::new(),
    };
    (status, detail)
}

impl S3Store {
    /// Where the access key id came from, for messages.
    fn key_id_setting(&self) -> &'static str {
        if self.static_credentials {
            "STATIC_ARTIFACTS_ACCESS_KEY_ID"
        } else {
            "the access key of the standard AWS credential chain (AWS_ACCESS_KEY_ID, a profile or a role), or set STATIC_ARTIFACTS_ACCESS_KEY_ID"
        }
    }

    /// Where the secret came from, for messages.
    fn secret_setting(&self) -> &'static str {
        if self.static_credentials {
            "STATIC_ARTIFACTS_SECRET_ACCESS_KEY"
        } else {
            "the secret key of the standard AWS credential chain (AWS_SECRET_ACCESS_KEY, a profile or a role), or set STATIC_ARTIFACTS_SECRET_ACCESS_KEY"
        }
    }

    /// The message for an answer that refuses these credentials, if it is one.
    fn credentials_problem(&self, code: &str, detail: &str) -> Option<Refusal> {
        let detail = detail.to_string();
        Some(match code {
            "InvalidAccessKeyId" | "NotSignedUp" => Refusal::UnknownAccessKey {
                detail,
                setting: self.key_id_setting(),
            },
            "SignatureDoesNotMatch" => Refusal::WrongSecret {
                detail,
                setting: self.secret_setting(),
            },
            "InvalidToken" | "ExpiredToken" | "TokenRefreshRequired" => {
                Refusal::BadSessionToken { detail }
            }
            _ => return None,
        })
    }

    /// Turns an SDK error into a message that says what to fix.
    pub(super) fn error<E>(
        &self,
        action: &str,
        key: &str,
        error: &SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let target = format!("{action} {}", self.url_of(key));
        let (status, detail) = status_and_detail(error);
        let code = error.code().unwrap_or_default();
        let refused = |reason| StoreError::Refused {
            target: target.clone(),
            reason,
        };
        let unavailable = |reason| StoreError::Unavailable {
            target: target.clone(),
            reason,
        };
        if let Some(problem) = self.credentials_problem(code, &detail) {
            return refused(problem);
        }
        match (error, status, code) {
            // 409 ConditionalRequestConflict: AWS S3 saw another write of the same key at the
            // same moment.
            (SdkError::ServiceError(_), Some(412), _)
            | (_, _, "PreconditionFailed" | "ConditionalRequestConflict") => StoreError::Exists {
                location: self.url_of(key),
            },
            (SdkError::ServiceError(_), _, "NoSuchBucket") => refused(Refusal::NoSuchBucket {
                bucket: self.bucket.clone(),
                endpoint: self.endpoint.clone(),
                detail,
            }),
            (SdkError::ServiceError(_), Some(404), _) | (_, _, "NoSuchKey" | "NotFound") => {
                StoreError::NotFound {
                    key: key.to_string(),
                    store: self.describe(),
                }
            }
            (
                _,
                _,
                "PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException",
            ) => refused(Refusal::WrongRegion { detail }),
            (SdkError::ServiceError(_), Some(403), _) | (_, _, "AccessDenied") => {
                StoreError::Denied {
                    target: target.clone(),
                    detail,
                    action: action.to_string(),
                    scope: self.url_of(""),
                }
            }
            (SdkError::ServiceError(_), Some(status), _) if status >= 500 => {
                unavailable(Unavailability::ServerErrors { status, detail })
            }
            (_, _, "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                unavailable(Unavailability::Throttled { detail })
            }
            (SdkError::ServiceError(_), _, _) => refused(Refusal::Answer { detail }),
            (SdkError::TimeoutError(_), _, _) => unavailable(Unavailability::NoAnswer {
                endpoint: self.endpoint.clone(),
            }),
            _ if causes(error).contains("no credentials found") => refused(Refusal::NoCredentials),
            (SdkError::DispatchFailure(failure), _, _) if !failure.is_user() => {
                unavailable(Unavailability::Unreachable {
                    endpoint: self.endpoint.clone(),
                    causes: causes(error),
                })
            }
            _ => refused(Refusal::Unexplained {
                reason: DisplayErrorContext(error).to_string(),
            }),
        }
    }
}
