//! A batch's progress on stderr: a bar while stderr is a terminal, nothing
//! otherwise (`indicatif` hides itself there).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress through a batch of titles.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar for a batch of `total` titles when `shown` (text output) and the
    /// batch has more than three.
    pub fn new(total: usize, shown: bool) -> Progress {
        if !shown || total <= 3 {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    /// Now at title number `done + 1`, `title`.
    pub fn at(&self, done: usize, title: &str) {
        if let Some(bar) = &self.0 {
            bar.set_position(done as u64 + 1);
            bar.set_message(title.to_string());
        }
    }

    /// The batch is over: the bar goes.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
