//! Issuing licenses: check the data against the type, assign the identifier,
//! render the face (OFD master and PDF copy, with a QR code carrying the verify
//! URL and identifier), seal both, anchor an "issued" entry, keep the evidence,
//! and store everything in one transaction.

use crate::anchor::Anchor;
use crate::catalogue::LicenseType;
use crate::error::{Error, Result};
use crate::model::{Holder, License, Status};
use crate::registry::{
    Registry, entry, get_in, insert_event, insert_license, set_status, write_atomic,
};
use crate::{LicenseId, format_date};
use yinzheng_cms::TimeStampAuthority;
use yinzheng_crypto::Signer;
use yinzheng_document::{OfdDocumentSpec, OfdFont, OfdImage, OfdPage};
use yinzheng_seal::Seal;
use yinzheng_store::{Db, params};

/// Longest face value accepted.
pub const MAX_FIELD_LEN: usize = 2000;

/// What the issuing authority asks for.
#[derive(Clone, Debug, Default)]
pub struct IssueRequest {
    /// Type key or code in the catalogue.
    pub type_key: String,
    /// Holder name.
    pub holder_name: String,
    /// Holder USCC or citizen ID (per the type's holder kind; check character verified).
    pub holder_code: String,
    /// Face fields as (key, value); keys from the type's catalogue entry.
    pub fields: Vec<(String, String)>,
    /// License number printed on the face (default: the serial).
    pub number: Option<String>,
    /// First day of validity (default: the issue date).
    pub valid_from: Option<time::Date>,
    /// Last day of validity (default: from the type's validity_days; none = 长期).
    pub valid_to: Option<time::Date>,
    /// Serial (default: next of `<year><6 digits>` for this type and issuer).
    pub serial: Option<String>,
}

/// The issuing authority's seal, key and font: what puts a face on paper.
pub struct FaceSealer<'a> {
    /// The seal (its picture is stamped; it must list `certificate`).
    pub seal: &'a Seal,
    /// The seal holder's signing key.
    pub signer: &'a dyn Signer,
    /// The signer's certificate (DER).
    pub certificate: &'a [u8],
    /// Intermediate CAs carried in the PDF's CMS.
    pub chain: Vec<Vec<u8>>,
    /// An optional time-stamping authority for the PDF seal (B-T).
    pub tsa: Option<&'a TimeStampAuthority>,
    /// The CJK font of the face.
    pub font: &'a OfdFont,
    /// Who issues (recorded in events and the log).
    pub actor: String,
}

/// Where the seal goes on the face, mm from the top-left corner.
const SEAL_AT_MM: (f64, f64) = (112.0, 132.0);
/// The QR code's box, mm.
const QR_BOX_MM: (f64, f64, f64) = (160.0, 18.0, 30.0);

/// Check `req` against its type and build the license (no files yet).
pub(crate) fn build_license(
    service: &crate::catalogue::Service,
    ty: &LicenseType,
    req: &IssueRequest,
    id: LicenseId,
    today: time::Date,
) -> Result<License> {
    let holder_code = req.holder_code.trim().to_ascii_uppercase();
    match ty.holder_type.as_str() {
        "111" => yinzheng_pki::ids::check_citizen_id(&holder_code)
            .map_err(|e| Error::Invalid(format!("holder code: {e}")))?,
        _ => yinzheng_pki::ids::check_uscc(&holder_code)
            .map_err(|e| Error::Invalid(format!("holder code: {e}")))?,
    }
    let holder_name = req.holder_name.trim();
    if holder_name.is_empty() || holder_name.chars().count() > 200 {
        return Err(Error::Invalid("holder name: 1 to 200 characters".into()));
    }
    let mut face = Vec::new();
    for (k, v) in &req.fields {
        if !ty.fields.iter().any(|f| &f.key == k) {
            let keys: Vec<&str> = ty.fields.iter().map(|f| f.key.as_str()).collect();
            return Err(Error::Invalid(format!(
                "field {k:?} is not part of {} ({}); known: {}",
                ty.key,
                ty.name,
                keys.join(", ")
            )));
        }
        if v.chars().count() > MAX_FIELD_LEN || v.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::Invalid(format!(
                "field {k}: at most {MAX_FIELD_LEN} characters, no control characters"
            )));
        }
    }
    for f in &ty.fields {
        let v = req
            .fields
            .iter()
            .rev()
            .find(|(k, _)| k == &f.key)
            .map(|(_, v)| v.trim())
            .unwrap_or_default();
        if v.is_empty() {
            if f.required {
                return Err(Error::Invalid(format!(
                    "field {} ({}) is required for {}",
                    f.key, f.label, ty.name
                )));
            }
            continue;
        }
        face.push((f.label.clone(), v.to_string()));
    }
    let valid_from = req.valid_from.unwrap_or(today);
    let valid_to = match req.valid_to {
        Some(d) => Some(d),
        None if ty.validity_days > 0 => Some(
            valid_from
                .checked_add(time::Duration::days(ty.validity_days as i64 - 1))
                .ok_or_else(|| Error::Invalid("validity end out of range".into()))?,
        ),
        None => None,
    };
    if let Some(end) = valid_to
        && end < valid_from
    {
        return Err(Error::Invalid(format!(
            "validity ends ({}) before it starts ({})",
            format_date(end),
            format_date(valid_from)
        )));
    }
    let number = req
        .number
        .clone()
        .unwrap_or_else(|| id.serial().to_string());
    if number.trim().is_empty() || number.chars().count() > 64 {
        return Err(Error::Invalid("license number: 1 to 64 characters".into()));
    }
    Ok(License {
        id,
        number,
        type_key: ty.key.clone(),
        name: ty.name.clone(),
        issuer_name: service.issuer_name.clone(),
        issue_date: today,
        area_code: service.area_code.clone(),
        holder: Holder {
            name: holder_name.to_string(),
            code: holder_code,
            type_code: ty.holder_type.clone(),
        },
        valid_from,
        valid_to,
        face,
        status: Status::Valid,
        supersedes: None,
        superseded_by: None,
        ofd_sm3: String::new(),
        pdf_sm3: String::new(),
        log_index: None,
    })
}

fn chinese_date(d: time::Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month() as u8, d.day())
}

/// The face as a document spec: title, holder, face fields, validity, number,
/// issuer, date, identifier, and the QR code.
pub fn face_spec(lic: &License, verify_url: &str) -> Result<OfdDocumentSpec> {
    let (code_label, name_label) = if lic.holder.type_code == "111" {
        ("公民身份号码", "姓名")
    } else {
        ("统一社会信用代码", "名称")
    };
    let mut page = OfdPage::titled(lic.name.clone())
        .kv(code_label, lic.holder.code.clone())
        .kv(name_label, lic.holder.name.clone());
    for (k, v) in &lic.face {
        page = page.kv(k.clone(), v.clone());
    }
    let validity = match lic.valid_to {
        Some(end) => format!("{} 至 {}", chinese_date(lic.valid_from), chinese_date(end)),
        None => format!("{} 至 长期", chinese_date(lic.valid_from)),
    };
    page = page
        .kv("有效期限", validity)
        .kv("证照编号", lic.number.clone())
        .line(yinzheng_document::OfdLine::Blank)
        .kv("发证机关", lic.issuer_name.clone())
        .kv("发证日期", chinese_date(lic.issue_date))
        .kv("证照标识", lic.id.to_string());
    let qr = yinzheng_document::qr_png(&format!("{verify_url}{}", lic.id), 4)?;
    let (x, y, w) = QR_BOX_MM;
    page = page.image(OfdImage::new(qr, x, y, w, w));
    let mut spec = OfdDocumentSpec::new(lic.name.clone(), lic.issue_date, vec![page]);
    spec.author = Some(lic.issuer_name.clone());
    spec.doc_id = Some(lic.id.to_string());
    Ok(spec)
}

/// Render and seal the face: (sealed OFD, sealed PDF).
pub fn render_sealed(
    lic: &License,
    verify_url: &str,
    sealer: &FaceSealer<'_>,
    at: time::OffsetDateTime,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let spec = face_spec(lic, verify_url)?;
    let ofd = yinzheng_document::write_ofd(&spec, sealer.font)?;
    let pdf = yinzheng_document::write_pdf(&spec, sealer.font)?;
    let (x_mm, y_mm) = SEAL_AT_MM;
    let ofd = yinzheng_document::stamp_ofd(
        &ofd,
        sealer.seal,
        sealer.signer,
        sealer.certificate,
        yinzheng_document::Placement {
            page: 1,
            x_mm,
            y_mm,
        },
        at,
    )?;
    let picture = sealer.seal.picture();
    let mut opts = yinzheng_document::PdfStampOptions::new(at);
    opts.position = yinzheng_document::PdfPosition::At { x_mm, y_mm };
    opts.appearance =
        picture
            .kind
            .eq_ignore_ascii_case("png")
            .then(|| yinzheng_document::PdfSealAppearance {
                png: picture.data.clone(),
                width_mm: picture.width_mm as f64,
                height_mm: picture.height_mm as f64,
                text_line: None,
            });
    opts.name = Some(lic.issuer_name.clone());
    opts.reason = Some(format!("{} {}", lic.name, lic.id));
    let pdf = yinzheng_document::seal_pdf(
        &pdf,
        &opts,
        &yinzheng_document::PdfSealer {
            signer: sealer.signer,
            certificate: sealer.certificate,
            chain: sealer.chain.clone(),
            seal: Some(sealer.seal),
            tsa: sealer.tsa,
        },
    )?;
    Ok((ofd, pdf))
}

/// A sealed face: (OFD, PDF).
/// A rendered and sealed license's files, hashed and staged next to their
/// final directory.
struct SealedFiles {
    /// SM3 of the OFD and of the PDF.
    digests: [[u8; 32]; 2],
    /// The staging directory holding both files.
    staged: std::path::PathBuf,
}

pub(crate) use yinzheng_crypto::sm3_hex;

impl Registry {
    /// Next serial for a type and issuer in `year`: `<year><6 digits>`.
    fn next_serial(tx: &Db, id_type: &str, issuer: &str, year: i32) -> Result<String> {
        let n: i64 = tx
            .query_row(
                "INSERT INTO serials (type_code, issuer_code, year, next) VALUES (?1, ?2, ?3, 2)
                 ON CONFLICT (type_code, issuer_code, year) DO UPDATE SET next = serials.next + 1
                 RETURNING next - 1",
                params![id_type, issuer, year],
            )?
            .get(0)?;
        Ok(format!("{year}{n:06}"))
    }

    /// Issue a license: everything is stored, anchored and written, or nothing.
    pub fn issue(
        &mut self,
        req: &IssueRequest,
        sealer: &FaceSealer<'_>,
        anchor: &dyn Anchor,
        at: time::OffsetDateTime,
    ) -> Result<License> {
        self.issue_batch(std::slice::from_ref(req), sealer, anchor, at)
            .pop()
            .unwrap_or_else(|| Err(Error::Refused("nothing issued".into())))
    }

    /// Issue many licenses: each row is checked, rendered and sealed on its
    /// own (in parallel), the good rows are anchored as one log batch (one
    /// checkpoint signature) and stored; each row is all-or-nothing and gets
    /// its own result, in order.
    pub fn issue_batch(
        &mut self,
        reqs: &[IssueRequest],
        sealer: &FaceSealer<'_>,
        anchor: &dyn Anchor,
        at: time::OffsetDateTime,
    ) -> Vec<Result<License>> {
        // 1. Check and assign identifiers (serials are taken even if a row fails later).
        let mut prepared: Vec<Result<License>> =
            reqs.iter().map(|req| self.prepare(req, at)).collect();
        // 2. Render, seal, hash and stage, in parallel.
        let verify_url = self.catalogue.service.verify_url.clone();
        let files_root = self.dir.join("files");
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let mut files: Vec<Option<Result<SealedFiles>>> = (0..reqs.len()).map(|_| None).collect();
        {
            let todo: Vec<(usize, &License)> = prepared
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.as_ref().ok().map(|l| (i, l)))
                .collect();
            let chunk = todo.len().div_ceil(threads).max(1);
            let results: Vec<Vec<(usize, Result<SealedFiles>)>> = std::thread::scope(|scope| {
                let handles: Vec<_> = todo
                    .chunks(chunk)
                    .map(|part| {
                        let (url, root) = (&verify_url, &files_root);
                        scope.spawn(move || {
                            part.iter()
                                .map(|(i, l)| {
                                    let r =
                                        render_sealed(l, url, sealer, at).and_then(|(ofd, pdf)| {
                                            let digests = [
                                                yinzheng_crypto::sm3(&ofd),
                                                yinzheng_crypto::sm3(&pdf),
                                            ];
                                            let dir = root.join(l.id.to_string());
                                            let staged = stage_files(&dir, &ofd, &pdf)?;
                                            Ok(SealedFiles { digests, staged })
                                        });
                                    (*i, r)
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            for (i, r) in results.into_iter().flatten() {
                files[i] = Some(r);
            }
        }
        // 3. Collect the log entries of the good rows.
        let mut staged: Vec<Option<std::path::PathBuf>> = (0..reqs.len()).map(|_| None).collect();
        let mut entries = Vec::new();
        let mut rows = Vec::new();
        for i in 0..reqs.len() {
            let r = (|| -> Result<()> {
                let sealed = match files[i].take() {
                    Some(r) => r?,
                    None if prepared[i].is_ok() => {
                        return Err(Error::Refused("rendering the face did not finish".into()));
                    }
                    None => return Ok(()),
                };
                staged[i] = Some(sealed.staged);
                let Ok(lic) = prepared[i].as_mut() else {
                    return Ok(());
                };
                lic.ofd_sm3 = hex::encode(sealed.digests[0]);
                lic.pdf_sm3 = hex::encode(sealed.digests[1]);
                entries.push(entry(
                    "license.issued",
                    at,
                    &sealer.actor,
                    &lic.id.to_string(),
                    &sealed.digests,
                )?);
                rows.push(i);
                Ok(())
            })();
            if let Err(e) = r {
                prepared[i] = Err(e);
            }
        }
        // 4. One log batch; the files renamed into place (with their
        //    evidence), then one transaction — on failure the placed files go.
        let result = (|| -> Result<()> {
            if rows.is_empty() {
                return Ok(());
            }
            let idx = anchor.append_batch(&entries)?;
            let mut placed = Vec::new();
            let r = (|| -> Result<()> {
                for (&i, index) in rows.iter().zip(idx) {
                    let Ok(lic) = prepared[i].as_mut() else {
                        continue;
                    };
                    let Some(stage) = &staged[i] else { continue };
                    lic.log_index = Some(index);
                    write_atomic(
                        &stage.join("issued.tlog-proof"),
                        anchor.evidence(index)?.as_bytes(),
                    )?;
                    let dir = files_root.join(lic.id.to_string());
                    std::fs::rename(stage, &dir).map_err(|e| Error::io(&dir, e))?;
                    placed.push(dir);
                }
                let prepared = &prepared;
                self.conn.transaction(|tx| {
                    for &i in &rows {
                        let Ok(lic) = prepared[i].as_ref() else {
                            continue;
                        };
                        insert_license(tx, lic)?;
                        insert_event(tx, &lic.id, at, &sealer.actor, "issued", "", lic.log_index)?;
                    }
                    Ok(())
                })
            })();
            if r.is_err() {
                for d in placed {
                    let _ = std::fs::remove_dir_all(d);
                }
            }
            r
        })();
        for s in staged.iter().flatten() {
            let _ = std::fs::remove_dir_all(s);
        }
        if let Err(e) = result {
            let msg = e.to_string();
            for &i in &rows {
                if prepared[i].is_ok() {
                    prepared[i] = Err(Error::Refused(format!("not stored: {msg}")));
                }
            }
        }
        prepared
    }

    /// Check a request and give it an identifier (no files yet).
    fn prepare(&mut self, req: &IssueRequest, at: time::OffsetDateTime) -> Result<License> {
        let ty = self.catalogue.get(&req.type_key)?.clone();
        let issuer = self.catalogue.service.issuer_code.clone();
        // Check first, so a bad row takes no serial.
        let probe = LicenseId::new(&ty.code, &issuer, "0", 1)?;
        let day = crate::license_day(at);
        build_license(&self.catalogue.service, &ty, req, probe, day)?;
        let id = self.conn.transaction(|tx| {
            let serial = match &req.serial {
                Some(s) => s.trim().to_ascii_uppercase(),
                None => Self::next_serial(tx, &ty.code, &issuer, day.year())?,
            };
            let id = LicenseId::new(&ty.code, &issuer, &serial, 1)?;
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM licenses WHERE type_code = ?1 AND issuer_code = ?2 AND serial = ?3)",
                    params![ty.code, issuer, serial],
                )?
                .get(0)?;
            if exists {
                return Err(Error::Invalid(format!(
                    "serial {serial} of {} is taken",
                    ty.name
                )));
            }
            Ok(id)
        })?;
        build_license(&self.catalogue.service, &ty, req, id, day)
    }

    /// Change or renew a license: a new version with `req`'s data (type and
    /// holder code unchanged), sealed and anchored; the old one becomes
    /// Superseded and links to it.
    pub fn change(
        &mut self,
        id: &str,
        req: &IssueRequest,
        sealer: &FaceSealer<'_>,
        anchor: &dyn Anchor,
        at: time::OffsetDateTime,
    ) -> Result<License> {
        let old = self
            .get(id)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let status = old.status_at(crate::license_day(at));
        if status != Status::Valid && status != Status::Suspended {
            return Err(Error::Transition {
                action: "change".into(),
                id: old.id.to_string(),
                status: status.to_string(),
            });
        }
        if !req.holder_code.is_empty() && !req.holder_code.eq_ignore_ascii_case(&old.holder.code) {
            return Err(Error::Invalid(
                "a change keeps the holder; issue a new license for another holder".into(),
            ));
        }
        let ty = self.catalogue().get(&old.type_key)?.clone();
        let verify_url = self.catalogue().service.verify_url.clone();
        let new_id = old.id.with_version(old.id.version() + 1)?;
        let mut merged = req.clone();
        merged.holder_code = old.holder.code.clone();
        if merged.holder_name.is_empty() {
            merged.holder_name = old.holder.name.clone();
        }
        if merged.number.is_none() {
            merged.number = Some(old.number.clone());
        }
        // Fields not given keep their old values.
        for f in &ty.fields {
            if !merged.fields.iter().any(|(k, _)| k == &f.key)
                && let Some((_, v)) = old.face.iter().find(|(l, _)| l == &f.label)
            {
                merged.fields.push((f.key.clone(), v.clone()));
            }
        }
        let mut lic = build_license(
            &self.catalogue.service,
            &ty,
            &merged,
            new_id,
            crate::license_day(at),
        )?;
        lic.supersedes = Some(old.id.to_string());
        let (ofd, pdf) = render_sealed(&lic, &verify_url, sealer, at)?;
        lic.ofd_sm3 = sm3_hex(&ofd);
        lic.pdf_sm3 = sm3_hex(&pdf);
        let new_entry = entry(
            "license.issued",
            at,
            &sealer.actor,
            &lic.id.to_string(),
            &[yinzheng_crypto::sm3(&ofd), yinzheng_crypto::sm3(&pdf)],
        )?
        .with_subject(&old.id.to_string())?;
        let old_entry = entry(
            "license.superseded",
            at,
            &sealer.actor,
            &old.id.to_string(),
            &[],
        )?
        .with_subject(&lic.id.to_string())?;
        let dir = self.files_dir(&lic.id);
        let staged = stage_files(&dir, &ofd, &pdf)?;
        let mut placed = false;
        let result = (|| -> Result<()> {
            let idx = anchor.append_batch(&[new_entry, old_entry])?;
            lic.log_index = idx.first().copied();
            if let Some(i) = lic.log_index {
                write_atomic(
                    &staged.join("issued.tlog-proof"),
                    anchor.evidence(i)?.as_bytes(),
                )?;
            }
            std::fs::rename(&staged, &dir).map_err(|e| Error::io(&dir, e))?;
            placed = true;
            let lic = &lic;
            self.conn.transaction(|tx| {
                // Checked again inside the transaction: another server may
                // have changed or revoked it since.
                let now = get_in(tx, &old.id)?
                    .map(|l| l.status_at(crate::license_day(at)))
                    .ok_or_else(|| Error::NotFound(old.id.to_string()))?;
                if now != Status::Valid && now != Status::Suspended {
                    return Err(Error::Transition {
                        action: "change".into(),
                        id: old.id.to_string(),
                        status: now.to_string(),
                    });
                }
                insert_license(tx, lic)?;
                insert_event(
                    tx,
                    &lic.id,
                    at,
                    &sealer.actor,
                    "issued",
                    &format!("supersedes {}", old.id),
                    lic.log_index,
                )?;
                set_status(tx, &old.id, Status::Superseded)?;
                tx.execute(
                    "UPDATE licenses SET superseded_by = ?2 WHERE id = ?1",
                    params![old.id.to_string(), lic.id.to_string()],
                )?;
                insert_event(
                    tx,
                    &old.id,
                    at,
                    &sealer.actor,
                    "superseded",
                    &format!("by {}", lic.id),
                    idx.get(1).copied(),
                )
            })
        })();
        match result {
            Ok(()) => Ok(lic),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staged);
                if placed {
                    // Only what this call put there (another server may
                    // have made the same version's directory).
                    let _ = std::fs::remove_dir_all(&dir);
                }
                Err(e)
            }
        }
    }
}

/// Write the license files into a staging directory beside `dir`.
fn stage_files(dir: &std::path::Path, ofd: &[u8], pdf: &[u8]) -> Result<std::path::PathBuf> {
    let parent = dir.parent().unwrap_or(std::path::Path::new("."));
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| Error::Refused(format!("no randomness: {e}")))?;
    let staged = parent.join(format!(".staging-{}", hex::encode(rnd)));
    std::fs::create_dir_all(&staged).map_err(|e| Error::io(&staged, e))?;
    write_atomic(&staged.join("license.ofd"), ofd)?;
    write_atomic(&staged.join("license.pdf"), pdf)?;
    Ok(staged)
}
