"""A check of terraform fmt's whitespace layout for .tf files: ``python -m devtools.tffmt terraform``.

The terraform binary cannot be installed here, so this re-states in Python the
rules of ``format`` in hashicorp/hcl's hclwrite/format.go, which is what
``terraform fmt`` runs on every file (read at hcl commit 2efc2662). It lexes
HCL native syntax into the kinds of tokens hclsyntax makes (strings, templates
and heredocs included), cuts them into format.go's "format lines" and checks
the whitespace before every token against what format.go would write there:

- indentation (formatIndent): two spaces per bracket ({, [, (, ${, %{) that
  earlier lines left open; a line that closes brackets is dedented itself;
- spaces between tokens (formatSpaces, spaceAfterToken): one space after ``=``
  and ``,``, none before ``,`` or inside ``(a)`` and ``[a]``, ``{ a = 1 }``
  but ``{}``, ``f(x)``, ``a.b``, ``a[0]``, ``-1`` as a negation, ``${x}``...;
- alignment of ``=`` (formatCells): consecutive lines that each hold an ``=``
  whose value ends on that line put it in one column, one space after the
  widest text before an ``=``. Any other line ends the run: a blank line, a
  comment line, a block's opening or closing line, an ``=`` whose value goes
  on over later lines (``x = {``, ``x = [``). A heredoc value is one line;
- alignment of trailing comments (formatCells): consecutive lines that end in a
  ``#`` or ``//`` comment after code start it in one column;
- trailing whitespace (formatSpaces, formatIndent): no space or tab before a
  newline, nothing on a blank line. Spaces at the end of a ``#`` comment or of
  a heredoc line are part of that token's text, which fmt never changes, so
  they pass here as they pass terraform fmt -check.

Not checked: the rewrites the terraform command makes beyond format.go
(``"${var.x}"`` to ``var.x``, ``type = "string"`` to ``string``, block label
quoting); syntax errors (terraform fmt refuses such a file: python-hcl2's
parse in tests/integration/test_deploy.py is the check for those); exact
widths of every character sequence (format.go counts grapheme clusters, this
approximates them, see _columns). So this is not the full terraform fmt: a file
that passes may still be rewritten by it, but only in those ways.
"""

from __future__ import annotations

import argparse
import enum
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


class Kind(enum.Enum):
    """The hclsyntax token types that the formatting rules tell apart."""

    IDENT = enum.auto()
    NUMBER = enum.auto()
    COMMENT = enum.auto()
    NEWLINE = enum.auto()
    EQUAL = enum.auto()
    DOT = enum.auto()
    COMMA = enum.auto()
    ELLIPSIS = enum.auto()
    DOUBLE_COLON = enum.auto()
    FAT_ARROW = enum.auto()
    COLON = enum.auto()
    QUESTION = enum.auto()
    BANG = enum.auto()
    MINUS = enum.auto()
    PLUS = enum.auto()
    STAR = enum.auto()
    SLASH = enum.auto()
    PERCENT = enum.auto()
    EQUAL_OP = enum.auto()
    NOT_EQUAL = enum.auto()
    GREATER = enum.auto()
    GREATER_EQ = enum.auto()
    LESS = enum.auto()
    LESS_EQ = enum.auto()
    AND = enum.auto()
    OR = enum.auto()
    OBRACE = enum.auto()
    CBRACE = enum.auto()
    OBRACK = enum.auto()
    CBRACK = enum.auto()
    OPAREN = enum.auto()
    CPAREN = enum.auto()
    OQUOTE = enum.auto()
    CQUOTE = enum.auto()
    QUOTED_LIT = enum.auto()
    OHEREDOC = enum.auto()
    CHEREDOC = enum.auto()
    STRING_LIT = enum.auto()
    TEMPLATE_INTERP = enum.auto()
    TEMPLATE_CONTROL = enum.auto()
    TEMPLATE_SEQ_END = enum.auto()
    # Anything else (&, |, ~, ;, stray bytes): format.go spaces these by its default rule.
    OTHER = enum.auto()


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    line: int  # 1-based line of the token's first character
    space: str  # the whitespace between the previous token and this one


# Longest first, so "..." wins over "." and "==" over "=" (hclsyntax's scanner matches the longest token).
_SYMBOLS: tuple[tuple[str, Kind], ...] = (
    ("...", Kind.ELLIPSIS),
    ("==", Kind.EQUAL_OP),
    ("!=", Kind.NOT_EQUAL),
    (">=", Kind.GREATER_EQ),
    ("<=", Kind.LESS_EQ),
    ("&&", Kind.AND),
    ("||", Kind.OR),
    ("::", Kind.DOUBLE_COLON),
    ("=>", Kind.FAT_ARROW),
    ("[", Kind.OBRACK),
    ("]", Kind.CBRACK),
    ("(", Kind.OPAREN),
    (")", Kind.CPAREN),
    (".", Kind.DOT),
    (",", Kind.COMMA),
    ("*", Kind.STAR),
    ("/", Kind.SLASH),
    ("%", Kind.PERCENT),
    ("+", Kind.PLUS),
    ("-", Kind.MINUS),
    ("=", Kind.EQUAL),
    ("<", Kind.LESS),
    (">", Kind.GREATER),
    ("!", Kind.BANG),
    ("?", Kind.QUESTION),
    (":", Kind.COLON),
)

# hclsyntax: a digit, then digits, dots and exponents, never ending in a dot.
_NUMBER = re.compile(r"\d(?:[\d.]|[eE][+-]?\d)*(?<!\.)")
# hclsyntax: (ID_Start | "_") (ID_Continue | "-")*; \w is Python's near equivalent.
_IDENT = re.compile(r"[^\W\d][\w-]*")
_HEREDOC_START = re.compile(r"<<-?([^\W\d][\w-]*)\r?\n")
_LINE_COMMENT = re.compile(r"(?:#|//)[^\n]*\n?")
_NEWLINE = re.compile(r"\r?\n")


class _Lexer:
    """Tokens as hclsyntax's scanner (scan_tokens.rl) cuts them, with the whitespace before each.

    Templates nest: a quoted string or heredoc may hold ``${ ... }`` whose
    expression holds strings again, so the modes form a stack, and a ``}``
    ends an interpolation only at the brace depth where it began (as the
    scanner's retBraces stack does).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.braces = 0
        self.interp_depths: list[int] = []
        # Each entry: "main", "string", or ("heredoc", marker).
        self.modes: list[str | tuple[str, str]] = ["main"]
        self.heredoc_line_start = True

    def emit(self, kind: Kind, end: int, space: str = "") -> None:
        start = self.pos
        self.tokens.append(Token(kind, self.text[start:end], self.line, space))
        # Tokens may span lines (heredoc text, /* */ comments, a comment's own newline).
        self.line += self.text.count("\n", start, end)
        self.pos = end

    def run(self) -> list[Token]:
        while self.pos < len(self.text):
            mode = self.modes[-1]
            if mode == "main":
                self.main()
            elif mode == "string":
                self.string()
            else:
                assert isinstance(mode, tuple)
                self.heredoc(mode[1])
        return self.tokens

    def open_template(self, kind: Kind, end: int) -> None:
        self.emit(kind, end)
        self.braces += 1
        self.interp_depths.append(self.braces)
        self.modes.append("main")

    def main(self) -> None:
        text, start = self.text, self.pos
        end = start
        while end < len(text) and text[end] in " \t":
            end += 1
        space = text[start:end]
        self.pos = end
        if end == len(text):
            return  # whitespace before the end of the file: no token, and format.go leaves it alone
        rest = text[end : end + 3]
        char = text[end]
        if match := _NEWLINE.match(text, end):
            self.emit(Kind.NEWLINE, match.end(), space)
        elif match := _LINE_COMMENT.match(text, end):
            self.emit(Kind.COMMENT, match.end(), space)
        elif rest.startswith("/*"):
            close = text.find("*/", end + 2)
            self.emit(Kind.COMMENT, len(text) if close < 0 else close + 2, space)
        elif match := _NUMBER.match(text, end):
            self.emit(Kind.NUMBER, match.end(), space)
        elif match := _IDENT.match(text, end):
            self.emit(Kind.IDENT, match.end(), space)
        elif match := _HEREDOC_START.match(text, end):
            self.emit(Kind.OHEREDOC, match.end(), space)
            self.modes.append(("heredoc", match.group(1)))
            self.heredoc_line_start = True
        elif char == '"':
            self.emit(Kind.OQUOTE, end + 1, space)
            self.modes.append("string")
        elif char == "{":
            self.emit(Kind.OBRACE, end + 1, space)
            self.braces += 1
        elif char == "}" or rest.startswith("~}"):
            closes_template = bool(self.interp_depths) and self.interp_depths[-1] == self.braces
            # "~}" is always a template end to hclsyntax, even where it cannot close one.
            kind = Kind.TEMPLATE_SEQ_END if closes_template or char == "~" else Kind.CBRACE
            self.emit(kind, end + (1 if char == "}" else 2), space)
            self.braces -= 1
            if closes_template:
                self.interp_depths.pop()
                self.modes.pop()
        else:
            for symbol, kind in _SYMBOLS:
                if rest.startswith(symbol):
                    self.emit(kind, end + len(symbol), space)
                    return
            self.emit(Kind.OTHER, end + 1, space)

    def template_opener(self, at: int) -> tuple[Kind, int] | None:
        """An interpolation or directive opening at ``at`` ("${", "%{", with "~"), else None."""
        pair = self.text[at : at + 2]
        if pair not in ("${", "%{"):
            return None
        kind = Kind.TEMPLATE_INTERP if pair == "${" else Kind.TEMPLATE_CONTROL
        return kind, at + (3 if self.text[at + 2 : at + 3] == "~" else 2)

    def literal_end(self, at: int, *, quoted: bool) -> int:
        """Where a run of template literal text starting at ``at`` ends."""
        text = self.text
        while at < len(text):
            char = text[at]
            if char == "\n" or text.startswith("\r\n", at) or (quoted and char == '"'):
                break
            if char in "$%" and text[at + 1 : at + 2] == char and text[at + 2 : at + 3] == "{":
                at += 3  # "$${" and "%%{" are escapes: literal text
            elif self.template_opener(at):
                break
            elif quoted and char == "\\":
                at += 2
            else:
                at += 1
        return min(at, len(text))

    def string(self) -> None:
        text, at = self.text, self.pos
        if text[at] == '"':
            self.emit(Kind.CQUOTE, at + 1)
            self.modes.pop()
        elif opener := self.template_opener(at):
            self.open_template(*opener)
        elif match := _NEWLINE.match(text, at):
            # A newline inside quotes is a syntax error; hclsyntax stays in the string too.
            self.emit(Kind.OTHER, match.end())
        else:
            self.emit(Kind.QUOTED_LIT, self.literal_end(at, quoted=True))

    def heredoc(self, marker: str) -> None:
        text, at = self.text, self.pos
        if opener := self.template_opener(at):
            self.heredoc_line_start = False
            self.open_template(*opener)
            return
        end = self.literal_end(at, quoted=False)
        newline = _NEWLINE.match(text, end)
        if newline is None:
            # Text before an interpolation (or the end of an unterminated heredoc).
            self.heredoc_line_start = False
            self.emit(Kind.STRING_LIT, end)
            return
        if self.heredoc_line_start and text[at:end].strip() == marker:
            # The closing marker keeps its leading spaces as its own text; its newline is a token.
            self.emit(Kind.CHEREDOC, end)
            self.emit(Kind.NEWLINE, newline.end())
            self.modes.pop()
            return
        self.heredoc_line_start = True
        self.emit(Kind.STRING_LIT, newline.end())


def tokenize(text: str) -> list[Token]:
    """The tokens of HCL native syntax ``text`` (a leading byte order mark is skipped, as hclsyntax does)."""
    return _Lexer(text.removeprefix("\ufeff")).run()


_OPENERS = {Kind.OBRACE, Kind.OBRACK, Kind.OPAREN, Kind.TEMPLATE_INTERP, Kind.TEMPLATE_CONTROL}
_CLOSERS = {Kind.CBRACE, Kind.CBRACK, Kind.CPAREN, Kind.TEMPLATE_SEQ_END}
_TEMPLATE_TEXT_BEFORE = {Kind.QUOTED_LIT, Kind.STRING_LIT, Kind.OQUOTE, Kind.OHEREDOC}
_TEMPLATE_TEXT_AFTER = {Kind.QUOTED_LIT, Kind.STRING_LIT, Kind.CQUOTE, Kind.CHEREDOC}
# After these, a minus starts an operand (negation) rather than subtracting.
_BEFORE_NEGATION = {
    None,
    Kind.OPAREN,
    Kind.OBRACE,
    Kind.OBRACK,
    Kind.EQUAL,
    Kind.COLON,
    Kind.COMMA,
    Kind.QUESTION,
    Kind.PLUS,
    Kind.STAR,
    Kind.SLASH,
    Kind.PERCENT,
    Kind.MINUS,
    Kind.EQUAL_OP,
    Kind.NOT_EQUAL,
    Kind.GREATER,
    Kind.GREATER_EQ,
    Kind.LESS,
    Kind.LESS_EQ,
    Kind.AND,
    Kind.OR,
    Kind.BANG,
}


def _bracket_change(token: Token) -> int:
    return 1 if token.kind in _OPENERS else -1 if token.kind in _CLOSERS else 0


def _ends_line(token: Token) -> bool:
    # A # or // comment swallows the newline that ends it, so it ends its line too.
    return token.kind is Kind.NEWLINE or (token.kind is Kind.COMMENT and token.text.endswith("\n"))


def _space_between(subject: Token, before: Token | None, after: Token) -> bool:
    """Whether ``after`` is one space (True) or no space (False) after ``subject`` (spaceAfterToken).

    The order of the tests matters: the first that applies decides, as in format.go.
    """
    kind, next_kind = subject.kind, after.kind
    if next_kind is Kind.NEWLINE:
        return False
    if kind is Kind.IDENT and next_kind is Kind.OPAREN:
        return False  # f(x)
    if (kind, next_kind) in ((Kind.IDENT, Kind.DOUBLE_COLON), (Kind.DOUBLE_COLON, Kind.IDENT)):
        return False  # provider::p::f
    if Kind.DOT in (kind, next_kind):
        return False  # a.b
    if next_kind in (Kind.COMMA, Kind.ELLIPSIS):
        return False
    if kind is Kind.COMMA:
        return True
    if kind in _TEMPLATE_TEXT_BEFORE or next_kind in _TEMPLATE_TEXT_AFTER:
        return False  # template text is never padded
    if kind is Kind.IDENT and subject.text == "in" and before is not None and before.kind is Kind.IDENT:
        return True  # [for x in [a]: x], not in[a]
    if next_kind is Kind.OBRACK and (kind in (Kind.IDENT, Kind.NUMBER) or _bracket_change(subject) < 0):
        return False  # a[0], f(x)[0]
    if kind is Kind.BANG:
        return False
    if kind is Kind.MINUS:
        # A guess, as format.go's: after something that cannot end an operand, it is a negation.
        return (None if before is None else before.kind) not in _BEFORE_NEGATION
    if kind is Kind.OBRACE or next_kind is Kind.CBRACE:
        return not (kind is Kind.OBRACE and next_kind is Kind.CBRACE)  # { a = 1 }, but {}
    if kind in (Kind.TEMPLATE_INTERP, Kind.TEMPLATE_CONTROL) and next_kind is Kind.OBRACE:
        return True  # ${ { a = 1 } }
    if kind is Kind.CBRACE and next_kind is Kind.TEMPLATE_SEQ_END:
        return True
    if kind is Kind.TEMPLATE_SEQ_END and next_kind in (Kind.TEMPLATE_INTERP, Kind.TEMPLATE_CONTROL):
        return False  # ${a}${b}
    # No space inside (a) and [a]; every other pair is space-separated.
    return not (_bracket_change(subject) > 0 or _bracket_change(after) < 0)


@dataclass
class _FormatLine:
    """format.go's formatLine: a line's tokens in the three cells whose first tokens get aligned."""

    lead: list[int]  # token indices; always present
    assign: list[int]  # from "=" on, when the value ends on this line
    comment: list[int]  # a trailing # or // comment after other tokens


def _format_lines(tokens: Sequence[Token]) -> list[_FormatLine]:
    lines: list[_FormatLine] = []
    current: list[int] = []
    for index, token in enumerate(tokens):
        current.append(index)
        if _ends_line(token):
            lines.append(_FormatLine(current, [], []))
            current = []
    if current:
        lines.append(_FormatLine(current, [], []))
    for line in lines:
        lead = line.lead
        if len(lead) > 1 and tokens[lead[-1]].kind is Kind.COMMENT:
            line.lead, line.comment = lead[:-1], lead[-1:]
        for position, index in enumerate(line.lead):
            if position > 0 and tokens[index].kind is Kind.EQUAL:
                # Only the first "=" counts, and only if the value closes every bracket it opens:
                # a value continued on later lines is not an aligned assignment.
                if sum(_bracket_change(tokens[i]) for i in line.lead[position:]) == 0:
                    line.lead, line.assign = line.lead[:position], line.lead[position:]
                break
    return lines


class _Rule(enum.Enum):
    INDENT = "indent"
    TRAILING = "trailing whitespace"
    SPACING = "spacing"
    ALIGN_EQUALS = "alignment of ="
    ALIGN_COMMENT = "alignment of comments"


@dataclass(frozen=True)
class _Expected:
    spaces: int
    rule: _Rule
    chain: tuple[int, int] = (0, 0)  # first and last line of an alignment run


def _expected_indents(tokens: Sequence[Token], lines: Sequence[_FormatLine], expected: dict[int, _Expected]) -> None:
    """formatIndent: a stack of the brackets each indenting line left open."""
    stack: list[int] = []
    for line in lines:
        first = line.lead[0]
        if tokens[first].kind is Kind.NEWLINE:
            expected[first] = _Expected(0, _Rule.TRAILING)
            continue
        net = 0
        for index in line.lead:
            net += _bracket_change(tokens[index])
            if tokens[index].kind is Kind.OHEREDOC:
                break  # what follows is the heredoc's text, not this line's structure
        net += sum(_bracket_change(tokens[index]) for index in line.assign)
        if net > 0:
            expected[first] = _Expected(2 * len(stack), _Rule.INDENT)
            stack.append(net)
            continue
        closed = -net
        # A line closing more than the last indenting line opened also closes the ones before it.
        while closed > 0 and stack:
            if closed >= stack[-1]:
                closed -= stack.pop()
            else:
                stack[-1] -= closed
                closed = 0
        expected[first] = _Expected(2 * len(stack), _Rule.INDENT)


def _expected_spaces(tokens: Sequence[Token], lines: Sequence[_FormatLine], expected: dict[int, _Expected]) -> None:
    """formatSpaces: within the lead and within the assignment, each pair of neighbours."""
    for line in lines:
        for cell in (line.lead, line.assign):
            for position in range(1, len(cell)):
                subject, after = tokens[cell[position - 1]], tokens[cell[position]]
                before = tokens[cell[position - 2]] if position > 1 else None
                rule = _Rule.TRAILING if after.kind is Kind.NEWLINE else _Rule.SPACING
                expected[cell[position]] = _Expected(int(_space_between(subject, before, after)), rule)


def _is_regional_indicator(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _columns(text: str) -> int:
    """How many grapheme clusters ``text`` has (format.go counts those, not code points), approximately.

    The cases handled are the ones names and strings meet: combining marks,
    variation selectors, emoji modifiers and tags, zero-width-joiner sequences,
    and flags (regional indicators pair up). Conjoining Hangul jamo are not.
    """
    count = 0
    previous = ""
    unpaired_flag = False
    for char in text:
        joins = (
            unicodedata.category(char) in ("Mn", "Me", "Mc")
            or char == "\u200d"
            or previous == "\u200d"
            or "\U0001f3fb" <= char <= "\U0001f3ff"
            or "\U000e0020" <= char <= "\U000e007f"
            or (unpaired_flag and _is_regional_indicator(char))
        )
        unpaired_flag = _is_regional_indicator(char) and not joins
        count += not joins
        previous = char
    return count


def _width(tokens: Sequence[Token], cell: Sequence[int], expected: dict[int, _Expected]) -> int:
    """Columns of a cell once formatted: its spaces plus its tokens' grapheme clusters."""
    return sum(expected[index].spaces + _columns(tokens[index].text) for index in cell)


def _expected_alignment(tokens: Sequence[Token], lines: Sequence[_FormatLine], expected: dict[int, _Expected]) -> None:
    """formatCells: runs of consecutive lines with an assignment (then with a trailing comment) share a column."""

    def align(rule: _Rule, cell: Callable[[_FormatLine], list[int]], width: list[int]) -> None:
        run: list[int] = []
        for number, line in enumerate([*lines, None]):
            if line is not None and cell(line):
                run.append(number)
                continue
            if run:
                widest = max(width[n] for n in run)
                firsts = [cell(lines[n])[0] for n in run]
                chain = (tokens[firsts[0]].line, tokens[firsts[-1]].line)
                for n, first in zip(run, firsts, strict=True):
                    expected[first] = _Expected(widest - width[n] + 1, rule, chain)
                run = []

    align(_Rule.ALIGN_EQUALS, lambda line: line.assign, [_width(tokens, line.lead, expected) for line in lines])
    # Comments align after the "=" have moved, so their widths include the aligned assignment.
    widths = [_width(tokens, line.lead, expected) + _width(tokens, line.assign, expected) for line in lines]
    align(_Rule.ALIGN_COMMENT, lambda line: line.comment, widths)


def _shown(token: Token) -> str:
    text = token.text.rstrip("\r\n")
    return repr(text if len(text) <= 24 else text[:21] + "...")


def _found(space: str) -> str:
    if space == "":
        return "none"
    if set(space) == {" "}:
        return f"{len(space)} space{'s' if len(space) != 1 else ''}"
    return f"{space!r} (tabs are never canonical)"


def _message(tokens: Sequence[Token], index: int, want: _Expected) -> str:
    token = tokens[index]
    found = _found(token.space)
    if want.rule is _Rule.TRAILING:
        return f"line {token.line}: trailing whitespace"
    if want.rule is _Rule.INDENT:
        return f"line {token.line}: indentation should be {want.spaces} spaces, found {found}"
    if want.rule is _Rule.SPACING:
        pair = f"between {_shown(tokens[index - 1])} and {_shown(token)}"
        return f"line {token.line}: {'one space' if want.spaces else 'no space'} expected {pair}, found {found}"
    what = "'='" if want.rule is _Rule.ALIGN_EQUALS else "the trailing comment"
    first, last = want.chain
    if first == last:
        return f"line {token.line}: one space expected before {what}, found {found}"
    spaces = f"{want.spaces} space{'s' if want.spaces != 1 else ''}"
    return (
        f"line {token.line}: {what} not aligned with lines {first}-{last}: expected {spaces} before it, found {found}"
    )


def problems(text: str) -> list[str]:
    """Each place where ``text`` differs from terraform fmt's layout, as "line N: ...", in file order."""
    tokens = tokenize(text)
    lines = _format_lines(tokens)
    expected: dict[int, _Expected] = {}
    _expected_indents(tokens, lines, expected)
    _expected_spaces(tokens, lines, expected)
    _expected_alignment(tokens, lines, expected)
    return [
        _message(tokens, index, want)
        for index, want in sorted(expected.items())
        if tokens[index].space != " " * want.spaces
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.tffmt",
        description="Check *.tf files against terraform fmt's layout (hclwrite's format.go rules).",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="folders (every *.tf under them) or .tf files")
    args = parser.parse_args(argv)
    files: list[Path] = []
    for path in args.paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.tf")))
        elif path.is_file():
            files.append(path)
        else:
            parser.error(f"no file or folder at {path}")
    failed = False
    for file in files:
        for problem in problems(file.read_text(encoding="utf-8")):
            print(f"{file}: {problem}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
