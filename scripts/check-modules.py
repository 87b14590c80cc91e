#!/usr/bin/env python3
"""The library's module graph has no cycle (issue 14): every `crate::`, `super::` and `self::`
path outside comments and `#[cfg(test)] mod tests` is an edge from the file that writes it to
the file of the longest module prefix it names (a child naming its parent counts too).
Prints each cycle with its edges and exits 1 when there is one.

Usage: scripts/check-modules.py [SRC_DIR]   (default: src of this repository)
"""
import collections
import os
import re
import sys

src_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")

# Module path (tuple of names) -> file.
files = {}
for folder, _, names in os.walk(src_dir):
    for name in names:
        if name.endswith(".rs"):
            path = os.path.join(folder, name)
            module = os.path.relpath(path, src_dir)[:-3].split("/")
            if module[-1] in ("mod", "lib"):
                module = module[:-1]
            files[tuple(module)] = path


def code_of(path):
    text = open(path, encoding="utf-8").read()
    tests = text.find("#[cfg(test)]\nmod tests")
    if tests >= 0:
        text = text[:tests]
    return re.sub(r"//[^\n]*", "", text)


def target(module, segments):
    """The file a path names: its longest prefix that is a module of this crate."""
    if segments[0] == "crate":
        base, rest = [], segments[1:]
    elif segments[0] == "self":
        base, rest = list(module), segments[1:]
    else:
        base, rest = list(module), segments
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    for n in range(len(rest), -1, -1):
        candidate = tuple(base + rest[:n])
        if candidate in files:
            return candidate
    return None


edges = collections.defaultdict(set)
for module, path in files.items():
    code = code_of(path)
    named = [m.group(1).split("::") for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code)]
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)*)::\{([^}]*)\}", code):
        for item in re.split(r"[,\s]+", m.group(2)):
            item = item.split("::")[0].strip()
            if item and item != "self":
                named.append(m.group(1).split("::") + [item])
    for segments in named:
        to = target(module, segments)
        if to is not None and to != module:
            edges[module].add(to)

# Tarjan's strongly connected components: a component of more than one file is a cycle.
index, low, stack, on_stack, cycles = {}, {}, [], set(), []
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        component = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            component.append(w)
            if w == v:
                break
        if len(component) > 1:
            cycles.append(component)


for v in list(files):
    if v not in index:
        visit(v)

show = lambda m: "::".join(m) or "lib"
for component in cycles:
    print("check-modules: cycle:", ", ".join(show(m) for m in component))
    for m in component:
        print("   ", show(m), "->", ", ".join(sorted(show(t) for t in edges[m] if t in component)))
print(f"check-modules: {len(files)} modules, {sum(len(e) for e in edges.values())} edges, {len(cycles)} cycles")
sys.exit(1 if cycles else 0)
