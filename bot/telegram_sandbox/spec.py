"""Load the machine-readable Bot API spec and validate request parameters against it.

The spec (``shared/telegram-bot-api/api.json``, never copied into the repo) is compiled
once into small checker objects, so validating a request is a dictionary walk.

Rules applied to every bot request (descriptions are what the sandbox answers):

* unknown method -> 404 ``Not Found`` (method names are case-insensitive, as in Telegram);
* unknown parameter -> 400 ``Bad Request: unknown parameter "x"`` (Telegram ignores
  them; here one is almost always a typo, so it is refused);
* an empty parameter counts as absent (Telegram's rule); a missing required one ->
  400 ``Bad Request: <name> is empty`` (``message text is empty`` for ``text``);
* top-level values arrive as text (query string, form, multipart) or as JSON values;
  they are decoded per the declared type: Integer (``-?\\d+`` only), Boolean
  (true/false/1/0, any case), Float, String, InputFile (a file part or
  ``attach://<name>``), and object/array types (JSON text, decoded then checked).
  A mismatch -> 400 ``Bad Request: parameter "x" must be of type Integer, got "abc"``;
  undecodable JSON -> 400 ``Bad Request: can't parse x JSON object`` (``reply keyboard
  markup`` for ``reply_markup``, as Telegram words it);
* nested objects are checked recursively against ``types``: JSON types must match
  exactly, required fields must be present, unknown fields are refused, unions (e.g.
  reply_markup, ``Integer or String``, abstract types like ``BotCommandScope`` picked
  by their ``type`` constant) resolve to the matching candidate. Descriptions look like
  ``Bad Request: can't parse inline keyboard button: unknown field "x" (at reply_markup...)``;
* ``Array of Array of X`` of the wrong shape -> ``Bad Request: field "inline_keyboard"
  of the InlineKeyboardMarkup should be an Array of Arrays`` (Telegram's wording);
* "Exactly/At most one of the fields other than ... must be used" (read from the type
  description): an inline button without an action -> ``... Text buttons are unallowed
  in the inline keyboard``; more than one action -> ``... exactly one of the fields ...``;
* length limits written in field descriptions ("1-64 bytes", "0-200 characters",
  counted in UTF-8 bytes / UTF-16 units) are enforced, except the ones counted "after
  entities parsing" (message text and captions; the method handlers check those);
  ``callback_data`` outside 1-64 bytes -> ``Bad Request: BUTTON_DATA_INVALID``;
  a BotCommand ``command`` that is not 1-32 of ``[a-z0-9_]`` -> ``Bad Request:
  BOT_COMMAND_INVALID``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import ApiError, Upload, bad_request, utf16_len

_INT_RE = re.compile(r"-?\d+")
_BOOL_TEXT = {"true": True, "1": True, "false": False, "0": False}
_LIMIT_RE = re.compile(r"(\d+)-(\d+) (characters|bytes)")
_CONST_RE = re.compile(r"(?:must be|always) \"?([a-z_]+)\"?")
_ONE_OF_RE = re.compile(r"(Exactly|At most) one of the fields other than (.+?) must be used")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")

_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "Integer": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
    "String": (str,),
}
# Friendlier names for the objects bot code gets wrong most often.
_FRIENDLY = {
    "InlineKeyboardButton": "inline keyboard button",
    "KeyboardButton": "keyboard button",
    "InlineKeyboardMarkup": "inline keyboard markup",
    "ReplyKeyboardMarkup": "reply keyboard markup",
    "ReplyKeyboardRemove": "reply keyboard markup",
    "ForceReply": "reply keyboard markup",
}
# Verbatim Telegram errors for particular (type, field) violations.
_VERBATIM = {
    ("InlineKeyboardButton", "callback_data"): "Bad Request: BUTTON_DATA_INVALID",
    ("BotCommand", "command"): "Bad Request: BOT_COMMAND_INVALID",
}


def default_spec_path() -> Path:
    """``$TELEGRAM_API_SPEC``, else ``shared/telegram-bot-api/api.json`` beside the repo."""
    env = os.environ.get("TELEGRAM_API_SPEC")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "telegram-bot-api" / "api.json"


class SpecError(Exception):
    """A nested validation failure; containers add their path segment while it unwinds."""

    def __init__(self, reason: str, *, type_name: str | None = None, shape: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.type_name = type_name  # innermost object type, once a field named the error
        self.shape = shape  # "should be an Array (of Arrays)"
        self.verbatim: str | None = None
        self.path: list[str | int] = []


class Ctx:
    """Per-request validation context: multipart file parts and which ones got referenced."""

    __slots__ = ("attached", "uploads")

    def __init__(self, uploads: dict[str, Upload]) -> None:
        self.uploads = uploads
        self.attached: set[str] = set()

    def attach(self, name: str) -> Upload | None:
        upload = self.uploads.get(name)
        if upload is not None:
            self.attached.add(name)
        return upload


# --------------------------------------------------------------------------- checkers
# Each checker validates a JSON value in place and raises SpecError; nothing is copied.


class _Check:
    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def check(self, value: Any, ctx: Ctx) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def mismatch(self) -> SpecError:
        return SpecError(f"must be of type {self.label}")


class _Prim(_Check):
    __slots__ = ("pytypes",)

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.pytypes = _PRIMITIVES[label]

    def check(self, value: Any, ctx: Ctx) -> None:
        if type(value) not in self.pytypes:
            raise self.mismatch()


class _Str(_Prim):
    """String; ``attach://<name>`` (InputMedia.media is typed String) must name a file part."""

    __slots__ = ()

    def check(self, value: Any, ctx: Ctx) -> None:
        if type(value) is not str:
            raise self.mismatch()
        if value.startswith("attach://") and ctx.attach(value[9:]) is None:
            raise SpecError(f'refers to a missing file part "{value[9:]}"')


class _File(_Check):
    """InputFile inside JSON: only an ``attach://<name>`` reference to a file part."""

    __slots__ = ()

    def check(self, value: Any, ctx: Ctx) -> None:
        if type(value) is not str or not value.startswith("attach://"):
            raise self.mismatch()
        if ctx.attach(value[9:]) is None:
            raise SpecError(f'refers to a missing file part "{value[9:]}"')


class _Array(_Check):
    __slots__ = ("item",)

    def __init__(self, label: str, item: _Check) -> None:
        super().__init__(label)
        self.item = item

    def check(self, value: Any, ctx: Ctx) -> None:
        nested = isinstance(self.item, _Array)
        if type(value) is not list:
            raise SpecError(
                "should be an Array of Arrays" if nested else "should be an Array", shape=True
            )
        item = self.item
        for index, element in enumerate(value):
            try:
                item.check(element, ctx)
            except SpecError as err:
                if err.shape and nested and err.type_name is None and not err.path:
                    err.reason = "should be an Array of Arrays"
                    raise
                err.path.insert(0, index)
                raise


@dataclass(slots=True)
class _Rules:
    """Per-object extra rules read from the spec's descriptions."""

    const: str | None = None  # value the "type" field must have
    one_of: tuple[str, ...] = ()  # action fields for "Exactly/At most one of ..."
    exactly: bool = False
    excluded: str = ""
    limits: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    allow_str: bool = False  # KeyboardButton: "String can be used instead of this object"


class _Object(_Check):
    __slots__ = ("fields", "name", "required", "rules")

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
        self.fields: dict[str, _Check] = {}
        self.required: tuple[str, ...] = ()
        self.rules = _Rules()

    def check(self, value: Any, ctx: Ctx) -> None:
        if type(value) is not dict:
            if self.rules.allow_str and type(value) is str:
                return
            raise self.mismatch()
        fields = self.fields
        limits = self.rules.limits
        for key, item in value.items():
            checker = fields.get(key)
            if checker is None:
                raise SpecError(f'unknown field "{key}"', type_name=self.name)
            if item is None:  # JSON null reads as "absent", like Telegram
                continue
            try:
                checker.check(item, ctx)
            except SpecError as err:
                self._name_error(err, key)
                raise
            if key in limits and type(item) is str:
                self._check_limit(key, item, limits[key])
        for key in self.required:
            if value.get(key) is None:
                raise SpecError(f'field "{key}" is missing', type_name=self.name)
        rules = self.rules
        if rules.const is not None and value.get("type") != rules.const:
            raise SpecError(f'field "type" must be "{rules.const}"', type_name=self.name)
        if rules.one_of:
            self._check_one_of(value)

    def _name_error(self, err: SpecError, key: str) -> None:
        if err.type_name is None:  # leaf error: this object is the one that names it
            index = "".join(f"[{p}]" for p in err.path)
            if err.shape:
                err.verbatim = f'Bad Request: field "{key}" of the {self.name} {err.reason}'
            err.reason = f'field "{key}{index}" {err.reason}'
            err.type_name = self.name
        err.path.insert(0, key)

    def _check_limit(self, key: str, text: str, limit: tuple[int, int, str]) -> None:
        low, high, unit = limit
        size = len(text.encode()) if unit == "bytes" else utf16_len(text)
        bad = not low <= size <= high
        if key == "command" and self.name == "BotCommand":
            bad = bad or _COMMAND_RE.fullmatch(text) is None
        if bad:
            err = SpecError(f'field "{key}" must be {low}-{high} {unit} long', type_name=self.name)
            err.verbatim = _VERBATIM.get((self.name, key))
            err.path.append(key)
            raise err

    def _check_one_of(self, value: dict[str, Any]) -> None:
        rules = self.rules
        used = [k for k in rules.one_of if value.get(k) is not None]
        if not used and rules.exactly:
            if self.name == "InlineKeyboardButton":
                reason = "Text buttons are unallowed in the inline keyboard"
            else:
                reason = f"one of the fields {', '.join(rules.one_of)} must be used"
            raise SpecError(reason, type_name=self.name)
        if len(used) > 1:
            word = "exactly" if rules.exactly else "at most"
            raise SpecError(
                f"{word} one of the fields other than {rules.excluded} must be used, "
                f"got {', '.join(used)}",
                type_name=self.name,
            )


class _Union(_Check):
    """Several declared types: dispatch on the JSON type, then pick the object candidate.

    The merged view is built on first use: abstract types can be recursive (RichBlock
    holds RichBlocks), so parts may still be incomplete while the spec is compiling.
    """

    __slots__ = ("array", "by_const", "file", "objects", "parts", "pytypes", "ready", "strings")

    def __init__(self, label: str, parts: list[_Check]) -> None:
        super().__init__(label)
        self.parts = parts
        self.ready = False
        self.pytypes: frozenset[type] = frozenset()
        self.objects: list[_Object] = []
        self.file: _File | None = None
        self.strings = False
        self.array: _Array | None = None
        self.by_const: dict[str, _Object] | None = None

    def _prepare(self) -> None:
        pytypes: set[type] = set()
        items: list[_Check] = []
        for part in self.parts:
            if isinstance(part, _Prim):
                pytypes.update(part.pytypes)
            elif isinstance(part, _File):
                self.file = part
            elif isinstance(part, _Array):
                items.append(part.item)
            elif isinstance(part, _Object):
                self.objects.append(part)
            elif isinstance(part, _Union):
                if not part.ready:
                    part._prepare()
                pytypes.update(part.pytypes)
                self.objects.extend(part.objects)
                if part.array is not None:
                    items.append(part.array.item)
        self.pytypes = frozenset(pytypes)
        self.strings = str in pytypes
        if items:
            item = (
                items[0] if len(items) == 1 else _Union(" or ".join(i.label for i in items), items)
            )
            self.array = _Array(f"Array of {item.label}", item)
        consts = {o.rules.const: o for o in self.objects if o.rules.const is not None}
        if self.objects and len(consts) == len(self.objects):
            self.by_const = consts
        self.ready = True

    def check(self, value: Any, ctx: Ctx) -> None:
        if not self.ready:
            self._prepare()
        kind = type(value)
        if kind is str and value.startswith("attach://") and (self.file or self.strings):
            _File("InputFile").check(value, ctx)
        elif kind in self.pytypes:
            return
        elif kind is dict and self.objects:
            self._pick(value).check(value, ctx)
        elif kind is list and self.array is not None:
            self.array.check(value, ctx)
        elif kind is str and self.file is not None:
            self.file.check(value, ctx)
        elif kind is str and any(o.rules.allow_str for o in self.objects):
            return
        else:
            raise self.mismatch()

    def _pick(self, value: dict[str, Any]) -> _Object:
        if self.by_const is not None:
            found = self.by_const.get(value.get("type"))  # type: ignore[arg-type]
            if found is None:
                raise SpecError(f'unsupported type "{value.get("type")}"', type_name=self.label)
            return found
        for candidate in self.objects:
            if all(k in value for k in candidate.required) and all(
                k in candidate.fields for k in value
            ):
                return candidate
        # Nothing fits: report against the closest candidate so the error is specific.
        return max(self.objects, key=lambda o: sum(k in o.fields for k in value))


# --------------------------------------------------------------------------- parameters


class Param:
    """A method parameter: decodes text or JSON input to a Python value, then checks it."""

    __slots__ = (
        "checker",
        "has_bool",
        "has_file",
        "has_float",
        "has_int",
        "has_str",
        "is_json",
        "label",
        "limit",
        "name",
        "required",
    )

    def __init__(self, name: str, types: list[str], required: bool, checker: _Check) -> None:
        self.name = name
        self.required = required
        self.checker = checker
        self.label = " or ".join(types)
        self.has_int = "Integer" in types
        self.has_str = "String" in types
        self.has_bool = "Boolean" in types
        self.has_float = "Float" in types
        self.has_file = "InputFile" in types
        self.is_json = any(t not in _PRIMITIVES and t != "InputFile" for t in types)
        self.limit: tuple[int, int, str] | None = None

    def decode(self, value: Any, ctx: Ctx) -> Any:
        if type(value) is str:
            return self._decode_text(value, ctx)
        kind = type(value)
        if kind is bool:
            if self.has_bool:
                return value
        elif kind is int:
            if self.has_int or self.has_float:
                return value
            if self.has_bool and value in (0, 1):
                return bool(value)
            if self.has_str:
                return str(value)
        elif kind is float:
            if self.has_float:
                return value
        elif kind in (dict, list) and self.is_json:
            return self._check_json(value, ctx)
        raise self._type_error(value)

    def _decode_text(self, value: str, ctx: Ctx) -> Any:
        if self.has_file and value.startswith("attach://"):
            upload = ctx.attach(value[9:])
            if upload is None:
                raise bad_request(f'parameter "{self.name}" refers to a missing file part')
            return upload
        if self.has_int and _INT_RE.fullmatch(value):
            return int(value)
        if self.has_str:
            if self.limit is not None:
                self._check_limit(value)
            return value
        if self.has_bool:
            flag = _BOOL_TEXT.get(value.lower())
            if flag is not None:
                return flag
        if self.has_float:
            try:
                return float(value)
            except ValueError:
                pass
        if self.is_json:
            try:
                parsed = json.loads(value)
            except ValueError:
                what = "reply keyboard markup" if self.name == "reply_markup" else self.name
                raise bad_request(f"can't parse {what} JSON object") from None
            return self._check_json(parsed, ctx)
        raise self._type_error(value)

    def _check_json(self, value: Any, ctx: Ctx) -> Any:
        try:
            self.checker.check(value, ctx)
        except SpecError as err:
            raise self._nested_error(err) from None
        return value

    def _check_limit(self, value: str) -> None:
        assert self.limit is not None
        low, high, unit = self.limit
        size = len(value.encode()) if unit == "bytes" else utf16_len(value)
        if not low <= size <= high:
            raise bad_request(f'parameter "{self.name}" must be {low}-{high} {unit} long')

    def _type_error(self, value: Any) -> ApiError:
        shown = value if isinstance(value, str) else json.dumps(value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return bad_request(f'parameter "{self.name}" must be of type {self.label}, got "{shown}"')

    def _nested_error(self, err: SpecError) -> ApiError:
        if err.verbatim:
            return ApiError(400, err.verbatim)
        if err.type_name is None:  # the parameter itself or one of its array elements
            index = "".join(f"[{p}]" for p in err.path)
            return bad_request(f'parameter "{self.name}{index}" {err.reason}')
        where = self.name + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.path)
        what = _FRIENDLY.get(err.type_name, err.type_name)
        return bad_request(f"can't parse {what}: {err.reason} (at {where})")


@dataclass(slots=True)
class MethodSpec:
    name: str
    params: dict[str, Param]
    required: tuple[str, ...]
    returns: tuple[str, ...]


def missing_description(name: str) -> str:
    if name == "text":
        return "Bad Request: message text is empty"
    return f"Bad Request: {name} is empty"


_CACHE: dict[tuple[Path, int], ApiSpec] = {}


def load_spec(path: Path | None = None) -> ApiSpec:
    """The compiled spec for ``path``; compiled once per file version (it is read-only)."""
    resolved = (path or default_spec_path()).resolve()
    try:
        key = (resolved, resolved.stat().st_mtime_ns)
    except FileNotFoundError:
        return ApiSpec(resolved)  # raises the explanatory error
    spec = _CACHE.get(key)
    if spec is None:
        spec = _CACHE[key] = ApiSpec(resolved)
    return spec


class ApiSpec:
    """The compiled spec: ``methods`` by name and ``validate()`` for one request."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_spec_path()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"Telegram Bot API spec not found at {self.path}; pass spec_path or set "
                "TELEGRAM_API_SPEC"
            ) from None
        self.version: str = raw.get("version", "")
        self.types: dict[str, dict[str, Any]] = raw["types"]
        self._objects: dict[str, _Object] = {name: _Object(name) for name in self.types}
        self._abstract: dict[str, _Union] = {}
        for name, objspec in self.types.items():
            self._fill_object(self._objects[name], objspec)
        self.methods: dict[str, MethodSpec] = {}
        for name, mspec in raw["methods"].items():
            self.methods[name] = self._compile_method(name, mspec)
        self._lower = {name.lower(): name for name in self.methods}

    # -- compilation

    def _compile(self, expr: str) -> _Check:
        if expr.startswith("Array of "):
            return _Array(expr, self._compile(expr[9:]))
        if expr == "String":
            return _Str(expr)
        if expr in _PRIMITIVES:
            return _Prim(expr)
        if expr == "InputFile":
            return _File(expr)
        subtypes = self.types.get(expr, {}).get("subtypes")
        if subtypes:
            union = self._abstract.get(expr)
            if union is None:  # placeholder first: abstract types may contain themselves
                union = self._abstract[expr] = _Union(expr, [])
                union.parts = [self._compile(s) for s in subtypes]
            return union
        obj = self._objects.get(expr)
        if obj is None:
            raise ValueError(f"spec names unknown type {expr!r}")
        return obj

    def _compile_types(self, types: list[str]) -> _Check:
        parts = [self._compile(t) for t in types]
        return parts[0] if len(parts) == 1 else _Union(" or ".join(types), parts)

    def _fill_object(self, obj: _Object, objspec: dict[str, Any]) -> None:
        fields = objspec.get("fields", [])
        obj.fields = {f["name"]: self._compile_types(f["types"]) for f in fields}
        obj.required = tuple(f["name"] for f in fields if f["required"])
        rules = obj.rules
        for f in fields:
            desc = f["description"]
            if f["name"] == "type" and objspec.get("subtype_of"):
                match = _CONST_RE.search(desc)
                rules.const = match.group(1) if match else None
            limit = _LIMIT_RE.search(desc)
            if limit and f["types"] == ["String"] and "after entit" not in desc:
                rules.limits[f["name"]] = (int(limit.group(1)), int(limit.group(2)), limit.group(3))
        text = " ".join(objspec.get("description", []))
        one_of = _ONE_OF_RE.search(text)
        if one_of:
            excluded = [x.strip() for x in re.split(r",|\band\b", one_of.group(2)) if x.strip()]
            rules.one_of = tuple(f["name"] for f in fields if f["name"] not in excluded)
            rules.exactly = one_of.group(1) == "Exactly"
            rules.excluded = ", ".join(excluded)
        rules.allow_str = "String can be used instead of this object" in text

    def _compile_method(self, name: str, mspec: dict[str, Any]) -> MethodSpec:
        params: dict[str, Param] = {}
        for f in mspec.get("fields", []):
            param = Param(f["name"], f["types"], f["required"], self._compile_types(f["types"]))
            limit = _LIMIT_RE.search(f["description"])
            if limit and "after entit" not in f["description"]:
                param.limit = (int(limit.group(1)), int(limit.group(2)), limit.group(3))
            params[f["name"]] = param
        required = tuple(p.name for p in params.values() if p.required)
        return MethodSpec(name, params, required, tuple(mspec.get("returns", [])))

    # -- validation

    def method(self, name: str) -> MethodSpec:
        found = self.methods.get(name)
        if found is None:
            canonical = self._lower.get(name.lower())
            if canonical is None:
                raise ApiError(404, "Not Found")
            found = self.methods[canonical]
        return found

    def validate(
        self, method: MethodSpec, raw: dict[str, Any], uploads: dict[str, Upload]
    ) -> dict[str, Any]:
        """Decode and check ``raw`` (text or JSON values) -> parameters by name."""
        ctx = Ctx(uploads)
        params: dict[str, Any] = {}
        specs = method.params
        for key, value in raw.items():
            param = specs.get(key)
            if param is None:
                raise bad_request(f'unknown parameter "{key}"')
            if value is None or value == "":
                continue  # Telegram reads an empty parameter as an absent one
            params[key] = param.decode(value, ctx)
        for key, upload in uploads.items():
            if key in ctx.attached or key in params:
                continue
            param = specs.get(key)
            if param is None:
                raise bad_request(f'unknown parameter "{key}"')
            if not param.has_file:
                raise bad_request(f'parameter "{key}" can\'t be a file upload')
            params[key] = upload
        for key in method.required:
            if key not in params and not (method.name == "setWebhook" and key == "url"):
                raise ApiError(400, missing_description(key))
        return params

    # -- fake results for methods without modelled behaviour

    def fake(self, expr: str, depth: int = 0) -> Any:
        """A minimal well-formed value of a spec type (required fields only)."""
        if expr.startswith("Array of "):
            return []
        simple = {"Integer": 0, "Float": 0.0, "Boolean": True, "String": ""}
        if expr in simple:
            return simple[expr]
        objspec = self.types.get(expr, {})
        if objspec.get("subtypes"):
            return self.fake(objspec["subtypes"][0], depth)
        out: dict[str, Any] = {}
        for f in objspec.get("fields", []):
            if not f["required"] or depth > 4:
                continue
            if f["name"] == "type" and self._objects[expr].rules.const:
                out["type"] = self._objects[expr].rules.const
            else:
                value = self.fake(f["types"][0], depth + 1)
                out[f["name"]] = False if value is True else value  # nested flags: off
        return out
