"""A small Dockerfile reader for the image-recipe test: instructions (continuations joined, comments dropped),
stages, and ARG substitution. Only what our Dockerfile uses; anything else is an error, not a silent skip."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

KNOWN = {"FROM", "ARG", "ENV", "LABEL", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD"}


@dataclass
class Instruction:
    keyword: str
    value: str
    line: int

    def exec_form(self) -> list[str]:
        """`["a", "b"]` (JSON, as Docker reads it) for CMD/ENTRYPOINT/HEALTHCHECK CMD."""
        text = self.value
        if self.keyword == "HEALTHCHECK":
            text = text[text.index("CMD") + 3 :]
        parsed = json.loads(text)
        if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
            raise ValueError(f"line {self.line}: {self.keyword} is not in exec form")
        return parsed


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        keyword, _, value = buffer.partition(" ")
        if keyword.upper() not in KNOWN:
            raise ValueError(f"line {start}: instruction {keyword} is not understood by this reader")
        out.append(Instruction(keyword.upper(), value.strip(), start))
        buffer = ""
    return out


def _substitute(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), value)


def key_values(value: str) -> dict[str, str]:
    """`ENV A=1 B="two words"` / `LABEL k="v"` pairs."""
    pairs = {}
    for token in shlex.split(value):
        key, sep, val = token.partition("=")
        if not sep:
            raise ValueError(f"{value!r}: only the KEY=value form is supported")
        pairs[key] = val
    return pairs


def stages(path: Path) -> list[Stage]:
    """The stages in order; ARGs before the first FROM are substituted into FROM lines, stage ARGs into the
    instructions that follow them."""
    global_args: dict[str, str] = {}
    out: list[Stage] = []
    for ins in instructions(path.read_text()):
        if ins.keyword == "ARG" and not out:
            name, _, default = ins.value.partition("=")
            global_args[name] = default
            continue
        if ins.keyword == "FROM":
            words = _substitute(ins.value, global_args).split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(out))
            out.append(Stage(words[0], name))
            continue
        stage = out[-1]
        stage_args = {}
        for arg in stage.all("ARG"):
            name, _, default = arg.value.partition("=")
            stage_args[name] = default
        stage.instructions.append(Instruction(ins.keyword, _substitute(ins.value, stage_args), ins.line))
    return out
