//! A throw-away trust domain for examples, doc tests and first steps.
//!
//! **Not for production.** It makes an SM2 root and issuing CA, a seal maker,
//! a seal signer for 示例科技有限公司, a drawn contract seal (合同专用章) and a CRL,
//! with weak key encryption (1,000 PBKDF2 iterations, passphrase
//! [`PASSPHRASE`]), in a directory of your choice. A real deployment runs
//! `yinzheng ca init`, `ca issue` and `seal make` instead, and hands the
//! developer the same kinds of files.
//!
//! The seal is drawn with an installed CJK font, else the embedded WenQuanYi
//! Micro Hei subset (see `yinzheng_fonts`).

use crate::error::{Error, Result};
use crate::{Sealer, Trust};
use std::path::{Path, PathBuf};
use yinzheng_ca::demo::{DemoAuthority, MadeAuthority};
use yinzheng_crypto::KeyEncryption;
use yinzheng_seal::SealType;
use yinzheng_store::Backend;

/// The passphrase of the demo's private keys.
pub const PASSPHRASE: &[u8] = b"demo";

/// The files of a demo trust domain (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Demo {
    dir: PathBuf,
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, bytes).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })
}

impl Demo {
    /// Make a fresh demo domain in `dir` (created if missing; it must not
    /// hold one already). Takes about a second.
    pub fn create(dir: impl AsRef<Path>) -> Result<Demo> {
        let dir = dir.as_ref().to_path_buf();
        let enc = KeyEncryption::default().with_iterations(1000);
        let now = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .map_err(|e| Error::Options(e.to_string()))?;
        let MadeAuthority {
            mut domain,
            signer_key,
            seal,
            ..
        } = DemoAuthority {
            root_subject: "CN=Yinzheng Demo Root CA,O=Yinzheng Demo,C=CN",
            organisation: "示例科技有限公司",
            uscc: "91350100M000100Y43",
            seal_id: "demo-seal-1",
            seal_name: "示例科技有限公司合同专用章",
            seal_type: SealType::Contract,
            seal_text: "合同专用章",
            size_mm: 40,
            seal_days: 365,
            cert_days: Some(365),
            key_encryption: enc,
            now,
        }
        .create(&dir.join("pki"), &Backend::Embedded, PASSPHRASE)?;
        let crls: String = domain.crl(24)?.iter().map(|c| c.to_pem()).collect();
        let demo = Demo { dir };
        write(&demo.roots_file(), domain.root().to_pem())?;
        write(&demo.intermediates_file(), domain.issuing().to_pem())?;
        write(&demo.crl_file(), crls)?;
        write(&demo.seal_file(), seal.raw())?;
        write(
            &demo.key_file(),
            signer_key
                .to_encrypted_pkcs8_pem(PASSPHRASE, &enc)?
                .as_bytes(),
        )?;
        Ok(demo)
    }

    /// `roots.pem`: the root CA certificate, the one trust anchor.
    pub fn roots_file(&self) -> PathBuf {
        self.dir.join("roots.pem")
    }

    /// `issuing.pem`: the issuing CA certificate (an intermediate).
    pub fn intermediates_file(&self) -> PathBuf {
        self.dir.join("issuing.pem")
    }

    /// `ca.crl`: the issuing CA's CRL and the root's ARL (PEM), valid 24 hours.
    pub fn crl_file(&self) -> PathBuf {
        self.dir.join("ca.crl")
    }

    /// `seal.esl`: the contract seal (GB/T 38540 `SES_Seal`).
    pub fn seal_file(&self) -> PathBuf {
        self.dir.join("seal.esl")
    }

    /// `signer.key.pem`: the seal signer's SM2 key, encrypted with [`PASSPHRASE`].
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("signer.key.pem")
    }

    /// `pki/`: the trust domain (root, issuing CA, their encrypted keys,
    /// `ca.db`), for [`TrustBuilder::trust_domain_dir`](crate::TrustBuilder::trust_domain_dir).
    pub fn trust_domain_dir(&self) -> PathBuf {
        self.dir.join("pki")
    }

    /// Trust in this domain: its root, issuing CA and CRLs.
    pub fn trust(&self) -> Result<Trust> {
        Trust::builder()
            .roots_file(self.roots_file())
            .intermediates_file(self.intermediates_file())
            .crl_file(self.crl_file())
            .build()
    }

    /// The seal signer with the contract seal, carrying the issuing CA.
    pub fn sealer(&self) -> Result<Sealer> {
        let chain = crate::error::read_file(&self.intermediates_file(), 1 << 20)?;
        Sealer::from_files(self.seal_file(), self.key_file(), Some(PASSPHRASE))?
            .with_chain_pem(&chain)
    }
}
