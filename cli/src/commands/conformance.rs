//! `slicegate conformance`: Cedar's corpus through the component and native
//! cedar-policy side by side.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use slicegate::Limits;
use slicegate::bundle::CompileCache;
use slicegate_tooling::conformance::{self, Difference};

#[derive(clap::Args)]
pub struct Args {
    /// The corpus: `cedar-corpus-tests.tar.gz` (extracted to a temporary
    /// folder) or a folder of test JSON files.
    path: PathBuf,
    /// How many of native Cedar's differences from the corpus's recorded
    /// expectations to list (all are counted).
    #[arg(long, default_value_t = 10)]
    show_expectation_differences: usize,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn print(difference: &Difference, expected_label: &str, got_label: &str) {
    println!(
        "  {} [{}]\n    {expected_label}: {}\n    {got_label}: {}",
        difference.test.display(),
        difference.request,
        difference.expected,
        difference.got
    );
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let runtime = CompileCache::default_location()
        .engine_runtime(Limits::default())
        .context("starting the policy runtime")?;
    let bar = crate::progress::bar("conformance", args.quiet);
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = conformance::run(&args.path, &runtime, &progress)
        .with_context(|| format!("running the conformance corpus {}", args.path.display()))?;
    bar.finish_and_clear();

    if !report.disagreements.is_empty() {
        println!(
            "component vs native cedar-policy: {} disagreement(s)",
            report.disagreements.len()
        );
        for difference in &report.disagreements {
            print(difference, "native", "component");
        }
    }
    let differences = &report.expectation_differences;
    if differences.is_empty() {
        println!("native cedar-policy agrees with every recorded expectation of the corpus");
    } else {
        println!(
            "native cedar-policy {} differs from the corpus's recorded expectations on {} item(s) (reported, not hidden; native is the reference):",
            slicegate_tooling::native::CEDAR_VERSION,
            differences.len()
        );
        for difference in differences.iter().take(args.show_expectation_differences) {
            print(difference, "corpus", "native");
        }
        if differences.len() > args.show_expectation_differences {
            println!(
                "  ... and {} more (--show-expectation-differences N lists more)",
                differences.len() - args.show_expectation_differences
            );
        }
    }
    println!(
        "{} tests, {} requests in {:.1}s",
        report.tests,
        report.passed + report.failed,
        started.elapsed().as_secs_f64()
    );
    let paths = &report.paths;
    println!(
        "compiled: {} of {} policies; {} decisions by the compiled evaluator, {} by the interpreter alone (evaluations that error, or sets with nothing compiled); every decision also made with compiling off and compared whole",
        paths.compiled_policies,
        paths.policies,
        paths.compiled_decisions,
        paths.interpreted_decisions
    );
    println!("{} passed, {} failed", report.passed, report.failed);
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
