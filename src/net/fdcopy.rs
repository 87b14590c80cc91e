//! Moving bytes between a data connection and a file descriptor: splice(2) and sendfile(2)
//! on plain connections (no copy through user space), plain copies otherwise.

use super::data::DataConnection;
use std::io::{self, Read, Write};
use std::os::fd::RawFd;

/// Whole-file transfers move this much per system call.
pub(crate) const CHUNK: usize = 1 << 20;

pub(crate) fn is_local_fd_error(code: i32) -> bool {
    matches!(code, libc::EBADF | libc::ENOSPC | libc::EFBIG | libc::EDQUOT | libc::EROFS | libc::EISDIR)
}

pub(crate) fn opened_for_append(fd: RawFd) -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags >= 0 && flags & libc::O_APPEND != 0
}

/// The bytes left from `fd`'s position to its end, for a regular file.
pub(crate) fn local_remaining(fd: RawFd) -> Option<u64> {
    // SAFETY: fstat fills the struct we own; lseek(0, SEEK_CUR) only reads the position.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFREG {
            return None;
        }
        let pos = libc::lseek(fd, 0, libc::SEEK_CUR);
        (pos >= 0).then(|| (st.st_size as u64).saturating_sub(pos as u64))
    }
}

/// A kernel pipe: splice(2) moves socket data to a file through it without copies to user space.
pub(crate) struct Pipe {
    read: RawFd,
    write: RawFd,
}

impl Pipe {
    pub(crate) fn new() -> io::Result<Pipe> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // A bigger pipe means fewer system calls per megabyte; failure only costs speed.
        // SAFETY: fcntl on our own descriptor.
        unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, CHUNK as libc::c_int) };
        Ok(Pipe { read: fds[0], write: fds[1] })
    }

    /// Moves up to one chunk from `from` to `to`; 0 at the end of the data.
    pub(crate) fn splice_from(&mut self, from: RawFd, to: RawFd) -> io::Result<usize> {
        let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE;
        // SAFETY: splice between descriptors; no user memory.
        let n = unsafe { libc::splice(from, std::ptr::null_mut(), self.write, std::ptr::null_mut(), CHUNK, flags) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut left = n as usize;
        while left > 0 {
            // SAFETY: as above.
            let m = unsafe { libc::splice(self.read, std::ptr::null_mut(), to, std::ptr::null_mut(), left, flags) };
            match m {
                m if m > 0 => left -= m as usize,
                0 => return Err(io::Error::new(io::ErrorKind::WriteZero, "the local file took no data")),
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        // Data already read from the socket is lost: report it as a local error.
                        return Err(io::Error::new(io::ErrorKind::WriteZero, e));
                    }
                }
            }
        }
        Ok(n as usize)
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // SAFETY: closing the descriptors this pipe owns.
        unsafe {
            libc::close(self.read);
            libc::close(self.write);
        }
    }
}

pub(crate) fn write_all_fd(fd: RawFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: writing from a live slice.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(io::Error::new(io::ErrorKind::WriteZero, e));
        }
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "the local file took no data"));
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// One read from the data connection written to `fd` (TLS, or where splice does not apply).
pub(crate) fn copy_chunk(conn: &mut DataConnection, fd: RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.resize(256 * 1024, 0);
    let n = conn.read(buf)?;
    write_all_fd(fd, &buf[..n])?;
    Ok(n)
}

pub(crate) fn copy_from_fd(fd: RawFd, conn: &mut DataConnection, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.resize(256 * 1024, 0);
    // SAFETY: reading into a live buffer of its length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    conn.write_all(&buf[..n as usize])?;
    Ok(n as usize)
}

pub(crate) fn send_file(sock: RawFd, fd: RawFd) -> io::Result<usize> {
    // SAFETY: sendfile between descriptors, using and advancing fd's own position.
    let n = unsafe { libc::sendfile(sock, fd, std::ptr::null_mut(), CHUNK) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}
