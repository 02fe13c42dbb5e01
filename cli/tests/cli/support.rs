//! Helpers shared by the `cli` tests: the `slicegate` binary run from the
//! repository, its output, files written for it, and the library built once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn slicegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("slicegate runs")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

pub const SCHEMA: &str = r#"entity User; entity Photo;
action view appliesTo { principal: User, resource: Photo };"#;

/// The library built once (without its tests) for the runner's tests.
pub fn library_bundle() -> &'static str {
    static BUNDLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUNDLE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let out = dir.join("library.wasm").to_string_lossy().into_owned();
        let build = slicegate(&["build", "policies", "-o", &out, "--no-test"]);
        assert!(build.status.success(), "{}", stderr(&build));
        out
    })
}

pub const WRONG_CASE: &str = r#"# A deliberately wrong expectation.
fixtures:
  uk-core:
    operation: operate
    equipment: {id: upf-1, vendor: huawei, model: huawei-upf-x, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: false}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: lon, country: GB, sensitive: false}
    network: gb-example-mobile
cases:
  - name: a Huawei UPF kept in a UK core after the deadline is allowed (wrong)
    given: uk-core
    with: {at: "2024-01-01T00:00:00Z"}
    expect: allow
"#;

pub fn cases_dir() -> String {
    repo().join("policies").to_string_lossy().into_owned()
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
