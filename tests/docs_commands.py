"""The commands and paths the documentation shows, and the registry (tests/docs_commands.yml) of what runs them.

Used by tests/unit/test_docs.py (every documented command and path is accounted for), by
tests/integration/test_lifecycle.py (runs the `lifecycle` commands and checks the project paths on a migrated
project) and by tests/integration/test_demo.py (the paths the README names on the demo's project).
"""

import glob
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "tests" / "docs_commands.yml"
COMMAND_WORDS = ("ansible-playbook", "ansible-doc", "ansible-galaxy", "ansible-test", "ansible-lint", "docker", "curl",
                 "molecule", "go", "gofmt", "date", "cd", "python3", "pip", "git", "apt", "apt-get", "tar", "grep",
                 "bash")
SHELL_BLOCK = re.compile(r"```(?:sh|bash|shell|console)\n(.*?)```", re.S)
SPAN = re.compile(r"`([^`\n]+)`")


def docs():
    return [ROOT / "README.md"] + sorted(ROOT.glob("docs/*.md")) + sorted(ROOT.glob("roles/*/README.md"))


def normalise(line):
    """A command as the registry spells it: no "$ " prompt, no trailing "# comment", single spaces."""
    line = re.sub(r"^\$\s+", "", line.strip())
    line = re.sub(r"\s+#.*$", "", line)
    return " ".join(line.split())


def is_command(text):
    words = text.split()
    while words and re.match(r"^[A-Z][A-Z0-9_]*=\S*$", words[0]):
        words = words[1:]  # LGTM_IMAGES=upstream ./scripts/demo.sh
    return bool(words) and (words[0].startswith("./scripts/") or len(words) >= 2 and words[0] in COMMAND_WORDS)


def documented(paths=None):
    """{command: [doc, ...]} for every command in a shell code block or an inline code span of the docs."""
    found = {}
    for doc in paths or docs():
        text = doc.read_text()
        name = str(doc.relative_to(ROOT)) if ROOT in doc.parents else doc.name
        commands = []
        for block in SHELL_BLOCK.findall(text):
            commands += [normalise(line) for line in block.splitlines()
                         if line.strip() and not line.strip().startswith("#")]
        prose = SHELL_BLOCK.sub("", text)
        commands += [normalise(span) for span in SPAN.findall(prose) if is_command(span.strip())]
        for command in commands:
            if command:
                found.setdefault(command, [])
                if name not in found[command]:
                    found[command].append(name)
    return found


def load():
    return yaml.safe_load(REGISTRY.read_text())


def _path_like(span):
    span = span.strip()
    if " " in span or "://" in span or ":" in span or "=" in span or "*" in span and "/" not in span:
        return False
    if span.startswith("/") or span.startswith("..."):
        return False  # HTTP paths (/metrics) and elisions (.../loki)
    if re.match(r"^lgtm[._]", span) and "/" not in span:
        return False  # variables and collection names (lgtm_images.alloy, lgtm.stack.alloy)
    first = span.split("/")[0]
    if "." in first and not first.startswith(".") and "/" in span:
        return False  # Go import paths (go.opentelemetry.io/..., github.com/...)
    return "/" in span or bool(re.search(r"\.(yml|yaml|json|md|cnf|alloy|sql|go|sh)$", span))


def documented_paths():
    """Path-like inline code spans of the docs (not in shell blocks)."""
    found = set()
    for doc in docs():
        for span in SPAN.findall(SHELL_BLOCK.sub("", doc.read_text())):
            if _path_like(span):
                found.add(span.strip())
    return found


def as_glob(path):
    """Placeholders (<data>, <role>, ...) become *."""
    return re.sub(r"<[^>]+>", "*", path).rstrip("/")


PROJECT_PREFIXES = (
    (re.compile(r"^(<project>|<lgtm_project_dir>)/"), ""),
    (re.compile(r"^<lgtm_stack_dir>/"), "observability/"),
    (re.compile(r"^<lgtm_([a-z]+)_dir>/"), r"observability/\1/"),
    (re.compile(r"^(observability|\.lgtm-backup)(/|$)"), r"\1\2"),
)


def project_path(path):
    """The project-relative form of a path the docs name inside a migrated project, or None."""
    for pattern, replacement in PROJECT_PREFIXES:
        if pattern.match(path):
            return pattern.sub(replacement, path, count=1) or "."
    return None


def repo_resolves(path):
    if path.startswith(".work/"):
        return False  # made by the scripts, absent from a fresh checkout: such paths must be listed
    pattern = as_glob(path)
    for base in (ROOT, ROOT / "roles" / "*", ROOT / "docs" / "examples" / "go"):
        if glob.glob(str(base / pattern)):
            return True
    return False


def missing_paths(kind, root):
    """The paths of `kind` (lifecycle: every project path the docs name; demo) that do not exist under root."""
    registry = load()["paths"]
    wanted = [(e["path"], e.get("as", e["path"])) for e in registry[kind]]
    if kind == "lifecycle":
        listed = set(path for path, _ in wanted) | set(e["path"] for e in registry["not_paths"])
        wanted += [(path, project_path(path)) for path in sorted(documented_paths())
                   if path not in listed and project_path(path) is not None]
    return [path for path, target in wanted if not glob.glob(str(Path(root) / as_glob(target)))]
