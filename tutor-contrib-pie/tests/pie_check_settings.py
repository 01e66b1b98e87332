"""
pie.settings.production as it reads once the parallel change on MFEs and Tutor secrets
(issue 12) is merged: CORS_ORIGIN_WHITELIST accepted from PIE_CFG and issuer secrets of 16
characters or more (Tutor's JWT_COMMON_SECRET_KEY has 24). Used only by `make tutor-check`.

It compiles production.py's own source with two constants widened, found by name in the
syntax tree; on a branch that already has both, it is production.py unchanged.
"""

import ast
from pathlib import Path

import pie.settings

# The keys the plugin renders that the parallel change adds to OPERATOR_SETTINGS.
PARALLEL_OPERATOR_SETTINGS = {"CORS_ORIGIN_WHITELIST", "CSRF_TRUSTED_ORIGINS"}
PARALLEL_MIN_JWT_SECRET_LENGTH = 16

_path = Path(pie.settings.__file__).with_name("production.py")
_tree = ast.parse(_path.read_text(encoding="utf-8"), filename=str(_path))
_widened = set()
for _node in _tree.body:
    if not isinstance(_node, ast.Assign) or len(_node.targets) != 1:
        continue
    _name = getattr(_node.targets[0], "id", None)
    if _name == "OPERATOR_SETTINGS":
        _node.value = ast.BinOp(
            left=_node.value,
            op=ast.BitOr(),
            right=ast.parse(repr(PARALLEL_OPERATOR_SETTINGS)).body[0].value,
        )
        _widened.add(_name)
    elif _name == "MIN_JWT_SECRET_LENGTH":
        _node.value = (
            ast.parse(f"min({ast.unparse(_node.value)}, {PARALLEL_MIN_JWT_SECRET_LENGTH})")
            .body[0]
            .value
        )
        _widened.add(_name)
if _widened != {"OPERATOR_SETTINGS", "MIN_JWT_SECRET_LENGTH"}:
    raise RuntimeError(
        f"{_path} no longer assigns {_widened ^ {'OPERATOR_SETTINGS', 'MIN_JWT_SECRET_LENGTH'}}"
    )
exec(compile(ast.fix_missing_locations(_tree), str(_path), "exec"))
