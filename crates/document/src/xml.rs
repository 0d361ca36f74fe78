//! A small read-only XML tree over quick-xml: element local names (namespace
//! prefixes dropped, as OFD producers vary them), attributes and text.

use crate::error::{Error, Result};
use quick_xml::events::Event;

/// Largest XML part read.
pub const MAX_XML_LEN: usize = 8 << 20;
const MAX_DEPTH: usize = 64;

/// One element.
#[derive(Clone, Debug, Default)]
pub struct Element {
    /// Local name (`Signature` for `ofd:Signature`).
    pub name: String,
    /// Attributes by local name, in document order.
    pub attrs: Vec<(String, String)>,
    /// Concatenated text content of this element (not of children).
    pub text: String,
    /// Child elements.
    pub children: Vec<Element>,
}

impl Element {
    /// The attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every descendant (depth first) named `name`.
    pub fn descendants<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.descendants(name, out);
        }
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

/// Parse `bytes` (what names the part in errors) into its root element.
pub fn parse(bytes: &[u8], what: &str) -> Result<Element> {
    if bytes.len() > MAX_XML_LEN {
        return Err(Error::Format(format!(
            "{what}: larger than {MAX_XML_LEN} bytes"
        )));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::Format(format!("{what}: not UTF-8")))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let ev = reader.read_event().map_err(|e| {
            Error::Format(format!(
                "{what}: XML error at byte {}: {e}",
                reader.buffer_position()
            ))
        })?;
        match ev {
            Event::Start(e) | Event::Empty(e) if stack.len() > MAX_DEPTH => {
                let _ = e;
                return Err(Error::Format(format!(
                    "{what}: nested deeper than {MAX_DEPTH}"
                )));
            }
            Event::Start(e) => stack.push(element(&e, what)?),
            Event::Empty(e) => {
                let el = element(&e, what)?;
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| Error::Format(format!("{what}: unbalanced end tag")))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Err(Error::Format(format!("{what}: unbalanced end tag"))),
                }
            }
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| Error::Format(format!("{what}: {e}")))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                let name = r
                    .decode()
                    .map_err(|e| Error::Format(format!("{what}: {e}")))?;
                let ch = match name.as_ref() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    n => n
                        .strip_prefix("#x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| n.strip_prefix('#').and_then(|d| d.parse().ok()))
                        .and_then(char::from_u32),
                };
                if let (Some(c), Some(top)) = (ch, stack.last_mut()) {
                    top.text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err(Error::Format(format!("{what}: unclosed elements")));
    }
    let mut doc = stack.pop().unwrap_or_default();
    if doc.children.len() != 1 {
        return Err(Error::Format(format!("{what}: expected one root element")));
    }
    Ok(doc.children.remove(0))
}

fn element(e: &quick_xml::events::BytesStart<'_>, what: &str) -> Result<Element> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| Error::Format(format!("{what}: attribute: {e}")))?;
        let v = a
            .unescape_value()
            .map_err(|e| Error::Format(format!("{what}: attribute: {e}")))?;
        attrs.push((local(a.key.as_ref()), v.into_owned()));
    }
    Ok(Element {
        name: local(e.name().as_ref()),
        attrs,
        ..Element::default()
    })
}
