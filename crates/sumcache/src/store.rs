//! The redb file: one table, file path → encoded [`FileSums`] with the
//! [`Stamp`] they were computed for.

use std::path::{Path, PathBuf};

use redb::{Database, ReadOnlyTable, TableDefinition, WriteTransaction};

use rayon::prelude::*;

use crate::{compute, Error, FileSums, Result, Stamp, Want};

/// Paths are stored as their raw bytes, so any file name round-trips.
const FILES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("files-v1");

/// An open checksum cache file.
#[derive(Debug)]
pub struct SumCache {
    db: Database,
    path: PathBuf,
}

impl SumCache {
    /// Opens the cache at `path`, creating it if missing.
    ///
    /// # Errors
    /// [`Error::Open`] if the file cannot be created, is not a cache, or is
    /// open in another process.
    pub fn open(path: &Path) -> Result<SumCache> {
        let db = Database::create(path).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let cache = SumCache {
            db,
            path: path.to_path_buf(),
        };
        // create the table once, so readers never see it missing (and an
        // existing cache is opened without a write)
        let txn = cache
            .db
            .begin_read()
            .map_err(|e| Error::store(&cache.path, e))?;
        if matches!(
            txn.open_table(FILES),
            Err(redb::TableError::TableDoesNotExist(_))
        ) {
            cache.writer()?.commit()?;
        }
        Ok(cache)
    }

    /// Where the cache lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A consistent view for many lookups.
    ///
    /// # Errors
    /// [`Error::Store`] if the database cannot be read.
    pub fn reader(&self) -> Result<CacheReader<'_>> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| Error::store(&self.path, e))?;
        let table = txn
            .open_table(FILES)
            .map_err(|e| Error::store(&self.path, e))?;
        Ok(CacheReader { cache: self, table })
    }

    /// A batch of updates, applied atomically by [`CacheWriter::commit`]
    /// (dropped without it, nothing changes).
    ///
    /// # Errors
    /// [`Error::Store`] if the database cannot be written.
    pub fn writer(&self) -> Result<CacheWriter<'_>> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(|e| Error::store(&self.path, e))?;
        // a crash can only lose this batch, never earlier ones, and durable
        // commits would fsync per batch for no extra safety
        txn.set_durability(redb::Durability::Eventual);
        txn.open_table(FILES)
            .map_err(|e| Error::store(&self.path, e))?;
        Ok(CacheWriter { cache: self, txn })
    }
}

impl SumCache {
    /// The wanted sums of every file, from the cache where its entry is
    /// still valid and by reading the file (on all cores) where not; what
    /// was read is stored in one commit. One result per file, in order: a
    /// file that cannot be read is an `Err` of its own, not of the batch.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::Damaged`] if the cache itself fails.
    pub fn refresh(&self, files: &[PathBuf], want: Want) -> Result<Vec<Result<(Stamp, FileSums)>>> {
        let reader = self.reader()?;
        let lookups = files
            .iter()
            .map(|path| reader.lookup(path, want))
            .collect::<Result<Vec<Lookup>>>()?;
        drop(reader);
        let results: Vec<(Result<(Stamp, FileSums)>, bool)> = files
            .par_iter()
            .zip(lookups)
            .map(|(path, lookup)| match lookup {
                Lookup::Done(r) => (r, false),
                Lookup::Miss(stamp, have) => (refill(path, stamp, have, want), true),
            })
            .collect();
        let mut fresh = results
            .iter()
            .zip(files)
            .filter_map(|((r, computed), path)| {
                Some((path, r.as_ref().ok().filter(|_| *computed)?))
            })
            .peekable();
        if fresh.peek().is_some() {
            let mut writer = self.writer()?;
            for (path, (stamp, sums)) in fresh {
                writer.put(path, *stamp, sums)?;
            }
            writer.commit()?;
        }
        Ok(results.into_iter().map(|(r, _)| r).collect())
    }
}

/// What the cache says of one file.
enum Lookup {
    /// Everything wanted is known (or the file cannot be read).
    Done(Result<(Stamp, FileSums)>),
    /// Some sums must come from reading the file as it is at `Stamp`; the
    /// ones cached for that version are kept.
    Miss(Stamp, FileSums),
}

/// Reads what `have` lacks; if the file changed since it was looked up,
/// everything wanted is read again, so no entry mixes two versions.
fn refill(path: &Path, stamp: Stamp, have: FileSums, want: Want) -> Result<(Stamp, FileSums)> {
    let (now, mut sums) = compute(path, want.missing_from(&have))?;
    if now != stamp {
        return compute(path, want);
    }
    sums.merge(&have);
    Ok((now, sums))
}

/// Lookups in one read transaction.
pub struct CacheReader<'c> {
    cache: &'c SumCache,
    table: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl CacheReader<'_> {
    /// What the cache has of `path` as it is now, against what is wanted.
    fn lookup(&self, path: &Path, want: Want) -> Result<Lookup> {
        let stamp = match std::fs::metadata(path) {
            Ok(m) => Stamp::of(&m),
            Err(source) => {
                return Ok(Lookup::Done(Err(Error::Read {
                    path: path.to_path_buf(),
                    source,
                })))
            }
        };
        let have = self.get(path, stamp)?.unwrap_or_default();
        Ok(if want.missing_from(&have).is_empty() {
            Lookup::Done(Ok((stamp, have)))
        } else {
            Lookup::Miss(stamp, have)
        })
    }

    /// The sums cached for `path`, if they were computed for this `stamp`.
    ///
    /// # Errors
    /// [`Error::Store`] if the database cannot be read, [`Error::Damaged`]
    /// if the entry is not one this version wrote.
    pub fn get(&self, path: &Path, stamp: Stamp) -> Result<Option<FileSums>> {
        let Some(entry) = self
            .table
            .get(key(path).as_ref())
            .map_err(|e| Error::store(&self.cache.path, e))?
        else {
            return Ok(None);
        };
        let (cached, sums) = FileSums::decode(entry.value()).ok_or_else(|| Error::Damaged {
            path: self.cache.path.clone(),
            file: path.to_path_buf(),
        })?;
        Ok((cached == stamp).then_some(sums))
    }
}

/// Updates in one write transaction.
pub struct CacheWriter<'c> {
    cache: &'c SumCache,
    txn: WriteTransaction,
}

impl CacheWriter<'_> {
    /// Records `sums` of `path` as it was at `stamp`, replacing older ones.
    ///
    /// # Errors
    /// [`Error::Store`] if the write fails.
    pub fn put(&mut self, path: &Path, stamp: Stamp, sums: &FileSums) -> Result<()> {
        let store = |e: redb::Error| Error::store(&self.cache.path, e);
        let mut table = self.txn.open_table(FILES).map_err(|e| store(e.into()))?;
        table
            .insert(key(path).as_ref(), sums.encode(stamp).as_slice())
            .map_err(|e| store(e.into()))?;
        Ok(())
    }

    /// Forgets `path`.
    ///
    /// # Errors
    /// [`Error::Store`] if the write fails.
    pub fn remove(&mut self, path: &Path) -> Result<()> {
        let store = |e: redb::Error| Error::store(&self.cache.path, e);
        let mut table = self.txn.open_table(FILES).map_err(|e| store(e.into()))?;
        table
            .remove(key(path).as_ref())
            .map_err(|e| store(e.into()))?;
        Ok(())
    }

    /// Applies the batch atomically.
    ///
    /// # Errors
    /// [`Error::Store`] if the commit fails (e.g. a full disk); the cache
    /// then keeps its previous state.
    pub fn commit(self) -> Result<()> {
        self.txn
            .commit()
            .map_err(|e| Error::store(&self.cache.path, e))
    }
}

#[cfg(unix)]
fn key(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn key(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Owned(path.to_string_lossy().into_owned().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Blocks, BLOCK_LEN};
    use jigsmith_checksum::{Algorithm, Hasher, Rsync64};

    fn sums(seed: u8) -> FileSums {
        FileSums {
            md5: Some(Hasher::digest(Algorithm::Md5, &[seed])),
            sha256: None,
            blocks: Some(Blocks {
                head: Rsync64::of(&[seed; BLOCK_LEN]),
                tail: Rsync64::of(&[seed; BLOCK_LEN]),
            }),
        }
    }

    #[test]
    fn stale_stamps_miss_and_entries_persist() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.db");
        let stamp = Stamp {
            size: 10,
            mtime_ns: 5,
        };
        {
            let cache = SumCache::open(&db).unwrap();
            let mut w = cache.writer().unwrap();
            w.put(Path::new("/m/a.deb"), stamp, &sums(1)).unwrap();
            w.commit().unwrap();
        }
        let cache = SumCache::open(&db).unwrap();
        let r = cache.reader().unwrap();
        assert_eq!(r.get(Path::new("/m/a.deb"), stamp).unwrap(), Some(sums(1)));
        let touched = Stamp {
            mtime_ns: 6,
            ..stamp
        };
        assert_eq!(r.get(Path::new("/m/a.deb"), touched).unwrap(), None);
        let grown = Stamp { size: 11, ..stamp };
        assert_eq!(r.get(Path::new("/m/a.deb"), grown).unwrap(), None);
        assert_eq!(r.get(Path::new("/m/b.deb"), stamp).unwrap(), None);
    }

    #[test]
    fn an_uncommitted_batch_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SumCache::open(&dir.path().join("c.db")).unwrap();
        let stamp = Stamp {
            size: 1,
            mtime_ns: 1,
        };
        let mut w = cache.writer().unwrap();
        w.put(Path::new("/x"), stamp, &sums(1)).unwrap();
        w.commit().unwrap();
        let mut w = cache.writer().unwrap();
        w.put(Path::new("/x"), stamp, &sums(2)).unwrap();
        w.put(Path::new("/y"), stamp, &sums(3)).unwrap();
        drop(w);
        let r = cache.reader().unwrap();
        assert_eq!(r.get(Path::new("/x"), stamp).unwrap(), Some(sums(1)));
        assert_eq!(r.get(Path::new("/y"), stamp).unwrap(), None);
    }

    #[test]
    fn refresh_reads_only_new_and_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SumCache::open(&dir.path().join("c.db")).unwrap();
        let files: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("f{i}"))).collect();
        for (i, f) in files.iter().enumerate() {
            std::fs::write(f, vec![i as u8; 3000 + i]).unwrap();
        }
        let want = Want {
            md5: true,
            sha256: false,
            blocks: true,
        };
        let first = cache.refresh(&files, want).unwrap();
        assert!(first.iter().all(Result::is_ok));
        // an entry whose file is unchanged is used as it is: poison one to see
        let (stamp, _) = first[1].as_ref().unwrap();
        let poisoned = FileSums {
            md5: Some(Hasher::digest(Algorithm::Md5, b"poison")),
            ..first[1].as_ref().unwrap().1
        };
        let mut w = cache.writer().unwrap();
        w.put(&files[1], *stamp, &poisoned).unwrap();
        w.commit().unwrap();
        // a changed file is read again
        std::fs::write(&files[2], b"changed, and shorter than a block").unwrap();
        std::fs::remove_file(&files[3]).unwrap();
        let second = cache.refresh(&files, want).unwrap();
        assert_eq!(second[0].as_ref().unwrap(), first[0].as_ref().unwrap());
        assert_eq!(second[1].as_ref().unwrap().1, poisoned);
        let (_, changed) = second[2].as_ref().unwrap();
        assert_eq!(
            changed.md5,
            Some(Hasher::digest(
                Algorithm::Md5,
                b"changed, and shorter than a block"
            ))
        );
        assert_eq!(changed.blocks, None);
        assert!(matches!(second[3], Err(Error::Read { .. })));
        // asking for more than is cached reads the file once more
        let more = Want {
            sha256: true,
            ..want
        };
        let third = cache.refresh(&files[..1], more).unwrap();
        assert_eq!(
            third[0].as_ref().unwrap().1.sha256,
            Some(Hasher::digest(Algorithm::Sha256, &[0u8; 3000]))
        );
    }

    #[test]
    fn a_file_that_is_not_a_cache_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("notes.txt");
        std::fs::write(&bogus, vec![b'x'; 8192]).unwrap();
        let err = SumCache::open(&bogus).unwrap_err();
        assert!(matches!(err, Error::Open { .. }), "{err:?}");
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
