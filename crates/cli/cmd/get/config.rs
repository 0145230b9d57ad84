//! `get`'s config file: `$XDG_CONFIG_HOME/jigsmith/config.toml` (else
//! `~/.config/jigsmith/config.toml`), then `/etc/jigsmith/config.toml`;
//! the first that exists is read. Flags win over it: its mirrors are tried
//! after `--mirror`s, its seeds are added to `--seed`s, its `jobs` applies
//! without `-j`.
//!
//! ```toml
//! jobs = 16
//! seeds = ["/srv/isos/debian-12.iso", "/var/cache/apt/archives"]
//! [mirrors]
//! Debian = ["http://deb.debian.org/debian/", "http://ftp.de.debian.org/debian/"]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use toml_edit::{DocumentMut, Item, Value};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub jobs: Option<u16>,
    pub seeds: Vec<PathBuf>,
    /// `(label, base URL)`, in file order.
    pub mirrors: Vec<(String, String)>,
}

/// The config file in effect, if any.
pub fn path() -> Option<PathBuf> {
    let user = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("jigsmith").join("config.toml"));
    user.into_iter()
        .chain(std::iter::once(PathBuf::from("/etc/jigsmith/config.toml")))
        .find(|p| p.is_file())
}

/// Reads the config file in effect (none: the defaults).
pub fn load() -> anyhow::Result<Config> {
    match path() {
        Some(p) => read(&p),
        None => Ok(Config::default()),
    }
}

fn read(path: &Path) -> anyhow::Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<Config> {
    let doc: DocumentMut = text.parse().context("not valid TOML")?;
    let mut c = Config::default();
    for (key, item) in doc.iter() {
        match key {
            "jobs" => {
                let n = item.as_integer().context("jobs: expected a number")?;
                c.jobs = Some(
                    u16::try_from(n)
                        .ok()
                        .filter(|n| (1..=256).contains(n))
                        .context("jobs: expected 1 to 256")?,
                );
            }
            "seeds" => {
                c.seeds = strings(item, "seeds")?
                    .into_iter()
                    .map(PathBuf::from)
                    .collect()
            }
            "mirrors" => {
                let table = item
                    .as_table_like()
                    .context("[mirrors]: expected a table")?;
                for (label, urls) in table.iter() {
                    for url in strings(urls, label)? {
                        let m = super::parse_mirror(&format!("{label}={url}"))
                            .map_err(anyhow::Error::msg)?;
                        c.mirrors.push(m);
                    }
                }
            }
            other => bail!("unknown key {other:?} (jobs, seeds, [mirrors])"),
        }
    }
    Ok(c)
}

/// A string or an array of strings.
fn strings(item: &Item, what: &str) -> anyhow::Result<Vec<String>> {
    let one = |v: &Value| v.as_str().map(str::to_string);
    if let Some(s) = item.as_value().and_then(one) {
        return Ok(vec![s]);
    }
    let arr = item
        .as_array()
        .with_context(|| format!("{what}: expected a string or a list of strings"))?;
    arr.iter()
        .map(|v| one(v).with_context(|| format!("{what}: expected strings")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let c = parse(
            "jobs = 8\nseeds = [\"/a\", \"/b.iso\"]\n[mirrors]\nDebian = [\"http://m/d\", \"https://n/d/\"]\nX = \"http://x/\"\n",
        )
        .unwrap();
        assert_eq!(c.jobs, Some(8));
        assert_eq!(c.seeds, [PathBuf::from("/a"), PathBuf::from("/b.iso")]);
        assert_eq!(
            c.mirrors,
            [
                ("Debian".to_string(), "http://m/d/".to_string()),
                ("Debian".to_string(), "https://n/d/".to_string()),
                ("X".to_string(), "http://x/".to_string()),
            ]
        );
        assert_eq!(parse("").unwrap(), Config::default());
        for bad in [
            "jobs = 0",
            "jobs = \"x\"",
            "seed = []",
            "[mirrors]\nD = 3",
            "x =",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
