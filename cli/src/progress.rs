//! Progress on stderr for long commands (`indicatif`). On a terminal: a
//! spinner or a bar with the elapsed time; elsewhere (CI logs, pipes) the
//! same message as one plain line, so nothing is lost and nothing flickers.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// One long step: a spinner on a terminal, a plain line otherwise.
pub struct Step {
    bar: Option<ProgressBar>,
}

impl Step {
    /// Starts a step described by `message` ("building policies ...").
    pub fn start(message: impl Into<Cow<'static, str>>) -> Step {
        let message = message.into();
        if !std::io::stderr().is_terminal() {
            eprintln!("{message}");
            return Step { bar: None };
        }
        let bar = ProgressBar::new_spinner().with_message(message);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Step { bar: Some(bar) }
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A bar of `done`/`total` items for `what` ("conformance tests"), drawn
/// only on a terminal and not at all when `quiet`.
pub fn bar(what: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} ({{percent}} %) {{elapsed}}, about {{eta}} left"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
