//! The S3 store, for AWS S3 and S3-compatible stores (`MinIO`, R2, Ceph, ...).
//!
//! Checksums are sent only when an operation requires them (some S3-compatible stores reject
//! the SDK's default ones); the SDK retries transient faults (timeouts, resets, 5xx, throttling)
//! with exponential backoff and jitter; ranged GETs resume where a broken body stopped.

use super::Connection;
use super::{
    CONCURRENCY, Confirm, Delivery, ObjectInfo, RANGE_SIZE, RANGES_IN_FLIGHT, StoreError, Write,
    confirmed,
};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Ranges being fetched, in order: the pieces each has received so far, and its task. Tasks
/// still running when the download ends (done, failed or dropped) are aborted.
struct InFlight(
    VecDeque<(
        mpsc::UnboundedReceiver<Bytes>,
        tokio::task::JoinHandle<RangeResult>,
    )>,
);

type RangeResult = Result<(), StoreError>;

impl Drop for InFlight {
    fn drop(&mut self) {
        for (_, task) in &self.0 {
            task.abort();
        }
    }
}

/// `error`'s causes, innermost last, without the SDK's debug dump: `io error: client error
/// (Connect): tcp connect error: Connection refused (os error 111)`.
fn causes(error: &dyn std::error::Error) -> String {
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

/// The `ETag` S3 gives an object completed from `parts`: the MD5 of their MD5s, then `-` and
/// their number, quoted; `None` when a part's `ETag` is not an MD5.
fn multipart_etag(parts: &[CompletedPart]) -> Option<String> {
    use md5::Digest;
    let mut hasher = md5::Md5::new();
    for part in parts {
        let hex = part.e_tag()?.trim_matches('"');
        if hex.len() != 32 {
            return None;
        }
        for pair in hex.as_bytes().chunks(2) {
            let pair = std::str::from_utf8(pair).ok()?;
            hasher.update([u8::from_str_radix(pair, 16).ok()?]);
        }
    }
    let hex = hasher
        .finalize()
        .iter()
        .fold(String::new(), |mut hex, byte| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
            hex
        });
    Some(format!("\"{hex}-{}\"", parts.len()))
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

/// How often a broken range download is resumed before giving up.
const RANGE_ATTEMPTS: u32 = 6;

/// A bucket (and key prefix) in S3 or an S3-compatible store.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint: String,
    /// Whether the credentials are the static `STATIC_ARTIFACTS_*` ones (else the AWS chain's).
    static_credentials: bool,
}

impl S3Store {
    /// A client for `bucket` (keys under `prefix`) in `region` (the URL's, else the
    /// connection's, else `us-east-1`).
    pub(crate) async fn connect(
        bucket: &str,
        prefix: &str,
        region: Option<&str>,
        connection: &Connection,
    ) -> Self {
        use aws_smithy_http_client::tls;
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let region = region
            .or(connection.region.as_deref())
            .unwrap_or("us-east-1")
            .to_string();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .http_client(http_client)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(credentials) = &connection.credentials {
            loader = loader.credentials_provider(Credentials::new(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.clone(),
                credentials.session_token.clone(),
                None,
                "STATIC_ARTIFACTS_ACCESS_KEY_ID",
            ));
        }
        let sdk_config = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        let endpoint = if let Some(endpoint) = connection.endpoint.as_deref() {
            config = config.endpoint_url(endpoint).force_path_style(true);
            endpoint.to_string()
        } else {
            // Virtual-hosted names of dotted buckets do not match AWS's TLS certificates.
            config = config.force_path_style(bucket.contains('.'));
            format!("AWS S3 in {region}")
        };
        S3Store {
            client: Client::from_conf(config.build()),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint,
            static_credentials: connection.credentials.is_some(),
        }
    }

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

    pub(crate) fn describe(&self) -> String {
        let url = if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        };
        format!("{url} ({})", self.endpoint)
    }

    pub(crate) fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full_key(key))
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    /// Turns an SDK error into a message that says what to fix.
    fn error<E>(&self, action: &str, key: &str, error: &SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let target = format!("{action} {}", self.url_of(key));
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
            // No code and no message: the store's answer could not be read as one; its reason
            // is in the error's causes.
            (None, true, Some(status)) => format!(
                " (HTTP {status}: {})",
                body.filter(|body| !body.is_empty())
                    .unwrap_or_else(|| causes(error))
            ),
            (None, true, None) => String::new(),
        };
        match (error, status, code) {
            // 409 ConditionalRequestConflict: AWS S3 saw another write of the same key at the
            // same moment.
            (SdkError::ServiceError(_), Some(412), _)
            | (_, _, "PreconditionFailed" | "ConditionalRequestConflict") => StoreError::Exists {
                location: self.url_of(key),
            },
            (SdkError::ServiceError(_), _, "NoSuchBucket") => StoreError::Permanent(format!(
                "Couldn't {target}: the bucket {} does not exist at {}{detail}. Check the bucket name in STATIC_ARTIFACTS_URL, and STATIC_ARTIFACTS_ENDPOINT or the region.",
                self.bucket, self.endpoint
            )),
            (SdkError::ServiceError(_), Some(404), _) | (_, _, "NoSuchKey" | "NotFound") => {
                StoreError::NotFound {
                    key: key.to_string(),
                    store: self.describe(),
                }
            }
            (_, _, "InvalidAccessKeyId" | "NotSignedUp") => StoreError::Permanent(format!(
                "Couldn't {target}: the store does not know this access key id{detail}. Check {} (and STATIC_ARTIFACTS_ENDPOINT).",
                self.key_id_setting()
            )),
            (_, _, "SignatureDoesNotMatch") => StoreError::Permanent(format!(
                "Couldn't {target}: the secret access key does not match the access key id{detail}. Check {}.",
                self.secret_setting()
            )),
            (_, _, "InvalidToken" | "ExpiredToken" | "TokenRefreshRequired") => {
                StoreError::Permanent(format!(
                    "Couldn't {target}: the session token is invalid or expired{detail}. Renew STATIC_ARTIFACTS_SESSION_TOKEN."
                ))
            }
            (
                _,
                _,
                "PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException",
            ) => StoreError::Permanent(format!(
                "Couldn't {target}: the bucket is in another region{detail}. Set STATIC_ARTIFACTS_REGION, or use s3://bucket.s3.REGION.amazonaws.com in STATIC_ARTIFACTS_URL."
            )),
            (SdkError::ServiceError(_), Some(403), _) | (_, _, "AccessDenied") => {
                StoreError::Denied(format!(
                    "Couldn't {target}: access denied{detail}. Check that these credentials may {action} objects under {}.",
                    self.url_of("")
                ))
            }
            (SdkError::ServiceError(_), Some(status), _) if status >= 500 => {
                StoreError::Transient(format!(
                    "Couldn't {target}: the store kept failing with HTTP {status}{detail}, after retries. Try again later."
                ))
            }
            (_, _, "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                StoreError::Transient(format!(
                    "Couldn't {target}: the store kept throttling requests{detail}, after retries. Try again later."
                ))
            }
            (SdkError::ServiceError(_), _, _) => {
                StoreError::Permanent(format!("Couldn't {target}{detail}."))
            }
            (SdkError::TimeoutError(_), _, _) => StoreError::Transient(format!(
                "Couldn't {target}: {} did not answer in time, after retries.",
                self.endpoint
            )),
            _ if causes(error).contains("no credentials found") => StoreError::Permanent(format!(
                "Couldn't {target}: no credentials were found (none in STATIC_ARTIFACTS_*, and none from the standard AWS chain: environment, profile, web identity, container or instance metadata). Set STATIC_ARTIFACTS_ACCESS_KEY_ID and STATIC_ARTIFACTS_SECRET_ACCESS_KEY, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or give this machine a profile or a role)."
            )),
            (SdkError::DispatchFailure(failure), _, _) if !failure.is_user() => {
                StoreError::Transient(format!(
                    "Couldn't {target}: couldn't reach {} ({}), after retries. Check that the store is up and reachable from here.",
                    self.endpoint,
                    causes(error)
                ))
            }
            _ => StoreError::Permanent(format!(
                "Couldn't {target}: {}.",
                DisplayErrorContext(error)
            )),
        }
    }

    pub(crate) async fn preflight(&self, key: &str) -> Result<(), StoreError> {
        // Reading `latest.json` proves the bucket exists and the credentials are valid; a missing
        // object is fine, and so is a 403 (S3's answer for a missing key to credentials that may
        // read but not list).
        match self.get_small(crate::manifest::LATEST_KEY).await {
            Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Denied(_)) => {}
            Err(error) => return Err(error),
        }
        // Starting (and aborting) a multipart upload proves the write permission, leaves no
        // object, and needs no permission to list.
        let upload_id = self.start_multipart(key).await?;
        self.abort_multipart(key, &upload_id).await;
        Ok(())
    }

    async fn start_multipart(&self, key: &str) -> Result<String, StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|error| self.error("write", key, &error))?;
        Ok(created.upload_id().unwrap_or_default().to_string())
    }

    /// Aborts a multipart upload, so that no parts are left behind (they would be billed, and
    /// never cleaned up). Best effort: the upload has failed already.
    async fn abort_multipart(&self, key: &str, upload_id: &str) {
        let _ = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .send()
            .await;
    }

    pub(crate) async fn get_small(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|error| self.error("read", key, &error))?;
        let bytes = output.body.collect().await.map_err(|error| {
            StoreError::Transient(format!("Couldn't read {}: {error}", self.url_of(key)))
        })?;
        Ok(bytes.into_bytes().to_vec())
    }

    pub(crate) async fn put_small(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.put(key, Bytes::from(bytes), Write::Replace).await
    }

    async fn put(&self, key: &str, bytes: Bytes, write: Write) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .set_if_none_match((write == Write::CreateOnly).then(|| "*".to_string()))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|error| self.error("write", key, &error))?;
        Ok(())
    }

    /// The object's metadata (HEAD).
    async fn head(&self, key: &str) -> Result<HeadObjectOutput, StoreError> {
        self.client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|error| self.error("read", key, &error))
    }

    pub(crate) async fn size_of(&self, key: &str) -> Result<u64, StoreError> {
        Ok(self
            .head(key)
            .await?
            .content_length()
            .and_then(|length| u64::try_from(length).ok())
            .unwrap_or_default())
    }

    pub(crate) async fn list(&self, start: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let prefix = self.full_key(start);
        let strip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|error| self.error("list", start, &error))?;
            for object in page.contents() {
                if let Some(key) = object.key().and_then(|key| key.get(strip..)) {
                    objects.push(ObjectInfo {
                        key: key.to_string(),
                        size: object
                            .size()
                            .and_then(|size| u64::try_from(size).ok())
                            .unwrap_or_default(),
                    });
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(objects)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => match self.error("delete", key, &error) {
                StoreError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    pub(crate) async fn upload(
        &self,
        key: &str,
        mut chunks: mpsc::Receiver<Bytes>,
        confirm: Confirm,
        write: Write,
    ) -> Result<(), StoreError> {
        let first = chunks.recv().await.unwrap_or_default();
        let Some(second) = chunks.recv().await else {
            confirmed(confirm, &self.url_of(key)).await?;
            return self.put(key, first, write).await;
        };
        let upload_id = self.start_multipart(key).await?;
        let result = self
            .upload_parts(key, &upload_id, [first, second], chunks, confirm, write)
            .await;
        if result.is_err() {
            self.abort_multipart(key, &upload_id).await;
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: [Bytes; 2],
        mut chunks: mpsc::Receiver<Bytes>,
        confirm: Confirm,
        write: Write,
    ) -> Result<(), StoreError> {
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = JoinSet::new();
        let mut parts = Vec::new();
        let mut pending = VecDeque::from(first);
        let mut number = 0;
        loop {
            // Wait for a free slot before taking the next chunk, so at most CONCURRENCY parts
            // are held in memory besides the one being compressed.
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .map_err(|_| StoreError::Permanent("the upload was cancelled".into()))?;
            while let Some(done) = tasks.try_join_next() {
                parts.push(self.joined(key, done)?);
            }
            let chunk = match pending.pop_front() {
                Some(chunk) => chunk,
                None => match chunks.recv().await {
                    Some(chunk) => chunk,
                    None => break,
                },
            };
            number += 1;
            let store = self.clone();
            let (key, upload_id) = (key.to_string(), upload_id.to_string());
            tasks.spawn(async move {
                let result = store.upload_part(&key, &upload_id, number, chunk).await;
                drop(permit);
                result
            });
        }
        while let Some(done) = tasks.join_next().await {
            parts.push(self.joined(key, done)?);
        }
        confirmed(confirm, &self.url_of(key)).await?;
        parts.sort_by_key(CompletedPart::part_number);
        let expected_etag = multipart_etag(&parts);
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .set_if_none_match((write == Write::CreateOnly).then(|| "*".to_string()))
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| self.error("write", key, &error));
        match completed {
            Ok(_) => Ok(()),
            Err(error @ StoreError::Exists { .. }) => Err(error),
            // The store may have completed the upload and then answered in a way that could not
            // be read (or a retry found the upload already completed): the object is ours when
            // its ETag is the one our parts make.
            Err(error) => match self.etag_of(key).await {
                Some(etag) if expected_etag.as_ref() == Some(&etag) => Ok(()),
                _ => Err(error),
            },
        }
    }

    /// The `ETag` of the object `key`, if it can be read.
    async fn etag_of(&self, key: &str) -> Option<String> {
        self.head(key).await.ok()?.e_tag().map(str::to_string)
    }

    fn joined(
        &self,
        key: &str,
        done: Result<Result<CompletedPart, StoreError>, tokio::task::JoinError>,
    ) -> Result<CompletedPart, StoreError> {
        done.map_err(|error| {
            StoreError::Permanent(format!("Couldn't write {}: {error}", self.url_of(key)))
        })?
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        chunk: Bytes,
    ) -> Result<CompletedPart, StoreError> {
        let output = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(chunk))
            .send()
            .await
            .map_err(|error| self.error("write", key, &error))?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(output.e_tag().map(str::to_string))
            .build())
    }

    pub(crate) async fn download(
        &self,
        key: &str,
        size: u64,
        delivery: &mut Delivery,
    ) -> Result<(), StoreError> {
        let range_size = RANGE_SIZE as u64;
        let mut ranges = (0..size.div_ceil(range_size)).map(|index| {
            let start = index * range_size;
            (start, (start + range_size).min(size))
        });
        // Up to RANGES_IN_FLIGHT ranges are fetched at once. The first one's pieces are handed
        // on as they arrive; the others wait, each at most one range, until it is their turn.
        let mut in_flight = InFlight(VecDeque::new());
        loop {
            while in_flight.0.len() < RANGES_IN_FLIGHT {
                let Some((start, end)) = ranges.next() else {
                    break;
                };
                let (store, key) = (self.clone(), key.to_string());
                let (sender, pieces) = mpsc::unbounded_channel();
                let task =
                    tokio::spawn(async move { store.fetch_range(&key, start, end, sender).await });
                in_flight.0.push_back((pieces, task));
            }
            // The first range stays in `in_flight` until it is done, so that whatever ends the
            // download early (the receiver gone, an error, the future dropped) aborts it too.
            let Some((pieces, _)) = in_flight.0.front_mut() else {
                return Ok(());
            };
            while let Some(piece) = pieces.recv().await {
                let mut batch = vec![piece];
                while let Ok(piece) = pieces.try_recv() {
                    batch.push(piece);
                }
                if !delivery.send(batch).await {
                    return Ok(());
                }
            }
            let Some((_, task)) = in_flight.0.pop_front() else {
                return Ok(());
            };
            task.await.map_err(|error| {
                StoreError::Permanent(format!("Couldn't read {}: {error}", self.url_of(key)))
            })??;
        }
    }

    /// Fetches bytes `start..end` into `out` (as the pieces the body came in, without copying
    /// them), resuming from where a broken body stopped. Stops early when `out` is closed.
    async fn fetch_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
        out: mpsc::UnboundedSender<Bytes>,
    ) -> Result<(), StoreError> {
        let mut received: u64 = 0;
        let mut attempt = 0;
        loop {
            let from = start + received;
            if from >= end {
                return Ok(());
            }
            let result = async {
                let mut output = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(self.full_key(key))
                    .range(format!("bytes={from}-{}", end - 1))
                    .send()
                    .await
                    .map_err(|error| self.error("read", key, &error))?;
                while let Some(piece) = output.body.try_next().await.map_err(|error| {
                    StoreError::Transient(format!(
                        "Couldn't read {}: the transfer broke off ({})",
                        self.url_of(key),
                        causes(&error)
                    ))
                })? {
                    received += piece.len() as u64;
                    if start + received > end {
                        return Err(StoreError::Permanent(format!(
                            "Couldn't read {}: the store sent more bytes than the range asked \
                             for. Use a store that supports ranged GETs (HTTP Range).",
                            self.url_of(key)
                        )));
                    }
                    if out.send(piece).is_err() {
                        // Nobody is reading any more.
                        return Ok(());
                    }
                }
                Ok::<(), StoreError>(())
            }
            .await;
            match result {
                Ok(()) if start + received >= end || out.is_closed() => return Ok(()),
                Ok(()) => {
                    if attempt + 1 >= RANGE_ATTEMPTS {
                        return Err(StoreError::Transient(format!(
                            "Couldn't read {}: the object is shorter than expected",
                            self.url_of(key)
                        )));
                    }
                }
                Err(StoreError::Transient(_)) if attempt + 1 < RANGE_ATTEMPTS => {}
                Err(StoreError::Transient(message)) => {
                    return Err(StoreError::Transient(format!(
                        "{message}, {RANGE_ATTEMPTS} times in a row. Try again later."
                    )));
                }
                Err(error) => return Err(error),
            }
            attempt += 1;
            tokio::time::sleep(crate::backoff(attempt)).await;
        }
    }
}
