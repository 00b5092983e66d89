"""Building canonical values from parts already validated, without pydantic validating them again.

For the hot path only: decoders (which check every rule the models' validators hold) and the router core (which
copies values out of its own orders of record). Validation costs about six times as much; `model_construct` is
no cheaper. tests/unit/test_fix_translation.py (decoded values) and tests/unit/test_router_core.py (every report)
check that such values survive `model_validate` unchanged.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_DEFAULTS: dict[type[BaseModel], dict[str, Any]] = {}
_set = object.__setattr__


def _field_defaults(model: type[BaseModel]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.default_factory is not None:
            raise TypeError(f"{model.__name__}.{name}: trusted() cannot share a default_factory value")
        defaults[name] = None if field.is_required() else field.default
    return defaults


def trusted(model: type[M], values: dict[str, Any]) -> M:
    """An instance of `model` holding `values` (exact types, already valid) over the model's defaults."""
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = _DEFAULTS[model] = _field_defaults(model)
    instance = model.__new__(model)
    fields = defaults.copy()
    fields.update(values)
    _set(instance, "__dict__", fields)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
