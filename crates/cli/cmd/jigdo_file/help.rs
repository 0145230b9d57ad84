//! `-h` / `-H` text: jigdo-file's commands and options as jigsmith takes them.

pub const SHORT: &str = "\
Usage: jigdo-file COMMAND [OPTIONS] [FILES...]   (jigsmith's jigdo-file)
Commands:
  make-template mt   Create .template and .jigdo from an image and files
  make-image mi      Recreate the image from .template and files (in several
                     steps through `IMG.tmp' if files are still missing)
  print-missing pm   Print the URI of each file the image still needs
  print-missing-all pma  Print all URIs of each missing file
  scan sc            Enter files into the --cache file
  verify ver         Check the image against the checksum in the template
  md5sum md5         MD5 checksums in jigdo's Base64 form (like md5sum)
  sha256sum sha256   SHA-256 checksums in jigdo's Base64 form
  list-template ls   List the contents of a template or .tmp file

Important options:
  -i --image=FILE  -j --jigdo=FILE  -t --template=FILE
  -T --files-from=FILE      Read further file names from FILE (`-': stdin)
  -r --report=default|noprogress|quiet|grep
  -f --force                Overwrite existing output files
     --label Label=/path    [make-template] `/path//a/file' becomes `Label:a/file'
     --uri Label=URI        [make-template] server of a label (default file:)
                            [print-missing] override the .jigdo's servers
  -0 .. -9, --bzip2, --gzip [make-template] template compression
  -c --cache=FILE, --no-cache
  -h --help, -H --help-all, -v --version
";

pub const SHORT_ALL: &str = SHORT;

pub const MORE: &str = "
Further options:
  --merge=FILE              [make-template] Add FILE's contents to the .jigdo
  --min-length=BYTES        [make-template] Smallest file looked for (1024)
  -C --checksum-algorithm=md5|sha256   [make-template]
  --check-files, --no-check-files      [make-image] check files written
  --hex, --no-hex           [md5sum,sha256sum,list-template] hex checksums
  --image-section, --no-image-section, --servers-section,
  --no-servers-section      [make-template] sections of the .jigdo
Accepted and ignored: --cache-expiry, --checksum-block-size, --md5-block-size,
  --readbuffer, --debug, --no-debug, --greedy-matching, --no-greedy-matching,
  --scan-whole-file, --no-scan-whole-file.
";
