//! Arrow IPC streams as an iterator of batches, with memory bounded by the input.
//!
//! `arrow_ipc::reader::StreamReader` allocates each message's declared length up front, so a
//! damaged length prefix makes it allocate (and zero) gigabytes before failing. The push-based
//! `StreamDecoder` only buffers bytes that actually arrived; this adapter feeds it.

use std::io::Read;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_schema::ArrowError;

/// Batches decoded from an IPC stream read in chunks.
pub(crate) struct IpcStreamBatches<R: Read> {
    reader: R,
    decoder: StreamDecoder,
    pending: Buffer,
    done: bool,
}

impl<R: Read> IpcStreamBatches<R> {
    pub fn new(reader: R) -> Self {
        IpcStreamBatches {
            reader,
            decoder: StreamDecoder::new(),
            pending: Buffer::from_vec(Vec::<u8>::new()),
            done: false,
        }
    }
}

impl<R: Read> Iterator for IpcStreamBatches<R> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        const CHUNK: usize = 1 << 20;
        while !self.done {
            if self.pending.is_empty() {
                let mut chunk = vec![0u8; CHUNK];
                let n = match self.reader.read(&mut chunk) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(ArrowError::IoError(e.to_string(), e)));
                    }
                };
                if n == 0 {
                    self.done = true;
                    return self.decoder.finish().err().map(Err);
                }
                chunk.truncate(n);
                self.pending = Buffer::from_vec(chunk);
            }
            match self.decoder.decode(&mut self.pending) {
                Ok(Some(batch)) => return Some(Ok(batch)),
                Ok(None) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
