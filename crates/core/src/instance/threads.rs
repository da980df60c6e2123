//! The instances of one program's threads (wasi-threads): each thread runs an instance
//! of its own, of the same module with the same imports (so the same shared memory),
//! with its own globals, tables and segments. They form a [`ThreadGroup`].
//!
//! **The rule.** Every instance of a group runs the same code for each function: a
//! thread's instance starts with the code its spawner's functions run at that moment
//! (patched or not), and installing code in one instance (`Instance::install_code`, a
//! patch, or `install_code_replacing`, a tier's own install) installs it in every live
//! instance of the group. So a patch reaches every thread, and a thread spawned after it
//! runs the patched code. Installs and spawns meet under the group's lock: a spawn
//! copies its spawner's code and joins the group at once; a patch holds the lock for its
//! whole step, made in every instance of the group at once; a tier's install updates its
//! own instance before it takes the lock. So none misses another.

use super::{Instance, ResolvedImport};
use crate::compile::{CompiledModule, NativeEntry, Prepared};
use crate::error::{Error, Result};
use crate::instance::Extern;
use crate::module::ImportKind;
use crate::slot::{FuncCode, WasmCodeRef};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// The instances of one program's threads (see the module docs).
#[derive(Default)]
pub(crate) struct ThreadGroup {
    members: Mutex<Vec<Weak<Instance>>>,
}

impl ThreadGroup {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Instance>>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live members other than `me`; drops the dead ones.
    pub(crate) fn others(&self, me: &Instance) -> Vec<Arc<Instance>> {
        live_others(&mut self.lock(), me)
    }
}

/// The live members of a group other than `me`, from its locked member list; drops the
/// dead ones.
pub(super) fn live_others(members: &mut Vec<Weak<Instance>>, me: &Instance) -> Vec<Arc<Instance>> {
    members.retain(|w| w.strong_count() > 0);
    members
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|i| !std::ptr::eq(Arc::as_ptr(i), me))
        .collect()
}

impl Instance {
    /// A new instance of this instance's module for another thread of the same program
    /// (see the module docs): the same imports, its own state, the code this instance's
    /// functions run now. Its start function runs, as for any instance (programs built
    /// for threads initialize shared memory once, under a flag of their own).
    pub fn instantiate_thread(&self) -> Result<Arc<Instance>> {
        let module = self.module.clone().ok_or_else(|| {
            Error::registry(format!(
                "`{}` is a host module; only wasm instances have threads",
                self.name
            ))
        })?;
        if self.unloaded.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::registry(format!(
                "`{}` was unloaded; it starts no threads",
                self.name
            )));
        }
        let me = self
            .this
            .upgrade()
            .ok_or_else(|| Error::registry(format!("`{}` is being dropped", self.name)))?;
        let group = self
            .group
            .get_or_init(|| {
                let g = ThreadGroup::default();
                g.lock().push(self.this.clone());
                Arc::new(g)
            })
            .clone();
        let compiled = self.current_code(&module)?;
        let imports = self.imports_again(&module, &me);
        let thread = Instance::instantiate_in_group(
            &self.engine,
            &self.name,
            &compiled,
            imports,
            group.clone(),
        )?;
        // Code installed here since it was read goes to the new instance too: from now
        // on installs find it in the group.
        let mut members = group.lock();
        let guard = crate::slot::pin();
        for (i, slot) in self.slots.iter().enumerate() {
            let now = slot.entry(&guard).settled();
            if now.code_ptr() != compiled_code_ptr(&compiled.code[i]) {
                if let FuncCode::Wasm(_) = &now.code {
                    // The code runs in this instance, of the same module, laid out alike:
                    // the new instance is another instance of the module.
                    let index = module.num_imported_funcs + i as u32;
                    let entry =
                        thread.new_entry(now.sig, now.ty.clone(), index, now.code.clone())?;
                    thread.slots[i].install(entry);
                }
            }
        }
        *thread.lock_bodies() = self.lock_bodies().clone();
        // The threads that ended leave the group (a `Weak` would keep each one's memory).
        members.retain(|w| w.strong_count() > 0);
        members.push(Arc::downgrade(&thread));
        Ok(thread)
    }

    /// The live instances of this one's thread group other than itself.
    pub fn thread_instances(&self) -> Vec<Arc<Instance>> {
        match self.group.get() {
            Some(g) => g.others(self),
            None => Vec::new(),
        }
    }

    /// The code every defined function runs now, as a compiled module.
    fn current_code(&self, module: &Arc<crate::Module>) -> Result<CompiledModule> {
        let guard = crate::slot::pin();
        let mut code = Vec::with_capacity(self.slots.len());
        let mut natives = Vec::with_capacity(self.slots.len());
        for slot in self.slots.iter() {
            // A slot in the middle of an update: what it runs now (the update's lock,
            // taken later, sees to the rest).
            let entry = slot.entry(&guard).settled();
            let FuncCode::Wasm(c) = &entry.code else {
                return Err(Error::registry("a wasm instance runs a host function"));
            };
            natives.push(NativeEntry(
                self.engine.native_entry(&entry.code, &entry.ty)?,
            ));
            code.push(c.clone());
        }
        Ok(CompiledModule {
            module: module.clone(),
            code,
            mode: self.mode,
            prepared: Prepared {
                engine: self.engine.clone(),
                sigs: self.sigs.clone(),
                natives: natives.into_boxed_slice(),
            },
        })
    }

    /// This instance's imports, resolved again to the same items. Each is kept alive by
    /// `me`, which holds them all.
    fn imports_again(&self, module: &crate::Module, me: &Arc<Instance>) -> Vec<ResolvedImport> {
        let (mut f, mut t, mut m, mut g) = (0, 0, 0, 0);
        let next = |n: &mut usize| {
            *n += 1;
            *n - 1
        };
        module
            .imports
            .iter()
            .map(|imp| {
                let item = match imp.kind {
                    ImportKind::Func(_) => Extern::Func(self.func_handle(self.funcs[next(&mut f)])),
                    ImportKind::Table(_) => Extern::Table(self.tables[next(&mut t)].clone()),
                    ImportKind::Memory(_) => Extern::Memory(self.memories[next(&mut m)].clone()),
                    ImportKind::Global(_) => Extern::Global(self.globals[next(&mut g)].clone()),
                };
                ResolvedImport {
                    item,
                    owner: me.clone(),
                }
            })
            .collect()
    }
}

/// Where a code value is, as [`crate::FuncEntry::code_ptr`] identifies it.
fn compiled_code_ptr(code: &WasmCodeRef) -> *const () {
    Arc::as_ptr(code) as *const ()
}
