//! Directory index pages: HTML that reads without JavaScript, and the same
//! facts as JSON for scripts.

use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

use jigsmith_catalog::{Dir, Entry, Published};
use jigsmith_checksum::Algorithm;
use serde::Serialize;

use crate::path::encode;

/// The JSON form of a directory.
#[derive(Debug, Serialize)]
pub struct Listing<'a> {
    /// `/a/b/`.
    pub path: String,
    /// Subdirectories, by name.
    pub directories: Vec<&'a str>,
    /// Images published here.
    pub images: Vec<ImageInfo<'a>>,
    /// Checksum files (`MD5SUMS`, ...).
    pub checksum_files: Vec<&'a str>,
}

/// One image in a [`Listing`].
#[derive(Debug, Serialize)]
pub struct ImageInfo<'a> {
    /// File name.
    pub name: &'a str,
    /// Link, relative to the directory.
    pub href: String,
    /// Bytes.
    pub size: u64,
    /// The template's modification time, as an HTTP date.
    pub modified: Option<String>,
    /// The same, seconds since 1970.
    pub modified_unix: Option<u64>,
    /// `[Image] ShortInfo`.
    pub short_info: Option<&'a str>,
    /// `[Image] Info`.
    pub info: Option<&'a str>,
    /// The `.jigdo` file's name.
    pub jigdo: String,
    /// The template's name.
    pub template: String,
    /// Known image checksums, hex, by lower-case algorithm name.
    pub checksums: std::collections::BTreeMap<String, String>,
}

impl<'a> Listing<'a> {
    /// The listing of `dir`.
    pub fn of(dir: &'a Dir) -> Listing<'a> {
        let mut listing = Listing {
            path: dir_url(&dir.path),
            directories: Vec::new(),
            images: Vec::new(),
            checksum_files: Vec::new(),
        };
        for (name, entry) in &dir.entries {
            match entry {
                Entry::Dir(_) => listing.directories.push(name),
                Entry::Image(p) => listing.images.push(ImageInfo::of(p)),
                Entry::Sums(_) => listing.checksum_files.push(name),
                Entry::Jigdo(_) | Entry::Template(_) => {}
            }
        }
        listing
    }

    /// As JSON.
    pub fn json(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// As an HTML page.
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(4096);
        let title = format!("Index of {}", self.path);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            escape(&title),
            escape(&title)
        );
        if self.path != "/" {
            out.push_str("<p><a href=\"../\">↑ Parent directory</a></p>\n");
        }
        if !self.images.is_empty() {
            out.push_str("<h2>Images</h2>\n");
            for image in &self.images {
                image.html(&mut out);
            }
        }
        if !self.directories.is_empty() {
            out.push_str("<h2>Directories</h2>\n<ul class=\"dirs\">\n");
            for d in &self.directories {
                let _ = writeln!(
                    out,
                    "<li><a href=\"{}/\">{}/</a></li>",
                    escape(&encode(d)),
                    escape(d)
                );
            }
            out.push_str("</ul>\n");
        }
        if !self.checksum_files.is_empty() {
            out.push_str("<h2>Checksums</h2>\n<ul class=\"sums\">\n");
            for s in &self.checksum_files {
                let _ = writeln!(out, "<li><a href=\"{0}\">{0}</a></li>", escape(s));
            }
            out.push_str("</ul>\n");
        }
        if self.images.is_empty() && self.directories.is_empty() {
            out.push_str("<p>No images here.</p>\n");
        }
        out.push_str(
            "<footer>Images are built on request from their .jigdo and .template \
             files by jigsmith serve; every byte is checked. \
             <a href=\"?format=json\">JSON</a></footer>\n</body>\n</html>\n",
        );
        out
    }
}

impl<'a> ImageInfo<'a> {
    fn of(p: &'a Published) -> ImageInfo<'a> {
        let checksums = [
            Algorithm::Md5,
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha512,
        ]
        .into_iter()
        .filter_map(|a| {
            let d = p.digest(a)?;
            Some((a.jigdo_name().to_ascii_lowercase(), d.to_hex()))
        })
        .collect();
        ImageInfo {
            name: &p.name,
            href: encode(&p.name),
            size: p.len(),
            modified: Some(httpdate::fmt_http_date(p.modified)),
            modified_unix: p
                .modified
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs()),
            short_info: p.short_info(),
            info: p.info(),
            jigdo: p.jigdo_name(),
            template: p.template_name(),
            checksums,
        }
    }

    fn html(&self, out: &mut String) {
        let _ = write!(
            out,
            "<section class=\"image\">\n<h3><a href=\"{href}\">{name}</a></h3>\n\
             <p class=\"meta\"><span title=\"{size} bytes\">{human}</span> · {date}</p>\n",
            href = escape(&self.href),
            name = escape(self.name),
            size = self.size,
            human = human_size(self.size),
            date = escape(self.modified.as_deref().unwrap_or("")),
        );
        if let Some(s) = self.short_info {
            let _ = writeln!(out, "<p class=\"short\">{}</p>", escape(s));
        }
        if let Some(s) = self.info {
            let _ = writeln!(out, "<p class=\"info\">{}</p>", escape(s));
        }
        if !self.checksums.is_empty() {
            out.push_str("<dl class=\"checksums\">\n");
            for (alg, hex) in &self.checksums {
                let _ = writeln!(
                    out,
                    "<dt>{}</dt><dd><code>{}</code></dd>",
                    escape(&alg.to_ascii_uppercase()),
                    escape(hex)
                );
            }
            out.push_str("</dl>\n");
        }
        let _ = writeln!(
            out,
            "<p class=\"files\">Download: <a href=\"{}\">image</a> · \
             <a href=\"{}\">.jigdo</a> · <a href=\"{}\">.template</a></p>\n</section>",
            escape(&self.href),
            escape(&encode(&self.jigdo)),
            escape(&encode(&self.template)),
        );
    }
}

/// The URL path of a catalog directory, with slashes at both ends.
pub fn dir_url(rel: &str) -> String {
    if rel.is_empty() {
        "/".into()
    } else {
        format!("/{}/", encode(rel))
    }
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let unit_name = UNITS.get(unit).copied().unwrap_or("bytes");
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {unit_name}")
    }
}

/// Escapes text for HTML element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
padding:0 1rem;line-height:1.4;color:#222}h1{font-size:1.5rem}\
section.image{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
section.image h3{margin:.3rem 0;word-break:break-all}.meta{color:#555;margin:.2rem 0}\
dl.checksums{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.5rem 0}\
dl.checksums dd{margin:0}code{font-size:.8rem;word-break:break-all}\
footer{margin-top:2rem;color:#666;font-size:.85rem}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(3_900_000_000), "3.6 GiB");
    }

    #[test]
    fn directory_urls() {
        assert_eq!(dir_url(""), "/");
        assert_eq!(dir_url("a b/c"), "/a%20b/c/");
    }
}
