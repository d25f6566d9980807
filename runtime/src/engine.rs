//! The wasmtime engine: loading bylaw components, caching their compiled form per hash, and
//! running them in a fresh, limited instance for every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};

use crate::error::{EvalError, LoadError};
use crate::id::ModuleHash;
use crate::model::{Action, ActionKind, BylawInfo, BylawPre, Hash, Parameter, Verdict, View};
use crate::native::NativeBylaw;

/// The wasmtime version this runtime is built against.
pub(crate) const WASMTIME_VERSION: &str = "48.0.8";

/// The WIT contract this runtime implements. Bylaws built against any `0.4.x` of it are
/// accepted (the component model matches interface versions semver-compatibly).
pub const CONTRACT: &str = "cltd:bylaws@0.4.0";

/// The import name prefix of the contract's type-only interface, for any compatible version.
pub(crate) const CONTRACT_TYPES_PREFIX: &str = "cltd:bylaws/types@0.4.";

/// Largest bylaw component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 2 * 1024 * 1024;

/// Bytes of each pooled memory and table that are reset in place between instances rather
/// than returned to the kernel: a bylaw call touches its 64 KiB stack, its data and a small
/// heap, and resetting those in place is cheaper than the page faults that would refill them
/// (measured: a vote's fresh-instance call took 70 us with none kept, 42 us with 256 KiB).
const KEEP_RESIDENT: usize = 256 << 10;

/// Most functions a bylaw component may define across its core modules. The four bylaws
/// shipped with cltd define well under a thousand; the limit keeps a pathological component
/// from tying up the compiler.
pub const MAX_FUNCTIONS: u64 = 10_000;

/// Functions defined by the core modules of `component` (a cheap pass that reads section
/// headers only), or why the bytes do not parse.
fn function_count(component: &[u8]) -> Result<u64, LoadError> {
    let mut count = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        if let wasmparser::Payload::FunctionSection(functions) =
            payload.map_err(|e| LoadError::NotWasm(e.to_string()))?
        {
            count += u64::from(functions.count());
        }
    }
    Ok(count)
}

/// How bylaws are run. Recorded in the genesis entry so a replay can match it: fuel use is
/// deterministic for a given wasmtime version, module and profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineProfile {
    /// wasmtime version.
    pub wasmtime: String,
    /// Fuel available to each bylaw call.
    pub fuel_per_call: u64,
    /// Largest linear memory, in bytes.
    pub memory_bytes: u64,
    /// Largest wasm stack, in bytes.
    pub max_stack_bytes: u64,
    /// Cranelift canonicalizes NaNs (always on: floats must be deterministic).
    pub nan_canonicalization: bool,
    /// Instances come from wasmtime's pooling allocator rather than on demand.
    pub pooling: bool,
}

impl Default for EngineProfile {
    fn default() -> Self {
        EngineProfile {
            wasmtime: WASMTIME_VERSION.to_string(),
            fuel_per_call: 200_000_000,
            memory_bytes: 64 << 20,
            max_stack_bytes: 512 << 10,
            nan_canonicalization: true,
            pooling: false,
        }
    }
}

impl EngineProfile {
    /// True when two profiles produce the same verdicts and fuel figures.
    pub fn replay_compatible(&self, other: &EngineProfile) -> bool {
        self.wasmtime == other.wasmtime
            && self.fuel_per_call == other.fuel_per_call
            && self.memory_bytes == other.memory_bytes
            && self.max_stack_bytes == other.max_stack_bytes
            && self.nan_canonicalization == other.nan_canonicalization
    }
}

/// The outcome of one bylaw call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// What the bylaw decided.
    pub verdict: Verdict,
    /// Fuel the call used.
    pub fuel: u64,
}

type MigrateParams = (Vec<Parameter>, Vec<Parameter>);
type MigrateResults = (Result<Vec<Parameter>, String>,);

/// Per-call store data: the resource limits and whether they were hit.
struct Sandbox {
    memory_bytes: usize,
    exceeded: Option<String>,
}

impl ResourceLimiter for Sandbox {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.exceeded = Some(format!(
                "memory of {desired} bytes requested, limit {}",
                self.memory_bytes
            ));
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        const MAX_TABLE: usize = 100_000;
        if desired > MAX_TABLE {
            self.exceeded = Some(format!(
                "table of {desired} elements requested, limit {MAX_TABLE}"
            ));
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        4
    }
    fn tables(&self) -> usize {
        4
    }
    fn memories(&self) -> usize {
        1
    }
}

/// The shared bylaw engine: one per process, shared by every trust.
pub struct Runtime {
    engine: Engine,
    linker: Linker<Sandbox>,
    cache: Mutex<HashMap<ModuleHash, Arc<BylawPre<Sandbox>>>>,
    /// What each (module, charter) opens to non-members (see
    /// [`Runtime::open_to_non_members`]).
    open_kinds: Mutex<HashMap<Hash, Vec<ActionKind>>>,
    /// Bylaws run natively instead of their component (tests only: see [`NativeBylaw`]).
    natives: Mutex<HashMap<ModuleHash, Arc<dyn NativeBylaw>>>,
    profile: EngineProfile,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// The blake3 hash a bylaw component is stored and logged under (plain blake3 of its bytes,
/// so `b3sum` gives the same answer).
pub fn module_hash(component: &[u8]) -> ModuleHash {
    ModuleHash(*blake3::hash(component).as_bytes())
}

/// Turn wit-bindgen's output (a core module carrying its component type) into a component.
/// Components are returned unchanged. Deterministic: the same input gives the same bytes.
pub fn to_component(wasm: &[u8]) -> Result<Vec<u8>, LoadError> {
    if wasmparser::Parser::is_component(wasm) {
        return Ok(wasm.to_vec());
    }
    if !wasmparser::Parser::is_core_wasm(wasm) {
        return Err(LoadError::NotWasm("missing the \\0asm header".into()));
    }
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(wasm)
        .and_then(|mut e| e.encode())
        .map_err(|e| LoadError::Componentize(format!("{e:#}")))
}

/// The only import a bylaw may have: the contract's `types` interface, which carries type
/// definitions and no functions (so it gives the guest no capability at all).
fn is_type_only_contract_import(engine: &Engine, name: &str, item: &ComponentItem) -> bool {
    let ComponentItem::ComponentInstance(instance) = item else {
        return false;
    };
    name.starts_with(CONTRACT_TYPES_PREFIX)
        && instance
            .exports(engine)
            .all(|(_, export)| matches!(export.ty, ComponentItem::Type(_)))
}

impl Runtime {
    /// Build an engine for `profile`. Fails only if wasmtime rejects the configuration.
    pub fn new(profile: EngineProfile) -> Result<Runtime, LoadError> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .concurrency_support(false)
            .consume_fuel(true)
            .cranelift_nan_canonicalization(profile.nan_canonicalization)
            .relaxed_simd_deterministic(true)
            .max_wasm_stack(
                usize::try_from(profile.max_stack_bytes).expect("stack limit fits in usize"),
            );
        if profile.pooling {
            let mut pool = wasmtime::PoolingAllocationConfig::default();
            pool.total_component_instances(64)
                .total_core_instances(64)
                .total_memories(64)
                .total_tables(64)
                .max_memory_size(
                    usize::try_from(profile.memory_bytes).expect("memory limit fits in usize"),
                )
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(KEEP_RESIDENT);
            config.allocation_strategy(pool);
        }
        let engine = Engine::new(&config).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let linker = Linker::new(&engine);
        Ok(Runtime {
            engine,
            linker,
            cache: Mutex::new(HashMap::new()),
            open_kinds: Mutex::new(HashMap::new()),
            natives: Mutex::new(HashMap::new()),
            profile,
        })
    }

    /// The profile this engine runs bylaws under.
    pub fn profile(&self) -> &EngineProfile {
        &self.profile
    }

    /// Check and compile a component (never a precompiled artifact) and cache it under its
    /// hash. Returns the hash. Compiling an already-cached hash is free.
    pub fn prepare(&self, component: &[u8]) -> Result<ModuleHash, LoadError> {
        let hash = module_hash(component);
        if self
            .cache
            .lock()
            .expect("bylaw cache lock poisoned")
            .contains_key(&hash)
        {
            return Ok(hash);
        }
        if component.len() > MAX_COMPONENT_BYTES {
            return Err(LoadError::TooLarge {
                size: component.len(),
                limit: MAX_COMPONENT_BYTES,
            });
        }
        if !wasmparser::Parser::is_component(component) {
            return Err(LoadError::NotWasm(
                "a bylaw must be a Wasm component (use to_component first)".into(),
            ));
        }
        let functions = function_count(component)?;
        if functions > MAX_FUNCTIONS {
            return Err(LoadError::TooManyFunctions {
                count: functions,
                limit: MAX_FUNCTIONS,
            });
        }
        let compiled = Component::new(&self.engine, component)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let ty = compiled.component_type();
        let imports: Vec<String> = ty
            .imports(&self.engine)
            .filter(|(name, item)| !is_type_only_contract_import(&self.engine, name, &item.ty))
            .map(|(name, _)| name.to_string())
            .collect();
        if !imports.is_empty() {
            return Err(LoadError::Link(format!(
                "bylaws may import nothing but the contract's types, this one imports {}",
                imports.join(", ")
            )));
        }
        let pre = self
            .linker
            .instantiate_pre(&compiled)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = BylawPre::new(pre).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        self.check_migrate(&pre)?;
        self.cache
            .lock()
            .expect("bylaw cache lock poisoned")
            .insert(hash, Arc::new(pre));
        Ok(hash)
    }

    /// A component may export `migrate`; if it does, its type must be the contract's.
    fn check_migrate(&self, pre: &BylawPre<Sandbox>) -> Result<(), LoadError> {
        let mut store = self.store().map_err(|e| LoadError::Link(e.to_string()))?;
        let instance = pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(|e| LoadError::Link(format!("instantiating the component failed: {e:#}")))?;
        if instance
            .get_export_index(&mut store, None, "migrate")
            .is_some()
        {
            instance
                .get_typed_func::<MigrateParams, MigrateResults>(&mut store, "migrate")
                .map_err(|e| {
                    LoadError::Link(format!(
                        "its `migrate` export does not have the contract's type: {e:#}"
                    ))
                })?;
        }
        Ok(())
    }

    /// From now on, answer every call to the bylaw `hash` with `bylaw`, compiled natively
    /// from the same source, instead of its component: for running scenarios both ways. Native
    /// calls use no fuel and have no limits; a panic is reported as a trap.
    pub fn run_natively(&self, hash: ModuleHash, bylaw: Arc<dyn NativeBylaw>) {
        self.natives
            .lock()
            .expect("native bylaw table lock poisoned")
            .insert(hash, bylaw);
    }

    fn native(&self, hash: &ModuleHash) -> Option<Arc<dyn NativeBylaw>> {
        self.natives
            .lock()
            .expect("native bylaw table lock poisoned")
            .get(hash)
            .cloned()
    }

    /// Run the bylaw `hash`'s `migrate` export, if it has one, in a fresh limited instance:
    /// `Ok(None)` when it exports none, `Ok(Some(Err(reason)))` when it refuses.
    pub fn migrate(
        &self,
        hash: &ModuleHash,
        previous: &[Parameter],
        proposed: &[Parameter],
    ) -> Result<Option<Result<Vec<Parameter>, String>>, EvalError> {
        if let Some(native) = self.native(hash) {
            return contain(|| native.migrate(previous, proposed));
        }
        let pre = self.pre(hash)?;
        let mut store = self.store()?;
        let result = (|| {
            let instance = pre.instance_pre().instantiate(&mut store)?;
            if instance
                .get_export_index(&mut store, None, "migrate")
                .is_none()
            {
                return Ok(None);
            }
            let func =
                instance.get_typed_func::<MigrateParams, MigrateResults>(&mut store, "migrate")?;
            let (out,) = func.call(&mut store, (previous.to_vec(), proposed.to_vec()))?;
            Ok(Some(out))
        })();
        result.map_err(|e| self.classify(&store, e))
    }

    fn pre(&self, hash: &ModuleHash) -> Result<Arc<BylawPre<Sandbox>>, EvalError> {
        self.cache
            .lock()
            .expect("bylaw cache lock poisoned")
            .get(hash)
            .cloned()
            .ok_or_else(|| {
                EvalError::Host(format!("bylaw module {} is not loaded", hex::encode(hash)))
            })
    }

    fn store(&self) -> Result<Store<Sandbox>, EvalError> {
        let sandbox = Sandbox {
            memory_bytes: usize::try_from(self.profile.memory_bytes)
                .expect("memory limit fits in usize"),
            exceeded: None,
        };
        let mut store = Store::new(&self.engine, sandbox);
        store.limiter(|s| s as &mut dyn ResourceLimiter);
        store
            .set_fuel(self.profile.fuel_per_call)
            .map_err(|e| EvalError::Host(format!("{e:#}")))?;
        Ok(store)
    }

    /// Run the bylaw `hash` on `action` in a fresh instance, with the profile's fuel and limits.
    pub fn evaluate(
        &self,
        hash: &ModuleHash,
        view: &View,
        action: &Action,
    ) -> Result<Evaluation, EvalError> {
        let (result, fuel) = self.evaluate_metered(hash, view, action);
        result.map(|verdict| Evaluation { verdict, fuel })
    }

    /// [`Runtime::evaluate`], giving the fuel the call used whether it succeeded or failed
    /// (all of it when it ran out; none when the host could not start it).
    pub fn evaluate_metered(
        &self,
        hash: &ModuleHash,
        view: &View,
        action: &Action,
    ) -> (Result<Verdict, EvalError>, u64) {
        if let Some(native) = self.native(hash) {
            return (contain(|| native.evaluate(view, action)), 0);
        }
        let pre = match self.pre(hash) {
            Ok(pre) => pre,
            Err(e) => return (Err(e), 0),
        };
        let mut store = match self.store() {
            Ok(store) => store,
            Err(e) => return (Err(e), 0),
        };
        let result = pre
            .instantiate(&mut store)
            .and_then(|bylaw| bylaw.call_evaluate(&mut store, view, action));
        let fuel = self.profile.fuel_per_call - store.get_fuel().unwrap_or(0);
        (result.map_err(|e| self.classify(&store, e)), fuel)
    }

    /// The kinds of action the bylaw `hash`, with `charter`, judges from non-members (its
    /// `describe`, remembered per module and charter: the rules in force and those frozen
    /// with pending proposals are few). A bylaw that fails to describe itself opens nothing.
    pub fn open_to_non_members(&self, hash: &ModuleHash, charter: &[Parameter]) -> Vec<ActionKind> {
        const MAX_REMEMBERED: usize = 1_024;
        let mut h = blake3::Hasher::new_derive_key("cltd 2026-12 open kinds cache key v1");
        h.update(hash.as_slice());
        h.update(&postcard::to_stdvec(charter).expect("in-memory encoding cannot fail"));
        let key = *h.finalize().as_bytes();
        if let Some(kinds) = self
            .open_kinds
            .lock()
            .expect("open kinds lock poisoned")
            .get(&key)
        {
            return kinds.clone();
        }
        let kinds = self
            .describe(hash, charter)
            .map(|info| info.open_to_non_members)
            .unwrap_or_default();
        let mut cache = self.open_kinds.lock().expect("open kinds lock poisoned");
        if cache.len() >= MAX_REMEMBERED {
            cache.clear();
        }
        cache.insert(key, kinds.clone());
        kinds
    }

    /// Ask the bylaw `hash` to describe itself under `charter`.
    pub fn describe(
        &self,
        hash: &ModuleHash,
        charter: &[Parameter],
    ) -> Result<BylawInfo, EvalError> {
        if let Some(native) = self.native(hash) {
            return contain(|| native.describe(charter));
        }
        let pre = self.pre(hash)?;
        let mut store = self.store()?;
        let result = pre
            .instantiate(&mut store)
            .and_then(|bylaw| bylaw.call_describe(&mut store, charter));
        result.map_err(|e| self.classify(&store, e))
    }

    fn classify(&self, store: &Store<Sandbox>, error: wasmtime::Error) -> EvalError {
        if let Some(limit) = &store.data().exceeded {
            return EvalError::ResourceLimit(limit.clone());
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => EvalError::OutOfFuel {
                limit: self.profile.fuel_per_call,
            },
            Some(Trap::StackOverflow) => EvalError::StackOverflow,
            // A bylaw's own stack lies at the bottom of its memory (64 KiB when built by
            // `cltd bylaws build`): overflowing it runs below address 0.
            Some(Trap::MemoryOutOfBounds) => EvalError::Trap(format!(
                "{}: the bylaw accessed memory outside its own, or overflowed its stack",
                Trap::MemoryOutOfBounds
            )),
            Some(trap) => EvalError::Trap(trap.to_string()),
            None => EvalError::Host(format!("{error:#}")),
        }
    }
}

/// Run a native bylaw call, reporting a panic as a trap (as the component's would be).
fn contain<T>(call: impl FnOnce() -> T) -> Result<T, EvalError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        EvalError::Trap(format!("the native bylaw panicked: {message}"))
    })
}
