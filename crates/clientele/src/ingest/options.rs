//! Ingest options: unchecked [`IngestOptions`] (serde, builder) validated into an
//! [`IngestConfig`] before use.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::{ColumnMapping, DEFAULT_PURCHASE_TYPE, Role};
pub use crate::store::KeyType;
use crate::time::{TimeFormat, TimeParser};

/// Unchecked ingest options. Defaults: canonical column names, automatic ISO-8601 times,
/// purchase type `purchase`, refunds not enabled, lenient (reject and report bad rows),
/// automatic key type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestOptions {
    /// Which input column plays each role.
    pub mapping: ColumnMapping,
    /// How string times are parsed.
    pub time_format: TimeFormat,
    /// The event type that is a purchase. Inputs without an event-type column are all purchases.
    pub purchase_type: String,
    /// Accept negative purchase amounts (refunds, returns) instead of rejecting them.
    pub allow_refunds: bool,
    /// Stop at the first bad row with [`Error::RejectedRow`] instead of reporting it.
    pub strict: bool,
    /// How customer keys are typed.
    pub key_type: KeyType,
    /// The optional roles to load (`None`: every role whose column is present). Required roles
    /// are always loaded. Columns not loaded are neither read nor validated, so a kernel that
    /// needs few columns reads a wide file faster.
    pub roles: Option<Vec<Role>>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            mapping: ColumnMapping::default(),
            time_format: TimeFormat::Auto,
            purchase_type: DEFAULT_PURCHASE_TYPE.into(),
            allow_refunds: false,
            strict: false,
            key_type: KeyType::Auto,
            roles: None,
        }
    }
}

impl IngestOptions {
    /// Maps `role` to the input column `name`.
    pub fn column(mut self, role: Role, name: impl Into<String>) -> Self {
        self.mapping = self.mapping.with(role, name);
        self
    }
    /// Sets the time format.
    pub fn time_format(mut self, format: TimeFormat) -> Self {
        self.time_format = format;
        self
    }
    /// Sets the purchase event type.
    pub fn purchase_type(mut self, t: impl Into<String>) -> Self {
        self.purchase_type = t.into();
        self
    }
    /// Enables or disables refunds (negative purchase amounts).
    pub fn allow_refunds(mut self, yes: bool) -> Self {
        self.allow_refunds = yes;
        self
    }
    /// Enables or disables strict mode.
    pub fn strict(mut self, yes: bool) -> Self {
        self.strict = yes;
        self
    }
    /// Sets the key type.
    pub fn key_type(mut self, k: KeyType) -> Self {
        self.key_type = k;
        self
    }
    /// Loads only `roles` (plus the required ones).
    pub fn only(mut self, roles: &[Role]) -> Self {
        self.roles = Some(roles.to_vec());
        self
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field: an empty column name, an empty purchase
    /// type, two roles mapped to the same column, or an empty time format.
    pub fn validate(&self) -> Result<IngestConfig> {
        let mut seen: Vec<(&str, Role)> = Vec::new();
        for role in Role::ALL {
            let name = self.mapping.column(role);
            if name.trim().is_empty() {
                return Err(Error::param(
                    "mapping",
                    format!("the column for `{}` is empty", role.canonical_name()),
                ));
            }
            if let Some((_, other)) = seen.iter().find(|(n, _)| *n == name) {
                return Err(Error::param(
                    "mapping",
                    format!(
                        "column `{name}` is mapped to both `{}` and `{}`",
                        other.canonical_name(),
                        role.canonical_name()
                    ),
                ));
            }
            seen.push((name, role));
        }
        if self.purchase_type.trim().is_empty() {
            return Err(Error::param("purchase_type", "must not be empty"));
        }
        if let TimeFormat::Format(f) = &self.time_format
            && f.trim().is_empty()
        {
            return Err(Error::param("time_format", "must not be empty"));
        }
        Ok(IngestConfig {
            time_parser: TimeParser::new(&self.time_format),
            options: self.clone(),
        })
    }
}

/// Validated ingest options.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub(crate) options: IngestOptions,
    pub(crate) time_parser: TimeParser,
}

impl IngestConfig {
    /// The options this configuration was validated from.
    pub fn options(&self) -> &IngestOptions {
        &self.options
    }

    /// Whether `role` is loaded.
    pub fn loads(&self, role: Role) -> bool {
        role.is_required() || self.options.roles.as_ref().is_none_or(|r| r.contains(&role))
    }
}

/// The field delimiter of a delimited-text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    /// One byte, such as `,`, `;`, `|` or a tab. Fields may be quoted with `"`.
    Byte(u8),
    /// Runs of spaces and tabs (leading and trailing white space ignored); no quoting. This is
    /// the layout of CDNOW and of many fixed-width exports.
    Whitespace,
}

impl Delimiter {
    /// Parses a command-line delimiter: a single character, `tab`/`\t`, or `whitespace`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`delimiter`) for anything else.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "whitespace" | "ws" | "space+" => Ok(Delimiter::Whitespace),
            "tab" | "\\t" | "\t" => Ok(Delimiter::Byte(b'\t')),
            _ if s.len() == 1 && s.is_ascii() => Ok(Delimiter::Byte(s.as_bytes().first().copied().unwrap_or(b','))),
            _ => Err(Error::param(
                "delimiter",
                format!("expected one ASCII character, `tab` or `whitespace`, got {s:?}"),
            )),
        }
    }
}

/// Options for delimited text (CSV, TSV, whitespace separated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsvOptions {
    /// The field delimiter (default `,`).
    pub delimiter: Delimiter,
    /// Whether the first line names the columns (default true).
    pub has_header: bool,
    /// Column names for a file without a header. Without them, columns are named by their
    /// 1-based position: `1`, `2`, ...
    pub column_names: Option<Vec<String>>,
    /// Rows per internal batch (default 262,144).
    pub batch_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: Delimiter::Byte(b','),
            has_header: true,
            column_names: None,
            batch_rows: 1 << 18,
        }
    }
}
