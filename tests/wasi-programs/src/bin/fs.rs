//! Files and directories beneath the preopen `/sandbox`: every fd_* and path_* family.
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, UNIX_EPOCH};
use wasi_programs::*;

const D: &str = "/sandbox";

fn path(rel: &str) -> String {
    format!("{D}/{rel}")
}

fn prestat() {
    let mut b = [0u32; 2];
    let e = unsafe { raw::fd_prestat_get(PREOPEN, p(b.as_mut_ptr())) };
    let mut name = vec![0u8; b[1] as usize];
    let e2 = unsafe { raw::fd_prestat_dir_name(PREOPEN, p(name.as_mut_ptr()), name.len() as i32) };
    check(
        "prestat",
        e == 0 && e2 == 0 && b[0] == 0 && name == D.as_bytes(),
        (e, e2, b),
    );
    let e = unsafe { raw::fd_prestat_get(1, p(b.as_mut_ptr())) };
    check("prestat of stdout is EBADF", e == 8, e);
    let e = unsafe { raw::fd_prestat_get(77, p(b.as_mut_ptr())) };
    check("prestat of closed fd is EBADF", e == 8, e);
    let (ft, _, base, inh) = fdstat(PREOPEN).unwrap();
    check(
        "preopen fdstat",
        ft == 3 && base != 0 && inh != 0,
        (ft, base, inh),
    );
}

fn files() {
    fs::write(path("a.txt"), b"hello world").unwrap();
    check(
        "read back",
        fs::read(path("a.txt")).unwrap() == b"hello world",
        (),
    );
    check(
        "metadata len",
        fs::metadata(path("a.txt")).unwrap().len() == 11,
        (),
    );
    check(
        "is_file",
        fs::metadata(path("a.txt")).unwrap().is_file(),
        (),
    );

    let mut f = File::open(path("a.txt")).unwrap();
    f.seek(SeekFrom::Start(6)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    check("seek+read", s == "world", &s);
    check("tell", f.stream_position().unwrap() == 11, ());
    f.seek(SeekFrom::End(-5)).unwrap();
    check("seek end", f.stream_position().unwrap() == 6, ());
    let mut pos = 0u64;
    let e = unsafe { raw::fd_tell(f.as_raw_fd(), p(&mut pos)) };
    check("fd_tell", e == 0 && pos == 6, (e, pos));
    let e = unsafe { raw::fd_seek(f.as_raw_fd(), -100, 1, p(&mut pos)) };
    check("seek before start is EINVAL", e == 28, e);
    check("write to read-only file fails", f.write(b"x").is_err(), ());
    let (ft, flags, base, _) = fdstat(f.as_raw_fd()).unwrap();
    check(
        "file fdstat",
        ft == 4 && flags == 0 && base & RIGHT_FD_READ as u64 != 0,
        (ft, flags, base),
    );

    // pread / pwrite leave the position alone.
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path("a.txt"))
        .unwrap();
    let data = *b"HELLO";
    let iov = [p(data.as_ptr()), 5];
    let mut n = 0i32;
    let e = unsafe { raw::fd_pwrite(f.as_raw_fd(), p(iov.as_ptr()), 1, 0, p(&mut n)) };
    check("pwrite", e == 0 && n == 5, (e, n));
    let mut buf = [0u8; 5];
    let iov = [p(buf.as_mut_ptr()), 5];
    let e = unsafe { raw::fd_pread(f.as_raw_fd(), p(iov.as_ptr()), 1, 6, p(&mut n)) };
    check("pread", e == 0 && n == 5 && &buf == b"world", (e, n, buf));
    check(
        "pread/pwrite keep position",
        (&f).stream_position().unwrap() == 0,
        (),
    );
    check(
        "after pwrite",
        fs::read(path("a.txt")).unwrap() == b"HELLO world",
        (),
    );
    let e = unsafe { raw::fd_pread(1, p(iov.as_ptr()), 1, 0, p(&mut n)) };
    check("pread on stdout is ESPIPE", e == 70, e);

    // Append, and fdstat flags.
    let mut f = OpenOptions::new().append(true).open(path("a.txt")).unwrap();
    f.write_all(b"!").unwrap();
    let (_, flags, _, _) = fdstat(f.as_raw_fd()).unwrap();
    check("append flag", flags & 1 == 1, flags);
    let e = unsafe { raw::fd_fdstat_set_flags(f.as_raw_fd(), 0) };
    let (_, flags, _, _) = fdstat(f.as_raw_fd()).unwrap();
    check("clear append", e == 0 && flags & 1 == 0, (e, flags));
    check(
        "appended",
        fs::read(path("a.txt")).unwrap() == b"HELLO world!",
        (),
    );
    f.sync_all().unwrap();
    f.sync_data().unwrap();
    println!("sync ok");

    // Rights can shrink but not grow.
    let e = unsafe { raw::fd_fdstat_set_rights(f.as_raw_fd(), 0, 0) };
    let e2 = unsafe { raw::fd_fdstat_set_rights(f.as_raw_fd(), ALL_RIGHTS, 0) };
    check("rights shrink only", e == 0 && e2 == 76, (e, e2));
    check("no rights, no write", f.write(b"x").is_err(), ());

    // Size.
    let f = OpenOptions::new().write(true).open(path("a.txt")).unwrap();
    f.set_len(5).unwrap();
    check(
        "set_len shrink",
        fs::read(path("a.txt")).unwrap() == b"HELLO",
        (),
    );
    f.set_len(8).unwrap();
    check(
        "set_len grow",
        fs::read(path("a.txt")).unwrap() == b"HELLO\0\0\0",
        (),
    );
    let e = unsafe { raw::fd_allocate(f.as_raw_fd(), 0, 100) };
    check(
        "fd_allocate",
        e == 0 && f.metadata().unwrap().len() == 100,
        e,
    );
    let e = unsafe { raw::fd_advise(f.as_raw_fd(), 0, 100, 1) };
    let e2 = unsafe { raw::fd_advise(f.as_raw_fd(), 0, 100, 9) };
    check("fd_advise", e == 0 && e2 == 28, (e, e2));

    // Times.
    let t = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    f.set_times(FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
    let m = fs::metadata(path("a.txt")).unwrap();
    check(
        "fd set_times",
        m.modified().unwrap() == t && m.accessed().unwrap() == t,
        m.modified(),
    );
    let name = "a.txt";
    let e = unsafe {
        raw::path_filestat_set_times(
            PREOPEN,
            1,
            p(name.as_ptr()),
            5,
            0,
            2_000_000_000_000_000_000,
            4,
        )
    };
    let m = fs::metadata(path("a.txt")).unwrap();
    let want = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    check(
        "path set_times",
        e == 0 && m.modified().unwrap() == want,
        (e, m.modified()),
    );
    let e = unsafe { raw::fd_filestat_set_times(f.as_raw_fd(), 0, 0, 1 | 2) };
    check("ATIM with ATIM_NOW is EINVAL", e == 28, e);

    // Create-exclusive and truncate.
    let e = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path("a.txt"))
        .unwrap_err();
    check(
        "create_new on existing",
        e.kind() == ErrorKind::AlreadyExists && errno(&e) == 20,
        &e,
    );
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path("a.txt"))
        .unwrap();
    check(
        "truncate",
        fs::metadata(path("a.txt")).unwrap().len() == 0,
        (),
    );
    let e = File::open(path("missing")).unwrap_err();
    check("missing is ENOENT", errno(&e) == 44, &e);
}

fn dirs() {
    fs::create_dir(path("d")).unwrap();
    fs::create_dir_all(path("d/e/f")).unwrap();
    let e = fs::create_dir(path("d")).unwrap_err();
    check("mkdir existing is EEXIST", errno(&e) == 20, &e);
    fs::write(path("d/x"), b"x").unwrap();
    let mut names: Vec<String> = fs::read_dir(path("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    check("read_dir", names == ["e", "x"], &names);
    let e = fs::remove_dir(path("d")).unwrap_err();
    check("rmdir non-empty is ENOTEMPTY", errno(&e) == 55, &e);
    let e = File::open(path("d/x/y")).unwrap_err();
    check("file as directory is ENOTDIR", errno(&e) == 54, &e);
    let e = fs::remove_file(path("d/e")).unwrap_err();
    check(
        "unlink a directory fails",
        errno(&e) == 31 || errno(&e) == 63,
        &e,
    );

    // A listing longer than one fd_readdir buffer.
    fs::create_dir(path("many")).unwrap();
    for i in 0..300 {
        fs::write(path(&format!("many/file-with-a-longish-name-{i:04}")), b"").unwrap();
    }
    let n = fs::read_dir(path("many")).unwrap().count();
    check("read_dir 300 entries", n == 300, n);
    // Raw fd_readdir with a tiny buffer still makes progress, and . and .. come first.
    let dir = open(PREOPEN, "d", true, O_DIRECTORY, ALL_RIGHTS, 0).unwrap();
    let mut cookie = 0i64;
    let mut seen = Vec::new();
    loop {
        let mut buf = [0u8; 64];
        let mut used = 0i32;
        let e = unsafe { raw::fd_readdir(dir, p(buf.as_mut_ptr()), 64, cookie, p(&mut used)) };
        assert_eq!(e, 0);
        if used < 24 {
            break;
        }
        let next = i64::from_le_bytes(buf[0..8].try_into().unwrap());
        let namlen = u32::from_le_bytes(buf[16..20].try_into().unwrap()) as usize;
        if 24 + namlen > used as usize {
            // A cut entry: a bigger buffer would be needed; names here are short.
            panic!("cut entry in a 64-byte buffer");
        }
        seen.push(String::from_utf8(buf[24..24 + namlen].to_vec()).unwrap());
        cookie = next;
    }
    seen.sort();
    check("fd_readdir cookies", seen == [".", "..", "e", "x"], &seen);
    let mut b = [0u8; 24];
    let e = unsafe { raw::fd_read(dir, p(b.as_mut_ptr()), 0, p(&mut 0i32)) };
    check("fd_read on a directory fails", e != 0, e);
    unsafe { raw::fd_close(dir) };

    // Rename, link, symlink, readlink, unlink, rmdir.
    fs::rename(path("d/x"), path("d/e/y")).unwrap();
    check(
        "rename",
        fs::read(path("d/e/y")).unwrap() == b"x" && fs::metadata(path("d/x")).is_err(),
        (),
    );
    fs::hard_link(path("d/e/y"), path("hard")).unwrap();
    let st = filestat("hard", false);
    check("hard link nlink", st[3] == 2, st);
    fs::remove_file(path("d/e/y")).unwrap();
    check(
        "hard link survives",
        fs::read(path("hard")).unwrap() == b"x",
        (),
    );

    let (target, link) = ("hard", "soft");
    let e = unsafe { raw::path_symlink(p(target.as_ptr()), 4, PREOPEN, p(link.as_ptr()), 4) };
    check("symlink", e == 0, e);
    check(
        "read_link",
        fs::read_link(path("soft")).unwrap().to_str() == Some("hard"),
        (),
    );
    check(
        "follow symlink",
        fs::read(path("soft")).unwrap() == b"x",
        (),
    );
    check(
        "symlink_metadata",
        fs::symlink_metadata(path("soft")).unwrap().is_symlink(),
        (),
    );
    check("nofollow filestat", filestat("soft", false)[2] == 7, ());
    check("follow filestat", filestat("soft", true)[2] == 4, ());
    let mut buf = [0u8; 2];
    let mut used = 0i32;
    let e = unsafe {
        raw::path_readlink(
            PREOPEN,
            p(link.as_ptr()),
            4,
            p(buf.as_mut_ptr()),
            2,
            p(&mut used),
        )
    };
    check(
        "readlink short buffer truncates",
        e == 0 && used == 2 && &buf == b"ha",
        (e, used),
    );
    let e = open(PREOPEN, "soft", false, 0, ALL_RIGHTS, 0).unwrap_err();
    check("open nofollow on symlink is ELOOP", e == 32, e);
    let e = open(PREOPEN, "hard", true, O_DIRECTORY, ALL_RIGHTS, 0).unwrap_err();
    check("O_DIRECTORY on a file is ENOTDIR", e == 54, e);
    let e = open(PREOPEN, "hard", true, O_CREAT | O_EXCL, ALL_RIGHTS, 0).unwrap_err();
    check("O_CREAT|O_EXCL on existing is EEXIST", e == 20, e);
    let fd = open(PREOPEN, "fresh", true, O_CREAT | O_TRUNC, ALL_RIGHTS, 0).unwrap();
    unsafe { raw::fd_close(fd) };
    check("O_CREAT creates", fs::metadata(path("fresh")).is_ok(), ());

    // Hard link to a directory is refused by the host; the errno comes through.
    let (from, to) = ("d", "dlink");
    let e = unsafe { raw::path_link(PREOPEN, 0, p(from.as_ptr()), 1, PREOPEN, p(to.as_ptr()), 5) };
    check("hard link to dir refused", e == 63 || e == 2, e);

    fs::remove_file(path("soft")).unwrap();
    check(
        "unlink symlink keeps target",
        fs::read(path("hard")).unwrap() == b"x",
        (),
    );
    fs::remove_dir(path("d/e/f")).unwrap();
    fs::remove_dir_all(path("d")).unwrap();
    check("remove_dir_all", fs::metadata(path("d")).is_err(), ());
    let e = unsafe { raw::path_remove_directory(PREOPEN, p("hard".as_ptr()), 4) };
    check("rmdir on a file is ENOTDIR", e == 54, e);
}

fn filestat(rel: &str, follow: bool) -> [u64; 8] {
    let mut b = [0u8; 64];
    let e = unsafe {
        raw::path_filestat_get(
            PREOPEN,
            follow as i32,
            p(rel.as_ptr()),
            rel.len() as i32,
            p(b.as_mut_ptr()),
        )
    };
    assert_eq!(e, 0, "path_filestat_get {rel}");
    decode_filestat(&b)
}

fn renumber() {
    fs::write(path("r1"), b"one").unwrap();
    fs::write(path("r2"), b"two").unwrap();
    let a = open(PREOPEN, "r1", true, 0, ALL_RIGHTS, 0).unwrap();
    let b = open(PREOPEN, "r2", true, 0, ALL_RIGHTS, 0).unwrap();
    let e = unsafe { raw::fd_renumber(a, b) };
    check("renumber", e == 0 && read(b, 10).unwrap() == b"one", e);
    check(
        "renumbered fd is closed",
        unsafe { raw::fd_close(a) } == 8,
        (),
    );
    check(
        "renumber to a closed fd is EBADF",
        unsafe { raw::fd_renumber(b, 99) } == 8,
        (),
    );
    check("close", unsafe { raw::fd_close(b) } == 0, ());
    check(
        "double close is EBADF",
        unsafe { raw::fd_close(b) } == 8,
        (),
    );
    let mut st = [0u8; 64];
    let e = unsafe { raw::fd_filestat_get(b, p(st.as_mut_ptr())) };
    check("filestat of closed fd is EBADF", e == 8, e);
}

fn main() {
    prestat();
    files();
    dirs();
    renumber();
    fs::write(path("result.txt"), b"written by fs.wasm\n").unwrap();
    println!("done");
}
