//! The core's one error type.

/// Why a raw post could not be used. Each variant names the field and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a JSON document.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line of the error in the input.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The bytes are not valid UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    Utf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The input is larger than the core accepts.
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The JSON is valid but is none of the formats the core reads.
    #[error("unsupported shape: {0}")]
    UnsupportedShape(String),
    /// A required field is absent or null.
    #[error("missing field `{field}`")]
    MissingField {
        /// Dotted path of the field.
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("field `{field}` has the wrong type: expected {expected}")]
    WrongType {
        /// Dotted path of the field.
        field: String,
        /// What the format requires.
        expected: &'static str,
    },
    /// A field has the right type but a value that cannot be used.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidValue {
        /// Dotted path of the field.
        field: String,
        /// Why.
        reason: String,
    },
    /// A configuration value (filter, bounding box) cannot be used.
    #[error("invalid config `{field}`: {reason}")]
    Config {
        /// Name of the setting.
        field: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// A short stable name for the kind of error, for counters and dead-letter records.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Json { .. } => "json",
            Error::Utf8 { .. } => "utf8",
            Error::TooLarge { .. } => "too_large",
            Error::UnsupportedShape(_) => "unsupported_shape",
            Error::MissingField { .. } => "missing_field",
            Error::WrongType { .. } => "wrong_type",
            Error::InvalidValue { .. } => "invalid_value",
            Error::Config { .. } => "config",
        }
    }

    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::MissingField { field }
            | Error::WrongType { field, .. }
            | Error::InvalidValue { field, .. }
            | Error::Config { field, .. } => Some(field.as_str()),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e),
        }
    }
}

/// serde_json appends " at line L column C" to its messages; the position has its own fields.
fn strip_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    }
}
