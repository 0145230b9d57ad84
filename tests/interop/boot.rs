//! Images written by `jigsmith mkisofs` with ISOLINUX must boot in qemu as a CD (El
//! Torito, boot info table) and as a hard disk (isohybrid MBR), and xorriso must report
//! the same El Torito catalog and partition tables for them as for its own image of the
//! same tree with the same options.
//!
//! qemu runs without KVM (TCG), display, network or reboots, and is killed after
//! [`DEADLINE`] so a test can never hang. ISOLINUX's `isolinux.cfg` runs `cat.c32` on
//! `marker.txt`, which holds [`MARKER`], then `poweroff.c32`: an image has booted when the
//! marker is on the serial console and qemu then powered off by itself. The marker is in
//! no other file, so it reaches the console only if the loader, its modules and the
//! marker were all read from the image's ISO 9660 tree. (`SAY` in the config would be
//! simpler, but ISOLINUX 6.04 prints it on the VGA console only, never on the serial one.)

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::p;
use crate::support::{
    describe, have_all, have_package_files, jigsmith, read, temp_dir, tool, write, Run,
};
use crate::tree::{Tree, TreeBuilder};
use crate::xorriso_report::{normalise, REPORT_ARGS};

pub(crate) const QEMU: &str = "qemu-system-x86_64";
const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
pub(crate) const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
/// syslinux-common's BIOS COM32 modules.
const MODULE_DIR: &str = "/usr/lib/syslinux/modules/bios";
const MODULES: [&str; 5] = [
    "ldlinux.c32",
    "libcom32.c32",
    "libutil.c32",
    "cat.c32",
    "poweroff.c32",
];

/// What `marker.txt` holds and a booted image prints on the serial console.
const MARKER: &str = "jigsmith-boot-marker: ISOLINUX read /isolinux/marker.txt";

/// `PROMPT 0` boots `DEFAULT` at once; when `cat.c32` returns to the `boot:` prompt, the
/// 0.1 s `TIMEOUT` runs `ONTIMEOUT`, which powers the machine off (qemu runs with
/// `-no-reboot`, and exits).
const ISOLINUX_CFG: &str = "\
SERIAL 0 115200
PROMPT 0
TIMEOUT 1
DEFAULT marker
ONTIMEOUT off
LABEL marker
  COM32 cat.c32
  APPEND marker.txt
LABEL off
  COM32 poweroff.c32
";

/// A booting image takes well under a second under TCG; a run still going after this is
/// killed (and has failed).
const DEADLINE: Duration = Duration::from_secs(30);

/// debian-cd's BIOS boot options for ISOLINUX.
pub(crate) const ISOLINUX_BOOT: [&str; 8] = [
    "-b",
    "isolinux/isolinux.bin",
    "-c",
    "isolinux/boot.cat",
    "-no-emul-boot",
    "-boot-load-size",
    "4",
    "-boot-info-table",
];

/// debian-cd's UEFI El Torito entry and isohybrid GPT. The EFI image here is random
/// bytes: only BIOS boots are tried, so only its place in the catalog and tables counts.
const EFI_GPT: [&str; 5] = [
    "-eltorito-alt-boot",
    "-e",
    "boot/grub/efi.img",
    "-no-emul-boot",
    "-isohybrid-gpt-basdat",
];

/// The rest of debian-cd's hybrid set (the Apple Partition Map entry for the EFI image),
/// plus a partition offset as used by images that must be mountable from partition 1.
const APM_OFFSET: [&str; 8] = [
    "-eltorito-alt-boot",
    "-e",
    "boot/grub/efi.img",
    "-no-emul-boot",
    "-isohybrid-gpt-basdat",
    "-isohybrid-apm-hfsplus",
    "-partition_offset",
    "16",
];

/// Whether xorriso, ISOLINUX and syslinux's modules are installed (and, with `qemu`,
/// qemu); prints a skip line for each one that is not.
pub(crate) fn have_boot_tools(qemu: bool) -> bool {
    let modules: Vec<String> = MODULES
        .iter()
        .map(|m| format!("{MODULE_DIR}/{m}"))
        .collect();
    let modules: Vec<&str> = modules.iter().map(String::as_str).collect();
    let tools = if qemu {
        &["xorriso", QEMU][..]
    } else {
        &["xorriso"]
    };
    // `&`, not `&&`: every missing piece gets its skip line
    have_all(tools)
        & have_package_files("isolinux", &[ISOLINUX_BIN, ISOHDPFX])
        & have_package_files("syslinux-common", &modules)
}

/// ISOLINUX, its modules, config and marker in `isolinux/`, next to a stand-in EFI image
/// and a package-sized file.
pub(crate) fn boot_tree(seed: u64) -> Tree {
    let tree = TreeBuilder::new(seed)
        .file("boot/grub/efi.img", 64 * 1024)
        .file("pool/main/h/hello/hello_1.0_all.deb", 300_000)
        .build();
    let dir = tree.path("isolinux");
    write(&dir.join("isolinux.bin"), read(Path::new(ISOLINUX_BIN)));
    for module in MODULES {
        let from = Path::new(MODULE_DIR).join(module);
        write(&dir.join(module), read(&from));
    }
    write(&dir.join("isolinux.cfg"), ISOLINUX_CFG);
    write(&dir.join("marker.txt"), format!("{MARKER}\n"));
    tree
}

/// Our image and xorriso's of one tree with the same options.
struct Images {
    _dir: tempfile::TempDir,
    ours: PathBuf,
    xorriso: PathBuf,
}

/// `PROGRAM -r -J -joliet-long -V JIGSMITH_BOOT -isohybrid-mbr isohdpfx.bin <ISOLINUX
/// boot options> [extra] -o ISO TREE`.
fn mkisofs(mut cmd: Command, extra: &[&str], tree: &Tree, iso: &Path) -> Command {
    cmd.args(["-r", "-J", "-joliet-long", "-V", "JIGSMITH_BOOT"])
        .args(["-isohybrid-mbr", ISOHDPFX])
        .args(ISOLINUX_BOOT)
        .args(extra)
        .arg("-o")
        .arg(iso)
        .arg(&tree.root);
    cmd
}

fn images(tree: &Tree, extra: &[&str]) -> Images {
    let dir = temp_dir();
    let (ours, xorriso) = (dir.path().join("ours.iso"), dir.path().join("xorriso.iso"));
    mkisofs(jigsmith(["mkisofs"]), extra, tree, &ours).ok();
    mkisofs(tool("xorriso", ["-as", "mkisofs"]), extra, tree, &xorriso).ok();
    Images {
        _dir: dir,
        ours,
        xorriso,
    }
}

/// How qemu sees the image: its only boot device, either way.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Medium {
    Cd,
    HardDisk,
}

impl Medium {
    fn qemu_args(self, image: &Path) -> [String; 4] {
        // qemu option values escape a comma by doubling it
        let file = p(image).replace(',', ",,");
        let (drive, order) = match self {
            Medium::Cd => ("media=cdrom,readonly=on", 'd'),
            // snapshot: the guest never writes to the image
            Medium::HardDisk => ("media=disk,snapshot=on", 'c'),
        };
        [
            "-drive".into(),
            format!("file={file},format=raw,if=ide,{drive}"),
            "-boot".into(),
            // no fallback to other devices; a failed boot "reboots" at once, which
            // `-no-reboot` turns into an exit, so failing runs end as fast as good ones
            format!("order={order},strict=on,reboot-timeout=0"),
        ]
    }
}

/// What one qemu run showed.
pub(crate) struct Boot {
    command: String,
    /// Exit status, or `None` when qemu was killed at the deadline.
    exit: Option<ExitStatus>,
    elapsed: Duration,
    serial: String,
    stderr: String,
}

impl Boot {
    fn reached_marker(&self) -> bool {
        self.serial.contains(MARKER)
    }

    /// Marker on the console, then a clean exit by `poweroff.c32` before the deadline.
    pub(crate) fn booted(&self) -> bool {
        self.reached_marker() && self.powered_off()
    }

    /// Whether `text` reached the serial console.
    pub(crate) fn printed(&self, text: &str) -> bool {
        self.serial.contains(text)
    }

    /// Whether qemu exited with status 0 before the deadline: the guest powered off.
    pub(crate) fn powered_off(&self) -> bool {
        self.exit.is_some_and(|s| s.success())
    }
}

impl fmt::Display for Boot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exit = match self.exit {
            Some(status) => status.to_string(),
            None => format!("killed after {DEADLINE:?}"),
        };
        write!(
            f,
            "command: {}\nexit: {exit} after {:.2?}\nserial console:\n{}\nqemu stderr:\n{}",
            self.command, self.elapsed, self.serial, self.stderr
        )
    }
}

/// Boots `image` from `medium` in qemu (TCG) and waits for qemu to exit, killing it at
/// the deadline.
pub(crate) fn boot(image: &Path, medium: Medium) -> Boot {
    let dir = temp_dir();
    let (serial, stderr) = (dir.path().join("serial.log"), dir.path().join("stderr"));
    let mut cmd = tool(QEMU, ["-accel", "tcg", "-m", "128", "-no-reboot"]);
    cmd.args(["-display", "none", "-monitor", "none", "-parallel", "none"])
        .args(["-nic", "none"])
        .arg("-serial")
        .arg(format!("file:{}", p(&serial)))
        .args(medium.qemu_args(image));
    let stderr_file =
        File::create(&stderr).unwrap_or_else(|e| panic!("create {}: {e}", stderr.display()));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file);
    let command = describe(&cmd);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < DEADLINE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            // past the deadline, or qemu can no longer be waited for: never leave it behind
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = |path: &Path| {
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).replace('\r', "")
    };
    Boot {
        command,
        exit,
        elapsed: started.elapsed(),
        serial: text(&serial),
        stderr: text(&stderr),
    }
}

/// Asserts our image boots from `medium`. When it does not, xorriso's image of the same
/// tree is booted the same way, to tell a writer bug from a broken qemu or ISOLINUX.
fn assert_boots(images: &Images, medium: Medium) {
    let ours = boot(&images.ours, medium);
    if !ours.booted() {
        let reference = boot(&images.xorriso, medium);
        let verdict = if reference.booted() {
            "boots"
        } else {
            "does not boot either (qemu or ISOLINUX problem?)"
        };
        panic!(
            "jigsmith's image did not boot as {medium:?}\n{ours}\n\n\
             xorriso's image of the same tree {verdict}:\n{reference}"
        );
    }
}

/// A copy of `image` (in `dir`) with `len` bytes from `offset` zeroed, after checking
/// they start with `expected` (so the control damages what it means to).
fn damaged(image: &Path, dir: &Path, offset: usize, len: usize, expected: &[u8]) -> PathBuf {
    let mut bytes = read(image);
    let range = offset..offset + len;
    let region = bytes
        .get_mut(range.clone())
        .unwrap_or_else(|| panic!("{} has no bytes {range:?}", image.display()));
    assert!(
        region.starts_with(expected),
        "bytes {range:?} of {} do not start with {expected:?}",
        image.display()
    );
    region.fill(0);
    let copy = dir.join(format!("zeroed-{offset}-{len}.iso"));
    write(&copy, bytes);
    copy
}

/// Asserts a broken image does not reach the marker.
fn assert_does_not_boot(image: &Path, medium: Medium, what: &str) {
    let run = boot(image, medium);
    assert!(
        !run.reached_marker(),
        "{what}: booted as {medium:?}, so the boot tests prove nothing\n{run}"
    );
}

/// ISOLINUX with the isohybrid MBR boots as a CD and as a hard disk. Controls: the same
/// image with its MBR zeroed does not boot as a hard disk, nor with its El Torito boot
/// record (sector 17) zeroed as a CD, so the marker can only come from the boot path
/// under test.
#[test]
fn isolinux_image_boots_as_cd_and_as_hard_disk() {
    if !have_boot_tools(true) {
        return;
    }
    let tree = boot_tree(801);
    let images = images(&tree, &[]);
    assert_boots(&images, Medium::Cd);
    assert_boots(&images, Medium::HardDisk);

    let dir = temp_dir();
    let mbr_code = read(Path::new(ISOHDPFX));
    let mbr_code = mbr_code.get(..432).unwrap_or_default();
    let no_mbr = damaged(&images.ours, dir.path(), 0, 512, mbr_code);
    assert_does_not_boot(&no_mbr, Medium::HardDisk, "image without its MBR");
    let no_el_torito = damaged(
        &images.ours,
        dir.path(),
        17 * 2048,
        2048,
        b"\0CD001\x01EL TORITO SPECIFICATION",
    );
    assert_does_not_boot(&no_el_torito, Medium::Cd, "image without El Torito");
}

/// debian-cd's layout (ISOLINUX, a UEFI El Torito entry, isohybrid MBR and GPT) still
/// boots ISOLINUX as a CD and as a hard disk.
#[test]
fn isolinux_with_efi_and_gpt_boots_as_cd_and_as_hard_disk() {
    if !have_boot_tools(true) {
        return;
    }
    let tree = boot_tree(802);
    let images = images(&tree, &EFI_GPT);
    assert_boots(&images, Medium::Cd);
    assert_boots(&images, Medium::HardDisk);
}

/// With the Apple Partition Map and the ISO tree again at partition 1 (block 16), the
/// image still boots ISOLINUX both ways.
#[test]
fn isolinux_with_apm_and_partition_offset_boots_as_cd_and_as_hard_disk() {
    if !have_boot_tools(true) {
        return;
    }
    let tree = boot_tree(804);
    let images = images(&tree, &APM_OFFSET);
    assert_boots(&images, Medium::Cd);
    assert_boots(&images, Medium::HardDisk);
}

/// `xorriso -indev ISO -report_el_torito plain -report_system_area plain`, normalised.
fn report(iso: &Path) -> Vec<String> {
    let out = tool("xorriso", ["-indev"]).arg(iso).args(REPORT_ARGS).ok();
    normalise(&String::from_utf8_lossy(&out.stdout))
}

/// For both layouts, xorriso reports the same El Torito catalog, boot images, MBR and GPT
/// for our image as for its own (addresses and random GUIDs aside).
#[test]
fn boot_catalog_and_partition_tables_like_xorriso() {
    if !have_boot_tools(false) {
        return;
    }
    let tree = boot_tree(803);
    for (extra, summary) in [
        (&[][..], "System area summary : MBR isohybrid cyl-align-on"),
        (
            &EFI_GPT,
            "System area summary : MBR isohybrid cyl-align-on GPT",
        ),
        (
            &APM_OFFSET,
            "System area summary : MBR isohybrid cyl-align-on GPT APM",
        ),
    ] {
        let images = images(&tree, extra);
        let ours = report(&images.ours);
        for line in [
            "El Torito img path : 1 /isolinux/isolinux.bin",
            "El Torito img opts : 1 boot-info-table isohybrid-suitable",
            summary,
        ] {
            assert!(
                ours.iter().any(|l| l == line),
                "{extra:?}: no {line:?} in\n{}",
                ours.join("\n")
            );
        }
        let theirs = report(&images.xorriso);
        assert_eq!(
            ours.join("\n"),
            theirs.join("\n"),
            "{extra:?}: xorriso's report of our image (left) and of its own (right)"
        );
    }
}
