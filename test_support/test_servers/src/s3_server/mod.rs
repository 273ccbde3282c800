//! S3-compatible servers for tests: s3s-fs in this process on loopback, and moto when CI
//! started one (see `.ci/run`).

mod block_reads;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The access key id the in-process server accepts.
pub const ACCESS_KEY_ID: &str = "AKIATESTRELEASEPHASE";
/// The secret key the in-process server accepts.
pub const SECRET_ACCESS_KEY: &str = "test-secret-release-phase-0123456789";

/// An S3-compatible server on loopback (s3s-fs, in this process, with GET bodies read in 1 MiB
/// blocks), serving the folders of a temporary root as buckets. Stops when dropped.
pub struct S3Server {
    endpoint: String,
    root: tempfile::TempDir,
    ignore_ranges: Arc<AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    /// Starts a server with one bucket, `artifacts`.
    ///
    /// # Errors
    ///
    /// Returns an error when the port or the root folder cannot be set up.
    pub fn start() -> std::io::Result<Self> {
        let root = tempfile::tempdir()?;
        std::fs::create_dir(root.path().join("artifacts"))?;
        let ignore_ranges = Arc::new(AtomicBool::new(false));
        let filesystem = s3s_fs::FileSystem::new(root.path())
            .map_err(|error| std::io::Error::other(format!("{error:?}")))?;
        let service = {
            let mut builder = s3s::service::S3ServiceBuilder::new(block_reads::BlockReads::new(
                filesystem,
                root.path().to_path_buf(),
                Arc::clone(&ignore_ranges),
            ));
            builder.set_auth(s3s::auth::SimpleAuth::from_single(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
            ));
            builder.build()
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("s3-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let http = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    loop {
                        let socket = tokio::select! {
                            accepted = listener.accept() => match accepted {
                                Ok((socket, _)) => socket,
                                Err(_) => continue,
                            },
                            _ = &mut stop => break,
                        };
                        let connection = http
                            .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                            .into_owned();
                        tokio::spawn(async move {
                            let _ = connection.await;
                        });
                    }
                });
            })?;
        Ok(S3Server {
            endpoint,
            root,
            ignore_ranges,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The endpoint URL, such as `http://127.0.0.1:41234`.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// While `on`, GETs answer the whole object whatever range they ask for, as a store
    /// without range support would.
    pub fn set_ignoring_ranges(&self, on: bool) {
        self.ignore_ranges.store(on, Ordering::Relaxed);
    }

    /// The folder holding bucket `name`'s objects.
    #[must_use]
    pub fn bucket_dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An S3-compatible store for a test: its settings as environment variables.
#[derive(Clone, Debug)]
pub struct S3Target {
    /// A name for messages: `s3s-fs` or `moto`.
    pub name: &'static str,
    /// The endpoint URL.
    pub endpoint: String,
    /// An existing bucket.
    pub bucket: String,
    /// Valid credentials.
    pub access_key_id: String,
    /// Valid credentials.
    pub secret_access_key: String,
}

impl S3Target {
    /// The target of an in-process server.
    #[must_use]
    pub fn of(server: &S3Server) -> Self {
        S3Target {
            name: "s3s-fs",
            endpoint: server.endpoint().to_string(),
            bucket: "artifacts".into(),
            access_key_id: ACCESS_KEY_ID.into(),
            secret_access_key: SECRET_ACCESS_KEY.into(),
        }
    }

    /// The moto server that CI started (`MOTO_S3_ENDPOINT`, `MOTO_ACCESS_KEY_ID`,
    /// `MOTO_SECRET_ACCESS_KEY`, `MOTO_BUCKET`), if any.
    ///
    /// # Panics
    ///
    /// Panics when `CI` is set but moto is not configured: CI must never skip it silently.
    #[must_use]
    pub fn moto() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let found = (|| {
            Some(S3Target {
                name: "moto",
                endpoint: var("MOTO_S3_ENDPOINT")?,
                bucket: var("MOTO_BUCKET")?,
                access_key_id: var("MOTO_ACCESS_KEY_ID")?,
                secret_access_key: var("MOTO_SECRET_ACCESS_KEY")?,
            })
        })();
        assert!(
            found.is_some() || var("CI").is_none(),
            "CI is set but no moto server is configured (MOTO_S3_ENDPOINT, MOTO_BUCKET, MOTO_ACCESS_KEY_ID, MOTO_SECRET_ACCESS_KEY): .ci/run starts one"
        );
        found
    }

    /// The settings of this store with key prefix `prefix`, as environment variables.
    #[must_use]
    pub fn env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                "STATIC_ARTIFACTS_URL".into(),
                format!("s3://{}/{prefix}", self.bucket),
            ),
            ("STATIC_ARTIFACTS_ENDPOINT".into(), self.endpoint.clone()),
            (
                "STATIC_ARTIFACTS_ACCESS_KEY_ID".into(),
                self.access_key_id.clone(),
            ),
            (
                "STATIC_ARTIFACTS_SECRET_ACCESS_KEY".into(),
                self.secret_access_key.clone(),
            ),
        ]
    }
}

/// A prefix no other test uses.
#[must_use]
pub fn unique_prefix(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
