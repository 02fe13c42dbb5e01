//! `slicegate conformance`: Cedar's conformance tests and corpus against
//! native Cedar.

use crate::support::{repo, slicegate, stderr, stdout};

#[test]
fn conformance_agrees_with_native_cedar_on_the_hand_written_tests() {
    let tests = repo().join("../shared/conformance/tests");
    assert!(
        tests.is_dir(),
        "the conformance tests are expected at {}",
        tests.display()
    );
    let run = slicegate(&["conformance", "-q", &tests.to_string_lossy()]);
    assert!(run.status.success(), "{}\n{}", stdout(&run), stderr(&run));
    let out = stdout(&run);
    let last = out.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{out}");
}

#[test]
fn conformance_agrees_with_native_cedar_on_the_whole_corpus() {
    let corpus = repo().join("../shared/conformance/cedar-corpus-tests.tar.gz");
    assert!(
        corpus.is_file(),
        "the Cedar corpus is expected at {}",
        corpus.display()
    );
    let run = slicegate(&["conformance", "-q", &corpus.to_string_lossy()]);
    let out = stdout(&run);
    assert!(run.status.success(), "{out}\n{}", stderr(&run));
    assert_eq!(out.lines().last(), Some("62472 passed, 0 failed"), "{out}");
}

#[test]
fn conformance_reports_a_missing_corpus_as_an_error() {
    let run = slicegate(&["conformance", "/nonexistent/corpus.tar.gz"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("no such file"), "{}", stderr(&run));
}
