//! The license type catalogue (a TOML file an administrator edits): type code,
//! name, holder kind, face fields and which are required, default validity,
//! which seal type issues it, and the verify URL the QR code carries.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One face field of a license type.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldSpec {
    /// Key used on the command line and in CSV headers (`legal_rep`).
    pub key: String,
    /// Label printed on the face (`法定代表人`).
    pub label: String,
    /// Whether issuance refuses a license without it.
    #[serde(default)]
    pub required: bool,
}

/// One license type.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LicenseType {
    /// Short name for the command line (`business-licence`).
    pub key: String,
    /// Type code: the defining authority's USCC + 3-digit type number (21 characters).
    pub code: String,
    /// Name (证照名称), printed as the face title.
    pub name: String,
    /// Holder identifier kind (GB/T 36903): `001` USCC, `111` citizen ID.
    pub holder_type: String,
    /// Default validity in days from the start; 0 = no end (长期).
    #[serde(default)]
    pub validity_days: u32,
    /// Seal type (GB/T 38540 / our registry) that issues it.
    #[serde(default = "default_seal_type")]
    pub seal_type: String,
    /// Face fields in print order.
    pub fields: Vec<FieldSpec>,
}

fn default_seal_type() -> String {
    "official".into()
}

/// Issuing-service settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Service {
    /// Prefix of the URL the face's QR code carries; the identifier is appended.
    pub verify_url: String,
    /// Issuing authority name printed on the face (发证机关).
    pub issuer_name: String,
    /// Issuing authority USCC (the identifier's issuer segment).
    pub issuer_code: String,
    /// Administrative area code (GB/T 2260).
    pub area_code: String,
}

/// The catalogue: service settings and license types.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Catalogue {
    /// Issuing-service settings.
    pub service: Service,
    /// License types.
    #[serde(rename = "types")]
    pub types: Vec<LicenseType>,
}

/// The catalogue written on first use; the administrator edits it.
pub const DEFAULT_CATALOGUE: &str = r#"# Yinzheng license catalogue. Edit freely; `yinzheng license types` shows what is in force.
# type code = defining authority USCC (18) + type number (3); holder_type 001 = USCC, 111 = citizen ID.

[service]
verify_url = "https://licenses.example.gov.cn/v/"
issuer_name = "示例市市场监督管理局"
issuer_code = "11430000006122244L"
area_code = "430100"

[[types]]
key = "business-licence"
code = "11100000000013338W011"
name = "营业执照"
holder_type = "001"
validity_days = 0
seal_type = "official"
fields = [
  { key = "company_type", label = "类型", required = true },
  { key = "legal_rep", label = "法定代表人", required = true },
  { key = "capital", label = "注册资本" },
  { key = "established", label = "成立日期", required = true },
  { key = "address", label = "住所", required = true },
  { key = "scope", label = "经营范围" },
]

[[types]]
key = "food-permit"
code = "11100000000013338W032"
name = "食品经营许可证"
holder_type = "001"
validity_days = 1826
seal_type = "official"
fields = [
  { key = "operator", label = "经营者名称", required = true },
  { key = "premises", label = "经营场所", required = true },
  { key = "items", label = "经营项目", required = true },
]

[[types]]
key = "practising-certificate"
code = "11100000000013338W009"
name = "执业证书"
holder_type = "111"
validity_days = 1826
seal_type = "official"
fields = [
  { key = "profession", label = "执业类别", required = true },
  { key = "workplace", label = "执业机构", required = true },
]
"#;

impl Catalogue {
    /// Parse and check a catalogue (type codes and issuer code checked).
    pub fn from_toml(text: &str) -> Result<Self> {
        let c: Catalogue = toml::from_str(text).map_err(|e| Error::Catalogue(e.to_string()))?;
        yinzheng_pki::ids::check_uscc(&c.service.issuer_code)
            .map_err(|e| Error::Catalogue(format!("service.issuer_code: {e}")))?;
        let mut seen = std::collections::BTreeSet::new();
        for t in &c.types {
            crate::LicenseId::new(&t.code, &c.service.issuer_code, "1", 1)
                .map_err(|e| Error::Catalogue(format!("type {}: {e}", t.key)))?;
            if !seen.insert(t.key.clone()) || !seen.insert(t.code.clone()) {
                return Err(Error::Catalogue(format!("type {} is listed twice", t.key)));
            }
            if !matches!(t.holder_type.as_str(), "001" | "111") {
                return Err(Error::Catalogue(format!(
                    "type {}: holder_type {:?} (001 USCC or 111 citizen ID)",
                    t.key, t.holder_type
                )));
            }
            let mut keys = std::collections::BTreeSet::new();
            for f in &t.fields {
                if !keys.insert(&f.key) {
                    return Err(Error::Catalogue(format!(
                        "type {}: field {} is listed twice",
                        t.key, f.key
                    )));
                }
            }
        }
        Ok(c)
    }

    /// The default catalogue.
    pub fn default_catalogue() -> Self {
        // The constant is tested to parse.
        Catalogue::from_toml(DEFAULT_CATALOGUE).unwrap_or_else(|_| Catalogue {
            service: Service {
                verify_url: String::new(),
                issuer_name: String::new(),
                issuer_code: String::new(),
                area_code: String::new(),
            },
            types: Vec::new(),
        })
    }

    /// A type by key or code.
    pub fn get(&self, key_or_code: &str) -> Result<&LicenseType> {
        self.types
            .iter()
            .find(|t| t.key == key_or_code || t.code.eq_ignore_ascii_case(key_or_code))
            .ok_or_else(|| {
                let names: Vec<&str> = self.types.iter().map(|t| t.key.as_str()).collect();
                Error::Catalogue(format!(
                    "no license type {key_or_code:?}; known: {}",
                    names.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalogue_parses_and_refuses_mistakes() {
        let c = Catalogue::from_toml(DEFAULT_CATALOGUE).unwrap();
        assert_eq!(c.get("business-licence").unwrap().name, "营业执照");
        assert_eq!(c.get("11100000000013338w032").unwrap().key, "food-permit");
        assert!(c.get("nope").is_err());
        let bad = DEFAULT_CATALOGUE.replace("11100000000013338W011", "11100000000013338X011");
        assert!(Catalogue::from_toml(&bad).is_err());
        let bad = DEFAULT_CATALOGUE.replace("holder_type = \"111\"", "holder_type = \"999\"");
        assert!(Catalogue::from_toml(&bad).is_err());
    }
}
