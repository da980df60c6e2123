;; Eight threads add 1 to one word 100,000 times each, contended: the total is exact.
;; (A narrow add beside it wraps at 8 bits without touching its neighbours.)

(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(thread $T2 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(thread $T3 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(thread $T4 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(thread $T5 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(thread $T6 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(thread $T7 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (local $i i32)
      (loop $more
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (drop (i64.atomic.rmw8.add_u (i32.const 9) (i64.const 1)))
        (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))
  (invoke "run"))

(wait $T0)
(wait $T1)
(wait $T2)
(wait $T3)
(wait $T4)
(wait $T5)
(wait $T6)
(wait $T7)

(module $Check
  (memory (import "mem" "shared") 1 1 shared)
  (func (export "total") (result i32) (i32.atomic.load (i32.const 0)))
  ;; 800,000 mod 256 = 0; bytes 8 and 10 stay untouched.
  (func (export "narrow") (result i64) (i64.atomic.load (i32.const 8))))
(assert_return (invoke $Check "total") (i32.const 800000))
(assert_return (invoke $Check "narrow") (i64.const 0))
