;; Message passing: the writer stores the data, then the flag; the reader loads the
;; flag, then the data. With atomics (sequentially consistent), a reader that sees the
;; flag sees the data. With plain accesses any combination may show.

(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)

(thread $Writer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.atomic.store (i32.const 0) (i32.const 42))
      (i32.atomic.store (i32.const 4) (i32.const 1))
      ;; The same again, plain, for the reader's plain half.
      (i32.store (i32.const 16) (i32.const 42))
      (i32.store (i32.const 20) (i32.const 1))))
  (invoke "run")
)

(thread $Reader (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $flag i32) (local $data i32)
      (local.set $flag (i32.atomic.load (i32.const 4)))
      (local.set $data (i32.atomic.load (i32.const 0)))
      (i32.store (i32.const 100) (local.get $flag))
      (i32.store (i32.const 104) (local.get $data))
      (local.set $flag (i32.load (i32.const 20)))
      (local.set $data (i32.load (i32.const 16)))
      (i32.store (i32.const 108) (local.get $flag))
      (i32.store (i32.const 112) (local.get $data))))
  (invoke "run")
)

(wait $Writer)
(wait $Reader)

(module $Check
  (memory (import "mem" "shared") 1 1 shared)
  ;; 1 unless the reader saw the flag without the data.
  (func (export "atomic_ok") (result i32)
    (i32.or
      (i32.eqz (i32.load (i32.const 100)))
      (i32.eq (i32.load (i32.const 104)) (i32.const 42))))
  (func (export "plain_flag") (result i32) (i32.load (i32.const 108)))
  (func (export "plain_data") (result i32) (i32.load (i32.const 112)))
  (func (export "final") (result i32 i32)
    (i32.atomic.load (i32.const 0)) (i32.atomic.load (i32.const 4))))

(assert_return (invoke $Check "atomic_ok") (i32.const 1))
(assert_return (invoke $Check "plain_flag") (either (i32.const 0) (i32.const 1)))
(assert_return (invoke $Check "plain_data") (either (i32.const 0) (i32.const 42)))
(assert_return (invoke $Check "final") (i32.const 42) (i32.const 1))
