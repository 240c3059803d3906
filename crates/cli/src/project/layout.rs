//! Where a project keeps artifacts: `.run/cache/<safe>@<version>.wasm` (verified downloads) and
//! `.run/components/<safe>@<version>.wasm` (what the project uses). `safe` is the package name
//! with `:` as `__` and `/` as `_`; package labels never contain `_`, so it maps back exactly.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

/// `ns:a/b` → `ns__a_b`.
pub fn safe_name(package: &str) -> String {
    package.replacen(':', "__", 1).replace('/', "_")
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_owned(),
        }
    }

    fn file(&self, dir: &str, package: &str, version: &str) -> PathBuf {
        self.root
            .join(".run")
            .join(dir)
            .join(format!("{}@{version}.wasm", safe_name(package)))
    }

    pub fn cached(&self, package: &str, version: &str) -> PathBuf {
        self.file("cache", package, version)
    }

    pub fn installed(&self, package: &str, version: &str) -> PathBuf {
        self.file("components", package, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ns__a_b` → `ns:a/b`: the inverse of [`safe_name`].
    fn package_of(safe: &str) -> Option<String> {
        let (ns, rest) = safe.split_once("__")?;
        Some(format!("{ns}:{}", rest.replace('_', "/")))
    }

    #[test]
    fn names_map_back_unambiguously() {
        for name in ["wasi:http", "run:calc/calculator", "my-org:a/b-c/d"] {
            assert_eq!(package_of(&safe_name(name)).as_deref(), Some(name));
        }
        let l = Layout::new(Path::new("/p"));
        assert_eq!(
            l.cached("run:calc/x", "1.0.0"),
            PathBuf::from("/p/.run/cache/run__calc_x@1.0.0.wasm")
        );
    }
}
