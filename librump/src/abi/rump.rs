//! `rump_init` and the `rump_pub_*` helpers; cbindgen turns this file into
//! `include/rump/rump.h`.
#![allow(clippy::missing_safety_doc)]

use std::os::raw::{c_char, c_int};

use super::boundary::boot_default;

/// Boot the default virtual kernel, configured from the `RUMP_NET` environment
/// variable. Returns 0, or a NetBSD errno (a message on stderr says why). Calling it
/// again after success returns 0 and changes nothing.
#[no_mangle]
pub extern "C" fn rump_init() -> c_int {
    match std::panic::catch_unwind(boot_default) {
        Ok(Ok(_)) => 0,
        Ok(Err((e, msg))) => {
            eprintln!("{msg}");
            e.0
        }
        Err(_) => crate::kern::errno::Errno::EIO.0,
    }
}

/// The symbolic name of a NetBSD errno value ("ECONNREFUSED"), or "E?" for an unknown
/// one. The string is static.
#[no_mangle]
pub extern "C" fn rump_pub_errno_name(error: c_int) -> *const c_char {
    let name = crate::kern::errno::Errno(error).name();
    static UNKNOWN: &str = "E?\0";
    NAMES
        .get_or_init(|| {
            crate::kern::errno::Errno::ALL
                .iter()
                .map(|(n, _)| std::ffi::CString::new(*n).expect("no NUL in errno names"))
                .collect()
        })
        .iter()
        .find(|c| c.to_bytes() == name.as_bytes())
        .map_or(UNKNOWN.as_ptr().cast(), |c| c.as_ptr())
}

static NAMES: std::sync::OnceLock<Vec<std::ffi::CString>> = std::sync::OnceLock::new();
