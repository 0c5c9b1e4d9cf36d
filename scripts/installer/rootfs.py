"""File operations on the node's filesystem, confined to the host root (--root).

Every path the installer touches is a path ON THE NODE ("/etc/containerd/config.toml"). It is
resolved inside the root directory the way the node itself would resolve it: an absolute
symlink in the root (e.g. /host/etc/containerd -> /etc/containerd-real) points at a path under
the root, and ".." never climbs above it. The kernel does this with openat2(RESOLVE_IN_ROOT);
on kernels without openat2 (< 5.6) the same rules are applied component by component with
O_NOFOLLOW opens. The final component of a file the installer writes is never followed: a
symlink there is refused (see HostRoot.regular_file).

Writes are atomic: a temporary file in the target's directory, fsync, rename, fsync of the
directory. Every fd is O_CLOEXEC (Python's default).
"""
import ctypes
import errno
import hashlib
import os
import stat

SYS_OPENAT2 = 437          # the same number on every Linux architecture
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
MAX_SYMLINKS = 40


class RootError(Exception):
    """A path that cannot be used under the root (with the reason)."""


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _openat2(dirfd, path, flags):
    how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dirfd), path.encode(),
                       ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    return fd


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def split_node_path(path):
    if not path.startswith("/") or "\0" in path or "\n" in path:
        raise RootError(f"'{path}' must be an absolute path on the node")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return parts


class HostRoot:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise RootError(f"--root {root} is not a directory")
        self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        self.use_openat2 = os.environ.get("REAPER_INSTALLER_NO_OPENAT2") != "1"
        if self.use_openat2:
            try:
                os.close(_openat2(self.fd, ".", os.O_PATH | os.O_DIRECTORY))
            except OSError as e:
                if e.errno not in (errno.ENOSYS, errno.EPERM):
                    raise
                self.use_openat2 = False

    # ---- resolution ------------------------------------------------------------------------
    def show(self, path):
        """How a node path is named in messages: the path under the root as the installer sees it."""
        return path if self.root == "/" else self.root + path

    def _open_dir(self, parts):
        """An O_PATH fd of the directory named by parts (node path components), resolved in root."""
        if self.use_openat2:
            rel = "/".join(parts) or "."
            return _openat2(self.fd, rel, os.O_PATH | os.O_DIRECTORY)
        return self._walk(parts, want_dir=True)

    def _walk(self, parts, want_dir):
        """Userspace RESOLVE_IN_ROOT: per component, O_NOFOLLOW; symlinks re-resolved in root."""
        todo = list(parts)
        stack = [os.dup(self.fd)]
        links = 0
        try:
            while todo:
                name = todo.pop(0)
                if name == "..":
                    if len(stack) > 1:
                        os.close(stack.pop())
                    continue
                cur = stack[-1]
                try:
                    st = os.stat(name, dir_fd=cur, follow_symlinks=False)
                except FileNotFoundError:
                    raise
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name)
                    target = os.readlink(name, dir_fd=cur)
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                    todo = [p for p in target.split("/") if p not in ("", ".")] + todo
                    continue
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | (os.O_DIRECTORY if todo or want_dir else 0),
                             dir_fd=cur)
                stack.append(fd)
            top = stack.pop()
            return top
        finally:
            for fd in stack:
                os.close(fd)

    def _parent(self, path):
        parts = split_node_path(path)
        if not parts:
            raise RootError("the root directory itself is not a file")
        return self._open_dir(parts[:-1]), parts[-1]

    # ---- queries ---------------------------------------------------------------------------
    def lstat(self, path):
        """os.stat_result of the node path (final component not followed), or None."""
        try:
            dfd, name = self._parent(path)
        except FileNotFoundError:
            return None
        except NotADirectoryError as e:
            raise RootError(f"{self.show(path)}: a parent is not a directory") from e
        try:
            return os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        finally:
            os.close(dfd)

    def exists(self, path):
        return self.lstat(path) is not None

    def is_dir(self, path):
        try:
            os.close(self._open_dir(split_node_path(path)))
            return True
        except (FileNotFoundError, NotADirectoryError):
            return False

    def regular_file(self, path):
        """None if absent; the stat of a regular file; RootError for anything else."""
        st = self.lstat(path)
        if st is None:
            return None
        if stat.S_ISLNK(st.st_mode):
            raise RootError(f"{self.show(path)} is a symbolic link: pass its target instead")
        if not stat.S_ISREG(st.st_mode):
            raise RootError(f"{self.show(path)} is not a regular file")
        return st

    def read(self, path):
        """The bytes of a regular file, or None if it does not exist."""
        if self.regular_file(path) is None:
            return None
        dfd, name = self._parent(path)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
        finally:
            os.close(dfd)
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def sha256(self, path):
        data = self.read(path)
        return None if data is None else sha256_bytes(data)

    def resolved(self, path):
        """The installer-side path of the node path's directory, resolved in the root, + name.

        For handing a path to a program that runs outside the root's view (e.g. a unix socket
        for the CRI client): /proc/self/fd/N of the resolved parent keeps it inside the root.
        """
        dfd, name = self._parent(path)
        return dfd, f"/proc/self/fd/{dfd}/{name}"

    # ---- changes ---------------------------------------------------------------------------
    def makedirs(self, path, mode=0o755):
        """Creates the directory and missing parents; returns the node paths it created."""
        created = []
        parts = split_node_path(path)
        for i in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:i])
            if self.is_dir(sub):
                continue
            if self.exists(sub):
                raise RootError(f"{self.show(sub)} exists and is not a directory")
            dfd, name = self._parent(sub)
            try:
                os.mkdir(name, mode, dir_fd=dfd)
                os.chmod(name, mode, dir_fd=dfd)
            finally:
                os.close(dfd)
            created.append(sub)
        return created

    def write_atomic(self, path, data, mode=0o644, keep_from=None):
        """Replaces path by data: temp file in the same directory, fsync, rename, fsync dir.

        keep_from: a stat result whose mode and owner the new file gets (the file it replaces).
        """
        dfd, name = self._parent(path)
        tmp = f".{name}.install-node-tmp"
        try:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except FileNotFoundError:
                pass
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                if keep_from is not None:
                    os.fchown(fd, keep_from.st_uid, keep_from.st_gid)
                    os.fchmod(fd, stat.S_IMODE(keep_from.st_mode))
                else:
                    os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            self._fsync_dir(dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        finally:
            os.close(dfd)

    def rename(self, src, dst):
        sfd, sname = self._parent(src)
        try:
            dfd, dname = self._parent(dst)
            try:
                os.rename(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
                self._fsync_dir(dfd)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)

    def unlink(self, path):
        dfd, name = self._parent(path)
        try:
            os.unlink(name, dir_fd=dfd)
            self._fsync_dir(dfd)
        finally:
            os.close(dfd)

    def rmdir(self, path):
        """Removes an empty directory; False if it is not empty."""
        dfd, name = self._parent(path)
        try:
            os.rmdir(name, dir_fd=dfd)
            return True
        except OSError as e:
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return False
            raise
        finally:
            os.close(dfd)

    @staticmethod
    def _fsync_dir(dfd):
        # dfd may be an O_PATH fd (openat2): fsync needs a real one
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=dfd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
