;; memory.atomic.wait/notify: results, counts, timeouts, and unshared memories.

(module $Mem
  (memory (export "shared") 1 1 shared)
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
  (func (export "store64") (param i32 i64) (i64.atomic.store (local.get 0) (local.get 1))))
(register "mem" $Mem)

;; Not equal (1), timed out (2), nobody to notify (0).
(invoke $Mem "store64" (i32.const 8) (i64.const 0x1_0000_0000))
(assert_return (invoke $Mem "wait32" (i32.const 8) (i32.const 1) (i64.const -1)) (i32.const 1))
(assert_return (invoke $Mem "wait64" (i32.const 8) (i64.const 0) (i64.const -1)) (i32.const 1))
(assert_return (invoke $Mem "wait32" (i32.const 8) (i32.const 0) (i64.const 0)) (i32.const 2))
(assert_return (invoke $Mem "wait32" (i32.const 8) (i32.const 0) (i64.const 5_000_000)) (i32.const 2))
(assert_return (invoke $Mem "wait64" (i32.const 8) (i64.const 0x1_0000_0000) (i64.const 1_000_000)) (i32.const 2))
(assert_return (invoke $Mem "notify" (i32.const 8) (i32.const 10)) (i32.const 0))

;; Checks in the order of the rule: unaligned, then out of bounds.
(assert_trap (invoke $Mem "wait32" (i32.const 2) (i32.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke $Mem "wait64" (i32.const 4) (i64.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke $Mem "notify" (i32.const 65534) (i32.const 1)) "unaligned atomic")
(assert_trap (invoke $Mem "wait32" (i32.const 65536) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke $Mem "wait64" (i32.const 65536) (i64.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke $Mem "notify" (i32.const 65536) (i32.const 1)) "out of bounds memory access")

;; Three sleepers at one address. The waker notifies one at a time until all three
;; are woken: every notify counts exactly the sleepers it woke, and each sleeper
;; returns "ok" (0). A sleeper at another address is not woken by them.
(thread $S1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "run") (i32.const 0)))
(thread $S2 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "run") (i32.const 0)))
(thread $S3 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32) (memory.atomic.wait64 (i32.const 0) (i64.const 0) (i64.const -1))))
  (assert_return (invoke "run") (i32.const 0)))
(thread $Other (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    ;; Times out after 50 ms unless woken at its own address.
    (func (export "run") (result i32) (memory.atomic.wait32 (i32.const 16) (i32.const 0) (i64.const 50_000_000))))
  (assert_return (invoke "run") (i32.const 2)))

(thread $Waker (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (local $woken i32) (local $n i32) (local $max i32)
      (loop $more
        (local.set $n (memory.atomic.notify (i32.const 0) (i32.const 1)))
        ;; A notify of one wakes at most one.
        (local.set $max (select (local.get $n) (local.get $max) (i32.gt_u (local.get $n) (local.get $max))))
        (local.set $woken (i32.add (local.get $woken) (local.get $n)))
        (br_if $more (i32.lt_u (local.get $woken) (i32.const 3))))
      ;; Nobody is left.
      (i32.add (local.get $max) (memory.atomic.notify (i32.const 0) (i32.const -1)))))
  (assert_return (invoke "run") (i32.const 1)))

(wait $Waker)
(wait $S1)
(wait $S2)
(wait $S3)
(wait $Other)

;; A wait on an unshared memory traps; a notify there wakes nobody.
(module
  (memory 1 1)
  (func (export "wait32") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))
  (func (export "wait64") (result i32) (memory.atomic.wait64 (i32.const 0) (i64.const 0) (i64.const 0)))
  (func (export "notify") (result i32) (memory.atomic.notify (i32.const 0) (i32.const 1))))
(assert_trap (invoke "wait32") "expected shared memory")
(assert_trap (invoke "wait64") "expected shared memory")
(assert_return (invoke "notify") (i32.const 0))
