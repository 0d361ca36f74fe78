//! A raw pass over the package's ZIP structure before any entry is read: the
//! central directory (APPNOTE 6.3.10 §4.3.12–4.3.16, Zip64 included) must be
//! the whole truth about the package.
//!
//! Readers disagree on ZIP files in two ways that matter for a signed OFD: a
//! streaming reader walks the local file headers from byte 0, a seeking
//! reader (ours, the `zip` crate's) trusts the central directory. A package
//! where the two walks find different files shows one document to the
//! verifier and another to the user. So every central-directory entry's local
//! header must agree with it (signature, name, method, CRC-32 and sizes; with
//! flag bit 3 the values in the data descriptor after the data), the entries
//! must tile the bytes from offset 0 to the central directory with no gap (a
//! gap could hold a hidden local header) and no overlap, and no name may
//! appear twice (the `zip` crate silently keeps the last of two equal names).
//!
//! Work is bounded: at most [`crate::MAX_PACKAGE_ENTRIES`] entries, each
//! looked at in O(1) plus its name; every offset is checked against the data.

use crate::error::{ZipError, ZipFault};

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const LOCAL_SIG_BYTES: [u8; 4] = *b"PK\x03\x04";

/// One central-directory entry, as checked.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Name bytes as stored.
    pub(crate) name_raw: Vec<u8>,
    /// Offset of the local header.
    pub(crate) local_offset: u64,
    /// Offset of the central-directory header.
    pub(crate) central_offset: u64,
    /// Uncompressed size.
    pub(crate) size: u64,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
}

impl Entry {
    /// The name for messages (lossy UTF-8).
    pub(crate) fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name_raw).into_owned()
    }
}

/// The checked central directory.
pub(crate) struct Directory {
    /// Entries in central-directory order.
    pub(crate) entries: Vec<Entry>,
}

fn err(entry: impl Into<String>, offset: u64, fault: ZipFault) -> ZipError {
    ZipError {
        entry: entry.into(),
        offset,
        fault,
    }
}

/// Little-endian reads that fail as [`ZipFault::Truncated`].
struct At<'a> {
    bytes: &'a [u8],
    what: &'static str,
    entry: &'a str,
}

impl At<'_> {
    fn slice(&self, off: u64, len: u64) -> Result<&[u8], ZipError> {
        let trunc = || err(self.entry, off, ZipFault::Truncated(self.what));
        let start = usize::try_from(off).map_err(|_| trunc())?;
        let len = usize::try_from(len).map_err(|_| trunc())?;
        let end = start.checked_add(len).ok_or_else(trunc)?;
        self.bytes.get(start..end).ok_or_else(trunc)
    }
    fn u16(&self, off: u64) -> Result<u16, ZipError> {
        let b = self.slice(off, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, off: u64) -> Result<u32, ZipError> {
        let b = self.slice(off, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, off: u64) -> Result<u64, ZipError> {
        let b = self.slice(off, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// Check the ZIP structure of `bytes` (see the module doc).
pub(crate) fn check(bytes: &[u8], max_entries: usize) -> Result<Directory, ZipError> {
    let eocd_name = "end of central directory";
    let (eocd, total, cd_size, cd_offset, cd_limit) = find_directory(bytes)?;
    if total > max_entries as u64 {
        return Err(err(eocd_name, eocd, ZipFault::TooManyEntries(total)));
    }
    if cd_offset
        .checked_add(cd_size)
        .is_none_or(|end| end > cd_limit)
    {
        return Err(err(
            "central directory",
            cd_offset,
            ZipFault::Truncated("central directory"),
        ));
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(total as usize);
    let mut pos = cd_offset;
    let cd_end = cd_offset + cd_size;
    for _ in 0..total {
        let at = At {
            bytes: &bytes[..cd_end as usize],
            what: "central directory header",
            entry: "central directory",
        };
        if at.u32(pos)? != CENTRAL_SIG {
            return Err(err(
                "central directory",
                pos,
                ZipFault::BadSignature("central directory header"),
            ));
        }
        let flags = at.u16(pos + 8)?;
        let method = at.u16(pos + 10)?;
        let crc = at.u32(pos + 16)?;
        let mut compressed = u64::from(at.u32(pos + 20)?);
        let mut size = u64::from(at.u32(pos + 24)?);
        let name_len = u64::from(at.u16(pos + 28)?);
        let extra_len = u64::from(at.u16(pos + 30)?);
        let comment_len = u64::from(at.u16(pos + 32)?);
        let disk = at.u16(pos + 34)?;
        let mut local_offset = u64::from(at.u32(pos + 42)?);
        let name_raw = at.slice(pos + 46, name_len)?.to_vec();
        let extra = at.slice(pos + 46 + name_len, extra_len)?;
        let name = String::from_utf8_lossy(&name_raw).into_owned();
        // Zip64 extended information (APPNOTE §4.5.3): only the fields that are
        // saturated in the fixed part are present, in this order.
        if let Some(z) = zip64_extra(extra) {
            let mut i = 0usize;
            let mut take = |v: &mut u64| -> Result<(), ZipError> {
                let b = z
                    .get(i..i + 8)
                    .ok_or_else(|| err(&name, pos, ZipFault::Truncated("Zip64 extra field")))?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                *v = u64::from_le_bytes(a);
                i += 8;
                Ok(())
            };
            if size == 0xFFFF_FFFF {
                take(&mut size)?;
            }
            if compressed == 0xFFFF_FFFF {
                take(&mut compressed)?;
            }
            if local_offset == 0xFFFF_FFFF {
                take(&mut local_offset)?;
            }
        }
        if disk != 0 && disk != 0xFFFF {
            return Err(err(
                &name,
                pos,
                ZipFault::Unsupported("an entry on another disk".into()),
            ));
        }
        if flags & 1 != 0 {
            return Err(err(
                &name,
                pos,
                ZipFault::Unsupported("an encrypted entry".into()),
            ));
        }
        entries.push(Entry {
            name_raw,
            local_offset,
            central_offset: pos,
            size,
            flags,
            method,
            crc,
            compressed,
        });
        pos += 46 + name_len + extra_len + comment_len;
    }
    if pos != cd_end {
        return Err(err(
            "central directory",
            cd_offset,
            ZipFault::DirectorySize {
                declared: cd_size,
                parsed: pos - cd_offset,
            },
        ));
    }
    check_names(&entries)?;

    // Each local header, and where its entry ends.
    let mut spans: Vec<(u64, u64, usize)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let end = check_local(bytes, e, cd_offset)?;
        spans.push((e.local_offset, end, i));
    }
    // The entries tile [0, cd_offset) exactly.
    spans.sort_unstable();
    let mut cursor = 0u64;
    let mut prev: Option<usize> = None;
    for &(start, end, i) in &spans {
        let name = entries[i].display_name();
        if start < cursor {
            let other = prev.map(|p| entries[p].display_name()).unwrap_or_default();
            return Err(err(name, start, ZipFault::Overlap(other)));
        }
        if start > cursor {
            return Err(unclaimed(bytes, cursor, start));
        }
        cursor = end;
        prev = Some(i);
    }
    if cursor < cd_offset {
        return Err(unclaimed(bytes, cursor, cd_offset));
    }
    if cursor > cd_offset {
        let name = prev.map(|p| entries[p].display_name()).unwrap_or_default();
        return Err(err(
            name,
            cd_offset,
            ZipFault::Overlap("central directory".into()),
        ));
    }
    Ok(Directory { entries })
}

/// The end-of-central-directory record (the last one whose comment fits the
/// data) and, through the Zip64 locator when fields are saturated, the Zip64
/// record: (record offset, entries, directory size, directory offset, where
/// the directory must end).
fn find_directory(bytes: &[u8]) -> Result<(u64, u64, u64, u64, u64), ZipError> {
    let name = "end of central directory";
    let len = bytes.len();
    if len < 22 {
        return Err(err(name, 0, ZipFault::NoEndOfCentralDirectory));
    }
    let lowest = (len - 22).saturating_sub(0xFFFF);
    let mut found = None;
    for off in (lowest..=len - 22).rev() {
        if bytes[off..off + 4] == EOCD_SIG.to_le_bytes() {
            let comment = usize::from(u16::from_le_bytes([bytes[off + 20], bytes[off + 21]]));
            if off + 22 + comment <= len {
                found = Some(off);
                break;
            }
        }
    }
    let off = found.ok_or_else(|| err(name, len as u64, ZipFault::NoEndOfCentralDirectory))?;
    let at = At {
        bytes,
        what: "end of central directory",
        entry: name,
    };
    let o = off as u64;
    let disk = at.u16(o + 4)?;
    let cd_disk = at.u16(o + 6)?;
    let on_disk = at.u16(o + 8)?;
    let total = at.u16(o + 10)?;
    let cd_size = at.u32(o + 12)?;
    let cd_offset = at.u32(o + 16)?;
    let saturated = disk == 0xFFFF
        || cd_disk == 0xFFFF
        || on_disk == 0xFFFF
        || total == 0xFFFF
        || cd_size == 0xFFFF_FFFF
        || cd_offset == 0xFFFF_FFFF;
    let has_locator = o >= 20 && at.u32(o - 20)? == ZIP64_LOCATOR_SIG;
    if !saturated && !has_locator {
        if disk != 0 || cd_disk != 0 || on_disk != total {
            return Err(err(
                name,
                o,
                ZipFault::Unsupported("a split (multi-disk) archive".into()),
            ));
        }
        return Ok((
            o,
            u64::from(total),
            u64::from(cd_size),
            u64::from(cd_offset),
            o,
        ));
    }
    // Zip64 (APPNOTE §4.3.14–4.3.15).
    if !has_locator {
        return Err(err(name, o, ZipFault::BadSignature("Zip64 locator")));
    }
    let record = at.u64(o - 20 + 8)?;
    if at.u32(o - 20 + 16)? > 1 || record > o - 20 {
        return Err(err(name, o - 20, ZipFault::Truncated("Zip64 locator")));
    }
    let z = At {
        bytes: &bytes[..(o - 20) as usize],
        what: "Zip64 end of central directory",
        entry: name,
    };
    if z.u32(record)? != ZIP64_EOCD_SIG {
        return Err(err(
            name,
            record,
            ZipFault::BadSignature("Zip64 end of central directory"),
        ));
    }
    let disk = z.u32(record + 16)?;
    let cd_disk = z.u32(record + 20)?;
    let on_disk = z.u64(record + 24)?;
    let total = z.u64(record + 32)?;
    if disk != 0 || cd_disk != 0 || on_disk != total {
        return Err(err(
            name,
            record,
            ZipFault::Unsupported("a split (multi-disk) archive".into()),
        ));
    }
    Ok((
        record,
        total,
        z.u64(record + 40)?,
        z.u64(record + 48)?,
        record,
    ))
}

/// The data of the Zip64 extended-information extra field, if any.
fn zip64_extra(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let data = extra.get(4..4 + len)?;
        if id == 0x0001 {
            return Some(data);
        }
        extra = &extra[4 + len..];
    }
    None
}

/// Names that two readers could take for one file: exact duplicates (the
/// `zip` crate keeps only the last), and names equal but for a leading `/` or
/// ASCII case.
fn check_names(entries: &[Entry]) -> Result<(), ZipError> {
    let mut seen: std::collections::HashMap<Vec<u8>, usize> =
        std::collections::HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let mut key: &[u8] = &e.name_raw;
        while let Some(rest) = key.strip_prefix(b"/") {
            key = rest;
        }
        let key = key.to_ascii_lowercase();
        if let Some(&j) = seen.get(&key) {
            return Err(err(
                e.display_name(),
                e.central_offset,
                ZipFault::DuplicateName(entries[j].display_name()),
            ));
        }
        seen.insert(key, i);
    }
    Ok(())
}

/// Check entry `e`'s local header against the central directory; returns
/// where the entry ends (after its data and any data descriptor).
fn check_local(bytes: &[u8], e: &Entry, cd_offset: u64) -> Result<u64, ZipError> {
    let name = e.display_name();
    let at = At {
        bytes: &bytes[..cd_offset as usize],
        what: "local header",
        entry: &name,
    };
    let o = e.local_offset;
    if at.u32(o)? != LOCAL_SIG {
        return Err(err(&name, o, ZipFault::BadSignature("local file header")));
    }
    let flags = at.u16(o + 6)?;
    let method = at.u16(o + 8)?;
    let crc = at.u32(o + 14)?;
    let mut compressed = u64::from(at.u32(o + 18)?);
    let mut size = u64::from(at.u32(o + 22)?);
    let name_len = u64::from(at.u16(o + 26)?);
    let extra_len = u64::from(at.u16(o + 28)?);
    let local_name = at.slice(o + 30, name_len)?;
    let extra = at.slice(o + 30 + name_len, extra_len)?;
    if local_name != e.name_raw.as_slice() {
        return Err(err(
            &name,
            o,
            ZipFault::NameMismatch {
                local: String::from_utf8_lossy(local_name).into_owned(),
            },
        ));
    }
    let mismatch = |field, local: u64, central: u64| {
        err(
            &name,
            o,
            ZipFault::FieldMismatch {
                field,
                local,
                central,
            },
        )
    };
    if method != e.method {
        return Err(mismatch("method", method.into(), e.method.into()));
    }
    // Bit 0 (encryption) and, for non-ASCII names, bit 11 (UTF-8 names) change
    // what a reader makes of the entry; bit 3 is checked through the descriptor.
    let mut significant = 0x0001u16;
    if !e.name_raw.is_ascii() {
        significant |= 0x0800;
    }
    if flags & significant != e.flags & significant {
        return Err(mismatch("flags", flags.into(), e.flags.into()));
    }
    if let Some(z) = zip64_extra(extra) {
        // In a local header both sizes are present when either is saturated.
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF {
            let u = z.get(0..8).zip(z.get(8..16));
            if let Some((u, c)) = u {
                let mut a = [0u8; 8];
                a.copy_from_slice(u);
                size = u64::from_le_bytes(a);
                a.copy_from_slice(c);
                compressed = u64::from_le_bytes(a);
            }
        }
    }
    let descriptor = flags & 0x0008 != 0;
    // With a descriptor, the local values are zero (or, from some writers, the real ones).
    let agree = |local: u64, central: u64| local == central || (descriptor && local == 0);
    if !agree(crc.into(), e.crc.into()) {
        return Err(mismatch("CRC-32", crc.into(), e.crc.into()));
    }
    if !agree(compressed, e.compressed) {
        return Err(mismatch("compressed size", compressed, e.compressed));
    }
    if !agree(size, e.size) {
        return Err(mismatch("uncompressed size", size, e.size));
    }
    let data_end = (o + 30 + name_len + extra_len)
        .checked_add(e.compressed)
        .filter(|&end| end <= cd_offset)
        .ok_or_else(|| err(&name, o, ZipFault::Truncated("entry data")))?;
    if !descriptor {
        return Ok(data_end);
    }
    // Data descriptor (APPNOTE §4.3.9): optional signature, CRC-32, then both
    // sizes in 4 bytes, or 8 for Zip64 entries. Take the first layout that
    // agrees with the central directory.
    for (sig, wide) in [(true, false), (true, true), (false, false), (false, true)] {
        let mut p = data_end;
        if sig {
            if at.u32(p).ok() != Some(DESCRIPTOR_SIG) {
                continue;
            }
            p += 4;
        }
        let Ok(d_crc) = at.u32(p) else { continue };
        let sizes = if wide {
            at.u64(p + 4).ok().zip(at.u64(p + 12).ok())
        } else {
            at.u32(p + 4)
                .ok()
                .zip(at.u32(p + 8).ok())
                .map(|(c, u)| (u64::from(c), u64::from(u)))
        };
        let Some((d_comp, d_size)) = sizes else {
            continue;
        };
        if d_crc == e.crc && d_comp == e.compressed && d_size == e.size {
            return Ok(p + 4 + if wide { 16 } else { 8 });
        }
    }
    Err(err(&name, data_end, ZipFault::DataDescriptor))
}

fn unclaimed(bytes: &[u8], from: u64, to: u64) -> ZipError {
    let gap = bytes.get(from as usize..to as usize).unwrap_or_default();
    let hidden_header = gap.windows(4).any(|w| w == LOCAL_SIG_BYTES);
    err(
        "(between entries)",
        from,
        ZipFault::UnclaimedBytes {
            len: to - from,
            hidden_header,
        },
    )
}
