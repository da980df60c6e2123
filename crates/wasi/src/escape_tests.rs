//! Property test of the sandbox through the WASI functions themselves (no wasm): random
//! sequences of path_* calls with random path strings, from the preopen and from
//! directories opened beneath it. Whatever succeeds, nothing outside the preopen is
//! ever opened, stat'ed, created, changed, moved or removed.

use crate::funcs::call;
use crate::memory::GuestMemory;
use crate::{test_ctx, WasiConfig, WasiCtx};
use proptest::prelude::*;
use rwamr_core::{Memory, MemoryType, Val};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const PATH_A: u32 = 1024;
const PATH_B: u32 = 4096;
const OUT: u32 = 16;
const STAT: u32 = 64;

#[derive(Debug, Clone)]
enum Op {
    Open {
        dir: usize,
        path: String,
        follow: bool,
        oflags: u8,
        write: bool,
    },
    Mkdir {
        dir: usize,
        path: String,
    },
    Rmdir {
        dir: usize,
        path: String,
    },
    Unlink {
        dir: usize,
        path: String,
    },
    Stat {
        dir: usize,
        path: String,
        follow: bool,
    },
    SetTimes {
        dir: usize,
        path: String,
        follow: bool,
    },
    Readlink {
        dir: usize,
        path: String,
    },
    Symlink {
        dir: usize,
        target: String,
        link: String,
    },
    Rename {
        dir: usize,
        from: String,
        to: String,
    },
    Link {
        dir: usize,
        from: String,
        to: String,
    },
}

fn path() -> impl Strategy<Value = String> {
    // Names that exist inside weigh more, so that many calls succeed and go on to
    // resolve further; the escaping ones are always among the choices.
    let comp = prop::sample::select(vec![
        "sub",
        "sub",
        "inside.txt",
        "inside.txt",
        "link_sub",
        "deep.txt",
        "deep.txt",
        "new",
        "new",
        "x",
        ".",
        "..",
        "link_up",
        "link_out",
        "link_abs",
        "link_loop",
        "outside",
        "secret.txt",
        "box",
        "",
    ]);
    prop_oneof![
        6 => prop::collection::vec(comp.clone(), 1..4).prop_map(|c| c.join("/")),
        1 => prop::collection::vec(comp, 1..6).prop_map(|c| format!("/{}", c.join("/"))),
        1 => "[./a-z]{0,16}",
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let dir = 0usize..4;
    prop_oneof![
        (
            dir.clone(),
            path(),
            any::<bool>(),
            prop::sample::select(vec![0u8, 0, 2, 2, 1, 1 | 4, 8, 1 | 8]),
            any::<bool>()
        )
            .prop_map(|(dir, path, follow, oflags, write)| Op::Open {
                dir,
                path,
                follow,
                oflags,
                write
            }),
        (dir.clone(), path()).prop_map(|(dir, path)| Op::Mkdir { dir, path }),
        (dir.clone(), path()).prop_map(|(dir, path)| Op::Rmdir { dir, path }),
        (dir.clone(), path()).prop_map(|(dir, path)| Op::Unlink { dir, path }),
        (dir.clone(), path(), any::<bool>()).prop_map(|(dir, path, follow)| Op::Stat {
            dir,
            path,
            follow
        }),
        (dir.clone(), path(), any::<bool>()).prop_map(|(dir, path, follow)| Op::SetTimes {
            dir,
            path,
            follow
        }),
        (dir.clone(), path()).prop_map(|(dir, path)| Op::Readlink { dir, path }),
        (dir.clone(), path(), path()).prop_map(|(dir, target, link)| Op::Symlink {
            dir,
            target,
            link
        }),
        (dir.clone(), path(), path()).prop_map(|(dir, from, to)| Op::Rename { dir, from, to }),
        (dir, path(), path()).prop_map(|(dir, from, to)| Op::Link { dir, from, to }),
    ]
}

struct World {
    root: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        use std::os::unix::fs::symlink;
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("box/sub")).unwrap();
        std::fs::create_dir_all(r.join("outside/x")).unwrap();
        std::fs::write(r.join("box/inside.txt"), "inside").unwrap();
        std::fs::write(r.join("box/sub/deep.txt"), "deep").unwrap();
        std::fs::write(r.join("outside/secret.txt"), "SECRET").unwrap();
        std::fs::write(r.join("sibling.txt"), "sibling").unwrap();
        symlink("../outside/secret.txt", r.join("box/link_out")).unwrap();
        symlink(r.join("outside"), r.join("box/link_abs")).unwrap();
        symlink("..", r.join("box/link_up")).unwrap();
        symlink("link_loop", r.join("box/link_loop")).unwrap();
        symlink("sub", r.join("box/link_sub")).unwrap();
        World { root }
    }

    fn boxed(&self) -> PathBuf {
        self.root.path().join("box")
    }

    /// (dev, ino) of everything beneath the preopen, the preopen included.
    fn inside_ids(&self) -> BTreeSet<(u64, u64)> {
        fn walk(p: &Path, out: &mut BTreeSet<(u64, u64)>) {
            let m = std::fs::symlink_metadata(p).unwrap();
            out.insert((m.dev(), m.ino()));
            if m.is_dir() {
                for e in std::fs::read_dir(p).unwrap() {
                    walk(&e.unwrap().path(), out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.boxed(), &mut out);
        out
    }

    /// Everything of the temp root outside the preopen, with contents and times.
    fn outside(&self) -> Vec<String> {
        fn walk(p: &Path, skip: &Path, out: &mut Vec<String>) {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for e in entries {
                if e == skip {
                    continue;
                }
                let m = std::fs::symlink_metadata(&e).unwrap();
                let what = if m.is_dir() {
                    "dir".to_string()
                } else if m.is_symlink() {
                    format!("link {:?}", std::fs::read_link(&e).unwrap())
                } else {
                    format!("file {:?}", std::fs::read(&e).unwrap())
                };
                out.push(format!(
                    "{} {what} {} {} {}",
                    e.display(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.nlink()
                ));
                if m.is_dir() {
                    walk(&e, skip, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root.path(), &self.boxed(), &mut out);
        out
    }
}

/// Runs `ops`; returns a description of the first escape found, if any.
fn run_ops(world: &World, ctx: &WasiCtx, mem: &GuestMemory<'_>, ops: &[Op]) -> Result<(), String> {
    let before = world.outside();
    let mut dirs: Vec<u32> = vec![3];
    let i32v = |v: u32| Val::I32(v as i32);
    let put = |at: u32, s: &str| {
        mem.write(at, s.as_bytes()).unwrap();
        (i32v(at), i32v(s.len() as u32))
    };
    for op in ops {
        let fd_of = |d: usize| i32v(dirs[d % dirs.len()]);
        let (name, args, opened, stat) = match op {
            Op::Open {
                dir,
                path,
                follow,
                oflags,
                write,
            } => {
                let (p, l) = put(PATH_A, path);
                let rights: u64 = if *write {
                    (1 << 30) - 1
                } else {
                    (1 << 1) | (1 << 14) | (1 << 13)
                };
                let args = vec![
                    fd_of(*dir),
                    i32v(*follow as u32),
                    p,
                    l,
                    i32v(u32::from(*oflags)),
                    Val::I64(rights as i64),
                    Val::I64(rights as i64),
                    i32v(0),
                    i32v(OUT),
                ];
                ("path_open", args, true, false)
            }
            Op::Mkdir { dir, path } => {
                let (p, l) = put(PATH_A, path);
                (
                    "path_create_directory",
                    vec![fd_of(*dir), p, l],
                    false,
                    false,
                )
            }
            Op::Rmdir { dir, path } => {
                let (p, l) = put(PATH_A, path);
                (
                    "path_remove_directory",
                    vec![fd_of(*dir), p, l],
                    false,
                    false,
                )
            }
            Op::Unlink { dir, path } => {
                let (p, l) = put(PATH_A, path);
                ("path_unlink_file", vec![fd_of(*dir), p, l], false, false)
            }
            Op::Stat { dir, path, follow } => {
                let (p, l) = put(PATH_A, path);
                (
                    "path_filestat_get",
                    vec![fd_of(*dir), i32v(*follow as u32), p, l, i32v(STAT)],
                    false,
                    true,
                )
            }
            Op::SetTimes { dir, path, follow } => {
                let (p, l) = put(PATH_A, path);
                let args = vec![
                    fd_of(*dir),
                    i32v(*follow as u32),
                    p,
                    l,
                    Val::I64(5),
                    Val::I64(5),
                    i32v(1 | 4),
                ];
                ("path_filestat_set_times", args, false, false)
            }
            Op::Readlink { dir, path } => {
                let (p, l) = put(PATH_A, path);
                (
                    "path_readlink",
                    vec![fd_of(*dir), p, l, i32v(STAT), i32v(256), i32v(OUT)],
                    false,
                    false,
                )
            }
            Op::Symlink { dir, target, link } => {
                let (t, tl) = put(PATH_A, target);
                let (p, l) = put(PATH_B, link);
                ("path_symlink", vec![t, tl, fd_of(*dir), p, l], false, false)
            }
            Op::Rename { dir, from, to } => {
                let (f, fl) = put(PATH_A, from);
                let (t, tl) = put(PATH_B, to);
                (
                    "path_rename",
                    vec![fd_of(*dir), f, fl, fd_of(dir + 1), t, tl],
                    false,
                    false,
                )
            }
            Op::Link { dir, from, to } => {
                let (f, fl) = put(PATH_A, from);
                let (t, tl) = put(PATH_B, to);
                (
                    "path_link",
                    vec![fd_of(*dir), i32v(0), f, fl, fd_of(dir + 1), t, tl],
                    false,
                    false,
                )
            }
        };
        let errno = call(ctx, mem, name, &args);
        if errno == 0 && opened {
            let fd = mem.u32(OUT).unwrap();
            let e = ctx.fds.get(fd).unwrap();
            let m = match &e.kind {
                crate::fd::Kind::File(f) => f.metadata().unwrap(),
                crate::fd::Kind::Dir(d) => {
                    dirs.push(fd);
                    d.dir.dir_metadata().unwrap()
                }
                crate::fd::Kind::Stream(_) => return Err(format!("{op:?} opened a stream")),
            };
            use cap_std::fs::MetadataExt as _;
            if !world.inside_ids().contains(&(m.dev(), m.ino())) {
                return Err(format!("{op:?} opened something outside the preopen"));
            }
        }
        if errno == 0 && stat {
            let (dev, ino) = (
                mem.load::<u64>(u64::from(STAT)).unwrap(),
                mem.load::<u64>(u64::from(STAT) + 8).unwrap(),
            );
            if !world.inside_ids().contains(&(dev, ino)) {
                return Err(format!("{op:?} stat'ed something outside the preopen"));
            }
        }
        if world.outside() != before {
            return Err(format!(
                "{op:?} (errno {errno}) changed what lies outside the preopen"
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]
    #[test]
    fn random_paths_never_reach_outside_the_preopen(ops in prop::collection::vec(op(), 1..10)) {
        let world = World::new();
        let ctx = test_ctx(WasiConfig::new().preopen_dir(world.boxed(), "/box").unwrap());
        let memory = Memory::new(MemoryType::new(1, Some(1))).unwrap();
        let run = memory.with_view(|view| run_ops(&world, &ctx, &GuestMemory::from_view(view), &ops)).unwrap();
        if let Err(e) = run {
            prop_assert!(false, "{}", e);
        }
    }
}

#[test]
fn the_property_can_fail() {
    // Sanity check of the checker itself: a directory fd opened outside the sandbox
    // (by the host, as no guest call can) is caught.
    let world = World::new();
    let ctx = test_ctx(
        WasiConfig::new()
            .preopen_dir(world.root.path().join("outside"), "/o")
            .unwrap(),
    );
    let memory = Memory::new(MemoryType::new(1, Some(1))).unwrap();
    let op = Op::Open {
        dir: 0,
        path: "secret.txt".into(),
        follow: true,
        oflags: 0,
        write: false,
    };
    let run = memory
        .with_view(|view| run_ops(&world, &ctx, &GuestMemory::from_view(view), &[op]))
        .unwrap();
    assert!(run.is_err());
}
