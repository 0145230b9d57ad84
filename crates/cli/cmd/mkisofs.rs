//! The `mkisofs` / `xorrisofs` / `genisoimage` personality: write an ISO
//! image and, with the `-jigdo-*` options, its .jigdo and .template in the
//! same pass. All outputs appear together or not at all.

use std::ffi::OsString;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use jigsmith_checksum::Algorithm;
use jigsmith_format::{ChecksumList, Compression};
use jigsmith_iso::{Image, IsoWriter, PlainSink};
use jigsmith_jte::{JteConfig, JteSink, JteTimings, PathMap};

use crate::files::{file_name, read_checksum_list};
use crate::mkisofs_args::{parse_mkisofs_args, MkisofsArgs};
use crate::output::{self, AtomicFile};

#[derive(Debug, Args)]
pub struct MkisofsRawArgs {
    /// mkisofs options (e.g. -r -J -V ID -o out.iso -jigdo-jigdo X.jigdo ... TREE).
    #[arg(allow_hyphen_values = true, trailing_var_arg = true, num_args = 0..)]
    args: Vec<OsString>,
}

pub fn run_raw(a: MkisofsRawArgs) -> anyhow::Result<ExitCode> {
    run(a.args)
}

pub fn run(raw: Vec<OsString>) -> anyhow::Result<ExitCode> {
    // quiet unless RUST_LOG asks (RUST_LOG=jigsmith=info: where the time went)
    crate::logging::init_at(false, "warn");
    let started = Instant::now();
    let mut args = parse_mkisofs_args(raw)?;
    args.read_lists()?;
    let mut writer = IsoWriter::new(args.options.clone());
    for spec in &args.pathspecs {
        writer.add(spec.clone());
    }
    let image = writer.plan().context("planning the image")?;
    tracing::info!(
        "stage tree+layout: {:.3} s (arguments, lists, tree walk, layout)",
        started.elapsed().as_secs_f64()
    );
    for w in image.warnings() {
        eprintln!("jigsmith: warning: {w}");
    }
    let jte = args.jigdo_jigdo.is_some() || args.jigdo_template.is_some();
    if jte {
        write_with_jte(&args, &image)?;
    } else {
        write_plain(&args, &image)?;
    }
    if !args.quiet {
        eprintln!(
            "jigsmith: wrote {} bytes ({} sectors)",
            image.size(),
            image.size() / 2048
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the ISO goes: `/dev/null` discards it, none or `-` is stdout.
enum IsoOut {
    Discard,
    Stdout,
    File(AtomicFile),
}

impl IsoOut {
    fn new(output: Option<&Path>) -> anyhow::Result<IsoOut> {
        Ok(match output {
            Some(p) if p == Path::new("/dev/null") => IsoOut::Discard,
            None => IsoOut::Stdout,
            Some(p) if p.as_os_str() == "-" => IsoOut::Stdout,
            Some(p) => IsoOut::File(AtomicFile::create(p)?),
        })
    }

    fn writer(&mut self) -> Box<dyn Write + '_> {
        match self {
            IsoOut::Discard => Box::new(std::io::sink()),
            IsoOut::Stdout => Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout().lock())),
            IsoOut::File(f) => Box::new(BufWriter::with_capacity(1 << 20, f.streaming_writer())),
        }
    }

    /// As [`IsoOut::writer`], with a file written past the page cache where
    /// the writes allow it (see [`AtomicFile::direct_writer`]). No buffer: the
    /// JTE sink writes whole chunks, and a buffer would only copy the last
    /// one out of its aligned memory.
    fn direct_writer(&mut self) -> Box<dyn Write + '_> {
        match self {
            IsoOut::File(f) => Box::new(f.direct_writer()),
            other => other.writer(),
        }
    }

    fn sync(&self) -> anyhow::Result<()> {
        match self {
            IsoOut::File(f) => f.sync(),
            IsoOut::Discard | IsoOut::Stdout => Ok(()),
        }
    }

    fn commit(self) -> anyhow::Result<()> {
        match self {
            IsoOut::File(f) => f.commit(),
            IsoOut::Discard | IsoOut::Stdout => Ok(()),
        }
    }
}

fn write_plain(args: &MkisofsArgs, image: &Image) -> anyhow::Result<()> {
    let mut out = IsoOut::new(args.output.as_deref())?;
    {
        let mut sink = PlainSink::new(out.writer());
        image.write(&mut sink).context("writing the image")?;
        sink.finish().context("writing the image")?;
    }
    out.commit()
}

fn algorithms(names: &[String], default: &[Algorithm]) -> anyhow::Result<Vec<Algorithm>> {
    if names.is_empty() {
        return Ok(default.to_vec());
    }
    names
        .iter()
        .map(|n| n.parse::<Algorithm>().map_err(anyhow::Error::from))
        .collect()
}

fn jte_config(args: &MkisofsArgs, template_path: &Path) -> anyhow::Result<JteConfig> {
    let algorithm = match args.jigdo_checksum_algorithm.as_deref() {
        None | Some("md5") => Algorithm::Md5,
        Some("sha256") => Algorithm::Sha256,
        Some(other) => bail!("-jigdo-checksum-algorithm {other:?}: use md5 or sha256"),
    };
    let compression: Compression = match args.jigdo_template_compress.as_deref() {
        None => Compression::Zlib,
        Some(name) => name
            .parse()
            .map_err(|e| anyhow::anyhow!("-jigdo-template-compress {e}"))?,
    };
    warn_if_not_classic(compression);
    let mut config = JteConfig::new(algorithm, compression);
    if let Some(n) = args.jigdo_min_file_size {
        config.min_file_size = n;
    }
    config.exclude = JteConfig::patterns(&args.jigdo_exclude).context("-jigdo-exclude")?;
    config.force =
        JteConfig::patterns(&args.jigdo_force_checksum).context("-jigdo-force-checksum")?;
    config.maps = args
        .jigdo_map
        .iter()
        .map(|(to, from)| PathMap {
            to: to.clone(),
            from: from.clone(),
        })
        .collect();
    config.image_algorithms = algorithms(&args.checksum_algorithm_iso, &Algorithm::ALL)?;
    config.template_algorithms = algorithms(
        &args.checksum_algorithm_template,
        &[Algorithm::Md5, Algorithm::Sha256],
    )?;
    config.image_name = args.output.as_deref().map(file_name).unwrap_or_default();
    config.template_name = file_name(template_path);
    Ok(config)
}

fn write_with_jte(args: &MkisofsArgs, image: &Image) -> anyhow::Result<()> {
    let (Some(jigdo_path), Some(template_path)) = (&args.jigdo_jigdo, &args.jigdo_template) else {
        bail!("-jigdo-jigdo and -jigdo-template must be given together");
    };
    let config = jte_config(args, template_path)?;
    let list = match &args.checksum_list {
        Some(p) => read_checksum_list(p)?,
        None => ChecksumList::default(),
    };
    let mut iso = IsoOut::new(args.output.as_deref())?;
    let mut template = AtomicFile::create(template_path)?;
    let started = Instant::now();
    let jigdo = {
        let template_out = BufWriter::with_capacity(1 << 20, template.file());
        let mut sink = JteSink::new(iso.direct_writer(), template_out, config, &list)?;
        image.write(&mut sink).context("writing the image")?;
        let out = sink.finish()?;
        let mut t = out.template;
        t.flush()
            .with_context(|| format!("writing {}", template_path.display()))?;
        log_timings(started.elapsed(), &out.timings);
        out.jigdo
    };
    let started = Instant::now();
    let jigdo_file = output::write_jigdo(jigdo_path, &jigdo)?;
    // all three exist only once everything succeeded: a write error that
    // shows only at fsync (a full disk) must not leave the others renamed
    template.sync()?;
    jigdo_file.sync()?;
    iso.sync()?;
    template.commit()?;
    jigdo_file.commit()?;
    iso.commit()?;
    tracing::info!(
        "stage commit: {:.3} s (.jigdo, fsync and rename of the outputs)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The JTE pass's stages; they overlap, so CPU times add up to more than the wall time.
fn log_timings(wall: std::time::Duration, t: &JteTimings) {
    let s = |d: std::time::Duration| d.as_secs_f64();
    tracing::info!("stage write pass: {:.3} s wall", s(wall));
    tracing::info!(
        "stage writer thread: {:.3} s CPU (of it, wall: image write {:.3} s, template {:.3} s; waited for hashers {:.3} s)",
        s(t.writer),
        s(t.image_write),
        s(t.template),
        s(t.waiting)
    );
    for (alg, cpu) in &t.image_hash {
        tracing::info!("stage image {}: {:.3} s CPU", alg.jigdo_name(), s(*cpu));
    }
    tracing::info!(
        "stage file checks: {:.3} s CPU ({} files, {} MiB)",
        s(t.file_checks),
        t.files_checked,
        t.bytes_checked >> 20
    );
}

/// xz and zstd templates are jigsmith's own: say so once, where it is chosen.
pub fn warn_if_not_classic(compression: Compression) {
    if !compression.is_classic() {
        eprintln!(
            "jigsmith: note: {} template data can be read by jigsmith only, not by jigdo-file, jigit-mkimage or jigdo-lite",
            compression.name()
        );
    }
}
