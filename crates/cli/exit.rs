//! Exit codes: 0 success, 1 verification failed or parts missing, 2 any
//! other error. A closed stdout (EPIPE, e.g. `| head`) is success.

use std::process::ExitCode;

/// Exit code for "the image could not be verified / parts are missing".
pub const VERIFY_FAILED: u8 = 1;
/// Exit code for any other error.
pub const ERROR: u8 = 2;

/// Prints an error chain (`{:#}`) and maps it to an exit code.
pub fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    let err = match result {
        Ok(code) => return code,
        Err(e) => e,
    };
    let broken_pipe = err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    eprintln!("jigsmith: error: {err:#}");
    let verification = err.chain().any(|c| {
        c.downcast_ref::<jigsmith_assemble::Error>()
            .is_some_and(jigsmith_assemble::Error::is_verification_failure)
    });
    ExitCode::from(if verification { VERIFY_FAILED } else { ERROR })
}
