//! Atomic file output: write to a temporary file beside the target, rename on commit.
//! A crash leaves at most a hidden temporary file, never a half-written file that looks complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The temporary path used while `path` is being written: `.NAME.tmp-PID` in the same directory.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The file a path names after following symlinks (up to 40, as the kernel does); a
/// dangling link names its missing target.
fn through_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// A buffered file that appears at its final path only when [`AtomicFile::commit`] succeeds.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    w: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file (and the parent directories). A symlink at `path` is
    /// written through (its target is replaced); a directory, FIFO, device or socket there
    /// is refused, before anything is written.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let target = through_links(path)?;
        let path = target.as_path();
        if let Ok(m) = std::fs::metadata(path) {
            let what = if m.is_dir() {
                Some("a directory")
            } else if !m.is_file() {
                Some("not a regular file (a FIFO, device or socket)")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} is {what}; refusing to replace it", path.display()),
                ));
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = temp_path(path);
        let f = File::create(&tmp)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            w: Some(BufWriter::with_capacity(1 << 16, f)),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(self) -> std::io::Result<()> {
        let to = self.path.clone();
        self.commit_to(&to)
    }

    /// Flushes, syncs and renames the temp file to `to`.
    fn commit_to(mut self, to: &Path) -> std::io::Result<()> {
        if let Some(mut w) = self.w.take() {
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        std::fs::rename(&self.tmp, to)
    }

    /// Where [`AtomicFile::commit_partial`] puts the file: the final path plus `.partial`.
    pub fn partial_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".partial");
        PathBuf::from(p)
    }

    /// Flushes, syncs and renames to [`AtomicFile::partial_path`], leaving whatever is at
    /// the final path untouched: the output of a run that failed. Returns that path.
    pub fn commit_partial(self) -> std::io::Result<PathBuf> {
        let to = self.partial_path();
        self.commit_to(&to)?;
        Ok(to)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.w {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.w {
            Some(w) => w.write_all(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.w {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.w.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_on_commit_and_uncommitted_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.jsonl");
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"x\n").unwrap();
        assert!(!p.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x\n");

        let q = dir.path().join("other.jsonl");
        let mut g = AtomicFile::create(&q).unwrap();
        g.write_all(b"partial").unwrap();
        drop(g);
        assert!(!q.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(
            leftovers.len(),
            1,
            "only sub/ remains: no temp file, no other.jsonl"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_and_a_directory_or_device_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.jsonl");
        std::fs::write(&real, b"old\n").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink("real.jsonl", &link).unwrap();
        let mut f = AtomicFile::create(&link).unwrap();
        f.write_all(b"new\n").unwrap();
        f.commit().unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new\n");
        let e = AtomicFile::create(dir.path()).err().unwrap();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = AtomicFile::create(&fifo).err().unwrap();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
