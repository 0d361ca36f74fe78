//! RFC 4180 CSV for batch issuance: quoted fields with `""` escapes and line
//! breaks, LF or CRLF line ends, a leading BOM; blank lines skipped; fields
//! trimmed. Every record keeps the line it starts on, for precise rejects.

use crate::error::{Error, Result};

/// Most fields in one record.
pub const MAX_CSV_FIELDS: usize = 256;
/// Longest field, in characters.
pub const MAX_CSV_FIELD_CHARS: usize = 65_536;
/// Most records in one file.
pub const MAX_CSV_RECORDS: usize = 1_000_000;

/// One record and the (1-based) line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvRecord {
    /// Line of the file where the record starts.
    pub line: usize,
    /// The fields, trimmed.
    pub fields: Vec<String>,
}

/// Parse `text`; errors name the line and what is wrong.
pub fn parse_csv(text: &str) -> Result<Vec<CsvRecord>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut field_chars = 0usize;
    let mut quoted = false;
    let mut was_quoted = false;
    let mut line = 1usize;
    let mut start = 1usize;
    let mut chars = text.chars().peekable();
    let too_long = |line: usize| {
        Error::Invalid(format!(
            "CSV line {line}: a field is longer than {MAX_CSV_FIELD_CHARS} characters"
        ))
    };
    let finish_field = |fields: &mut Vec<String>, field: &mut String, line: usize| -> Result<()> {
        if fields.len() >= MAX_CSV_FIELDS {
            return Err(Error::Invalid(format!(
                "CSV line {line}: more than {MAX_CSV_FIELDS} fields"
            )));
        }
        fields.push(std::mem::take(field).trim().to_string());
        Ok(())
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            field_chars += 1;
            if field_chars > MAX_CSV_FIELD_CHARS {
                return Err(too_long(line));
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            '"' => {
                return Err(Error::Invalid(format!(
                    "CSV line {line}: a quote inside an unquoted field (quote the whole field and double the quote)"
                )));
            }
            ',' => {
                finish_field(&mut fields, &mut field, line)?;
                field_chars = 0;
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                finish_field(&mut fields, &mut field, line)?;
                field_chars = 0;
                was_quoted = false;
                if !(fields.len() == 1 && fields[0].is_empty()) {
                    if records.len() >= MAX_CSV_RECORDS {
                        return Err(Error::Invalid(format!(
                            "CSV: more than {MAX_CSV_RECORDS} records"
                        )));
                    }
                    records.push(CsvRecord {
                        line: start,
                        fields: std::mem::take(&mut fields),
                    });
                }
                fields.clear();
                line += 1;
                start = line;
            }
            c if was_quoted && !c.is_whitespace() => {
                return Err(Error::Invalid(format!(
                    "CSV line {line}: text after a closing quote"
                )));
            }
            c => {
                field.push(c);
                field_chars += 1;
                if field_chars > MAX_CSV_FIELD_CHARS {
                    return Err(too_long(line));
                }
            }
        }
    }
    if quoted {
        return Err(Error::Invalid(format!(
            "CSV line {start}: a quoted field is not closed"
        )));
    }
    if !field.is_empty() || !fields.is_empty() || was_quoted {
        finish_field(&mut fields, &mut field, line)?;
        if !(fields.len() == 1 && fields[0].is_empty()) {
            records.push(CsvRecord {
                line: start,
                fields,
            });
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<String>)> {
        parse_csv(text)
            .unwrap()
            .into_iter()
            .map(|r| (r.line, r.fields))
            .collect()
    }

    #[test]
    fn quotes_line_breaks_bom_crlf_and_blank_lines() {
        let got =
            fields("\u{feff}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\n\"two\nlines\", z \nlast,\"\"");
        assert_eq!(
            got,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["x, y".into(), "say \"hi\"".into()]),
                (4, vec!["two\nlines".into(), "z".into()]),
                (6, vec!["last".into(), "".into()]),
            ]
        );
        assert_eq!(
            fields("a\rb\r"),
            vec![(1, vec!["a".into()]), (2, vec!["b".into()])]
        );
    }

    #[test]
    fn malformed_input_names_the_line() {
        for (text, needle) in [
            ("a,b\n\"open", "line 2: a quoted field is not closed"),
            ("a,b\nx\"y,z", "line 2: a quote inside"),
            ("\"a\"b,c", "line 1: text after a closing quote"),
        ] {
            let e = parse_csv(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        let wide = vec!["x"; MAX_CSV_FIELDS + 1].join(",");
        assert!(parse_csv(&wide).unwrap_err().to_string().contains("fields"));
        let long = "x".repeat(MAX_CSV_FIELD_CHARS + 1);
        assert!(parse_csv(&long).unwrap_err().to_string().contains("longer"));
    }
}

/// The columns of a batch-issuance CSV, checked against a license type:
/// `holder_name` and `holder_code` are required; `number`, `valid_from` and
/// `valid_to` (YYYY-MM-DD) are optional; every other column must be a field
/// of the type.
#[derive(Clone, Debug)]
pub struct CsvImport {
    type_key: String,
    header: Vec<String>,
    fields: Vec<usize>,
}

/// Columns that are not fields of the license type.
const CSV_FIXED_COLUMNS: &[&str] = &[
    "holder_name",
    "holder_code",
    "number",
    "valid_from",
    "valid_to",
];

impl CsvImport {
    /// Check `header` (the first record) against license type `ty`.
    pub fn new(ty: &crate::LicenseType, header: &[String]) -> Result<Self> {
        for required in ["holder_name", "holder_code"] {
            if !header.iter().any(|h| h == required) {
                return Err(Error::Invalid(
                    "the header needs holder_name and holder_code columns".into(),
                ));
            }
        }
        let mut fields = Vec::new();
        for (i, h) in header.iter().enumerate() {
            if header[..i].contains(h) {
                return Err(Error::Invalid(format!("column {h:?} appears twice")));
            }
            if CSV_FIXED_COLUMNS.contains(&h.as_str()) {
                continue;
            }
            if !ty.fields.iter().any(|f| &f.key == h) {
                return Err(Error::Invalid(format!(
                    "column {h:?} is not a field of {} ({})",
                    ty.key, ty.name
                )));
            }
            fields.push(i);
        }
        Ok(CsvImport {
            type_key: ty.key.clone(),
            header: header.to_vec(),
            fields,
        })
    }

    /// The issuance request of one data row (empty cells are left out).
    pub fn request(&self, row: &[String]) -> Result<crate::IssueRequest> {
        if row.len() != self.header.len() {
            return Err(Error::Invalid(format!(
                "{} columns, the header has {}",
                row.len(),
                self.header.len()
            )));
        }
        let cell = |name: &str| {
            self.header
                .iter()
                .position(|h| h == name)
                .map(|i| row[i].clone())
                .filter(|v| !v.is_empty())
        };
        let date = |name: &str| cell(name).as_deref().map(crate::parse_date).transpose();
        Ok(crate::IssueRequest {
            type_key: self.type_key.clone(),
            holder_name: cell("holder_name").unwrap_or_default(),
            holder_code: cell("holder_code").unwrap_or_default(),
            fields: self
                .fields
                .iter()
                .filter(|&&i| !row[i].is_empty())
                .map(|&i| (self.header[i].clone(), row[i].clone()))
                .collect(),
            number: cell("number"),
            valid_from: date("valid_from")?,
            valid_to: date("valid_to")?,
            serial: None,
        })
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_are_checked_and_rows_become_requests() -> Result<()> {
        let cat = crate::Catalogue::default_catalogue();
        let ty = cat.get("business-licence")?;
        let header = strings(&[
            "holder_name",
            "holder_code",
            "legal_rep",
            "capital",
            "valid_to",
        ]);
        let import = CsvImport::new(ty, &header)?;
        let req = import.request(&strings(&[
            "示例",
            "91350100M000100Y43",
            "张三",
            "",
            "2030-01-31",
        ]))?;
        assert_eq!(req.type_key, "business-licence");
        assert_eq!(
            (req.holder_name.as_str(), req.holder_code.as_str()),
            ("示例", "91350100M000100Y43")
        );
        assert_eq!(
            req.fields,
            [("legal_rep".to_string(), "张三".to_string())],
            "empty cells are left out"
        );
        assert_eq!(req.valid_to, Some(time::macros::date!(2030 - 01 - 31)));
        assert!(req.number.is_none() && req.valid_from.is_none());

        // Refused: a short row, a bad date, an unknown or repeated column, no holder.
        assert!(import.request(&strings(&["a", "b"])).is_err());
        assert!(
            import
                .request(&strings(&["a", "b", "c", "d", "31/01/2030"]))
                .is_err()
        );
        let unknown = CsvImport::new(ty, &strings(&["holder_name", "holder_code", "colour"]));
        assert!(unknown.is_err_and(|e| e.to_string().contains("colour")));
        assert!(
            CsvImport::new(
                ty,
                &strings(&["holder_name", "holder_code", "capital", "capital"])
            )
            .is_err()
        );
        assert!(CsvImport::new(ty, &strings(&["holder_name", "capital"])).is_err());
        Ok(())
    }
}
