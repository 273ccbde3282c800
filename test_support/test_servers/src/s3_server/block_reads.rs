//! s3s-fs with GET bodies read in 1 MiB blocks.
//!
//! s3s-fs streams every GET body in 4 KiB reads, each a trip through tokio's blocking pool, which
//! makes the server, not the client, the bottleneck of any download test or benchmark on
//! loopback. This wrapper answers `GetObject` as s3s-fs does (headers, ranges, errors) but reads
//! the body itself, in 1 MiB blocks on a thread of its own; every other operation goes to s3s-fs
//! unchanged.

use bytes::Bytes;
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CreateBucketInput, CreateBucketOutput,
    CreateMultipartUploadInput, CreateMultipartUploadOutput, DeleteObjectInput, DeleteObjectOutput,
    DeleteObjectsInput, DeleteObjectsOutput, GetObjectInput, GetObjectOutput, HeadBucketInput,
    HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListObjectsInput, ListObjectsOutput,
    ListObjectsV2Input, ListObjectsV2Output, PutObjectInput, PutObjectOutput, StreamingBlob,
    UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const BLOCK: u64 = 1 << 20;

/// s3s-fs over `root`, reading GET bodies in 1 MiB blocks.
pub(super) struct BlockReads {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
    /// While set, GETs answer the whole object whatever range they ask for, as a store
    /// without range support would.
    ignore_ranges: Arc<AtomicBool>,
    /// Held by each write that completes an object: s3s-fs checks `If-None-Match: *` and then
    /// writes, so two writers could both pass the check; S3 makes the check and the write one
    /// step, and so does this.
    completing: tokio::sync::Mutex<()>,
}

impl BlockReads {
    pub(super) fn new(
        inner: s3s_fs::FileSystem,
        root: PathBuf,
        ignore_ranges: Arc<AtomicBool>,
    ) -> Self {
        BlockReads {
            inner,
            root,
            ignore_ranges,
            completing: tokio::sync::Mutex::new(()),
        }
    }
}

/// The first byte of a `Content-Range` such as `bytes 0-99/1000`.
fn range_start(content_range: &str) -> Option<u64> {
    content_range
        .strip_prefix("bytes ")?
        .split_once('-')?
        .0
        .parse()
        .ok()
}

/// `length` bytes of `path` from `start`, read on a thread of its own.
fn read_blocks(path: PathBuf, start: u64, length: u64) -> StreamingBlob {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    std::thread::spawn(move || {
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(error) => {
                let _ = sender.blocking_send(Err(error));
                return;
            }
        };
        let mut offset = start;
        let end = start + length;
        while offset < end {
            let size = usize::try_from(BLOCK.min(end - offset)).unwrap_or(1 << 20);
            let mut block = vec![0; size];
            let read = file
                .read_exact_at(&mut block, offset)
                .map(|()| Bytes::from(block));
            let failed = read.is_err();
            if sender.blocking_send(read).is_err() || failed {
                return;
            }
            offset += size as u64;
        }
    });
    StreamingBlob::wrap(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) },
    ))
}

#[async_trait::async_trait]
impl S3 for BlockReads {
    async fn get_object(
        &self,
        mut req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if self.ignore_ranges.load(Ordering::Relaxed) {
            req.input.range = None;
        }
        let path = self.root.join(&req.input.bucket).join(&req.input.key);
        let mut response = self.inner.get_object(req).await?;
        let output = &mut response.output;
        let start = output
            .content_range
            .as_deref()
            .and_then(range_start)
            .unwrap_or(0);
        let length = output
            .content_length
            .and_then(|length| u64::try_from(length).ok())
            .unwrap_or(0);
        output.body = Some(read_blocks(path, start, length));
        Ok(response)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.inner.head_object(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let _completing = self.completing.lock().await;
        self.inner.put_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.inner.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.inner.delete_objects(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.inner.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.inner.list_objects_v2(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.inner.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.inner.upload_part(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let _completing = self.completing.lock().await;
        self.inner.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.inner.abort_multipart_upload(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::range_start;

    #[test]
    fn range_start_reads_the_first_byte() {
        assert_eq!(
            range_start("bytes 4194304-8388607/134217728"),
            Some(4_194_304)
        );
        assert_eq!(range_start("bytes */100"), None);
    }
}
