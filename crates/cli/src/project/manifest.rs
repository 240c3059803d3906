//! `run.toml`: `[project]`, `[components.<name>]` (or `[[component]]`), `[dependencies]`,
//! `[dev-dependencies]` (string or table form), `[registry]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Raw {
    #[serde(default)]
    project: Option<ProjectTable>,
    #[serde(default)]
    components: BTreeMap<String, ComponentTable>,
    /// The `[[component]]` form some Run docs show.
    #[serde(default)]
    component: Vec<NamedComponent>,
    #[serde(default)]
    dependencies: BTreeMap<String, DepSpec>,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    dev_dependencies: BTreeMap<String, DepSpec>,
    #[serde(default)]
    registry: Option<RegistryTable>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProjectTable {
    pub name: Option<String>,
    pub version: Option<String>,
    #[serde(default)]
    pub description: String,
    pub license: Option<String>,
    pub repository: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ComponentTable {
    pub path: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct NamedComponent {
    name: String,
    #[serde(flatten)]
    table: ComponentTable,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum DepSpec {
    Req(String),
    Table {
        version: Option<String>,
        #[serde(default)]
        optional: bool,
    },
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegistryTable {
    pub url: Option<String>,
    #[serde(default)]
    pub mirrors: Vec<String>,
    pub auth_token: Option<String>,
}

/// Which dependency table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Dev,
}

impl DepKind {
    fn table(self) -> &'static str {
        match self {
            DepKind::Normal => "dependencies",
            DepKind::Dev => "dev-dependencies",
        }
    }
}

/// A declared dependency: a package name and a semver requirement (a bare version means ^).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    pub req: semver::VersionReq,
    pub kind: DepKind,
}

/// A parsed `run.toml`, plus its text for edits that keep its formatting.
#[derive(Debug)]
pub struct Manifest {
    pub path: PathBuf,
    text: String,
    pub project: ProjectTable,
    pub components: BTreeMap<String, ComponentTable>,
    pub registry: RegistryTable,
    pub requirements: Vec<Requirement>,
}

/// `file:line:column: message` for a TOML error at a byte offset.
fn located(path: &Path, text: &str, offset: Option<usize>, message: &str) -> anyhow::Error {
    let Some(offset) = offset else {
        return anyhow::anyhow!("{}: {message}", path.display());
    };
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    anyhow::anyhow!("{}:{line}:{column}: {message}", path.display())
}

impl Manifest {
    pub const FILE: &'static str = "run.toml";

    /// Reads `run.toml` in `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Manifest> {
        let path = dir.join(Self::FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (create one, or run this in a project directory)",
                path.display()
            )
        })?;
        Manifest::parse(path, text)
    }

    pub fn parse(path: PathBuf, text: String) -> anyhow::Result<Manifest> {
        let raw: Raw = toml::from_str(&text).map_err(|e| {
            let message = if e.message().contains("untagged enum DepSpec") {
                "a dependency is \"<requirement>\" or { version = \"<requirement>\", optional = true }"
            } else {
                e.message()
            };
            located(&path, &text, e.span().map(|s| s.start), message)
        })?;
        let mut components = raw.components;
        for c in raw.component {
            components.insert(c.name, c.table);
        }
        let mut requirements = Vec::new();
        for (kind, deps) in [
            (DepKind::Normal, raw.dependencies),
            (DepKind::Dev, raw.dev_dependencies),
        ] {
            for (name, spec) in deps {
                let (text_req, optional) = match spec {
                    DepSpec::Req(r) => (r, false),
                    DepSpec::Table { version, optional } => {
                        (version.unwrap_or_else(|| "*".into()), optional)
                    }
                };
                if optional {
                    continue;
                }
                wharf_core::PackageName::parse(&name)
                    .with_context(|| format!("{}: [{}] {name:?}", path.display(), kind.table()))?;
                let req = semver::VersionReq::parse(&text_req).with_context(|| {
                    format!(
                        "{}: [{}] {name} = {text_req:?} is not a version requirement",
                        path.display(),
                        kind.table()
                    )
                })?;
                requirements.push(Requirement { name, req, kind });
            }
        }
        Ok(Manifest {
            path,
            text,
            project: raw.project.unwrap_or_default(),
            components,
            registry: raw.registry.unwrap_or_default(),
            requirements,
        })
    }

    /// Adds (or changes) a dependency in memory, keeping every comment and the formatting of
    /// the rest; [`Manifest::save`] writes it.
    pub fn set_dependency(&mut self, kind: DepKind, name: &str, req: &str) -> anyhow::Result<()> {
        let mut doc: toml_edit::DocumentMut = self
            .text
            .parse()
            .with_context(|| format!("cannot edit {}", self.path.display()))?;
        let other = match kind {
            DepKind::Normal => DepKind::Dev,
            DepKind::Dev => DepKind::Normal,
        };
        if let Some(t) = doc
            .get_mut(other.table())
            .and_then(|t| t.as_table_like_mut())
        {
            t.remove(name);
        }
        let table = doc
            .entry(kind.table())
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        let Some(table) = table.as_table_like_mut() else {
            bail!("{}: [{}] is not a table", self.path.display(), kind.table());
        };
        match table.get_mut(name) {
            Some(item) if item.is_table_like() => {
                if let Some(t) = item.as_table_like_mut() {
                    t.insert("version", toml_edit::value(req));
                }
            }
            _ => {
                table.insert(name, toml_edit::value(req));
            }
        }
        *self = Manifest::parse(self.path.clone(), doc.to_string())?;
        Ok(())
    }

    /// Writes run.toml (temp file + rename: never half-written).
    pub fn save(&self) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("toml.tmp");
        std::fs::write(&tmp, &self.text)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// The artifact of component `name`: its `path`, else a `source` ending in `.wasm`.
    pub fn component_artifact(&self, name: &str) -> Option<PathBuf> {
        let c = self.components.get(name)?;
        let rel = c
            .path
            .clone()
            .or_else(|| c.source.clone().filter(|s| s.ends_with(".wasm")))?;
        Some(self.path.parent().unwrap_or(Path::new(".")).join(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# My project
[project]
name = "acme"            # the namespace
version = "1.2.0"
description = "Tools"

[components.greeter]
path = "target/greeter.wasm"

[dependencies]
"wasi:io" = "0.2"        # bare version: caret
"acme:log" = { version = ">=1.1, <2", optional = false }
"acme:maybe" = { version = "1", optional = true }

[dev-dependencies]
"acme:test" = "*"

[registry]
url = "http://localhost:5000"  # local
mirrors = ["http://mirror:5000"]
"#;

    fn parse(text: &str) -> anyhow::Result<Manifest> {
        Manifest::parse(PathBuf::from("run.toml"), text.to_owned())
    }

    #[test]
    fn reads_every_table() {
        let m = parse(SAMPLE).unwrap();
        assert_eq!(m.project.name.as_deref(), Some("acme"));
        assert_eq!(m.registry.url.as_deref(), Some("http://localhost:5000"));
        assert_eq!(m.registry.mirrors, ["http://mirror:5000"]);
        assert_eq!(
            m.component_artifact("greeter"),
            Some(PathBuf::from("target/greeter.wasm"))
        );
        let names: Vec<_> = m
            .requirements
            .iter()
            .map(|r| (r.name.as_str(), r.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("acme:log", DepKind::Normal),
                ("wasi:io", DepKind::Normal),
                ("acme:test", DepKind::Dev)
            ]
        );
        let io = &m.requirements[1];
        assert!(io.req.matches(&semver::Version::parse("0.2.5").unwrap()));
        assert!(!io.req.matches(&semver::Version::parse("0.3.0").unwrap()));
    }

    #[test]
    fn component_array_form_is_accepted() {
        let m = parse("[project]\nname='a'\n[[component]]\nname = 'calc'\nsource = 'calc.wasm'\n")
            .unwrap();
        assert_eq!(
            m.component_artifact("calc"),
            Some(PathBuf::from("calc.wasm"))
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = parse("[project]\nname = \"a\"\nversion = 1.2.3\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("run.toml:3:"), "{err}");
        let err = parse("[dependencies]\n\"acme:x\" = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("run.toml:2:") && err.contains("a dependency is"),
            "{err}"
        );
        let err = parse("[dependencies]\n\"acme:x\" = \"not a req\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a version requirement"), "{err}");
    }

    #[test]
    fn adding_a_dependency_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, SAMPLE).unwrap();
        let mut m = Manifest::load(dir.path()).unwrap();
        m.set_dependency(DepKind::Normal, "acme:new", "^2.0.0")
            .unwrap();
        m.set_dependency(DepKind::Normal, "acme:log", "^1.5.0")
            .unwrap();
        m.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# My project")
                && text.contains("# the namespace")
                && text.contains("# local")
        );
        assert!(text.contains("\"acme:new\" = \"^2.0.0\""), "{text}");
        assert!(text.contains("version = \"^1.5.0\""), "{text}");
        assert_eq!(m.requirements.len(), 4);
    }
}
