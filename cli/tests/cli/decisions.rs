//! Decisions from the command line: `slicegate demo`, `check-plan` and
//! `explain`.

use crate::support::{repo, slicegate, stderr, stdout, write};

#[test]
fn demo_runs_with_no_arguments_and_shows_allows_and_denies() {
    let demo = slicegate(&["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let out = stdout(&demo);
    assert!(out.contains("uk-hrv/out-of-core"), "{out}");
    assert!(out.contains("ALLOW") && out.contains("DENY"), "{out}");
    assert!(out.contains("unknown entity"), "{out}");
    // The example network's plans, with per-item reasons and shares.
    for network in [
        "gb-example-mobile",
        "de-example-funk",
        "se-example-tele",
        "fr-example-telecom",
        "us-example-wireless",
    ] {
        assert!(out.contains(&format!("({network}) ==")), "{network}: {out}");
    }
    assert!(out.contains("uk-designated 36.37 %"), "{out}");
    assert!(out.contains("forbid uk-hrv/access-share-cap"), "{out}");
    assert!(
        out.contains("forbid eu-5g-toolbox/sm05-single-vendor-cap"),
        "{out}"
    );
    assert!(out.contains("forbid us-clean-network/clean-path"), "{out}");

    let json = slicegate(&["demo", "--json"]);
    assert!(json.status.success());
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let rows = report["placements"].as_array().unwrap();
    assert!(rows.len() >= 5);
    for row in rows {
        assert_eq!(row["decision"]["evaluatedAt"]["kind"], "what-if");
    }
    let plans = report["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 5);
    for plan in plans {
        assert_eq!(plan["result"]["allowed"], false, "{plan}");
        assert!(
            plan["result"]["items"]
                .as_array()
                .is_some_and(|i| !i.is_empty())
        );
    }
}

#[test]
fn check_plan_exits_by_verdict_and_refuses_bad_plans() {
    let fr = "policies/examples/plans/fr-example-telecom.json";
    // The plan sets its own time: refused unless what-if is asked for.
    let strict = slicegate(&["check-plan", fr]);
    assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
    assert!(stdout(&strict).contains("what-if"), "{}", stdout(&strict));

    let denied = slicegate(&["check-plan", fr, "--what-if"]);
    assert_eq!(denied.status.code(), Some(2), "{}", stderr(&denied));
    let out = stdout(&denied);
    assert!(
        out.contains("vendor groups: ericsson 70.00 %, nokia 30.00 %"),
        "{out}"
    );
    assert!(
        out.contains("eu-5g-toolbox/sm05-single-vendor-cap"),
        "{out}"
    );

    // Without the new radio Ericsson holds 6 of 9 sites, still over 50 %;
    // without three Ericsson radios as well it holds exactly the cap.
    let dir = tempfile::tempdir().unwrap();
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(fr)).unwrap()).unwrap();
    plan["changes"] = serde_json::json!([]);
    let installed = plan["installed"].as_array_mut().unwrap();
    installed.retain(|i| {
        !["gnb-par-01", "gnb-par-02", "gnb-par-03"]
            .iter()
            .any(|id| i["equipment"]["id"] == *id)
    });
    let allowed_plan = write(dir.path(), "ok.json", &plan.to_string());
    let allowed = slicegate(&["check-plan", &allowed_plan, "--what-if", "--json"]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));
    let result: serde_json::Value = serde_json::from_str(&stdout(&allowed)).unwrap();
    assert_eq!(result["allowed"], true);
    assert_eq!(result["vendorShares"][0]["basisPoints"], 5000);
    assert_eq!(result["evaluatedAt"]["kind"], "what-if");

    let broken = write(
        dir.path(),
        "broken.json",
        "{\"network\": \"fr-example-telecom\",\n \"metric\": \"sites\", \"sites\": 7}",
    );
    let refused = slicegate(&["check-plan", &broken]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("broken.json") && stderr(&refused).contains("line 2"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn explain_names_the_condition_that_decided_each_policy_and_the_facts_read() {
    let dir = tempfile::tempdir().unwrap();
    let request = write(
        dir.path(),
        "req.json",
        r#"{"operation": "place",
            "equipment": {"id": "oru-9", "vendor": "test-subsidiary-of-subsidiary",
                          "model": "test-subsidiary-ru", "softwareVersion": "1",
                          "softwareSigned": true, "sbom": true, "subsidyFunded": false},
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
            "site": {"id": "man-9", "country": "GB", "sensitive": false},
            "network": "gb-example-mobile", "at": "2023-03-01T09:00:00Z"}"#,
    );
    let run = slicegate(&["explain", &request, "--json"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let explanation: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(explanation["decision"]["allowed"], false);
    assert_eq!(
        explanation["vendorChain"],
        serde_json::json!([
            "test-subsidiary-of-subsidiary",
            "test-huawei-subsidiary",
            "huawei",
            "huawei-holding"
        ])
    );
    let policies = explanation["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 41);
    let find = |id: &str| policies.iter().find(|p| p["policyId"] == id).unwrap();
    let applied: Vec<&str> = policies
        .iter()
        .filter(|p| p["applied"] == true)
        .map(|p| p["policyId"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["uk-hrv/no-new-installation"]);
    assert_eq!(
        find("uk-hrv/out-of-core")["summary"],
        "when condition false: principal.domain == \"core\""
    );
    assert_eq!(
        find("baseline/known-vendor")["summary"],
        "all conditions held, but a forbid applied and overrides it"
    );
    // Cedar's evaluation order: after a false `when`, nothing else is evaluated.
    let nesas = find("baseline/nesas-audit")["conditions"]
        .as_array()
        .unwrap()
        .clone();
    let values: Vec<&str> = nesas.iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["false", "not evaluated", "not evaluated"]);
    assert!(
        policies
            .iter()
            .all(|p| !p["summary"].as_str().unwrap().contains("errored"))
    );

    let human = slicegate(&["explain", &request]);
    let out = stdout(&human);
    assert!(
        out.starts_with("DENY (what-if time 2023-03-01T09:00:00Z)"),
        "{out}"
    );
    assert!(out.contains("vendor chain: test-subsidiary-of-subsidiary → test-huawei-subsidiary → huawei → huawei-holding"), "{out}");
    assert!(
        out.contains("applied (1):\n  forbid uk-hrv/no-new-installation"),
        "{out}"
    );

    let unknown = write(
        dir.path(),
        "unknown.json",
        &std::fs::read_to_string(&request)
            .unwrap()
            .replace("test-subsidiary-of-subsidiary", "acme-radio"),
    );
    let refused = slicegate(&["explain", &unknown]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stdout(&refused).contains("DENY: unknown entity: vendor `acme-radio`"),
        "{}",
        stdout(&refused)
    );
}
