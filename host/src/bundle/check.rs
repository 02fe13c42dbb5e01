//! The native half of `slicegate build`: parse every file and validate
//! strictly, with errors that point at file, line, column and the text.

use std::collections::BTreeMap;
use std::str::FromStr;

use cedar_policy::{Effect, Entities, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource};

use super::manifest::PolicySummary;
use crate::sources::PolicySources;

/// The policies in a checked set, with the file each came from.
#[derive(Debug, Clone)]
pub struct CheckedPolicies {
    /// One summary per policy, in source order.
    pub policies: Vec<PolicySummary>,
    /// What does not stop a build but should be fixed: Cedar's validator
    /// and schema warnings, and policies missing `@pack`, `@reason` or
    /// `@source`.
    pub warnings: Vec<Problem>,
}

/// One located problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The message with its source excerpt.
    pub rendered: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{line}:{column}: ", self.file)?,
            _ => write!(f, "{}: ", self.file)?,
        }
        f.write_str(&self.rendered)
    }
}

/// Why policies did not check.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s):\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct CheckError(pub Vec<Problem>);

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A problem from a Cedar diagnostic about `text` (the file `file`).
fn problem(
    diagnostic: &(dyn Diagnostic + Send + Sync + 'static),
    file: &str,
    text: &str,
) -> Problem {
    let offset = diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let (line, column) = offset.map(|o| line_column(text, o)).unzip();
    let mut rendered = String::new();
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    // Render the diagnostic's own labels and help against the named file.
    let wrapped = Located {
        inner: diagnostic,
        source: NamedSource::new(file, text.to_string()),
    };
    if handler.render_report(&mut rendered, &wrapped).is_err() {
        rendered = crate::errors::chain(diagnostic);
    }
    Problem {
        file: file.to_string(),
        line,
        column,
        rendered: rendered.trim_end().to_string(),
    }
}

/// A diagnostic shown against a named source file.
struct Located<'a> {
    inner: &'a (dyn Diagnostic + Send + Sync + 'static),
    source: NamedSource<String>,
}

impl std::fmt::Debug for Located<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.inner, f)
    }
}

impl std::fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::errors::chain(self.inner))
    }
}

impl std::error::Error for Located<'_> {}

impl Diagnostic for Located<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.code()
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.help()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
}

/// Parses and strictly validates `sources` natively; every problem found is
/// reported, each located in its file.
pub fn check(sources: &PolicySources) -> Result<CheckedPolicies, CheckError> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let schema = check_schema(sources, &mut problems, &mut warnings);
    let (set, file_of, summaries) = check_policies(sources, &mut problems, &mut warnings);
    if let Some(schema) = &schema {
        validate(
            schema,
            &set,
            &file_of,
            sources,
            &mut problems,
            &mut warnings,
        );
        check_entities(schema, sources, &mut problems);
    }
    if problems.is_empty() {
        Ok(CheckedPolicies {
            policies: summaries,
            warnings,
        })
    } else {
        problems.dedup();
        Err(CheckError(problems))
    }
}

/// The schema, parsed (its warnings and errors located in its file).
fn check_schema(
    sources: &PolicySources,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Option<Schema> {
    match &sources.schema {
        Some(file) => match Schema::from_cedarschema_str(&file.text) {
            Ok((schema, schema_warnings)) => {
                for warning in schema_warnings {
                    warnings.push(problem(&warning, &file.name, &file.text));
                }
                Some(schema)
            }
            Err(e) => {
                problems.push(problem(&e, &file.name, &file.text));
                None
            }
        },
        None => None,
    }
}

/// Every policy parsed, named by its `@id` (unique, required) and
/// summarised; the annotations a decision's reasons need are warned about
/// when missing.
fn check_policies(
    sources: &PolicySources,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> (PolicySet, BTreeMap<String, usize>, Vec<PolicySummary>) {
    let mut set = PolicySet::new();
    let mut file_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut summaries = Vec::new();
    for (index, file) in sources.policies.iter().enumerate() {
        let parsed = match PolicySet::from_str(&file.text) {
            Ok(parsed) => parsed,
            Err(e) => {
                problems.push(problem(&e, &file.name, &file.text));
                continue;
            }
        };
        let mut in_file: Vec<_> = parsed.policies().collect();
        in_file.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        for policy in in_file {
            let at = |offset: Option<usize>| {
                let (line, column) = offset.map(|o| line_column(&file.text, o)).unzip();
                (line, column)
            };
            // A parsed policy displays as its original text: find it in the
            // file to locate it.
            let offset = file.text.find(policy.to_string().trim());
            let Some(id) = policy.annotation("id").map(str::to_string) else {
                let (line, column) = at(offset);
                problems.push(Problem {
                    file: file.name.clone(),
                    line,
                    column,
                    rendered: "policy has no @id annotation; every policy needs a stable @id"
                        .to_string(),
                });
                continue;
            };
            if let Some(&other) = file_of.get(&id) {
                let (line, column) = at(offset);
                problems.push(Problem {
                    file: file.name.clone(),
                    line,
                    column,
                    rendered: format!(
                        "@id(\"{id}\") is also used in {}",
                        sources.policies[other].name
                    ),
                });
                continue;
            }
            let annotation = |key: &str| policy.annotation(key).map(str::to_string);
            // The engine reads a bundle's regimes from `@pack`: a policy
            // claiming another pack than its folder's would make a bundle
            // built without that pack decide (unruled) where it must refuse.
            if let (Some(folder), Some(claimed)) = (
                crate::sources::pack_of(&file.name),
                policy.annotation("pack"),
            ) && folder != claimed
            {
                let (line, column) = at(offset);
                problems.push(Problem {
                    file: file.name.clone(),
                    line,
                    column,
                    rendered: format!(
                        "policy {id} is in packs/{folder}/ but says @pack(\"{claimed}\"): a \
                         policy's pack is its folder"
                    ),
                });
                continue;
            }
            let missing: Vec<&str> = ["pack", "reason", "source"]
                .into_iter()
                .filter(|key| policy.annotation(key).is_none_or(str::is_empty))
                .collect();
            if !missing.is_empty() {
                let (line, column) = at(offset);
                warnings.push(Problem {
                    file: file.name.clone(),
                    line,
                    column,
                    rendered: format!(
                        "policy {id} has no {}; decisions it determines cannot say why",
                        missing
                            .iter()
                            .map(|k| format!("@{k}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            summaries.push(PolicySummary {
                id: id.clone(),
                effect: match policy.effect() {
                    Effect::Permit => "permit".to_string(),
                    Effect::Forbid => "forbid".to_string(),
                },
                pack: annotation("pack"),
                reason: annotation("reason"),
                source: annotation("source"),
                file: file.name.clone(),
            });
            file_of.insert(id.clone(), index);
            if let Err(e) = set.add(policy.new_id(PolicyId::new(&id))) {
                problems.push(problem(&e, &file.name, &file.text));
            }
        }
    }
    (set, file_of, summaries)
}

/// Strict validation against the schema, each finding located in the file
/// of its policy.
fn validate(
    schema: &Schema,
    set: &PolicySet,
    file_of: &BTreeMap<String, usize>,
    sources: &PolicySources,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    let result = Validator::new(schema.clone()).validate(set, ValidationMode::Strict);
    // Each validator finding, located in the file of its policy.
    let locate =
        |id: &PolicyId, diagnostic: &(dyn Diagnostic + Send + Sync + 'static)| match file_of
            .get(&id.to_string())
            .map(|&i| &sources.policies[i])
        {
            Some(file) => problem(diagnostic, &file.name, &file.text),
            None => Problem {
                file: "(policies)".to_string(),
                line: None,
                column: None,
                rendered: crate::errors::chain(diagnostic),
            },
        };
    for warning in result.validation_warnings() {
        warnings.push(locate(warning.policy_id(), warning));
    }
    for error in result.validation_errors() {
        problems.push(locate(error.policy_id(), error));
    }
}

/// The reference data: each file on its own, then all together.
fn check_entities(schema: &Schema, sources: &PolicySources, problems: &mut Vec<Problem>) {
    let mut all = Vec::new();
    let mut each_file_conforms = true;
    for file in &sources.entities {
        match serde_json::from_str::<serde_json::Value>(&file.text) {
            Ok(serde_json::Value::Array(items)) => {
                // Each file on its own first, so a problem names its file
                // (references to entities in other files are allowed).
                let value = serde_json::Value::Array(items.clone());
                if let Err(e) = Entities::from_json_value(value, Some(schema)) {
                    each_file_conforms = false;
                    problems.push(problem(&e, &file.name, &file.text));
                }
                all.extend(items);
            }
            Ok(_) => problems.push(Problem {
                file: file.name.clone(),
                line: None,
                column: None,
                rendered: "entities must be a JSON array".to_string(),
            }),
            Err(e) => problems.push(Problem {
                file: file.name.clone(),
                line: Some(e.line()),
                column: Some(e.column()),
                rendered: format!("invalid JSON: {e}"),
            }),
        }
    }
    if each_file_conforms
        && let Err(e) = Entities::from_json_value(serde_json::Value::Array(all), Some(schema))
    {
        let names: Vec<&str> = sources.entities.iter().map(|f| f.name.as_str()).collect();
        problems.push(Problem {
            file: names.join(", "),
            line: None,
            column: None,
            rendered: format!(
                "reference data does not load as one set: {}",
                crate::errors::chain(&e)
            ),
        });
    }
}
