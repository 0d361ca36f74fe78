//! What a verifier trusts: root certificates, CRLs, intermediates and who may
//! make seals; and the verification calls that use it.

use crate::error::{Error, Result, read_file};
use std::path::{Path, PathBuf};
use yinzheng_document::{MakerPolicy, TrustContext, VerifyRequest};
use yinzheng_pki::{Crl, ParsedCert, RevocationPolicy, Validator, VerificationReport};

/// Largest certificate bundle or CRL file read from disk.
const MAX_TRUST_FILE: usize = 64 << 20;

/// Trust material for verifying seals and sealed documents, made with
/// [`Trust::builder`].
///
/// It holds the trust anchors (root CA certificates), CRLs, intermediate CA
/// certificates that help build paths (they never make anything trusted), and
/// the rule for who may make seals (制章者): by default a maker's certificate
/// must carry Yinzheng's seal-maker policy and chain to the anchors.
///
/// Revocation data is required for every certificate checked unless
/// [`TrustBuilder::danger_revocation_best_effort`] says otherwise, so a
/// `Trust` without CRLs fails closed (INDETERMINATE), never open.
#[derive(Debug)]
pub struct Trust {
    root_subjects: Vec<String>,
    context: TrustContext,
}

#[derive(Debug)]
enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Source {
    fn load(&self) -> Result<std::borrow::Cow<'_, [u8]>> {
        Ok(match self {
            Source::Bytes(b) => b.as_slice().into(),
            Source::File(p) => read_file(p, MAX_TRUST_FILE)?.into(),
        })
    }

    fn what(&self) -> String {
        match self {
            Source::Bytes(_) => "given bytes".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Builds a [`Trust`]: at least one root, then any CRLs, intermediates and
/// seal-maker rule. Nothing is read until [`TrustBuilder::build`].
#[derive(Debug, Default)]
#[must_use]
pub struct TrustBuilder {
    roots: Vec<Source>,
    intermediates: Vec<Source>,
    crls: Vec<Source>,
    maker_roots: Vec<Source>,
    danger_any_maker: bool,
    danger_best_effort: bool,
    allow_pdf_annotations: bool,
}

impl Trust {
    /// Start building trust material.
    pub fn builder() -> TrustBuilder {
        TrustBuilder::default()
    }

    /// Subjects (RFC 4514 text) of the trust anchors.
    pub fn root_subjects(&self) -> Vec<String> {
        self.root_subjects.clone()
    }

    /// Verify a sealed document, a seal signature or a seal, recognised by
    /// its content:
    ///
    /// - `%PDF-`: every signature of the PDF (byte range, CMS, signer chain,
    ///   time stamp, the carried seal, later revisions);
    /// - a zip package: every signature of the OFD document (each Reference's
    ///   digest over the raw part bytes, then the seal signature);
    /// - a GB/T 38540 / GM/T 0031 seal signature (`SES_Signature`): the
    ///   signature, the seal inside it and both chains; the protected data is
    ///   not known here, so its digest is reported as not checked — use
    ///   [`Trust::verify_detached`] when you hold the data;
    /// - a seal (`SES_Seal`): the maker's signature and chain, at the current
    ///   time.
    ///
    /// A document that fails a check still gives `Ok` with a report saying
    /// TOTAL_FAILED or INDETERMINATE; `Err` means the bytes are none of these
    /// formats or could not be read at all.
    pub fn verify(&self, bytes: &[u8]) -> Result<VerificationReport> {
        use yinzheng_document::Format;
        match Format::sniff(bytes) {
            None => Err(Error::Format(
                "neither a PDF, an OFD package, a seal signature nor a seal".into(),
            )),
            Some(Format::DetachedCms) => Err(Error::Format(
                "a detached CMS signature needs its data: use verify_detached".into(),
            )),
            Some(Format::EvidenceBundle) => Err(Error::Format(
                "an evidence bundle: verify it with yinzheng-audit".into(),
            )),
            Some(format) => Ok(self
                .context
                .verify_as(format, bytes, &VerifyRequest::default())?),
        }
    }

    /// Verify a detached signature over `data`: a CMS SignedData (`.p7s`,
    /// e.g. made by [`seal_bytes`](crate::seal_bytes), with the seal signature
    /// it carries) or a GB/T 38540 seal signature whose `dataHash` is the SM3
    /// of `data`.
    ///
    /// As with [`Trust::verify`], a failed check is an `Ok` report; `Err` means
    /// `signature` is neither format.
    pub fn verify_detached(&self, data: &[u8], signature: &[u8]) -> Result<VerificationReport> {
        use yinzheng_document::Format;
        let format = Format::sniff(signature)
            .filter(|f| matches!(f, Format::DetachedCms | Format::SealSignature))
            .ok_or_else(|| {
                Error::Format(
                    "the signature is neither a CMS SignedData nor a seal signature".into(),
                )
            })?;
        let req = VerifyRequest {
            detached: Some(data),
            ..VerifyRequest::default()
        };
        Ok(self.context.verify_as(format, signature, &req)?)
    }

    /// The trust context every verification here runs on.
    pub fn context(&self) -> &TrustContext {
        &self.context
    }
}

impl TrustBuilder {
    /// Trust anchors: root CA certificates, PEM (several in one bundle) or DER.
    pub fn roots_pem(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.roots.push(Source::Bytes(bytes.into()));
        self
    }

    /// Trust anchors from a file (a PEM bundle or one DER certificate), such
    /// as the output of `yinzheng ca export-roots`.
    pub fn roots_file(mut self, path: impl AsRef<Path>) -> Self {
        self.roots.push(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// Intermediate CA certificates (PEM bundle or DER) that help build
    /// chains; they never make a certificate trusted on their own.
    pub fn intermediates_pem(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.intermediates.push(Source::Bytes(bytes.into()));
        self
    }

    /// Intermediate CA certificates from a file.
    pub fn intermediates_file(mut self, path: impl AsRef<Path>) -> Self {
        self.intermediates
            .push(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// A CRL (or several), PEM or DER, such as `yinzheng ca crl` writes.
    pub fn crl(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.crls.push(Source::Bytes(bytes.into()));
        self
    }

    /// CRLs from a file.
    pub fn crl_file(mut self, path: impl AsRef<Path>) -> Self {
        self.crls.push(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// The trust domain directory of `yinzheng ca init`
    /// (`<home>/pki/<domain>/`): its `root.pem` becomes an anchor and its
    /// `issuing*.pem` certificates intermediates. Private keys there are
    /// never read. CRLs are not stored there: add them with
    /// [`TrustBuilder::crl_file`].
    pub fn trust_domain_dir(mut self, dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        self.roots.push(Source::File(dir.join("root.pem")));
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut names: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    name.starts_with("issuing")
                        && name.ends_with(".pem")
                        && !name.ends_with(".key.pem")
                })
                .collect();
            names.sort();
            self.intermediates
                .extend(names.into_iter().map(Source::File));
        }
        self
    }

    /// Seal makers must chain to these anchors (a CA that certifies seal
    /// makers only), instead of carrying Yinzheng's seal-maker policy.
    pub fn maker_roots_pem(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.maker_roots.push(Source::Bytes(bytes.into()));
        self
    }

    /// Seal-maker anchors from a file.
    pub fn maker_roots_file(mut self, path: impl AsRef<Path>) -> Self {
        self.maker_roots
            .push(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// Accept any certificate under the anchors as a seal maker, for PKIs
    /// that do not mark makers (e.g. ofdrw's test PKI). Anyone holding a
    /// certificate under these anchors can then make a seal in another
    /// organisation's name; the reports carry a warning saying so.
    pub fn danger_any_maker(mut self) -> Self {
        self.danger_any_maker = true;
        self
    }

    /// Do not require revocation information: a certificate with no CRL or
    /// OCSP response passes instead of being INDETERMINATE. A revoked
    /// certificate whose CRL you did give still fails.
    pub fn danger_revocation_best_effort(mut self) -> Self {
        self.danger_best_effort = true;
        self
    }

    /// Accept annotations (comments, highlights; not signature widgets)
    /// added to a PDF after it was sealed, unless a certification (DocMDP
    /// level 1 or 2) forbids them. They are reported as warnings. Off by
    /// default: an annotation can cover what was sealed.
    pub fn allow_pdf_annotations(mut self) -> Self {
        self.allow_pdf_annotations = true;
        self
    }

    /// Read and parse everything; fails on an unreadable file, a malformed
    /// certificate or CRL, no root at all, or conflicting maker rules.
    pub fn build(self) -> Result<Trust> {
        if self.danger_any_maker && !self.maker_roots.is_empty() {
            return Err(Error::Options(
                "maker roots and danger_any_maker exclude each other".into(),
            ));
        }
        let certs = |sources: &[Source]| -> Result<Vec<ParsedCert>> {
            let mut out = Vec::new();
            for s in sources {
                let certs = ParsedCert::load_all(&s.load()?)?;
                if certs.is_empty() {
                    return Err(Error::Format(format!("no certificate in {}", s.what())));
                }
                out.extend(certs);
            }
            Ok(out)
        };
        let roots = certs(&self.roots)?;
        if roots.is_empty() {
            return Err(Error::Options(
                "no trust anchors: give roots_pem, roots_file or trust_domain_dir".into(),
            ));
        }
        let mut crls = Vec::new();
        for s in &self.crls {
            crls.extend(Crl::parse_all(&s.load()?)?);
        }
        let policy = |v: Validator| {
            if self.danger_best_effort {
                v.with_revocation(RevocationPolicy::DangerBestEffort)
            } else {
                v
            }
        };
        let makers = if self.maker_roots.is_empty() {
            None
        } else {
            Some(policy(
                Validator::new(certs(&self.maker_roots)?).with_crls(crls.clone()),
            ))
        };
        let makers = match makers {
            Some(v) => MakerPolicy::Anchors(Box::new(v)),
            None if self.danger_any_maker => MakerPolicy::DangerAny,
            None => MakerPolicy::Policy,
        };
        Ok(Trust {
            root_subjects: roots.iter().map(ParsedCert::subject).collect(),
            context: TrustContext::new(policy(Validator::new(roots).with_crls(crls)))
                .with_intermediates(certs(&self.intermediates)?)
                .with_makers(makers)
                .with_pdf_changes(yinzheng_document::PdfChangePolicy {
                    allow_annotations: self.allow_pdf_annotations,
                }),
        })
    }
}
