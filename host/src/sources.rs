//! The texts a policy set is made of, read from disk.

use std::fs;
use std::path::{Path, PathBuf};

use crate::bindings::exports::slicegate::policy::loader;

/// Errors reading policy sources.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    /// A file or folder could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The folder has no schema.
    #[error("{0} has no schema.cedarschema")]
    NoSchema(PathBuf),
    /// The folder has no policies.
    #[error("{0} has no .cedar policy files under packs/")]
    NoPolicies(PathBuf),
    /// A requested pack does not exist.
    #[error("no pack `{pack}` under {dir}/packs (packs there: {available})")]
    UnknownPack {
        /// The folder.
        dir: PathBuf,
        /// The pack asked for.
        pack: String,
        /// The packs that exist.
        available: String,
    },
}

/// The pack a policy file belongs to: the folder under `packs/`.
pub fn pack_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("packs/")?;
    rest.split_once('/').map(|(pack, _)| pack)
}

/// One named source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The name used in messages: a path relative to the policy folder.
    pub name: String,
    /// The text.
    pub text: String,
}

impl SourceFile {
    /// Reads `path`, naming it `name`.
    pub fn read(path: &Path, name: impl Into<String>) -> Result<Self, SourcesError> {
        let text = fs::read_to_string(path).map_err(|source| SourcesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(SourceFile {
            name: name.into(),
            text,
        })
    }

    fn to_wit(&self) -> loader::SourceFile {
        loader::SourceFile {
            name: self.name.clone(),
            text: self.text.clone(),
        }
    }
}

/// How policies are identified in decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyIdMode {
    /// Cedar's own positional ids (`policy0`, ...): one policy file only.
    Positional,
    /// Each policy's `@id` annotation.
    Annotation,
}

/// A policy set's sources: policies, schema and reference data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySources {
    /// Policy files.
    pub policies: Vec<SourceFile>,
    /// The schema, if any.
    pub schema: Option<SourceFile>,
    /// Entity files (reference data).
    pub entities: Vec<SourceFile>,
    /// How policies are identified.
    pub policy_ids: PolicyIdMode,
    /// Whether strict validation failures refuse the load.
    pub strict: bool,
    /// The bundle name.
    pub bundle_name: String,
    /// The bundle revision.
    pub bundle_revision: u64,
}

impl PolicySources {
    /// Reads a policy folder laid out as `policies/` is:
    /// `schema.cedarschema`, `packs/<pack>/*.cedar` and `data/*.json`.
    /// Policies are identified by `@id` and validated strictly. Files are
    /// taken in sorted order so the same folder always loads the same way.
    pub fn from_dir(dir: &Path) -> Result<Self, SourcesError> {
        Self::from_dir_with_packs(dir, None)
    }

    /// As [`PolicySources::from_dir`], keeping only the policy files of the
    /// named packs (`packs/<pack>/...`) when `packs` is given.
    pub fn from_dir_with_packs(dir: &Path, packs: Option<&[String]>) -> Result<Self, SourcesError> {
        let schema_path = dir.join("schema.cedarschema");
        if !schema_path.is_file() {
            return Err(SourcesError::NoSchema(dir.to_path_buf()));
        }
        let schema = SourceFile::read(&schema_path, "schema.cedarschema")?;
        let mut policies = read_tree(dir, &dir.join("packs"), "cedar")?;
        if let Some(packs) = packs {
            let available: Vec<&str> = {
                let mut all: Vec<&str> = policies.iter().filter_map(|f| pack_of(&f.name)).collect();
                all.dedup();
                all
            };
            if let Some(missing) = packs.iter().find(|p| !available.contains(&p.as_str())) {
                return Err(SourcesError::UnknownPack {
                    dir: dir.to_path_buf(),
                    pack: missing.clone(),
                    available: available.join(", "),
                });
            }
            policies
                .retain(|f| pack_of(&f.name).is_some_and(|p| packs.iter().any(|want| want == p)));
        }
        if policies.is_empty() {
            return Err(SourcesError::NoPolicies(dir.to_path_buf()));
        }
        let entities = read_tree(dir, &dir.join("data"), "json")?;
        let bundle_name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "policies".to_string());
        Ok(PolicySources {
            policies,
            schema: Some(schema),
            entities,
            policy_ids: PolicyIdMode::Annotation,
            strict: true,
            bundle_name,
            bundle_revision: 0,
        })
    }

    /// Sources as the Cedar CLI takes them: one policy file (positional ids),
    /// an optional schema and an optional entities file. Validation is
    /// reported, not enforced.
    pub fn from_files(
        policies: &Path,
        schema: Option<&Path>,
        entities: Option<&Path>,
    ) -> Result<Self, SourcesError> {
        let named = |p: &Path| SourceFile::read(p, p.display().to_string());
        Ok(PolicySources {
            policies: vec![named(policies)?],
            schema: schema.map(named).transpose()?,
            entities: entities.map(named).transpose()?.into_iter().collect(),
            policy_ids: PolicyIdMode::Positional,
            strict: false,
            bundle_name: "cli".to_string(),
            bundle_revision: 0,
        })
    }

    /// The packs the policy files belong to, sorted, without duplicates.
    pub fn packs(&self) -> Vec<String> {
        let mut packs: Vec<String> = self
            .policies
            .iter()
            .filter_map(|f| pack_of(&f.name).map(str::to_string))
            .collect();
        packs.sort();
        packs.dedup();
        packs
    }

    /// The `Network` entities of the reference data (Cedar entity JSON).
    pub fn networks(&self) -> impl Iterator<Item = serde_json::Value> + '_ {
        self.entities
            .iter()
            .filter_map(|file| serde_json::from_str::<serde_json::Value>(&file.text).ok())
            .filter_map(|value| value.as_array().cloned())
            .flatten()
            .filter(|e| {
                e.pointer("/uid/type").and_then(serde_json::Value::as_str) == Some("Network")
            })
    }

    /// Each network of the reference data with the regimes it is under.
    pub fn network_regimes(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.networks()
            .filter_map(|e| {
                let id = e.pointer("/uid/id")?.as_str()?.to_string();
                let regimes = e
                    .pointer("/attrs/regimes")
                    .and_then(serde_json::Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(serde_json::Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                Some((id, regimes))
            })
            .collect()
    }

    /// Each customer category covered on every network by a regime
    /// (`Regime` entities), with those regimes.
    pub fn category_regimes(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for e in self
            .entities
            .iter()
            .filter_map(|file| serde_json::from_str::<serde_json::Value>(&file.text).ok())
            .filter_map(|value| value.as_array().cloned())
            .flatten()
            .filter(|e| {
                e.pointer("/uid/type").and_then(serde_json::Value::as_str) == Some("Regime")
            })
        {
            let Some(regime) = e.pointer("/uid/id").and_then(serde_json::Value::as_str) else {
                continue;
            };
            for category in e
                .pointer("/attrs/categories")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
            {
                out.entry(category.to_string())
                    .or_default()
                    .push(regime.to_string());
            }
        }
        out
    }

    /// The regimes that cover every slice serving a US federal customer
    /// (`Regime` entities with `usFederal`).
    pub fn federal_regimes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .entities
            .iter()
            .filter_map(|file| serde_json::from_str::<serde_json::Value>(&file.text).ok())
            .filter_map(|value| value.as_array().cloned())
            .flatten()
            .filter(|e| {
                e.pointer("/uid/type").and_then(serde_json::Value::as_str) == Some("Regime")
            })
            .filter(|e| e.pointer("/attrs/usFederal") == Some(&serde_json::Value::Bool(true)))
            .filter_map(|e| e.pointer("/uid/id")?.as_str().map(String::from))
            .collect();
        out.sort();
        out
    }

    /// The customer categories covered everywhere by a regime whose pack
    /// these sources do not hold, with those regimes (and `usFederal` for
    /// the regimes covering federal slices): a bundle built from them
    /// refuses decisions on those slices.
    pub fn categories_without_their_packs(&self) -> Vec<(String, Vec<String>)> {
        let packs = self.packs();
        let mut out: Vec<(String, Vec<String>)> = self
            .category_regimes()
            .into_iter()
            .filter_map(|(category, regimes)| {
                let missing: Vec<String> =
                    regimes.into_iter().filter(|r| !packs.contains(r)).collect();
                (!missing.is_empty()).then_some((category, missing))
            })
            .collect();
        let federal: Vec<String> = self
            .federal_regimes()
            .into_iter()
            .filter(|r| !packs.contains(r))
            .collect();
        if !federal.is_empty() {
            out.push(("usFederal".to_string(), federal));
        }
        out
    }

    /// The networks under a regime whose pack these sources do not hold,
    /// with those regimes: a bundle built from them refuses decisions on
    /// these networks.
    pub fn networks_without_their_packs(&self) -> Vec<(String, Vec<String>)> {
        let packs = self.packs();
        self.network_regimes()
            .into_iter()
            .filter_map(|(id, regimes)| {
                let missing: Vec<String> =
                    regimes.into_iter().filter(|r| !packs.contains(r)).collect();
                (!missing.is_empty()).then_some((id, missing))
            })
            .collect()
    }

    pub(crate) fn to_wit(&self) -> loader::PolicySources {
        loader::PolicySources {
            policies: self.policies.iter().map(SourceFile::to_wit).collect(),
            schema: self.schema.as_ref().map(SourceFile::to_wit),
            entities: self.entities.iter().map(SourceFile::to_wit).collect(),
            policy_ids: match self.policy_ids {
                PolicyIdMode::Positional => loader::PolicyIds::Positional,
                PolicyIdMode::Annotation => loader::PolicyIds::Annotation,
            },
            strict: self.strict,
            bundle_name: self.bundle_name.clone(),
            bundle_revision: self.bundle_revision,
            compile: true,
        }
    }
}

/// Every file with extension `ext` under `dir`, recursively, sorted by path,
/// named relative to `root`. A missing `dir` is empty.
fn read_tree(root: &Path, dir: &Path, ext: &str) -> Result<Vec<SourceFile>, SourcesError> {
    let mut paths = Vec::new();
    collect(dir, ext, &mut paths)?;
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path
                .strip_prefix(root)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            SourceFile::read(path, name)
        })
        .collect()
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> Result<(), SourcesError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let read_err = |source| SourcesError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.is_dir() {
            collect(&path, ext, out)?;
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}
