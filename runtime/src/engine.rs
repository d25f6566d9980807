//! The wasmtime engine: loading bylaw components, caching their compiled form per hash, and
//! running them in a fresh, limited instance for every call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{
    Component, ComponentExportIndex, Instance, InstancePre, Linker, TypedFunc,
};
use wasmtime::{Config, Engine, PoolConcurrencyLimitError, ResourceLimiter, Store, Trap};

use crate::error::{EvalError, LoadError};
use crate::id::ModuleHash;
use crate::model::{Action, ActionKind, BylawInfo, Hash, Parameter, Verdict, View};
use crate::native::NativeBylaw;

/// The wasmtime version this runtime is built against.
pub(crate) const WASMTIME_VERSION: &str = "48.0.8";

/// The WIT contract this runtime implements. Bylaws built against any `0.8.x` of it are
/// accepted (the component model matches interface versions semver-compatibly).
pub const CONTRACT: &str = "cltd:bylaws@0.8.0";

/// The import name prefix of the contract's type-only interface, for any compatible version.
pub(crate) const CONTRACT_TYPES_PREFIX: &str = "cltd:bylaws/types@0.8.";

/// Largest bylaw component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 2 * 1024 * 1024;

/// Bytes of each pooled memory and table that are reset in place between instances rather
/// than returned to the kernel: a bylaw call touches its 64 KiB stack, its data and a small
/// heap, and resetting those in place is cheaper than the page faults that would refill them
/// (measured: a vote's fresh-instance call took 70 us with none kept, 42 us with 256 KiB).
const KEEP_RESIDENT: usize = 256 << 10;

/// Instances the pooling allocator holds at once. A bylaw instance lives for one call, so this
/// bounds concurrent calls, not trusts: a server's committers, preview workers and request
/// threads rarely run more at once, and a call beyond it is served by an engine that
/// allocates on demand (see [`Runtime`]). Each slot reserves address space for the largest
/// memory; at most [`KEEP_RESIDENT`] of each stays resident.
pub(crate) const POOL_SLOTS: u32 = 32;

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
    /// Instances come from wasmtime's pooling allocator ([`POOL_SLOTS`] at once, the
    /// default), calls beyond it from an engine allocating on demand; false: on demand only.
    /// Either way a call uses the same fuel (fuel counts the bylaw's instructions, whatever
    /// memory they run in), so replays do not compare it.
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
            pooling: true,
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
/// The contract's `evaluate`, as the host calls it.
type EvaluateFunc<'a> = TypedFunc<(&'a View, &'a Action), (Verdict,)>;
/// The contract's `describe`, as the host calls it.
type DescribeFunc<'a> = TypedFunc<(&'a [Parameter],), (BylawInfo,)>;

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

/// What a bylaw declares about itself under one charter that the host acts on.
#[derive(Debug, Default)]
struct Declared {
    /// Kinds of action it judges from non-members.
    open: Vec<ActionKind>,
    /// Kinds of action whose view carries the proposal's roll.
    roll: Vec<ActionKind>,
}

/// How one try at a bylaw call went (see [`Runtime::run`]).
enum Attempt<R> {
    /// The instance pool had no free slot.
    PoolExhausted,
    /// The call ran: its result and the fuel it used.
    Ran(Result<R, EvalError>, u64),
}

/// A bylaw compiled and linked for one engine, with its exports found once.
///
/// Checking an export's type walks the whole contract (every record's field names), which
/// cost about a tenth of a vote's call when done per instance, as generated bindings do. A
/// component's export types belong to the component, not to an instance: they are checked
/// against the first instance made, and every later instance's functions are used as the
/// types that check established.
struct Prepared {
    pre: InstancePre<Sandbox>,
    evaluate: ComponentExportIndex,
    describe: ComponentExportIndex,
    /// Whether `evaluate` and `describe` have the contract's types (the reason if not):
    /// decided on the first instance.
    typed: OnceLock<Result<(), String>>,
}

impl Prepared {
    /// Link `compiled` and find its exports; fails if it lacks `evaluate` or `describe`.
    fn new(linker: &Linker<Sandbox>, compiled: &Component) -> Result<Prepared, LoadError> {
        let pre = linker
            .instantiate_pre(compiled)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let export = |name: &str| {
            compiled
                .get_export_index(None, name)
                .ok_or_else(|| LoadError::Link(format!("the component does not export `{name}`")))
        };
        Ok(Prepared {
            evaluate: export("evaluate")?,
            describe: export("describe")?,
            pre,
            typed: OnceLock::new(),
        })
    }

    /// A fresh instance in `store`, with its exports checked (on the first instance only).
    fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Instance> {
        let instance = self.pre.instantiate(&mut *store)?;
        self.typed
            .get_or_init(|| {
                instance
                    .get_typed_func::<(&View, &Action), (Verdict,)>(&mut *store, &self.evaluate)
                    .and_then(|_| {
                        instance.get_typed_func::<(&[Parameter],), (BylawInfo,)>(
                            &mut *store,
                            &self.describe,
                        )
                    })
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(wasmtime::Error::msg)?;
        Ok(instance)
    }

    /// Call `evaluate` in a fresh instance.
    fn evaluate(
        &self,
        store: &mut Store<Sandbox>,
        view: &View,
        action: &Action,
    ) -> wasmtime::Result<Verdict> {
        let instance = self.instantiate(store)?;
        let func = instance
            .get_func(&mut *store, self.evaluate)
            .ok_or_else(|| wasmtime::Error::msg("the instance lost its `evaluate` export"))?;
        // SAFETY: `func` is the export `self.evaluate` of an instance of `self.pre`'s
        // component, whose type `instantiate` checked against exactly this signature.
        #[allow(unsafe_code)]
        let func: EvaluateFunc<'_> = unsafe { TypedFunc::new_unchecked(func) };
        Ok(func.call(&mut *store, (view, action))?.0)
    }

    /// Call `describe` in a fresh instance.
    fn describe(
        &self,
        store: &mut Store<Sandbox>,
        charter: &[Parameter],
    ) -> wasmtime::Result<BylawInfo> {
        let instance = self.instantiate(store)?;
        let func = instance
            .get_func(&mut *store, self.describe)
            .ok_or_else(|| wasmtime::Error::msg("the instance lost its `describe` export"))?;
        // SAFETY: as in `evaluate`, for `describe`.
        #[allow(unsafe_code)]
        let func: DescribeFunc<'_> = unsafe { TypedFunc::new_unchecked(func) };
        Ok(func.call(&mut *store, (charter,))?.0)
    }
}

/// One wasmtime engine and the bylaws compiled for it.
struct Lane {
    engine: Engine,
    linker: Linker<Sandbox>,
    cache: Mutex<HashMap<ModuleHash, Arc<Prepared>>>,
}

impl Lane {
    fn new(config: &Config) -> Result<Lane, LoadError> {
        let engine = Engine::new(config).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let linker = Linker::new(&engine);
        Ok(Lane {
            engine,
            linker,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn get(&self, hash: &ModuleHash) -> Option<Arc<Prepared>> {
        self.cache
            .lock()
            .expect("bylaw cache lock poisoned")
            .get(hash)
            .cloned()
    }

    /// Compile `component` for this engine and link it (no checks beyond wasmtime's own).
    fn compile(&self, component: &[u8]) -> Result<(Component, Prepared), LoadError> {
        let compiled = Component::new(&self.engine, component)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let pre = Prepared::new(&self.linker, &compiled)?;
        Ok((compiled, pre))
    }
}

/// The shared bylaw engine: one per process, shared by every trust.
///
/// With [`EngineProfile::pooling`] (the default) instances come from a pool of
/// [`POOL_SLOTS`]; a call that finds the pool exhausted runs instead on a second engine that
/// allocates on demand, compiled for lazily (a module is compiled for it the first time it
/// is needed there), so many trusts in one server never run out of instances.
pub struct Runtime {
    lane: Lane,
    /// The on-demand engine calls fall back to when the pool is exhausted (pooling only).
    fallback: Option<OnceLock<Result<Lane, String>>>,
    /// The config the fallback engine is built from.
    fallback_config: Option<Config>,
    /// Every prepared component's bytes, to compile it for the fallback engine.
    sources: Mutex<HashMap<ModuleHash, Arc<[u8]>>>,
    /// Calls that ran on the fallback engine.
    fell_back: AtomicU64,
    /// What each (module, charter) declares about itself (see
    /// [`Runtime::open_to_non_members`] and [`Runtime::needs_roll`]).
    declared: Mutex<HashMap<Hash, Arc<Declared>>>,
    /// Bylaws run natively instead of their component (tests only: see [`NativeBylaw`]).
    natives: Mutex<HashMap<ModuleHash, Arc<dyn NativeBylaw>>>,
    profile: EngineProfile,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("profile", &self.profile)
            .field("fell_back", &self.fell_back)
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
        Runtime::with_pool_slots(profile, POOL_SLOTS)
    }

    /// [`Runtime::new`] with `slots` instances in the pool (at least 1; ignored without
    /// pooling) instead of the default 32.
    pub fn with_pool_slots(profile: EngineProfile, slots: u32) -> Result<Runtime, LoadError> {
        let slots = slots.max(1);
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
        let fallback_config = profile.pooling.then(|| config.clone());
        if profile.pooling {
            let mut pool = wasmtime::PoolingAllocationConfig::default();
            // A bylaw component has one core instance, memory and table of its own; the
            // component model's adapters may add up to three more core instances and tables
            // (the limiter's caps), so the core pools are four times the component pool.
            pool.total_component_instances(slots)
                .total_core_instances(4 * slots)
                .total_memories(slots)
                .total_tables(4 * slots)
                .max_memory_size(
                    usize::try_from(profile.memory_bytes).expect("memory limit fits in usize"),
                )
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(KEEP_RESIDENT)
                // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), reset only the pages a call
                // dirtied instead of the lowest KEEP_RESIDENT bytes whole; elsewhere as before.
                .pagemap_scan(wasmtime::Enabled::Auto);
            config.allocation_strategy(pool);
        }
        Ok(Runtime {
            lane: Lane::new(&config)?,
            fallback: profile.pooling.then(OnceLock::new),
            fallback_config,
            sources: Mutex::new(HashMap::new()),
            fell_back: AtomicU64::new(0),
            declared: Mutex::new(HashMap::new()),
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
        if self.lane.get(&hash).is_some() {
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
        let (compiled, pre) = self.lane.compile(component)?;
        let engine = &self.lane.engine;
        let ty = compiled.component_type();
        let imports: Vec<String> = ty
            .imports(engine)
            .filter(|(name, item)| !is_type_only_contract_import(engine, name, &item.ty))
            .map(|(name, _)| name.to_string())
            .collect();
        if !imports.is_empty() {
            return Err(LoadError::Link(format!(
                "bylaws may import nothing but the contract's types, this one imports {}",
                imports.join(", ")
            )));
        }
        let pre = Arc::new(pre);
        if self.fallback.is_some() {
            self.sources
                .lock()
                .expect("bylaw sources lock poisoned")
                .insert(hash, component.into());
        }
        if let Err(e) = self.check_migrate(&pre, &hash) {
            self.sources
                .lock()
                .expect("bylaw sources lock poisoned")
                .remove(&hash);
            return Err(e);
        }
        self.lane
            .cache
            .lock()
            .expect("bylaw cache lock poisoned")
            .insert(hash, pre);
        Ok(hash)
    }

    /// A component may export `migrate`; if it does, its type must be the contract's.
    fn check_migrate(&self, pre: &Arc<Prepared>, hash: &ModuleHash) -> Result<(), LoadError> {
        let (checked, _) = self.run(pre.clone(), hash, |store, pre| {
            let instance = pre.pre.instantiate(&mut *store)?;
            if instance
                .get_export_index(&mut *store, None, "migrate")
                .is_some()
            {
                instance
                    .get_typed_func::<MigrateParams, MigrateResults>(&mut *store, "migrate")
                    .map_err(|e| {
                        wasmtime::Error::msg(format!(
                            "its `migrate` export does not have the contract's type: {e:#}"
                        ))
                    })?;
            }
            Ok(())
        });
        checked.map_err(|e| LoadError::Link(format!("{e}")))
    }

    /// Run `call` in a fresh store on the pooled engine's `pre`; if the pool is exhausted,
    /// run it instead on the on-demand engine's compilation of `hash` (compiled on first
    /// need). Returns the result and the fuel the call used.
    fn run<R>(
        &self,
        pre: Arc<Prepared>,
        hash: &ModuleHash,
        call: impl Fn(&mut Store<Sandbox>, &Prepared) -> wasmtime::Result<R>,
    ) -> (Result<R, EvalError>, u64) {
        match self.attempt(&self.lane.engine, &pre, &call) {
            Ok(Attempt::PoolExhausted) => {
                let fallback = match self.fallback_pre(hash) {
                    Ok(pre) => pre,
                    Err(e) => return (Err(e), 0),
                };
                self.fell_back.fetch_add(1, Ordering::Relaxed);
                let engine = &self.fallback_lane().expect("fallback_pre built it").engine;
                match self.attempt(engine, &fallback, &call) {
                    Ok(Attempt::Ran(result, fuel)) => (result, fuel),
                    Ok(Attempt::PoolExhausted) => unreachable!("the on-demand engine has no pool"),
                    Err(e) => (Err(e), 0),
                }
            }
            Ok(Attempt::Ran(result, fuel)) => (result, fuel),
            Err(e) => (Err(e), 0),
        }
    }

    /// One try at `call` on `engine`: `PoolExhausted` if the instance pool had no slot
    /// (nothing of the bylaw ran), else what it gave and the fuel it used.
    fn attempt<R>(
        &self,
        engine: &Engine,
        pre: &Prepared,
        call: &impl Fn(&mut Store<Sandbox>, &Prepared) -> wasmtime::Result<R>,
    ) -> Result<Attempt<R>, EvalError> {
        let mut store = self.store(engine)?;
        let result = call(&mut store, pre);
        let fuel = self.profile.fuel_per_call - store.get_fuel().unwrap_or(0);
        match result {
            Err(e) if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                Ok(Attempt::PoolExhausted)
            }
            result => Ok(Attempt::Ran(
                result.map_err(|e| self.classify(&store, &e)),
                fuel,
            )),
        }
    }

    /// The on-demand engine (pooling profiles only), built on first need.
    fn fallback_lane(&self) -> Result<&Lane, EvalError> {
        let (Some(cell), Some(config)) = (&self.fallback, &self.fallback_config) else {
            return Err(EvalError::Host("this engine has no fallback".into()));
        };
        cell.get_or_init(|| Lane::new(config).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| EvalError::Host(format!("building the on-demand engine: {e}")))
    }

    /// The on-demand engine's compilation of `hash`, compiled on first need.
    fn fallback_pre(&self, hash: &ModuleHash) -> Result<Arc<Prepared>, EvalError> {
        let lane = self.fallback_lane()?;
        if let Some(pre) = lane.get(hash) {
            return Ok(pre);
        }
        let source = self
            .sources
            .lock()
            .expect("bylaw sources lock poisoned")
            .get(hash)
            .cloned()
            .ok_or_else(|| {
                EvalError::Host(format!("bylaw module {} is not loaded", hex::encode(hash)))
            })?;
        let (_, pre) = lane
            .compile(&source)
            .map_err(|e| EvalError::Host(format!("compiling for the on-demand engine: {e}")))?;
        let pre = Arc::new(pre);
        lane.cache
            .lock()
            .expect("bylaw cache lock poisoned")
            .insert(*hash, pre.clone());
        Ok(pre)
    }

    /// Calls that found the instance pool exhausted and ran on the on-demand engine.
    pub fn fallback_calls(&self) -> u64 {
        self.fell_back.load(Ordering::Relaxed)
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
        self.run(pre, hash, |store, pre| {
            let instance = pre.pre.instantiate(&mut *store)?;
            if instance
                .get_export_index(&mut *store, None, "migrate")
                .is_none()
            {
                return Ok(None);
            }
            let func =
                instance.get_typed_func::<MigrateParams, MigrateResults>(&mut *store, "migrate")?;
            let (out,) = func.call(&mut *store, (previous.to_vec(), proposed.to_vec()))?;
            Ok(Some(out))
        })
        .0
    }

    fn pre(&self, hash: &ModuleHash) -> Result<Arc<Prepared>, EvalError> {
        self.lane.get(hash).ok_or_else(|| {
            EvalError::Host(format!("bylaw module {} is not loaded", hex::encode(hash)))
        })
    }

    fn store(&self, engine: &Engine) -> Result<Store<Sandbox>, EvalError> {
        let sandbox = Sandbox {
            memory_bytes: usize::try_from(self.profile.memory_bytes)
                .expect("memory limit fits in usize"),
            exceeded: None,
        };
        let mut store = Store::new(engine, sandbox);
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
        self.run(pre, hash, |store, pre| pre.evaluate(store, view, action))
    }

    /// The kinds of action the bylaw `hash`, with `charter`, judges from non-members (its
    /// `describe`, remembered per module and charter: the rules in force and those frozen
    /// with pending proposals are few). A bylaw that fails to describe itself opens nothing.
    pub fn open_to_non_members(&self, hash: &ModuleHash, charter: &[Parameter]) -> Vec<ActionKind> {
        self.declared(hash, charter).open.clone()
    }

    /// Whether the bylaw `hash`, with `charter`, reads the proposal's roll (`view.roll`)
    /// when judging an action of `kind` (its `describe`'s `needs-roll`, remembered like
    /// [`Runtime::open_to_non_members`]). A bylaw that fails to describe itself gets none.
    pub fn needs_roll(&self, hash: &ModuleHash, charter: &[Parameter], kind: ActionKind) -> bool {
        self.declared(hash, charter).roll.contains(&kind)
    }

    fn declared(&self, hash: &ModuleHash, charter: &[Parameter]) -> Arc<Declared> {
        const MAX_REMEMBERED: usize = 1_024;
        let mut h = blake3::Hasher::new_derive_key("cltd 2026-12 open kinds cache key v1");
        h.update(hash.as_slice());
        h.update(&postcard::to_stdvec(charter).expect("in-memory encoding cannot fail"));
        let key = *h.finalize().as_bytes();
        if let Some(declared) = self
            .declared
            .lock()
            .expect("declarations lock poisoned")
            .get(&key)
        {
            return declared.clone();
        }
        let declared = Arc::new(
            self.describe(hash, charter)
                .map(|info| Declared {
                    open: info.open_to_non_members,
                    roll: info.needs_roll,
                })
                .unwrap_or_default(),
        );
        let mut cache = self.declared.lock().expect("declarations lock poisoned");
        if cache.len() >= MAX_REMEMBERED {
            cache.clear();
        }
        cache.insert(key, declared.clone());
        declared
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
        self.run(pre, hash, |store, pre| pre.describe(store, charter))
            .0
    }

    fn classify(&self, store: &Store<Sandbox>, error: &wasmtime::Error) -> EvalError {
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
