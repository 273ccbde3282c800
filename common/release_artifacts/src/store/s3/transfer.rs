//! Large objects: multipart uploads (parts in parallel, completed only when confirmed, settled
//! by `ETag` when the answer is lost) and ranged downloads (in parallel, resumed where a body
//! broke).

use super::S3Store;
use super::errors::causes;
use crate::store::{
    CONCURRENCY, Confirm, Delivery, RANGE_SIZE, RANGES_IN_FLIGHT, Refusal, StoreError,
    Unavailability, Write, confirmed,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// How often a broken range download is resumed before giving up.
const RANGE_ATTEMPTS: u32 = 6;

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
    let hex = crate::archive::lower_hex(&hasher.finalize());
    Some(format!("\"{hex}-{}\"", parts.len()))
}

impl S3Store {
    pub(super) async fn start_multipart(&self, key: &str) -> Result<String, StoreError> {
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
    pub(super) async fn abort_multipart(&self, key: &str, upload_id: &str) {
        let _ = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .send()
            .await;
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
            let permit =
                Arc::clone(&permits)
                    .acquire_owned()
                    .await
                    .map_err(|_| StoreError::Refused {
                        target: format!("write {}", self.url_of(key)),
                        reason: Refusal::TaskFailed {
                            reason: "the upload was cancelled".into(),
                        },
                    })?;
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
        done.map_err(|error| StoreError::Refused {
            target: format!("write {}", self.url_of(key)),
            reason: Refusal::TaskFailed {
                reason: error.to_string(),
            },
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
            task.await.map_err(|error| StoreError::Refused {
                target: format!("read {}", self.url_of(key)),
                reason: Refusal::TaskFailed {
                    reason: error.to_string(),
                },
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
                while let Some(piece) =
                    output
                        .body
                        .try_next()
                        .await
                        .map_err(|error| StoreError::Unavailable {
                            target: format!("read {}", self.url_of(key)),
                            reason: Unavailability::BrokeOff {
                                causes: causes(&error),
                                times: None,
                            },
                        })?
                {
                    received += piece.len() as u64;
                    if start + received > end {
                        return Err(StoreError::Refused {
                            target: format!("read {}", self.url_of(key)),
                            reason: Refusal::RangeIgnored,
                        });
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
                        return Err(StoreError::Unavailable {
                            target: format!("read {}", self.url_of(key)),
                            reason: Unavailability::Short,
                        });
                    }
                }
                Err(StoreError::Unavailable { .. }) if attempt + 1 < RANGE_ATTEMPTS => {}
                Err(StoreError::Unavailable {
                    target,
                    reason: Unavailability::BrokeOff { causes, .. },
                }) => {
                    return Err(StoreError::Unavailable {
                        target,
                        reason: Unavailability::BrokeOff {
                            causes,
                            times: Some(RANGE_ATTEMPTS),
                        },
                    });
                }
                Err(error) => return Err(error),
            }
            attempt += 1;
            tokio::time::sleep(crate::backoff(attempt)).await;
        }
    }
}
