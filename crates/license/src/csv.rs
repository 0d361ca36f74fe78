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
