use super::*;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents, SharedCredentialsProvider};
use aws_sdk_s3::error::BoxError;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use std::sync::{Arc, Mutex};

/// Keeps the URL and `Authorization` header of a request, and stops it before it is sent.
#[derive(Clone, Debug, Default)]
struct Capture(Arc<Mutex<Option<(String, String)>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "Capture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        *self.0.lock().unwrap() = Some((
            request.uri().to_string(),
            request
                .headers()
                .get("authorization")
                .unwrap_or_default()
                .to_string(),
        ));
        Err("captured, not sent".into())
    }
}

/// The URL (without query) of a GET of `key` in `bucket` with `client`, and the region it is
/// signed for.
pub(super) async fn request_of_get(client: &Client, bucket: &str, key: &str) -> (String, String) {
    let capture = Capture::default();
    let sent = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .customize()
        .interceptor(capture.clone())
        .send()
        .await;
    assert!(sent.is_err(), "the request was stopped");
    let (url, authorization) = capture.0.lock().unwrap().take().unwrap();
    let signed_for = authorization
        .split_once("Credential=")
        .and_then(|(_, credential)| credential.split('/').nth(2))
        .unwrap_or_default()
        .to_string();
    let url = url.split('?').next().unwrap_or_default().to_string();
    (url, signed_for)
}

/// What the SDK reads itself for S3: `AWS_ENDPOINT_URL_S3` (or a profile's `[services]`).
#[derive(Debug)]
struct S3EndpointOfTheSdk;

impl LoadServiceConfig for S3EndpointOfTheSdk {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.service_id() == "S3" && key.env() == "AWS_ENDPOINT_URL")
            .then(|| "http://sdk-s3.invalid:2".to_string())
    }
}

/// An SDK configuration as `aws_config` loads it when `AWS_ENDPOINT_URL` and
/// `AWS_ENDPOINT_URL_S3` are set in the process (or `endpoint_url` in the profile).
fn sdk_config_with_its_own_endpoints() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url("http://sdk-global.invalid:1")
        .service_config(S3EndpointOfTheSdk)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIAEXAMPLE",
            "secret",
            None,
            None,
            "test",
        )))
        .build()
}

async fn request_with(connection: &Connection, bucket: &str) -> (String, String, String) {
    let (config, endpoint) = client_config(
        &sdk_config_with_its_own_endpoints(),
        bucket,
        "eu-west-1",
        connection,
    );
    let store = S3Store {
        client: Client::from_conf(config),
        bucket: bucket.to_string(),
        prefix: "app".to_string(),
        endpoint,
        static_credentials: false,
    };
    let (url, signed_for) = store.request_of_get("latest.json").await;
    (url, signed_for, store.describe())
}

#[tokio::test]
async fn without_an_endpoint_setting_the_sdks_own_endpoints_are_not_used() {
    assert_eq!(
        request_with(&Connection::default(), "assets").await,
        (
            "https://assets.s3.eu-west-1.amazonaws.com/app/latest.json".to_string(),
            "eu-west-1".to_string(),
            "s3://assets/app (AWS S3 in eu-west-1)".to_string(),
        )
    );
    // A dotted bucket, path-style on AWS.
    assert_eq!(
        request_with(&Connection::default(), "my.assets").await.0,
        "https://s3.eu-west-1.amazonaws.com/my.assets/app/latest.json"
    );
}

#[tokio::test]
async fn the_endpoint_setting_is_the_clients_endpoint_path_style() {
    let connection = Connection {
        endpoint: Some("http://127.0.0.1:9000".to_string()),
        ..Connection::default()
    };
    assert_eq!(
        request_with(&connection, "assets").await,
        (
            "http://127.0.0.1:9000/assets/app/latest.json".to_string(),
            "eu-west-1".to_string(),
            "s3://assets/app (http://127.0.0.1:9000)".to_string(),
        )
    );
}
