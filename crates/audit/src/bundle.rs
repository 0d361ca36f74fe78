//! Evidence bundles (`*.evidence`): one zip file holding everything needed to
//! prove one license offline. The layout and `manifest.json` are documented
//! in `docs/FORMATS.md`; this module writes and reads them.
//!
//! Members are *stored* (not compressed: the documents are compressed
//! already), so a changed byte stays where it was changed and the verifier
//! can say which member it hit (CRC-32 and the manifest's SM3 per member),
//! then what it broke (a signature, a proof, a checkpoint).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

/// The `format` value of version 1 of the manifest.
pub const BUNDLE_FORMAT: &str = "yinzheng-evidence/1";
/// Largest bundle read.
pub const MAX_BUNDLE_LEN: usize = 128 << 20;
/// Largest member read.
pub const MAX_MEMBER_LEN: u64 = 64 << 20;
const MAX_MEMBERS: usize = 20_000;

/// `manifest.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The license identifier.
    pub license: String,
    /// When the bundle was written (RFC 3339), informational.
    pub exported_at: String,
    /// The sealed license files.
    pub documents: Vec<DocumentRef>,
    /// PEM file with the certificates found in the documents and the issuing
    /// CAs and roots they chain to (evidence, not anchors).
    pub certificates: Option<String>,
    /// Revocation data.
    pub revocation: Option<RevocationRef>,
    /// The signed checkpoint every proof goes to.
    pub checkpoint: String,
    /// Lifecycle events, oldest first, each with its proof.
    pub events: Vec<BundleEvent>,
    /// Usage records with their proofs (may be empty).
    #[serde(default)]
    pub usage: Vec<BundleUsage>,
    /// SM3 (hex) of every other member, by name.
    pub members: BTreeMap<String, String>,
}

/// One sealed document.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentRef {
    /// Member name (`documents/license.ofd`).
    pub path: String,
    /// `ofd` (the master) or `pdf` (the copy).
    pub format: String,
}

/// Revocation data in the bundle.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevocationRef {
    /// Member name of the PEM CRLs.
    pub crls: String,
    /// What time the data is as of, in words (`CRLs of the domain at export time`).
    pub as_of: String,
}

/// One lifecycle event and its inclusion proof.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleEvent {
    /// issued, suspended, resumed, revoked, cancelled, expired, superseded.
    pub kind: String,
    /// Unix milliseconds, as the registry recorded it.
    pub time_ms: i64,
    /// Who, as the registry recorded it.
    pub actor: String,
    /// Why (not in the log entry: unproven).
    pub reason: String,
    /// Log index of its entry.
    pub log_index: u64,
    /// Member name of its tlog-proof.
    pub proof: String,
}

/// One usage record and its inclusion proof.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleUsage {
    /// Registry sequence number.
    pub seq: i64,
    /// Unix milliseconds.
    pub time_ms: i64,
    /// Calling system.
    pub caller: String,
    /// query, verify-file, verify-face, qr-redeem.
    pub operation: String,
    /// Result code 0–7.
    pub result: u8,
    /// SM3 (hex) of the record's canonical form: the digest in its log entry.
    pub record_sm3: String,
    /// Log index of its entry.
    pub log_index: u64,
    /// Member name of its tlog-proof.
    pub proof: String,
}

/// Writes a bundle: add members, then [`BundleWriter::finish`] with the manifest.
#[derive(Debug, Default)]
pub struct BundleWriter {
    members: Vec<(String, Vec<u8>)>,
}

impl BundleWriter {
    /// An empty bundle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a member (`documents/license.pdf`, `events/0-issued.tlog-proof`…).
    pub fn add(&mut self, name: &str, data: Vec<u8>) {
        self.members.push((name.to_string(), data));
    }

    /// Fill `manifest.members` with the SM3 of every member and write the zip.
    pub fn finish(self, mut manifest: Manifest) -> Result<Vec<u8>> {
        manifest.format = BUNDLE_FORMAT.into();
        manifest.members = self
            .members
            .iter()
            .map(|(n, d)| (n.clone(), yinzheng_crypto::sm3_hex(d)))
            .collect();
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Bundle(e.to_string()))?;
        write_stored_zip(json, self.members)
    }
}

/// A zip of `manifest.json` (first) and `members`, every member stored.
pub(crate) fn write_stored_zip(
    manifest_json: Vec<u8>,
    members: Vec<(String, Vec<u8>)>,
) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    let bad = |e: &dyn std::fmt::Display| Error::Bundle(e.to_string());
    for (name, data) in std::iter::once(("manifest.json".to_string(), manifest_json)).chain(members)
    {
        zip.start_file(name, opts).map_err(|e| bad(&e))?;
        zip.write_all(&data).map_err(|e| bad(&e))?;
    }
    Ok(zip.finish().map_err(|e| bad(&e))?.into_inner())
}

/// The `format` of a zip's `manifest.json`, without reading other members.
pub(crate) fn manifest_format(bytes: &[u8]) -> Option<String> {
    if bytes.len() > MAX_BUNDLE_LEN {
        return None;
    }
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut text = Vec::new();
    z.by_name("manifest.json")
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut text)
        .ok()?;
    #[derive(Deserialize)]
    struct Head {
        format: String,
    }
    serde_json::from_slice::<Head>(&text).ok().map(|h| h.format)
}

/// The signed checkpoint (note bytes) an evidence bundle's proofs go to.
pub fn checkpoint_of(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut read = read(bytes)?;
    let manifest: Manifest = read
        .members
        .get("manifest.json")
        .ok_or_else(|| "no manifest.json".to_string())
        .and_then(|m| serde_json::from_slice(m).map_err(|e| e.to_string()))?;
    read.members
        .remove(&manifest.checkpoint)
        .ok_or_else(|| format!("{} is missing", manifest.checkpoint))
}

/// A bundle's documents: (member name, bytes), in manifest order.
pub type BundleDocuments = Vec<(String, Vec<u8>)>;

/// The license of an evidence bundle and its documents, as its manifest
/// lists them.
pub fn documents(bytes: &[u8]) -> std::result::Result<(String, BundleDocuments), String> {
    let mut read = read(bytes)?;
    let manifest: Manifest = read
        .members
        .get("manifest.json")
        .ok_or_else(|| "no manifest.json".to_string())
        .and_then(|m| serde_json::from_slice(m).map_err(|e| e.to_string()))?;
    let docs = manifest
        .documents
        .iter()
        .map(|d| {
            read.members
                .remove(&d.path)
                .map(|b| (d.path.clone(), b))
                .ok_or_else(|| format!("{} is missing", d.path))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok((manifest.license, docs))
}

/// A bundle as read: members by name, and what was wrong with the container.
pub(crate) struct ReadBundle {
    pub(crate) members: BTreeMap<String, Vec<u8>>,
    /// (member, problem) for members whose CRC-32 fails or that cannot be read.
    pub(crate) damaged: Vec<(String, String)>,
    /// Members that were compressed (ours are stored: a change stays in place).
    pub(crate) compressed: Vec<String>,
}

/// Most bytes read out of one bundle in all (compressed members inflate).
const MAX_TOTAL_LEN: u64 = 2 * MAX_BUNDLE_LEN as u64;

/// The entry count of the end-of-central-directory record that ends the
/// file, as our writer leaves it (no comment, nothing after it, one disk:
/// the two counts equal); `None` for anything else (a comment, trailing
/// bytes, zip64). The zip reader keys entries by name, so two entries with
/// one name would otherwise go unseen — one shown by other tools, the other
/// judged here — and it tolerates bytes after the record, where a second,
/// fake record could hide.
fn declared_entries(bytes: &[u8]) -> Option<usize> {
    let at = bytes.len().checked_sub(22)?;
    let eocd = bytes.get(at..)?;
    let u16_at = |i: usize| u16::from_le_bytes([eocd[i], eocd[i + 1]]);
    if &eocd[..4] != b"PK\x05\x06" || u16_at(20) != 0 || u16_at(8) != u16_at(10) {
        return None;
    }
    let n = u16_at(10);
    (n != 0xffff).then_some(usize::from(n))
}

/// Read every member. Stored members are read raw and their CRC-32 compared
/// here, so a damaged member is still handed on (its content checks then say
/// what the change broke); compressed members are read through the decoder.
pub(crate) fn read(bytes: &[u8]) -> std::result::Result<ReadBundle, String> {
    if bytes.len() > MAX_BUNDLE_LEN {
        return Err(format!("{} bytes, more than {MAX_BUNDLE_LEN}", bytes.len()));
    }
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a zip: {e}"))?;
    if z.len() > MAX_MEMBERS {
        return Err(format!("{} members, more than {MAX_MEMBERS}", z.len()));
    }
    let mut out = ReadBundle {
        members: BTreeMap::new(),
        damaged: Vec::new(),
        compressed: Vec::new(),
    };
    match declared_entries(bytes) {
        Some(n) if n == z.len() => {}
        Some(n) => out.damaged.push((
            "zip".into(),
            format!(
                "the zip declares {n} entries but holds {} distinct names: an entry name occurs twice",
                z.len()
            ),
        )),
        None => out.damaged.push((
            "zip".into(),
            "the file does not end in an end-of-central-directory record as written here \
             (a comment, trailing bytes, zip64 or several disks)"
                .into(),
        )),
    }
    let mut total = 0u64;
    for i in 0..z.len() {
        let (name, stored, crc, size) = match z.by_index_raw(i) {
            Ok(f) => (
                f.name().to_string(),
                f.compression() == zip::CompressionMethod::Stored,
                f.crc32(),
                f.size(),
            ),
            Err(e) => {
                out.damaged.push((format!("member #{i}"), e.to_string()));
                continue;
            }
        };
        if size > MAX_MEMBER_LEN {
            out.damaged
                .push((name, format!("{size} bytes, more than {MAX_MEMBER_LEN}")));
            continue;
        }
        if !stored {
            out.compressed.push(name.clone());
        }
        let mut data = Vec::new();
        let r = if stored {
            z.by_index_raw(i)
                .and_then(|f| Ok(f.take(MAX_MEMBER_LEN).read_to_end(&mut data)?))
        } else {
            z.by_index(i)
                .and_then(|f| Ok(f.take(MAX_MEMBER_LEN).read_to_end(&mut data)?))
        };
        if let Err(e) = r {
            out.damaged.push((name, e.to_string()));
            continue;
        }
        // What was actually read: a compressed member's declared size may lie.
        total += data.len() as u64;
        if total > MAX_TOTAL_LEN {
            out.damaged.push((
                name,
                format!("the members hold more than {MAX_TOTAL_LEN} bytes in all"),
            ));
            break;
        }
        if stored && crc32(&data) != crc {
            out.damaged.push((
                name.clone(),
                "its CRC-32 does not match: the member was changed after the bundle was written"
                    .into(),
            ));
        }
        if out.members.insert(name.clone(), data).is_some() {
            out.damaged
                .push((name, "the name occurs twice in the zip".into()));
        }
    }
    Ok(out)
}

/// CRC-32 (IEEE, as zip uses), bitwise: bundles are small and this runs once.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_entries_with_one_name_are_named_not_hidden() -> Result<()> {
        let mut w = BundleWriter::new();
        w.add("documents/a.pdf", b"%PDF-1.7 genuine".to_vec());
        w.add("documents/b.pdf", b"%PDF-1.7 forged!".to_vec());
        let mut zip = w.finish(Manifest::default())?;
        // Rename b to a in its local header and its central directory entry.
        let mut i = 0;
        while let Some(p) = zip[i..].windows(15).position(|x| x == b"documents/b.pdf") {
            zip[i + p + 10] = b'a';
            i += p + 1;
        }
        let r = read(&zip).map_err(Error::Bundle)?;
        assert!(
            r.damaged
                .iter()
                .any(|(m, why)| m == "zip" && why.contains("occurs twice")),
            "{:?}",
            r.damaged
        );
        Ok(())
    }

    #[test]
    fn bytes_after_the_end_record_are_named_not_tolerated() -> Result<()> {
        let mut w = BundleWriter::new();
        w.add("documents/a.pdf", b"%PDF-1.7 genuine".to_vec());
        let mut zip = w.finish(Manifest::default())?;
        assert!(read(&zip).map_err(Error::Bundle)?.damaged.is_empty());
        // Bytes after the end record, which the zip reader tolerates.
        zip.extend_from_slice(b"PK\x05\x06 and more");
        let r = read(&zip).map_err(Error::Bundle)?;
        assert!(r.damaged.iter().any(|(m, _)| m == "zip"), "{:?}", r.damaged);
        Ok(())
    }

    #[test]
    fn crc32_matches_the_zip_standard_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn bundles_round_trip_and_a_changed_byte_names_its_member() -> Result<()> {
        let mut w = BundleWriter::new();
        w.add("documents/license.pdf", b"%PDF-1.7 hello".to_vec());
        let zip = w.finish(Manifest {
            license: "x".into(),
            ..Default::default()
        })?;
        assert_eq!(
            yinzheng_document::Format::sniff(&zip),
            Some(yinzheng_document::Format::EvidenceBundle)
        );
        let r = read(&zip).map_err(Error::Bundle)?;
        assert!(r.damaged.is_empty());
        assert_eq!(r.members["documents/license.pdf"], b"%PDF-1.7 hello");
        let pos = zip
            .windows(5)
            .position(|w| w == b"hello")
            .ok_or_else(|| Error::Bundle("member data not found".into()))?;
        let mut bad = zip.clone();
        bad[pos] ^= 1;
        let r = read(&bad).map_err(Error::Bundle)?;
        assert_eq!(r.damaged.len(), 1);
        assert_eq!(r.damaged[0].0, "documents/license.pdf");
        Ok(())
    }
}
