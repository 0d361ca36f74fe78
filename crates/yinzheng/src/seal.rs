//! Sealing: who seals ([`Sealer`]), how ([`SealOptions`]) and what
//! ([`seal_pdf`], [`seal_ofd`], [`seal_bytes`]).

use crate::error::{Error, Result, read_file};
use std::path::Path;
use yinzheng_cms::TimeStampAuthority;
use yinzheng_crypto::{PrivateKey, Signer};
use yinzheng_pki::ParsedCert;
use yinzheng_seal::{CertList, Seal};

/// Who seals: a seal (印章, made by a seal maker), the key of a signer that
/// the seal authorises, the signer's certificate from the seal's list, and
/// optionally intermediate CA certificates and a time-stamping authority.
///
/// The key decides the mode of a PDF seal: an SM2 key seals in national mode
/// (SM2/SM3 CMS carrying the GB/T 38540 seal signature), an ECDSA P-256 key in
/// international mode (PAdES, which mainstream PDF validators check).
///
/// Any [`Signer`] works, so a hardware module or remote signer fits without
/// changing the calls.
pub struct Sealer {
    seal: Seal,
    signer: Box<dyn Signer>,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    tsa: Option<TimeStampAuthority>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("seal", &self.seal.id())
            .field("algorithm", &self.signer.algorithm())
            .field("chain", &self.chain.len())
            .field("tsa", &self.tsa.is_some())
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer for `seal` with `signer`, whose public key must belong to a
    /// certificate in the seal's certificate list.
    pub fn new(seal: Seal, signer: impl Signer + 'static) -> Result<Self> {
        let CertList::Certificates(certs) = seal.cert_list() else {
            return Err(Error::Options(format!(
                "seal {} lists certificate digests; sealing needs the certificates themselves",
                seal.id()
            )));
        };
        let certificate = certs
            .iter()
            .find(|c| {
                ParsedCert::from_der(c)
                    .ok()
                    .and_then(|p| p.public_key().cloned())
                    .as_ref()
                    == Some(signer.public_key())
            })
            .cloned()
            .ok_or_else(|| {
                Error::Options(format!(
                    "the key is not authorised by seal {}: no certificate of the seal holds it",
                    seal.id()
                ))
            })?;
        Ok(Sealer {
            seal,
            signer: Box::new(signer),
            certificate,
            chain: Vec::new(),
            tsa: None,
        })
    }

    /// Load a seal file (`.esl`, as `yinzheng seal make` writes) and a private
    /// key file (PEM or DER; encrypted PKCS#8 with `passphrase`).
    pub fn from_files(
        seal: impl AsRef<Path>,
        key: impl AsRef<Path>,
        passphrase: Option<&[u8]>,
    ) -> Result<Self> {
        let seal = Seal::parse(&read_file(seal.as_ref(), yinzheng_seal::MAX_SEAL_LEN)?)?;
        Self::new(seal, load_key(key, passphrase)?)
    }

    /// Intermediate CA certificates (PEM bundle or DER) to carry in PDF
    /// signatures, so that verifiers holding only the root can build the chain.
    pub fn with_chain_pem(mut self, bytes: &[u8]) -> Result<Self> {
        self.chain.extend(
            ParsedCert::load_all(bytes)?
                .into_iter()
                .map(|c| c.der().to_vec()),
        );
        Ok(self)
    }

    /// A time-stamping authority for [`SealOptions::time_stamp`].
    pub fn with_time_stamp_authority(mut self, tsa: TimeStampAuthority) -> Self {
        self.tsa = Some(tsa);
        self
    }

    /// The seal.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// The signer's certificate (DER), as listed in the seal.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    fn tsa(&self, opts: &SealOptions) -> Result<Option<&TimeStampAuthority>> {
        match (opts.time_stamp, &self.tsa) {
            (false, _) => Ok(None),
            (true, Some(t)) => Ok(Some(t)),
            (true, None) => Err(Error::Options(
                "a time stamp was asked for but the sealer has no time-stamping authority".into(),
            )),
        }
    }
}

/// Load a private key file: PEM or DER, PKCS#8 (encrypted with `passphrase`
/// or not) or SEC1. Keys written by `yinzheng key gen` are encrypted PKCS#8.
pub fn load_key(path: impl AsRef<Path>, passphrase: Option<&[u8]>) -> Result<PrivateKey> {
    let bytes =
        zeroize::Zeroizing::new(read_file(path.as_ref(), yinzheng_crypto::MAX_KEY_FILE_LEN)?);
    Ok(PrivateKey::from_bytes(&bytes, passphrase)?)
}

/// Where and how to seal, with defaults: page 1, top-left corner at
/// (20 mm, 20 mm), signed now, no time stamp.
///
/// ```
/// let opts = yinzheng::SealOptions::new()
///     .page(2)
///     .at_mm(120.0, 200.0)
///     .reason("合同审批")
///     .time_stamp(true);
/// # let _ = opts;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SealOptions {
    page: usize,
    position: Position,
    time: Option<time::OffsetDateTime>,
    time_stamp: bool,
    caption: Option<String>,
    reason: Option<String>,
    location: Option<String>,
    property: Option<String>,
}

#[derive(Clone, Debug)]
enum Position {
    At(f64, f64),
    Near(String),
}

impl Default for SealOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SealOptions {
    /// The defaults: page 1 at (20 mm, 20 mm), signed now, no time stamp.
    pub fn new() -> Self {
        SealOptions {
            page: 1,
            position: Position::At(20.0, 20.0),
            time: None,
            time_stamp: false,
            caption: None,
            reason: None,
            location: None,
            property: None,
        }
    }

    /// Page number, from 1.
    pub fn page(mut self, page: usize) -> Self {
        self.page = page;
        self
    }

    /// The seal's top-left corner, in mm from the top-left corner of the page
    /// as displayed.
    pub fn at_mm(mut self, x_mm: f64, y_mm: f64) -> Self {
        self.position = Position::At(x_mm, y_mm);
        self
    }

    /// PDF only: centre the seal just below the first occurrence of `text`
    /// on the page (e.g. "盖章处").
    pub fn near(mut self, text: impl Into<String>) -> Self {
        self.position = Position::Near(text.into());
        self
    }

    /// The signing time (default: the current time when sealing).
    pub fn signing_time(mut self, time: time::OffsetDateTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Add an RFC 3161 signature time stamp from the sealer's
    /// time-stamping authority (PDF: PAdES B-T; detached CMS: the same
    /// unsigned attribute). Not available for OFD.
    pub fn time_stamp(mut self, yes: bool) -> Self {
        self.time_stamp = yes;
        self
    }

    /// PDF only: a line of text drawn under the seal.
    pub fn caption(mut self, text: impl Into<String>) -> Self {
        self.caption = Some(text.into());
        self
    }

    /// PDF only: the signature's `/Reason`.
    pub fn reason(mut self, text: impl Into<String>) -> Self {
        self.reason = Some(text.into());
        self
    }

    /// PDF only: the signature's `/Location`.
    pub fn location(mut self, text: impl Into<String>) -> Self {
        self.location = Some(text.into());
        self
    }

    /// [`seal_bytes`] only: the seal signature's `propertyInfo` (by default
    /// empty), e.g. the file name.
    pub fn property(mut self, text: impl Into<String>) -> Self {
        self.property = Some(text.into());
        self
    }

    fn time(&self) -> Result<time::OffsetDateTime> {
        let t = self.time.unwrap_or_else(|| {
            time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8))
        });
        t.replace_nanosecond(0)
            .map_err(|e| Error::Options(e.to_string()))
    }

    fn at(&self, format: &str) -> Result<(f64, f64)> {
        match &self.position {
            Position::At(x, y) => Ok((*x, *y)),
            Position::Near(_) => Err(Error::Options(format!(
                "{format}: place the seal with at_mm (near is for PDF)"
            ))),
        }
    }
}

/// Seal a PDF: a new revision with a visible seal (the seal's PNG picture at
/// its real size) and a detached CMS signature; earlier bytes, and earlier
/// seals, stay valid. The key decides national (SM2) or international
/// (ECDSA P-256) mode; other keys are refused.
pub fn seal_pdf(pdf: &[u8], sealer: &Sealer, opts: &SealOptions) -> Result<Vec<u8>> {
    use yinzheng_document::{
        PdfPosition, PdfSealAppearance, PdfSealMode, PdfSealer, PdfStampOptions,
    };
    let mode = PdfSealMode::for_key(sealer.signer.public_key().algorithm())?;
    let appearance = PdfSealAppearance::of_seal(&sealer.seal, opts.caption.clone())?;
    let mut o = PdfStampOptions::new(opts.time()?);
    o.page = opts.page;
    o.position = match &opts.position {
        Position::At(x_mm, y_mm) => PdfPosition::At {
            x_mm: *x_mm,
            y_mm: *y_mm,
        },
        Position::Near(text) => PdfPosition::Near { text: text.clone() },
    };
    o.appearance = Some(appearance);
    o.name = ParsedCert::from_der(&sealer.certificate)
        .ok()
        .map(|c| c.subject());
    o.reason = opts.reason.clone();
    o.location = opts.location.clone();
    Ok(yinzheng_document::seal_pdf(
        pdf,
        &o,
        &PdfSealer {
            signer: sealer.signer.as_ref(),
            certificate: &sealer.certificate,
            chain: sealer.chain.clone(),
            seal: mode.carried(&sealer.seal),
            tsa: sealer.tsa(opts)?,
        },
    )?)
}

/// Seal an OFD document (GB/T 33190 package): adds a GB/T 38540 seal
/// signature with its stamp annotation at [`SealOptions::at_mm`] on
/// [`SealOptions::page`]; earlier seals stay valid. Needs an SM2 key.
pub fn seal_ofd(ofd: &[u8], sealer: &Sealer, opts: &SealOptions) -> Result<Vec<u8>> {
    if opts.time_stamp {
        return Err(Error::Options(
            "OFD seals carry no time stamp yet; leave time_stamp off".into(),
        ));
    }
    let (x_mm, y_mm) = opts.at("OFD")?;
    Ok(yinzheng_document::stamp_ofd(
        ofd,
        &sealer.seal,
        sealer.signer.as_ref(),
        &sealer.certificate,
        yinzheng_document::Placement {
            page: opts.page,
            x_mm,
            y_mm,
        },
        opts.time()?,
    )?)
}

/// Seal any bytes: a detached CMS SignedData (`.p7s`) over `data`, signed with
/// SM2/SM3 and carrying the GB/T 38540 seal signature as an unsigned
/// attribute, as `yinzheng stamp --cms` writes. Verify it with
/// [`Trust::verify_detached`](crate::Trust::verify_detached). Needs an SM2 key.
pub fn seal_bytes(data: &[u8], sealer: &Sealer, opts: &SealOptions) -> Result<Vec<u8>> {
    let now = opts.time()?;
    let sig = yinzheng_seal::stamp(
        &sealer.seal,
        sealer.signer.as_ref(),
        &sealer.certificate,
        data,
        opts.property.as_deref().unwrap_or(""),
        now,
    )?;
    let cms_opts = yinzheng_cms::SignOptions {
        unsigned_attributes: vec![(
            yinzheng_cms::oid::ATTR_SES_SIGNATURE.to_string(),
            yinzheng_crypto::asn1::tlv(0x04, sig.raw()),
        )],
        signing_time: Some(now),
        chain: sealer.chain.clone(),
        ..Default::default()
    };
    let tsa = sealer.tsa(opts)?;
    let stamper = tsa
        .map(|tsa| move |sig: &[u8]| -> yinzheng_cms::Result<Vec<u8>> { tsa.stamp_data(sig, now) });
    Ok(yinzheng_cms::sign_detached(
        sealer.signer.as_ref(),
        &sealer.certificate,
        &[data],
        &cms_opts,
        stamper
            .as_ref()
            .map(|f| f as &dyn Fn(&[u8]) -> yinzheng_cms::Result<Vec<u8>>),
    )?)
}
