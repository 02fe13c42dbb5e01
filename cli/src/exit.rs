//! Ending a run cleanly however it ends — returning, a signal, or a reader
//! that closed the pipe: the temporary files of the run are removed and
//! `serve`'s decision log is closed with its final checkpoint. Only a crash
//! (SIGKILL, power loss) skips this.
//!
//! Every temporary file of a run lives in one private folder (0700) made at
//! start: `TMPDIR` points there for the rest of the process, so whatever
//! makes a temporary folder — the built-in library, the demo's state, the
//! bench's cache, the conformance corpus — makes it inside, and removing
//! that one folder removes them all.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use libc::{
    SIGALRM, SIGHUP, SIGINT, SIGIO, SIGPROF, SIGPWR, SIGQUIT, SIGSTKFLT, SIGTERM, SIGUSR1, SIGUSR2,
    SIGVTALRM, SIGXCPU, SIGXFSZ,
};

/// Every signal whose default action ends the process and that a process
/// may catch: the named ones, SIGSTKFLT and every real-time signal (SIGKILL
/// and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
/// SIGTRAP and SIGSYS are crashes).
pub fn ending_signals() -> Vec<i32> {
    let mut signals = vec![
        SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU,
        SIGXFSZ, SIGIO, SIGPWR, SIGSTKFLT,
    ];
    signals.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    signals
}

type Action = Box<dyn FnOnce() + Send>;

static ACTIONS: Mutex<Vec<Action>> = Mutex::new(Vec::new());

/// Runs `action` when the run ends, however it ends (latest first).
pub fn at_exit(action: impl FnOnce() + Send + 'static) {
    ACTIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Box::new(action));
}

/// Runs the actions registered with [`at_exit`], each once.
pub fn run_actions() {
    let actions = std::mem::take(&mut *ACTIONS.lock().unwrap_or_else(|p| p.into_inner()));
    for action in actions.into_iter().rev() {
        action();
    }
}

/// Makes the run's private temporary folder and points `TMPDIR` at it.
/// Call first thing in `main`, before any other thread exists.
pub fn private_tmpdir() {
    let Ok(dir) = tempfile::Builder::new().prefix("slicegate-run-").tempdir() else {
        // No temporary folder to be had: the commands that need one say so.
        return;
    };
    // SAFETY: called at the start of `main`, before any thread is spawned,
    // so nothing reads the environment concurrently.
    unsafe { std::env::set_var("TMPDIR", dir.path()) };
    let dir = Mutex::new(Some(dir));
    at_exit(move || {
        drop(dir.lock().unwrap_or_else(|p| p.into_inner()).take());
    });
}

/// For every command but `serve`: an ending signal runs the exit actions
/// and ends the process with the signal's conventional status (128 + n).
pub fn exit_on_signals() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new(ending_signals()) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("slicegate-signals".to_string())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                run_actions();
                std::process::exit(128 + signal);
            }
        });
}

/// For `serve`: an ending signal sets the returned flag (the service then
/// stops as on SIGTERM: requests in flight answered, the log closed).
/// Registered before the decision log is opened, so no signal in between
/// ends the process with the log open.
pub fn stop_flag_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in ending_signals() {
        if let Err(error) = signal_hook::flag::register(signal, stop.clone()) {
            tracing::warn!("signal {signal} cannot be caught: {error}");
        }
    }
    stop
}
