;; Message passing with wait/notify: the reader sleeps until the writer's notify (or
;; finds the flag set already, result 1 "not-equal"), then must see the data.

(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)

(thread $Reader (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (local $r i32)
      ;; Wait while the flag is 0; a wakeup without the flag (none should come) waits
      ;; again.
      (block $done
        (loop $again
          (local.set $r (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br_if $done (i32.atomic.load (i32.const 4)))
          (br $again)))
      (i32.store (i32.const 100) (local.get $r))
      (i32.atomic.load (i32.const 0))))
  (assert_return (invoke "run") (i32.const 42))
)

(thread $Writer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (i32.store (i32.const 0) (i32.const 42))
      (i32.atomic.store (i32.const 4) (i32.const 1))
      (memory.atomic.notify (i32.const 4) (i32.const 1))))
  ;; The reader may not be asleep yet: 0 or 1 woken.
  (assert_return (invoke "run") (either (i32.const 0) (i32.const 1)))
)

(wait $Reader)
(wait $Writer)

(module $Check
  (memory (import "mem" "shared") 1 1 shared)
  (func (export "wait_result") (result i32) (i32.load (i32.const 100))))
;; Woken by the notify (0) or the flag already set (1); never "timed-out" (2).
(assert_return (invoke $Check "wait_result") (either (i32.const 0) (i32.const 1)))
