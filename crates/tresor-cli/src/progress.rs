//! The progress display on standard error.

use std::io::{self, IsTerminal, Read};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar (input size known) or a byte counter (size unknown) on
/// standard error, shown only when standard error is a terminal, so that
/// scripts and logs never see it. It is cleared when dropped.
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Progress through `len` input bytes (`None`: unknown), labelled `verb`.
    pub(crate) fn new(verb: &'static str, len: Option<u64>) -> Self {
        if !io::stderr().is_terminal() {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = match len {
            Some(len) => {
                let bar = ProgressBar::new(len);
                bar.set_style(style(
                    "{msg} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                    ProgressStyle::default_bar,
                ));
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(style(
                    "{spinner} {msg} {bytes} {binary_bytes_per_sec}",
                    ProgressStyle::default_spinner,
                ));
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            }
        };
        bar.set_message(verb);
        Progress { bar }
    }

    /// `reader`, counting the bytes read from it.
    pub(crate) fn wrap<R: Read>(&self, reader: R) -> impl Read + use<R> {
        self.bar.wrap_read(reader)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The style from `template`, or `fallback` should the template not parse.
fn style(template: &str, fallback: fn() -> ProgressStyle) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| fallback())
}
