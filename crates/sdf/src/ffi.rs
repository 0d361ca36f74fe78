//! The GM/T 0018-2012 functions this crate calls, loaded from a vendor's
//! library at run time, and the two structures they fill. Every call goes
//! through [`call`], which holds one process-wide lock: a device library is
//! not assumed to be thread-safe, and nothing here needs two calls at once.

use crate::{Error, Result};
use std::collections::HashMap;
use std::ffi::{c_int, c_uchar, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// `ECCref_MAX_LEN`: coordinates and signature components are right-aligned
/// in fields of this many bytes.
pub const ECCREF_MAX_LEN: usize = 64;

/// `ECCrefPublicKey` (GM/T 0018 §5.3, inside `#pragma pack(1)`: no padding
/// either way, asserted below).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EccPublicKey {
    /// Key size in bits.
    pub bits: c_uint,
    /// x, big-endian, right-aligned.
    pub x: [u8; ECCREF_MAX_LEN],
    /// y, big-endian, right-aligned.
    pub y: [u8; ECCREF_MAX_LEN],
}

/// `ECCSignature` (GM/T 0018 §5.3).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EccSignature {
    /// r, big-endian, right-aligned.
    pub r: [u8; ECCREF_MAX_LEN],
    /// s, big-endian, right-aligned.
    pub s: [u8; ECCREF_MAX_LEN],
}

const _: () = assert!(std::mem::size_of::<EccPublicKey>() == 4 + 2 * ECCREF_MAX_LEN);
const _: () = assert!(std::mem::size_of::<EccSignature>() == 2 * ECCREF_MAX_LEN);

type OpenDevice = unsafe extern "C" fn(*mut *mut c_void) -> c_int;
type OpenSession = unsafe extern "C" fn(*mut c_void, *mut *mut c_void) -> c_int;
type CloseSession = unsafe extern "C" fn(*mut c_void) -> c_int;
type GetAccessRight = unsafe extern "C" fn(*mut c_void, c_uint, *mut c_uchar, c_uint) -> c_int;
type ReleaseAccessRight = unsafe extern "C" fn(*mut c_void, c_uint) -> c_int;
type ExportSignPublicKey = unsafe extern "C" fn(*mut c_void, c_uint, *mut EccPublicKey) -> c_int;
type InternalSign =
    unsafe extern "C" fn(*mut c_void, c_uint, *mut c_uchar, c_uint, *mut EccSignature) -> c_int;

/// GM/T 0018 return codes by name (`SDR_BASE` = 0x01000000).
fn meaning(code: u32) -> &'static str {
    const NAMES: [&str; 31] = [
        "SDR_OK",
        "SDR_UNKNOWERR",
        "SDR_NOTSUPPORT",
        "SDR_COMMFAIL",
        "SDR_HARDFAIL",
        "SDR_OPENDEVICE",
        "SDR_OPENSESSION",
        "SDR_PARDENY: access denied (wrong password?)",
        "SDR_KEYNOTEXIST: no such key",
        "SDR_ALGNOTSUPPORT",
        "SDR_ALGMODNOTSUPPORT",
        "SDR_PKOPERR",
        "SDR_SKOPERR",
        "SDR_SIGNERR",
        "SDR_VERIFYERR",
        "SDR_SYMOPERR",
        "SDR_STEPERR",
        "SDR_FILESIZEERR",
        "SDR_FILENOEXIST",
        "SDR_FILEOFSERR",
        "SDR_KEYTYPEERR",
        "SDR_KEYERR",
        "SDR_ENCDATAERR",
        "SDR_RANDERR",
        "SDR_PRKRERR",
        "SDR_MACERR",
        "SDR_FILEEXISTS",
        "SDR_FILEWERR",
        "SDR_NOBUFFER",
        "SDR_INARGERR",
        "SDR_OUTARGERR",
    ];
    const SDR_BASE: u32 = 0x0100_0000;
    match code {
        0 => NAMES[0],
        c if c > SDR_BASE && ((c - SDR_BASE) as usize) < NAMES.len() => {
            NAMES[(c - SDR_BASE) as usize]
        }
        _ => "a vendor-specific code",
    }
}

/// `Ok` for `SDR_OK`, else the typed error naming `function` and the code.
fn check(function: &'static str, rc: c_int) -> Result<()> {
    let code = rc as u32;
    if code == 0 {
        Ok(())
    } else {
        Err(Error::Device {
            function,
            code,
            meaning: meaning(code),
        })
    }
}

/// The one lock every device call is made under.
fn call() -> MutexGuard<'static, ()> {
    static CALLS: Mutex<()> = Mutex::new(());
    CALLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A loaded SDF library with its device open (one device per library and
/// process: GM/T 0018 devices, SoftSDF among them, refuse a second
/// `SDF_OpenDevice`).
pub struct Library {
    open_session: OpenSession,
    close_session: CloseSession,
    get_access_right: GetAccessRight,
    release_access_right: ReleaseAccessRight,
    export_sign_public_key: ExportSignPublicKey,
    internal_sign: InternalSign,
    device: *mut c_void,
    /// Keeps the library mapped while the function pointers above are used.
    _library: libloading::Library,
}

// SAFETY: (Send) `device` is an opaque handle the library gave us; it is only
// ever passed back to the library, and every call is made under the
// process-wide lock of `call()`, so no two threads use the library at once.
#[allow(unsafe_code)]
unsafe impl Send for Library {}
// SAFETY: (Sync) as for Send: shared references only read the handle and the
// function pointers; the calls themselves are serialised by `call()`.
#[allow(unsafe_code)]
unsafe impl Sync for Library {}

impl Library {
    /// The library at `path`, loaded and its device opened once per process.
    pub fn load(path: &Path) -> Result<Arc<Library>> {
        static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Library>>>> = OnceLock::new();
        let mut loaded = LOADED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(l) = loaded.get(path) {
            return Ok(l.clone());
        }
        let failed = |reason: String| Error::Library {
            path: path.to_path_buf(),
            reason,
        };
        // SAFETY: loading a library runs its initialisers; the path is the
        // SDF library the operator configured for this purpose, which is the
        // trust every GM/T 0018 application places in its vendor's library.
        #[allow(unsafe_code)]
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| failed(format!("cannot load: {e}")))?;
        macro_rules! symbol {
            ($name:literal, $ty:ty) => {{
                // SAFETY: the symbol is a GM/T 0018 function whose C
                // prototype (sdf.h) is exactly `$ty`; the pointer is used only
                // while `_library` keeps the library mapped.
                #[allow(unsafe_code)]
                let f = unsafe { library.get::<$ty>($name) }
                    .map(|s| *s)
                    .map_err(|e| {
                        failed(format!(
                            "no {}: {e}",
                            String::from_utf8_lossy(&$name[..$name.len() - 1])
                        ))
                    })?;
                f
            }};
        }
        let open_device = symbol!(b"SDF_OpenDevice\0", OpenDevice);
        let lib = Library {
            open_session: symbol!(b"SDF_OpenSession\0", OpenSession),
            close_session: symbol!(b"SDF_CloseSession\0", CloseSession),
            get_access_right: symbol!(b"SDF_GetPrivateKeyAccessRight\0", GetAccessRight),
            release_access_right: symbol!(
                b"SDF_ReleasePrivateKeyAccessRight\0",
                ReleaseAccessRight
            ),
            export_sign_public_key: symbol!(b"SDF_ExportSignPublicKey_ECC\0", ExportSignPublicKey),
            internal_sign: symbol!(b"SDF_InternalSign_ECC\0", InternalSign),
            device: std::ptr::null_mut(),
            _library: library,
        };
        let mut device = std::ptr::null_mut();
        {
            let _lock = call();
            // SAFETY: `open_device` is SDF_OpenDevice (void **phDeviceHandle);
            // `device` is a valid place for the handle it writes.
            #[allow(unsafe_code)]
            let rc = unsafe { open_device(&mut device) };
            check("SDF_OpenDevice", rc)?;
        }
        let lib = Arc::new(Library { device, ..lib });
        loaded.insert(path.to_path_buf(), lib.clone());
        Ok(lib)
    }
}

/// A session on the device, with the access rights it took; closed (rights
/// released first) when dropped.
pub struct Session {
    lib: Arc<Library>,
    handle: *mut c_void,
    rights: Vec<c_uint>,
}

// SAFETY: as for `Library`: the handle is opaque, passed back only, and every
// call is serialised by `call()`.
#[allow(unsafe_code)]
unsafe impl Send for Session {}

impl Session {
    /// Open a session on `lib`'s device.
    pub fn open(lib: Arc<Library>) -> Result<Session> {
        let mut handle = std::ptr::null_mut();
        let _lock = call();
        // SAFETY: SDF_OpenSession(void *hDeviceHandle, void **phSessionHandle)
        // with the handle SDF_OpenDevice gave and a valid place for the result.
        #[allow(unsafe_code)]
        let rc = unsafe { (lib.open_session)(lib.device, &mut handle) };
        check("SDF_OpenSession", rc)?;
        Ok(Session {
            lib,
            handle,
            rights: Vec::new(),
        })
    }

    /// `SDF_GetPrivateKeyAccessRight` for key `index` with `password`; the
    /// right is released when the session is dropped.
    pub fn get_private_key_access_right(&mut self, index: u32, password: &[u8]) -> Result<()> {
        let len = c_uint::try_from(password.len()).map_err(|_| Error::Key {
            index,
            reason: "the password is too long".into(),
        })?;
        // The function takes a non-const pointer; it gets a copy.
        let mut copy = zeroize::Zeroizing::new(password.to_vec());
        let _lock = call();
        // SAFETY: SDF_GetPrivateKeyAccessRight(void *hSessionHandle,
        // unsigned int uiKeyIndex, unsigned char *pucPassword, unsigned int
        // uiPwdLength): `copy` holds exactly `len` bytes for the call.
        #[allow(unsafe_code)]
        let rc = unsafe { (self.lib.get_access_right)(self.handle, index, copy.as_mut_ptr(), len) };
        check("SDF_GetPrivateKeyAccessRight", rc)?;
        self.rights.push(index);
        Ok(())
    }

    /// `SDF_ExportSignPublicKey_ECC` for key `index`.
    pub fn export_sign_public_key(&self, index: u32) -> Result<EccPublicKey> {
        let mut key = EccPublicKey {
            bits: 0,
            x: [0; ECCREF_MAX_LEN],
            y: [0; ECCREF_MAX_LEN],
        };
        let _lock = call();
        // SAFETY: SDF_ExportSignPublicKey_ECC(void *hSessionHandle, unsigned
        // int uiKeyIndex, ECCrefPublicKey *pucPublicKey): `key` is a valid,
        // correctly laid out ECCrefPublicKey for it to fill.
        #[allow(unsafe_code)]
        let rc = unsafe { (self.lib.export_sign_public_key)(self.handle, index, &mut key) };
        check("SDF_ExportSignPublicKey_ECC", rc)?;
        Ok(key)
    }

    /// `SDF_InternalSign_ECC`: sign the 32-byte digest `e` with key `index`.
    pub fn internal_sign(&self, index: u32, e: &[u8; 32]) -> Result<EccSignature> {
        let mut sig = EccSignature {
            r: [0; ECCREF_MAX_LEN],
            s: [0; ECCREF_MAX_LEN],
        };
        let mut data = *e;
        let _lock = call();
        // SAFETY: SDF_InternalSign_ECC(void *hSessionHandle, unsigned int
        // uiISKIndex, unsigned char *pucData, unsigned int uiDataLength,
        // ECCSignature *pucSignature): `data` holds the 32 bytes named, `sig`
        // is a valid ECCSignature for it to fill.
        #[allow(unsafe_code)]
        let rc = unsafe {
            (self.lib.internal_sign)(self.handle, index, data.as_mut_ptr(), 32, &mut sig)
        };
        check("SDF_InternalSign_ECC", rc)?;
        Ok(sig)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _lock = call();
        for &index in &self.rights {
            // SAFETY: SDF_ReleasePrivateKeyAccessRight(void *hSessionHandle,
            // unsigned int uiKeyIndex) on this open session.
            #[allow(unsafe_code)]
            let _ = unsafe { (self.lib.release_access_right)(self.handle, index) };
        }
        // SAFETY: SDF_CloseSession(void *hSessionHandle) on the handle
        // SDF_OpenSession gave; it is not used after this.
        #[allow(unsafe_code)]
        let _ = unsafe { (self.lib.close_session)(self.handle) };
    }
}
