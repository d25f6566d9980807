//! Audit bundles, as handed to an auditor: parsing never panics and accepts only the bytes
//! it would write (or a version 1 bundle, which reads the same once written again);
//! auditing any bytes gives a report (a failure named by location), never a panic or an
//! error of the auditor's own.
#![no_main]

use std::sync::{Arc, OnceLock};

use cltd_runtime::{AuditOptions, BUNDLE_MAGIC, Bundle, Runtime, audit};
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static Arc<Runtime> {
    static RT: OnceLock<Arc<Runtime>> = OnceLock::new();
    RT.get_or_init(|| Arc::new(Runtime::new(Default::default()).expect("engine")))
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(bundle) = Bundle::parse(bytes) {
        if bytes.starts_with(BUNDLE_MAGIC) {
            assert_eq!(bundle.to_bytes(), bytes, "a bundle parsed to other bytes");
        } else {
            // A version 1 bundle, written again as the current version, reads the same.
            let again = Bundle::parse(&bundle.to_bytes()).expect("a bundle written is read");
            assert_eq!(again, bundle, "a version 1 bundle read as another");
        }
    }
    let report = audit(bytes, runtime(), AuditOptions::default(), &mut |_, _| {})
        .expect("auditing untrusted bytes never fails the auditor");
    let _ = report.is_ok();
});
