#!/usr/bin/env python3
"""Checks the relative links of Markdown files: each [text](path#anchor) outside code blocks
must name an existing file and, for a .md target with an anchor, one of its headings (GitHub's
slugs: lower case, punctuation dropped, spaces as hyphens). Prints each broken link and exits 1
when there is one.

Usage: python3 scripts/check_doc_links.py README.md docs/*.md
"""
import os
import re
import sys
import unicodedata


def slug(heading):
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    kept = "".join(c for c in text if c.isalnum() or c in " -" or unicodedata.category(c).startswith("L"))
    return kept.replace(" ", "-")


def anchors(path):
    found, in_code = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def broken_links(path):
    text = re.sub(r"```.*?```", "", open(path, encoding="utf-8").read(), flags=re.S)
    for match in re.finditer(r"\]\(([^)\s]+)\)", text):
        url = match.group(1)
        if re.match(r"[a-z]+:", url):
            continue
        target_path, _, anchor = url.partition("#")
        target = os.path.normpath(os.path.join(os.path.dirname(path), target_path)) if target_path else path
        if not os.path.exists(target):
            yield f"{path}: {url}: no file {target}"
        elif anchor and target.endswith(".md") and anchor not in anchors(target):
            yield f"{path}: {url}: no heading #{anchor} in {target}"


if __name__ == "__main__":
    problems = [problem for path in sys.argv[1:] for problem in broken_links(path)]
    print("\n".join(problems) or f"{len(sys.argv) - 1} file(s): every relative link resolves")
    sys.exit(1 if problems else 0)
