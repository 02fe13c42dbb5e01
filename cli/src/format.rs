//! `--format human|json`, the same on every command that prints a result.

/// How a command prints its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables and sentences for people.
    #[default]
    Human,
    /// One JSON document on stdout, for scripts (messages stay on stderr).
    Json,
}

/// The `--format` option (and `--json`, its short form).
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct FormatArg {
    /// Output: `human` or `json` (one JSON document on stdout, for scripts).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

impl FormatArg {
    /// Whether JSON was asked for.
    pub fn json(&self) -> bool {
        self.json || self.format == Format::Json
    }
}
