//! The S3 store, for AWS S3 and S3-compatible stores (`MinIO`, R2, Ceph, ...).
//!
//! Checksums are sent only when an operation requires them (some S3-compatible stores reject
//! the SDK's default ones); the SDK retries transient faults (timeouts, resets, 5xx, throttling)
//! with exponential backoff and jitter; ranged GETs resume where a broken body stopped.

mod errors;
mod transfer;

use super::{Connection, ObjectInfo, StoreError, Unavailability, Write};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use std::time::Duration;

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
    /// A client for `bucket` (keys under `prefix`) in `region` (the URL's, else as
    /// [`Connection::resolve_region`] says), at the connection's endpoint if it has one.
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
        let region = connection.resolve_region(region).await;
        // The region is given, so loading runs no region chain (and never asks IMDS); the
        // credential chain is only consulted, lazily, when no static credentials are set.
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
        let (config, endpoint) = client_config(&loader.load().await, bucket, &region, connection);
        S3Store {
            client: Client::from_conf(config),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint,
            static_credentials: connection.credentials.is_some(),
        }
    }

    /// The client's region, for tests that check how it was built.
    #[cfg(test)]
    pub(crate) fn client_region(&self) -> Option<String> {
        self.client.config().region().map(ToString::to_string)
    }

    /// The URL (without query) a GET of `key` goes to and the region it is signed for, for
    /// tests that check how the client was built; the request is stopped before it is sent.
    #[cfg(test)]
    pub(crate) async fn request_of_get(&self, key: &str) -> (String, String) {
        tests::request_of_get(&self.client, &self.bucket, &self.full_key(key)).await
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

    pub(crate) async fn preflight(&self, key: &str) -> Result<(), StoreError> {
        // Reading `latest.json` proves the bucket exists and the credentials are valid; a missing
        // object is fine, and so is a 403 (S3's answer for a missing key to credentials that may
        // read but not list).
        match self.get_small(crate::manifest::LATEST_KEY).await {
            Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Denied { .. }) => {}
            Err(error) => return Err(error),
        }
        // Starting (and aborting) a multipart upload proves the write permission, leaves no
        // object, and needs no permission to list.
        let upload_id = self.start_multipart(key).await?;
        self.abort_multipart(key, &upload_id).await;
        Ok(())
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
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| StoreError::Unavailable {
                target: format!("read {}", self.url_of(key)),
                reason: Unavailability::Body {
                    reason: error.to_string(),
                },
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
                        modified_ms: object
                            .last_modified()
                            .and_then(|time| time.to_millis().ok())
                            .and_then(|millis| u64::try_from(millis).ok()),
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
}

/// The client's configuration from the SDK's, and how messages name the store.
///
/// The endpoint is exactly the connection's (`STATIC_ARTIFACTS_ENDPOINT`, else
/// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, as the settings chose), or none: the SDK has
/// read those variables, and a profile's `endpoint_url` or `[services]` section, on its own, and
/// would use them without path-style addressing.
fn client_config(
    sdk_config: &SdkConfig,
    bucket: &str,
    region: &str,
    connection: &Connection,
) -> (aws_sdk_s3::Config, String) {
    let mut config = aws_sdk_s3::config::Builder::from(sdk_config)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    config.set_endpoint_url(connection.endpoint.clone());
    let endpoint = if let Some(endpoint) = connection.endpoint.as_deref() {
        config = config.force_path_style(true);
        endpoint.to_string()
    } else {
        // Virtual-hosted names of dotted buckets do not match AWS's TLS certificates.
        config = config.force_path_style(bucket.contains('.'));
        format!("AWS S3 in {region}")
    };
    (config.build(), endpoint)
}

#[cfg(test)]
mod tests;
