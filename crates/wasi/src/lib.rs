//! WASI preview1 (work in progress).
