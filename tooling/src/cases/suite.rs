//! A suite's results: coverage, per-file reports, human, JSON and JUnit.

use std::collections::BTreeMap;

use serde::Serialize;

use super::*;

/// Per-policy coverage over a run: how many cases each policy determined or
/// errored on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// Policy id → cases it determined.
    pub determined: BTreeMap<String, usize>,
    /// Policy id → cases it errored on.
    pub errored: BTreeMap<String, usize>,
}

impl Coverage {
    /// Coverage of `results` over `policy_ids`.
    pub fn of(policy_ids: &[String], results: &[CaseResult]) -> Self {
        let mut coverage = Coverage::default();
        for id in policy_ids {
            coverage.determined.insert(id.clone(), 0);
            coverage.errored.insert(id.clone(), 0);
        }
        for result in results {
            for id in &result.determining {
                *coverage.determined.entry(id.clone()).or_default() += 1;
            }
            for id in &result.errored {
                *coverage.errored.entry(id.clone()).or_default() += 1;
            }
        }
        coverage
    }

    /// The policies no case exercised.
    pub fn unexercised(&self) -> Vec<&str> {
        self.determined
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

/// One file's results in a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// The case file.
    pub file: String,
    /// Its cases' results (those the filter kept).
    pub results: Vec<CaseResult>,
}

/// A whole run: every file, the totals and the policy coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suite {
    /// Per file, in path order.
    pub files: Vec<FileReport>,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases left out because they need packs the bundle does not hold.
    pub not_run: usize,
    /// Per-policy coverage.
    pub coverage: Coverage,
    /// Policies that determined at least one case, as a percentage of all.
    pub coverage_percent: f64,
}

impl Suite {
    /// Runs every case of `files` whose name or file contains `filter`.
    pub fn run(
        runner: &mut Runner<'_>,
        files: &[CaseFile],
        filter: Option<&str>,
        policy_ids: &[String],
    ) -> Suite {
        let mut reports = Vec::new();
        let mut not_run = 0;
        for file in files {
            let path = file.path.display().to_string();
            let chosen: Vec<&(usize, Case)> = file
                .cases
                .iter()
                .filter(|(_, case)| {
                    filter.is_none_or(|f| case.name.contains(f) || path.contains(f))
                })
                .collect();
            let mut results: Vec<CaseResult> = Vec::new();
            for (line, case) in chosen {
                if runner.applies(case) {
                    results.push(runner.run(&path, *line, case));
                } else {
                    not_run += 1;
                }
            }
            if !results.is_empty() {
                reports.push(FileReport {
                    file: path,
                    results,
                });
            }
        }
        let all: Vec<CaseResult> = reports.iter().flat_map(|r| r.results.clone()).collect();
        let passed = all.iter().filter(|r| r.passed).count();
        let coverage = Coverage::of(policy_ids, &all);
        let exercised = coverage.determined.values().filter(|n| **n > 0).count();
        let coverage_percent = if coverage.determined.is_empty() {
            0.0
        } else {
            100.0 * exercised as f64 / coverage.determined.len() as f64
        };
        Suite {
            files: reports,
            passed,
            failed: all.len() - passed,
            not_run,
            coverage,
            coverage_percent,
        }
    }

    /// `N passed, M failed` (and how many cases need packs the bundle does
    /// not hold).
    pub fn summary(&self) -> String {
        let left_out = if self.not_run > 0 {
            format!(
                " ({} not run: they need packs this bundle does not hold)",
                self.not_run
            )
        } else {
            String::new()
        };
        format!("{} passed, {} failed{left_out}", self.passed, self.failed)
    }

    /// The summary recorded in a bundle's manifest.
    pub fn manifest_summary(&self) -> String {
        format!(
            "{}; policy coverage {:.1} % ({} of {} policies determined a case)",
            self.summary(),
            self.coverage_percent,
            self.coverage
                .determined
                .values()
                .filter(|n| **n > 0)
                .count(),
            self.coverage.determined.len()
        )
    }

    /// For people: a line per file, every failure in full, the coverage
    /// and the summary last.
    pub fn to_human(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for file in &self.files {
            let failed = file.results.iter().filter(|r| !r.passed).count();
            let _ = writeln!(
                out,
                "{}: {} passed{}",
                file.file,
                file.results.len() - failed,
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                }
            );
            for result in file.results.iter().filter(|r| !r.passed) {
                let _ = writeln!(
                    out,
                    "  FAIL {}:{}: {}",
                    result.file, result.line, result.name
                );
                for problem in &result.problems {
                    let _ = writeln!(out, "      {problem}");
                }
                for line in &result.explanation {
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
        let unexercised = self.coverage.unexercised();
        let _ = writeln!(
            out,
            "coverage: {:.1} % of {} policies determined at least one case{}",
            self.coverage_percent,
            self.coverage.determined.len(),
            if unexercised.is_empty() {
                String::new()
            } else {
                format!("; never: {}", unexercised.join(", "))
            }
        );
        let erroring: Vec<String> = self
            .coverage
            .errored
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(id, n)| format!("{id} ({n})"))
            .collect();
        if !erroring.is_empty() {
            let _ = writeln!(out, "errored: {}", erroring.join(", "));
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// JUnit XML, as CI systems read it: a `testsuite` per file, a
    /// `testcase` per case, a `failure` with the problems.
    pub fn to_junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("slicegate");
        for file in &self.files {
            let mut suite = TestSuite::new(xml_text(&file.file));
            for result in &file.results {
                let status = if result.passed {
                    TestCaseStatus::success()
                } else {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status
                        .set_message(xml_text(result.problems.first().map_or("", String::as_str)))
                        .set_description(xml_text(
                            &[result.problems.clone(), result.explanation.clone()]
                                .concat()
                                .join("\n"),
                        ));
                    status
                };
                let mut case = TestCase::new(xml_text(&result.name), status);
                case.set_classname(xml_text(&file.file));
                case.extra
                    .insert("file".into(), xml_text(&result.file).into());
                case.extra
                    .insert("line".into(), result.line.to_string().into());
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report
            .to_string()
            .unwrap_or_else(|e| format!("<!-- writing the JUnit report failed: {e} -->\n"))
    }
}

/// Text XML 1.0 can carry: most control characters cannot be written at
/// all (escaping included), so they become U+FFFD.
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => '\u{FFFD}',
            c => c,
        })
        .collect()
}
