//! The `cltd` binary: see [`cltd::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    cltd::cli::install_logging(&args);
    // stderr is not held locked: diagnostics from the server's worker threads go there too.
    let code = cltd::cli::run(args, &mut std::io::stdout().lock(), &mut std::io::stderr());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
