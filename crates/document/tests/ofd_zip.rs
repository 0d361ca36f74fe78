//! ZIP hygiene of OFD packages: a package that a streaming reader (walking
//! local headers) and a seeking reader (trusting the central directory) would
//! read differently is refused with a typed error saying what, where and why.
//! The packages are written byte by byte here (APPNOTE 6.3.10 §4.3), so each
//! fault is exactly the one named.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use yinzheng_document::{Error, OfdPackage, ZipError, ZipFault};

/// One entry to write: name, data, and how to lie about it.
#[derive(Clone, Default)]
struct E {
    name: String,
    data: Vec<u8>,
    /// Local header name, if different from the central one.
    local_name: Option<String>,
    /// Local header CRC-32, if different.
    local_crc: Option<u32>,
    /// Local header sizes (both), if different.
    local_size: Option<u32>,
    /// Flag bit 3: zeros in the local header, a data descriptor after the data.
    descriptor: Option<Descriptor>,
    /// Leave it out of the central directory (a hidden local entry).
    hidden: bool,
}

#[derive(Clone, Copy)]
enum Descriptor {
    WithSignature,
    WithoutSignature,
}

fn e(name: &str, data: &[u8]) -> E {
    E {
        name: name.into(),
        data: data.to_vec(),
        ..E::default()
    }
}

fn crc(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

/// Write stored entries, `junk` bytes before entry `i` when given (`i` =
/// `entries.len()`: before the central directory), then the central directory
/// and its end record.
fn raw_zip(entries: &[E], junk: Option<(usize, &[u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut count = 0u16;
    for (i, en) in entries.iter().enumerate() {
        if let Some((_, bytes)) = junk.filter(|(at, _)| *at == i) {
            out.extend_from_slice(bytes);
        }
        let offset = out.len() as u32;
        let c = crc(&en.data);
        let len = en.data.len() as u32;
        let flags: u16 = if en.descriptor.is_some() { 8 } else { 0 };
        let local_name = en.local_name.as_deref().unwrap_or(&en.name);
        let (lcrc, lsize) = if en.descriptor.is_some() {
            (0, 0)
        } else {
            (en.local_crc.unwrap_or(c), en.local_size.unwrap_or(len))
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // stored
        out.extend_from_slice(&[0; 4]); // time, date
        out.extend_from_slice(&lcrc.to_le_bytes());
        out.extend_from_slice(&lsize.to_le_bytes());
        out.extend_from_slice(&lsize.to_le_bytes());
        out.extend_from_slice(&(local_name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(local_name.as_bytes());
        out.extend_from_slice(&en.data);
        match en.descriptor {
            Some(Descriptor::WithSignature) => {
                out.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
                out.extend_from_slice(&c.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
            }
            Some(Descriptor::WithoutSignature) => {
                out.extend_from_slice(&c.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
            }
            None => {}
        }
        if en.hidden {
            continue;
        }
        count += 1;
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&flags.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&[0; 4]);
        central.extend_from_slice(&c.to_le_bytes());
        central.extend_from_slice(&len.to_le_bytes());
        central.extend_from_slice(&len.to_le_bytes());
        central.extend_from_slice(&(en.name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 2 + 2 + 2 + 2 + 4]); // extra, comment, disk, attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(en.name.as_bytes());
    }
    if let Some((_, bytes)) = junk.filter(|(at, _)| *at == entries.len()) {
        out.extend_from_slice(bytes);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn base() -> Vec<E> {
    vec![
        e("OFD.xml", b"<ofd:OFD xmlns:ofd=\"x\"/>"),
        e("Doc_0/Document.xml", b"<ofd:Document xmlns:ofd=\"x\"/>"),
        e(
            "Doc_0/Pages/Page_0/Content.xml",
            b"<ofd:Page xmlns:ofd=\"x\"/>",
        ),
    ]
}

fn zip_error(bytes: &[u8]) -> ZipError {
    match OfdPackage::read(bytes) {
        Err(Error::Zip(z)) => z,
        Err(other) => panic!("expected a ZIP error, got {other}"),
        Ok(_) => panic!("expected a ZIP error, the package was read"),
    }
}

#[test]
fn a_clean_package_reads_also_with_data_descriptors() {
    let pkg = OfdPackage::read(&raw_zip(&base(), None)).unwrap();
    assert_eq!(pkg.part_names().count(), 3);
    let mut entries = base();
    entries[1].descriptor = Some(Descriptor::WithSignature);
    entries[2].descriptor = Some(Descriptor::WithoutSignature);
    let pkg = OfdPackage::read(&raw_zip(&entries, None)).unwrap();
    assert_eq!(
        pkg.part("Doc_0/Document.xml").unwrap(),
        b"<ofd:Document xmlns:ofd=\"x\"/>"
    );
}

#[test]
fn a_local_header_that_disagrees_with_the_central_directory_is_named() {
    let mut entries = base();
    entries[2].local_name = Some("Doc_0/Pages/Page_9/Content.xml".into());
    let z = zip_error(&raw_zip(&entries, None));
    assert_eq!(z.entry, "Doc_0/Pages/Page_0/Content.xml");
    assert!(
        matches!(&z.fault, ZipFault::NameMismatch { local } if local == "Doc_0/Pages/Page_9/Content.xml"),
        "{z}"
    );

    let mut entries = base();
    entries[1].local_crc = Some(0xdead_beef);
    let z = zip_error(&raw_zip(&entries, None));
    assert_eq!(z.entry, "Doc_0/Document.xml");
    assert!(
        matches!(
            z.fault,
            ZipFault::FieldMismatch {
                field: "CRC-32",
                local: 0xdead_beef,
                ..
            }
        ),
        "{z}"
    );

    let mut entries = base();
    entries[0].local_size = Some(3);
    let z = zip_error(&raw_zip(&entries, None));
    assert_eq!((z.entry.as_str(), z.offset), ("OFD.xml", 0));
    assert!(
        matches!(
            z.fault,
            ZipFault::FieldMismatch {
                field: "compressed size",
                local: 3,
                ..
            }
        ),
        "{z}"
    );
    // The message says what, where and why.
    let msg = Error::Zip(z).to_string();
    assert!(
        msg.contains("OFD.xml at byte 0") && msg.contains("compressed size"),
        "{msg}"
    );
}

#[test]
fn a_wrong_data_descriptor_is_refused() {
    let mut entries = base();
    entries[1].descriptor = Some(Descriptor::WithSignature);
    let mut bytes = raw_zip(&entries, None);
    // The descriptor's CRC sits right after Document.xml's data.
    let data = b"<ofd:Document xmlns:ofd=\"x\"/>";
    let at = bytes.windows(data.len()).position(|w| w == data).unwrap() + data.len() + 4;
    bytes[at] ^= 0xff;
    let z = zip_error(&bytes);
    assert_eq!(z.entry, "Doc_0/Document.xml");
    // The descriptor no longer matches, so its bytes belong to no entry.
    assert!(
        matches!(
            z.fault,
            ZipFault::DataDescriptor | ZipFault::UnclaimedBytes { .. }
        ),
        "{z}"
    );
}

#[test]
fn a_hidden_local_entry_between_entries_is_refused() {
    let mut entries = base();
    entries.insert(
        2,
        E {
            hidden: true,
            ..e("Doc_0/Pages/Page_1/Content.xml", b"<forged/>")
        },
    );
    let bytes = raw_zip(&entries, None);
    // A streaming reader sees four files...
    let mut seen = 0;
    let mut cursor = std::io::Cursor::new(&bytes);
    while let Ok(Some(_)) = zip::read::read_zipfile_from_stream(&mut cursor) {
        seen += 1;
    }
    assert_eq!(seen, 4, "the hidden entry is a file to a streaming reader");
    // ... the directory three: refused.
    let z = zip_error(&bytes);
    assert!(
        matches!(
            z.fault,
            ZipFault::UnclaimedBytes {
                hidden_header: true,
                ..
            }
        ),
        "{z}"
    );
    assert!(z.to_string().contains("hidden file"), "{z}");
}

#[test]
fn bytes_outside_entries_are_refused() {
    // Before the first entry (a prepended file), between two, and before the
    // central directory.
    for at in [0, 2, 3] {
        let z = zip_error(&raw_zip(&base(), Some((at, b"junk"))));
        assert!(
            matches!(
                z.fault,
                ZipFault::UnclaimedBytes {
                    len: 4,
                    hidden_header: false
                }
            ),
            "{at}: {z}"
        );
    }
}

#[test]
fn duplicate_names_are_refused() {
    // The zip crate alone keeps only the last of two equal names.
    let mut entries = base();
    entries.push(e("Doc_0/Pages/Page_0/Content.xml", b"<forged/>"));
    let z = zip_error(&raw_zip(&entries, None));
    assert!(
        matches!(&z.fault, ZipFault::DuplicateName(first) if first == "Doc_0/Pages/Page_0/Content.xml"),
        "{z}"
    );
    for twin in ["/OFD.xml", "ofd.xml", "DOC_0/Document.xml"] {
        let mut entries = base();
        entries.push(e(twin, b"<x/>"));
        let z = zip_error(&raw_zip(&entries, None));
        assert!(matches!(z.fault, ZipFault::DuplicateName(_)), "{twin}: {z}");
    }
}

#[test]
fn ambiguous_names_are_refused() {
    for name in ["Doc_0/../OFD2.xml", "Doc_0//x.xml", "Doc_0\\x.xml", "./x"] {
        let mut entries = base();
        entries.push(e(name, b"<x/>"));
        let z = zip_error(&raw_zip(&entries, None));
        assert_eq!(z.fault, ZipFault::AmbiguousName, "{name}: {z}");
    }
}

#[test]
fn zip64_packages_read() {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for en in base() {
        z.start_file(en.name, opts).unwrap();
        z.write_all(&en.data).unwrap();
    }
    let bytes = z.finish().unwrap().into_inner();
    let pkg = OfdPackage::read(&bytes).unwrap();
    assert_eq!(pkg.part_names().count(), 3);
}

#[test]
fn damaged_packages_are_errors_not_panics() {
    let mut entries = base();
    entries[1].descriptor = Some(Descriptor::WithSignature);
    let bytes = raw_zip(&entries, None);
    for i in 0..bytes.len() {
        for v in [0x00, 0xff, bytes[i] ^ 0x01] {
            let mut b = bytes.clone();
            b[i] = v;
            let _ = OfdPackage::read(&b);
        }
        let _ = OfdPackage::read(&bytes[..i]);
    }
}
