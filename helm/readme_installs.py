#!/usr/bin/env python3
"""Renders the `helm install` commands the READMEs show, as they are written.

Takes the shell code blocks of README.md's "Deploy on Kubernetes" section
and of every other README given whole (the chart's), joins continued lines,
and renders each distinct `helm install NAME CHART [flags]` with helm/render:
-f/--values, --set, --set-string, --set-file and -n/--namespace are passed on
as Helm reads them; --wait, --atomic and --create-namespace change nothing
rendered; any other flag is an error (so a README cannot show what the check
does not render). The files the commands name (-f, --set-file) come from the
READMEs themselves: a code block whose first line is a comment naming the
file ("# shop-values.yaml"), or that follows a line ending in "`PATH`:"
("For example `protos/shop/v1/order.proto`:"); else from the repository.
The commands run in a scratch folder holding those files.

  helm/readme_installs.py --render RENDER --out DIR README.md helm/persist/README.md

Writes DIR/readme-<n>.yaml for each command and prints one line per command:
"readme-<n> <the command>".
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

VALUE_FLAGS = {"-f": "-f", "--values": "-f", "--set": "--set",
               "--set-string": "--set-string", "--set-file": "--set-file",
               "-n": "--namespace", "--namespace": "--namespace"}
IGNORED_FLAGS = {"--wait", "--atomic", "--create-namespace"}


def fail(message):
    sys.exit(f"readme_installs: {message}")


def code_blocks(text):
    """(language, lines, the text line before the fence) of each block."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        before = next((l for l in reversed(lines[:i]) if l.strip()), "")
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][len(fence.group(1)):])
            i += 1
        blocks.append((fence.group(2), body, before))
        i += 1
    return blocks


def section(text, title):
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text,
                      re.M | re.S)
    if not match:
        fail(f'README.md has no "## {title}" section')
    return match.group(1)


def defined_files(blocks):
    """{path: content} of the blocks that name their file."""
    files = {}
    for _, body, before in blocks:
        if not body:
            continue
        named = re.match(r"^\s*(?:#|//)\s*([\w./-]+\.\w+)\s*$", body[0])
        if named:
            files[named.group(1)] = "\n".join(body) + "\n"
            continue
        named = re.search(r"`([\w./-]+\.\w+)`:\s*$", before)
        if named:
            files[named.group(1)] = "\n".join(body) + "\n"
    return files


def install_commands(blocks):
    commands = []
    for language, body, _ in blocks:
        if language not in ("sh", "bash", "shell", "console"):
            continue
        joined = re.sub(r"\s*\\\n\s*", " ", "\n".join(body))
        for line in joined.split("\n"):
            line = re.sub(r"^\$\s+", "", line.strip())
            if line.startswith("helm install "):
                commands.append(line)
    return commands


def render_args(command, chart_dir):
    """helm/render's arguments for one `helm install` command line."""
    words = shlex.split(command, comments=True)[2:]
    positional, args, files = [], [], []
    i = 0
    while i < len(words):
        word = words[i]
        flag, eq, value = word.partition("=")
        if word.startswith("-") and flag in VALUE_FLAGS:
            if not eq:
                i += 1
                if i == len(words):
                    fail(f"{command}: {flag} without a value")
                value = words[i]
            args += [VALUE_FLAGS[flag], value]
            if VALUE_FLAGS[flag] == "-f":
                files.append(value)
            elif VALUE_FLAGS[flag] == "--set-file":
                for pair in re.split(r"(?<!\\),", value):
                    files.append(pair.split("=", 1)[1])
        elif word.startswith("-"):
            if word not in IGNORED_FLAGS:
                fail(f"{command}: {word} is a flag this check does not render;"
                     " teach helm/readme_installs.py what it does")
        else:
            positional.append(word)
        i += 1
    if len(positional) != 2:
        fail(f"{command}: expected `helm install NAME CHART`")
    name, chart = positional
    if os.path.normpath(chart) != os.path.normpath(chart_dir):
        fail(f"{command}: the chart is {chart_dir}, not {chart}")
    return ["--name", name, *args], files


def main():
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("--render", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chart", default="helm/persist")
    parser.add_argument("readmes", nargs="+")
    options = parser.parse_args()
    all_blocks, command_blocks = [], []
    for readme in options.readmes:
        text = open(readme).read()
        blocks = code_blocks(text)
        all_blocks += blocks
        if os.path.normpath(readme) == "README.md":
            command_blocks += code_blocks(section(text, "Deploy on Kubernetes"))
        else:
            command_blocks += blocks
    files = defined_files(all_blocks)
    commands = list(dict.fromkeys(install_commands(command_blocks)))
    if not commands:
        fail(f"no `helm install` command in {', '.join(options.readmes)}")
    chart = os.path.abspath(options.chart)
    with tempfile.TemporaryDirectory(prefix="readme-installs-") as scratch:
        for number, command in enumerate(commands, 1):
            args, needed = render_args(command, options.chart)
            for path in needed:
                target = os.path.join(scratch, path)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if path in files:
                    with open(target, "w") as out:
                        out.write(files[path])
                elif os.path.isfile(path):
                    shutil.copy(path, target)
                else:
                    fail(f"{command}: {path} is neither a file of the "
                         "repository nor a code block of the READMEs")
            out = os.path.abspath(os.path.join(options.out, f"readme-{number}.yaml"))
            result = subprocess.run(
                [os.path.abspath(options.render), "--chart", chart, *args,
                 "-o", out], cwd=scratch, capture_output=True, text=True)
            if result.returncode != 0:
                fail(f"{command}: did not render:\n{result.stderr}")
            print(f"readme-{number} {command}")


if __name__ == "__main__":
    main()
