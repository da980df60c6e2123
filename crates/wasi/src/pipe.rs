//! An in-memory output stream for a program's stdout or stderr, which the embedder
//! reads after (or during) the run.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// Bytes a program writes, kept in memory up to a capacity: a write past it fails (the
/// program sees `fd_write` fail with an I/O error), so a guest cannot make the host
/// allocate without bound. Clones share the bytes: give one to
/// [`crate::WasiConfig::stdout`] and keep one to read.
#[derive(Clone, Debug)]
pub struct OutputPipe {
    bytes: Arc<Mutex<Vec<u8>>>,
    capacity: usize,
}

impl OutputPipe {
    /// A pipe that keeps at most `capacity` bytes.
    pub fn new(capacity: usize) -> OutputPipe {
        OutputPipe {
            bytes: Arc::default(),
            capacity,
        }
    }

    /// What was written so far.
    pub fn contents(&self) -> Vec<u8> {
        crate::fd::lock(&self.bytes).clone()
    }

    /// What was written so far, as text (invalid UTF-8 replaced).
    pub fn contents_string(&self) -> String {
        String::from_utf8_lossy(&crate::fd::lock(&self.bytes)).into_owned()
    }
}

impl Write for OutputPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = crate::fd::lock(&self.bytes);
        let room = self.capacity - bytes.len();
        if room == 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "output pipe is full",
            ));
        }
        let n = buf.len().min(room);
        bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_stop_at_the_capacity() {
        let pipe = OutputPipe::new(5);
        let mut w = pipe.clone();
        assert_eq!(w.write(b"abc").unwrap(), 3);
        assert_eq!(w.write(b"defg").unwrap(), 2);
        assert!(w.write(b"h").is_err());
        assert_eq!(pipe.contents(), b"abcde");
        assert_eq!(pipe.contents_string(), "abcde");
    }
}
