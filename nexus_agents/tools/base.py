"""Deterministic tools: pure functions with a pydantic input and a pydantic output.

A tool is registered once with ``@tool`` and can then be called from Python, from a
graph step, or by a model through function calling (its JSON schema is derived from the
input model, its description from the docstring).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel

from nexus_agents.exceptions import SpecError, UnknownNameError

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    func: Callable[[Any], BaseModel]

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the input model (the caller's own copy)."""
        return copy.deepcopy(input_schema(self.input_model))

    def call(self, arguments: BaseModel | dict[str, Any]) -> BaseModel:
        """Validate ``arguments`` into the input model and run the tool."""
        args = (
            arguments
            if isinstance(arguments, self.input_model)
            else self.input_model.model_validate(arguments)
        )
        return self.func(args)


_REGISTRY: dict[str, Tool] = {}


@lru_cache(maxsize=512)
def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema, computed once per class (shared: do not mutate it)."""
    return model.model_json_schema()


def tool(name: str | None = None) -> Callable[[Callable[[In], Out]], Callable[[In], Out]]:
    """Register a pure function ``f(args: InputModel) -> OutputModel`` as a tool."""

    def decorate(func: Callable[[In], Out]) -> Callable[[In], Out]:
        hints = get_type_hints(func)
        params = list(inspect.signature(func).parameters)
        if len(params) != 1:
            raise SpecError(func.__qualname__, "a tool takes exactly one pydantic argument")
        input_model = hints.get(params[0])
        output_model = hints.get("return")
        if not (
            isinstance(input_model, type)
            and issubclass(input_model, BaseModel)
            and isinstance(output_model, type)
            and issubclass(output_model, BaseModel)
        ):
            raise SpecError(
                func.__qualname__, "a tool's argument and return must be pydantic models"
            )
        tool_name = name or func.__name__
        doc = inspect.getdoc(func)
        if not doc:
            raise SpecError(func.__qualname__, "a tool needs a docstring (the model reads it)")
        _REGISTRY[tool_name] = Tool(tool_name, doc, input_model, output_model, func)
        return func

    return decorate


def get_tool(name: str) -> Tool:
    _load_builtin_tools()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("tool", name, list(_REGISTRY)) from None


def all_tools() -> dict[str, Tool]:
    _load_builtin_tools()
    return dict(_REGISTRY)


def _load_builtin_tools() -> None:
    import nexus_agents.tools  # noqa: F401  (its __init__ imports every tool module)
