//! The journal beside a partial image: which pieces are verified and
//! written. An entry is appended only after the image file was synced, and
//! the journal is synced before its entries count, so after a crash or
//! `kill -9` every entry describes bytes that are on disk.
//!
//! Text, one line an entry:
//! `jigsmith-get-journal 1 <image digest hex> <image length>` (header),
//! `T` (all template data written), `P <item index> <offset> <digest hex>`
//! (a part verified and written). A torn last line is dropped.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use jigsmith_format::{ItemKind, Template};

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Item indices of parts verified and written.
    pub done: HashSet<usize>,
    pub template_done: bool,
    pending: Vec<String>,
}

fn header(t: &Template) -> String {
    format!(
        "jigsmith-get-journal 1 {} {}\n",
        t.image_digest().to_hex(),
        t.image_len()
    )
}

impl Journal {
    /// Opens the journal at `path` for `template`; one for another image,
    /// or none, starts empty.
    pub fn open(path: &Path, template: &Template) -> anyhow::Result<Journal> {
        let mut done = HashSet::new();
        let mut template_done = false;
        let mut valid_len = 0u64;
        let want = header(template);
        if let Ok(f) = File::open(path) {
            let mut r = BufReader::new(f);
            let mut line = String::new();
            let mut first = true;
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                if !line.ends_with('\n') {
                    break; // torn by a crash
                }
                if first {
                    if line != want {
                        break;
                    }
                    first = false;
                } else if line == "T\n" {
                    template_done = true;
                } else if let Some(i) = parse_part(&line, template) {
                    done.insert(i);
                } else {
                    break;
                }
                valid_len += line.len() as u64;
                line.clear();
            }
        }
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut j = Journal {
            path: path.to_path_buf(),
            file,
            done,
            template_done,
            pending: Vec::new(),
        };
        if valid_len == 0 {
            j.rewrite(template, |_| true, false)?;
        } else {
            j.file.set_len(valid_len)?;
        }
        Ok(j)
    }

    /// Notes a part as verified and written; it counts once [`Journal::flush`]ed.
    pub fn mark(&mut self, index: usize, template: &Template) {
        if let Some(item) = template.items().get(index) {
            if let ItemKind::File { digest, .. } = item.kind {
                self.pending
                    .push(format!("P {index} {} {}\n", item.offset, digest.to_hex()));
                self.done.insert(index);
            }
        }
    }

    pub fn mark_template(&mut self) {
        self.pending.push("T\n".into());
        self.template_done = true;
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Syncs the image, then appends the pending entries and syncs them.
    pub fn flush(&mut self, image: &File) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        image.sync_data().context("syncing the partial image")?;
        let text: String = self.pending.concat();
        use std::io::Seek;
        self.file.seek(std::io::SeekFrom::End(0))?;
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.pending.clear();
        Ok(())
    }

    /// Writes the journal anew with the parts `keep` accepts (after a
    /// damaged piece was found).
    pub fn rewrite(
        &mut self,
        template: &Template,
        keep: impl Fn(usize) -> bool,
        template_done: bool,
    ) -> anyhow::Result<()> {
        self.done.retain(|i| keep(*i));
        self.template_done = template_done;
        self.pending.clear();
        let mut text = header(template);
        if template_done {
            text.push_str("T\n");
        }
        let mut done: Vec<usize> = self.done.iter().copied().collect();
        done.sort_unstable();
        for i in done {
            if let Some(item) = template.items().get(i) {
                if let ItemKind::File { digest, .. } = item.kind {
                    text.push_str(&format!("P {i} {} {}\n", item.offset, digest.to_hex()));
                }
            }
        }
        self.file.set_len(0)?;
        use std::io::Seek;
        self.file.seek(std::io::SeekFrom::Start(0))?;
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing {}", self.path.display()))
    }

    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A `P` line that names a file item of this template exactly.
fn parse_part(line: &str, template: &Template) -> Option<usize> {
    let mut w = line.trim_end().split(' ');
    if w.next()? != "P" {
        return None;
    }
    let index: usize = w.next()?.parse().ok()?;
    let offset: u64 = w.next()?.parse().ok()?;
    let hex = w.next()?;
    let item = template.items().get(index)?;
    match item.kind {
        ItemKind::File { digest, .. } if item.offset == offset && digest.to_hex() == hex => {
            Some(index)
        }
        _ => None,
    }
}
