//! WebAssembly inspection: validates a binary and lists what a component (or module) imports
//! and exports, by interface name (`wasi:http/incoming-handler@0.2.0`).

use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    /// A core module (wasip1).
    Module,
    /// A component (wasip2).
    Component,
}

/// What an artifact is and what it imports and exports, at its top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmInfo {
    pub kind: WasmKind,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid WebAssembly module or component: {0}")]
pub struct WasmError(String);

/// Validates `bytes` and reads its top-level imports and exports.
pub fn inspect(bytes: &[u8]) -> Result<WasmInfo, WasmError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(WasmError("missing the \\0asm magic number".into()));
    }
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .map_err(|e| WasmError(e.to_string()))?;
    let mut kind = None;
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| WasmError(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } => {
                depth += 1;
                if depth == 1 {
                    kind = Some(match encoding {
                        Encoding::Module => WasmKind::Module,
                        Encoding::Component => WasmKind::Component,
                    });
                }
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| WasmError(e.to_string()))?;
                    imports.push(import.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(|e| WasmError(e.to_string()))?;
                    exports.push(export.name.name.to_owned());
                }
            }
            Payload::ImportSection(reader) if depth == 1 => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| WasmError(e.to_string()))?;
                    imports.push(format!("{}/{}", import.module, import.name));
                }
            }
            Payload::ExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(|e| WasmError(e.to_string()))?;
                    exports.push(export.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(WasmInfo {
        kind: kind.ok_or_else(|| WasmError("empty binary".into()))?,
        imports,
        exports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::component;

    #[test]
    fn component_imports_and_exports_by_interface() {
        let bytes = component(
            "package acme:greeter@1.0.0;
             interface clock { now: func() -> u64; }
             interface greet { hello: func(name: string) -> string; }
             world greeter { import clock; export greet; }",
        );
        let info = inspect(&bytes).unwrap();
        assert_eq!(info.kind, WasmKind::Component);
        assert_eq!(info.imports, ["acme:greeter/clock@1.0.0"]);
        assert_eq!(info.exports, ["acme:greeter/greet@1.0.0"]);
    }

    #[test]
    fn core_modules_are_accepted() {
        let mut resolve = wit_parser::Resolve::default();
        let pkg = resolve
            .push_str("t.wit", "package a:b; world w { export run: func(); }")
            .unwrap();
        let world = resolve.select_world(&[pkg], None).unwrap();
        let module =
            wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
        let info = inspect(&module).unwrap();
        assert_eq!(info.kind, WasmKind::Module);
        assert!(
            info.exports.iter().any(|e| e.ends_with("run")),
            "{:?}",
            info.exports
        );
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(inspect(b"").is_err());
        assert!(inspect(b"hello world").is_err());
        assert!(inspect(b"\0asm\x01\0\0\0\x01\x05garbage").is_err());
        assert!(
            inspect(b"\0asm\x01\0\0\0").is_ok(),
            "the empty module is valid"
        );
    }
}
