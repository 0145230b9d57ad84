//! Generates an ISO-like image from random files and times `make_template`.
//!
//! `cargo run --release -p jigsmith-scan --example scan_bench -- DIR [MIB] [FILES] [FILL%] [LEVEL]`
//!
//! Writes `DIR/image.iso`, `DIR/files/*` and `DIR/out.template`; delete DIR
//! afterwards. FILL% is the share of the image made of candidate files (the
//! rest is random gap data the scanner must roll over and compress).

use std::error::Error;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use jigsmith_checksum::Algorithm;
use jigsmith_format::Compression;
use jigsmith_scan::{Candidate, Scanner};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn fill(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

fn arg(args: &[String], i: usize, default: u64) -> Result<u64, Box<dyn Error>> {
    Ok(match args.get(i) {
        Some(s) => s.parse()?,
        None => default,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(1)
            .ok_or("usage: scan_bench DIR [MIB] [FILES] [FILL%] [LEVEL]")?,
    );
    let total = arg(&args, 2, 1024)? << 20;
    let nfiles = arg(&args, 3, 500)?;
    let fill = arg(&args, 4, 90)?.min(100);
    let level = u32::try_from(arg(&args, 5, 9)?)?;
    let files_dir = dir.join("files");
    fs::create_dir_all(&files_dir)?;

    let image_path = dir.join("image.iso");
    let (candidates, inserted) = if image_path.exists() {
        // reuse an image generated before (timing the scan alone)
        let mut c = Vec::new();
        for e in fs::read_dir(&files_dir)? {
            let e = e?;
            c.push(Candidate::new(e.path(), e.metadata()?.len()));
        }
        (c, 0)
    } else {
        generate(&image_path, &files_dir, total, nfiles, fill)?
    };

    let mut scanner = Scanner::builder()
        .algorithm(Algorithm::Md5)
        .compression(Compression::Zlib)
        .level(level)
        .build()?;
    for c in candidates {
        scanner.add_candidate(c);
    }
    let out = BufWriter::new(File::create(dir.join("out.template"))?);
    let t0 = Instant::now();
    let report = scanner.make_template(&image_path, out, &())?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "scanned {} bytes in {secs:.2}s: {:.0} MB/s ({:.0} MiB/s); {} matches ({} inserted), {} matched bytes, template {} bytes, {} skipped",
        report.image_len,
        report.image_len as f64 / secs / 1e6,
        report.image_len as f64 / secs / (1 << 20) as f64,
        report.matches.len(),
        inserted,
        report.matched_bytes(),
        report.template.template_len,
        report.skipped.len()
    );
    Ok(())
}

fn generate(
    image_path: &Path,
    files_dir: &Path,
    total: u64,
    nfiles: u64,
    fill: u64,
) -> Result<(Vec<Candidate>, usize), Box<dyn Error>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let file_avg = total * fill / 100 / nfiles.max(1);
    let gap_avg = total * (100 - fill) / 100 / nfiles.max(1);
    let mut image = BufWriter::new(File::create(image_path)?);
    let mut len = 0u64;
    let mut candidates = Vec::new();
    let mut inserted = 0usize;
    let t0 = Instant::now();
    while len < total {
        let n = rng.below(2 * gap_avg + 1) as usize;
        let gap = rng.fill(n);
        image.write_all(&gap)?;
        len += gap.len() as u64;
        // most files start on a 2 KiB sector, as in an ISO; some do not
        if rng.below(5) != 0 {
            let pad = (2048 - len % 2048) % 2048;
            image.write_all(&vec![0; pad as usize])?;
            len += pad;
        }
        let size = (1024 + rng.below(2 * file_avg)).min(total.saturating_sub(len).max(1024));
        let data = rng.fill(size as usize);
        let path = files_dir.join(format!("f{}", candidates.len()));
        fs::write(&path, &data)?;
        image.write_all(&data)?;
        len += size;
        inserted += 1;
        candidates.push(Candidate::new(path, size));
    }
    // files on the mirror that are not in the image
    for _ in 0..50 {
        let n = 1024 + rng.below(100_000) as usize;
        let data = rng.fill(n);
        let path = files_dir.join(format!("f{}", candidates.len()));
        fs::write(&path, &data)?;
        candidates.push(Candidate::new(path, data.len() as u64));
    }
    image.flush()?;
    drop(image);
    println!(
        "generated {} MiB image, {} files in it, {} candidates, in {:.1?}",
        len >> 20,
        inserted,
        candidates.len(),
        t0.elapsed()
    );
    Ok((candidates, inserted))
}
