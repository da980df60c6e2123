# A CPython workload for benches/tiered.sh: JSON, regular expressions, recursion.
import json, re
def fib(n):
    return n if n < 2 else fib(n-1) + fib(n-2)
data = [{"id": i, "name": "item%d" % i, "tags": ["a", "b", str(i % 7)]} for i in range(20000)]
s = json.dumps(data)
back = json.loads(s)
words = re.findall(r"item\d+", s)
total = sum(len(w) for w in words)
print(fib(24), len(back), total)
