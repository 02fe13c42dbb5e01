//! `slicegate`: build, sign, verify and run 5G trust and procurement
//! policies. A thin layer of subcommands over the `slicegate` library.

mod commands;
mod exit;
mod format;
mod library;
mod output;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Decide whether vendor equipment may be placed, kept, upgraded or managed
/// in a 5G network slice, with Cedar policies run in a sandboxed WebAssembly
/// component.
#[derive(Parser)]
#[command(name = "slicegate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one generic Cedar request (flags as `cedar authorize` has them).
    ///
    /// Exit status: 0 allow, 2 deny, 1 error.
    Authorize(commands::authorize::Args),
    /// Run Cedar's conformance corpus through the component and native
    /// cedar-policy side by side, and compare every answer.
    ///
    /// Ends with `N passed, M failed` over requests; exits non-zero on any
    /// disagreement.
    Conformance(commands::conformance::Args),
    /// Build, sign, verify and load the default 5G library, then check the
    /// example network's deployment plans and a few single placements.
    Demo(commands::demo::Args),
    /// Explain one placement: the decision, every policy in scope condition
    /// by condition (true, false or errored), and the facts it read.
    ///
    /// Exit status: 0 allow, 2 deny, 1 error.
    Explain(commands::explain::Args),
    /// Check a deployment plan: every change and every kept item, then the
    /// plan-level rules on shares computed from the plan.
    ///
    /// Exit status: 0 allowed, 2 denied, 1 error.
    CheckPlan(commands::check_plan::Args),
    /// Check policies natively, then compile them into a pre-initialised
    /// component with a manifest and the sources (unsigned).
    Build(commands::build::Args),
    /// Run the policy test cases through the compiled component and native
    /// Cedar, with per-policy coverage.
    ///
    /// The last line is `N passed, M failed`; exit 1 on any failure.
    Test(commands::test::Args),
    /// Prove the library's invariants for every request and every entity
    /// store the schema admits (cedar-policy-symcc with the cvc5 solver).
    ///
    /// The last line is `N proved, M refuted`; exit 0 when all hold, 2 when
    /// one is refuted (its counterexample is printed), 1 on an error.
    Prove(commands::prove::Args),
    /// Compare two bundles or policy folders by meaning: for every request
    /// the schema admits, do they decide alike? Where not, a witness
    /// request with the policies that decide it on each side.
    ///
    /// Exit 0 when equivalent, 2 when they differ, 1 on an error.
    Diff(commands::diff::Args),
    /// Re-decide the operator's network (plans or an inventory) under the
    /// current and the proposed policies and list every decision that
    /// changes, by policy; with one bundle and --at FROM..TO, a compliance
    /// calendar.
    ///
    /// Exit 0 when nothing changes, 2 when something does, 1 on an error.
    Impact(commands::impact::Args),
    /// Show a bundle's manifest, policies, signatures, interface and sizes.
    Inspect(commands::verify::InspectArgs),
    /// Generate an Ed25519 signing key pair.
    Keygen(commands::keys::KeygenArgs),
    /// Sign a bundle (repeat --key for several signers; --detached for a
    /// signature beside the bundle).
    Sign(commands::keys::SignArgs),
    /// Verify a bundle against a trust store: signatures, threshold,
    /// validity window, revision. Exit 0 if it would be accepted.
    Verify(commands::verify::VerifyArgs),
    /// Push a bundle (and its detached signature, as a referrer) to an OCI
    /// registry: oci://HOST[:PORT]/REPO:TAG.
    Push(commands::push::PushArgs),
    /// Pull a bundle (and its detached signature) from an OCI registry,
    /// checked against its digests; with --trust, verified before anything
    /// is written.
    Pull(commands::push::PullArgs),
    /// Serve decisions over HTTP from a signed bundle, reloading it when a
    /// newer one is published (see server/openapi.yaml).
    Serve(Box<commands::serve::Args>),
    /// Decision logs.
    #[command(subcommand)]
    Log(commands::log::Command),
    /// Time decisions through the component against native cedar-policy on
    /// the same policies and request; prints medians, ratios and guest fuel.
    ///
    /// Rows: one decision (generic and typed interfaces), a batch, cold
    /// start (verify + load, fresh instance + first decision), and
    /// generated scale-ups of the reference data (+100 to +100 000 catalog
    /// models) and of the policy set (+10 to +1 000 policies). The full run
    /// takes several minutes; `--quick` about half a minute.
    Bench(commands::bench::Args),
}

/// A reader that closed the pipe early (`slicegate inspect … | head`) ends
/// the command quietly, as a process killed by SIGPIPE would (exit 141): no
/// panic message, and never an exit status that reads as success.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") && message.contains("failed printing to std") {
            exit::run_actions();
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    // First, before any thread: the run's private temporary folder.
    exit::private_tmpdir();
    exit::at_exit(library::clean_up);
    quiet_on_closed_pipe();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLICEGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // A closed stderr must not end `serve`: the subscriber's own
        // complaint about it would be printed with a panicking `eprintln!`.
        .log_internal_errors(false)
        .init();
    // A usage error exits 1, as every error does: 2 means deny, refuted,
    // different or changed for the commands that decide.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 1 } else { 0 });
        }
    };
    // `serve` stops gracefully on a signal (its log closed); every other
    // command cleans up and ends.
    let stop = match &cli.command {
        Command::Serve(_) => Some(exit::stop_flag_on_signals()),
        _ => {
            exit::exit_on_signals();
            None
        }
    };
    let result = match cli.command {
        Command::Authorize(args) => commands::authorize::run(args),
        Command::Conformance(args) => commands::conformance::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::CheckPlan(args) => commands::check_plan::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Serve(args) => commands::serve::run(*args, stop.unwrap_or_default()),
        Command::Log(command) => commands::log::run(command),
        Command::Bench(args) => commands::bench::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Prove(args) => commands::prove::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Impact(args) => commands::impact::run(args),
        Command::Inspect(args) => commands::verify::inspect(args),
        Command::Keygen(args) => commands::keys::keygen(args),
        Command::Sign(args) => commands::keys::sign(args),
        Command::Verify(args) => commands::verify::verify(args),
        Command::Push(args) => commands::push::push(args),
        Command::Pull(args) => commands::push::pull(args),
    };
    exit::run_actions();
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
