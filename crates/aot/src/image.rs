//! Memory images mapped from an `.aot` file: an instance's memory 0 gets the file's
//! image pages copy-on-write (`MAP_PRIVATE`), so instantiating copies no data and pages
//! the program never touches are never read.
#![allow(unsafe_code)]

use rwamr_core::{Error, ImageSource, Result};

/// The image region of an open `.aot` file.
pub struct FileImage {
    file: std::fs::File,
    /// Where the image starts in the file (a multiple of the page size).
    offset: u64,
}

impl FileImage {
    pub fn new(file: std::fs::File, offset: u64) -> FileImage {
        FileImage { file, offset }
    }
}

// SAFETY: `map_at` maps the image's bytes private and writable over exactly the range
// asked for, or fails without changing it (a failed `MAP_FIXED` mmap leaves the old
// mapping).
unsafe impl ImageSource for FileImage {
    unsafe fn map_at(&self, at: *mut u8, len: usize) -> Result<()> {
        use rustix::mm::{mmap, MapFlags, ProtFlags};
        // SAFETY: the caller gives up `at..at + len` (page aligned, its own mapping);
        // the file is the loader's, which its caller vouched stays as it is.
        let mapped = unsafe {
            mmap(
                at.cast(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::FIXED,
                &self.file,
                self.offset,
            )
        };
        mapped
            .map(|_| ())
            .map_err(|e| Error::resource(format!("cannot map a memory image: {e}")))
    }
}
