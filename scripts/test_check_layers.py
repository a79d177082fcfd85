#!/usr/bin/env python3
"""Tests of check_layers.py on small source trees written to a temporary folder: a tree
whose references point down passes; a reference up (a type, a top-level function, a member
an extension adds) is rejected naming its file, line and name, by the text scan and by the
compiler; names in comments and strings, and locals that shadow an upper name, are not
references. Run by `make test`: python3 scripts/test_check_layers.py"""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_layers  # noqa: E402

LAYERS = ["Core", "Layers", "Training"]


class Tree:
    """Sources/MobileNet/<folder>/<file>.swift under a temporary folder."""

    def __init__(self, files):
        self.base = tempfile.mkdtemp()
        self.root = os.path.join(self.base, "Sources", "MobileNet")
        for path, text in files.items():
            full = os.path.join(self.root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as handle:
                handle.write(text)

    def problems(self):
        found = check_layers.upward_references(check_layers.load(self.root), LAYERS)
        return [(os.path.relpath(f.path, self.root), line, name, to) for f, line, name, to in found]

    def typecheck(self):
        return check_layers.typecheck(self.root, check_layers.load(self.root), LAYERS)

    def remove(self):
        shutil.rmtree(self.base)


GOOD = {
    "Core/Tensor.swift": "public struct Tensor { public var count = 0 }\nfunc clock() -> Int { 1 }\n",
    "Layers/ReLU6.swift": (
        "public final class ReLU6 {\n"
        "    var input: Tensor?\n"
        "    // A Session (Training) calls this; \"Session\" in a string is no reference either.\n"
        "    func forward(_ t: Tensor) -> Tensor { let session = \"Session \\(clock())\"; _ = session; return t }\n"
        "}\n"),
    "Training/Session.swift": (
        "public final class Session {\n"
        "    let layer = ReLU6()\n"
        "    func step() -> Int { clock() }\n"
        "}\n"
        "extension ReLU6 {\n"
        "    func profiled() -> Int { 2 }\n"
        "}\n"),
}


def scan(extra):
    """The scan's problems for GOOD plus the files `extra`."""
    tree = Tree({**GOOD, **extra})
    try:
        return tree.problems()
    finally:
        tree.remove()


class CheckLayersTests(unittest.TestCase):
    def test_downward_tree_passes_scan(self):
        self.assertEqual(scan({}), [])

    def test_type_from_layer_above_is_rejected_with_file_line_and_name(self):
        self.assertEqual(scan({"Layers/Conv2d.swift": "final class Conv2d {\n    var owner: Session?\n}\n"}),
                         [("Layers/Conv2d.swift", 2, "Session", "Training")])

    def test_member_added_by_extension_above_is_rejected(self):
        self.assertEqual(scan({"Layers/Use.swift": "func time(_ r: ReLU6) -> Int {\n    r.profiled()\n}\n"}),
                         [("Layers/Use.swift", 2, "profiled", "Training")])

    def test_interpolated_code_is_scanned(self):
        self.assertEqual(scan({"Core/Text.swift": 'func describe() -> String {\n    "now \\(Session.self)"\n}\n'}),
                         [("Core/Text.swift", 2, "Session", "Training")])

    def test_folder_outside_the_order_is_rejected(self):
        self.assertEqual(scan({"Misc/Thing.swift": "struct Thing {}\n"}), [("Misc/Thing.swift", 1, "Misc", None)])

    def test_real_library_passes(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "MobileNet")
        problems = check_layers.upward_references(check_layers.load(root))
        self.assertEqual([(f.path, line, name) for f, line, name, _ in problems], [])

    @unittest.skipUnless(shutil.which(os.environ.get("SWIFTC", "swiftc")), "swiftc not on PATH")
    def test_compiler_rejects_what_the_scan_cannot_see(self):
        # A member an extension in Training adds, under a name Layers also declares (so the
        # scan, which cannot tell the two apart, lets it pass): only the compiler sees it.
        tree = Tree({**GOOD, "Layers/Hidden.swift": "let profiled = 0\nfunc hidden(_ r: ReLU6) -> Int { r.profiled() }\n"})
        try:
            self.assertEqual(tree.problems(), [])
            failure = tree.typecheck()
            self.assertIsNotNone(failure)
            layer, output = failure
            self.assertEqual(layer, "Layers")
            self.assertIn("Hidden.swift:2", output)
            self.assertIn("profiled", output)
        finally:
            tree.remove()

    @unittest.skipUnless(shutil.which(os.environ.get("SWIFTC", "swiftc")), "swiftc not on PATH")
    def test_compiler_accepts_downward_tree(self):
        tree = Tree(GOOD)
        try:
            self.assertIsNone(tree.typecheck())
        finally:
            tree.remove()


if __name__ == "__main__":
    unittest.main()
