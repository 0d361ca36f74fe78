//! RFC 7512 `pkcs11:` URIs: which module, token and key.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;

/// RFC 7512 path attributes this reader does not match on: refused rather
/// than ignored, since ignoring one would widen the match (a key on a token
/// the URI did not mean).
const UNMATCHED_ATTRIBUTES: &[&str] = &[
    "library-manufacturer",
    "library-description",
    "library-version",
    "slot-description",
    "slot-manufacturer",
];

/// A `pkcs11:` URI naming one private key: which token (label, serial), which
/// key (label `object`, `id`), the module (`module-path`) and where the PIN
/// comes from (`pin-source`). `pin-value` is refused: a PIN on a command line
/// or in a configuration file is a PIN in shell history and backups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the key label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id`: the key id (`CKA_ID`), bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path`: the PKCS#11 module (shared library).
    pub module_path: Option<PathBuf>,
    /// `pin-source`: where the user PIN is read (see [`crate::PinSource::of`]).
    pub pin_source: Option<String>,
}

impl Pkcs11Uri {
    /// Parse the URI of a key (it must name one: `object`, `id` or both).
    /// Unknown attributes are refused (a misspelt `objekt=` would otherwise
    /// widen the match to every key), except `x-` vendor ones.
    pub fn parse(uri: &str) -> Result<Self> {
        let out = Self::parse_any(uri)?;
        if out.object.is_none() && out.id.is_none() {
            return Err(Error::Uri {
                uri: redact(uri),
                reason: "names no key: give object=<label> or id=<bytes> (or both)".into(),
            });
        }
        Ok(out)
    }

    /// Parse the URI of a token, where keys are to be made (see
    /// [`key`](Self::key)): it names no key.
    pub fn parse_token(uri: &str) -> Result<Self> {
        let out = Self::parse_any(uri)?;
        if out.object.is_some() || out.id.is_some() {
            return Err(Error::Uri {
                uri: redact(uri),
                reason: "names a key (object= or id=) where a token is expected".into(),
            });
        }
        Ok(out)
    }

    /// The URI of the key labelled `label` on this URI's token.
    pub fn key(&self, label: &str) -> Self {
        Pkcs11Uri {
            object: Some(label.to_string()),
            id: None,
            ..self.clone()
        }
    }

    fn parse_any(uri: &str) -> Result<Self> {
        let bad = |reason: String| Error::Uri {
            uri: redact(uri),
            reason,
        };
        let rest = uri
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("pkcs11:"))
            .map(|_| &uri[7..])
            .ok_or_else(|| bad("does not start with pkcs11:".into()))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        let mut seen: Vec<String> = Vec::new();
        for part in path.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| bad("a path attribute has no '='".into()))?;
            let name = name.to_ascii_lowercase();
            if seen.contains(&name) {
                return Err(bad(format!("attribute {name} appears twice")));
            }
            seen.push(name.clone());
            let value = percent_decode(value).map_err(&bad)?;
            let text = || {
                String::from_utf8(value.clone())
                    .map_err(|_| bad(format!("attribute {name} is not UTF-8")))
            };
            match name.as_str() {
                "token" => out.token = Some(text()?),
                "serial" => out.serial = Some(text()?),
                "manufacturer" => out.manufacturer = Some(text()?),
                "model" => out.model = Some(text()?),
                "object" => out.object = Some(text()?),
                "id" => out.id = Some(value.clone()),
                "slot-id" => {
                    out.slot_id = Some(
                        text()?
                            .parse()
                            .map_err(|_| bad("slot-id is not a number".into()))?,
                    )
                }
                "type" => {
                    let t = text()?;
                    if t != "private" {
                        return Err(bad(format!(
                            "type={t}: a signing key's URI names a private key (type=private)"
                        )));
                    }
                }
                n if UNMATCHED_ATTRIBUTES.contains(&n) => {
                    return Err(bad(format!(
                        "{n} is not matched here: narrow the token with token=, serial=, \
                         manufacturer=, model= or slot-id="
                    )));
                }
                n if n.starts_with("x-") => {}
                n => return Err(bad(format!("unknown path attribute {n}"))),
            }
        }
        for part in query.into_iter().flat_map(|q| q.split('&')) {
            if part.is_empty() {
                continue;
            }
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| bad("a query attribute has no '='".into()))?;
            let name = name.to_ascii_lowercase();
            // Refused by name, before its value is even decoded.
            if name == "pin-value" {
                return Err(bad("carries the PIN (pin-value): put it in a file \
                                (pin-source=file:/path, readable by this user only) \
                                or in the environment (YINZHENG_PKCS11_PIN)"
                    .into()));
            }
            if seen.contains(&name) {
                return Err(bad(format!("attribute {name} appears twice")));
            }
            seen.push(name.clone());
            let value = String::from_utf8(percent_decode(value).map_err(&bad)?)
                .map_err(|_| bad(format!("attribute {name} is not UTF-8")))?;
            match name.as_str() {
                "module-path" => out.module_path = Some(PathBuf::from(value)),
                "pin-source" => out.pin_source = Some(value),
                "module-name" => {
                    return Err(bad(
                        "module-name is not looked up here: name the module by module-path".into(),
                    ));
                }
                n if n.starts_with("x-") => {}
                n => return Err(bad(format!("unknown query attribute {n}"))),
            }
        }
        Ok(out)
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Pkcs11Uri::parse(s)
    }
}

/// The canonical form: path attributes in a fixed order, then the query,
/// every byte outside RFC 7512's unreserved set percent-encoded.
impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path: Vec<String> = Vec::new();
        let mut text = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                path.push(format!("{name}={}", percent_encode(v.as_bytes())));
            }
        };
        text("token", &self.token);
        text("manufacturer", &self.manufacturer);
        text("model", &self.model);
        text("serial", &self.serial);
        text("object", &self.object);
        if let Some(id) = &self.id {
            path.push(format!("id={}", percent_encode_all(id)));
        }
        if let Some(slot) = self.slot_id {
            path.push(format!("slot-id={slot}"));
        }
        if self.object.is_some() || self.id.is_some() {
            path.push("type=private".into());
        }
        write!(f, "pkcs11:{}", path.join(";"))?;
        let mut query: Vec<String> = Vec::new();
        if let Some(m) = &self.module_path {
            query.push(format!(
                "module-path={}",
                percent_encode(m.to_string_lossy().as_bytes())
            ));
        }
        if let Some(p) = &self.pin_source {
            query.push(format!("pin-source={}", percent_encode(p.as_bytes())));
        }
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

/// The URI for an error message: its query (where a `pin-value` would be)
/// is never shown, nor any path attribute whose name starts with `pin`.
fn redact(uri: &str) -> String {
    let (path, query) = match uri.split_once('?') {
        Some((p, _)) => (p, "?…"),
        None => (uri, ""),
    };
    let path: Vec<String> = path
        .split(';')
        .map(|part| {
            let name = part.split('=').next().unwrap_or_default();
            let bare = name.rsplit(':').next().unwrap_or(name);
            if bare.to_ascii_lowercase().starts_with("pin") {
                format!("{name}=<not shown>")
            } else {
                part.to_string()
            }
        })
        .collect();
    format!("{}{query}", path.join(";"))
}

fn percent_decode(s: &str) -> std::result::Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding at byte {i} of a value"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// RFC 3986 unreserved characters plus the ones RFC 7512 lets a path
/// attribute value carry as they are (`:[]@!$'()*+,=&` minus the separators).
fn plain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,/".contains(&c)
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&c| {
            if plain(c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// Binary attributes (`id`) are written as `%XX` for every byte.
fn percent_encode_all(bytes: &[u8]) -> String {
    bytes.iter().map(|c| format!("%{c:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_uri_reads_and_writes_back() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=Yinzheng%20CA;object=issuing;id=%01%02%ff;type=private\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )
        .expect("parses");
        assert_eq!(u.token.as_deref(), Some("Yinzheng CA"));
        assert_eq!(u.object.as_deref(), Some("issuing"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 2, 0xff][..]));
        assert_eq!(
            u.module_path.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(u.pin_source.as_deref(), Some("file:/run/pin"));
        let again = Pkcs11Uri::parse(&u.to_string()).expect("its own form parses");
        assert_eq!(again, u);
    }

    #[test]
    fn a_token_uri_names_no_key_and_makes_key_uris() {
        let t = Pkcs11Uri::parse_token("pkcs11:token=ca?module-path=/m.so&pin-source=file:/p")
            .expect("a token");
        let k = t.key("yinzheng-main-root");
        assert_eq!(k.object.as_deref(), Some("yinzheng-main-root"));
        assert_eq!(k.token.as_deref(), Some("ca"));
        assert_eq!(Pkcs11Uri::parse(&k.to_string()).expect("a key"), k);
        assert_eq!(Pkcs11Uri::parse_token(&t.to_string()).expect("again"), t);
        assert!(Pkcs11Uri::parse_token("pkcs11:token=ca;object=k").is_err());
    }

    #[test]
    fn what_cannot_be_used_is_refused_and_named() {
        for (uri, says) in [
            ("pkcs11:object=k?pin-value=1234", "pin-value"),
            ("pkcs11:objekt=k", "unknown path attribute objekt"),
            ("pkcs11:object=a;object=b", "appears twice"),
            ("pkcs11:token=t", "names no key"),
            ("pkcs11:object=k;type=public", "type=private"),
            ("pkcs11:object=%zz", "percent-encoding"),
            ("file:/k.pem", "pkcs11:"),
            ("pkcs11:object=k?module=x", "unknown query attribute module"),
            ("pkcs11:object=k?pin-value=50%zz1234", "pin-value"),
            ("pkcs11:object=k;pin-value=1234", "pin-value"),
            ("pkcs11:slot-description=HSM-B;object=k", "not matched here"),
            ("pkcs11:object=k?module-name=softhsm2", "module-path"),
        ] {
            let e = Pkcs11Uri::parse(uri).expect_err(uri).to_string();
            assert!(e.contains(says), "{uri}: {e}");
            assert!(!e.contains("1234"), "the PIN is never echoed: {e}");
        }
    }
}
