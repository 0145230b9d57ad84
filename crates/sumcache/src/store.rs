//! The redb file: one table, file path → encoded [`FileSums`] with the
//! [`Stamp`] they were computed for.

use std::path::{Path, PathBuf};

use redb::{Database, ReadTransaction, TableDefinition, WriteTransaction};

use crate::{Error, FileSums, Result, Stamp};

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
        // create the table once, so readers never see it missing
        let w = cache.writer()?;
        w.commit()?;
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
        Ok(CacheReader { cache: self, txn })
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

/// Lookups in one read transaction.
pub struct CacheReader<'c> {
    cache: &'c SumCache,
    txn: ReadTransaction,
}

impl CacheReader<'_> {
    /// The sums cached for `path`, if they were computed for this `stamp`.
    ///
    /// # Errors
    /// [`Error::Store`] if the database cannot be read, [`Error::Damaged`]
    /// if the entry is not one this version wrote.
    pub fn get(&self, path: &Path, stamp: Stamp) -> Result<Option<FileSums>> {
        let store = |e: redb::TableError| Error::store(&self.cache.path, e);
        let table = self.txn.open_table(FILES).map_err(store)?;
        let Some(entry) = table
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
    fn a_file_that_is_not_a_cache_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("notes.txt");
        std::fs::write(&bogus, vec![b'x'; 8192]).unwrap();
        let err = SumCache::open(&bogus).unwrap_err();
        assert!(matches!(err, Error::Open { .. }), "{err:?}");
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
