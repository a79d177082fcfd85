#!/usr/bin/env python3
"""Checks that the folders of Sources/MobileNet only reference folders below them.

The library is one SwiftPM target, so the compiler lets any file use any type. This check
keeps the folders layered (docs/architecture.md): a file may use what its own folder and
the folders below it declare, never what a folder above declares.

What counts as a reference, in code with comments and string literals removed (the code
inside a string interpolation stays):
- an identifier that names a top-level declaration (class, struct, enum, protocol,
  typealias, actor, func, let, var) of a folder above, unless the same name is also
  declared somewhere in the file's folder or below (a local, a member, a parameter);
- `.name` where `name` is a member that an `extension` in a folder above adds, and no
  folder at or below declares `name` at all.

With --typecheck the compiler confirms it: for each layer, the layer's files are
type-checked (`swiftc -frontend -typecheck`, as primary files) in one module with the
layers below it and without the files above, so no file can use anything declared above
its folder, whatever the text scan misses (an inferred type, a member an extension adds).
The check runs without the package trait MPI (its code in Distributed/ uses Core only).

Usage: check_layers.py [--typecheck] [ROOT]   ROOT defaults to Sources/MobileNet; exits 1
           listing file:line, the name and both folders for each reference that points up
           (and, with --typecheck, the compiler's errors of the first layer that fails).
       check_layers.py --graph [ROOT]   prints which folder uses which (with the names).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Lowest first. A folder may reference itself and the folders before it.
LAYERS = ["Core", "Layers", "Model", "Optim", "Data", "Checkpoint", "Distributed", "Training", "Export", "Report"]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
DECLARATION = re.compile(
    r"\b(class|struct|enum|protocol|typealias|actor|func|let|var|case|associatedtype)\s+([A-Za-z_][A-Za-z_0-9]*)")
EXTENSION = re.compile(r"\bextension\s+([A-Za-z_][A-Za-z_0-9.]*)")
# Parameter names, labels and closure parameters: conservative extra "declared here" names.
LABEL = re.compile(r"\b([A-Za-z_][A-Za-z_0-9]*)\s*:(?!:)")
CLOSURE_PARAMETERS = re.compile(r"\{[ \t]*\(?([A-Za-z_0-9, \t]{1,120}?)\)?[ \t]+in\b")
TYPE_KINDS = {"class", "struct", "enum", "protocol", "typealias", "actor", "func", "let", "var"}


def strip(source):
    """`source` with comments and string literal text replaced by spaces (newlines kept,
    so offsets and line numbers stay); the code of string interpolations is kept."""
    out = list(source)
    i, n = 0, len(source)
    # Stack of contexts: "code" or ("string", quote, pounds) or ("interp", depth).
    stack = ["code"]

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        top = stack[-1]
        c = source[i]
        if top == "code" or (isinstance(top, list) and top[0] == "interp"):
            if source.startswith("//", i):
                j = source.find("\n", i)
                j = n if j < 0 else j
                blank(i, j)
                i = j
            elif source.startswith("/*", i):
                depth, j = 1, i + 2
                while j < n and depth:
                    if source.startswith("/*", j):
                        depth, j = depth + 1, j + 2
                    elif source.startswith("*/", j):
                        depth, j = depth - 1, j + 2
                    else:
                        j += 1
                blank(i, j)
                i = j
            elif c == '"' or (c == "#" and re.match(r"#+\"", source[i:])):
                pounds = len(re.match(r"#*", source[i:]).group(0))
                j = i + pounds
                quote = '"""' if source.startswith('"""', j) else '"'
                blank(i, j + len(quote))
                stack.append(["string", quote, pounds])
                i = j + len(quote)
            elif isinstance(top, list) and c == "(":
                top[1] += 1
                i += 1
            elif isinstance(top, list) and c == ")":
                top[1] -= 1
                if top[1] == 0:
                    stack.pop()
                    out[i] = " "
                i += 1
            else:
                i += 1
        else:  # inside a string literal
            _, quote, pounds = top
            if c == "\\" and source.startswith("#" * pounds + "(", i + 1):
                blank(i, i + 2 + pounds)
                i += 2 + pounds
                stack.append(["interp", 1])
            elif c == "\\" and pounds == 0:
                blank(i, min(i + 2, n))
                i += 2
            elif source.startswith(quote + "#" * pounds, i):
                end = i + len(quote) + pounds
                blank(i, end)
                stack.pop()
                i = end
            else:
                if c != "\n":
                    out[i] = " "
                i += 1
    return "".join(out)


def depths(code):
    """Brace depth before each character of `code`."""
    result, depth = [], 0
    for c in code:
        result.append(depth)
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
    return result


class SwiftFile:
    def __init__(self, path, folder, text):
        self.path, self.folder = path, folder
        self.code = strip(text)
        self.depth = depths(self.code)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.code)]
        self.top_level = set()       # names other files can use directly
        self.extension_members = set()  # members an extension adds to some type
        self.declared = set()        # every name declared anywhere in the file
        for m in DECLARATION.finditer(self.code):
            kind, name = m.group(1), m.group(2)
            self.declared.add(name)
            if kind in TYPE_KINDS and self.depth[m.start()] == 0:
                self.top_level.add(name)
        for m in LABEL.finditer(self.code):
            self.declared.add(m.group(1))
        for m in CLOSURE_PARAMETERS.finditer(self.code):
            self.declared.update(IDENTIFIER.findall(m.group(1)))
        for m in EXTENSION.finditer(self.code):
            if self.depth[m.start()] != 0:
                continue
            open_brace = self.code.find("{", m.end())
            if open_brace < 0:
                continue
            k = open_brace + 1
            while k < len(self.code) and not (self.code[k] == "}" and self.depth[k] == 1):
                k += 1
            body_start = open_brace + 1
            for d in DECLARATION.finditer(self.code, body_start, k):
                if self.depth[d.start()] == 1 and d.group(1) in ("func", "let", "var"):
                    self.extension_members.add(d.group(2))

    def line(self, offset):
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def references(self):
        """(offset, name, is_member) for every identifier in the code."""
        code = self.code
        for m in IDENTIFIER.finditer(code):
            k = m.start() - 1
            while k >= 0 and code[k] in " \t\n":
                k -= 1
            is_member = k >= 0 and code[k] == "." and not (k >= 1 and code[k - 1] == ".")
            yield m.start(), m.group(0), is_member


def load(root):
    files = []
    for folder in sorted(os.listdir(root)):
        directory = os.path.join(root, folder)
        if not os.path.isdir(directory):
            continue
        for base, _, names in os.walk(directory):
            for name in sorted(names):
                if name.endswith(".swift"):
                    path = os.path.join(base, name)
                    with open(path, encoding="utf-8") as handle:
                        files.append(SwiftFile(path, folder, handle.read()))
    return files


def upward_references(files, layers=LAYERS):
    """Every reference from a folder to a folder above it: (file, line, name, to_folder).
    A folder missing from `layers` is itself reported (it has no place in the order)."""
    rank = {name: i for i, name in enumerate(layers)}
    problems = []
    for f in files:
        if f.folder not in rank:
            problems.append((f, 1, f.folder, None))
    by_folder = {}
    for f in files:
        by_folder.setdefault(f.folder, []).append(f)
    top, members, declared = {}, {}, {}
    for folder, group in by_folder.items():
        top[folder] = set().union(*(f.top_level for f in group))
        members[folder] = set().union(*(f.extension_members for f in group))
        declared[folder] = set().union(*(f.declared for f in group))
    for f in files:
        if f.folder not in rank:
            continue
        below = [d for d in by_folder if d in rank and rank[d] <= rank[f.folder]]
        above = [d for d in by_folder if d in rank and rank[d] > rank[f.folder]]
        known_below = set().union(*(declared[d] | top[d] for d in below))
        reported = set()
        for offset, name, is_member in f.references():
            if name in known_below:
                continue
            for d in sorted(above, key=rank.get):
                if (not is_member and name in top[d]) or (is_member and name in members[d]):
                    line = f.line(offset)
                    if (line, name) not in reported:
                        reported.add((line, name))
                        problems.append((f, line, name, d))
                    break
    return problems


def graph(files):
    by_folder = {}
    for f in files:
        by_folder.setdefault(f.folder, []).append(f)
    top = {d: set().union(*(f.top_level for f in g)) for d, g in by_folder.items()}
    edges = {}
    for f in files:
        own = set().union(*(g.declared for g in by_folder[f.folder])) | top[f.folder]
        for _, name, is_member in f.references():
            if is_member or name in own:
                continue
            for d, names in top.items():
                if d != f.folder and name in names:
                    edges.setdefault((f.folder, d), set()).add(name)
    return edges


def typecheck(root, files, layers=LAYERS, swiftc=None):
    """Type-checks each layer with only the layers below it. Returns (layer, compiler
    output) of the first layer that fails, or None. The C modules the library imports come
    from the Sources folder above `root` (the system-library module maps COpenBLAS, CPNG and
    CTurboJPEG; a module map for Im2Col's header, which SwiftPM otherwise writes)."""
    swiftc = swiftc or os.environ.get("SWIFTC") or shutil.which("swiftc")
    if not swiftc:
        return "(all)", "swiftc not found: put the Swift toolchain's bin folder on PATH or set SWIFTC"
    sources = os.path.dirname(os.path.abspath(root))
    with tempfile.TemporaryDirectory() as scratch:
        flags = []
        for system_library in ("COpenBLAS", "CPNG", "CTurboJPEG"):
            folder = os.path.join(sources, system_library)
            if os.path.isdir(folder):
                flags += ["-I", folder]
        im2col = os.path.join(sources, "Im2Col", "include", "Im2Col.h")
        if os.path.exists(im2col):
            with open(os.path.join(scratch, "module.modulemap"), "w") as handle:
                handle.write(f'module Im2Col {{\n  header "{im2col}"\n  export *\n}}\n')
            flags += ["-I", scratch]
        present = [layer for layer in layers if any(f.folder == layer for f in files)]
        for i, layer in enumerate(present):
            # The layer's own files are primary (their bodies are checked); the layers below
            # only lend their declarations, so the whole check costs about one type-check.
            primary = [arg for f in files if f.folder == layer for arg in ("-primary-file", f.path)]
            below = [f.path for f in files if f.folder in present[:i]]
            result = subprocess.run([swiftc, "-frontend", "-typecheck", "-swift-version", "6", "-module-name", "MobileNet"]
                                    + flags + primary + below, capture_output=True, text=True)
            if result.returncode != 0:
                errors = [line for line in (result.stdout + result.stderr).splitlines() if ": error:" in line]
                return layer, "\n".join(errors) or result.stderr
    return None


def main(argv):
    show_graph = "--graph" in argv
    check_types = "--typecheck" in argv
    args = [a for a in argv if a not in ("--graph", "--typecheck")]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "MobileNet")
    files = load(root)
    if show_graph:
        for (a, b), names in sorted(graph(files).items()):
            print(f"{a} -> {b}: {', '.join(sorted(names))}")
        return 0
    problems = upward_references(files)
    order = " < ".join(LAYERS)
    for f, line, name, to in problems:
        path = os.path.relpath(f.path)
        if to is None:
            print(f"{path}: folder '{name}' has no place in the layer order ({order}) of scripts/check_layers.py")
        else:
            print(f"{path}:{line}: '{name}' is declared in {to}/, a layer above {f.folder}/")
    if problems:
        print(f"check_layers: {len(problems)} reference(s) point up; allowed: {order} "
              "(a folder uses only itself and the folders before it; see docs/architecture.md)")
        return 1
    if check_types:
        failure = typecheck(root, files)
        if failure:
            layer, output = failure
            print(output)
            print(f"check_layers: {layer}/ does not compile with only the layers below it ({order})")
            return 1
    checked = "scanned and type-checked layer by layer" if check_types else "scanned"
    print(f"check_layers: {len(files)} files {checked}, every reference points down ({order})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
