"""The code version of a workflow rule, derived from the modules its command imports.

A rule's command runs one module of the package (the one implementing its verb). The modules it
depends on are the transitive closure of that module's ``import`` statements inside the package,
read statically from the source (imports inside functions included: they run when the command
does), plus every package ``__init__`` on the way (Python executes them). The version is a hash of
those modules' syntax trees with docstrings removed: comments, blank lines, docstrings and moved
lines change nothing; a changed statement, a new import or a new module does. The command-line
dispatcher (:mod:`bnnrepro.cli`, ``__main__``) is left out on purpose: it parses arguments and
calls the command, and counting it would make every edit of any command rerun every rule.

Data files the modules read (``*.yaml``, ``*.j2`` templates: published numbers, the report's
template) count too: those in a closure module's folder and in its non-package subfolders.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = "bnnrepro"
SRC = Path(__file__).resolve().parents[2]


def module_file(module: str, src: Path = SRC) -> Path | None:
    """The source file of a package module (``a.b`` -> a/b.py or a/b/__init__.py), or None."""
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but the bodies of ``if TYPE_CHECKING:`` blocks: imports made only
    for type checkers never run, so the code does not depend on them."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Package modules named by the import statements of one module's syntax tree (those that run)."""
    names: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            # `from pkg import name`: name may be a submodule
            names.update(f"{prefix}.{alias.name}" for alias in node.names if alias.name != "*")
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


@cache
def _analysed(path: Path, mtime_ns: int, module: str) -> tuple[frozenset[str], str]:
    """(package modules imported, digest of the docstring-free tree) of one source file, parsed once."""
    tree = ast.parse(path.read_text(), filename=str(path))
    imports = frozenset(_imported(tree, module, path.name == "__init__.py"))
    tree = _without_docstrings(tree)
    digest = hashlib.sha256(ast.dump(tree, annotate_fields=False, include_attributes=False).encode()).hexdigest()
    return imports, digest


def _analyse(module: str, src: Path) -> tuple[frozenset[str], str] | None:
    path = module_file(module, src)
    return None if path is None else _analysed(path, path.stat().st_mtime_ns, module)


def closure(*modules: str, src: Path = SRC) -> list[str]:
    """Every package module the given modules import, directly or not (themselves included)."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        analysed = _analyse(module, src)
        if analysed is None:
            continue  # an attribute imported from a module (`from a import f`), not a module
        seen.add(module)
        todo.extend(_parents(module))
        todo.extend(analysed[0])
    missing = [m for m in modules if m not in seen]
    if missing:
        raise ValueError(f"no source file for module(s) {', '.join(missing)} under {src}")
    return sorted(seen)


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def module_digest(module: str, src: Path = SRC) -> str:
    """Hash of one module's syntax tree without docstrings (no line numbers, no comments)."""
    analysed = _analyse(module, src)
    if analysed is None:
        raise ValueError(f"{module} is not a module of the package under {src}")
    return analysed[1]


DATA_SUFFIXES = (".yaml", ".yml", ".json", ".j2")


def data_files(modules: list[str], src: Path = SRC) -> list[Path]:
    """Data files next to the modules: in their folders and in subfolders that are not packages."""
    files = [module_file(module, src) for module in modules]
    return sorted({path for file in files if file is not None for path in _folder_data(file.parent)})


@cache
def _folder_data(folder: Path) -> tuple[Path, ...]:
    found = []
    for path in folder.iterdir():
        if path.is_file() and path.suffix in DATA_SUFFIXES:
            found.append(path)
        elif path.is_dir() and not (path / "__init__.py").is_file() and path.name != "__pycache__":
            found.extend(_folder_data(path))
    return tuple(found)


def code_version(*modules: str, src: Path = SRC) -> str:
    """The code version of a command running ``modules``: a hash over its import closure and the
    data files beside it."""
    digest = hashlib.sha256()
    members = closure(*modules, src=src)
    for module in members:
        digest.update(module.encode())
        digest.update(module_digest(module, src).encode())
    for path in data_files(members, src):
        digest.update(path.relative_to(src).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
