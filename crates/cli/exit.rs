//! Exit codes: 0 success, 1 verification failed or parts missing, 2 any
//! other error. A closed stdout (EPIPE, e.g. `| head`) is success.

use std::process::ExitCode;

/// Exit code for "the image could not be verified / parts are missing".
pub const VERIFY_FAILED: u8 = 1;
/// Exit code for any other error.
pub const ERROR: u8 = 2;

/// Whether `err` comes from writing to a closed stdout (`| head`): success,
/// not an error, for every command and personality.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The C library's text for an I/O error, without Rust's " (os error N)",
/// as the old tools print it.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ").and_then(|i| text.get(..i)) {
        Some(plain) => plain.to_string(),
        None => text,
    }
}

/// Prints an error chain (`{:#}`) and maps it to an exit code.
pub fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    let err = match result {
        Ok(code) => return code,
        Err(e) => e,
    };
    if is_broken_pipe(&err) {
        return ExitCode::SUCCESS;
    }
    eprintln!("jigsmith: error: {err:#}");
    let verification = err.chain().any(|c| {
        c.downcast_ref::<jigsmith_assemble::Error>()
            .is_some_and(jigsmith_assemble::Error::is_verification_failure)
    });
    ExitCode::from(if verification { VERIFY_FAILED } else { ERROR })
}
