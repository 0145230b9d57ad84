//! One module per subcommand; `image_job` is what make-image and the
//! jigit-mkimage personality share.

pub mod docs;
pub mod get;
pub mod image_job;
pub mod inspect;
pub mod jigdo_file;
pub mod jigit_mkimage;
pub mod make_image;
pub mod make_template;
pub mod mkisofs;
pub mod mkjigsnap;
pub mod mount;
pub mod serve;
pub mod source_args;
pub mod sums;
pub mod verify;
