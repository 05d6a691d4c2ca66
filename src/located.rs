//! Errors in files the user writes (policies, charters, config), located like a
//! compiler's: `file:line:col: message`, then the offending line.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line; 0 when the problem is the whole file.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, and what to write instead.
    pub message: String,
    /// The offending line, to show under the message.
    pub source_line: String,
}

impl FileError {
    /// A problem at byte `offset` of `text`.
    pub fn at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        let source_line = text[line_start..].lines().next().unwrap_or("").to_string();
        FileError {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
            source_line,
        }
    }

    /// A problem at a span (or the start of the file when there is none).
    pub fn at_span(
        path: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        FileError::at(path, text, span.map_or(0, |s| s.start), message)
    }

    /// A TOML syntax or shape error.
    pub fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Self {
        FileError::at_span(path, text, err.span(), err.message())
    }

    /// The file could not be read at all.
    pub fn unreadable(path: &Path, err: &std::io::Error) -> Self {
        FileError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read the file: {err}"),
            source_line: String::new(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}\n  | {}",
                self.path.display(),
                self.line,
                self.column,
                self.message,
                self.source_line
            )
        }
    }
}

impl std::error::Error for FileError {}

/// Every problem found in one file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct FileErrors {
    /// The problems, in file order where known.
    pub errors: Vec<FileError>,
}

impl From<FileError> for FileErrors {
    fn from(error: FileError) -> Self {
        FileErrors {
            errors: vec![error],
        }
    }
}

/// The problems found so far in one file, each at its place: a parser checks
/// every part and reports them all at once.
pub(crate) struct Problems<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<FileError>,
}

impl<'a> Problems<'a> {
    /// No problems yet in `text`, read from `path`.
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        Problems {
            path,
            text,
            errors: Vec::new(),
        }
    }

    /// A problem at `span`, or with the whole file (`None`).
    pub(crate) fn at(&mut self, span: impl Into<Option<Range<usize>>>, message: String) {
        self.errors.push(FileError::at_span(
            self.path,
            self.text,
            span.into(),
            message,
        ));
    }

    /// `value` if nothing was wrong, else every problem.
    pub(crate) fn or_value<T>(self, value: T) -> Result<T, FileErrors> {
        match self.errors.is_empty() {
            true => Ok(value),
            false => Err(FileErrors {
                errors: self.errors,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbé = x\n";
        let err = FileError::at(Path::new("f.toml"), text, 11, "bad value");
        assert_eq!((err.line, err.column), (2, 5));
        assert_eq!(err.to_string(), "f.toml:2:5: bad value\n  | bé = x");
    }
}
