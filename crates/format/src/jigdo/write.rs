use std::io::Write;

use super::{quote_value, Jigdo};
use crate::{Error, Result};

impl Jigdo {
    /// Writes the file in jigdo-file's layout: [Jigdo], [Image], [Servers],
    /// then [Parts] last, so that a downloader can show the image
    /// information before the long parts list has arrived.
    ///
    /// # Errors
    /// [`Error::Io`] if writing fails.
    pub fn write<W: Write>(&self, mut w: W) -> Result<()> {
        self.write_dyn(&mut w)
            .map_err(Error::io("writing the .jigdo file"))
    }

    fn write_dyn(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(w, "# JigsawDownload")?;
        writeln!(
            w,
            "# See <https://www.einval.com/~steve/software/jigdo/> for details about jigdo"
        )?;
        writeln!(w, "\n[Jigdo]\nVersion={}", self.version)?;
        if let Some(g) = &self.generator {
            writeln!(w, "Generator={}", quote_value(g))?;
        }
        if let Some(image) = &self.image {
            writeln!(w, "\n[Image]")?;
            writeln!(w, "Filename={}", quote_value(&image.filename))?;
            writeln!(w, "Template={}", quote_value(&image.template))?;
            if let Some(d) = &image.template_md5 {
                writeln!(w, "Template-MD5Sum={d}")?;
            }
            if let Some(d) = &image.template_sha256 {
                writeln!(w, "Template-SHA256Sum={d}")?;
            }
            if let Some(s) = &image.short_info {
                writeln!(w, "ShortInfo={s}")?;
            }
            if let Some(s) = &image.info {
                writeln!(w, "Info={s}")?;
            }
            for c in &image.comments {
                writeln!(w, "# {c}")?;
            }
        }
        for include in &self.includes {
            writeln!(w, "\n[Include {include}]")?;
        }
        if !self.servers.is_empty() {
            writeln!(w, "\n[Servers]")?;
            for s in &self.servers {
                writeln!(w, "{}={}", s.label, s.raw)?;
            }
        }
        writeln!(w, "\n[Parts]")?;
        for p in &self.parts {
            writeln!(w, "{}={}", p.digest, p.raw)?;
        }
        w.flush()
    }
}
