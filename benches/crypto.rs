//! SM2 sign, SM2 verify and SM3 throughput: Yinzheng (own verification engine) side
//! by side with libsm and OpenSSL 3 in the same run. All SM2 signing uses the
//! GM/T default ID 1234567812345678, so every implementation computes Z_A.
//!
//! GmSSL 3.2.0 (its x86-64 SM2 assembly) is not a crate: its C loop
//! (`scripts/sm2-peers.sh bench`, built once from testdata/peers with cmake) runs
//! at the end of the same run and prints its figures beside criterion's
//! (`YINZHENG_BENCH_GMSSL=0` leaves it out; `=SECS` sets its seconds per figure).
//!
//! `cargo bench -p yinzheng-benches` (add `-- --quick` for a fast pass).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use yinzheng_crypto::{
    KeyAlgorithm, PrivateKey, SignatureAlgorithm, Sm2PrivateKey, Sm2PublicKey, Sm2Signature,
};

const ID: &[u8] = b"1234567812345678";
const MSG: &[u8] = b"GB/T 36904 license 11100000000000000X-2026-000001: is this genuine?";

fn sm2_sign(c: &mut Criterion) {
    let mut g = c.benchmark_group("sm2_sign");
    let ours = Sm2PrivateKey::generate().unwrap();
    g.bench_function("yinzheng", |b| {
        b.iter(|| ours.sign(black_box(MSG)).unwrap())
    });

    let ctx = libsm::sm2::signature::SigCtx::new();
    let (pk, sk) = ctx.new_keypair().unwrap();
    g.bench_function("libsm", |b| {
        b.iter(|| ctx.sign(black_box(MSG), &sk, &pk).unwrap())
    });

    let pkey = ossl::key_from_pkcs8(
        &PrivateKey::from_sm2(Sm2PrivateKey::from_bytes(&*ours.to_bytes()).unwrap()).to_pkcs8_der(),
    );
    g.bench_function("openssl", |b| b.iter(|| ossl::sign(&pkey, black_box(MSG))));
    g.finish();
}

fn sm2_verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("sm2_verify");
    let key = Sm2PrivateKey::generate().unwrap();
    let sig = key.sign(MSG).unwrap();
    let der = sig.to_der();
    let public = key.public_key().clone();
    g.bench_function("yinzheng", |b| {
        b.iter(|| public.verify(black_box(MSG), black_box(&der)).unwrap())
    });
    // The key decoded afresh for every verification (as from a certificate): SEC1
    // decoding, Z_A, and the public-key table from the process-wide cache.
    let sec1 = public.to_sec1_uncompressed();
    g.bench_function("yinzheng-fresh-key", |b| {
        b.iter(|| {
            Sm2PublicKey::from_sec1_bytes(black_box(&sec1))
                .unwrap()
                .verify(black_box(MSG), black_box(&der))
                .unwrap()
        })
    });
    // A new key for every verification (256 keys round-robin, more than the
    // table cache holds): decoding, Z_A and building the key's tables each time.
    let cold: Vec<([u8; 65], Vec<u8>)> = (0..256)
        .map(|_| {
            let k = Sm2PrivateKey::generate().unwrap();
            (
                k.public_key().to_sec1_uncompressed(),
                k.sign(MSG).unwrap().to_der(),
            )
        })
        .collect();
    let mut next = 0usize;
    g.bench_function("yinzheng-cold-key", |b| {
        b.iter(|| {
            let (sec1, der) = &cold[next % cold.len()];
            next += 1;
            Sm2PublicKey::from_sec1_bytes(black_box(sec1))
                .unwrap()
                .verify(black_box(MSG), black_box(der))
                .unwrap()
        })
    });

    let ctx = libsm::sm2::signature::SigCtx::new();
    let pk = ctx.load_pubkey(&public.to_sec1_uncompressed()).unwrap();
    let lsig = libsm::sm2::signature::Signature::der_decode(&der).unwrap();
    g.bench_function("libsm", |b| {
        b.iter(|| assert!(ctx.verify(black_box(MSG), &pk, &lsig).unwrap()))
    });

    let full = PrivateKey::from_sm2(Sm2PrivateKey::from_bytes(&*key.to_bytes()).unwrap());
    let pkey = ossl::key_from_pkcs8(&full.to_pkcs8_der());
    assert!(
        ossl::verify(&pkey, MSG, &der),
        "OpenSSL must accept our signature"
    );
    g.bench_function("openssl", |b| {
        b.iter(|| assert!(ossl::verify(&pkey, black_box(MSG), &der)))
    });

    // For scale: ECDSA P-256 through ring on the same message.
    let p256 = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let psig = p256.sign(MSG).unwrap();
    let ppub = p256.public_key().clone();
    g.bench_function("ring-ecdsa-p256", |b| {
        b.iter(|| {
            ppub.verify(SignatureAlgorithm::EcdsaP256Sha256, black_box(MSG), &psig)
                .unwrap()
        })
    });
    let _ = Sm2Signature::parse(&der).unwrap();
    g.finish();
}

fn sm3(c: &mut Criterion) {
    let mut g = c.benchmark_group("sm3");
    for size in [64usize, 4096, 1 << 20] {
        let data = vec![0xa5u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("yinzheng", size), &data, |b, d| {
            b.iter(|| yinzheng_crypto::sm3(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("libsm", size), &data, |b, d| {
            b.iter(|| libsm::sm3::hash::Sm3Hash::new(black_box(d)).get_hash())
        });
        g.bench_with_input(BenchmarkId::new("openssl", size), &data, |b, d| {
            b.iter(|| {
                openssl::hash::hash(openssl::hash::MessageDigest::sm3(), black_box(d)).unwrap()
            })
        });
    }
    g.finish();
}

/// GmSSL's C loop in the same sitting: sign and verify with the digest given,
/// with a reused context (nonce points precomputed in batches), and SM3.
fn gmssl_c_loop(_: &mut Criterion) {
    let secs = std::env::var("YINZHENG_BENCH_GMSSL").unwrap_or_else(|_| "2".into());
    if secs == "0" {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/sm2-peers.sh");
    println!("GmSSL 3.2.0, C loop ({script} bench {secs}):");
    match std::process::Command::new(script)
        .args(["bench", &secs])
        .output()
    {
        Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Ok(out) => println!(
            "  not run: the script failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!("  not run: {e}"),
    }
}

/// OpenSSL 3 SM2 through libcrypto's EVP API, with the distinguishing ID set as
/// `openssl pkeyutl -pkeyopt distid:…` does.
mod ossl {
    #![allow(unsafe_code)]
    use openssl::pkey::{PKey, Private};
    use openssl_sys as ffi;
    use std::os::raw::{c_int, c_void};

    unsafe extern "C" {
        fn EVP_PKEY_CTX_set1_id(
            ctx: *mut ffi::EVP_PKEY_CTX,
            id: *const c_void,
            len: usize,
        ) -> c_int;
        fn EVP_MD_CTX_set_pkey_ctx(mctx: *mut ffi::EVP_MD_CTX, pctx: *mut ffi::EVP_PKEY_CTX);
    }

    pub fn key_from_pkcs8(der: &[u8]) -> PKey<Private> {
        PKey::private_key_from_pkcs8(der).expect("OpenSSL reads our PKCS#8")
    }

    /// Run `f` with a digest context bound to an SM2 key context carrying the ID.
    fn with_ctx<T>(pkey: &PKey<Private>, f: impl FnOnce(*mut ffi::EVP_MD_CTX) -> T) -> T {
        // SAFETY: every pointer is created here, checked for null, and freed before
        // return; the PKey outlives the call.
        unsafe {
            let mctx = ffi::EVP_MD_CTX_new();
            let pctx = ffi::EVP_PKEY_CTX_new(pkey.as_ptr(), std::ptr::null_mut());
            assert!(!mctx.is_null() && !pctx.is_null());
            assert_eq!(
                EVP_PKEY_CTX_set1_id(pctx, super::ID.as_ptr().cast(), super::ID.len()),
                1
            );
            EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
            let out = f(mctx);
            ffi::EVP_MD_CTX_free(mctx);
            ffi::EVP_PKEY_CTX_free(pctx);
            out
        }
    }

    use foreign_types::ForeignType;

    pub fn sign(pkey: &PKey<Private>, msg: &[u8]) -> Vec<u8> {
        with_ctx(pkey, |mctx| {
            let mut sig = vec![0u8; 80];
            let mut len = sig.len();
            // SAFETY: buffers are live and sized; mctx is valid (see with_ctx).
            unsafe {
                assert_eq!(
                    ffi::EVP_DigestSignInit(
                        mctx,
                        std::ptr::null_mut(),
                        ffi::EVP_sm3(),
                        std::ptr::null_mut(),
                        pkey.as_ptr()
                    ),
                    1
                );
                assert_eq!(
                    ffi::EVP_DigestSign(mctx, sig.as_mut_ptr(), &mut len, msg.as_ptr(), msg.len()),
                    1
                );
            }
            sig.truncate(len);
            sig
        })
    }

    pub fn verify(pkey: &PKey<Private>, msg: &[u8], sig: &[u8]) -> bool {
        with_ctx(pkey, |mctx| {
            // SAFETY: as in `sign`.
            unsafe {
                assert_eq!(
                    ffi::EVP_DigestVerifyInit(
                        mctx,
                        std::ptr::null_mut(),
                        ffi::EVP_sm3(),
                        std::ptr::null_mut(),
                        pkey.as_ptr()
                    ),
                    1
                );
                ffi::EVP_DigestVerify(mctx, sig.as_ptr(), sig.len(), msg.as_ptr(), msg.len()) == 1
            }
        })
    }
}

criterion_group!(benches, sm2_sign, sm2_verify, sm3, gmssl_c_loop);
criterion_main!(benches);
