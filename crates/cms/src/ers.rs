//! RFC 4998 Evidence Record Syntax (ERS): proof that a data object existed
//! at a time, kept valid for decades by renewing it before its time stamps
//! or hash algorithms weaken.
//!
//! ```text
//! EvidenceRecord ::= SEQUENCE {
//!   version                   INTEGER { v1(1) },
//!   digestAlgorithms          SEQUENCE OF AlgorithmIdentifier,
//!   cryptoInfos               [0] CryptoInfos OPTIONAL,     -- not written; refused when read
//!   encryptionInfo            [1] EncryptionInfo OPTIONAL,  -- idem
//!   archiveTimeStampSequence  ArchiveTimeStampSequence }
//! ArchiveTimeStampSequence ::= SEQUENCE OF ArchiveTimeStampChain
//! ArchiveTimeStampChain    ::= SEQUENCE OF ArchiveTimeStamp
//! ArchiveTimeStamp ::= SEQUENCE {
//!   digestAlgorithm  [0] AlgorithmIdentifier OPTIONAL,
//!   attributes       [1] Attributes OPTIONAL,               -- not written; ignored when read
//!   reducedHashtree  [2] SEQUENCE OF PartialHashtree OPTIONAL,
//!   timeStamp        ContentInfo }                          -- an RFC 3161 token
//! PartialHashtree ::= SEQUENCE OF OCTET STRING
//! ```
//!
//! Hash trees (§4.2): a parent is the hash of its children's hashes sorted
//! in binary ascending order and concatenated; a node without a sibling is
//! carried up as it is. One archive time stamp over a tree's root covers
//! every object in it; each object's record carries its path (the reduced
//! hash tree). Renewal (§5.2): a *time-stamp renewal* adds to the last chain
//! an archive time stamp over the hash of the previous one's `timeStamp`
//! (same hash algorithm); a *hash-tree renewal* starts a new chain with a new
//! hash algorithm H, whose first time stamp covers H(H(data) ‖
//! H(ArchiveTimeStampSequence so far)) (§5.2 step 4, unsorted).
//!
//! This module checks hashes, trees, order and each token's signature; the
//! TSA certificates' paths and validity — each must hold at the time of the
//! next link, the last one now — are for the caller, with yinzheng-pki and
//! the [`VerifiedLink`]s returned.

use crate::digest::Digest;
use crate::tsp::{VerifiedTimeStamp, verify_time_stamp_imprint};
use crate::verify::VerifyOptions;
use crate::{Error, Result};
use yinzheng_crypto::asn1::{Reader, Tlv, tlv};

/// Largest evidence record read.
pub const MAX_ERS_LEN: usize = 4 << 20;
/// Most chains (hash-tree renewals) in a record.
pub const MAX_CHAINS: usize = 64;
/// Most archive time stamps in one chain (time-stamp renewals).
pub const MAX_STAMPS_PER_CHAIN: usize = 1024;
/// Most partial hash trees in a reduced hash tree (tree depth).
pub const MAX_TREE_DEPTH: usize = 64;
/// Most hash values in one partial hash tree.
pub const MAX_PARTIAL_HASHES: usize = 1024;

/// One archive time stamp: a time stamp over the root of a hash tree, and
/// this object's path in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveTimeStamp {
    /// The tree's hash algorithm when written (else the token's imprint's).
    pub digest: Option<Digest>,
    /// The `attributes [1]` field as received (whole TLV), kept so that a
    /// hash-tree renewal covers the record as it was; never written by us.
    pub attributes: Option<Vec<u8>>,
    /// The reduced hash tree: partial hash trees from the leaf level up.
    pub reduced: Vec<Vec<Vec<u8>>>,
    /// The RFC 3161 token (ContentInfo), as received.
    pub time_stamp: Vec<u8>,
    /// The whole archive time stamp as received: what is written back and
    /// what a hash-tree renewal covers, byte for byte (another encoder's
    /// AlgorithmIdentifier parameters included). `None` for ours.
    raw: Option<Vec<u8>>,
}

/// An evidence record for one data object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// Every hash algorithm used (the record's `digestAlgorithms`).
    pub digests: Vec<Digest>,
    /// The archive time-stamp chains, oldest first; each one hash algorithm.
    pub chains: Vec<Vec<ArchiveTimeStamp>>,
}

/// One verified archive time stamp, in order.
#[derive(Clone, Debug)]
pub struct VerifiedLink {
    /// Its chain (0: the first; each later one a hash-tree renewal).
    pub chain: usize,
    /// Its place in the chain (each later one a time-stamp renewal).
    pub index: usize,
    /// The chain's hash algorithm.
    pub digest: Digest,
    /// The root it time-stamps (the token's imprint).
    pub imprint: Vec<u8>,
    /// The token, its signature verified (its TSA certificate still needs a
    /// path and must be valid at the next link's time, the last one now).
    pub time_stamp: VerifiedTimeStamp,
}

/// A hash tree over data objects' hashes (§4.2), binary.
#[derive(Clone, Debug)]
pub struct HashTree {
    digest: Digest,
    /// Level 0: the leaves; the last level: the root alone.
    levels: Vec<Vec<Vec<u8>>>,
}

/// The hash of `values` sorted in binary ascending order and concatenated
/// (one value: itself).
fn hash_set(digest: Digest, values: &[Vec<u8>]) -> Vec<u8> {
    if let [one] = values {
        return one.clone();
    }
    let mut sorted: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    sorted.sort_unstable();
    digest.digest_parts(&sorted)
}

impl HashTree {
    /// The tree over `leaves` (each a `digest` hash of a data object, or of
    /// the renewal input); at least one.
    pub fn new(digest: Digest, leaves: Vec<Vec<u8>>) -> Result<Self> {
        if leaves.is_empty() {
            return Err(Error::Refused("a hash tree needs at least one leaf".into()));
        }
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            let up = below.chunks(2).map(|pair| hash_set(digest, pair)).collect();
            levels.push(up);
        }
        Ok(HashTree { digest, levels })
    }

    /// The hash algorithm.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The root (what one archive time stamp covers).
    pub fn root(&self) -> &[u8] {
        self.levels
            .last()
            .and_then(|l| l.first())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The reduced hash tree of leaf `index`: the leaf alone (so that the
    /// record proves its own object, not its neighbour's), then the
    /// sibling at each level up (levels where the node was carried up alone
    /// are left out), as Bouncy Castle writes it. Empty for a tree of one
    /// leaf or an index out of range.
    pub fn reduced(&self, index: usize) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let Some(leaf) = self.levels.first().and_then(|l| l.get(index)) else {
            return out;
        };
        if self.levels.len() == 1 {
            return out;
        }
        out.push(vec![leaf.clone()]);
        let mut i = index;
        for level in &self.levels {
            if level.len() == 1 {
                break;
            }
            if let Some(s) = level.get(i ^ 1) {
                out.push(vec![s.clone()]);
            }
            i /= 2;
        }
        out
    }
}

/// The root a reduced hash tree leads to from `leaf` (§5.3 step by step):
/// the first partial tree must hold the leaf; each set is hashed sorted.
fn root_of(
    digest: Digest,
    leaf: &[u8],
    reduced: &[Vec<Vec<u8>>],
) -> std::result::Result<Vec<u8>, String> {
    let Some((first, rest)) = reduced.split_first() else {
        return Ok(leaf.to_vec());
    };
    let len = leaf.len();
    if reduced.iter().flatten().any(|h| h.len() != len) {
        return Err(format!(
            "a hash value of the reduced hash tree is not {len} bytes ({})",
            digest.name()
        ));
    }
    if !first.iter().any(|h| h == leaf) {
        return Err("the object's hash is not in the first partial hash tree".into());
    }
    let mut h = hash_set(digest, first);
    for partial in rest {
        let mut set = partial.clone();
        set.push(h);
        h = hash_set(digest, &set);
    }
    Ok(h)
}

/// A time-stamping function: a token over `imprint` hashed with `digest`.
pub type Stamp<'a> = &'a mut dyn FnMut(Digest, &[u8]) -> Result<Vec<u8>>;

impl EvidenceRecord {
    /// Evidence records for data objects whose `digest` hashes are
    /// `objects`, all covered by one archive time stamp over their tree
    /// (one record per object, in order).
    pub fn archive(digest: Digest, objects: &[Vec<u8>], stamp: Stamp<'_>) -> Result<Vec<Self>> {
        let tree = HashTree::new(digest, objects.to_vec())?;
        let token = stamp(digest, tree.root())?;
        Ok((0..objects.len())
            .map(|i| EvidenceRecord {
                digests: vec![digest],
                chains: vec![vec![ArchiveTimeStamp {
                    digest: Some(digest),
                    attributes: None,
                    reduced: tree.reduced(i),
                    time_stamp: token.clone(),
                    raw: None,
                }]],
            })
            .collect())
    }

    /// Time-stamp renewal (§5.2): before the last token's TSA certificate
    /// expires or its algorithms weaken, a new archive time stamp over the
    /// hash of the last one's `timeStamp`, in the same chain (same hash).
    pub fn renew_time_stamp(&mut self, stamp: Stamp<'_>) -> Result<()> {
        let chain = self
            .chains
            .last_mut()
            .ok_or_else(|| Error::Refused("an evidence record without a chain".into()))?;
        let last = chain
            .last()
            .ok_or_else(|| Error::Refused("an empty archive time-stamp chain".into()))?;
        let digest = chain_digest(chain)?;
        let imprint = digest.digest(&last.time_stamp);
        let token = stamp(digest, &imprint)?;
        chain.push(ArchiveTimeStamp {
            digest: Some(digest),
            attributes: None,
            reduced: Vec::new(),
            time_stamp: token,
            raw: None,
        });
        Ok(())
    }

    /// Hash-tree renewal (§5.2): before the chain's hash algorithm weakens,
    /// a new chain with `digest`, its first time stamp over
    /// H(H(`data`) ‖ H(the ArchiveTimeStampSequence so far)).
    pub fn renew_hash_tree(&mut self, data: &[u8], digest: Digest, stamp: Stamp<'_>) -> Result<()> {
        let leaf = renewal_leaf(digest, data, &self.sequence_der(self.chains.len()));
        let token = stamp(digest, &leaf)?;
        self.chains.push(vec![ArchiveTimeStamp {
            digest: Some(digest),
            attributes: None,
            reduced: Vec::new(),
            time_stamp: token,
            raw: None,
        }]);
        if !self.digests.contains(&digest) {
            self.digests.push(digest);
        }
        Ok(())
    }

    /// Verify the record for `data` (§5.3): every chain and every link in
    /// order — the first chain's first time stamp over the object's hash
    /// (through its reduced tree), each later one in a chain over the
    /// previous token, each later chain over the object and every chain
    /// before it — each token's signature, and times never going back.
    /// A broken link is [`Error::EvidenceRecord`], naming it.
    pub fn verify(&self, data: &[u8], opts: &VerifyOptions) -> Result<Vec<VerifiedLink>> {
        if self.chains.is_empty() {
            return Err(broken(0, 0, "no archive time-stamp chain".into()));
        }
        let mut links: Vec<VerifiedLink> = Vec::new();
        for (k, chain) in self.chains.iter().enumerate() {
            let digest = chain_digest(chain).map_err(|e| broken(k, 0, e.to_string()))?;
            if !self.digests.contains(&digest) {
                return Err(broken(
                    k,
                    0,
                    format!(
                        "{} is not among the record's digestAlgorithms",
                        digest.name()
                    ),
                ));
            }
            let mut previous: Option<&ArchiveTimeStamp> = None;
            for (i, ats) in chain.iter().enumerate() {
                let leaf = match previous {
                    None if k == 0 => digest.digest(data),
                    None => renewal_leaf(digest, data, &self.sequence_der(k)),
                    Some(p) => digest.digest(&p.time_stamp),
                };
                let root = root_of(digest, &leaf, &ats.reduced).map_err(|why| broken(k, i, why))?;
                let ts = verify_time_stamp_imprint(&ats.time_stamp, digest, &root, opts)
                    .map_err(|e| broken(k, i, format!("time stamp: {e}")))?;
                if let Some(before) = links.last()
                    && ts.info.gen_time < before.time_stamp.info.gen_time
                {
                    return Err(broken(
                        k,
                        i,
                        format!(
                            "its time {} is before the previous link's {}",
                            ts.info.gen_time, before.time_stamp.info.gen_time
                        ),
                    ));
                }
                links.push(VerifiedLink {
                    chain: k,
                    index: i,
                    digest,
                    imprint: root,
                    time_stamp: ts,
                });
                previous = Some(ats);
            }
        }
        Ok(links)
    }

    /// DER.
    pub fn to_der(&self) -> Vec<u8> {
        let mut body = tlv(0x02, &[1]);
        let algs: Vec<u8> = self
            .digests
            .iter()
            .flat_map(|d| d.algorithm_identifier())
            .collect();
        body.extend(tlv(0x30, &algs));
        body.extend(self.sequence_der(self.chains.len()));
        tlv(0x30, &body)
    }

    /// DER of the ArchiveTimeStampSequence of the first `n` chains (what a
    /// hash-tree renewal covers).
    fn sequence_der(&self, n: usize) -> Vec<u8> {
        let chains: Vec<u8> = self.chains[..n.min(self.chains.len())]
            .iter()
            .flat_map(|c| {
                let stamps: Vec<u8> = c.iter().flat_map(ArchiveTimeStamp::to_der).collect();
                tlv(0x30, &stamps)
            })
            .collect();
        tlv(0x30, &chains)
    }

    /// Read a DER evidence record (size and count limits; cryptoInfos and
    /// encryptionInfo refused: this reader does not decrypt).
    pub fn parse(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_ERS_LEN {
            return Err(Error::Refused(format!(
                "an evidence record of {} bytes exceeds the limit of {MAX_ERS_LEN}",
                der.len()
            )));
        }
        let what = "EvidenceRecord";
        let mut r = Reader::new(der);
        let top = r.tlv_at(0, der.len(), what)?;
        r.expect(&top, 0x30, what)?;
        if top.whole.end != der.len() {
            return Err(Error::malformed(
                what,
                top.whole.end,
                "bytes after the record",
            ));
        }
        let f = r.children(&top, what)?;
        let [version, algs, rest @ ..] = f.as_slice() else {
            return Err(Error::malformed(what, 0, "too few fields"));
        };
        if r.integer(version, "EvidenceRecord.version")? != 1 {
            return Err(Error::malformed(
                what,
                version.whole.start,
                "version is not 1",
            ));
        }
        r.expect(algs, 0x30, "digestAlgorithms")?;
        let mut digests = Vec::new();
        for a in r.children(algs, "digestAlgorithms")? {
            digests.push(read_digest(&mut r, &a)?);
        }
        let [seq] = rest else {
            if rest.is_empty() {
                return Err(Error::malformed(what, 0, "no ArchiveTimeStampSequence"));
            }
            return Err(Error::Unsupported {
                what: "evidence record field",
                detail: "cryptoInfos or encryptionInfo (encrypted records)".into(),
            });
        };
        r.expect(seq, 0x30, "ArchiveTimeStampSequence")?;
        let chain_tlvs = r.children(seq, "ArchiveTimeStampSequence")?;
        if chain_tlvs.len() > MAX_CHAINS {
            return Err(Error::malformed(what, seq.whole.start, "too many chains"));
        }
        let mut chains = Vec::new();
        for c in &chain_tlvs {
            r.expect(c, 0x30, "ArchiveTimeStampChain")?;
            let stamps = r.children(c, "ArchiveTimeStampChain")?;
            if stamps.is_empty() || stamps.len() > MAX_STAMPS_PER_CHAIN {
                return Err(Error::malformed(
                    "ArchiveTimeStampChain",
                    c.whole.start,
                    "empty, or too many archive time stamps",
                ));
            }
            let mut chain = Vec::new();
            for s in &stamps {
                chain.push(read_ats(&mut r, s)?);
            }
            chains.push(chain);
        }
        if chains.is_empty() {
            return Err(Error::malformed(what, seq.whole.start, "no chain"));
        }
        Ok(EvidenceRecord { digests, chains })
    }
}

impl ArchiveTimeStamp {
    /// DER: as received when it was read, else ours.
    pub fn to_der(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut body = Vec::new();
        if let Some(d) = self.digest {
            let alg = d.algorithm_identifier();
            // [0] IMPLICIT AlgorithmIdentifier: the SEQUENCE re-tagged.
            body.extend(tlv(0xa0, strip_header(&alg)));
        }
        if let Some(a) = &self.attributes {
            body.extend_from_slice(a);
        }
        if !self.reduced.is_empty() {
            let partials: Vec<u8> = self
                .reduced
                .iter()
                .flat_map(|p| {
                    let hashes: Vec<u8> = p.iter().flat_map(|h| tlv(0x04, h)).collect();
                    tlv(0x30, &hashes)
                })
                .collect();
            body.extend(tlv(0xa2, &partials));
        }
        body.extend_from_slice(&self.time_stamp);
        tlv(0x30, &body)
    }
}

/// The content of a DER TLV (our own encoding).
fn strip_header(der: &[u8]) -> &[u8] {
    match yinzheng_crypto::asn1::header(der, 0, der.len()) {
        Ok(h) => der.get(h.header_len..).unwrap_or_default(),
        Err(_) => &[],
    }
}

fn read_digest(r: &mut Reader<'_>, alg: &Tlv) -> Result<Digest> {
    let oid = match r.children(alg, "AlgorithmIdentifier")?.first() {
        Some(o) => r.oid(o, "AlgorithmIdentifier.algorithm")?,
        None => {
            return Err(Error::malformed(
                "AlgorithmIdentifier",
                alg.whole.start,
                "empty",
            ));
        }
    };
    Digest::from_oid(&oid).ok_or(Error::Unsupported {
        what: "evidence record hash algorithm",
        detail: oid,
    })
}

fn read_ats(r: &mut Reader<'_>, s: &Tlv) -> Result<ArchiveTimeStamp> {
    let what = "ArchiveTimeStamp";
    r.expect(s, 0x30, what)?;
    let f = r.children(s, what)?;
    let Some((ts, fields)) = f.split_last() else {
        return Err(Error::malformed(what, s.whole.start, "empty"));
    };
    r.expect(ts, 0x30, "ArchiveTimeStamp.timeStamp")?;
    let mut ats = ArchiveTimeStamp {
        digest: None,
        attributes: None,
        reduced: Vec::new(),
        time_stamp: r.whole(ts).to_vec(),
        raw: Some(r.whole(s).to_vec()),
    };
    let mut last_tag = 0u8;
    for t in fields {
        if t.tag <= last_tag {
            return Err(Error::malformed(
                what,
                t.whole.start,
                "fields out of order or repeated",
            ));
        }
        last_tag = t.tag;
        match t.tag {
            0xa0 => ats.digest = Some(read_digest(r, t)?),
            // Attributes: informational, kept as received.
            0xa1 => ats.attributes = Some(r.whole(t).to_vec()),
            0xa2 => {
                let partials = r.children(t, "reducedHashtree")?;
                if partials.len() > MAX_TREE_DEPTH {
                    return Err(Error::malformed(
                        what,
                        t.whole.start,
                        "reduced hash tree too deep",
                    ));
                }
                for p in &partials {
                    r.expect(p, 0x30, "PartialHashtree")?;
                    let hashes = r.children(p, "PartialHashtree")?;
                    if hashes.is_empty() || hashes.len() > MAX_PARTIAL_HASHES {
                        return Err(Error::malformed(
                            "PartialHashtree",
                            p.whole.start,
                            "empty, or too many hash values",
                        ));
                    }
                    let mut set = Vec::new();
                    for h in &hashes {
                        r.expect(h, 0x04, "PartialHashtree hash value")?;
                        set.push(r.bytes(h).to_vec());
                    }
                    ats.reduced.push(set);
                }
            }
            other => {
                return Err(Error::malformed(
                    what,
                    t.whole.start,
                    format!("unknown field [{}]", other & 0x1f),
                ));
            }
        }
    }
    Ok(ats)
}

/// The one hash algorithm of a chain: each archive time stamp's, or its
/// token's imprint's; all the same.
fn chain_digest(chain: &[ArchiveTimeStamp]) -> Result<Digest> {
    let mut found: Option<Digest> = None;
    for (i, ats) in chain.iter().enumerate() {
        let d = match ats.digest {
            Some(d) => d,
            None => crate::tsp::token_imprint_digest(&ats.time_stamp)?,
        };
        match found {
            None => found = Some(d),
            Some(f) if f != d => {
                return Err(Error::Refused(format!(
                    "archive time stamp {i} hashes with {}, the chain with {}",
                    d.name(),
                    f.name()
                )));
            }
            Some(_) => {}
        }
    }
    found.ok_or_else(|| Error::Refused("an empty archive time-stamp chain".into()))
}

/// The leaf of a hash-tree renewal (§5.2 step 4): H(H(data) ‖
/// H(sequence)), in that order — not sorted (as Bouncy Castle and DSS
/// write and read it; only the RFC's figure says "sorted").
fn renewal_leaf(digest: Digest, data: &[u8], sequence: &[u8]) -> Vec<u8> {
    digest.digest_parts(&[&digest.digest(data), &digest.digest(sequence)])
}

fn broken(chain: usize, stamp: usize, why: String) -> Error {
    Error::EvidenceRecord { chain, stamp, why }
}
