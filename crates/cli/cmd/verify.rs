//! `jigsmith verify IMAGE [-j X.jigdo | -t X.template]`: is this image the
//! one the template describes, and if not, which files of it are wrong
//! (issue 10). The checking is `jigsmith_assemble::check_image`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use jigsmith_assemble::{check_image, CheckReport, JigdoImage};

use crate::exit::VERIFY_FAILED;
use crate::output::json_str;
use crate::progress::Bar;

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 the image is good, 1 it is wrong (what and where is \
printed), 2 bad usage or unreadable inputs.\n\nWithout -j and -t, IMAGE's name with .jigdo, \
else .template, is looked for beside it."
)]
pub struct VerifyArgs {
    /// The image to check.
    image: PathBuf,
    /// Its .jigdo (names the files, states the image checksums); the
    /// template is the one it names, next to it, unless -t is given.
    #[arg(short, long)]
    jigdo: Option<PathBuf>,
    /// Its .template.
    #[arg(short, long)]
    template: Option<PathBuf>,
    /// The result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar; print only problems.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let (jigdo, template) = inputs(&a)?;
    let bar = Bar::new(a.quiet || a.json);
    let report = match &jigdo {
        Some(path) => {
            let loaded = JigdoImage::load(path, template.as_deref())
                .with_context(|| format!("loading {}", path.display()))?;
            loaded.check(&a.image, &bar)
        }
        None => {
            let t = template.as_deref().unwrap_or(Path::new(""));
            let parsed = jigsmith_assemble::read_template(t)?;
            check_image(&a.image, &parsed, t, None, &bar)
        }
    }
    .with_context(|| format!("checking {}", a.image.display()))?;
    bar.finish();
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", json(&a.image, &report))?;
    } else {
        write_text(&mut out, &a.image, &report, a.quiet)?;
    }
    out.flush()?;
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(VERIFY_FAILED)
    })
}

/// The .jigdo and template to check against: as given, or beside the image.
fn inputs(a: &VerifyArgs) -> anyhow::Result<(Option<PathBuf>, Option<PathBuf>)> {
    if a.jigdo.is_some() || a.template.is_some() {
        return Ok((a.jigdo.clone(), a.template.clone()));
    }
    for (ext, is_jigdo) in [("jigdo", true), ("template", false)] {
        let p = a.image.with_extension(ext);
        if p.is_file() {
            return Ok(if is_jigdo {
                (Some(p), None)
            } else {
                (None, Some(p))
            });
        }
    }
    bail!(
        "no .jigdo or .template given (-j / -t), and none beside {}",
        a.image.display()
    )
}

fn write_text(
    out: &mut impl Write,
    image: &Path,
    r: &CheckReport,
    quiet: bool,
) -> std::io::Result<()> {
    let name = image.display();
    if r.is_ok() {
        if !quiet {
            let sums: Vec<String> = r
                .sums
                .iter()
                .map(|s| {
                    format!(
                        "{} {}",
                        s.expected.algorithm().jigdo_name(),
                        s.source.name()
                    )
                })
                .collect();
            writeln!(
                out,
                "{name}: OK ({} bytes, {} files; checksums match: {})",
                r.image_len,
                r.files,
                sums.join(", ")
            )?;
        }
        return Ok(());
    }
    writeln!(out, "{name}: BAD")?;
    if let Some(problem) = r.length_problem() {
        writeln!(out, "  {problem}")?;
    }
    for s in r.sums.iter().filter(|s| !s.is_ok()) {
        writeln!(out, "  {s}")?;
    }
    for f in &r.bad_files {
        writeln!(out, "  file at {f}")?;
    }
    if r.files_past_end > 0 {
        writeln!(
            out,
            "  {} more files lie wholly past the end of the image",
            r.files_past_end
        )?;
    }
    for d in &r.bad_data {
        writeln!(out, "  {d}")?;
    }
    writeln!(
        out,
        "  {} of {} files wrong, {} template-data range(s) differ",
        r.bad_files.len() + r.files_past_end,
        r.files,
        r.bad_data.len()
    )
}

fn json(image: &Path, r: &CheckReport) -> String {
    let sums: Vec<String> = r
        .sums
        .iter()
        .map(|s| {
            format!(
                r#"{{"source":{},"algorithm":{},"expected":{},"actual":{},"ok":{}}}"#,
                json_str(s.source.name()),
                json_str(s.expected.algorithm().name()),
                json_str(&s.expected.to_hex()),
                json_str(&s.actual.to_hex()),
                s.is_ok()
            )
        })
        .collect();
    let files: Vec<String> = r
        .bad_files
        .iter()
        .map(|f| {
            let names: Vec<String> = f.names.iter().map(|n| json_str(n)).collect();
            format!(
                r#"{{"offset":{},"length":{},"names":[{}],"expected":{},"actual":{}}}"#,
                f.offset,
                f.len,
                names.join(","),
                json_str(&f.expected.to_hex()),
                f.actual
                    .map_or_else(|| "null".to_string(), |d| json_str(&d.to_hex()))
            )
        })
        .collect();
    let data: Vec<String> = r
        .bad_data
        .iter()
        .map(|d| format!(r#"{{"offset":{},"length":{}}}"#, d.offset, d.len))
        .collect();
    format!(
        r#"{{"image":{},"ok":{},"length":{},"expected_length":{},"length_ok":{},"files":{},"sums":[{}],"bad_files":[{}],"files_past_end":{},"bad_data":[{}]}}"#,
        json_str(&image.display().to_string()),
        r.is_ok(),
        r.image_len,
        r.expected_len,
        r.is_length_ok(),
        r.files,
        sums.join(","),
        files.join(","),
        r.files_past_end,
        data.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: VerifyArgs,
    }

    #[test]
    fn arguments_parse_and_inputs_are_found_beside_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let iso = dir.path().join("x.iso");
        let a = T::try_parse_from(["verify", iso.to_str().unwrap()])
            .unwrap()
            .a;
        assert!(inputs(&a).is_err());
        std::fs::write(dir.path().join("x.template"), b"").unwrap();
        assert_eq!(
            inputs(&a).unwrap(),
            (None, Some(dir.path().join("x.template")))
        );
        std::fs::write(dir.path().join("x.jigdo"), b"").unwrap();
        assert_eq!(
            inputs(&a).unwrap(),
            (Some(dir.path().join("x.jigdo")), None)
        );
        let a = T::try_parse_from(["verify", "x.iso", "-t", "y.template", "--json"])
            .unwrap()
            .a;
        assert!(a.json);
        assert_eq!(inputs(&a).unwrap(), (None, Some("y.template".into())));
    }
}
