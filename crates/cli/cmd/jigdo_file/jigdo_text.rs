//! The `.jigdo` jigdo-file's make-template writes, as text: it starts from
//! the `--merge` file (or nothing) and, as jigdo-file does, puts a `[Jigdo]`
//! section first if there is none, fills an empty `Template-MD5Sum=` (or
//! `Template-SHA256Sum=`) line of an `[Image]` section or appends a new
//! `[Image]`, adds the new `[Servers]` lines to the last such section (or a
//! new one), and gathers every `[Parts]` line into one section at the end,
//! sorted by value, leaving out new lines for checksums already there.

/// A `--merge` file, line by line, minus its `[Parts]` sections.
pub struct Base {
    lines: Vec<String>,
    /// Entry lines of the `[Parts]` sections, as `key=value` (key trimmed).
    parts: Vec<String>,
    /// `(label, value)` of every `[Servers]` entry.
    pub servers: Vec<(String, String)>,
    /// The merge file was empty (or absent): jigdo-file's header comes first.
    empty: bool,
}

fn section_name(line: &str) -> Option<&str> {
    let t = line.trim();
    t.strip_prefix('[')
        .and_then(|r| r.find(']').and_then(|i| r.get(..i)))
        .map(str::trim)
}

fn entry(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    line.split_once('=').map(|(k, v)| (k.trim(), v))
}

impl Base {
    pub fn parse(text: &str) -> Base {
        let mut lines = Vec::new();
        let mut parts = Vec::new();
        let mut servers = Vec::new();
        let mut section = String::new();
        for line in text.lines() {
            if let Some(name) = section_name(line) {
                section = name.to_string();
            }
            let is_header = section_name(line).is_some();
            if section == "Parts" {
                if let (Some((k, v)), false) = (entry(line), is_header) {
                    parts.push(format!("{k}={v}"));
                }
                continue;
            }
            if section == "Servers" && !is_header {
                if let Some((k, v)) = entry(line) {
                    servers.push((k.to_string(), v.trim().to_string()));
                }
            }
            lines.push(line.to_string());
        }
        Base {
            empty: text.trim().is_empty(),
            lines,
            parts,
            servers,
        }
    }

    fn has_section(&self, name: &str) -> bool {
        self.lines.iter().any(|l| section_name(l) == Some(name))
    }

    fn append_section(&mut self, section: Vec<String>) {
        if self.lines.last().is_some_and(|l| !l.trim().is_empty()) {
            self.lines.push(String::new());
        }
        self.lines.extend(section);
    }
}

/// What make-template found, for the `.jigdo`.
pub struct New {
    /// `[Jigdo]` lines if the base has none: `Version=…`, `Generator=…`.
    pub jigdo: Vec<String>,
    /// `[Image]` entries; the last is `Template-…Sum=VALUE`. None: no section.
    pub image: Option<Vec<String>>,
    /// `Template-MD5Sum` or `Template-SHA256Sum`, and its value.
    pub template_sum: (&'static str, String),
    /// `[Servers]` lines (`Label=URI`) to add; None: no section.
    pub servers: Option<Vec<(String, String)>>,
    /// `(checksum, quoted location)` for `[Parts]`.
    pub parts: Vec<(String, String)>,
}

pub fn render(mut base: Base, new: &New) -> String {
    if !base.has_section("Jigdo") {
        let mut top = Vec::new();
        if base.empty {
            top.push("# JigsawDownload".to_string());
            top.push(
                "# See <https://www.einval.com/~steve/software/jigdo/> for details about jigdo"
                    .to_string(),
            );
            top.push(String::new());
        }
        top.push("[Jigdo]".to_string());
        top.extend(new.jigdo.iter().cloned());
        top.push(String::new());
        top.append(&mut base.lines);
        base.lines = top;
    }
    if let Some(image) = &new.image {
        let (key, value) = &new.template_sum;
        let mut section = String::new();
        let slot = base.lines.iter().position(|l| {
            if let Some(name) = section_name(l) {
                section = name.to_string();
                return false;
            }
            section == "Image" && entry(l).is_some_and(|(k, v)| k == *key && v.trim().is_empty())
        });
        match slot.and_then(|i| base.lines.get_mut(i)) {
            Some(line) => *line = format!("{key}={value}"),
            None => {
                let mut s = vec!["[Image]".to_string()];
                s.extend(image.iter().cloned());
                base.append_section(s);
            }
        }
    }
    if let Some(servers) = &new.servers {
        let fresh: Vec<String> = servers
            .iter()
            .filter(|(l, u)| !base.servers.iter().any(|(el, ev)| el == l && ev == u))
            .map(|(l, u)| format!("{l}={u}"))
            .collect();
        // after the last entry of the last [Servers] section
        let mut section = String::new();
        let mut last_header = None;
        let mut last_entry = None;
        for (i, l) in base.lines.iter().enumerate() {
            if let Some(name) = section_name(l) {
                section = name.to_string();
                if section == "Servers" {
                    last_header = Some(i);
                    last_entry = None;
                }
            } else if section == "Servers" && entry(l).is_some() {
                last_entry = Some(i);
            }
        }
        match last_entry.or(last_header) {
            Some(at) => {
                let tail = base.lines.split_off(at + 1);
                base.lines.extend(fresh);
                base.lines.extend(tail);
            }
            None => {
                let mut s = vec!["[Servers]".to_string()];
                s.extend(fresh);
                base.append_section(s);
            }
        }
    }
    let mut parts = std::mem::take(&mut base.parts);
    let key_of = |l: &String| l.split_once('=').map(|(k, _)| k.to_string());
    let known: Vec<String> = parts.iter().filter_map(key_of).collect();
    for (sum, location) in &new.parts {
        if !known.contains(sum) {
            parts.push(format!("{sum}={location}"));
        }
    }
    // jigdo-file keeps [Parts] sorted by value
    parts.sort_by(|a, b| {
        let v = |l: &String| l.split_once('=').map(|(_, v)| v.to_string());
        v(a).cmp(&v(b))
    });
    let mut s = vec!["[Parts]".to_string()];
    s.extend(parts);
    base.append_section(s);
    let mut text = base.lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new() -> New {
        New {
            jigdo: vec!["Version=1.2".into(), "Generator=g".into()],
            image: Some(vec![
                "Filename=i.iso".into(),
                "Template=i.template".into(),
                "Template-MD5Sum=SUM".into(),
            ]),
            template_sum: ("Template-MD5Sum", "SUM".into()),
            servers: Some(vec![("A".into(), "file:m/".into())]),
            parts: vec![("s2".into(), "A:b".into()), ("s1".into(), "A:a".into())],
        }
    }

    #[test]
    fn without_merge_as_jigdo_file() {
        let text = render(Base::parse(""), &new());
        assert_eq!(
            text,
            "# JigsawDownload\n# See <https://www.einval.com/~steve/software/jigdo/> for details about jigdo\n\n\
             [Jigdo]\nVersion=1.2\nGenerator=g\n\n[Image]\nFilename=i.iso\nTemplate=i.template\n\
             Template-MD5Sum=SUM\n\n[Servers]\nA=file:m/\n\n[Parts]\ns1=A:a\ns2=A:b\n"
        );
    }

    #[test]
    fn merged_as_jigdo_file() {
        let base = Base::parse(
            "# hello\n[Jigdo]\nVersion=1.1\n\n[Image]\nTemplate-MD5Sum=\n\n\
             [Parts]\ns2=O:x\n\n[Servers]\nO=http://o/\n# end\n",
        );
        let text = render(base, &new());
        assert_eq!(
            text,
            "# hello\n[Jigdo]\nVersion=1.1\n\n[Image]\nTemplate-MD5Sum=SUM\n\n\
             [Servers]\nO=http://o/\nA=file:m/\n# end\n\n[Parts]\ns1=A:a\ns2=O:x\n"
        );
    }
}
