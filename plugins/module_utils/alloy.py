# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana Alloy configuration syntax: a writer and a checking parser.

Writer: build a config from :class:`Block`, :class:`Attribute` and Python
values (``str``, ``int``, ``float``, ``bool``, ``None``, ``list``, ``dict``)
plus :class:`Expr` for references and function calls, then :func:`render` it
with a stable order and ``alloy fmt``-like layout (aligned ``=``, trailing
commas on multi-line arrays and objects).

Parser: :func:`parse` checks the syntax (statements, blocks, labels,
expressions, terminators, trailing commas) and :func:`check` the semantics
that can be known without the binary: duplicate component name+label, every
component reference resolves to a declared block, known export names, and
``otelcol`` ``output`` blocks wiring only signals their targets accept.
:func:`validate_all` adds the upstream contract (:mod:`alloy_contract`: components, arguments,
kinds and Validate rules of the Alloy version the stack runs). Every error names ``line:column``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

IDENT_RE = re.compile(r"^[^\W\d]\w*$", re.UNICODE)

# Namespaces of the standard library: `sys.env("X")`, `constants.hostname`...
STDLIB_NAMESPACES = frozenset(
    ["array", "coalesce", "constants", "convert", "encoding", "env", "file", "json_path", "nonsensitive",
     "string", "sys", "concat", "format", "join", "replace", "split", "to_lower", "to_upper", "trim",
     "trim_prefix", "trim_space", "trim_suffix", "json_decode", "yaml_decode", "base64_decode"]
)

# Exports of common components (documented "Exported fields"). A reference to
# another export of these components is an error; unknown components are not
# checked for export names.
KNOWN_EXPORTS = {
    "prometheus.remote_write": {"receiver"},
    "prometheus.relabel": {"receiver", "rules"},
    "prometheus.scrape": set(),
    "prometheus.exporter.unix": {"targets"},
    "prometheus.exporter.self": {"targets"},
    "prometheus.exporter.mysql": {"targets"},
    "prometheus.exporter.redis": {"targets"},
    "discovery.relabel": {"output", "rules"},
    "discovery.docker": {"targets"},
    "discovery.file": {"targets"},
    "local.file_match": {"targets"},
    "local.file": {"content"},
    "loki.write": {"receiver"},
    "loki.process": {"receiver"},
    "loki.relabel": {"receiver", "rules"},
    "loki.source.docker": set(),
    "loki.source.file": set(),
    "otelcol.receiver.otlp": set(),
    "otelcol.receiver.jaeger": set(),
    "otelcol.receiver.prometheus": {"receiver"},
    "otelcol.receiver.loki": {"receiver"},
    "otelcol.exporter.otlp": {"input"},
    "otelcol.exporter.otlphttp": {"input"},
    "otelcol.exporter.prometheus": {"input"},
    "otelcol.exporter.loki": {"input"},
    "otelcol.exporter.debug": {"input"},
    "otelcol.processor.batch": {"input"},
    "otelcol.processor.memory_limiter": {"input"},
    "otelcol.processor.attributes": {"input"},
    "otelcol.processor.resourcedetection": {"input"},
    "otelcol.processor.transform": {"input"},
    "otelcol.processor.filter": {"input"},
    "otelcol.processor.k8sattributes": {"input"},
    "otelcol.connector.spanmetrics": {"input"},
    "otelcol.connector.servicegraph": {"input"},
    "otelcol.connector.host_info": {"input"},
    "otelcol.auth.basic": {"handler"},
    "otelcol.auth.bearer": {"handler"},
    "otelcol.auth.headers": {"handler"},
}

# Which signals an otelcol component's `input` accepts.
SIGNALS = ("metrics", "logs", "traces")
ACCEPTED_SIGNALS = {
    "otelcol.exporter.prometheus": {"metrics"},
    "otelcol.exporter.loki": {"logs"},
    "otelcol.connector.spanmetrics": {"traces"},
    "otelcol.connector.servicegraph": {"traces"},
    "otelcol.connector.host_info": {"traces"},
}


class AlloyError(ValueError):
    """A syntax or semantic error at line:column."""

    def __init__(self, message, line=0, column=0, source=None):
        self.message = message
        self.line = line
        self.column = column
        self.source = source
        where = "%s:%d:%d" % (source or "<config>", line, column)
        super(AlloyError, self).__init__("%s: %s" % (where, message))


# ============================================================================ writer


class Expr(object):
    """An expression written verbatim: a reference or a function call."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Expr) and other.text == self.text

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return "Expr(%r)" % self.text


class Raw(str):
    """A string written as an Alloy raw string (backticks): OTTL statements, regexes with quotes."""


class Attribute(object):
    def __init__(self, name, value):
        if not IDENT_RE.match(name):
            raise AlloyError("attribute name %r is not an identifier" % name)
        self.name = name
        self.value = value


class Block(object):
    """A block `name "label" { body }`; body is a list of Attribute/Block (or a dict of attributes)."""

    def __init__(self, name, label=None, body=None, comment=None):
        for part in name.split("."):
            if not IDENT_RE.match(part):
                raise AlloyError("block name %r is not a dotted identifier" % name)
        if label is not None and not IDENT_RE.match(label):
            raise AlloyError("block label %r must be an identifier (letters, digits, underscores)" % label)
        self.name = name
        self.label = label
        self.comment = comment
        if isinstance(body, dict):
            body = [Attribute(k, v) for k, v in body.items()]
        self.body = list(body or [])

    def add(self, item):
        self.body.append(item)
        return item

    @property
    def ref(self):
        return "%s.%s" % (self.name, self.label)

    def export(self, field):
        return Expr("%s.%s.%s" % (self.name, self.label, field))


def sanitize_label(text):
    """Turn any text (a job name, a service name) into a valid block label."""
    label = re.sub(r"\W", "_", text or "", flags=re.UNICODE)
    if not label or label[0].isdigit():
        label = "_" + label
    return label


def quote(text):
    out = ['"']
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _is_identifier(text):
    return bool(IDENT_RE.match(text))


def render_value(value, indent=0):
    pad = "\t" * indent
    if isinstance(value, Expr):
        return value.text
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Raw) and "`" not in value:
        return "`%s`" % value
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [render_value(v, indent + 1) for v in value]
        if all(not isinstance(v, (dict, list, tuple)) for v in value) and sum(len(i) for i in items) < 80:
            return "[" + ", ".join(items) + "]"
        return "[\n" + "".join("%s\t%s,\n" % (pad, i) for i in items) + pad + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        keys = [k if _is_identifier(k) else quote(k) for k in value]
        width = max(len(k) for k in keys)
        lines = [
            "%s\t%s = %s,\n" % (pad, key.ljust(width), render_value(v, indent + 1))
            for key, v in zip(keys, value.values())
        ]
        return "{\n" + "".join(lines) + pad + "}"
    raise AlloyError("cannot write a value of type %s" % type(value).__name__)


def _render_body(items, indent):
    out = []
    pad = "\t" * indent
    index = 0
    while index < len(items):
        item = items[index]
        if isinstance(item, Attribute):
            run = []
            while index < len(items) and isinstance(items[index], Attribute):
                run.append(items[index])
                index += 1
            width = max(len(a.name) for a in run)
            for attr in run:
                out.append("%s%s = %s\n" % (pad, attr.name.ljust(width), render_value(attr.value, indent)))
            if index < len(items):
                out.append("\n")
            continue
        out.append(_render_block(item, indent))
        index += 1
        if index < len(items):
            out.append("\n")
    return "".join(out)


def _render_block(block, indent):
    pad = "\t" * indent
    head = block.name + (" " + quote(block.label) if block.label is not None else "")
    comment = "".join("%s// %s\n" % (pad, line) for line in (block.comment or "").splitlines())
    if not block.body:
        return "%s%s%s { }\n" % (comment, pad, head)
    return "%s%s%s {\n%s%s}\n" % (comment, pad, head, _render_body(block.body, indent + 1), pad)


def render(items, header=None):
    """Render top-level statements to Alloy text (tabs, like `alloy fmt`)."""
    text = "".join("// %s\n" % line if line else "//\n" for line in (header or "").splitlines())
    if header:
        text += "\n"
    return text + _render_body(list(items), 0)


# ============================================================================ lexer

_PUNCT = ["==", "!=", "<=", ">=", "&&", "||", "{", "}", "[", "]", "(", ")", ",", ".", "=", "<", ">", "+", "-",
          "*", "/", "%", "^", "!"]
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_NUMBER_RE = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_WORD_RE = re.compile(r"\w+", re.UNICODE)


class Token(object):
    __slots__ = ("kind", "value", "line", "column")

    def __init__(self, kind, value, line, column):
        self.kind = kind
        self.value = value
        self.line = line
        self.column = column

    def __repr__(self):
        return "Token(%s, %r, %d:%d)" % (self.kind, self.value, self.line, self.column)


# Each _lex_* helper reads one construct starting at text[i] (line:col), appends its tokens and returns the
# (i, line, col) just after it.


def _lex_comment(text, i, line, col, tokens, source):
    """A `//` comment (up to the newline, which is left for the caller) or a `/* */` comment."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        if end < 0:
            end = len(text)
        return end, line, col + (end - i)
    end = text.find("*/", i + 2)
    if end < 0:
        raise AlloyError("unterminated block comment", line, col, source)
    chunk = text[i:end + 2]
    newlines = chunk.count("\n")
    if newlines:
        # A multi-line comment ends a statement like a newline does.
        tokens.append(Token("NEWLINE", "\n", line, col))
        line += newlines
        col = len(chunk) - chunk.rfind("\n")
    else:
        col += len(chunk)
    return end + 2, line, col


def _lex_escape(text, i, j, line, col, source):
    """The escape sequence at text[j] (a backslash) of the string opened at text[i] (line:col): return the
    character it stands for and the index after it."""
    if j + 1 >= len(text):
        raise AlloyError("unterminated string", line, col, source)
    esc = text[j + 1]
    if esc in _ESCAPES:
        return _ESCAPES[esc], j + 2
    if esc in "uU":
        width = 4 if esc == "u" else 8
        digits = text[j + 2:j + 2 + width]
        if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise AlloyError("invalid \\%s escape in string" % esc, line, col + (j - i), source)
        code = int(digits, 16)
        # As Go (whose quoting Alloy follows): no code point above U+10FFFF, no surrogate half.
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise AlloyError("escape sequence \\%s%s is not a valid Unicode code point" % (esc, digits), line,
                             col + (j - i), source)
        return chr(code), j + 2 + width
    raise AlloyError("unknown escape sequence \\%s in string" % esc, line, col + (j - i), source)


def _lex_string(text, i, line, col, tokens, source):
    """A "quoted" string, on one line."""
    j, out, n = i + 1, [], len(text)
    while True:
        if j >= n or text[j] == "\n":
            raise AlloyError("unterminated string", line, col, source)
        ch = text[j]
        if ch == '"':
            break
        if ch == "\\":
            char, j = _lex_escape(text, i, j, line, col, source)
            out.append(char)
            continue
        out.append(ch)
        j += 1
    tokens.append(Token("STRING", "".join(out), line, col))
    return j + 1, line, col + (j + 1 - i)


def _lex_raw_string(text, i, line, col, tokens, source):
    """A `raw` string: no escapes, may span lines."""
    end = text.find("`", i + 1)
    if end < 0:
        raise AlloyError("unterminated raw string", line, col, source)
    raw = text[i + 1:end]
    tokens.append(Token("STRING", raw, line, col))
    newlines = raw.count("\n")
    if newlines:
        line += newlines
        col = len(raw) - raw.rfind("\n") + 1
    else:
        col += end + 1 - i
    return end + 1, line, col


def _lex_number(text, i, line, col, tokens, source):
    literal = _NUMBER_RE.match(text, i).group(0)
    tokens.append(Token("NUMBER", float(literal) if ("." in literal or "e" in literal.lower()) else int(literal),
                        line, col))
    return i + len(literal), line, col + len(literal)


def _lex_word(text, i, line, col, tokens, source):
    """An identifier, or one of the keywords true, false and null."""
    word = _WORD_RE.match(text, i).group(0)
    kind = "KEYWORD" if word in ("true", "false", "null") else "IDENT"
    tokens.append(Token(kind, word, line, col))
    return i + len(word), line, col + len(word)


def _lex_punct(text, i, line, col, tokens, source):
    """An operator or punctuation, longest first (_PUNCT lists two-character ones first)."""
    for p in _PUNCT:
        if text.startswith(p, i):
            tokens.append(Token("PUNCT", p, line, col))
            return i + len(p), line, col + len(p)
    raise AlloyError("unexpected character %r" % text[i], line, col, source)


def tokenize(text, source=None):
    """Split Alloy text into Tokens (NEWLINE, STRING, NUMBER, KEYWORD, IDENT, PUNCT, then EOF)."""
    tokens = []
    i, line, col, n = 0, 1, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            tokens.append(Token("NEWLINE", "\n", line, col))
            i += 1
            line += 1
            col = 1
            continue
        if c in " \t\r":
            i += 1
            col += 1
            continue
        if text.startswith(("//", "/*"), i):
            lex = _lex_comment
        elif c == '"':
            lex = _lex_string
        elif c == "`":
            lex = _lex_raw_string
        elif c in "0123456789":  # not str.isdigit(): it also takes digits like "²" that are no number here
            lex = _lex_number
        elif c.isalpha() or c == "_":
            lex = _lex_word
        else:
            lex = _lex_punct
        i, line, col = lex(text, i, line, col, tokens, source)
    tokens.append(Token("EOF", None, line, col))
    return tokens

# ============================================================================ parser


class Node(object):
    """Parsed statement: kind 'attr' or 'block'."""

    def __init__(self, kind, name, line, column, label=None, value=None, body=None):
        self.kind = kind
        self.name = name
        self.label = label
        self.value = value
        self.body = body or []
        self.line = line
        self.column = column


class Ref(object):
    """A dotted identifier chain used as a value (not called)."""

    def __init__(self, parts, line, column):
        self.parts = parts
        self.line = line
        self.column = column


_BINARY = [("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%")]


class _Parser(object):
    def __init__(self, tokens, source):
        self.tokens = tokens
        self.pos = 0
        self.source = source
        self.refs = []

    def peek(self, offset=0):
        return self.tokens[self.pos + offset]

    def next(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def error(self, msg, tok=None):
        tok = tok or self.peek()
        return AlloyError(msg, tok.line, tok.column, self.source)

    def describe(self, tok):
        if tok.kind == "EOF":
            return "end of file"
        if tok.kind == "NEWLINE":
            return "newline"
        if tok.kind == "STRING":
            return "string %s" % quote(tok.value)
        return repr(tok.value)

    def expect(self, kind, value=None, what=None):
        tok = self.peek()
        if tok.kind != kind or (value is not None and tok.value != value):
            raise self.error("expected %s, found %s" % (what or value or kind.lower(), self.describe(tok)))
        return self.next()

    def skip_newlines(self):
        while self.peek().kind == "NEWLINE":
            self.pos += 1

    def parse_body(self, closing):
        items = []
        self.skip_newlines()
        while True:
            tok = self.peek()
            if closing is None and tok.kind == "EOF":
                return items
            if closing is not None and tok.kind == "PUNCT" and tok.value == "}":
                return items
            if tok.kind == "EOF":
                raise self.error("expected '}' to close the block opened at %d:%d, found end of file"
                                 % (closing.line, closing.column))
            items.append(self.parse_statement())
            tok = self.peek()
            if tok.kind == "NEWLINE":
                self.skip_newlines()
            elif not (tok.kind == "EOF" or (tok.kind == "PUNCT" and tok.value == "}")):
                raise self.error("expected a newline after the statement, found %s" % self.describe(tok))

    def parse_statement(self):
        first = self.expect("IDENT", what="an attribute or block name")
        parts = [first.value]
        while self.peek().kind == "PUNCT" and self.peek().value == ".":
            self.next()
            parts.append(self.expect("IDENT", what="an identifier after '.'").value)
        name = ".".join(parts)
        tok = self.peek()
        if tok.kind == "PUNCT" and tok.value == "=":
            if len(parts) > 1:
                raise self.error("attribute name %r cannot contain '.'" % name, first)
            self.next()
            value = self.parse_expr()
            return Node("attr", name, first.line, first.column, value=value)
        label = None
        if tok.kind == "STRING":
            label_tok = self.next()
            label = label_tok.value
            if not IDENT_RE.match(label):
                raise self.error("block label %s must be a valid identifier (letters, digits, underscores)"
                                 % quote(label), label_tok)
            tok = self.peek()
        if label is not None and not (tok.kind == "PUNCT" and tok.value == "{"):
            raise self.error("expected '{' after the label of block %r, found %s" % (name, self.describe(tok)))
        if tok.kind == "PUNCT" and tok.value == "{":
            opening = self.next()
            body = self.parse_body(opening)
            self.expect("PUNCT", "}")
            return Node("block", name, first.line, first.column, label=label, body=body)
        raise self.error("expected '=' or '{' after %r, found %s" % (name, self.describe(tok)))

    # expressions -------------------------------------------------------
    def parse_expr(self, level=0):
        if level == len(_BINARY):
            return self.parse_power()
        left = self.parse_expr(level + 1)
        while self.peek().kind == "PUNCT" and self.peek().value in _BINARY[level]:
            op = self.next().value
            right = self.parse_expr(level + 1)
            left = ("binary", op, left, right)
        return left

    def parse_power(self):
        base = self.parse_unary()
        if self.peek().kind == "PUNCT" and self.peek().value == "^":
            self.next()
            return ("binary", "^", base, self.parse_power())
        return base

    def parse_unary(self):
        tok = self.peek()
        if tok.kind == "PUNCT" and tok.value in ("!", "-"):
            self.next()
            return ("unary", tok.value, self.parse_unary())
        return self.parse_postfix()

    def parse_postfix(self):
        tok = self.peek()
        value = self.parse_primary()
        chain = [tok.value] if tok.kind == "IDENT" else None
        while True:
            nxt = self.peek()
            if nxt.kind != "PUNCT":
                break
            if nxt.value == ".":
                self.next()
                field = self.expect("IDENT", what="a field name after '.'")
                if chain is not None:
                    chain.append(field.value)
                value = ("access", value, field.value)
            elif nxt.value == "[":
                self.flush_ref(chain, tok)
                chain = None
                self.next()
                index = self.parse_expr_in_brackets()
                self.expect("PUNCT", "]")
                value = ("index", value, index)
            elif nxt.value == "(":
                chain = None  # a function call, not a reference
                value = ("call", value, self.parse_list("(", ")"))
            else:
                break
        self.flush_ref(chain, tok)
        return value

    def flush_ref(self, chain, tok):
        if chain:
            self.refs.append(Ref(list(chain), tok.line, tok.column))

    def parse_expr_in_brackets(self):
        self.skip_newlines()
        value = self.parse_expr()
        self.skip_newlines()
        return value

    def parse_list(self, opening, closing):
        open_tok = self.expect("PUNCT", opening)
        items = []
        self.skip_newlines()
        while not (self.peek().kind == "PUNCT" and self.peek().value == closing):
            if self.peek().kind == "EOF":
                raise self.error("expected %r to close %r opened at %d:%d"
                                 % (closing, opening, open_tok.line, open_tok.column))
            items.append(self.parse_expr())
            if not self.list_separator(closing):
                break
        self.expect("PUNCT", closing)
        return items

    def list_separator(self, closing):
        """After an element: ',' (then newlines) or the closing bracket. A newline
        before the closing bracket without a comma is the classic error."""
        tok = self.peek()
        if tok.kind == "PUNCT" and tok.value == ",":
            self.next()
            self.skip_newlines()
            return True
        if tok.kind == "NEWLINE":
            raise self.error("missing ',' before newline (a multi-line list or object needs a trailing comma)")
        if tok.kind == "PUNCT" and tok.value == closing:
            return False
        raise self.error("expected ',' or %r, found %s" % (closing, self.describe(tok)))

    def parse_primary(self):
        tok = self.peek()
        if tok.kind in ("NUMBER", "STRING"):
            self.next()
            return ("literal", tok.value)
        if tok.kind == "KEYWORD":
            self.next()
            return ("literal", {"true": True, "false": False, "null": None}[tok.value])
        if tok.kind == "IDENT":
            self.next()
            return ("ident", tok.value)
        if tok.kind == "PUNCT" and tok.value == "[":
            return ("array", self.parse_list("[", "]"))
        if tok.kind == "PUNCT" and tok.value == "{":
            return self.parse_object()
        if tok.kind == "PUNCT" and tok.value == "(":
            self.next()
            value = self.parse_expr_in_brackets()
            self.expect("PUNCT", ")")
            return ("group", value)
        raise self.error("expected a value, found %s" % self.describe(tok))

    def parse_object(self):
        open_tok = self.expect("PUNCT", "{")
        fields = []
        self.skip_newlines()
        while not (self.peek().kind == "PUNCT" and self.peek().value == "}"):
            key = self.peek()
            if key.kind not in ("IDENT", "STRING"):
                if key.kind == "EOF":
                    raise self.error("expected '}' to close the object opened at %d:%d"
                                     % (open_tok.line, open_tok.column))
                raise self.error("expected an object key (identifier or string), found %s" % self.describe(key))
            self.next()
            self.expect("PUNCT", "=", what="'=' after the object key")
            fields.append((key.value, self.parse_expr()))
            if not self.list_separator("}"):
                break
        self.expect("PUNCT", "}")
        return ("object", fields)


class Config(object):
    """A parsed config: top-level statements and every reference used as a value."""

    def __init__(self, body, refs, source):
        self.body = body
        self.refs = refs
        self.source = source

    def components(self):
        """(name, label) -> Node for every labelled block, at any depth."""
        found = {}

        def walk(nodes):
            for node in nodes:
                if node.kind == "block":
                    if node.label is not None:
                        found.setdefault((node.name, node.label), node)
                    walk(node.body)

        walk(self.body)
        return found


def parse(text, source=None):
    """Parse Alloy text; raise AlloyError (with line:column) on a syntax error."""
    parser = _Parser(tokenize(text, source), source)
    body = parser.parse_body(None)
    parser.expect("EOF")
    return Config(body, parser.refs, source)


def _literal_refs(expr):
    """Reference chains inside a parsed expression tree (arrays of refs in `output`)."""
    if not isinstance(expr, tuple):
        return []
    kind = expr[0]
    if kind == "ident":
        return [[expr[1]]]
    if kind == "access":
        inner = _literal_refs(expr[1])
        if len(inner) == 1 and expr[1][0] in ("ident", "access"):
            return [inner[0] + [expr[2]]]
        return inner
    if kind == "array":
        return [r for item in expr[1] for r in _literal_refs(item)]
    return []


def evaluate(expr):
    """Python value of a parsed literal expression; references and calls come back as Expr."""
    kind = expr[0]
    if kind == "literal":
        return expr[1]
    if kind == "array":
        return [evaluate(item) for item in expr[1]]
    if kind == "object":
        return dict((key, evaluate(value)) for key, value in expr[1])
    if kind == "group":
        return evaluate(expr[1])
    chains = _literal_refs(expr)
    if kind in ("ident", "access") and len(chains) == 1:
        return Expr(".".join(chains[0]))
    if kind == "call":
        callee = _literal_refs(expr[1])
        name = ".".join(callee[0]) if callee else "?"
        return Expr("%s(%s)" % (name, ", ".join(render_value(evaluate(a)) for a in expr[2])))
    if kind == "unary" and expr[1] == "-":
        value = evaluate(expr[2])
        if isinstance(value, (int, float)):
            return -value
    raise AlloyError("not a literal expression: %r" % (expr,))


def body_values(node):
    """{attribute: python value} and {block name: [child nodes]} of a parsed block."""
    attrs, blocks = {}, {}
    for child in node.body:
        if child.kind == "attr":
            attrs[child.name] = evaluate(child.value)
        else:
            blocks.setdefault(child.name, []).append(child)
    return attrs, blocks


def check(config):
    """Semantic checks; returns a list of AlloyError (empty when the config is sound)."""
    errors = []
    source = config.source

    # Duplicate name+label within one scope.
    def walk(nodes):
        seen = {}
        for node in nodes:
            if node.kind != "block":
                continue
            if node.label is not None:
                key = (node.name, node.label)
                if key in seen:
                    first = seen[key]
                    errors.append(AlloyError('block %s "%s" is declared twice (first at %d:%d)'
                                             % (node.name, node.label, first.line, first.column),
                                             node.line, node.column, source))
                else:
                    seen[key] = node
            walk(node.body)

    walk(config.body)
    components = config.components()

    for ref in config.refs:
        parts = ref.parts
        if len(parts) == 1:
            continue  # a bare identifier: module arguments, stdlib functions' results
        resolved = False
        for k in range(1, len(parts)):
            name, label = ".".join(parts[:k]), parts[k]
            if (name, label) in components:
                resolved = True
                if k == len(parts) - 1:
                    errors.append(AlloyError("%s refers to the component itself; name one of its exports"
                                             % ".".join(parts), ref.line, ref.column, source))
                elif name in KNOWN_EXPORTS and parts[k + 1] not in KNOWN_EXPORTS[name]:
                    exports = sorted(KNOWN_EXPORTS[name])
                    errors.append(AlloyError("%s has no export %r (%s)" % (
                        name, parts[k + 1], "exports: " + ", ".join(exports) if exports else "it exports nothing"),
                        ref.line, ref.column, source))
                break
        if not resolved and parts[0] not in STDLIB_NAMESPACES:
            errors.append(AlloyError("%s does not refer to any component declared in this config"
                                     % ".".join(parts), ref.line, ref.column, source))

    # otelcol output blocks: only signals the target accepts.
    def check_outputs(nodes, owner):
        for node in nodes:
            if node.kind == "block":
                if node.name == "output" and owner is not None and owner.startswith("otelcol."):
                    for attr in node.body:
                        if attr.kind != "attr":
                            continue
                        if attr.name not in SIGNALS:
                            errors.append(AlloyError("output of %s has no signal %r (use metrics, logs, traces)"
                                                     % (owner, attr.name), attr.line, attr.column, source))
                            continue
                        for chain in _literal_refs(attr.value):
                            for name, accepted in ACCEPTED_SIGNALS.items():
                                n = len(name.split("."))
                                if ".".join(chain[:n]) == name and attr.name not in accepted:
                                    errors.append(AlloyError("%s accepts only %s, not %s" % (
                                        ".".join(chain), ", ".join(sorted(accepted)), attr.name),
                                        attr.line, attr.column, source))
                check_outputs(node.body, node.name if owner is None else owner)

    check_outputs(config.body, None)
    return sorted(errors, key=lambda e: (e.line, e.column))


def validate(text, source=None):
    """Parse and check; raise the first AlloyError, or return the Config."""
    config = parse(text, source)
    errors = check(config)
    if errors:
        raise errors[0]
    return config


def validate_all(text, source=None, contract=True):
    """Parse and check; return every error as a list of strings (empty when valid).

    With `contract` (the default) the config is also checked against the argument facts of the
    Alloy version the stack runs (:func:`alloy_contract.check`): every Alloy text the collection
    writes goes through here before it is written.
    """
    try:
        config = parse(text, source)
    except AlloyError as exc:
        return [str(exc)]
    errors = [str(e) for e in check(config)]
    if contract:
        # Imported here: alloy_contract imports this module.
        from ansible_collections.lgtm.stack.plugins.module_utils import alloy_contract

        errors += alloy_contract.check(config, source)
    return errors
