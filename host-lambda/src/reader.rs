//! Opening an object as a buffered byte stream: S3 (streamed, never loaded whole) or a local file,
//! gzip detected by its magic byte and decompressed on the fly.

use std::path::Path;

use async_compression::tokio::bufread::GzipDecoder;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

/// Read buffer size: large enough for few syscalls, small enough to keep memory flat.
pub const READ_BUFFER_BYTES: usize = 256 * 1024;

/// A boxed, buffered, possibly decompressing stream.
pub type Input = Box<dyn AsyncBufRead + Unpin + Send>;

/// Wraps `raw` in a gzip decoder when its first byte is gzip's 0x1f (never the first byte of JSON).
/// Concatenated gzip members are read as one stream.
pub async fn decode<R>(mut raw: R) -> std::io::Result<Input>
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    let first = raw.fill_buf().await?.first().copied();
    if first == Some(0x1f) {
        let mut d = GzipDecoder::new(raw);
        d.multiple_members(true);
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, d)))
    } else {
        Ok(Box::new(raw))
    }
}

/// Opens a local file.
pub async fn open_file(path: &Path) -> std::io::Result<Input> {
    let f = tokio::fs::File::open(path).await?;
    decode(BufReader::with_capacity(READ_BUFFER_BYTES, f)).await
}

/// Why an S3 object could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The object does not exist (any more).
    Missing,
    /// Anything else (network, permissions), worth a retry.
    Other(String),
}

/// Opens an S3 object as a stream.
pub async fn open_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Input, OpenError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                OpenError::Missing
            } else {
                OpenError::Other(format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
            }
        })?;
    let stream = out.body.into_async_read();
    decode(BufReader::with_capacity(READ_BUFFER_BYTES, stream))
        .await
        .map_err(|e| OpenError::Other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn gzip_is_detected_plain_passes_through() {
        let plain = b"{\"a\":1}\n{\"b\":2}\n".repeat(1000);
        let mut gz = Vec::new();
        // Two members, as when gzip files are concatenated.
        for half in plain.chunks(plain.len() / 2) {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(half).unwrap();
            gz.extend(e.finish().unwrap());
        }
        for input in [plain.clone(), gz] {
            let mut r = decode(std::io::Cursor::new(input)).await.unwrap();
            let mut out = Vec::new();
            r.read_to_end(&mut out).await.unwrap();
            assert_eq!(out, plain);
        }
    }

    #[tokio::test]
    async fn corrupt_gzip_is_invalid_data() {
        let mut r = decode(std::io::Cursor::new(b"\x1f\x8b\x08garbage".to_vec()))
            .await
            .unwrap();
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).await.unwrap_err();
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::Other
            ),
            "{e:?}"
        );
    }
}
