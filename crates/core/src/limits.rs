//! Bounding what a guest costs the host: limits fixed in the engine's configuration
//! ([`ResourceLimits`]) and a callback for hosts that decide per request
//! ([`ResourceLimiter`], as wasmtime's). One rule for every tier: each linear memory and
//! table that wasm makes (at instantiation, and every grow) asks the engine's
//! [`ResourceAccount`] first, and so does each instantiation. A refused instantiation is
//! an error and changes nothing; a refused grow returns -1, as wasm allows. Memories and
//! tables the host makes itself (`Memory::new`) are the host's to bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Limits on what wasm may make the host allocate; `None`: no limit beyond wasm's own.
/// The default limits nothing but what no real program comes near and a hostile one
/// uses to take the host down: [`DEFAULT_TABLES_PER_MODULE`] tables a module defines and
/// [`DEFAULT_THREADS`] live threads a program has.
#[derive(Debug, Clone)]
pub struct ResourceLimits {
    /// Bytes one linear memory may have (its initial size and every grow).
    pub memory_bytes: Option<usize>,
    /// Bytes all linear memories of the engine's instances may have together.
    pub total_memory_bytes: Option<usize>,
    /// Elements one table may have.
    pub table_elements: Option<u32>,
    /// Instances of wasm modules alive in the engine at once.
    pub instances: Option<usize>,
    /// Tables a module may define (its imported tables are not its own).
    pub tables_per_module: Option<u32>,
    /// Memories a module may define.
    pub memories_per_module: Option<u32>,
    /// Threads one program (wasi-threads) may have alive at once, its first included: a
    /// `thread-spawn` past it fails (the guest gets EAGAIN). Each is a host thread with
    /// its own stack: a program that spawns without end must not take the host down.
    pub threads: Option<u32>,
}

/// The tables a module may define by default (wasmparser admits 100,000; a program has
/// a handful).
pub const DEFAULT_TABLES_PER_MODULE: u32 = 1000;

/// The threads a program may have alive at once by default.
pub const DEFAULT_THREADS: u32 = 1024;

impl Default for ResourceLimits {
    fn default() -> ResourceLimits {
        ResourceLimits {
            memory_bytes: None,
            total_memory_bytes: None,
            table_elements: None,
            instances: None,
            tables_per_module: Some(DEFAULT_TABLES_PER_MODULE),
            memories_per_module: None,
            threads: Some(DEFAULT_THREADS),
        }
    }
}

impl ResourceLimits {
    /// No limits at all (not even the defaults').
    pub fn unlimited() -> ResourceLimits {
        ResourceLimits {
            tables_per_module: None,
            threads: None,
            ..ResourceLimits::default()
        }
    }

    /// The live threads a program may have ([`ResourceLimits::threads`]).
    pub fn threads(&self) -> u32 {
        self.threads.unwrap_or(u32::MAX)
    }
}

/// Decides, per request, whether a memory or table may grow (a new one counts as growing
/// from 0 to its initial size). Called after [`ResourceLimits`] allowed it; `false`
/// refuses. Called from whichever thread runs the wasm that grows, so it must be cheap
/// and must not call into wasm.
pub trait ResourceLimiter: Send + Sync {
    /// A linear memory of `current` bytes would have `desired` (its maximum: `maximum`).
    fn memory_growing(&self, current: usize, desired: usize, maximum: Option<usize>) -> bool;
    /// A table of `current` elements would have `desired` (its maximum: `maximum`).
    fn table_growing(&self, current: u32, desired: u32, maximum: Option<u32>) -> bool;
}

/// An engine's limits, its limiter, and what its instances hold now.
#[derive(Default)]
pub struct ResourceAccount {
    limits: ResourceLimits,
    limiter: Option<Arc<dyn ResourceLimiter>>,
    memory_bytes: AtomicUsize,
    instances: AtomicUsize,
}

impl std::fmt::Debug for ResourceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceAccount")
            .field("limits", &self.limits)
            .field("memory_bytes", &self.memory_bytes)
            .field("instances", &self.instances)
            .finish()
    }
}

/// Why a request was refused, for the error of an instantiation.
pub type Refusal = String;

impl ResourceAccount {
    pub fn new(limits: ResourceLimits, limiter: Option<Arc<dyn ResourceLimiter>>) -> Self {
        ResourceAccount {
            limits,
            limiter,
            ..Default::default()
        }
    }

    pub fn limits(&self) -> &ResourceLimits {
        &self.limits
    }

    /// Linear memory bytes the engine's instances hold now.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes.load(Ordering::Relaxed)
    }

    /// Asks to grow a memory from `current` to `desired` bytes; when allowed, the bytes
    /// are counted until [`ResourceAccount::memory_released`].
    pub fn memory_growing(
        &self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<(), Refusal> {
        if let Some(limit) = self.limits.memory_bytes.filter(|l| desired > *l) {
            return Err(format!(
                "a linear memory of {desired} bytes is over the limit of {limit} bytes per memory"
            ));
        }
        let more = desired.saturating_sub(current);
        let before = self.memory_bytes.fetch_add(more, Ordering::Relaxed);
        if let Some(limit) = self.limits.total_memory_bytes {
            if before.saturating_add(more) > limit {
                self.memory_bytes.fetch_sub(more, Ordering::Relaxed);
                return Err(format!(
                    "{more} more bytes of linear memory would make {} in the engine, over \
                     its limit of {limit} bytes",
                    before.saturating_add(more)
                ));
            }
        }
        if let Some(limiter) = &self.limiter {
            if !limiter.memory_growing(current, desired, maximum) {
                self.memory_bytes.fetch_sub(more, Ordering::Relaxed);
                return Err(format!(
                    "the host's resource limiter refused a linear memory of {desired} bytes"
                ));
            }
        }
        Ok(())
    }

    /// A memory that held `bytes` is gone.
    pub fn memory_released(&self, bytes: usize) {
        self.memory_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Asks to grow a table from `current` to `desired` elements.
    pub fn table_growing(
        &self,
        current: u32,
        desired: u32,
        maximum: Option<u32>,
    ) -> Result<(), Refusal> {
        if let Some(limit) = self.limits.table_elements.filter(|l| desired > *l) {
            return Err(format!(
                "a table of {desired} elements is over the limit of {limit} elements per table"
            ));
        }
        if let Some(limiter) = &self.limiter {
            if !limiter.table_growing(current, desired, maximum) {
                return Err(format!(
                    "the host's resource limiter refused a table of {desired} elements"
                ));
            }
        }
        Ok(())
    }

    /// Asks to instantiate a module defining `tables` tables and `memories` memories;
    /// when allowed, the instance counts as long as the returned value lives.
    pub fn instance_creating(
        self: &Arc<Self>,
        tables: u32,
        memories: u32,
    ) -> Result<CountedInstance, Refusal> {
        if let Some(limit) = self.limits.tables_per_module.filter(|l| tables > *l) {
            return Err(format!(
                "the module defines {tables} tables, over the limit of {limit} per module"
            ));
        }
        if let Some(limit) = self.limits.memories_per_module.filter(|l| memories > *l) {
            return Err(format!(
                "the module defines {memories} memories, over the limit of {limit} per module"
            ));
        }
        let before = self.instances.fetch_add(1, Ordering::Relaxed);
        if let Some(limit) = self.limits.instances.filter(|l| before >= *l) {
            self.instances.fetch_sub(1, Ordering::Relaxed);
            return Err(format!(
                "the engine already has {before} instances, its limit is {limit}"
            ));
        }
        Ok(CountedInstance(self.clone()))
    }
}

/// An instance counted in its engine's account, until this value drops.
#[derive(Debug)]
pub struct CountedInstance(Arc<ResourceAccount>);

impl Drop for CountedInstance {
    fn drop(&mut self) {
        self.0.instances.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A [`ResourceLimiter`] in an engine's configuration.
#[derive(Clone)]
pub struct Limiter(pub Arc<dyn ResourceLimiter>);

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct EvenOnly;
    impl ResourceLimiter for EvenOnly {
        fn memory_growing(&self, _: usize, desired: usize, _: Option<usize>) -> bool {
            desired.is_multiple_of(2)
        }
        fn table_growing(&self, _: u32, desired: u32, _: Option<u32>) -> bool {
            desired.is_multiple_of(2)
        }
    }

    #[test]
    fn refusals_leave_the_totals_as_they_were() {
        let a = Arc::new(ResourceAccount::new(
            ResourceLimits {
                memory_bytes: Some(100),
                total_memory_bytes: Some(150),
                instances: Some(1),
                ..Default::default()
            },
            Some(Arc::new(EvenOnly)),
        ));
        assert!(a.memory_growing(0, 101, None).is_err());
        a.memory_growing(0, 100, None).unwrap();
        assert!(a.memory_growing(0, 60, None).is_err(), "total");
        assert!(a.memory_growing(0, 41, None).is_err(), "limiter");
        assert_eq!(a.memory_bytes(), 100);
        a.memory_growing(0, 50, None).unwrap();
        a.memory_released(150);
        assert_eq!(a.memory_bytes(), 0);
        assert!(a.table_growing(0, 3, None).is_err());
        let one = a.instance_creating(1, 1).unwrap();
        assert!(a.instance_creating(0, 0).is_err());
        drop(one);
        a.instance_creating(0, 0).unwrap();
    }
}
