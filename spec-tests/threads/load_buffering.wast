;; Load buffering: each thread loads the other's location, then stores its own. With
;; atomics both loads cannot see the other thread's later store; plain accesses may.

(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.store (i32.const 100) (i32.atomic.load (i32.const 4)))
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (i32.store (i32.const 108) (i32.load (i32.const 20)))
      (i32.store (i32.const 16) (i32.const 1))))
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.store (i32.const 104) (i32.atomic.load (i32.const 0)))
      (i32.atomic.store (i32.const 4) (i32.const 1))
      (i32.store (i32.const 112) (i32.load (i32.const 16)))
      (i32.store (i32.const 20) (i32.const 1))))
  (invoke "run")
)

(wait $T0)
(wait $T1)

(module $Check
  (memory (import "mem" "shared") 1 1 shared)
  (func (export "atomic_ok") (result i32)
    (i32.eqz (i32.and (i32.load (i32.const 100)) (i32.load (i32.const 104)))))
  (func (export "plain") (result i32 i32)
    (i32.load (i32.const 108)) (i32.load (i32.const 112))))

(assert_return (invoke $Check "atomic_ok") (i32.const 1))
(assert_return (invoke $Check "plain")
  (either (i32.const 0) (i32.const 1)) (either (i32.const 0) (i32.const 1)))
