#!/usr/bin/env python3
"""Writes the example of a header's top comment to a file of its own.

The example is the first run of comment lines indented by three spaces
("//   code"); the output is that code, without the comment marks, for
tests/headers/header_examples_test.cc to compile inside a function.

usage: extract_example.py HEADER OUTPUT
"""
import sys


def main():
    header, output = sys.argv[1], sys.argv[2]
    example = []
    with open(header, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("//   "):
                example.append(line[5:])
            elif example:
                break
    if not example:
        sys.exit(f"{header}: no example (lines starting with '//   ')")
    text = f"// From {header}; generated, do not edit.\n" + "".join(example)
    try:
        with open(output, encoding="utf-8") as old:
            if old.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(output, "w", encoding="utf-8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
