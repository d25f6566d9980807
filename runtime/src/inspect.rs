//! What a bylaw component is, read from its bytes without running it (`cltd bylaws
//! inspect`), and whether cltd can run it (`cltd bylaws check`).

use std::sync::Arc;

use serde::Serialize;

use crate::engine::{CONTRACT, MAX_COMPONENT_BYTES, Runtime, module_hash, to_component};
use crate::error::LoadError;

/// The custom section in which `bylaws-sdk` records its name and version.
pub const SDK_SECTION: &str = "cltd-sdk";

/// A component, described from its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// blake3 of the component (the hash a log records).
    pub hash: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// Whether the input was a core module that had to be turned into a component.
    pub was_core_module: bool,
    /// What the component imports (interfaces or functions, by name).
    pub imports: Vec<String>,
    /// What it exports.
    pub exports: Vec<String>,
    /// Its world, printed as WIT.
    pub wit: String,
    /// The SDK that built it (`bylaws-sdk X.Y.Z`), when recorded.
    pub sdk: Option<String>,
    /// The producers section's tools: (field, name, version).
    pub producers: Vec<(String, String, String)>,
}

/// Describe `wasm` (a component, or a core module built with wit-bindgen).
pub fn inspect(wasm: &[u8]) -> Result<Inspection, LoadError> {
    let component = to_component(wasm)?;
    let decoded = wit_component::decode(&component)
        .map_err(|e| LoadError::NotWasm(format!("its WIT cannot be read: {e:#}")))?;
    let wit_component::DecodedWasm::Component(resolve, world) = &decoded else {
        return Err(LoadError::NotWasm(
            "this is a WIT package, not a component".into(),
        ));
    };
    let w = &resolve.worlds[*world];
    // Types a world `use`s show up as imports too; they are not something it calls.
    let imports = w
        .imports
        .iter()
        .filter(|(_, item)| !matches!(item, wit_parser::WorldItem::Type { .. }))
        .map(|(k, _)| resolve.name_world_key(k))
        .collect();
    let exports = w
        .exports
        .keys()
        .map(|k| resolve.name_world_key(k))
        .collect();
    let mut printer = wit_component::WitPrinter::default();
    printer
        .print(resolve, decoded.package(), &[])
        .map_err(|e| LoadError::NotWasm(format!("its WIT cannot be printed: {e:#}")))?;
    let (sdk, producers) = custom_sections(&component);
    Ok(Inspection {
        hash: hex::encode(module_hash(&component)),
        size: component.len(),
        was_core_module: !wasmparser::Parser::is_component(wasm),
        imports,
        exports,
        wit: printer.output.to_string(),
        sdk,
        producers,
    })
}

/// The `cltd-sdk` and `producers` custom sections, at any depth.
fn custom_sections(component: &[u8]) -> (Option<String>, Vec<(String, String, String)>) {
    let mut sdk = None;
    let mut producers = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        let Ok(wasmparser::Payload::CustomSection(section)) = payload else {
            continue;
        };
        match section.as_known() {
            wasmparser::KnownCustom::Producers(reader) => {
                for field in reader.into_iter().flatten() {
                    for value in field.values.into_iter().flatten() {
                        producers.push((
                            field.name.to_string(),
                            value.name.to_string(),
                            value.version.to_string(),
                        ));
                    }
                }
            }
            _ if section.name() == SDK_SECTION => {
                sdk = Some(String::from_utf8_lossy(section.data()).into_owned());
            }
            _ => {}
        }
    }
    producers.sort();
    producers.dedup();
    (sdk, producers)
}

/// One check of `cltd bylaws check`.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it holds.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// Whether cltd can run `wasm` as a bylaw: size, a component of the contract's world
/// (`cltd:bylaws@0.8.x`) importing nothing but its types, exporting `evaluate` and
/// `describe` (and `migrate` of the right type, if at all), compiling, and describing
/// itself. Stops at the first check that cannot be made.
pub fn check(runtime: &Arc<Runtime>, wasm: &[u8]) -> Vec<Check> {
    let mut out = Vec::new();
    let mut push = |what: &str, ok: bool, detail: String| {
        out.push(Check {
            what: what.into(),
            ok,
            detail,
        });
        ok
    };
    if !push(
        "size",
        wasm.len() <= MAX_COMPONENT_BYTES,
        format!("{} bytes (limit {MAX_COMPONENT_BYTES})", wasm.len()),
    ) {
        return out;
    }
    let component = match to_component(wasm) {
        Ok(c) => c,
        Err(e) => {
            push("a component", false, e.to_string());
            return out;
        }
    };
    push(
        "a component",
        true,
        if wasmparser::Parser::is_component(wasm) {
            "a component".into()
        } else {
            "a core module with wit-bindgen's component type, turned into a component".into()
        },
    );
    let inspection = match inspect(&component) {
        Ok(i) => i,
        Err(e) => {
            push("world", false, e.to_string());
            return out;
        }
    };
    let foreign: Vec<&String> = inspection
        .imports
        .iter()
        .filter(|i| !i.starts_with(crate::engine::CONTRACT_TYPES_PREFIX))
        .collect();
    push(
        "imports",
        foreign.is_empty(),
        if foreign.is_empty() {
            format!("only the contract's types ({CONTRACT})")
        } else {
            let list: Vec<&str> = foreign.iter().map(|s| s.as_str()).collect();
            format!("imports outside the contract: {}", list.join(", "))
        },
    );
    let has = |name: &str| inspection.exports.iter().any(|e| e == name);
    let missing: Vec<&str> = ["evaluate", "describe"]
        .into_iter()
        .filter(|n| !has(n))
        .collect();
    push(
        "exports",
        missing.is_empty(),
        if missing.is_empty() {
            format!(
                "{}{}",
                inspection.exports.join(", "),
                if has("migrate") {
                    ""
                } else {
                    " (no migrate: charters carry over as proposed)"
                }
            )
        } else {
            format!("missing {}", missing.join(" and "))
        },
    );
    let compiled = match runtime.prepare(&component) {
        Ok(hash) => {
            push(
                "compiles and links",
                true,
                format!("module {}", hex::encode(hash)),
            );
            Some(hash)
        }
        Err(e) => {
            push("compiles and links", false, e.to_string());
            None
        }
    };
    if let Some(hash) = compiled {
        match runtime.describe(&hash, &[]) {
            Ok(info) => push(
                "describes itself",
                true,
                format!("{} {}", info.name, info.version),
            ),
            Err(e) => push("describes itself", false, e.to_string()),
        };
    }
    out
}
