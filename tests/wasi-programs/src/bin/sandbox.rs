//! Tries every way out of the preopen `/sandbox` (fd 3). The host test lays out:
//!   sandbox/inside.txt, sandbox/sub/, sandbox/link_out -> ../outside/secret.txt,
//!   sandbox/link_abs -> <abs>/outside/secret.txt, sandbox/link_dir -> ../outside,
//!   outside/secret.txt ("SECRET").
//! Each attempt prints `NAME errno=N` (0 would mean it got through).
//! `sandbox swap N` opens `swap` N times while the host swaps where it points.
use wasi_programs::*;

fn path_call(name: &str, e: i32) {
    println!("{name} errno={e}");
}

fn try_open(name: &str, path: &str, follow: bool, oflags: i32) {
    match open(PREOPEN, path, follow, oflags, ALL_RIGHTS, 0) {
        Ok(fd) => {
            let data = read(fd, 64).unwrap_or_default();
            println!("{name} errno=0 read={:?}", String::from_utf8_lossy(&data));
            unsafe { raw::fd_close(fd) };
        }
        Err(e) => path_call(name, e),
    }
}

fn s(x: &str) -> (i32, i32) {
    (p(x.as_ptr()), x.len() as i32)
}

fn escapes() {
    try_open("dotdot", "../outside/secret.txt", true, 0);
    try_open("dotdot_deep", "sub/../../outside/secret.txt", true, 0);
    try_open("dotdot_dir", "..", true, O_DIRECTORY);
    try_open("absolute", "/etc/passwd", true, 0);
    try_open("absolute_outside", "/outside/secret.txt", true, 0);
    try_open("symlink_out", "link_out", true, 0);
    try_open("symlink_abs", "link_abs", true, 0);
    try_open("symlink_dir", "link_dir/secret.txt", true, 0);
    try_open("symlink_dir_nofollow", "link_dir/secret.txt", false, 0);
    try_open("create_outside", "../outside/created.txt", true, O_CREAT);
    try_open(
        "create_through_link",
        "link_dir/created2.txt",
        true,
        O_CREAT,
    );
    try_open("inside_ok", "sub/../inside.txt", true, 0);

    let (a, al) = s("../outside/newdir");
    path_call("mkdir_outside", unsafe {
        raw::path_create_directory(PREOPEN, a, al)
    });
    let (a, al) = s("../outside/secret.txt");
    path_call("unlink_outside", unsafe {
        raw::path_unlink_file(PREOPEN, a, al)
    });
    let (a, al) = s("../outside");
    path_call("rmdir_outside", unsafe {
        raw::path_remove_directory(PREOPEN, a, al)
    });
    let mut st = [0u8; 64];
    let (a, al) = s("../outside/secret.txt");
    path_call("stat_outside", unsafe {
        raw::path_filestat_get(PREOPEN, 1, a, al, p(st.as_mut_ptr()))
    });
    let (a, al) = s("link_out");
    path_call("stat_through_link", unsafe {
        raw::path_filestat_get(PREOPEN, 1, a, al, p(st.as_mut_ptr()))
    });
    let (a, al) = s("../outside/secret.txt");
    path_call("set_times_outside", unsafe {
        raw::path_filestat_set_times(PREOPEN, 1, a, al, 0, 0, 2 | 8)
    });
    let (a, al) = s("inside.txt");
    let (b, bl) = s("../outside/moved.txt");
    path_call("rename_out", unsafe {
        raw::path_rename(PREOPEN, a, al, PREOPEN, b, bl)
    });
    let (a, al) = s("../outside/secret.txt");
    let (b, bl) = s("stolen.txt");
    path_call("rename_in", unsafe {
        raw::path_rename(PREOPEN, a, al, PREOPEN, b, bl)
    });
    let (a, al) = s("inside.txt");
    let (b, bl) = s("../outside/linked.txt");
    path_call("link_out", unsafe {
        raw::path_link(PREOPEN, 0, a, al, PREOPEN, b, bl)
    });
    let (a, al) = s("../outside/secret.txt");
    let (b, bl) = s("hardlinked.txt");
    path_call("link_in", unsafe {
        raw::path_link(PREOPEN, 0, a, al, PREOPEN, b, bl)
    });
    let (a, al) = s("x");
    let (b, bl) = s("../outside/sym");
    path_call("symlink_placed_outside", unsafe {
        raw::path_symlink(a, al, PREOPEN, b, bl)
    });
    let (a, al) = s("/etc/passwd");
    let (b, bl) = s("abs_link");
    path_call("symlink_absolute_target", unsafe {
        raw::path_symlink(a, al, PREOPEN, b, bl)
    });
    let mut buf = [0u8; 256];
    let mut used = 0i32;
    let (a, al) = s("link_abs");
    path_call("readlink_absolute", unsafe {
        raw::path_readlink(PREOPEN, a, al, p(buf.as_mut_ptr()), 256, p(&mut used))
    });
    // A symlink the program makes itself that climbs out, then followed.
    let (a, al) = s("../outside/secret.txt");
    let (b, bl) = s("my_link");
    path_call("make_climbing_symlink", unsafe {
        raw::path_symlink(a, al, PREOPEN, b, bl)
    });
    try_open("follow_own_symlink", "my_link", true, 0);
    // A directory fd opened inside is itself a sandbox root: `..` from it is refused too.
    let sub = open(PREOPEN, "sub", true, O_DIRECTORY, ALL_RIGHTS, 0).unwrap();
    match open(sub, "../inside.txt", true, 0, ALL_RIGHTS, 0) {
        Ok(_) => path_call("dotdot_from_subdir_fd", 0),
        Err(e) => path_call("dotdot_from_subdir_fd", e),
    }
    // Through std and wasi-libc's own path handling.
    match std::fs::read_to_string("/sandbox/../outside/secret.txt") {
        Ok(s) => println!("std_dotdot errno=0 read={s:?}"),
        Err(e) => path_call("std_dotdot", errno(&e)),
    }
    match std::fs::read_to_string("/sandbox/link_out") {
        Ok(s) => println!("std_symlink errno=0 read={s:?}"),
        Err(e) => path_call("std_symlink", errno(&e)),
    }
    println!("escapes done");
}

fn swap(n: usize) {
    let (mut inside, mut secret, mut errors) = (0, 0, 0);
    let mut errnos = std::collections::BTreeMap::new();
    for _ in 0..n {
        match open(PREOPEN, "swap", true, 0, ALL_RIGHTS, 0) {
            Ok(fd) => {
                let data = read(fd, 64).unwrap_or_default();
                if data.starts_with(b"SECRET") {
                    secret += 1;
                } else {
                    inside += 1;
                }
                unsafe { raw::fd_close(fd) };
            }
            Err(e) => {
                errors += 1;
                *errnos.entry(e).or_insert(0) += 1;
            }
        }
    }
    println!("swap inside={inside} secret={secret} errors={errors} errnos={errnos:?}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("swap") => swap(args[2].parse().unwrap()),
        _ => escapes(),
    }
}
